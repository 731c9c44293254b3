"""Redraw moves practices (AppTest, headless, real data): select and assign in one step, release, the rule, locks,
suggestions applied in one click, the bulk table keeping practices, drafts and links carrying practice assignments."""

from __future__ import annotations

import pandas as pd
import pytest

from boundaries.membership import practice_neighbourhoods
from boundaries.store import ScenarioStore
from placekit.ui.working import flush_drafts
from tests.test_redraw import _open, _sidebar

pytestmark = pytest.mark.realdata


def _teams(place, g) -> pd.Series:
    """Each practice of the place's team under `g`, computed by the library (not the page)."""
    s = practice_neighbourhoods(place, g)
    return s[s.notna()]


def _open_practices(at):
    at.session_state["prac_open"] = True  # the practice panel is a lazy expander: open it
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _assign_practices(at, codes, target):
    at.multiselect(key="prac_pick").set_value(list(codes)).run()
    at.selectbox(key="target_pick").set_value(target).run()
    at.button(key="assign").click().run()
    assert not at.exception, [e.value for e in at.exception]


def _metric(at, label):
    return next(m.value for m in at.metric if m.label.startswith(label))


def _two_practices_and_a_target(place, g):
    teams = _teams(place, g)
    a = teams.index[0]
    b = next(p for p in teams.index if teams[p] != teams[a])
    target = next(n for n in g.neighbourhoods if n not in (teams[a], teams[b]))
    return a, b, target, teams


def test_practices_selected_and_assigned_in_one_step_and_undone_in_one(home, real_place):
    at = _open_practices(_open())
    g0 = at.session_state["grouping"]
    a, b, target, teams = _two_practices_and_a_target(real_place, g0)
    at.multiselect(key="prac_pick").set_value([a, b]).run()
    sel = at.session_state["selection"]
    assert (sel.kind, sel.codes) == ("practice", (a, b))
    assert any("2 practice(s) selected" in m.value for m in at.markdown)
    assert "➕ New neighbourhood…" not in at.selectbox(key="target_pick").options  # a practice joins a team that has wards
    _assign_practices(at, [a, b], target)
    g = at.session_state["grouping"]
    assert g.practice_to_neighbourhood == {a: target, b: target}
    assert g.ward_to_neighbourhood == g0.ward_to_neighbourhood
    assert _teams(real_place, g)[[a, b]].tolist() == [target, target]
    assert len(at.session_state["undo_stack"]) == 1
    assert at.session_state["selection"].codes == ()
    assert any("Assigned 2 practice(s)" in c.value and "2 changed team" in c.value for c in at.caption)
    assert _metric(at, "Practices in another team") == "2"
    moved = next(c.value for c in at.caption if c.value.startswith("Moved from"))
    assert a in moved and b in moved and f"{teams[a]} → {target}" in moved
    table = at.dataframe(key="prac_table").value
    assert table.loc[a, "Team"] == target and table.loc[a, "Decided by"] == "explicit" and table.filter(like="Moved from").loc[a].item() == teams[a]
    assert {"Practice", "Premises ward", "Team", "Decided by"} <= set(table.columns) and any("Registered patients" in c for c in table.columns)
    assert "practices reassigned" in _sidebar(at)
    at.button(key="undo_btn").click().run()
    assert at.session_state["grouping"].practice_to_neighbourhood == {}
    assert _metric(at, "Practices in another team") == "0"


def test_live_figures_show_both_measures_after_a_practice_move(home, real_place):
    at = _open_practices(_open())
    g = at.session_state["grouping"]
    teams = _teams(real_place, g)
    # The practice with the largest list moved to the team next door changes both measures somewhere.
    big = at.dataframe(key="prac_table").value.filter(like="Registered patients").iloc[:, 0].idxmax()
    target = next(n for n in g.neighbourhoods if n != teams[big])
    labels = ["Lowest resident containment", "Lowest list containment", "Registered patients using a practice", "Patients of the teams"]
    before = {k: _metric(at, k) for k in labels}
    table_before = next(h.proto.body for h in at.html if "nbt" in h.proto.body)
    _assign_practices(at, [big], target)
    after = {k: _metric(at, k) for k in labels}
    assert after["Registered patients using a practice"] != before["Registered patients using a practice"]
    assert after["Patients of the teams"] != before["Patients of the teams"]
    assert next(h.proto.body for h in at.html if "nbt" in h.proto.body) != table_before  # both containment columns follow


