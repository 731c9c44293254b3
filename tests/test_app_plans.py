"""The app, headless: a plan drawn elsewhere opened on Redraw (one undo step, its report), and loading notes shown once."""

from __future__ import annotations

import csv
import io
import os

import pytest
from streamlit.testing.v1 import AppTest

REDRAW = "placekit/ui/pages/redraw.py"


def _open_plan(at, name: str, data: bytes):
    at.file_uploader(key="plan_upload").set_value((name, data, "text/csv")).run()
    at.button(key="plan_open").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_plan_table_opens_as_the_working_grouping_in_one_undo_step(app):
    at = app.switch_page(REDRAW).run()
    g = at.session_state["grouping"]
    ward = g.wards.index[0]
    target = next(n for n in g.neighbourhoods if n != g.ward_to_neighbourhood[ward])
    buf = io.StringIO()
    rows = [(w, target if w == ward else n) for w, n in g.ward_to_neighbourhood.items()]
    csv.writer(buf).writerows([("unit_id", "district", "locality"), *[(w, n, g.neighbourhood_to_locality[n]) for w, n in rows]])
    undo_before = len(at.session_state["undo_stack"])
    _open_plan(at, "districtr.csv", buf.getvalue().encode())
    new = at.session_state["grouping"]
    assert new.ward_to_neighbourhood == g.ward_to_neighbourhood | {ward: target}
    assert len(at.session_state["undo_stack"]) == undo_before + 1
    assert any("Opened districtr" in s.value and "as the working grouping" in s.value for s in at.success)
    at.button(key="undo_btn").click().run()
    assert at.session_state["grouping"].ward_to_neighbourhood == g.ward_to_neighbourhood
    _open_plan(at, "bad.csv", b"unit_id,district\nE05999999,A\n")  # unknown codes: refused, nothing changes
    assert any("was not opened; the working grouping is unchanged" in e.value and "E05999999" in e.value for e in at.error)
    assert at.session_state["grouping"].ward_to_neighbourhood == g.ward_to_neighbourhood


@pytest.mark.skipif(not os.environ.get("PLACEKIT_DATA"), reason="the demo place has no information notes; PLACEKIT_DATA is not set")
def test_information_notes_are_on_data_status_only(app):
    # Manchester's loader notes practices closed since the registrations extract (level "info"): not on every page.
    note = "not active in the ODS list"
    for page in ("placekit/ui/pages/map_profiles.py", REDRAW, "placekit/ui/pages/flows.py"):
        at = app.switch_page(page).run()
        shown = [c.value for c in at.caption] + [w.value for w in at.warning] + [i.value for i in at.info]
        assert not any(note in s for s in shown), page
    at = app.switch_page("placekit/ui/pages/data_status.py").run()
    (exp,) = [e for e in at.expander if "Information notes from loading" in e.label]
    assert any(note in c.value for c in exp.caption)


def _notes_script():
    from types import SimpleNamespace
    from unittest import mock

    from geo.place import LoadNote
    from placekit.ui import common

    notes = [LoadNote("1,000 patients moved to 2011 LSOAs", layer="registrations", level="warning"),
             LoadNote("2 practices closed since the extract still count", layer="practices", level="info")]  # fmt: skip
    with mock.patch.object(common, "place", lambda: SimpleNamespace(notes=notes)):
        common.page_notes("flows")
        common.info_notes()


def test_warnings_reach_the_page_and_information_notes_wait_in_one_expander():
    at = AppTest.from_function(_notes_script).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [w.value for w in at.warning] == ["1,000 patients moved to 2011 LSOAs"]  # a figure changed: on the page it affects
    (exp,) = at.expander
    assert "Information notes from loading (1)" in exp.label and "closed since the extract" in exp.caption[0].value
    assert len(at.caption) == 1  # the one inside the expander, nothing else on the page
