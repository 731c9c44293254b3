"""Redraw's practice layer: each practice's team on the map and in a table, the team rule, and moves that would help.

A neighbourhood team serves the registered lists of its practices. Redraw shows every
practice of the place as a dot in its team's colour and in a table (code, name, premises
ward, team, how it was decided, list size, the team it had in the origin); practices are
selected like wards (map, lasso, list or table) and assigned explicitly in one step. The
grouping's rule for the others is chosen here too. Suggestions (:func:`boundaries.suggest.suggest_moves`)
are computed only while their panel is open, once per grouping and measure, and applied
with one click as one undo step.
"""

from __future__ import annotations

import html
import string
import time

import pandas as pd
import streamlit as st

from boundaries.grouping import PRACTICE_RULES, Grouping
from boundaries.membership import practice_membership
from boundaries.suggest import OBJECTIVE, suggest_moves
from placekit.errors import PlacekitError
from placekit.ui import common, guard, working

__all__ = ["practice_layer", "moved_caption", "practices_panel", "suggestions_panel", "SUGGESTIONS_SHOWN"]

#: How many suggested moves the panel lists, each with its Apply button.
SUGGESTIONS_SHOWN = 6
MEASURE_NAMES = {"resident_containment": "resident containment", "list_containment": "list containment"}


def _decided(how: str) -> str:
    return "explicit" if how == "explicit" else f"rule: {how}"


def practice_layer(g: Grouping, teams: pd.Series, reg_year: str) -> dict:
    """Return what Redraw draws and lists of the practices under `g` (computed when the grouping changes).

    Returns
    -------
    dict
        ``teams`` (practice → team), ``moved`` (practice → the origin's team, for practices in another
        team now), ``tips`` (practice → tooltip), ``table`` (one row per practice, index code:
        ``Practice``, ``Premises ward``, ``Team``, ``Decided by``, registered patients, ``Moved from``).
    """
    info = common.practices()
    if info.empty:
        return {"teams": {}, "moved": {}, "tips": {}, "table": pd.DataFrame()}
    # Plain lists and one frame built in its final order: pandas lookups one by one, or a sort of text columns, cost
    # milliseconds each, on every rerun that changes the grouping.
    codes = info.index.tolist()
    team = teams.reindex(info.index).tolist()
    how = [_decided(h) for h in practice_membership(common.flow_base_for(g), g)["decided_by"].reindex(info.index).tolist()]
    moved = working.moved_practices(g)
    name, ward, size = info["display_name"].tolist(), info["premises_ward_name"].tolist(), info["list_size"].tolist()
    order = sorted(range(len(codes)), key=lambda i: (team[i], name[i]))
    table = pd.DataFrame(
        {
            "Practice": [name[i] for i in order],
            "Premises ward": [ward[i] for i in order],
            "Team": [team[i] for i in order],
            "Decided by": [how[i] for i in order],
            f"Registered patients ({reg_year})": [size[i] for i in order],
            f"Moved from ({working.origin().name})": [moved.get(codes[i], "") for i in order],
        },
        index=pd.Index([codes[i] for i in order], name="Code"),
    )
    tips = {
        p: f"{t} ({h}); {n:,} registered patients ({reg_year}); premises in {w}" + (f"; moved from {moved[p]}" if p in moved else "")
        for p, t, h, n, w in zip(codes, team, how, size, ward, strict=True)
    }
    return {"teams": dict(zip(codes, team, strict=True)), "moved": moved, "tips": tips, "table": table}


def moved_caption(moved_wards: list[str], moved_practices: dict[str, str], g: Grouping) -> str | None:
    """Say which wards (LSOAs, when either grouping is built from them) and practices moved from the origin (None when nothing moved)."""
    if not moved_wards and not moved_practices:
        return None
    lsoas = g.units == "lsoa" or working.origin().grouping.units == "lsoa"
    names = common.lsoa_static()["lsoa_names"] if lsoas else common.static()["ward_names"]
    pn = common.practices()["display_name"]
    teams = common.practice_teams(g, on_lsoas=lsoas)
    parts = []
    if moved_wards:
        shown = ", ".join(names.get(w, w) for w in moved_wards[:40]) + (f" and {len(moved_wards) - 40} more" if len(moved_wards) > 40 else "")
        parts.append(f"{len(moved_wards)} {'LSOA' if lsoas else 'ward'}(s): " + shown)
    if moved_practices:
        parts.append(f"{len(moved_practices)} practice(s): " + ", ".join(
            f"{p} {pn.get(p, '')} ({before} → {teams.get(p)})" for p, before in moved_practices.items()))  # fmt: skip
    return f"Moved from {common.esc(working.origin().name)} — " + "; ".join(common.esc(x) for x in parts)


