"""The app's guard (placekit.ui.guard): errors become short messages with details and a logged reference, never
tracebacks; Streamlit's rerun, stop and page switch pass through; the log is rotated."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from placekit.errors import PlacekitError
from placekit.ui import guard

APP = str(Path(__file__).resolve().parent.parent / "app.py")

SCRIPT = """
import streamlit as st
from placekit.errors import PlacekitError
from placekit.ui import guard

ss = st.session_state
ss.runs = ss.get("runs", 0) + 1

def page_a():
    st.title("A")
    with guard.guarded("Page A"):
        what = ss.get("what")
        if what == "placekit":
            raise PlacekitError("the file x.csv has no ward_code column; add it and upload again.")
        if what == "bug":
            {}["missing"]
        if what == "stop":
            st.stop()
        if what == "rerun" and ss.runs < 3:
            st.rerun()
        if what == "switch":
            ss.what = None
            st.switch_page(page_b)
        st.write("end of A")

def page_b():
    st.title("B")

def broken():
    raise ValueError("a callback's bug")

page_b = st.Page(page_b, title="B", url_path="b")
nav = st.navigation([st.Page(page_a, title="A", url_path="a", default=True), page_b])
guard.show_pending()
st.button("Break", key="break", on_click=guard.callback("The Break button")(broken))
with guard.guarded(nav.title):
    nav.run()
