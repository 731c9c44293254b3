"""Hubs and coverage: the estates planner's journey.

Click a site to make it a hub (or a hub to remove it); choose which sites may be hubs;
run the optimiser and see its proposal on the map with the coverage change before
adopting it; Adopt makes it the working hubs and saves a named scenario; compare the
equity of access with a saved set. The working hubs live in ``st.session_state.hubs``
only (see :mod:`placekit.ui.common`); the hub list follows it.
"""

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from estates.access import evaluate_hubs, site_hubs
from estates.coverage import DEFAULT_THRESHOLDS, OLDER_BAND, equity_change
from estates.sites import CONDITION_PENALTY, CandidateFilter, default_role, hub_candidates
from geo.estates_sites import read_estates_file
from placekit.errors import PlacekitError
from placekit.render.charts import cumulative_curve
from placekit.render.maps import hubs_map
from placekit.ui import common

place = common.place()
POP = common.vintage_label(place, "population")  # the coverage figures weigh the LSOAs' residents of this base
g = common.grouping()
ss = st.session_state
st.title("Hubs and coverage")
common.page_notes("hubs")  # loader warnings about this page's layers
c1, c2 = st.columns(2)
mode = c1.radio("Travel by", ["walk", "drive"], horizontal=True, key="hub_mode")
threshold = c2.slider("Within (minutes)", 5, 45, int(DEFAULT_THRESHOLDS[mode]), key=f"threshold_{mode}")

# ----------------------------------------------------------------- estates file and candidate filter
with st.expander("Sites: your estates file and which sites may become hubs", expanded=False):
    up = st.file_uploader("Estates file (CSV with lon/lat or postcode, or GeoJSON): name, type, and optionally role, tenure, "
                          "floor_area (m²), condition (A–D), weekly_hours", type=["csv", "geojson", "json"], key="estates_upload")  # fmt: skip
    if up is not None and (ss.get("estates_file") or ("",))[0] != up.name:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / up.name
            path.write_bytes(up.getvalue())
            try:
                extra = read_estates_file(path, default_role=default_role)
                ss.estates_file, ss.estates_error = (up.name, up.getvalue()), None
                ss.estates_summary = extra[["name", "site_type", "role", "tenure", "floor_area", "condition", "weekly_hours"]]
            except PlacekitError as exc:
                ss.estates_error = str(exc)
    if ss.get("estates_error"):
        st.error(ss.estates_error)
    if ss.get("estates_file"):
        st.success(f"{len(ss.estates_summary)} sites from {ss.estates_file[0]} join the place's sites.")
        st.dataframe(ss.estates_summary, width="stretch")
        if st.button("Remove the estates file", key="estates_remove"):
            ss.estates_file = None
            st.rerun()

a = common.access(mode, g)
types = sorted(a.sites["site_type"].dropna().unique())
default_types = [t for t in types if default_role(t) == "hub_candidate"]
f1, f2, f3 = st.columns([3, 1, 1])
chosen_types = f1.multiselect("Site types that may become hubs", types, default=default_types, key="cand_types",
                              help="By default, types that can house a health and care centre; add pharmacies or dentists to opt them in.")  # fmt: skip
min_area = f2.number_input("Min floor area (m²)", 0, 100_000, 0, step=50, key="cand_area")
use_condition = f3.checkbox("Condition penalty", value=True, key="cand_condition",
                            help=f"Minutes added to every trip to a site in poor condition: {CONDITION_PENALTY}")  # fmt: skip
rule = CandidateFilter(types=tuple(chosen_types) if chosen_types != default_types else None, min_floor_area=min_area or None)
try:
    candidates, cand_note = hub_candidates(a.sites, rule)
except PlacekitError as exc:
    st.error(str(exc))
    candidates, cand_note = [], ""
st.caption(cand_note)

# ----------------------------------------------------------------- the working hubs
hubs = [h for h in common.default_hubs(mode) if h in a.sites.index]
if a.modelled:
    st.info(f"**Modelled travel times** — {a.method}. Load a road network (CLI `--network`) for street-network times.",
            icon=":material/straighten:")  # fmt: skip
for n in a.notes:
    st.caption(n)
if ss.get("hub_source"):
    st.caption(f"Working hubs: {common.esc(ss.hub_source)}")

labels = {s: f"{a.sites.at[s, 'name']} ({a.sites.at[s, 'site_type']}, {s})" for s in a.sites.index}
ss.hub_select = hubs  # the list follows the working hubs; it writes back only through its callback
st.multiselect("Hubs", list(a.sites.index), key="hub_select", format_func=labels.get, on_change=common.hub_list_changed)
ev = common.hub_figures(g, hubs, mode, threshold) if hubs else None
res = ss.get("site_result")
proposal = res.hubs if res is not None and ss.get("site_result_mode") == mode else None
left, right = st.columns([3, 2])
with left:
    if ev:
        m = hubs_map(place, g, a.sites, hubs, ev.spokes, ev.people, threshold=threshold, offline=False, modelled=a.modelled,
                     proposed=proposal, candidates=candidates)  # fmt: skip
        map_key = f"hubs_map_{hash((tuple(hubs), tuple(proposal or ())))}_{mode}"
        out = st_folium(m, key=map_key, height=620, use_container_width=True,
                        returned_objects=["last_object_clicked", "last_object_clicked_tooltip", "last_active_drawing"])  # fmt: skip
        if common.site_clicked(out, a.sites, map_key=map_key):
            st.rerun()
        st.caption("Click a site (grey or white dot) to make it a hub, or a hub (purple) to remove it. "
                   "Orange rings: the optimiser's proposal, not yet adopted.")  # fmt: skip