# --------------------------------------------------------------------------- practices: list, table, rule
@guard.callback("Redraw")
def _rule_changed() -> None:
    ss = st.session_state
    try:
        n = working.set_practice_rule(ss.prac_rule)
        ss.assign_error, ss.assign_note = None, f"Practices not assigned explicitly now follow the {ss.prac_rule!r} rule: {n} changed team."
    except PlacekitError as exc:
        ss.assign_error, ss.assign_note = str(exc), None


@guard.callback("Redraw")
def _picked() -> None:
    working.set_selection(st.session_state.prac_pick, kind="practice")


@guard.callback("Redraw")
def _table_picked() -> None:
    ss = st.session_state
    rows = ((ss.get("prac_table") or {}).get("selection") or {}).get("rows") or []
    order = ss.get("_prac_table_order") or []
    working.set_selection([order[i] for i in rows if i < len(order)], kind="practice")


def practices_panel(g: Grouping, layer: dict, held: set) -> None:
    """Show the practice rule, a searchable list and the practice table (rows selectable), inside a lazy expander."""
    ss = st.session_state
    table = layer["table"]
    if table.empty:
        return
    # A fixed label: a label that changed with the figures would make a new expander (closed) after each edit.
    box = st.expander("Practices: their teams, the rule, pick them in a list or a table", key="prac_open", on_change="rerun")
    if not box.open:
        return
    with box:
        explicit = len(g.practice_to_neighbourhood)
        st.caption(f"{len(table)} practices; {explicit} assigned explicitly, the others by the **{g.practice_rule}** rule; "
                   f"{len(layer['moved'])} in another team than in {common.esc(working.origin().name)}.")  # fmt: skip
        ss.prac_rule = g.practice_rule  # the widget shows the grouping's rule, whoever changed it last (undo, a load)
        st.selectbox("Practices not assigned explicitly belong to", list(PRACTICE_RULES), key="prac_rule", on_change=_rule_changed,
                     format_func=lambda r: f"{r}: {PRACTICE_RULES[r]}")  # fmt: skip
        sel = working.selection()
        chosen = list(sel.codes) if sel.kind == "practice" else []
        free = [p for p in table.index if table.at[p, "Team"] not in held]
        ss.prac_pick = [p for p in chosen if p in free]
        st.multiselect("Selected practices (type a code, a name or a team)", free, key="prac_pick", on_change=_picked,
                       format_func=lambda p: f"{p} {table.at[p, 'Practice']} · {table.at[p, 'Team']}")  # fmt: skip
        order = list(table.index)
        ss._prac_table_order = order
        want = [order.index(p) for p in chosen if p in order]
        now = ((ss.get("prac_table") or {}).get("selection") or {}).get("rows")
        if now is None or sorted(now) != sorted(want):
            ss.prac_table = {"selection": {"rows": want}}
        st.dataframe(table, key="prac_table", on_select=_table_picked, selection_mode="multi-row", height=300, width="stretch",
                     column_config={"Practice": st.column_config.TextColumn(width="medium")})  # fmt: skip
        st.caption("Tick rows to select practices; the search button in the table's toolbar finds a code, name, ward or team. "
                   "Assigning a practice makes its team explicit; **Follow the rule again** (under Assign) undoes that. "
                   "Practices of locked neighbourhoods cannot be picked.")  # fmt: skip


# --------------------------------------------------------------------------- suggestions
@guard.callback("Redraw")
def _apply(move: dict) -> None:
    ss = st.session_state
    try:
        working.apply_move(move)
        ss.assign_error, ss.assign_note = None, f"Applied: {_describe(move)}."
    except PlacekitError as exc:
        ss.assign_error, ss.assign_note = str(exc), None


def _describe(move) -> str:
    """Say a suggested move in words: "Ward Baguley: A → B", "Practice P84014 Rk Medical Practice: A → B"."""
    what = f"Ward {move['unit_name']}" if move["kind"] == "ward" else f"Practice {move['unit']} {string.capwords(str(move['unit_name']))}"
    return f"{what}: {move['from_neighbourhood']} → {move['to_neighbourhood']}"


