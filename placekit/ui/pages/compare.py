"""Compare two scenarios: synced maps, moved wards, a difference map and a table of deltas.

When either scenario is built from LSOAs, both maps are drawn from the LSOAs and the units that moved
are counted as LSOAs; each scenario's figures are measured on its own units."""

import folium
import pandas as pd
import streamlit as st
from folium.plugins import DualMap

from boundaries.catchments import place_catchments
from boundaries.lsoa_plans import moved_units
from placekit.errors import PlacekitError
from placekit.render.maps import display_frame, escape_frame, fit_on_resize, standalone_html
from placekit.ui import common, working

place = common.place()
REG = common.vintage_label(place, "registrations")
COVER = common.vintage_label(place, "population")  # travel-time coverage weighs the LSOAs' residents of this base
st.title("Compare scenarios")
common.page_notes("compare")  # loader warnings about this page's layers
options = {"Working grouping": common.grouping(), "Baseline": common.static()["baseline"]}
for n in common.saved_scenarios()["name"]:
    options[f"Saved: {n}"] = n


def _option(name: str) -> str | None:
    """Return the option key for a scenario named in a link (a saved name, "Baseline" or "Working grouping")."""
    return name if name in ("Working grouping", "Baseline") else (f"Saved: {name}" if f"Saved: {name}" in options else None)


def _open_link(link: str) -> None:
    """Select the two scenarios of ``?compare=A,B`` (once per link), or say which one is missing."""
    pairs = [(link[:i], link[i + 1 :]) for i, ch in enumerate(link) if ch == ","]
    found = next(((_option(a), _option(b)) for a, b in pairs if _option(a) and _option(b)), None)
    if found:
        st.session_state.cmp_a, st.session_state.cmp_b = found
        return
    missing = sorted({n for a, b in pairs[:1] or [(link, "")] for n in (a, b) if n and not _option(n)})
    st.session_state.cmp_link_error = (
        f"The link asks to compare {link!r}, but there is no saved scenario called {' or '.join(repr(n) for n in missing)} "
        "in this scenario store. Showing the baseline against the working grouping."
    )


link = st.query_params.get("compare")
if link and st.session_state.get("_cmp_link") != link:
    st.session_state._cmp_link = link
    st.session_state.pop("cmp_link_error", None)
    _open_link(link)
if st.session_state.get("cmp_link_error"):
    st.error(st.session_state.cmp_link_error)
for k, default in (("cmp_a", "Baseline"), ("cmp_b", "Working grouping")):
    if st.session_state.get(k) not in options:
        st.session_state[k] = default
c1, c2 = st.columns(2)
ka = c1.selectbox("Scenario A", list(options), key="cmp_a", on_change=st.session_state.pop, args=("cmp_link_error", None))
kb = c2.selectbox("Scenario B", list(options), key="cmp_b", on_change=st.session_state.pop, args=("cmp_link_error", None))
st.query_params["compare"] = ",".join(k.removeprefix("Saved: ") for k in (ka, kb))  # the address opens this comparison
st.session_state._cmp_link = st.query_params["compare"]


def resolve(key):
    v = options[key]
    if isinstance(v, str):
        s = common.store().load(v, wards=list(place.wards.index), place=place.key, lsoas=place.lsoas.index)
        return s["grouping"], s["hubs"]
    return v, st.session_state.get("hubs", []) if key == "Working grouping" else []


try:
    (ga, ha), (gb, hb) = resolve(ka), resolve(kb)
except PlacekitError as exc:
    st.error(common.esc(exc))
    st.stop()
on_lsoas = ga.units == "lsoa" or gb.units == "lsoa"
diff = moved_units(ga, gb, common.lsoa_static()["lsoa_ward"] if on_lsoas else place.lsoa_ward_code)
moved = sorted(diff["code"])
names = common.static()["ward_names"]
if on_lsoas:
    st.info("One of the two is a plan built from LSOAs: both maps are drawn from the LSOAs (each in its neighbourhood under that plan), "
            "units moved are counted as LSOAs, and each plan's figures below are measured on its own units (a plan built from LSOAs on "
            "its LSOAs, a plan of whole wards on its wards).", icon=":material/grid_on:")  # fmt: skip

dm = DualMap(location=[53.46, -2.23], zoom_start=11, tiles=None)
colours = {**working.colours(ga), **working.colours(gb)}  # the session's colours, as on Redraw
for g, side in ((ga, dm.m1), (gb, dm.m2)):
    if on_lsoas:
        w = place.lsoas[["name", "geometry"]].join(common.lsoa_labels(g))
    else:
        w = place.wards.join(g.wards)
    w["colour"] = w["neighbourhood"].map(colours)
    w["moved"] = w.index.isin(moved)
    d = display_frame(escape_frame(w.reset_index(), ["name", "neighbourhood"]), tolerance=10 if on_lsoas else 25)
    folium.GeoJson(
        d,
        style_function=lambda f: {
            "fillColor": f["properties"]["colour"],
            "fillOpacity": 0.55,
            "color": "#b00020" if f["properties"]["moved"] else "#444",
            "weight": 4 if f["properties"]["moved"] else 0.8,
        },
        tooltip=folium.GeoJsonTooltip(fields=["name", "neighbourhood"], aliases=["LSOA" if on_lsoas else "Ward", "Neighbourhood"]),
    ).add_to(side)
    if on_lsoas:  # ward boundaries as lines over the LSOAs
        folium.GeoJson(display_frame(place.wards[["geometry"]].reset_index(drop=True), tolerance=25), interactive=False,
                       style_function=lambda f: {"fill": False, "color": "#222", "weight": 1.2}).add_to(side)  # fmt: skip
