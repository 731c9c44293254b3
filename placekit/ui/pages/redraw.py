"""Redraw: select wards, LSOAs or practices on the map (click, lasso), assign them in one step, lock finished neighbourhoods;
the practice rule, suggestions applied in one click; undo/redo; scenarios.

A plan built from LSOAs is drawn from its LSOAs (ward boundaries as lines over them) and measured on
them; the LSOA layer can be switched on for a plan of wards too, to move single LSOAs."""

import html
import tempfile
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from boundaries.grouping import PRACTICE_RULES, grouping_to_csv, grouping_to_json
from boundaries.plan_export import plan_layers, write_plan
from placekit.errors import PlacekitError
from placekit.settings import BAND_MAX, BAND_MIN
from placekit.ui import common, guard, plan_upload, propose, redraw_teams, working
from placekit.ui.maps import lsoa_shapes, map_layers, practice_points, ward_map, ward_shapes

NEW = "➕ New neighbourhood…"
MAP_KEY = "ward_map"

place = common.place()
g = common.grouping()
names = common.static()["ward_names"]
ss = st.session_state
POP_YEAR = common.population_year()  # the resident base chosen on Map and profiles (Census 2021 by default)
REG_YEAR = common.vintage_label(place, "registrations")
COVER_YEAR = common.vintage_label(place, "population")  # travel-time coverage weighs the LSOAs' mid-2015 residents

st.title("Redraw neighbourhoods")
st.html('<style>[data-testid="stMainBlockContainer"]{padding-top:2.2rem}</style>')  # the map and the table fit a 768-px screen
common.page_notes("redraw")  # loader warnings about this page's layers


def _hub_counts(g) -> pd.Series | None:
    """Return hubs per neighbourhood, when the session has hubs."""
    hubs = ss.get("hubs")
    if not hubs:
        return None
    a = common.access("walk", g)
    return a.site_unit.reindex([h for h in hubs if h in a.site_unit.index]).value_counts()


def nb_table(fig: dict, g) -> pd.DataFrame:
    """Return one row per neighbourhood: residents against the band, pieces, both containment measures, hubs."""
    t = fig["table"]
    pop = t["population"].fillna(0)
    out = pd.DataFrame(index=pd.Index(g.neighbourhoods, name="neighbourhood"))
    out["locality"] = t["locality"]
    out["residents"] = pop.astype(int)
    out["deviation"] = (pop - BAND_MIN).clip(upper=0) + (pop - BAND_MAX).clip(lower=0)
    out["pieces"] = t["parts"].astype(int)
    if fig["flows"] is not None:
        nf = fig["flows"].neighbourhoods
        out["resident_containment"] = nf["resident_containment"].reindex(out.index)
        out["list_containment"] = nf["list_containment"].reindex(out.index)
    hubs = _hub_counts(g)
    out["hubs"] = hubs.reindex(out.index).fillna(0).astype(int) if hubs is not None else pd.NA
    cover = [c for c in t.columns if str(c).startswith("within_")]
    if cover:
        out["hub_cover"] = t[cover[0]]
        out.attrs["hub_cover"] = cover[0]
    out["flag"] = (out["deviation"] != 0) | (out["pieces"] > 1)
    return out.sort_values(["locality"], kind="stable")


def _pct(v) -> str:
    return "–" if pd.isna(v) else f"{100 * v:.1f}"


