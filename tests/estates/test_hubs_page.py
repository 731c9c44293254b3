"""The Hubs page, headless (AppTest) on the demo place: a map click that sticks, Adopt, plain errors, equity."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit_folium
from streamlit.testing.v1 import AppTest

from boundaries.grouping import baseline_grouping
from estates.access import build_access
from geo.demo import demo_place

APP = str(Path(__file__).resolve().parents[2] / "app.py")


class FakeMap:
    """Stands in for st_folium: returns a click on the map drawn under the first key it sees, as the browser component does.

    A map drawn under a new key (the page redraws it when the hubs change) has no click yet.
    """

    def __init__(self):
        self.click, self.key, self.calls = None, None, 0

    def __call__(self, m, key=None, **kw):
        self.calls += 1
        if self.click is not None and self.key in (None, key):
            self.key = key
            return {"last_object_clicked": self.click}
        return {"last_object_clicked": None}


@pytest.fixture
def hubs_page(tmp_path, monkeypatch):
    monkeypatch.setenv("PLACEKIT_HOME", str(tmp_path))
    monkeypatch.delenv("PLACEKIT_DATA", raising=False)
    fake = FakeMap()
    monkeypatch.setattr(streamlit_folium, "st_folium", fake)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("placekit/ui/pages/hubs.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at, fake


def _latlng(site_id):
    a = build_access(demo_place(), baseline_grouping(demo_place()), mode="walk")
    pt = a.sites.to_crs("EPSG:4326").geometry[site_id]
    return {"lat": pt.y, "lng": pt.x}, a


def test_a_hub_added_by_clicking_stays(hubs_page):
    at, fake = hubs_page
    before = list(at.session_state["hubs"])
    _, a = _latlng(before[0])
    new = next(s for s in a.sites.index if s not in before and a.sites.at[s, "role"] == "hub_candidate")
    fake.click, _ = _latlng(new)
    at.run()  # the browser sends the click
    assert new in at.session_state["hubs"]
    for _ in range(2):  # two more reruns (e.g. a slider moved): the hub list must not write its old value back
        at.run()
        assert not at.exception
        assert at.session_state["hubs"] == before + [new]
        assert at.multiselect(key="hub_select").value == before + [new]
    fake.click, fake.key = _latlng(new)[0] | {"again": 1}, None  # click the new hub: it goes
    at.run()
    at.run()
    assert at.session_state["hubs"] == before


def test_adopt_makes_the_proposal_the_working_hubs_and_saves_it(hubs_page, tmp_path):
    at, _ = hubs_page
    before = list(at.session_state["hubs"])
    at.number_input(key="site_p").set_value(13).run()
    at.button(key="run_site").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    proposal = list(at.session_state["site_result"].hubs)
    assert len(proposal) == 13 and at.session_state["hubs"] == before  # a proposal is not adopted until Adopt
    assert any("if adopted" in m.label for m in at.metric)
    at.text_input(key="adopt_name").set_value("Thirteen hubs").run()
    at.button(key="adopt").click().run()
    assert at.session_state["hubs"] == proposal
    at.run()
    at.run()
    assert at.session_state["hubs"] == proposal and at.multiselect(key="hub_select").value == proposal
    from boundaries.store import ScenarioStore

    assert ScenarioStore(tmp_path / "scenarios.sqlite").load("Thirteen hubs")["hubs"] == proposal
    assert any("Saved set" == s.label for s in at.selectbox)  # the equity comparison offers the saved set
    assert any("IMD quintile 1" in str(i) for df in at.dataframe for i in df.value.index)
    assert any("holds the working hubs themselves" in c.value for c in at.caption)  # the only saved set is the adopted one


def test_too_few_hubs_are_explained_before_running(hubs_page):
    """p follows the grouping (one hub per neighbourhood); fewer is explained and not run, unless the rule is switched off."""
    at, _ = hubs_page
    assert at.number_input(key="site_p").value == len(at.session_state["grouping"].neighbourhoods) == 12
    at.number_input(key="site_p").set_value(4).run()
    assert any("p must be at least 12" in w.value and "Raise p to 12" in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.button(key="run_site").disabled
    at.run()
    assert any("p must be at least 12" in w.value for w in at.warning)  # still there after a rerun
    at.switch_page("placekit/ui/pages/data_status.py").run()
    at.switch_page("placekit/ui/pages/hubs.py").run()
    assert at.number_input(key="site_p").value == 4  # the chosen p is kept when the page is left and opened again
    at.checkbox(key="site_each").uncheck().run()
    assert not at.button(key="run_site").disabled and not any("p must be at least" in w.value for w in at.warning)
    at.button(key="run_site").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(at.session_state["site_result"].hubs) == 4


def test_candidate_types_and_estates_upload(hubs_page):
    at, _ = hubs_page
    assert "pharmacy" not in at.multiselect(key="cand_types").value
    bad = b"name,type,condition,lon,lat\nNew clinic,health_centre,Z,-2.24,53.48\n"
    at.file_uploader(key="estates_upload").set_value(("estates.csv", bad, "text/csv")).run()
    assert any("column 'condition': 'Z'" in e.value for e in at.error)


def test_drive_ranges_your_times_and_capacity(hubs_page):
    """Drive: the calibration warning and low–high metrics; your times replace them (a bad file is named, nothing used); capacity shown."""
    at, _ = hubs_page
    at.radio(key="hub_mode").set_value("drive").run()
    assert not at.exception
    assert any("How sure these drive times are" in w.value and "calibrated on 4.3–26.7 km" in w.value for w in at.warning)
    assert any("–" in (m.delta or "") for m in at.metric if m.label == "Mean minutes")
    a = build_access(demo_place(), baseline_grouping(demo_place()), mode="drive")
    sites = list(a.sites.index[:15])
    rows = "".join(f"{o},{s},{a.od.at[o, s]:.2f}\n" for o in a.od.index for s in sites)
    at.file_uploader(key="times_upload_0").set_value(("bad.csv", ("origin,site,minutes\n" + rows + "E01005000,nowhere,3\n").encode(), "text/csv")).run()
    assert any("Your travel times were not used" in e.value and "nowhere" in e.value for e in at.error)
    at.file_uploader(key="times_upload_0").set_value(("mine.csv", ("origin,site,minutes\n" + rows).encode(), "text/csv")).run()
    assert not at.exception and any("used as given" in s.value for s in at.success)
    assert not any("How sure these drive times are" in w.value for w in at.warning)
    assert any(not m.delta for m in at.metric if m.label == "Mean minutes")
    at.button(key="times_remove").click().run()
    at.run()
    assert not any("used as given" in s.value for s in at.success)  # removed, and not read again from the uploader
    at.checkbox(key="site_capacitated").check().run()
    at.number_input(key="site_factor").set_value(8.0).run()
    at.button(key="run_site").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    res = at.session_state["site_result"]
    assert res.loads is not None and "capacitated" in res.candidates
    assert any("capacity (patients)" in df.value.columns for df in at.dataframe)
