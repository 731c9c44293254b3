"""Flows: resident and list containment per team, who crosses, straddling practices, moves that would help."""

import re

import pandas as pd
import streamlit as st

from boundaries.flows import compute_flows, straddling_practices, who_crosses
from boundaries.grouping import PRACTICE_RULES
from boundaries.membership import practice_membership
from boundaries.suggest import OBJECTIVE, suggest_moves
from placekit.render.charts import sankey
from placekit.render.maps import flow_map, standalone_html
from placekit.ui import common

MEASURES_PARAGRAPH = (
    "**Two measures.** *Resident containment*: of the residents of a neighbourhood's wards who are registered with a practice, "
    "the share registered with one of the neighbourhood's own practices. *List containment*: of the patients registered with "
    "its practices, the share who live in its wards (patients living outside the city stay in the denominator). The 2015 One Team "
    "specification's range, “80% (Wythenshawe) to 44% (Withington and Fallowfield)”, is **list** containment. The two differ "
    "because a team's list and its residents are different people: a practice near a boundary draws patients from next door "
    "(its list containment falls), and residents who register across the boundary lower resident containment."
)

place = common.place()
g = common.grouping()
st.title("Cross-boundary flows")
common.page_notes("flows")  # loader warnings about this page's layers
base = common.flow_base_for(g)  # over the LSOAs for a plan built from them
if base is None:
    st.info("This place has no registrations layer.")
    st.stop()
st.markdown(MEASURES_PARAGRAPH)
if g.units == "lsoa":
    st.info(f"{common.esc(g.name or 'The working grouping')} is built from LSOAs ({len(g.lsoa_to_neighbourhood)} assigned away from their "
            "ward): every figure here is measured on LSOAs (residents by the LSOA they live in, practices by the LSOA of their "
            "premises).", icon=":material/grid_on:")  # fmt: skip
rules = [None, *PRACTICE_RULES]
by = st.radio(
    "Practices not assigned explicitly are placed by",
    rules,
    horizontal=True,
    key="flows_practice_by",
    format_func=lambda v: f"the grouping's rule ({g.practice_rule})" if v is None else PRACTICE_RULES[v],
)
f = compute_flows(base, g, practice_by=by, city=place.name)
nb = f.neighbourhoods
c = st.columns(4)
c[0].metric("Lowest resident containment", f"{f.minimum('resident_containment'):.1%}", help=nb["resident_containment"].idxmin())
c[1].metric("City residents in their own team", f"{f.mean('resident_containment'):.1%}")
c[2].metric("Lowest list containment", f"{f.minimum('list_containment'):.1%}", help=nb["list_containment"].idxmin())
c[3].metric("City lists living in their own team", f"{f.mean('list_containment'):.1%}")
pop_year, list_year = (re.sub(r"^.*\((.*)\)$", r"\1", f.bases[k]) for k in ("population", "registered_list"))
table = pd.DataFrame(
    {
        "locality": nb["locality"],
        "resident containment %": (100 * nb["resident_containment"]).round(1),
        "list containment %": (100 * nb["list_containment"]).round(1),
        "contained": nb["contained"],
        f"residents registered ({list_year})": nb["residents_registered"],
        f"registered list ({list_year})": nb["registered_list"],
        f"population ({pop_year})": nb["population"],
        "population in band": nb["population_in_band"],
        "list in band": nb["list_in_band"],
        "practices": nb["n_practices"],
    }
)
st.dataframe(table, width="stretch")
st.caption(
    f"Team size band {f.band[0]:,}–{f.band[1]:,}, checked on {f.bases['population']} and on {f.bases['registered_list']}. "
    f"{len(g.practice_to_neighbourhood)} practice(s) assigned explicitly; the others by {PRACTICE_RULES[f.practice_by]}."
)

st.subheader("Who crosses")
pick = st.selectbox("Neighbourhood", f.units, key="flows_crossing_nb")
wc = who_crosses(f)
wc = wc[(wc["neighbourhood"] == pick) & (wc["patients"] >= 20)]
left, right = st.columns(2)
for col, direction, title in ((left, "list by residence", "Patients of its practices, by where they live"),
                              (right, "residents by practice", "Its residents, by where their practice is")):  # fmt: skip
    part = wc[wc["direction"] == direction]
    col.markdown(f"**{title}**")
    col.dataframe(part.assign(share=(100 * part["share"]).round(1))[["area", "area_kind", "patients", "share"]].rename(columns={"share": "%"}),
                  hide_index=True, width="stretch")  # fmt: skip
split = straddling_practices(f)
st.markdown(f"**Its practices and how their lists split** ({f.bases['registered_list']})")
mine = split[split["neighbourhood"] == pick]
mine = mine.assign(own_share=(100 * mine["own_share"]).round(1), second_share=(100 * mine["second_share"]).round(1))
st.dataframe(mine.rename(columns={"own_share": "own %", "second_share": "second %"}), width="stretch")

c1, c2 = st.columns(2)
with c1:
    st.subheader("Flow map")
    st.iframe(standalone_html(flow_map(place, g, f.matrix, f.neighbourhoods)), height=560)
with c2:
    st.subheader("Residence → registration")
    st.pyplot(sankey(f.matrix, title="", min_flow=200, demo=place.demo))


def _suggestions() -> None:
    """List the best single ward and practice moves for the chosen measure (plans of whole wards)."""
    measure = st.radio("Measure", ["resident_containment", "list_containment"], horizontal=True, key="flows_suggest_measure",
                       format_func=lambda m: m.replace("_", " "))  # fmt: skip
    s = suggest_moves(
        base, g, common.static()["adjacency"], measure=measure, practice_by=by, top=15, ward_names=common.static()["ward_names"]
    )
    cols = [
        "rank",
        "kind",
        "unit_name",
        "from_neighbourhood",
        "to_neighbourhood",
        "effect",
        "min_after",
        "mean_after",
        "band_kept",
        "contiguity_kept",
    ]
    st.dataframe(
        s[cols].assign(min_after=(100 * s["min_after"]).round(1), mean_after=(100 * s["mean_after"]).round(1)),
        hide_index=True,
        width="stretch",
    )
    st.caption(f"Now: lowest {100 * f.minimum(measure):.1f}%, city-wide {100 * f.mean(measure):.1f}%. Ranked: {OBJECTIVE}.")


with st.expander("Moves that would help (ward and practice moves, one at a time)"):
    if g.units == "lsoa":
        st.info("Single ward and practice moves are ranked for plans of whole wards; this plan is built from LSOAs, so none is offered.")
    else:
        _suggestions()

with st.expander("Every practice: its team and how it was decided"):
    members = practice_membership(base, g, practice_by=by)
    if g.units == "lsoa":  # the LSOA of the premises, and its ward
        lw = common.lsoa_static()["lsoa_ward"]
        lsoa_names = common.lsoa_static()["lsoa_names"]
        members.insert(members.columns.get_loc("premises_ward"), "premises_lsoa", members["premises_ward"].map(lsoa_names))
        members["premises_ward"] = members["premises_ward"].map(lw)
    members["premises_ward"] = members["premises_ward"].map(common.static()["ward_names"])
    st.dataframe(members, width="stretch")
st.subheader("Localities and city")
st.dataframe(f.boundary.drop(columns="level").round(1).T, width="stretch")
with st.expander("Full matrix"):
    st.dataframe(f.matrix, width="stretch")
