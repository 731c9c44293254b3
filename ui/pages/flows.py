"""Flows: where residents are registered, and who each neighbourhood's practices serve."""

import streamlit as st

from boundaries.flows import compute_flows, straddling_practices
from render.charts import sankey
from render.maps import flow_map, standalone_html
from ui import common

place = common.place()
g = common.grouping()
st.title("Cross-boundary flows")
common.page_notes("flows")  # loader warnings about this page's layers
base = common.static()["flow_base"]
if base is None:
    st.info("This place has no registrations layer.")
    st.stop()
by = st.radio(
    "Place each practice by",
    ["location", "patients"],
    horizontal=True,
    key="practice_by",
    format_func=lambda v: "the ward its premises stand in" if v == "location" else "where most of its patients live",
)
f = compute_flows(base, g, practice_by=by, city=place.name)
nb = f.neighbourhoods.copy()
nb["self_containment"] = (100 * nb["self_containment"]).round(1)
nb["practice_share_resident"] = (100 * nb["practice_share_resident"]).round(1)
st.dataframe(nb.rename(columns={"self_containment": "self-containment %", "practice_share_resident": "list resident %"}), width="stretch")
st.subheader("Localities and city")
st.dataframe(f.boundary.drop(columns="level").round(1).T, width="stretch")
c1, c2 = st.columns(2)
with c1:
    st.subheader("Flow map")
    st.iframe(standalone_html(flow_map(place, g, f.matrix, f.neighbourhoods)), height=560)
with c2:
    st.subheader("Residence → registration")
    st.pyplot(sankey(f.matrix, title="", min_flow=200, demo=place.demo))
st.subheader("Most split practices")
st.dataframe(
    straddling_practices(base, g, practice_by=by, names=place.practices["practice_name"].to_dict()).head(15).round(3), width="stretch"
)
with st.expander("Full matrix"):
    st.dataframe(f.matrix, width="stretch")
