"""Hospitals: each neighbourhood's share of admissions by trust (OHID) and by acute hospital site."""

from datetime import date

import streamlit as st
from streamlit_folium import st_folium

from boundaries.catchments import SEED_SITES, hospital_sites, place_catchments, seeds_view
from estates.hospitals import acute_sites, hospital_site_catchments
from placekit.errors import PlacekitError
from placekit.render.charts import small_multiples
from placekit.render.maps import site_catchment_map
from placekit.ui import common


@st.cache_resource(show_spinner="Splitting trust shares among hospital sites…")
def _site_catchments(root: str, wards: tuple, method: str, as_of: str):
    return hospital_site_catchments(common.place(), common.grouping(), as_of=as_of, method=method)


place = common.place()
g = common.grouping()
st.title("Hospital catchments")
common.page_notes("hospitals")  # loader warnings about this page's layers
if place.catchments is None or place.lsoa_msoa is None:
    st.info("This place has no trust catchment layer (the demo place has none).")
    st.stop()
c1, c2, c3 = st.columns(3)
site_table = bool(set(hospital_sites()["site_code"]) & set(place.hospitals.index)) if place.hospitals is not None else False
by = c1.radio("Shares by", ["hospital site", "trust"] if site_table else ["trust"], horizontal=True, key="catch_by",
              help=None if site_table else "Shares by hospital site need the place's acute sites in the shipped, dated site table "
              "(placekit/data/hospital_sites.csv: Greater Manchester's trusts).")  # fmt: skip
as_of = c2.date_input("Organisation structure on", value=date.today(), min_value=date(2012, 1, 1), key="catch_as_of")
method = c3.radio("Split a trust among its sites", ["logit", "nearest"], horizontal=True, key="catch_method",
                  help="logit: share ∝ exp(−β × drive minutes), β fitted to the OHID trust shares; nearest: all to the nearest site",
                  disabled=by == "trust")  # fmt: skip

if by == "trust":
    try:
        r = place_catchments(place, g, as_of=as_of)
    except PlacekitError as exc:
        st.error(str(exc))
        st.stop()
    st.dataframe(r.summary.round(3), width="stretch")
    st.caption("Shares of admissions (OHID 2019, all admissions), apportioned from MSOAs to LSOAs by population. "
               "Overlap index = 1 − largest share.")  # fmt: skip
    if len(r.changes):
        st.subheader("Trust code changes applied")
        st.dataframe(r.changes, hide_index=True, width="stretch")
    top = r.city_shares.drop(columns="unattributed").iloc[0].sort_values(ascending=False).index[:4]
    names = place.trusts["trust_name"] if place.trusts is not None else None
    titles = [f"{t} {names.get(t, '') if names is not None else ''}" for t in top]  # wrapped on lines by the chart
    st.pyplot(small_multiples(place.lsoas.join(r.lsoa_shares), list(top), titles=titles, suptitle="Share of admissions by trust, per LSOA"))
    st.stop()

try:
    sc = _site_catchments(common.root_key(), (tuple(sorted(g.ward_to_neighbourhood.items())), tuple(sorted(g.neighbourhood_to_locality.items()))),
                          method, str(as_of))
except PlacekitError as exc:
    st.error(str(exc))
    st.stop()
st.caption(f"Method: {sc.method}.")
seeds = SEED_SITES.get(place.name)
if seeds:
    st.subheader("The plan's hospital for each locality")
    view = seeds_view(sc, seeds)
    st.dataframe(view.round(3), width="stretch")
    agree = int(view["seed_is_dominant"].sum())
    st.caption(f"In {agree} of {len(view)} neighbourhoods the locality's named hospital takes the largest share of admissions "
               "(shares of attributed admissions).")  # fmt: skip
st.subheader("Per neighbourhood: dominant site and overlap")
st.dataframe(sc.summary.round(3), width="stretch")
left, right = st.columns([3, 2])
located = acute_sites(place)
order = sc.city_shares.drop(columns="unattributed").iloc[0].sort_values(ascending=False)
options = [s for s in order.index if s in located.index]
with left:
    pick = st.selectbox("Map the share going to", options, format_func=lambda s: f"{sc.sites.at[s, 'site_name']} ({s})", key="catch_site")
    m = site_catchment_map(place, g, sc.lsoa_shares, located, pick, neighbourhood_shares=sc.shares, offline=False,
                           note=f"{method}, as of {as_of}")  # fmt: skip
    st_folium(m, key=f"catch_map_{pick}_{method}_{as_of}", height=560, use_container_width=True, returned_objects=[])
with right:
    city = order.head(8).rename("share of the city's admissions").to_frame()
    city.insert(0, "site", [sc.sites.at[s, "site_name"] for s in city.index])
    city.insert(1, "trust", [sc.sites.at[s, "trust_code"] for s in city.index])
    st.dataframe(city.round(3), width="stretch")
    show = [s for s in (list(seeds.values()) if seeds else options[:3]) if s in sc.lsoa_shares]
    st.pyplot(small_multiples(place.lsoas.join(sc.lsoa_shares[show]), show, titles=[sc.sites.at[s, "site_name"][:30] for s in show],
                              suptitle="Share of admissions by site, per LSOA"))  # fmt: skip