def table_html(t: pd.DataFrame, colours: dict, held: set) -> str:
    """Render the neighbourhood table as compact HTML (no sideways scrolling), rows out of band or in pieces marked."""
    cover = t.attrs.get("hub_cover", "")
    heads = ["Neighbourhood", f"Residents ({POP_YEAR})", f"vs {BAND_MIN // 1000}k–{BAND_MAX // 1000}k band", "Pieces",
             f"Resident containment % (registered patients, {REG_YEAR})", f"List containment % (registered patients, {REG_YEAR})",
             "Hubs" + (f" · % residents ({COVER_YEAR}) within {cover.split('_')[1]} {cover.split('_')[2]}" if cover else "")]  # fmt: skip
    rows = []
    for loc, part in t.groupby("locality", sort=False):
        rows.append(f'<tr class="loc"><td colspan="{len(heads)}">{html.escape(str(loc))} locality</td></tr>')
        for n, r in part.iterrows():
            dev = "in band" if r["deviation"] == 0 else f"⚠ {r['deviation']:+,.0f}"
            pieces = f"⚠ {r['pieces']}" if r["pieces"] > 1 else "1"
            hubs = "–" if pd.isna(r["hubs"]) else f"{r['hubs']}" + (f" · {_pct(r['hub_cover'])}" if cover else "")
            lock = " 🔒" if n in held else ""
            cells = [f'<span class="sw" style="background:{colours.get(n, "#ccc")}"></span><span title="{html.escape(n)}">{html.escape(n)}</span>{lock}', f"{r['residents']:,}",
                     dev, pieces, _pct(r.get("resident_containment")), _pct(r.get("list_containment")), hubs]  # fmt: skip
            cls = ' class="flag"' if r["flag"] else ""
            rows.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in heads)
    return TABLE_CSS + f'<table class="nbt"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


TABLE_CSS = """<style>
table.nbt{border-collapse:collapse;width:100%;font-size:12px;line-height:1.25;table-layout:fixed}
table.nbt th{font-weight:600;text-align:right;vertical-align:bottom;padding:2px 4px;border-bottom:1px solid #999;font-size:11px}
table.nbt th:first-child,table.nbt td:first-child{text-align:left;width:31%}
table.nbt th:nth-child(2){width:12%} table.nbt th:nth-child(3){width:14%} table.nbt th:nth-child(4){width:8%}
table.nbt th:nth-child(5),table.nbt th:nth-child(6){width:13%} table.nbt th:nth-child(7){width:9%}
table.nbt td{text-align:right;padding:1px 4px;border-bottom:1px solid #eee;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
table.nbt tr.flag td{background:#fff3cd}
table.nbt tr.loc td{text-align:left;font-weight:600;color:#555;background:#f3f3f3;font-size:11px}
table.nbt .sw{display:inline-block;width:10px;height:10px;margin-right:5px;border:1px solid #555;vertical-align:-1px}
</style>"""


def short_name(name: str, width: int = 22) -> str:
    """Return a name short enough for a map label: cut at the first comma or "and" past a few letters."""
    if len(name) <= width:
        return name
    cuts = [i for i in (name.find(", "), name.find(" and ")) if i >= 6]
    return name[: min(cuts)] + "…" if cuts else name[: width - 1] + "…"


def _wrap(text: str, width: int = 20) -> list[str]:
    """Break a long name into short lines for a map label."""
    lines, cur = [], ""
    for word in text.split():
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}".strip()
    return lines + [cur]


def map_labels(t: pd.DataFrame, g, held: set, unit_to_neighbourhood: dict | None = None) -> list[dict]:
    """Return a label per neighbourhood: its name and residents, with a warning when out of band or in pieces.

    Each label holds the units the neighbourhood's outline is dissolved from: its wards, or
    the LSOAs of `unit_to_neighbourhood` (LSOA code → neighbourhood) when the map is drawn from LSOAs.
    """
    members: dict[str, set] = {}
    for w, n in (g.ward_to_neighbourhood if unit_to_neighbourhood is None else unit_to_neighbourhood).items():
        members.setdefault(n, set()).add(w)
    out = []
    for n, r in t.iterrows():
        if n not in members:  # a neighbourhood with no unit on this map (a ward with no LSOA fitted to it)
            continue
        fig = f"{r['residents']:,}"
        if r["deviation"]:
            fig += " ⚠ " + ("<" if r["deviation"] < 0 else ">") + f"{(BAND_MIN if r['deviation'] < 0 else BAND_MAX) // 1000}k"
        if r["pieces"] > 1:
            fig += f" ⚠ {r['pieces']} pieces"
        lock = " 🔒" if n in held else ""
        out.append({"wards": frozenset(members[n]), "lines": [short_name(n) + lock, fig], "full": [*_wrap(n + lock), fig],
                    "warn": bool(r["flag"])})  # fmt: skip
    return out