with right:
    if ev:
        for c in ev.checks:
            st.warning(c)
        cov = ev.coverage.by_unit
        city = cov.loc[place.name]
        k = st.columns(3)
        k[0].metric(f"Within {threshold} min", f"{city['share_within']:.1%}", help=f"Share of the place's residents ({POP}) "
                    f"within {threshold} min of a hub")  # fmt: skip
        k[1].metric("Mean minutes", f"{city['mean_minutes']:.1f}")
        k[2].metric("90th percentile", f"{city['p90_minutes']:.1f}")
        by_unit = cov[["residents", "mean_minutes", "p90_minutes", "share_within", "age60_share_within"]].round(3)
        st.dataframe(by_unit.rename(columns={"residents": f"residents ({POP})", "share_within": f"share within {threshold} min",
                                             "age60_share_within": f"aged 60+: share within {threshold} min"}), width="stretch")  # fmt: skip
        if ev.coverage.by_imd is not None:
            st.caption("By IMD quintile (1 = most deprived)")
            st.dataframe(ev.coverage.by_imd.round(3), width="stretch")
        curves = {"now": ev.curve}
        prev = ss.get("prev_hubs")
        if prev and prev != hubs and all(h in a.sites.index for h in prev):
            curves["before the last change"] = evaluate_hubs(a, prev, threshold=threshold).curve
        if proposal:
            curves["proposed"] = evaluate_hubs(a, proposal, threshold=threshold).curve
        st.pyplot(cumulative_curve(curves, title="Residents within t minutes of a hub", demo=place.demo))
    else:
        st.warning("No hubs: click a site on the map, pick hubs in the list, or run the optimiser.")
if ev:
    st.subheader("Hubs and their spokes")
    st.dataframe(ev.report.round(1), width="stretch")

# ----------------------------------------------------------------- the optimiser
st.subheader("Hub siting")
o1, o2, o3, o4, o5 = st.columns(5)
n_nb, was = len(g.neighbourhoods), ss.get("_site_p_for")
p = ss.get("site_p", ss.get("_site_p"))  # the widget's value, or the one kept when this page was left (its own key is dropped)
if p is None or (was != n_nb and p == was):  # p follows the grouping, one hub per neighbourhood, unless another number was chosen
    p = n_nb
ss.site_p, ss._site_p_for = p, n_nb
p = ss._site_p = o1.number_input("Hubs (p)", 1, max(60, 3 * n_nb), key="site_p", help=f"Default: one per neighbourhood ({n_nb}).")
objective = o2.selectbox("Objective", ["pmedian", "mclp"], key="site_obj",
                         format_func={"pmedian": "least total travel (p-median)", "mclp": f"most residents within {threshold} min"}.get)  # fmt: skip
method = o3.selectbox("Solver", ["exact", "heuristic"], key="site_method")
keep = o4.checkbox("Keep current hubs fixed", key="site_fixed")
limit = o5.number_input("Time limit (s)", 1, 600, 60, key="site_limit")
each = st.checkbox(f"At least one hub in every neighbourhood ({n_nb})", value=True, key="site_each")
too_few = each and p < n_nb
if too_few:
    st.warning(f"The hub-and-spoke rule gives every neighbourhood a hub, so with {n_nb} neighbourhoods p must be at least {n_nb}. "
               f"Raise p to {n_nb}, or untick the rule to site {p} hub(s) across the whole place.", icon=":material/rule:")  # fmt: skip
if st.button("Run optimiser", key="run_site", type="primary", disabled=too_few):
    try:
        with st.spinner(f"Solving ({method})…"):
            r = site_hubs(a, p=int(p), objective=objective, method=method, threshold=threshold, fixed=tuple(hubs) if keep else (),
                          one_per_neighbourhood=each, candidates=rule, penalty=None if use_condition else {},
                          time_limit=float(limit))  # fmt: skip
        ss.site_result, ss.site_result_mode, ss.site_error = r, mode, None
    except PlacekitError as exc:
        ss.site_result, ss.site_error = None, str(exc)
    st.rerun()
if ss.get("site_error"):
    st.error(f"The optimiser could not answer: {ss.site_error}")