def test_release_lets_an_explicit_practice_follow_the_rule_again(home, real_place):
    at = _open_practices(_open())
    g0 = at.session_state["grouping"]
    a, _, target, teams = _two_practices_and_a_target(real_place, g0)
    _assign_practices(at, [a], target)
    assert "release_btn" not in [b.key for b in at.button]  # nothing selected: nothing to release
    at.multiselect(key="prac_pick").set_value([a]).run()
    at.button(key="release_btn").click().run()
    assert not at.exception, [e.value for e in at.exception]
    g = at.session_state["grouping"]
    assert g.practice_to_neighbourhood == {}
    assert _teams(real_place, g)[a] == teams[a]
    assert any("follow the 'premises' rule again" in c.value for c in at.caption)
    assert len(at.session_state["undo_stack"]) == 2  # assign, release: one step each


def test_the_practice_rule_is_chosen_on_the_page_as_one_undo_step(home, real_place):
    at = _open_practices(_open())
    g0 = at.session_state["grouping"]
    assert at.selectbox(key="prac_rule").value == "premises"
    at.selectbox(key="prac_rule").set_value("patients").run()
    assert not at.exception, [e.value for e in at.exception]
    g = at.session_state["grouping"]
    assert g.practice_rule == "patients" and g.ward_to_neighbourhood == g0.ward_to_neighbourhood
    changed = int((_teams(real_place, g) != _teams(real_place, g0)).sum())
    assert any(f"{changed} changed team" in c.value for c in at.caption)
    assert _metric(at, "Practices in another team") == str(changed)
    table = at.dataframe(key="prac_table").value
    assert set(table["Decided by"]) <= {"rule: patients", "rule: premises (no patients in the city)"}
    assert len(at.session_state["undo_stack"]) == 1
    at.button(key="undo_btn").click().run()
    assert at.session_state["grouping"].practice_rule == "premises"
    assert at.selectbox(key="prac_rule").value == "premises"  # the widget follows the grouping, not its own copy


def test_locks_hold_practices_too(home, real_place):
    at = _open_practices(_open())
    g0 = at.session_state["grouping"]
    a, b, target, teams = _two_practices_and_a_target(real_place, g0)
    at.multiselect(key="prac_pick").set_value([a]).run()  # selected before the lock
    at.multiselect(key="locked_nbs").set_value([teams[a]]).run()
    assert a not in at.multiselect(key="prac_pick").options  # cannot be picked
    at.selectbox(key="target_pick").set_value(target).run()
    at.button(key="assign").click().run()
    assert any("locked" in e.value for e in at.error), [e.value for e in at.error]
    assert at.session_state["grouping"].practice_to_neighbourhood == {}  # cannot lose a practice
    at.multiselect(key="locked_nbs").set_value([target]).run()
    assert target not in at.selectbox(key="target_pick").options  # cannot gain one
    # A rule change that would move a practice into or out of a locked team is refused, whole.
    patients = _teams(real_place, g0.with_practice_rule("patients"))
    shifted = next(p for p in patients.index if patients[p] != teams[p])
    at.multiselect(key="locked_nbs").set_value([teams[shifted]]).run()
    at.selectbox(key="prac_rule").set_value("patients").run()
    assert any("locked" in e.value and shifted in e.value for e in at.error), [e.value for e in at.error]
    assert at.session_state["grouping"].practice_rule == "premises"
    assert at.selectbox(key="prac_rule").value == "premises"