# --------------------------------------------------------------------------- the page
@guard.callback("Redraw")
def _pick_changed() -> None:
    working.set_selection(ss.sel_pick)


@guard.callback("Redraw")
def _assign() -> None:
    # Runs before the next (fragment) run, so an assignment costs one run, not two.
    try:
        t0 = time.perf_counter()
        target = ss.target_pick
        if target == NEW:
            target = (ss.get("new_nb") or "").strip()
            if not target:
                raise PlacekitError("type a name for the new neighbourhood.")
            if target in common.grouping().neighbourhood_to_locality:
                raise PlacekitError(f"{target!r} exists already: pick it in the list instead.")
        sel = working.selection()
        g = common.grouping()
        ready = prepared(g, working.locked())
        n = working.assign_selection(target, locality=ss.get("new_loc") if ss.target_pick == NEW else None,
                                     prepared=ready[1] if ready and ready[0] == target else None)
        ss.last_change_ms = (time.perf_counter() - t0) * 1000
        after = common.grouping()
        plan = ""
        if g.units != after.units:
            plan = (" The plan is now built from LSOAs: its figures are measured on LSOAs." if after.units == "lsoa" else
                    " Every LSOA follows its ward again: the plan is of whole wards, measured on wards.")  # fmt: skip
        note = {"ward": f"Moved {n} ward(s) to {target}" + (" with every LSOA fitted to them." if after.units == "lsoa" else "."),
                "lsoa": f"Moved {n} LSOA(s) to {target}.",
                "practice": f"Assigned {len(sel.codes)} practice(s) to {target} explicitly ({n} changed team)."}[sel.kind] + plan  # fmt: skip
        ss.assign_error, ss.assign_note = None, note
    except PlacekitError as exc:
        ss.assign_error, ss.assign_note = str(exc), None


@guard.callback("Redraw")
def _release() -> None:
    try:
        codes = working.release_selection()
        g = common.grouping()
        teams = common.practice_teams(g)
        ss.assign_error = None
        ss.assign_note = f"{len(codes)} practice(s) follow the {g.practice_rule!r} rule again: " + ", ".join(f"{p} → {teams[p]}" for p in codes)
    except PlacekitError as exc:
        ss.assign_error, ss.assign_note = str(exc), None


@guard.callback("Redraw")
def _step(direction: str) -> None:
    try:
        working.undo_step(direction)
        ss.assign_error, ss.assign_note = None, None
    except PlacekitError as exc:
        ss.assign_error, ss.assign_note = str(exc), None


def derived(g, held: set) -> dict:
    """Return what the editor shows of a grouping (figures, table, map layers), kept while only the selection changes.

    Three groupings are kept, the last used: the working one and the ones an Assign of the selection
    would make (see :func:`prepared`), so the run after Assign finds its figures ready. A grouping is
    matched by value.
    """
    key = (tuple(sorted(held)), tuple(ss.get("hubs") or ()), id(ss.get("_nearest_minutes")), id(working.origin().grouping),
           working.lsoa_mode(g), common.population_base())
    kept = ss.setdefault("_redraw_derived", [])
    for i, (kg, kkey, out) in enumerate(kept):
        if kkey == key and (kg is g or kg == g):
            kept.append(kept.pop(i))  # the most recently used last
            return out
    fig = common.figures(g)
    colours = working.colours(g)
    table = nb_table(fig, g)
    pl = redraw_teams.practice_layer(g, common.practice_teams(g), REG_YEAR)
    moved = working.moved_lsoas(g) if g.units == "lsoa" or working.origin().grouping.units == "lsoa" else working.moved_from_origin(g)
    if working.lsoa_mode(g):
        lsoa = common.lsoa_labels(g).dropna()
        lpop, lward = common.lsoa_residents(), common.lsoa_static()["lsoa_ward"]
        shapes = lsoa_shapes(common.root_key(), place.lsoas, place.wards)
        tips = {c: f"{n} ({g.neighbourhood_to_locality[n]}); {lpop.get(c, 0):,.0f} residents ({POP_YEAR}); ward {names.get(lward.get(c), '')}"
                for c, n in lsoa.items()}  # fmt: skip
        layers = map_layers(shapes, g.ward_to_neighbourhood, colours=colours, labels=map_labels(table, g, held, lsoa.to_dict()), tips=tips,
                            moved=working.moved_lsoas(g), practice_teams=pl["teams"], practice_tips=pl["tips"],
                            practices_moved=list(pl["moved"]), lsoa_to_neighbourhood=lsoa)  # fmt: skip
    else:
        ward_pop = common.ward_residents()
        tips = {w: f"{n} ({g.neighbourhood_to_locality[n]}); {ward_pop.get(w, 0):,.0f} residents ({POP_YEAR})"
                for w, n in g.ward_to_neighbourhood.items()}  # fmt: skip
        layers = map_layers(ward_shapes(common.root_key(), place.wards), g.ward_to_neighbourhood, colours=colours,
                            labels=map_labels(table, g, held), tips=tips, moved=moved, practice_teams=pl["teams"], practice_tips=pl["tips"],
                            practices_moved=list(pl["moved"]))  # fmt: skip
    out = {"fig": fig, "table": table, "table_html": table_html(table, colours, held), "moved": moved, "practices": pl, "layers": layers}
    kept[:] = [*[k for k in kept if k[1] == key][-2:], (g, key, out)]  # the working grouping, the prepared one, one spare
    return out


