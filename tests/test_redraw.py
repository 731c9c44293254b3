"""Redraw, headless with AppTest: many wards assigned in one step, locks, stable colours, autosave and restore, links."""

from __future__ import annotations

import html
import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from boundaries.store import ScenarioStore
from placekit.ui.working import flush_drafts

APP = str(Path(__file__).resolve().parent.parent / "app.py")
REDRAW = "placekit/ui/pages/redraw.py"


def _open(page: str = REDRAW, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)  # a plan built from LSOAs takes longer on a loaded CI machine
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if page:
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def _nb_of(at, ward: str) -> str:
    return at.session_state["grouping"].ward_to_neighbourhood[ward]


def _assign(at, wards, target):
    at.multiselect(key="sel_pick").set_value(list(wards)).run()
    at.selectbox(key="target_pick").set_value(target).run()
    at.button(key="assign").click().run()
    assert not at.exception, [e.value for e in at.exception]


def _sidebar(at) -> str:
    """Return the sidebar's captions as a reader sees them (Markdown escapes of user text removed)."""
    return html.unescape(re.sub(r"\\(.)", r"\1", " | ".join(c.value for c in at.sidebar.caption)))


def _two_wards_and_a_target(at):
    g = at.session_state["grouping"]
    a, b = sorted(g.ward_to_neighbourhood)[:2]
    target = next(n for n in g.neighbourhoods if n not in (g.ward_to_neighbourhood[a], g.ward_to_neighbourhood[b]))
    return a, b, target


def test_many_wards_assigned_in_one_step_and_undone_in_one(home):
    at = _open()
    a, b, target = _two_wards_and_a_target(at)
    before = (_nb_of(at, a), _nb_of(at, b))
    _assign(at, [a, b], target)
    assert (_nb_of(at, a), _nb_of(at, b)) == (target, target)
    assert at.session_state["selection"].codes == ()  # assigned: the selection is cleared
    assert any("Moved 2 ward(s)" in c.value for c in at.caption)
    assert len(at.session_state["undo_stack"]) == 1
    at.button(key="undo_btn").click().run()
    assert (_nb_of(at, a), _nb_of(at, b)) == before


def test_selection_model_has_a_kind_and_refuses_unknown_kinds(home):
    at = _open()
    a, b, _ = _two_wards_and_a_target(at)
    at.multiselect(key="sel_pick").set_value([a, b]).run()
    sel = at.session_state["selection"]
    assert (sel.kind, sel.codes) == ("ward", (a, b))
    assert any("2 ward(s) selected" in m.value for m in at.markdown)


def test_a_new_neighbourhood_takes_a_locality_and_a_free_colour(home):
    at = _open()
    a, b, _ = _two_wards_and_a_target(at)
    colours_before = dict(at.session_state["nb_colours"])
    at.multiselect(key="sel_pick").set_value([a, b]).run()
    at.selectbox(key="target_pick").set_value("➕ New neighbourhood…").run()
    at.text_input(key="new_nb").set_value("Test new").run()
    at.button(key="assign").click().run()
    assert _nb_of(at, a) == _nb_of(at, b) == "Test new"
    colours = at.session_state["nb_colours"]
    assert {n: colours[n] for n in colours_before} == colours_before  # nobody else's colour shifted
    assert colours["Test new"] not in {colours[n] for n in at.session_state["grouping"].neighbourhoods if n != "Test new"}


def test_colours_stay_when_a_neighbourhood_empties(home):
    at = _open()
    g = at.session_state["grouping"]
    gone = g.neighbourhoods[0]
    wards = [w for w, n in g.ward_to_neighbourhood.items() if n == gone]
    colours_before = dict(at.session_state["nb_colours"])
    _assign(at, wards, g.neighbourhoods[1])
    assert gone not in at.session_state["grouping"].neighbourhoods
    after = at.session_state["nb_colours"]
    assert all(after[n] == colours_before[n] for n in at.session_state["grouping"].neighbourhoods)


