"""Map and profiles: the place map, and a neighbourhood's local profile with exports."""

import pandas as pd
import streamlit as st

from boundaries.profiles import profile
from render.maps import neighbourhood_map, place_map, standalone_html
from render.report import profile_html, profile_pdf
from ui import common

place = common.place()
g = common.grouping()
st.title("Map and profiles")
common.page_notes("map_profiles")  # loader warnings about this page's layers


@st.cache_data(show_spinner=False, max_entries=8)
def _profile(_g, key):
    return profile(place, _g)


gkey = tuple(sorted(g.ward_to_neighbourhood.items()))
pr = _profile(g, (common.root_key(), gkey))
fig = common.figures(g)
nb = st.selectbox("Neighbourhood", g.neighbourhoods, key="profile_nb")
row = pr[(pr["level"] == "neighbourhood") & (pr["name"] == nb)].iloc[0]
c = st.columns(5)
c[0].metric("Residents", f"{row['population']:,.0f}")
c[1].metric("Aged 60+", f"{row['share_60_plus']:.0%}")
c[2].metric("IMD mean decile", f"{row['imd_mean_decile']:.1f}" if pd.notna(row.get("imd_mean_decile")) else "n/a")
c[3].metric("Practices", f"{row.get('practices', 0):.0f}")
if fig["flows"] is not None:
    c[4].metric("Self-containment", f"{fig['flows'].neighbourhoods.loc[nb, 'self_containment']:.1%}")
hubs = st.session_state.get("hubs", [])
sites = common.access("walk", g).sites if hubs else None
left, right = st.columns([3, 2])
with left:
    t1, t2 = st.tabs(["Neighbourhood", "City"])
    with t1:
        st.iframe(standalone_html(neighbourhood_map(place, g, nb, hubs=hubs, sites=sites)), height=600)
    with t2:
        st.iframe(standalone_html(place_map(place, g, pr, offline=True)), height=600)
with right:
    st.subheader("Age structure")
    ages = pd.DataFrame({"residents": [row["age_0_15"], row["age_16_59"], row["age_60_plus"]]}, index=["0–15", "16–59", "60+"])
    st.bar_chart(ages)
    if fig["flows"] is not None:
        m = fig["flows"].matrix
        st.subheader("Flows in and out")
        st.dataframe(
            pd.DataFrame(
                {"residents registered there": m.loc[nb].drop(nb), "its practices' patients from there": m[nb].drop(nb, errors="ignore")}
            )
            .sort_values("residents registered there", ascending=False)
            .head(8),
            width="stretch",
        )
    args = (place, g, nb, pr)
    kw = {"flows": fig["flows"], "hubs": hubs, "sites": sites}
    st.download_button(
        "Profile (HTML)", profile_html(*args, **kw), file_name=f"profile-{nb[:40]}.html", mime="text/html", key="dl_profile_html"
    )
    st.download_button(
        "Profile (PDF)", profile_pdf(*args, **kw), file_name=f"profile-{nb[:40]}.pdf", mime="application/pdf", key="dl_profile_pdf"
    )
st.subheader("All neighbourhoods")
st.dataframe(pr.drop(columns=["wards", "practice_codes"]).round(3), hide_index=True, width="stretch")
st.caption(pr.attrs.get("note", ""))
