"""Hubs and coverage: toggle hubs, see spokes and coverage update, run the hub-siting optimiser."""

import numpy as np
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from estates.access import site_hubs
from estates.coverage import DEFAULT_THRESHOLDS
from placekit.errors import PlacekitError
from render.charts import cumulative_curve
from render.maps import hubs_map
from ui import common
from ui.maps import site_points

place = common.place()
g = common.grouping()
ss = st.session_state
st.title("Hubs and coverage")
common.page_notes("hubs")  # loader warnings about this page's layers
c1, c2 = st.columns(2)
mode = c1.radio("Travel by", ["walk", "drive"], horizontal=True, key="hub_mode")
threshold = c2.slider("Within (minutes)", 5, 45, int(DEFAULT_THRESHOLDS[mode]), key=f"threshold_{mode}")
a = common.access(mode, g)
hubs = common.default_hubs()
if a.modelled:
    st.info(
        f"**Modelled travel times** — {a.method}. Load a road network (CLI `--network`) for street-network times.",
        icon=":material/straighten:",
    )
if ss.get("hub_source"):
    st.caption(ss.hub_source)

labels = {s: f"{a.sites.at[s, 'name']} ({a.sites.at[s, 'site_type']}, {s})" for s in a.sites.index}
chosen = st.multiselect(
    "Hubs", list(a.sites.index), default=[h for h in hubs if h in a.sites.index], format_func=labels.get, key="hub_select"
)
if chosen != hubs:
    ss.prev_hubs, ss.hubs = hubs, chosen
    st.rerun()
ev = common.hub_figures(g, hubs, mode, threshold) if hubs else None
left, right = st.columns([3, 2])
with left:
    if ev:
        m = hubs_map(place, g, a.sites, hubs, ev.spokes, ev.people, threshold=threshold, offline=False, modelled=a.modelled)
        out = st_folium(
            m,
            key=f"hubs_map_{len(hubs)}_{hash(tuple(hubs))}_{mode}",
            height=620,
            use_container_width=True,
            returned_objects=["last_object_clicked"],
        )
        click = (out or {}).get("last_object_clicked")
        if click and click != ss.get("_last_site_click"):
            ss._last_site_click = click
            pts = site_points(a.sites)
            d = np.hypot((pts["lat"] - click["lat"]) * 111_000, (pts["lng"] - click["lng"]) * 66_000)
            if d.min() < 40:
                sid = d.idxmin()
                ss.prev_hubs = list(hubs)
                ss.hubs = [h for h in hubs if h != sid] if sid in hubs else hubs + [sid]
                st.rerun()
        st.caption("Click a site (grey dot) to make it a hub, or a hub (purple) to remove it.")
with right:
    if ev:
        for c in ev.checks:
            st.warning(c)
        cov = ev.coverage.by_unit
        city = cov.loc[place.name]
        k = st.columns(3)
        k[0].metric(f"Residents within {threshold} min", f"{city['share_within']:.1%}")
        k[1].metric("Mean minutes", f"{city['mean_minutes']:.1f}")
        k[2].metric("90th percentile", f"{city['p90_minutes']:.1f}")
        st.dataframe((cov[["residents", "mean_minutes", "p90_minutes", "share_within", "age60_share_within"]]).round(3), width="stretch")
        if ev.coverage.by_imd is not None:
            st.caption("By IMD quintile (1 = most deprived)")
            st.dataframe(ev.coverage.by_imd.round(3), width="stretch")
        curves = {"now": ev.curve}
        prev = ss.get("prev_hubs")
        if prev and prev != hubs and all(h in a.sites.index for h in prev):
            curves["before the last change"] = common.hub_figures(g, prev, mode, threshold).curve
        st.pyplot(cumulative_curve(curves, title="Residents within t minutes of a hub", demo=place.demo))
if ev:
    st.subheader("Hubs and their spokes")
    st.dataframe(ev.report.round(1), width="stretch")

st.subheader("Hub siting")
o1, o2, o3, o4 = st.columns(4)
p = o1.number_input("Hubs (p)", 1, 60, 12, key="site_p")
objective = o2.selectbox(
    "Objective",
    ["pmedian", "mclp"],
    format_func={"pmedian": "least total travel (p-median)", "mclp": f"most residents within {threshold} min"}.get,
    key="site_obj",
)
method = o3.selectbox("Solver", ["heuristic", "exact"], key="site_method")
keep = o4.checkbox("Keep current hubs fixed", key="site_fixed")
if st.button("Run optimiser", key="run_site"):
    with st.status(f"Solving ({method})…", expanded=False) as status:
        try:
            res = site_hubs(
                a, p=int(p), objective=objective, method=method, threshold=threshold, fixed=tuple(hubs) if keep else (), time_limit=120
            )
            ss.site_result = res
            status.update(label=f"Done in {res.seconds:.2f} s: {res.status}", state="complete")
        except PlacekitError as exc:
            status.update(label="Could not solve", state="error")
            st.error(str(exc))
res = ss.get("site_result")
if res is not None:
    st.write(
        f"**{common.esc(res.solver)}** — objective {res.objective:,.1f}"
        + (f", bound {res.bound:,.1f}, gap {100 * res.gap:.3f}%" if res.bound is not None and res.gap is not None else "")
        + f", {res.seconds:.2f} s"
    )
    st.dataframe(
        pd.DataFrame(
            {"hub": res.hubs, "name": [a.sites.at[h, "name"] for h in res.hubs], "neighbourhood": a.site_unit.reindex(res.hubs).to_numpy()}
        ),
        hide_index=True,
        width="stretch",
    )
    name = st.text_input("Adopt as scenario named", value=f"{g.name} + {len(res.hubs)} hubs", key="adopt_name")
    if st.button("Adopt", key="adopt"):
        try:
            common.store().save(name, g.renamed(name), place=place.label, hubs=res.hubs)
            ss.prev_hubs, ss.hubs = hubs, list(res.hubs)
            st.success(f"Hubs adopted and saved as {name!r}.")
            st.rerun()
        except PlacekitError as exc:
            st.error(str(exc))