def targets(g, held: set, sel) -> list[str]:
    """Return the neighbourhoods the selection can be assigned to (not locked; a new one for wards and LSOAs)."""
    return [n for n in g.neighbourhoods if n not in held] + ([NEW] if sel.kind != "practice" else [])


def prepared(g, held: set) -> tuple[str, object] | None:
    """Return ``(target, grouping)``: the working grouping after assigning the selection to the chosen target, or None.

    None when nothing is selected, the target is a new neighbourhood, or the move is refused (a lock).
    Made on each run with a selection, so the map can draw an Assign as soon as it is clicked;
    :func:`_assign` then applies this very grouping.
    """
    sel = working.selection()
    target = ss.get("target_pick")
    if not sel.codes or target == NEW or target not in targets(g, held, sel):
        return None
    key = (sel, target, frozenset(held))
    kept = ss.get("_prepared")
    if kept and kept[0] == key and kept[1] is g:
        return target, kept[2]
    try:
        ng = working.move_units(g, sel, target, held=frozenset(held))
    except PlacekitError:
        return None
    ss._prepared = (key, g, ng)
    return target, ng


def _map_column(g, d: dict, held: set, ready: tuple | None) -> None:
    shapes = ward_shapes(common.root_key(), place.wards)
    pl = d["practices"]
    sel = working.selection()
    plan = None
    if ready:
        after = derived(ready[1], held)
        plan = {"target": ready[0], "kind": sel.kind, "sel": list(sel.codes), "layers": after["layers"], "table": after["table_html"]}
    lsoa = {}
    if working.lsoa_mode(g):
        labels = common.lsoa_labels(g)
        lsoa = {"lsoas": lsoa_shapes(common.root_key(), place.lsoas, place.wards), "lsoa_ward": common.lsoa_static()["lsoa_ward"].dropna().to_dict(),
                "lsoas_locked": labels.index[labels.isin(held)].tolist(), "area_kind": "lsoa" if g.units == "lsoa" else "ward"}  # fmt: skip
    ward_map(shapes, d["layers"], selected=sel.codes, selected_kind=sel.kind, selection_seq=ss.get("selection_seq", 0),
             locked=sorted(working.ward_held(g, held)), practices=practice_points(common.root_key(), shapes, common.practices()),
             practices_locked=[p for p, n in pl["teams"].items() if n in held], prepared=plan, run=ss._run, key=MAP_KEY,
             on_select=working.on_map_select, **lsoa)  # fmt: skip
    if lsoa:
        st.caption(
            f"Click an LSOA, or the ward it is fitted to, as the **Wards/LSOAs** switch says (a ward moves with every LSOA fitted to it), "
            f"or a practice dot; **Lasso** (or Shift+drag) picks what the switch says; drag to pan, wheel to zoom. Colours: each LSOA's "
            f"neighbourhood; dark lines: ward boundaries. Labels: neighbourhood and its residents ({POP_YEAR}). Dots: practices in their "
            f"team's colour, area by registered patients ({REG_YEAR}). Dashed red: moved from {working.origin().name}."
        )
    else:
        st.caption(
            f"Click wards or practice dots to select or unselect them; draw round several with **Lasso** (or Shift+drag), which picks "
            f"what the Wards/Practices switch says; drag to pan, wheel to zoom. Labels: neighbourhood and its residents ({POP_YEAR}). "
            f"Dots: practices in their team's colour, area by registered patients ({REG_YEAR}). "
            f"Dashed red: moved from {working.origin().name}."
        )
    common.badges(d["fig"], g)
    if g.units == "lsoa":
        st.caption(f"A plan built from LSOAs ({len(g.lsoa_to_neighbourhood)} assigned away from their ward): residents, pieces and "
                   "containment are measured on LSOAs, and a practice belongs by the LSOA of its premises (a few practices stand in an "
                   "LSOA fitted to another ward than the one they stand in).")  # fmt: skip
    moved = redraw_teams.moved_caption(d["moved"], pl["moved"], g)
    if moved:
        st.caption(moved)


