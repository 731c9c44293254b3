"""Redraw's Propose panel and "How does this plan compare?", headless with Streamlit's AppTest."""

from __future__ import annotations

import time

import pytest

REDRAW = "placekit/ui/pages/redraw.py"


@pytest.fixture
def redraw(app):
    at = app
    at.switch_page(REDRAW).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _wait(at, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not at.session_state["propose_job"].get("done") and time.monotonic() < deadline:
        time.sleep(0.2)
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_propose_applies_as_one_undo_step_and_explains_the_impossible(redraw):
    at = redraw
    start = at.session_state["grouping"]
    undo_before = len(at.session_state["undo_stack"])
    at.selectbox(key="pp_base").set_value("mid2015")
    at.number_input(key="pp_k").set_value(40).run()  # more neighbourhoods than any valid plan of wards can have
    at.button(key="pp_go").click().run()
    _wait(at)
    assert any("No valid plan" in w.value and "contiguous" in w.value for w in at.warning), [w.value for w in at.warning]
    assert any("What works instead" in m.value and "13 neighbourhoods" in m.value for m in at.markdown)
    assert at.session_state["grouping"] == start  # nothing changed
    at.number_input(key="pp_k").set_value(13).run()
    at.button(key="pp_go").click().run()
    _wait(at)
    g = at.session_state["grouping"]
    assert len(g.neighbourhoods) == 13 and len(at.session_state["undo_stack"]) == undo_before + 1
    assert any("optimal among" in s.value for s in at.success), [s.value for s in at.success]
    assert any("What moved" in c.value for c in at.caption)
    at.button(key="undo_btn").click().run()
    assert at.session_state["grouping"] == start
    at.button(key="redo_btn").click().run()
    at.selectbox(key="cmp_base").set_value("mid2015")
    at.button(key="cmp_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    res = at.session_state["compare_result"]
    assert res["summary"]["exact"] and res["summary"]["plans"] > 0
    assert res["summary"]["measures"]["list_containment_city"]["percentile"] > 99  # the proposal is the best of them on its objective
