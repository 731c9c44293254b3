"""The app's entry point: page setup, navigation between the pages in :mod:`placekit.ui.pages`, the sidebar.

Called by the checkout's ``app.py`` (``streamlit run app.py``) and by the launcher
that ``placekit app`` writes; `app_folder` is the folder of that main script, where
Streamlit serves ``static/`` (the Leaflet assets, so maps draw offline).
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from placekit.ui import common, guard, working

__all__ = ["run", "PAGES", "page_path"]

_PAGES_DIR = Path(__file__).resolve().parent / "pages"

#: (file in ui/pages, title, icon), in menu order; the first is the default page.
PAGES = (
    ("map_profiles.py", "Map and profiles", ":material/map:"),
    ("redraw.py", "Redraw", ":material/edit:"),
    ("flows.py", "Flows", ":material/swap_horiz:"),
    ("hospitals.py", "Hospitals", ":material/local_hospital:"),
    ("hubs.py", "Hubs and coverage", ":material/location_on:"),
    ("compare.py", "Compare", ":material/compare:"),
    ("data_status.py", "Data status", ":material/info:"),
)


def page_path(file: str) -> Path:
    """Return the absolute path of a page script (pages live in the package, wherever the main script is)."""
    return _PAGES_DIR / file


def run(app_folder: str | Path) -> None:
    """Run one script pass of the app whose main script stands in `app_folder`.

    Every error is shown as a message by :mod:`placekit.ui.guard`, never as a traceback: one raised
    while the session starts (the place cannot be loaded, say) stops the run with that message;
    one raised by a page shows it in the page, with the sidebar and the other pages working.
    """
    t0 = time.perf_counter()
    st.set_page_config(page_title="placekit", page_icon=":material/map:", layout="wide")
    with guard.guarded("placekit", hint=guard.START_HINT):
        _run(Path(app_folder))
    st.session_state._script_ms = (time.perf_counter() - t0) * 1000  # server-side time of this run (benchmarks read it)


def _run(app_folder: Path) -> None:
    common.serve_assets(app_folder)
    common.init_place()  # the place of ?place=CODE, else the manifest place
    working.start()  # restore the tab's draft, or open ?scenario=, or start on the baseline
    common.init_state()
    place = common.place()
    pages = [st.Page(page_path(f), title=t, icon=i, default=(k == 0)) for k, (f, t, i) in enumerate(PAGES)]
    nav = st.navigation(pages)
    working.sync_url()
    _sidebar(place)
    common.demo_banner()
    _start_notes()
    guard.show_pending()  # an error raised by a widget's callback before this run
    try:
        with guard.guarded(nav.title):
            nav.run()
    finally:
        working.autosave()  # after every run, also one that ends in st.rerun() or st.stop()


def _sidebar(place) -> None:
    """Name the place and the working grouping truthfully (saved name, or what it was edited from)."""
    with st.sidebar:
        common.place_picker()
        st.caption(f"**{common.esc(place.label)}**" + (" — built from the national files: 2021 LSOAs in May 2025 wards by a modelled best "
                                                       "fit (largest area overlap), Census 2021 residents" if place.built_from == "national" else ""))  # fmt: skip
        g = common.grouping()
        n, m, _ = g.counts()
        label = working.working_label(g)
        st.session_state._sidebar_label = label  # Redraw's editor reruns the whole app when this would change
        st.caption(f"Working grouping: {common.esc(label)} — {n}:{m}:1")
        for _, text in st.session_state.get("start_notes", []):
            st.caption(common.esc(text))
        if common.store_problem() is not None:
            st.caption(":material/error: Autosave is off: the scenario store cannot be read (see Data status).")
        elif (why := working.draft_problem()) is not None:  # the store broke after it was opened
            st.caption(f":material/error: Autosave failed: {common.esc(why)} Your work is still in this tab: download it (Redraw) "
                       "or fix the store (Data status) before closing the tab.")  # fmt: skip


def _start_notes() -> None:
    """Say, on the first page shown, what the session opened: restored work, or a link that could not be followed."""
    ss = st.session_state
    if ss.get("start_notes_shown"):
        return
    for kind, text in ss.get("start_notes", []):
        show = {"error": st.error, "warning": st.warning}.get(kind, st.info)
        show(text, icon=":material/history:" if kind != "error" else ":material/link_off:")
    ss.start_notes_shown = True