def _selection_line(g, sel) -> None:
    if sel.codes and sel.kind == "ward":
        where = sorted({g.ward_to_neighbourhood[w] for w in sel.codes})
        split = " (mostly; some of their LSOAs elsewhere: assigning moves all of them)" if g.units == "lsoa" else ""
        st.markdown(f"**{len(sel.codes)} ward(s) selected**: {html.escape(', '.join(names.get(w, w) for w in sel.codes))} "
                    f"(now in {html.escape(', '.join(where))}{split})")  # fmt: skip
    elif sel.codes and sel.kind == "lsoa":
        labels, ln = common.lsoa_labels(g), common.lsoa_static()["lsoa_names"]
        where = sorted({labels[c] for c in sel.codes})
        listed = ", ".join(f"{ln.get(c, c)}" for c in sel.codes[:20]) + (" …" if len(sel.codes) > 20 else "")
        st.markdown(f"**{len(sel.codes)} LSOA(s) selected**: {html.escape(listed)} (now in {html.escape(', '.join(where))})")
    elif sel.codes:
        teams, pn = common.practice_teams(g), common.practices()["display_name"]
        where = sorted({teams[p] for p in sel.codes})
        explicit = sum(p in g.practice_to_neighbourhood for p in sel.codes)
        listed = ", ".join(f"{p} {pn.get(p, '')}" for p in sel.codes)
        st.markdown(f"**{len(sel.codes)} practice(s) selected**: {html.escape(listed)} "
                    f"(now in {html.escape(', '.join(where))}; {explicit} assigned explicitly)")  # fmt: skip
    else:
        st.markdown("**Nothing selected.** Click wards" + (", LSOAs" if working.lsoa_mode(g) else "") + " or practice dots on the map, "
                    "or pick them below.")  # fmt: skip