b = place.wards.to_crs("EPSG:4326").total_bounds
dm.fit_bounds([[b[1], b[0]], [b[3], b[2]]])
for side in (dm.m1, dm.m2):  # refit once the frame has its size, so the whole place shows
    fit_on_resize(side, [[b[1], b[0]], [b[3], b[2]]], offline=False)
st.caption("Left: A, right: B — the two maps pan and zoom together. Red outlines: "
           + ("LSOAs" if on_lsoas else "wards") + " in a different neighbourhood in B" + (" (dark lines: ward boundaries)." if on_lsoas else "."))
import offlinefolium  # noqa: E402,F401  (assets for the standalone page)

st.iframe(standalone_html(dm), height=520)

st.subheader(f"{len(moved)} {'LSOA' if on_lsoas else 'ward'}(s) moved")
renamed = diff.attrs["renamed"]
if renamed:  # the same neighbourhood under a new name is not a move
    st.caption("Renamed in B (the same neighbourhood, mostly the same " + ("LSOAs" if on_lsoas else "wards") + ", not counted as moved): "
               + "; ".join(f"{common.esc(x)} → {common.esc(y)}" for x, y in renamed.items()))  # fmt: skip
if len(diff):
    shown = pd.DataFrame({"ward": [names.get(w, w) for w in diff["ward"]], "in A": diff["in_a"].to_numpy(), "in B": diff["in_b"].to_numpy()})
    if on_lsoas:
        shown.insert(0, "LSOA", [f"{common.lsoa_static()['lsoa_names'].get(c, c)} ({c})" for c in diff["code"]])
    st.dataframe(shown, hide_index=True, width="stretch")

base = common.static()["flow_base"]
if base is not None:
    try:  # both measured on the LSOAs when either is built from them (a practice by the LSOA of its premises)
        pa, pb = common.practice_teams(ga, on_lsoas=on_lsoas).dropna(), common.practice_teams(gb, on_lsoas=on_lsoas).dropna()
    except PlacekitError as exc:
        st.error(str(exc))
        st.stop()
    moved_p = sorted(p for p in pa.index if renamed.get(pa[p], pa[p]) != pb.get(p))
    st.subheader(f"{len(moved_p)} practice(s) in a different team")
    if moved_p:
        st.dataframe(pd.DataFrame({"practice": [f"{p} {base.practice_names.get(p, '')}" for p in moved_p], "in A": pa[moved_p].to_numpy(),
                                   "in B": pb.reindex(moved_p).to_numpy()}), hide_index=True, width="stretch")  # fmt: skip
    st.caption(f"Measures below: resident and list containment on registered patients ({REG}); residents on the base chosen on "
               f"Map and profiles ({common.population_year()}); walk coverage weighs {COVER} residents.")  # fmt: skip


def metrics(g, hubs):
    fig = common.figures(g)
    t = fig["table"][["locality", "population"]].copy()
    if fig["flows"] is not None:
        nf = fig["flows"].neighbourhoods
        for col in ("resident_containment", "list_containment", "registered_list", "residents_outside_city"):
            t[col] = nf[col]
    if place.catchments is not None and place.lsoa_msoa is not None:
        t["hospital_overlap"] = place_catchments(place, g).summary["overlap_index"]
    a = common.access("walk", g)
    hubs = [h for h in hubs if h in a.sites.index]
    if hubs:
        t["hubs"] = a.site_unit.reindex(hubs).value_counts().reindex(t.index).fillna(0).astype(int)
        t["walk_15min_coverage"] = common.hub_figures(g, hubs, "walk", 15).coverage.by_unit["share_within"]
    return t


LABELS = {"population": f"residents ({common.population_year()})", "registered_list": f"registered list ({REG})",
          "walk_15min_coverage": f"share of residents ({COVER}) within 15 min walk of a hub"}  # fmt: skip
ta, tb = metrics(ga, ha).rename(columns=LABELS), metrics(gb, hb).rename(columns=LABELS)
allnb = list(dict.fromkeys(list(ta.index) + list(tb.index)))
rows = []
for col in [c for c in ta.columns if c != "locality" and c in tb.columns]:
    for n in allnb:
        va, vb = ta[col].get(n), tb[col].get(n)
        rows.append({"neighbourhood": n, "measure": col, "A": va, "B": vb, "delta": (vb - va) if pd.notna(va) and pd.notna(vb) else None})
table = pd.DataFrame(rows)
st.subheader("Measures and deltas (B − A)")
wide = table.pivot_table(index="neighbourhood", columns="measure", values=["A", "B", "delta"], aggfunc="first")
st.dataframe(wide.round(3), width="stretch")