def test_locked_neighbourhood_neither_loses_nor_gains_wards(home):
    at = _open()
    g = at.session_state["grouping"]
    held = g.neighbourhoods[0]
    inside = next(w for w, n in g.ward_to_neighbourhood.items() if n == held)
    outside = next(w for w, n in g.ward_to_neighbourhood.items() if n != held)
    at.multiselect(key="sel_pick").set_value([inside]).run()  # selected before the lock
    at.multiselect(key="locked_nbs").set_value([held]).run()
    assert held not in at.selectbox(key="target_pick").options  # cannot gain
    assert inside not in at.multiselect(key="sel_pick").options  # cannot be picked
    at.selectbox(key="target_pick").set_value(g.neighbourhoods[1]).run()
    at.button(key="assign").click().run()
    assert any("locked" in e.value for e in at.error), [e.value for e in at.error]
    assert _nb_of(at, inside) == held  # cannot lose
    assert any("🔒" in h.proto.body for h in at.html)
    # Unlocked, the same move goes through.
    at.multiselect(key="locked_nbs").set_value([]).run()
    _assign(at, [inside, outside], g.neighbourhoods[1])
    assert _nb_of(at, inside) == g.neighbourhoods[1]


def test_table_names_every_neighbourhood_with_both_containments_and_marks(home):
    at = _open()
    table = next(h.proto.body for h in at.html if "nbt" in h.proto.body)
    g = at.session_state["grouping"]
    assert all(n.replace("&", "&amp;") in table for n in g.neighbourhoods)
    # Residents are on the base chosen on Map and profiles: Census 2021 by default when the place has it.
    for head in ("Residents (Census 2021)", "Resident containment % (registered patients, July 2022)",
                 "List containment % (registered patients, July 2022)", "vs 30k–50k band", "Pieces"):  # fmt: skip
        assert head in table
    assert table.count('class="flag"') >= 1  # Manchester's baseline has neighbourhoods out of band (FINDINGS)
    badge = next(m.value for m in at.caption if "band" in m.value)
    fig = at.session_state["grouping"]
    assert "outside —" in badge and any(n in badge for n in fig.neighbourhoods)


def test_work_autosaves_and_a_reload_restores_it(home):
    at = _open(draft="tab1")
    a, b, target = _two_wards_and_a_target(at)
    home_a, home_b = _nb_of(at, a), _nb_of(at, b)
    _assign(at, [a, b], target)
    flush_drafts()
    draft = ScenarioStore(home / "scenarios.sqlite").load_draft("tab1")
    assert draft is not None and draft["grouping"].ward_to_neighbourhood[a] == target
    assert "unsaved, edited from Manchester One Team baseline (2015)" in _sidebar(at)
    # A reload of the same tab: a new session with the same ?draft=.
    again = _open(draft="tab1")
    assert _nb_of(again, a) == _nb_of(again, b) == target
    assert "Restored your unsaved work" in _sidebar(again) and "2 ward(s) moved" in _sidebar(again)
    assert "unsaved, edited from" in _sidebar(again)
    # Moved back by hand to the baseline: nothing is unsaved, so the draft goes.
    _assign(again, [a], home_a)
    _assign(again, [b], home_b)
    assert "Manchester One Team baseline (2015) (baseline)" in _sidebar(again)
    flush_drafts()
    assert ScenarioStore(home / "scenarios.sqlite").load_draft("tab1") is None


def test_a_reload_restores_the_undo_and_redo_history(home):
    at = _open(draft="tabH")
    a, b, target = _two_wards_and_a_target(at)
    home_a, home_b = _nb_of(at, a), _nb_of(at, b)
    _assign(at, [a], target)
    _assign(at, [b], target)
    at.button(key="undo_btn").click().run()  # b goes back: one step back, one forward
    assert (_nb_of(at, a), _nb_of(at, b)) == (target, home_b)
    flush_drafts()
    again = _open(draft="tabH")  # the same tab reloaded
    assert (_nb_of(again, a), _nb_of(again, b)) == (target, home_b)
    assert "Undo and redo go on where you left them (1 step(s) back, 1 forward)" in _sidebar(again)
    again.button(key="redo_btn").click().run()
    assert _nb_of(again, b) == target
    again.button(key="undo_btn").click().run()
    again.button(key="undo_btn").click().run()
    assert (_nb_of(again, a), _nb_of(again, b)) == (home_a, home_b)  # back to the baseline, across the reload
    assert again.button(key="undo_btn").disabled


def test_each_new_tab_gets_its_own_draft_id_in_the_address(home):
    ids = [_open(page="").query_params["draft"] for _ in range(2)]
    ids = [i[0] if isinstance(i, list) else i for i in ids]
    assert all(len(i) == 12 for i in ids) and ids[0] != ids[1]


def test_saving_names_the_working_grouping_and_gives_a_link(home):
    at = _open(draft="tab2")
    a, b, target = _two_wards_and_a_target(at)
    _assign(at, [a], target)
    at.text_input(key="save_name").set_value("Option A").run()
    at.button(key="save").click().run()
    assert "Option A (saved scenario)" in _sidebar(at)
    assert any("?scenario=Option%20A" in c.value for c in at.caption)
    flush_drafts()
    assert ScenarioStore(home / "scenarios.sqlite").load_draft("tab2") is None  # saved: nothing left to restore
    _assign(at, [b], target)
    assert "unsaved, edited from Option A" in _sidebar(at)