def _suggestions(g: Grouping, measure: str, held: set) -> tuple[pd.DataFrame, float, bool]:
    """Return the top moves for `g` (kept until the grouping, the measure, the locks or the resident base change), ms, cached."""
    ss = st.session_state
    key = (measure, tuple(sorted(held)), common.population_base())
    hit = ss.get("_suggestions")
    if hit and hit[0] is g and hit[1] == key:
        return hit[2], hit[3], True
    t0 = time.perf_counter()
    s = suggest_moves(common.suggest_base(), g, common.static()["adjacency"], measure=measure, top=0, ward_names=common.static()["ward_names"])
    s = s[~s["from_neighbourhood"].isin(held) & ~s["to_neighbourhood"].isin(held)]
    keep = []
    for _, row in s.iterrows():  # a ward move may still shift a locked team's practices (pcn or patients rule)
        if len(keep) == SUGGESTIONS_SHOWN:
            break
        if not held or working.lock_problem(g, _applied(g, row), held) is None:
            keep.append(row)
    out = pd.DataFrame(keep).reset_index(drop=True) if keep else s.head(0)
    out.attrs.update(s.attrs)
    ms = (time.perf_counter() - t0) * 1000
    ss._suggestions = (g, key, out, ms)
    return out, ms, False


def _applied(g: Grouping, row) -> Grouping:
    return g.move(row["unit"], row["to_neighbourhood"]) if row["kind"] == "ward" else g.assign_practices([row["unit"]], row["to_neighbourhood"])


def _pts(v: float) -> str:
    return f"{100 * v:+.1f}"


def suggestions_panel(g: Grouping, fig: dict, held: set) -> None:
    """List the best single ward and practice moves for the chosen measure, each with its Apply button (only while open)."""
    if fig["flows"] is None:
        return
    box = st.expander("Moves that would help (ward and practice moves, one click to apply)", key="sugg_open", on_change="rerun")
    if not box.open:
        return
    if g.units == "lsoa":
        with box:
            st.info("Suggested moves are ranked for plans of whole wards (each ward and practice moved in turn); this plan is built "
                    "from LSOAs, so none is offered. Propose neighbourhoods (below) searches plans of LSOAs.")  # fmt: skip
        return
    with box:
        measure = st.radio("Raise", list(MEASURE_NAMES), format_func=MEASURE_NAMES.get, horizontal=True, key="sugg_measure")
        try:
            s, ms, kept = _suggestions(g, measure, held)
        except PlacekitError as exc:
            st.error(str(exc))
            return
        f = fig["flows"]
        st.caption(f"Now: lowest {MEASURE_NAMES[measure]} {100 * f.minimum(measure):.1f}%, city-wide {100 * f.mean(measure):.1f}% "
                   f"({f.bases['registered_list']}). Band on {s.attrs.get('band_base', '').replace('_', ' ')}"
                   f" ({s.attrs.get('population_base') if s.attrs.get('band_base') == 'population' else s.attrs.get('list_base')}).")  # fmt: skip
        if s.empty:
            st.info("No single move raises the measure without touching a locked neighbourhood." if held else "No single move found.")
        for i, row in s.iterrows():
            c1, c2 = st.columns([11, 2], vertical_alignment="center")
            band = "✔ band" if row["band_kept"] else "⚠ band"
            contig = "✔ contiguity" if row["contiguity_kept"] else "⚠ pieces"
            c1.markdown(
                f"**{html.escape(_describe(row))}**  \n:small[lowest {100 * row['min_before']:.1f}% → {100 * row['min_after']:.1f}% "
                f"({_pts(row['min_gain'])} pts) · city-wide {100 * row['mean_before']:.1f}% → {100 * row['mean_after']:.1f}% "
                f"({_pts(row['mean_gain'])} pts) · {band} · {contig}]"
            )
            c2.button("Apply", key=f"sugg_apply_{i}", on_click=_apply, args=(row.to_dict(),))
        st.caption(f"Computed in {ms:.0f} ms for this grouping" + (" (kept: the grouping has not changed since)" if kept else "")
                   + f". Ranked: {OBJECTIVE}.")  # fmt: skip