def _panel(g, d: dict, held: set) -> None:
    sel = working.selection()
    ss.sel_pick = list(sel.codes) if sel.kind == "ward" else []  # the list shows the selection, whoever changed it last
    stuck = working.ward_held(g, held)
    free = sorted((w for w in g.ward_to_neighbourhood if w not in stuck), key=lambda w: names.get(w, w))
    _selection_line(g, sel)
    options = targets(g, held, sel)
    if ss.get("target_pick") not in options:
        ss.target_pick = options[0]
    c1, c2, c3, c4 = st.columns([5, 2, 2, 2], vertical_alignment="bottom")
    target = c1.selectbox("Assign the selection to", options, key="target_pick")
    c2.button("Assign", type="primary", key="assign", on_click=_assign, disabled=not sel.codes)
    c3.button("↶ Undo", disabled=not ss.undo_stack, key="undo_btn", on_click=_step, args=("undo",))
    c4.button("↷ Redo", disabled=not ss.redo_stack, key="redo_btn", on_click=_step, args=("redo",))
    explicit = [p for p in sel.codes if p in g.practice_to_neighbourhood] if sel.kind == "practice" else []
    if explicit:
        st.button(f"Follow the {g.practice_rule} rule again ({len(explicit)} selected practice(s) assigned explicitly)", key="release_btn",
                  on_click=_release, help=f"Practices not assigned explicitly belong to {PRACTICE_RULES[g.practice_rule]}.")  # fmt: skip
    if target == NEW:
        n1, n2 = st.columns(2)
        n1.text_input("New neighbourhood name", key="new_nb")
        n2.selectbox("Its locality", g.localities, key="new_loc")
    if ss.get("assign_error"):
        st.error(ss.assign_error)
    elif ss.get("assign_note"):
        st.caption(ss.assign_note)
    with st.container(key="nb_table"):  # the map puts a prepared Assign's table here at once (see ward_map)
        st.html(f'<div data-run="{ss.get("_run", 0)}">{d["table_html"]}</div>')  # new each run: the server's table replaces a drawn-ahead one
    if not ss.get("hubs"):
        st.caption("Hubs: none chosen in this session yet (see Hubs and coverage).")
    with st.expander("Pick wards from a list", expanded=False):
        st.multiselect("Selected wards", free, format_func=lambda w: names.get(w, w), key="sel_pick", on_change=_pick_changed)
    if g.units == "lsoa":
        ss.lsoa_layer = True  # a plan built from LSOAs is always drawn from them
    st.toggle("LSOAs on the map (select and move single LSOAs)", key="lsoa_layer", disabled=g.units == "lsoa",
              help="Draws the map from the place's LSOAs, with ward boundaries as lines, and lets you pick LSOAs as well as wards. "
              "Assigning an LSOA makes the grouping a plan built from LSOAs, measured on LSOAs.")  # fmt: skip
    redraw_teams.practices_panel(g, d["practices"], held)
    redraw_teams.suggestions_panel(g, d["fig"], held)
    ss.locked_nbs = [n for n in ss.get("locked_nbs", []) if n in g.neighbourhood_to_locality]
    st.multiselect("Locked neighbourhoods (cannot gain or lose wards or practices)", g.neighbourhoods, key="locked_nbs")


def _metrics(fig: dict, moved: list[str], moved_practices: dict) -> None:
    if fig["flows"] is not None:
        f, base_f = fig["flows"], common.baseline_figures()["flows"]

        def metric(col, label: str, value: float, before: float, help: str) -> None:
            col.metric(label, f"{100 * value:.1f}%", delta=f"{100 * (value - before):+.1f} pts vs baseline", help=help)

        m1, m2, m3 = st.columns(3)
        for measure, col in (("resident_containment", m1), ("list_containment", m2)):
            metric(col, f"Lowest {measure.replace('_', ' ')} ({REG_YEAR} registered patients)", f.minimum(measure), base_f.minimum(measure),
                   f"The weakest neighbourhood's {measure.replace('_', ' ')}.")  # fmt: skip
        lsoas = common.grouping().units == "lsoa" or working.origin().grouping.units == "lsoa"
        m3.metric("LSOAs moved" if lsoas else "Wards moved", f"{len(moved)}", help=f"From {working.origin().name}")
        m4, m5, m6 = st.columns(3)
        metric(m4, f"Registered patients using a practice in their own neighbourhood ({REG_YEAR})", f.mean("resident_containment"),
               base_f.mean("resident_containment"), f"City-wide resident containment: registered patients living in the city ({REG_YEAR}) "
               "whose practice is in the neighbourhood they live in.")  # fmt: skip
        metric(m5, f"Patients of the teams' practices living in their team's wards ({REG_YEAR})", f.mean("list_containment"),
               base_f.mean("list_containment"), "City-wide list containment: patients registered with the city's practices (wherever "
               "they live) who live in their practice's neighbourhood.")  # fmt: skip
        m6.metric("Practices in another team", f"{len(moved_practices)}", help=f"Than in {working.origin().name}")
    last = ss.get("_editor_ms")
    st.caption(
        f"Figures recomputed in {fig['ms']:.1f} ms" + (f"; this part of the page last ran in {last:.0f} ms on the server." if last else ".")
    )


