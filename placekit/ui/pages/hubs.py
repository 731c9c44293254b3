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

from estates.access import CAPACITY_FACTOR, evaluate_hubs, site_hubs
from estates.coverage import DEFAULT_THRESHOLDS, OLDER_BAND, equity_change, older_band, with_ranges
from estates.sites import CONDITION_PENALTY, PREMISES_STATUS, CandidateFilter, PlanningRatios, default_role, hub_candidates
from geo.estates_sites import read_estates_file
from placekit.errors import PlacekitError
from placekit.render.charts import cumulative_curve
from placekit.render.maps import hubs_map
from placekit.ui import common
from placekit.ui.whatif import whatif_section

place = common.place()
POP = common.vintage_label(place, "population")  # the coverage figures weigh the LSOAs' residents of this base
g = common.grouping()
ss = st.session_state
st.title("Hubs and coverage")
common.page_notes("hubs")  # loader warnings about this page's layers
c1, c2 = st.columns(2)
mode = c1.radio("Travel by", ["walk", "drive"], horizontal=True, key="hub_mode")
threshold = c2.slider("Within (minutes)", 5, 45, int(DEFAULT_THRESHOLDS[mode]), key=f"threshold_{mode}")

if place.sites is None and not place.demo and not ss.get("estates_file"):
    st.info(f"{common.esc(place.label)} has no local estates layer: the sites are GP premises (ODS epraccur, open) and hospital sites "
            "(NHS Choices, January 2018). Add your estate (libraries, council and community buildings, …) as an estates file in "
            "**Sites** below.", icon=":material/domain_disabled:")  # fmt: skip

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
    tup = st.file_uploader("Your own travel times (CSV or Parquet: origin = LSOA or ward code, site = site id or ODS practice code, "
                           "minutes), as your routing tool made them: used exactly as given, for either mode",
                           type=["csv", "parquet"], key=f"times_upload_{ss.get('times_upload_n', 0)}")  # fmt: skip
    if tup is not None and (ss.get("times_file") or ("",))[0] != tup.name:
        prev, ss.times_file = ss.get("times_file"), (tup.name, tup.getvalue())
        try:
            common.access(mode, g)  # checks every row, code and pair against the place; cached when it passes
            ss.times_error = None
        except PlacekitError as exc:
            ss.times_file, ss.times_error = prev, str(exc)
    if ss.get("times_error"):
        st.error(f"Your travel times were not used: {ss.times_error}")
    if ss.get("times_file"):
        st.success(f"Travel times from {common.esc(ss.times_file[0])}, used as given in place of the model.")
        if st.button("Remove the travel times", key="times_remove"):
            ss.times_file, ss.times_upload_n = None, ss.get("times_upload_n", 0) + 1  # a new, empty uploader: the file is not read again
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
q1, q2, q3 = st.columns([3, 1, 1])
premises = q1.multiselect("GP premises that may be hubs", list(PREMISES_STATUS), default=["open"], key="cand_premises",
                          format_func=lambda k: k.replace("_", " "), help="; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in PREMISES_STATUS.items()))  # fmt: skip
min_cap = q2.number_input("Min capacity (patients)", 0, 200_000, 0, step=1000, key="cand_capacity",
                          help=f"A GP premises holds its practices' registered lists; an estates site its floor area or clinical rooms at "
                          f"{PlanningRatios().describe()}.")  # fmt: skip
unknown_cap = q3.radio("Unknown capacity", ["keep", "drop"], horizontal=True, key="cand_unknown")
rule = CandidateFilter(types=tuple(chosen_types) if chosen_types != default_types else None, min_floor_area=min_area or None,
                       premises=tuple(premises), min_capacity=min_cap or None, unknown_capacity=unknown_cap)  # fmt: skip
try:
    candidates, cand_note = hub_candidates(a.sites, rule)
except PlacekitError as exc:
    st.error(str(exc))
    candidates, cand_note = [], ""
st.caption(cand_note)
with st.expander(f"The {len(candidates)} hub candidates: capacity and where it came from", expanded=False):
    cand_cols = [c for c in ("name", "site_type", "neighbourhood", "premises_status", "capacity", "capacity_source", "other_names") if c in a.sites]
    st.dataframe(a.sites.loc[candidates, cand_cols].assign(neighbourhood=a.site_unit.reindex(candidates)), width="stretch")

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
def ranged(row: pd.Series, col: str, fmt: str) -> str | None:
    """Return the low–high bounds of a figure as text, or None when the times are not uncertain (or the bounds agree)."""
    lo, hi = row.get(f"{col}_low"), row.get(f"{col}_high")
    return None if lo is None or fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}–{fmt.format(hi)}"


