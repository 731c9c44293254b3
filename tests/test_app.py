"""The app, headless with Streamlit's AppTest: every page loads, a reassignment changes the figures, scenarios persist."""

from __future__ import annotations

PAGES = [
    "placekit/ui/pages/map_profiles.py",
    "placekit/ui/pages/redraw.py",
    "placekit/ui/pages/flows.py",
    "placekit/ui/pages/hospitals.py",
    "placekit/ui/pages/hubs.py",
    "placekit/ui/pages/compare.py",
    "placekit/ui/pages/data_status.py",
]


def test_every_page_loads(app):
    """Every page in one session (switch_page), as a person goes round them; one session, not one per page, keeps it quick."""
    for page in PAGES[1:] + PAGES[:1]:
        app.switch_page(page).run()
        assert not app.exception, (page, [e.value for e in app.exception])
        assert app.title, f"{page} shows no title"
        assert not [e.value for e in app.error if " stopped" in e.value], page  # nor a message of the app's guard


def _metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def _select(at, wards):
    at.multiselect(key="sel_pick").set_value(list(wards)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _assign(at, wards, target=None):
    """Select `wards` in the list, assign them to `target` (default: a neighbourhood none of them is in); return the target."""
    _select(at, wards)
    g = at.session_state["grouping"]
    now = {g.ward_to_neighbourhood[w] for w in wards}
    target = target or next(o for o in at.selectbox(key="target_pick").options if o not in now and "New" not in o)
    at.selectbox(key="target_pick").set_value(target).run()
    at.button(key="assign").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return target


def test_reassignment_changes_figures(app):
    at = app.switch_page("placekit/ui/pages/redraw.py").run()
    label = "Registered patients using a practice in their own neighbourhood (July 2022)"
    before = _metric(at, label)
    ward = sorted(at.session_state["grouping"].ward_to_neighbourhood)[3]
    _assign(at, [ward])
    assert _metric(at, label) != before
    assert _metric(at, "Wards moved") == "1"
    at.button(key="undo_btn").click().run()
    assert _metric(at, label) == before
    at.button(key="redo_btn").click().run()
    assert _metric(at, label) != before


def test_save_reload_delete_scenario(app, tmp_path):
    at = app.switch_page("placekit/ui/pages/redraw.py").run()
    at.text_input(key="save_name").set_value("My option").run()
    at.button(key="save").click().run()
    assert any("Saved" in s.value for s in at.success)
    assert (tmp_path / "scenarios.sqlite").exists()
    assert "My option" in at.selectbox(key="scenario_pick").options
    # Change the working grouping, then load the saved one back.
    ward = sorted(at.session_state["grouping"].ward_to_neighbourhood)[0]
    other = _assign(at, [ward])
    assert at.session_state["grouping"].ward_to_neighbourhood[ward] == other
    at.selectbox(key="scenario_pick").set_value("My option").run()
    at.button(key="load").click().run()
    assert at.session_state["grouping"].ward_to_neighbourhood[ward] != other
    at.button(key="delete").click().run()
    from boundaries.store import ScenarioStore

    assert ScenarioStore(tmp_path / "scenarios.sqlite").list().empty
    assert not any(getattr(e, "key", None) == "scenario_pick" for e in at.selectbox)


def test_duplicate_and_rename_scenarios_refusing_a_taken_name(app, tmp_path):
    from boundaries.store import ScenarioStore

    at = app.switch_page("placekit/ui/pages/redraw.py").run()
    at.text_input(key="save_name").set_value("First").run()
    at.button(key="save").click().run()
    at.selectbox(key="scenario_pick").set_value("First").run()
    at.text_input(key="rename_to").set_value("Second").run()
    at.button(key="duplicate").click().run()
    assert set(ScenarioStore(tmp_path / "scenarios.sqlite").list()["name"]) == {"First", "Second"}
    at.selectbox(key="scenario_pick").set_value("First").run()
    at.text_input(key="rename_to").set_value("Second").run()
    at.button(key="rename").click().run()  # the name is taken: refused, both kept
    assert any("Second" in e.value for e in at.error), [e.value for e in at.error]
    assert set(ScenarioStore(tmp_path / "scenarios.sqlite").list()["name"]) == {"First", "Second"}
    at.text_input(key="rename_to").set_value("Third").run()
    at.button(key="rename").click().run()
    assert not at.exception and set(ScenarioStore(tmp_path / "scenarios.sqlite").list()["name"]) == {"Second", "Third"}


def test_saving_over_a_name_is_refused_and_keeps_the_old(app):
    at = app.switch_page("placekit/ui/pages/redraw.py").run()
    at.text_input(key="save_name").set_value("Keep").run()
    at.button(key="save").click().run()
    at.button(key="save").click().run()
    assert any("exists" in e.value for e in at.error)


def test_compare_shows_moved_wards(app):
    at = app.switch_page("placekit/ui/pages/redraw.py").run()
    _assign(at, [sorted(at.session_state["grouping"].ward_to_neighbourhood)[0]])
    at.switch_page("placekit/ui/pages/compare.py").run()
    assert not at.exception
    assert any("1 ward(s) moved" in s.value for s in at.subheader)


def test_compare_does_not_count_a_renamed_neighbourhood_as_moved(app):
    at = app.switch_page("placekit/ui/pages/redraw.py").run()
    g = at.session_state["grouping"]
    first = g.neighbourhoods[0]
    wards = [w for w, n in g.ward_to_neighbourhood.items() if n == first]
    at.session_state["grouping"] = g.assign_wards(wards, "Renamed team", locality=g.neighbourhood_to_locality[first])
    at.switch_page("placekit/ui/pages/compare.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("0 ward(s) moved" in s.value for s in at.subheader), [s.value for s in at.subheader]
    assert any(f"{first} → Renamed team" in c.value for c in at.caption), [c.value for c in at.caption]
    assert any("0 practice(s) in a different team" in s.value for s in at.subheader)


def test_bad_upload_is_refused_and_store_unchanged(app, tmp_path):
    from boundaries.store import ScenarioStore

    at = app.switch_page("placekit/ui/pages/redraw.py").run()
    at.text_input(key="save_name").set_value("Keep me").run()
    at.button(key="save").click().run()
    store = ScenarioStore(tmp_path / "scenarios.sqlite")
    before = store.list().to_dict()
    bad = b"ward_code,neighbourhood,locality\nE05000694,A,North\nNOT_A_WARD,A,North\n"
    at.file_uploader(key="upload").set_value(("bad.csv", bad, "text/csv")).run()
    at.text_input(key="upload_name").set_value("Keep me").run()
    at.button(key="import").click().run()
    assert any("Not imported; nothing was changed" in e.value and "unknown ward" in e.value for e in at.error)
    assert store.list().to_dict() == before
    good = store.load("Keep me")["grouping"]
    from boundaries.grouping import grouping_to_csv

    at.file_uploader(key="upload").set_value(("good.csv", grouping_to_csv(good.renamed("Up")).encode(), "text/csv")).run()
    at.text_input(key="upload_name").set_value("Uploaded").run()
    at.button(key="import").click().run()
    assert "Uploaded" in set(store.list()["name"])


def test_redraw_shows_coverage_once_hubs_are_set(app):
    at = app.switch_page("placekit/ui/pages/hubs.py").run()
    assert not at.exception
    at.switch_page("placekit/ui/pages/redraw.py").run()
    table = next(h.proto.body for h in at.html if "nbt" in h.proto.body)
    assert "Hubs · % residents (mid-2015) within 15min walk" in table, table[:2000]