"""


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("PLACEKIT_HOME", str(tmp_path))
    return AppTest.from_string(SCRIPT, default_timeout=60)


def _shown(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in (at.error, at.caption, at.text, at.markdown) for e in kind)


def test_a_placekit_error_shows_its_own_message_and_what_to_do(app, tmp_path):
    app.session_state["what"] = "placekit"
    app.run()
    assert not app.exception
    assert any("Page A stopped:" in e.value and "no ward" in e.value for e in app.error), [e.value for e in app.error]
    assert any("Nothing was changed" in c.value for c in app.caption)
    assert app.expander[0].label == "Details" and "PlacekitError on Page A" in app.expander[0].text[0].value
    assert not (tmp_path / "logs" / "app.log").exists()  # an expected error is not a bug: nothing logged


def test_a_bug_says_so_and_is_logged_under_the_reference_shown(app, tmp_path):
    app.session_state["what"] = "bug"
    app.run()
    assert not app.exception and "Traceback" not in _shown(app)
    assert any("bug in placekit" in e.value and "KeyError" in e.value for e in app.error)
    note = next(c.value for c in app.caption if "reference" in c.value)
    details = app.expander[0].text[0].value
    ref = details.split("reference: ")[1].split()[0]
    log = tmp_path / "logs" / "app.log"
    assert ref in note and str(log) in note and "Your work is kept" in note
    text = log.read_text(encoding="utf-8")
    assert f"reference {ref}, Page A: KeyError" in text and "Traceback (most recent call last)" in text
    assert "in page_a" in details  # where it happened, without the traceback on the page


def test_stop_rerun_and_switch_page_pass_through(app):
    app.session_state["what"] = "stop"
    app.run()
    assert not app.exception and not app.error and [t.value for t in app.title] == ["A"]
    assert not any("end of A" in m.value for m in app.markdown)  # st.stop() stopped the page
    app.session_state["what"], app.session_state["runs"] = "rerun", 0
    app.run()
    assert app.session_state["runs"] == 3 and not app.error  # st.rerun() ran the script again, twice
    assert any("end of A" in m.value for m in app.markdown)
    app.session_state["what"] = "switch"
    app.run()
    assert [t.value for t in app.title] == ["B"] and not app.error and not app.exception


def test_an_error_in_a_callback_is_shown_at_the_top_of_the_next_run(app, tmp_path):
    app.run()
    app.button(key="break").click().run()
    assert not app.exception
    assert any("The Break button stopped because of a bug" in e.value for e in app.error), [e.value for e in app.error]
    assert "a callback's bug" in (tmp_path / "logs" / "app.log").read_text(encoding="utf-8")
    app.run()
    assert not app.error  # shown once


def test_the_log_is_rotated_and_capped(tmp_path, monkeypatch):
    monkeypatch.setenv("PLACEKIT_HOME", str(tmp_path))
    monkeypatch.setattr(guard, "LOG_MAX_BYTES", 20_000)
    for h in list(logging.getLogger("placekit.app").handlers):  # a handler made for another home is replaced anyway
        logging.getLogger("placekit.app").removeHandler(h)
    for i in range(200):
        try:
            raise RuntimeError(f"bug {i} " + "x" * 500)
        except RuntimeError as exc:
            ref, where = guard.log_error(exc, where="a test")
    logs = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert logs == ["app.log", "app.log.1", "app.log.2", "app.log.3"], logs  # LOG_BACKUPS old files, no more
    assert all((tmp_path / "logs" / n).stat().st_size <= 20_000 + 4_000 for n in logs)
    assert ref in (tmp_path / "logs" / "app.log").read_text(encoding="utf-8") and where == str(tmp_path / "logs" / "app.log")


def test_an_unwritable_home_still_gets_the_message(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("PLACEKIT_HOME", str(blocker))
    ref, where = guard.log_error(RuntimeError("boom"), where="a test")
    assert len(ref) == 8 and where.startswith("(the log could not be written")
    assert isinstance(PlacekitError("x"), ValueError)


def test_a_failing_page_of_the_app_shows_the_guard_and_the_other_pages_work(tmp_path, monkeypatch):
    """A bug in a page of the real app (demo place): the page says so, the sidebar and the other pages still work."""
    import boundaries.flows

    def broken(*a, **k):
        raise ZeroDivisionError("division by zero in a test")

    monkeypatch.setenv("PLACEKIT_HOME", str(tmp_path))
    monkeypatch.delenv("PLACEKIT_DATA", raising=False)
    monkeypatch.setattr(boundaries.flows, "compute_flows", broken)
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("placekit/ui/pages/flows.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Flows stopped because of a bug in placekit" in e.value for e in at.error), [e.value for e in at.error]
    assert [t.value for t in at.title] == ["Cross-boundary flows"] and at.sidebar.caption  # the page's start and the sidebar stay
    assert "ZeroDivisionError" in (tmp_path / "logs" / "app.log").read_text(encoding="utf-8")
    at.switch_page("placekit/ui/pages/data_status.py").run()
    assert not at.exception and not at.error and [t.value for t in at.title] == ["Data status"]


def test_a_place_that_cannot_load_stops_the_start_with_its_message(tmp_path, monkeypatch):
    monkeypatch.setenv("PLACEKIT_HOME", str(tmp_path))
    monkeypatch.setenv("PLACEKIT_DATA", str(tmp_path / "no-such-folder"))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("placekit stopped:" in e.value and "no\\-such\\-folder" in e.value for e in at.error), [e.value for e in at.error]
    assert any("then reload the page" in c.value for c in at.caption)


def test_a_draft_write_that_fails_says_autosave_failed(tmp_path, monkeypatch):
    """The store opens, then a draft write fails (a full disk): the sidebar says autosave failed, the work stays, the error is logged."""
    import sqlite3
    from concurrent.futures import wait

    from boundaries.store import ScenarioStore
    from placekit.ui import working

    def full(*a, **k):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setenv("PLACEKIT_HOME", str(tmp_path))
    monkeypatch.delenv("PLACEKIT_DATA", raising=False)
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("placekit/ui/pages/redraw.py").run()
    assert not at.exception and not any("Autosave" in c.value for c in at.sidebar.caption)
    monkeypatch.setattr(ScenarioStore, "save_draft", full)
    g = at.session_state["grouping"]
    ward, first = next(iter(g.ward_to_neighbourhood.items()))
    other = next(n for n in g.neighbourhoods if n != first)
    at.session_state["grouping"] = g.move(ward, other)
    at.run()  # the draft write is queued at the end of this run, in the background
    wait(list(working._PENDING), timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    said = [c.value for c in at.sidebar.caption if "Autosave failed" in c.value]
    assert said and "disk is full" in said[0] and "Your work is still in this tab" in said[0], [c.value for c in at.sidebar.caption]
    assert at.session_state["grouping"].ward_to_neighbourhood[ward] == other  # the work is kept in the session
    assert "database or disk is full" in (tmp_path / "logs" / "app.log").read_text(encoding="utf-8")
    monkeypatch.undo()  # the disk has room again: the next run writes the draft and the message goes
    monkeypatch.setenv("PLACEKIT_HOME", str(tmp_path))
    at.run()
    wait(list(working._PENDING), timeout=30)
    at.run()
    assert not any("Autosave failed" in c.value for c in at.sidebar.caption)