@guard.callback("Redraw")
def _apply_table(g, edited: pd.DataFrame, held: set) -> None:
    """Make the edited ward table the working grouping, keeping the practice rule and the explicit practices (one undo step).

    A callback with the table as the last run left it (each edit reruns), so no extra rerun is needed.
    """
    try:
        working.change(working.grouping_from_table(g, edited, wards=list(place.wards.index)), held=held)
        ss.bulk_error = None
    except PlacekitError as exc:
        ss.bulk_error = str(exc)


def _bulk_edit(g, held: set) -> None:
    if st.toggle("Bulk edit (table)", key="bulk_toggle"):
        if g.units == "lsoa":
            st.caption(f"The table edits wards; the {len(g.lsoa_to_neighbourhood)} LSOAs assigned away from their ward stay where they are "
                       "(a neighbourhood renamed or merged here takes its LSOAs with it).")  # fmt: skip
        edited = st.data_editor(g.to_frame(names), key="bulk_editor", hide_index=True, disabled=["ward_code", "ward_name"], width="stretch")
        st.button("Apply table", key="apply_table", on_click=_apply_table, args=(g, edited, held))
        if ss.get("bulk_error"):
            st.error(ss.bulk_error)


@st.fragment
@guard.guarded("Redraw")
def editor() -> None:
    """Map, selection, assignment, table and figures: a click or an Assign reruns only this part of the page."""
    t0 = time.perf_counter()
    guard.show_pending()  # an error of a button's action, when only this fragment reran
    g = common.grouping()
    label = working.working_label(g)
    if ss.get("_sidebar_label") not in (None, label):
        st.rerun(scope="app")  # the sidebar names the working grouping: it must not go stale
    held = working.locked()
    d = derived(g, held)
    ss._run = ss.get("_run", 0) + 1
    left, right = st.columns([9, 11], gap="medium")
    # With a selection the map goes last, so preparing its Assign (tens of ms) does not hold back the panel; without
    # one (a page opened, an Assign done) it goes first, so it is not held back by the panel.
    map_last = bool(working.selection().codes)
    if not map_last:
        with left:
            _map_column(g, d, held, None)
    with right:
        _panel(g, d, held)
    _metrics(d["fig"], d["moved"], d["practices"]["moved"])
    _bulk_edit(g, held)
    if map_last:
        with left:
            _map_column(g, d, held, prepared(g, held))
    share = working.share_link()
    if share:
        st.caption(f"Link to share this saved scenario: `{share}` (after this app's address).")
    else:
        unsaved = not working.same_grouping(g, working.origin().grouping)
        st.caption(("Unsaved changes: save" if unsaved else "Save") + " the working grouping as a scenario to share it by link.")
    working.autosave()
    ss._editor_ms = (time.perf_counter() - t0) * 1000


editor()
plan_upload.panel()  # a plan drawn elsewhere (polygons or a unit_id,district table) opened as the working grouping
propose.propose_panel()
propose.compare_panel()


# --------------------------------------------------------------------------- scenarios
@guard.callback("Redraw")
def _save() -> None:
    name = (ss.get("save_name") or "").strip()
    try:
        ng = common.grouping().renamed(name)
        common.store().save(name, ng, place=place.key, hubs=ss.get("hubs", []), overwrite=ss.get("save_overwrite", False))
        common.set_grouping(ng, record=False)
        working.set_origin(name, ng, ss.get("hubs"), saved=True)
        ss.scenario_name = name
        ss.save_msg = ("success", f"Saved {name!r}.")
    except PlacekitError as exc:
        ss.save_msg = ("error", str(exc))


