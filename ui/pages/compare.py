"""Compare two scenarios: synced maps, moved wards, a difference map and a table of deltas."""

import folium
import pandas as pd
import streamlit as st
from folium.plugins import DualMap

from boundaries.catchments import place_catchments
from placekit.errors import PlacekitError
from render.maps import display_frame, escape_frame, neighbourhood_colours, standalone_html
from ui import common

place = common.place()
st.title("Compare scenarios")
common.page_notes("compare")  # loader warnings about this page's layers
store = common.store()
options = {"Working grouping": common.grouping(), "Baseline": common.static()["baseline"]}
for n in store.list(place.label)["name"]:
    options[f"Saved: {n}"] = n
c1, c2 = st.columns(2)
ka = c1.selectbox("Scenario A", list(options), index=1, key="cmp_a")
kb = c2.selectbox("Scenario B", list(options), index=0, key="cmp_b")


def resolve(key):
    v = options[key]
    if isinstance(v, str):
        s = store.load(v, wards=list(place.wards.index))
        return s["grouping"], s["hubs"]
    return v, st.session_state.get("hubs", []) if key == "Working grouping" else []


try:
    (ga, ha), (gb, hb) = resolve(ka), resolve(kb)
except PlacekitError as exc:
    st.error(str(exc))
    st.stop()
moved = sorted(w for w in ga.ward_to_neighbourhood if ga.ward_to_neighbourhood[w] != gb.ward_to_neighbourhood.get(w))
names = common.static()["ward_names"]

dm = DualMap(location=[53.46, -2.23], zoom_start=11, tiles=None)
colours = neighbourhood_colours(sorted(set(ga.neighbourhoods) | set(gb.neighbourhoods)))
for g, side in ((ga, dm.m1), (gb, dm.m2)):
    w = place.wards.join(g.wards)
    w["colour"] = w["neighbourhood"].map(colours)
    w["moved"] = w.index.isin(moved)
    d = display_frame(escape_frame(w.reset_index(), ["name", "neighbourhood"]), tolerance=25)
    folium.GeoJson(
        d,
        style_function=lambda f: {
            "fillColor": f["properties"]["colour"],
            "fillOpacity": 0.55,
            "color": "#b00020" if f["properties"]["moved"] else "#444",
            "weight": 4 if f["properties"]["moved"] else 0.8,
        },
        tooltip=folium.GeoJsonTooltip(fields=["name", "neighbourhood"], aliases=["Ward", "Neighbourhood"]),
    ).add_to(side)
b = place.wards.to_crs("EPSG:4326").total_bounds
dm.fit_bounds([[b[1], b[0]], [b[3], b[2]]])
st.caption("Left: A, right: B — the two maps pan and zoom together. Red outlines: wards in a different neighbourhood in B.")
import offlinefolium  # noqa: E402,F401  (assets for the standalone page)

st.iframe(standalone_html(dm), height=520)

st.subheader(f"{len(moved)} ward(s) moved")
if moved:
    st.dataframe(
        pd.DataFrame(
            {
                "ward": [names.get(w, w) for w in moved],
                "in A": [ga.ward_to_neighbourhood[w] for w in moved],
                "in B": [gb.ward_to_neighbourhood[w] for w in moved],
            }
        ),
        hide_index=True,
        width="stretch",
    )


def metrics(g, hubs):
    fig = common.figures(g)
    t = fig["table"][["locality", "population"]].copy()
    if fig["flows"] is not None:
        t["self_containment"] = fig["flows"].neighbourhoods["self_containment"]
        t["outside_city"] = fig["flows"].neighbourhoods["residents_outside_city"]
    if place.catchments is not None and place.lsoa_msoa is not None:
        t["hospital_overlap"] = place_catchments(place, g).summary["overlap_index"]
    a = common.access("walk", g)
    hubs = [h for h in hubs if h in a.sites.index]
    if hubs:
        t["hubs"] = a.site_unit.reindex(hubs).value_counts().reindex(t.index).fillna(0).astype(int)
        t["walk_15min_coverage"] = common.hub_figures(g, hubs, "walk", 15).coverage.by_unit["share_within"]
    return t


ta, tb = metrics(ga, ha), metrics(gb, hb)
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
