"""Hospitals: trust shares of each neighbourhood's admissions, with current trust codes."""

import streamlit as st

from boundaries.catchments import place_catchments
from render.charts import small_multiples
from ui import common

place = common.place()
g = common.grouping()
st.title("Hospital catchments")
common.page_notes("hospitals")  # loader warnings about this page's layers
if place.catchments is None or place.lsoa_msoa is None:
    st.info("This place has no trust catchment layer (the demo place has none).")
    st.stop()
r = place_catchments(place, g)
st.dataframe(r.summary.round(3), width="stretch")
st.caption(
    "Shares of admissions (OHID 2019, all admissions), apportioned from MSOAs to LSOAs by population. Overlap index = 1 − largest share."
)
if len(r.changes):
    st.subheader("Trust code changes applied")
    st.dataframe(r.changes, hide_index=True, width="stretch")
top = r.city_shares.drop(columns="unattributed").iloc[0].sort_values(ascending=False).index[:4]
names = place.trusts["trust_name"] if place.trusts is not None else None
titles = [f"{t} {names.get(t, '') if names is not None else ''}"[:42] for t in top]
st.pyplot(small_multiples(place.lsoas.join(r.lsoa_shares), list(top), titles=titles, suptitle="Share of admissions by trust, per LSOA"))
