"""The Flows and Compare pages show both containment measures (AppTest, headless)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_flows_and_compare_show_both_measures(tmp_path, monkeypatch):
    monkeypatch.setenv("PLACEKIT_HOME", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    at.switch_page("placekit/ui/pages/flows.py").run()
    assert not at.exception, [e.value for e in at.exception]
    labels = {m.label for m in at.metric}
    assert {"Lowest resident containment", "Lowest list containment"} <= labels
    assert any("List containment" in m.value and "80% (Wythenshawe)" in m.value for m in at.markdown)
    table = at.dataframe[0].value
    assert {"resident containment %", "list containment %"} <= set(table.columns)
    assert any(c.startswith("population (") for c in table.columns) and any(c.startswith("registered list (") for c in table.columns)
    at.radio(key="flows_practice_by").set_value("patients").run()
    assert not at.exception
    at.switch_page("placekit/ui/pages/compare.py").run()
    assert not at.exception, [e.value for e in at.exception]
    measures = set(at.dataframe[-1].value.columns.get_level_values(-1))
    assert {"resident_containment", "list_containment", "registered list (July 2022)", "residents (Census 2021)"} <= measures, measures