@guard.callback("Redraw")
def _load() -> None:
    pick = ss.scenario_pick
    try:
        s = common.store().load(pick, wards=list(place.wards.index), place=place.key, lsoas=place.lsoas.index)
        common.practice_teams(s["grouping"])  # refuses explicit practices that are not the place's (unknown, closed, outside)
        common.set_grouping(s["grouping"])
        if s["hubs"]:
            ss.hubs = list(s["hubs"])
        working.set_origin(pick, s["grouping"], s["hubs"], saved=True)
        working.set_selection(())
        ss.scenario_name = pick
        ss.save_msg = ("success", f"Loaded {pick!r}.")
    except PlacekitError as exc:
        ss.save_msg = ("error", str(exc))


def _geopackage() -> bytes:
    """Return the working grouping as a GeoPackage (every layer, as ``placekit export`` writes it), made when the button is clicked."""
    with tempfile.TemporaryDirectory(prefix="placekit-export-") as folder:
        hubs = [h for h in ss.get("hubs") or [] if place.sites is not None and h in place.sites.index]  # the place's own sites
        out = write_plan(plan_layers(place, common.grouping(), hubs=hubs), Path(folder) / "plan.gpkg", fmt="gpkg")
        return out.read_bytes()


def _store_action(action, *args) -> None:
    """Run a store `action` (delete, rename, duplicate) and rerun; on a refusal say why and change nothing."""
    try:
        action(*args)
    except PlacekitError as exc:
        st.error(str(exc))
        return
    st.rerun()


st.subheader("Scenarios")
try:
    store = common.store()
except PlacekitError:  # page_notes has shown what is wrong with the store and how to recover
    store = None
if store is None:
    st.info("Saving, loading and importing scenarios wait until the scenario store above is fixed; "
            "the working grouping stays in this session and its draft.")
else:
    sc1, sc2 = st.columns(2)
    with sc1:
        st.text_input("Save the working grouping as", value=ss.get("scenario_name") or "", key="save_name")
        st.checkbox("Overwrite if it exists", key="save_overwrite")
        st.button("Save scenario", key="save", on_click=_save)
        kind, msg = ss.pop("save_msg", (None, None))
        if kind:
            (st.success if kind == "success" else st.error)(msg)
        up = st.file_uploader("Upload a grouping (CSV or JSON)", type=["csv", "json"], key="upload")
        up_name = st.text_input("Name for the uploaded scenario", key="upload_name")
        if st.button("Import upload", key="import") and up is not None:
            try:
                ng = store.import_file(up_name or up.name, up.getvalue(), up.name, place=place.key, wards=list(place.wards.index),
                                       lsoas=place.lsoas.index)
                st.success(f"Imported {common.esc(up_name or up.name)} with {len(ng.neighbourhoods)} neighbourhoods.")
            except PlacekitError as exc:
                st.error(f"Not imported; nothing was changed. {exc}")
        # Made when clicked, so they hold the working grouping even after edits that reran only the editor.
        st.download_button("Download CSV", lambda: grouping_to_csv(common.grouping(), names), file_name="grouping.csv", mime="text/csv",
                           key="dl_csv")  # fmt: skip
        st.download_button("Download JSON", lambda: grouping_to_json(common.grouping(), names), file_name="grouping.json",
                           mime="application/json", key="dl_json")  # fmt: skip
        if place.practices is not None and place.registrations is not None:
            st.download_button("Download GeoPackage (neighbourhoods, localities, wards, practices, hubs; for GIS)", _geopackage,
                               file_name="plan.gpkg", mime="application/geopackage+sqlite3", key="dl_gpkg",
                               help="The layers and figures of `placekit export`; a plan built from LSOAs has its neighbourhoods "
                               "dissolved from its LSOAs.")  # fmt: skip
    with sc2:
        listing = store.list(place.key)
        st.dataframe(listing, hide_index=True, width="stretch")
        if len(listing):
            pick = st.selectbox("Scenario", listing["name"].tolist(), key="scenario_pick")
            b1, b2, b3 = st.columns(3)
            b1.button("Load", key="load", on_click=_load)
            if b2.button("Delete", key="delete"):
                _store_action(store.delete, pick)
            new = st.text_input("New name (rename or duplicate)", key="rename_to")
            if b3.button("Rename", key="rename"):
                _store_action(store.rename, pick, new)
            if st.button("Duplicate", key="duplicate"):
                _store_action(store.duplicate, pick, new)
