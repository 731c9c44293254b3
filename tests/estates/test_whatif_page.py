"""What if on the Hubs page, headless (AppTest) on the demo place: close by a map click, open at a site, save and load."""

from __future__ import annotations

from pathlib import Path

import streamlit_folium
from streamlit.testing.v1 import AppTest

from boundaries.store import ScenarioStore

APP = str(Path(__file__).resolve().parents[2] / "app.py")


class FakeMap:
    """Stands in for st_folium: returns the feature of a click on the what-if map (its properties, as the browser sends them)."""

    def __init__(self):
        self.feature = None

    def __call__(self, m, key=None, **kw):
        if key and key.startswith("wi_map") and self.feature is not None:
            return {"last_active_drawing": self.feature}
        return {"last_object_clicked": None, "last_active_drawing": None}


def test_whatif_journey(tmp_path, monkeypatch):
    monkeypatch.setenv("PLACEKIT_HOME", str(tmp_path))
    monkeypatch.delenv("PLACEKIT_DATA", raising=False)
    fake = FakeMap()
    monkeypatch.setattr(streamlit_folium, "st_folium", fake)
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("placekit/ui/pages/hubs.py").run()
    at.toggle(key="wi_on").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("pseudo" in c.value and "R²" in c.value for c in at.caption), [c.value for c in at.caption]
    # A click on a practice closes it: the next run applies it before the controls are drawn.
    fake.feature = {"type": "Feature", "properties": {"practice_code": "DEMO001"}, "geometry": {"type": "Point", "coordinates": [-2.2, 53.4]}}
    at.run()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["wi_close"] == ["DEMO001"]
    labels = [m.label for m in at.metric]
    assert "Patients of closed lists" in labels and "Moved by the model" in labels
    closed = next(m for m in at.metric if m.label == "Patients of closed lists").value
    moved = next(m for m in at.metric if m.label == "Moved by the model").value
    assert closed == moved  # every patient of the closed list is moved
    # A new practice at a postcode with a capacity it cannot exceed.
    fake.feature = None
    at.checkbox(key="wi_open").check().run()
    at.text_input(key="wi_at").input("M13 9WL").run()
    at.number_input(key="wi_capacity").set_value(500).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    # Save it with the scenario, then load it back after clearing the controls.
    at.text_input(key="wi_save_name").input("Close DEMO001, open a hub").run()
    at.button(key="wi_save").click().run()
    saved = ScenarioStore(tmp_path / "scenarios.sqlite").load("Close DEMO001, open a hub")
    assert saved["whatif"] == {"close": ["DEMO001"], "merge": None, "open": {"name": "New practice", "at": "M13 9WL", "capacity": 500}}
    at.multiselect(key="wi_close").set_value([]).run()
    at.button(key="wi_load").click().run()
    at.run()
    assert at.session_state["wi_close"] == ["DEMO001"] and at.session_state["wi_capacity"] == 500
    assert not at.exception, [e.value for e in at.exception]
