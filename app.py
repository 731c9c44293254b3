"""placekit app: redraw neighbourhoods, move hubs, compare scenarios, view local profiles.

Run with ``./dev app`` (or ``streamlit run app.py``). A thin layer over the
``geo``, ``boundaries`` and ``estates`` packages; pages live in ``ui/``.
"""

import time

import streamlit as st

_t0 = time.perf_counter()
st.set_page_config(page_title="placekit", page_icon=":material/map:", layout="wide")

from ui import common  # noqa: E402

common.init_state()
place = common.place()

pages = [
    st.Page("ui/map_profiles.py", title="Map and profiles", icon=":material/map:", default=True),
    st.Page("ui/redraw.py", title="Redraw", icon=":material/edit:"),
    st.Page("ui/flows.py", title="Flows", icon=":material/swap_horiz:"),
    st.Page("ui/hospitals.py", title="Hospitals", icon=":material/local_hospital:"),
    st.Page("ui/hubs.py", title="Hubs and coverage", icon=":material/location_on:"),
    st.Page("ui/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("ui/data_status.py", title="Data status", icon=":material/info:"),
]
nav = st.navigation(pages)
with st.sidebar:
    st.caption(f"**{common.esc(place.label)}**")
    g = common.grouping()
    n, m, _ = g.counts()
    st.caption(f"Working grouping: {common.esc(g.name or 'unsaved')} — {n}:{m}:1")
common.demo_banner()
nav.run()
st.session_state._script_ms = (time.perf_counter() - _t0) * 1000  # server-side time of this run (benchmarks read it)