if res is not None:
    proven = res.status in ("Optimal", "local optimum")
    text = (f"**{common.esc(res.solver)}** — {res.status}; objective {res.objective:,.1f}"
            + (f", bound {res.bound:,.1f}, gap {100 * res.gap:.3f}%" if res.bound is not None and res.gap is not None else "")
            + f", {res.seconds:.2f} s. {common.esc(res.candidates)}")  # fmt: skip
    (st.success if res.status == "Optimal" else st.info if proven else st.warning)(
        text if proven else text + " — the time limit stopped the search before it proved optimality; the gap says how far off it may be."
    )
    if ev and proposal:
        after = evaluate_hubs(a, proposal, threshold=threshold).coverage.by_unit.loc[place.name]
        now = ev.coverage.by_unit.loc[place.name]
        d = st.columns(3)
        d[0].metric(f"Within {threshold} min if adopted", f"{after['share_within']:.1%}", f"{100 * (after['share_within'] - now['share_within']):+.1f} pts")
        d[1].metric("Mean minutes if adopted", f"{after['mean_minutes']:.1f}", f"{after['mean_minutes'] - now['mean_minutes']:+.1f}", delta_color="inverse")
        d[2].metric("Hubs that change", f"{len(set(proposal) ^ set(hubs))}")
    st.dataframe(pd.DataFrame({"hub": res.hubs, "name": [a.sites.at[h, "name"] for h in res.hubs],
                               "type": [a.sites.at[h, "site_type"] for h in res.hubs],
                               "neighbourhood": a.site_unit.reindex(res.hubs).to_numpy(),
                               "status": ["kept" if h in hubs else "new" for h in res.hubs]}), hide_index=True, width="stretch")  # fmt: skip
    name = st.text_input("Adopt as scenario named", value=f"{g.name} + {len(res.hubs)} hubs ({objective}, {mode})", key="adopt_name")
    b1, b2 = st.columns(2)
    if b1.button("Adopt", key="adopt", type="primary"):
        try:
            common.store().save(name, g.renamed(name), place=place.label, hubs=res.hubs)
            common.set_hubs(res.hubs, source=f"adopted from the optimiser and saved as {name!r}")
            ss.site_result, ss.adopt_message = None, f"Hubs adopted and saved as {name!r}."
            st.rerun()
        except PlacekitError as exc:
            st.error(f"Not adopted: {exc}")
    if b2.button("Discard the proposal", key="discard"):
        ss.site_result = None
        st.rerun()
if ss.get("adopt_message"):
    st.success(ss.adopt_message)

# ----------------------------------------------------------------- equity against a saved set
st.subheader("Equity of access: the working hubs against a saved set")
saved = common.saved_scenarios()
saved = saved[saved["hubs"] > 0]


def hubs_of(name: str) -> list[str]:
    """Return the hubs of saved scenario `name`; none when its row cannot be read (the store's problems are listed above)."""
    try:
        return list(common.store().load(name)["hubs"])
    except PlacekitError:
        return []


if saved.empty:
    st.caption("Save a scenario with hubs (Adopt above, or Save on the Redraw page) to compare with it.")
elif ev:
    sets = {n: [h for h in hubs_of(n) if h in a.sites.index] for n in saved["name"]}
    order = sorted(sets, key=lambda n: sorted(sets[n]) == sorted(hubs))  # sets that differ from the working hubs first
    base_name = st.selectbox("Saved set", order, key="equity_base")
    base = sets[base_name]
    if not base:
        st.warning(f"None of the hubs saved in {base_name!r} is a site here (another mode's sites or estates file?).")
    else:
        if sorted(base) == sorted(hubs):
            st.caption(f"{common.esc(base_name)} holds the working hubs themselves: every change below is zero.")
        eq = equity_change(ev.people["minutes"], evaluate_hubs(a, base, threshold=threshold).people["minutes"], a.origins,
                           threshold=threshold)  # fmt: skip
        show = pd.DataFrame({
            f"residents ({POP})": eq["residents"].round(0),
            "mean minutes (saved)": eq["mean_minutes_base"].round(2), "mean minutes (now)": eq["mean_minutes_now"].round(2),
            "change in minutes": eq["mean_minutes_change"].round(2),
            f"% within {threshold} min (saved)": (100 * eq["share_within_base"]).round(1),
            f"% within {threshold} min (now)": (100 * eq["share_within_now"]).round(1),
            "change in points": (100 * eq["share_within_change"]).round(1),
        })  # fmt: skip
        st.dataframe(show, width="stretch")
        chart = pd.DataFrame({f"change in % within {threshold} min (points)": 100 * eq["share_within_change"],
                              "change in mean minutes": eq["mean_minutes_change"]})  # fmt: skip
        st.bar_chart(chart, horizontal=True, stack=False, height=320)
        st.caption(f"Working hubs against {common.esc(base_name)}; {a.method}; {place.vintages.get('population', '')} residents. "
                   f"Older residents: the population layer's bands are 0–15, 16–59 and 60+, so residents {OLDER_BAND[1]} stand in "
                   "for 65+ (the band holds every resident aged 65+, with those aged 60–64 beside them).")  # fmt: skip
