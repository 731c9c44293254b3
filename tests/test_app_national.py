"""The app on places from the national files: the sidebar's place picker, every page, scenarios and drafts that belong to their place."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from boundaries.store import ScenarioStore

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = ["map_profiles", "redraw", "flows", "hospitals", "hubs", "compare", "data_status"]
SMALL, RURAL = "E06000001", "E06000017"  # Hartlepool (3 PCNs, 12 wards: a small place keeps the test quick), Rutland (one PCN)


def _ok(at):
    assert not at.exception, [str(e.value)[:500] for e in at.exception]
    return at


@pytest.fixture
def app(real_data_root, national, session_home, tmp_path, monkeypatch):
    """The app opened on ?place=Hartlepool: its own store (tmp), the session's national caches."""
    national(SMALL), national(RURAL)  # built once per session; the app reads them from the cache
    monkeypatch.setenv("PLACEKIT_DATA", str(real_data_root))
    monkeypatch.setenv("PLACEKIT_HOME", str(tmp_path))
    monkeypatch.setenv("PLACEKIT_CACHE", os.environ["PLACEKIT_CACHE"])
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["place"] = SMALL
    return _ok(at.run())


@pytest.mark.realdata
def test_the_picker_opens_any_authority_every_page_works_and_work_stays_with_its_place(app, tmp_path):
    """One app session (each start costs tens of seconds): the picker and the pages, then scenarios and drafts."""
    _picker_and_pages(app)
    _scenarios_and_drafts_belong_to_their_place(app, tmp_path)


def _picker_and_pages(app):
    assert app.session_state["place_spec"] == SMALL and app.selectbox(key="place_pick").value == SMALL
    assert len(app.selectbox(key="place_pick").options) == 297  # the manifest place and England's 296
    g = app.session_state["grouping"]
    assert g.name == "Hartlepool PCN baseline" and g.meta["baseline"] == "PCN baseline"
    assert any("Hartlepool" in c.value and "national files" in c.value for c in app.sidebar.caption)
    for page in PAGES:
        _ok(app.switch_page(f"placekit/ui/pages/{page}.py").run())
        assert app.title, page
    app.switch_page("placekit/ui/pages/data_status.py").run()
    status = pd.concat([t.value for t in app.dataframe])
    assert "modelled" in set(status.get("status", [])), status  # the best fit and the carried layers
    assert any("modelled best fit" in c.value for c in app.caption), "the build note sits in Data status's information expander"
    _ok(app.selectbox(key="place_pick").set_value(RURAL).run())
    assert app.session_state["grouping"].name == "Rutland PCN baseline" and app.query_params["place"] == RURAL
    _ok(app.switch_page("placekit/ui/pages/hubs.py").run())  # a place of one PCN: one neighbourhood, no candidate in it needed
    _ok(app.selectbox(key="place_pick").set_value(SMALL).run())


def _scenarios_and_drafts_belong_to_their_place(app, tmp_path):
    at = app.switch_page("placekit/ui/pages/redraw.py").run()
    at.text_input(key="save_name").set_value("Hartlepool plan").run()
    _ok(at.button(key="save").click().run())
    g = at.session_state["grouping"]
    ward = sorted(g.ward_to_neighbourhood)[0]
    other = next(n for n in g.neighbourhoods if n != g.ward_to_neighbourhood[ward])
    at.session_state["grouping"] = g.move(ward, other)  # unsaved work: autosaved as this tab's Hartlepool draft
    _ok(at.run())
    store = ScenarioStore(tmp_path / "scenarios.sqlite")
    assert store.list()["place"].tolist() == ["Hartlepool (E06000001)"]
    _ok(at.selectbox(key="place_pick").set_value(RURAL).run())  # to Rutland: its baseline, none of Hartlepool's work
    assert at.session_state["grouping"].name == "Rutland PCN baseline"
    at.switch_page("placekit/ui/pages/redraw.py").run()
    assert not any(getattr(e, "key", None) == "scenario_pick" for e in at.selectbox)  # Hartlepool's scenario is not listed here
    _ok(at.selectbox(key="place_pick").set_value(SMALL).run())  # back to Hartlepool: the draft comes back
    assert at.session_state["grouping"].ward_to_neighbourhood[ward] == other
    # a link to Hartlepool's scenario opened on Rutland is refused, saying whose it is (the session starts afresh on the link,
    # as a new tab would: a second app would cost tens of seconds more)
    _ok(at.selectbox(key="place_pick").set_value(RURAL).run())
    del at.session_state["origin"]
    at.query_params["scenario"] = "Hartlepool plan"
    _ok(at.run())
    notes = " ".join(str(t) for _, t in at.session_state["start_notes"])
    assert "belongs to Hartlepool (E06000001), not Rutland (E06000017)" in notes
    assert at.session_state["grouping"].name == "Rutland PCN baseline"