def test_scenario_link_opens_the_saved_scenario(home):
    at = _open()
    a, b, target = _two_wards_and_a_target(at)
    store = ScenarioStore(home / "scenarios.sqlite")
    store.save("Shared", at.session_state["grouping"].move(a, target), place="Manchester")
    link = _open(scenario="Shared")
    assert _nb_of(link, a) == target
    assert "Shared (saved scenario)" in _sidebar(link)


def test_link_to_a_missing_scenario_says_so(home):
    at = _open(page="", scenario="Nope")
    assert any("Nope" in e.value and "no scenario" in e.value for e in at.error), [e.value for e in at.error]
    assert "baseline" in _sidebar(at)


def test_compare_link_selects_both_scenarios_and_reports_missing_ones(home):
    at = _open(page="")
    g = at.session_state["grouping"]
    store = ScenarioStore(home / "scenarios.sqlite")
    a, _, target = _two_wards_and_a_target(at)
    store.save("One, with a comma", g, place="Manchester")
    store.save("Two", g.move(a, target), place="Manchester")
    cmp = _open(page="", compare="One, with a comma,Two")
    cmp.switch_page("placekit/ui/pages/compare.py").run()
    assert (cmp.selectbox(key="cmp_a").value, cmp.selectbox(key="cmp_b").value) == ("Saved: One, with a comma", "Saved: Two")
    assert any("1 ward(s) moved" in s.value for s in cmp.subheader)
    bad = _open(page="", compare="Two,Missing")
    bad.switch_page("placekit/ui/pages/compare.py").run()
    assert any("'Missing'" in e.value for e in bad.error), [e.value for e in bad.error]


# --------------------------------------------------------------------------- the map's pieces (no app needed)
def test_ward_shapes_are_compact_paths_that_keep_shared_edges(tiny_place):
    from placekit.ui.maps import ward_shapes

    shapes = ward_shapes("tiny", tiny_place.wards)
    assert set(shapes.paths) == set(tiny_place.wards.index)
    assert all(p.startswith("M") and p.endswith("Z") for p in shapes.paths.values())
    assert (shapes.width, shapes.height) == (300.0, 200.0)  # 3 km × 2 km in 10-m units
    # W1 (bottom left) and W2 share an edge at x = 1000 m; y runs down from the top of the place.
    assert shapes.points["E05900001"] == [50.0, 150.0]


def test_outline_cache_is_bounded(tiny_place):
    import itertools

    from placekit.ui.maps import OUTLINE_CACHE_SIZE, _outline, neighbourhood_shape, ward_shapes

    shapes = ward_shapes("tiny", tiny_place.wards)
    codes = list(tiny_place.wards.index)
    sets = [frozenset(c) for r in range(1, len(codes) + 1) for c in itertools.combinations(codes, r)]
    for s in sets * 5:
        neighbourhood_shape(shapes, s)
    info = _outline.cache_info()
    assert info.maxsize == OUTLINE_CACHE_SIZE and info.currsize <= OUTLINE_CACHE_SIZE
    assert info.hits >= 4 * len(sets)  # the same set of wards is dissolved once
    path, point = neighbourhood_shape(shapes, frozenset(codes[:3]))  # the bottom row: one rectangle
    assert path.count("M") == 1 and point[1] == 150.0


def test_undo_and_redo_respect_locks(home):
    at = _open()
    a, b, target = _two_wards_and_a_target(at)
    before = _nb_of(at, a)
    _assign(at, [a], target)
    at.multiselect(key="locked_nbs").set_value([target]).run()  # locked after the move: undo would take `a` out of it
    at.button(key="undo_btn").click().run()
    assert _nb_of(at, a) == target  # refused, nothing changed
    assert any("Undo refused" in e.value and "locked" in e.value and target in e.value for e in at.error), [e.value for e in at.error]
    at.multiselect(key="locked_nbs").set_value([]).run()
    at.button(key="undo_btn").click().run()
    assert _nb_of(at, a) == before and not at.error
    at.multiselect(key="locked_nbs").set_value([before]).run()  # now redo would take `a` out of `before`
    at.button(key="redo_btn").click().run()
    assert _nb_of(at, a) == before
    assert any("Redo refused" in e.value for e in at.error), [e.value for e in at.error]