def test_a_suggestion_is_applied_in_one_click_as_one_undo_step(home):
    at = _open()
    g0 = at.session_state["grouping"]
    at.session_state["sugg_open"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.value.startswith("Computed in") for c in at.caption)
    first = next(m.value for m in at.markdown if m.value.startswith(("**Ward ", "**Practice ")))
    at.button(key="sugg_apply_0").click().run()
    assert not at.exception, [e.value for e in at.exception]
    g = at.session_state["grouping"]
    moved_wards = [w for w in g.ward_to_neighbourhood if g.ward_to_neighbourhood[w] != g0.ward_to_neighbourhood[w]]
    assert len(moved_wards) + len(g.practice_to_neighbourhood) == 1  # exactly the one move
    to = first.split("**")[1].split(" → ")[-1]  # "**Ward Baguley: A → B**  \n:small[figures]"
    assert (g.ward_to_neighbourhood[moved_wards[0]] if moved_wards else next(iter(g.practice_to_neighbourhood.values()))) == to
    assert any(c.value.startswith("Applied:") for c in at.caption)
    assert len(at.session_state["undo_stack"]) == 1
    at.run()  # a rerun that does not change the grouping reuses the moves computed for it
    assert any("kept: the grouping has not changed" in c.value for c in at.caption)
    at.radio(key="sugg_measure").set_value("list_containment").run()
    assert any(c.value.startswith("Computed in") and "kept" not in c.value for c in at.caption)


def test_bulk_table_keeps_the_practice_rule_and_explicit_practices(home, real_place):
    at = _open_practices(_open())
    a, _, target, _ = _two_practices_and_a_target(real_place, at.session_state["grouping"])
    _assign_practices(at, [a], target)
    at.selectbox(key="prac_rule").set_value("pcn").run()
    at.toggle(key="bulk_toggle").set_value(True).run()
    at.button(key="apply_table").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    g = at.session_state["grouping"]
    assert (g.practice_rule, g.practice_to_neighbourhood) == ("pcn", {a: target})


def test_table_grouping_follows_a_renamed_neighbourhood(tiny_grouping):
    from placekit.ui.working import grouping_from_table

    g = tiny_grouping.with_practice_rule("patients").assign_practices(["P00002"], "C")
    table = g.to_frame()
    table.loc[table["neighbourhood"] == "C", "neighbourhood"] = "C renamed"
    ng = grouping_from_table(g, table, wards=list(g.ward_to_neighbourhood))
    assert ng.practice_rule == "patients" and ng.practice_to_neighbourhood == {"P00002": "C renamed"}
    assert ng.name == g.name and ng.meta == g.meta


def test_drafts_links_and_saved_scenarios_carry_practice_assignments(home, real_place):
    at = _open_practices(_open(draft="tabP"))
    a, _, target, _ = _two_practices_and_a_target(real_place, at.session_state["grouping"])
    _assign_practices(at, [a], target)
    at.selectbox(key="prac_rule").set_value("pcn").run()
    flush_drafts()
    store = ScenarioStore(home / "scenarios.sqlite")
    draft = store.load_draft("tabP")
    assert draft is not None and draft["grouping"].practice_to_neighbourhood == {a: target} and draft["grouping"].practice_rule == "pcn"
    # A reload of the same tab restores the practice assignments and says so.
    again = _open(draft="tabP")
    g = again.session_state["grouping"]
    assert (g.practice_rule, g.practice_to_neighbourhood) == ("pcn", {a: target})
    side = _sidebar(again)
    assert "Restored your unsaved work" in side and "practices reassigned" in side and "practice(s) in another team" in side, side
    # Saved, then opened by link in a new session: the same practices, the same rule.
    again.text_input(key="save_name").set_value("With practices").run()
    again.button(key="save").click().run()
    assert any("?scenario=With%20practices" in c.value for c in again.caption)
    link = _open(scenario="With practices")
    g = link.session_state["grouping"]
    assert (g.practice_rule, g.practice_to_neighbourhood) == ("pcn", {a: target})
    assert store.load("With practices")["grouping"].practice_to_neighbourhood == {a: target}