with right:
    if ev:
        for c in ev.checks:
            st.warning(c)
        if ev.calibration is not None:
            st.warning(f"**How sure these drive times are**: {ev.calibration['text']}. Figures read *value (low–high)*. "
                       "A road network (CLI `--network`) or your own times (upload above) give times without this spread.",
                       icon=":material/straighten:")  # fmt: skip
        cov = ev.coverage.by_unit
        city = cov.loc[place.name]
        k = st.columns(3)
        k[0].metric(f"Within {threshold} min", f"{city['share_within']:.1%}", ranged(city, "share_within", "{:.1%}"), "off",
                    delta_arrow="off", help=f"Share of the place's residents ({POP}) within {threshold} min of a hub")  # fmt: skip
        k[1].metric("Mean minutes", f"{city['mean_minutes']:.1f}", ranged(city, "mean_minutes", "{:.1f}"), "off", delta_arrow="off")
        k[2].metric("90th percentile", f"{city['p90_minutes']:.1f}", ranged(city, "p90_minutes", "{:.1f}"), "off", delta_arrow="off")
        _, older, prefix = older_band(a.origins)  # 60+ (mid-2015 bands) or 65+ (Census 2021)
        keep_cols = [c for c in cov.columns if c.split("_low")[0].split("_high")[0] in ("residents", "mean_minutes", "p90_minutes",
                                                                                      "share_within", f"{prefix}share_within")]  # fmt: skip
        by_unit = with_ranges(cov[keep_cols], digits=1, percent=("share_within", f"{prefix}share_within")).round(1)
        st.dataframe(by_unit.rename(columns={"residents": f"residents ({POP})", "share_within": f"% within {threshold} min",
                                             f"{prefix}share_within": f"{older}: % within {threshold} min"}), width="stretch")  # fmt: skip
        if ev.coverage.by_imd is not None:
            st.caption("By IMD quintile (1 = most deprived)")
            st.dataframe(with_ranges(ev.coverage.by_imd, digits=1, percent=("share_within",)).round(1), width="stretch")  # walk: no ranges
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
    st.caption(f"Capacity: registered patients the building holds (GP premises: its practices' July 2022 lists) or its floor area or "
               f"clinical rooms at {PlanningRatios().describe()}; residents served: {POP} residents nearest to it.")  # fmt: skip
    st.dataframe(with_ranges(ev.report.round(1)), width="stretch")

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
c1, c2 = st.columns([1, 1])
capacitated = c1.checkbox("Capacitated: no hub serves more residents than its capacity × the factor", key="site_capacitated",
                          help="Solved exactly; candidates of unknown capacity follow 'Unknown capacity' above (keep: not limited).")  # fmt: skip
factor = c2.number_input("Capacity factor (residents per patient of capacity)", 0.5, 20.0, CAPACITY_FACTOR, step=0.5, key="site_factor")
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
                          time_limit=float(limit), capacitated=capacitated, capacity_factor=float(factor))  # fmt: skip
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
    served = res.loads if res.loads is not None else evaluate_hubs(a, res.hubs, threshold=threshold).report["residents_served"]
    st.dataframe(pd.DataFrame({"hub": res.hubs, "name": [a.sites.at[h, "name"] for h in res.hubs],
                               "type": [a.sites.at[h, "site_type"] for h in res.hubs],
                               "neighbourhood": a.site_unit.reindex(res.hubs).to_numpy(),
                               "capacity (patients)": a.sites["capacity"].reindex(res.hubs).to_numpy() if "capacity" in a.sites else None,
                               f"residents served ({POP})": served.reindex(res.hubs).round(0).to_numpy(),
                               "status": ["kept" if h in hubs else "new" for h in res.hubs]}), hide_index=True, width="stretch")  # fmt: skip
    name = st.text_input("Adopt as scenario named", value=f"{g.name} + {len(res.hubs)} hubs ({objective}, {mode})", key="adopt_name")
    b1, b2 = st.columns(2)
    if b1.button("Adopt", key="adopt", type="primary"):
        try:
            common.store().save(name, g.renamed(name), place=place.key, hubs=res.hubs)
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
        return list(common.store().load(name, place=common.place().key)["hubs"])
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
        older = older_band(a.origins)
        st.caption(f"Working hubs against {common.esc(base_name)}; {a.method}; {place.vintages.get('population', '')} residents. "
                   + (f"Older residents: the population layer's bands are 0–15, 16–59 and 60+, so residents {OLDER_BAND[1]} stand in "
                      "for 65+ (the band holds every resident aged 65+, with those aged 60–64 beside them)." if older[0] == OLDER_BAND[0]
                      else f"Older residents: {older[1]} (Census 2021)."))  # fmt: skip

# ----------------------------------------------------------------- what if practices close or open (placekit.ui.whatif)
whatif_section(g, mode, hubs)
