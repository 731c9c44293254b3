"""Redraw with plans built from LSOAs: the map's LSOA layer (shapes, layers, labels), grouping files opened as they are,
and, headless with AppTest, Propose from LSOAs, a link, the LSOA selection kind, locks, a draft restored and every page."""

from __future__ import annotations

import html
import json
import re
import time

import pytest

from boundaries.grouping import grouping_to_csv, grouping_to_json, ward_adjacency
from boundaries.lsoa_plans import assign_units, lsoa_neighbourhoods
from boundaries.store import ScenarioStore
from placekit.errors import PlacekitError
from tests.test_redraw import _open  # one way of opening the app for both

PAGES = ["map_profiles.py", "flows.py", "hospitals.py", "hubs.py", "compare.py", "data_status.py", "redraw.py"]


# --------------------------------------------------------------------------- the map's data (no app)
def test_lsoa_shapes_share_the_wards_frame_and_layers_colour_lsoas(tiny_place, tiny_grouping):
    from placekit.ui.maps import lsoa_shapes, map_layers, neighbourhood_shape, ward_shapes

    wards, lsoas = ward_shapes("tiny-l", tiny_place.wards), lsoa_shapes("tiny-l", tiny_place.lsoas, tiny_place.wards)
    assert (lsoas.width, lsoas.height, lsoas.origin) == (wards.width, wards.height, wards.origin)
    assert set(lsoas.paths) == set(tiny_place.lsoas.index) and lsoas.id != wards.id
    assert lsoas.points["E01000001"] == [25.0, 150.0]  # the west half of ward 1 (bottom left), in 10-m units, y down
    g = tiny_grouping.assign_lsoas(["E01000003"], "B")
    labels = lsoa_neighbourhoods(g, tiny_place.lsoa_ward_code)
    members = [{"wards": frozenset(labels.index[labels == n]), "lines": [n, "x"], "warn": False} for n in g.neighbourhoods]
    layers = map_layers(lsoas, g.ward_to_neighbourhood, colours={"A": "#111111", "B": "#222222", "C": "#333333"}, labels=members,
                        tips={}, moved=["E01000003"], lsoa_to_neighbourhood=labels)  # fmt: skip
    assert layers["lfill"]["E01000003"] == "#222222" and layers["lfill"]["E01000004"] == "#111111" and layers["fill"] == {}
    assert layers["lnb"]["E01000003"] == "B" and layers["moved"] == ["E01000003"]
    # A's outline is dissolved from its three LSOAs: ward 1 and the east half of ward 2, two rings; its label in ward 1 (the larger part).
    path, point = neighbourhood_shape(lsoas, frozenset(labels.index[labels == "A"]))
    assert path.count("M") == 2 and 0 < point[0] < 100 and point[1] == 150.0
    assert len(layers["outlines"]) == 3 and len(layers["labels"]) == 3
    ward_layers = map_layers(wards, tiny_grouping.ward_to_neighbourhood, colours={}, labels=[], tips={})
    assert ward_layers["lnb"] == {} and ward_layers["lfill"] == {} and set(ward_layers["fill"]) == set(tiny_place.wards.index)


def test_a_grouping_file_opens_as_it_is_and_bad_lsoas_are_named(tiny_place, tiny_grouping):
    from placekit.ui.plan_upload import grouping_file, plan_from_upload

    g = assign_units(tiny_grouping, "B", tiny_place.lsoa_ward_code, tiny_place.population["population"], lsoas=["E01000003"])
    for text, name in ((grouping_to_json(g), "plan.json"), (grouping_to_csv(g), "plan.csv")):
        got = plan_from_upload(text.encode(), name, tiny_place)
        assert got.grouping.lsoa_to_neighbourhood == {"E01000003": "B"} and "built from LSOAs" in got.notes[0]
        assert got.problems.empty
    geojson = json.dumps({"type": "FeatureCollection", "features": []}).encode()
    assert grouping_file(geojson, "plan.geojson", tiny_place) is None and grouping_file(geojson, "plan.json", tiny_place) is None
    assert grouping_file(b"unit_id,district\nE01000001,A\n", "districtr.csv", tiny_place) is None
    bad = grouping_to_json(g).replace("E01000003", "E01099999").encode()
    with pytest.raises(PlacekitError, match="E01099999"):
        plan_from_upload(bad, "plan.json", tiny_place)


# --------------------------------------------------------------------------- the app (demo place, or the data root in CI)


def _edge_lsoas(place, g, n: int = 3) -> dict[str, str]:
    """Return `n` LSOAs on a neighbourhood's edge, each with a neighbourhood it touches (a small plan built from LSOAs)."""
    labels = lsoa_neighbourhoods(g, place.lsoa_ward_code)
    adj = ward_adjacency(place.lsoas)
    out: dict[str, str] = {}
    for a, b in zip(adj["a"], adj["b"], strict=True):
        if labels[a] != labels[b] and a not in out and len(out) < n and not set(out) & {b}:
            out[a] = labels[b]
    return out


def _lsoa_plan(name: str = "From LSOAs"):
    from boundaries.baseline import place_baseline
    from geo.national import open_place

    place = open_place(None, None)
    g = place_baseline(place)
    for code, nb in _edge_lsoas(place, g).items():
        g = g.assign_lsoas([code], nb)
    return place, g.renamed(name)


def _captions(at) -> str:
    return " | ".join(c.value for c in at.caption)


def _sidebar(at) -> str:
    """Return the sidebar's captions as a reader sees them (Markdown escapes of user text removed)."""
    return html.unescape(re.sub(r"\\(.)", r"\1", " | ".join(c.value for c in at.sidebar.caption)))


def test_propose_from_lsoas_becomes_the_working_grouping_in_one_undo_step(home):
    at = _open()
    start = at.session_state["grouping"]
    undo_before = len(at.session_state["undo_stack"])
    at.radio(key="pp_units").set_value("lsoa").run()
    at.number_input(key="pp_limit").set_value(2).run()  # a short search: the best plan found in 2 s, said so
    at.button(key="pp_go").click().run()
    deadline = time.monotonic() + 180
    while not at.session_state["propose_job"].get("done") and time.monotonic() < deadline:
        time.sleep(0.3)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    g = at.session_state["grouping"]
    assert g.units == "lsoa" and len(at.session_state["undo_stack"]) == undo_before + 1
    assert at.session_state["lsoa_layer"] and "A plan built from LSOAs" in _captions(at)
    assert any("What moved" in c.value and "lsoa(s)" in c.value for c in at.caption)
    assert any(m.label == "LSOAs moved" for m in at.metric)
    assert not at.error, [e.value for e in at.error]
    at.button(key="undo_btn").click().run()
    assert at.session_state["grouping"] == start and at.session_state["grouping"].units == "ward"


def test_an_lsoa_plan_opens_from_a_link_on_every_page(home):
    place, g = _lsoa_plan()
    ScenarioStore(home / "scenarios.sqlite").save(g.name, g, place=place.key)
    at = _open(scenario=g.name)
    assert at.session_state["grouping"].lsoa_to_neighbourhood == g.lsoa_to_neighbourhood
    assert f"{g.name} (saved scenario)" in _sidebar(at)
    for page in PAGES:
        at.switch_page(f"placekit/ui/pages/{page}").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        text = " ".join(x.value for x in [*at.info, *at.caption, *at.subheader, *at.markdown])
        if page in ("map_profiles.py", "flows.py", "compare.py"):
            assert "built from LSOAs" in text, page
        if page == "compare.py":  # the baseline against the working plan: the LSOAs moved, counted as LSOAs
            assert f"{len(g.lsoa_to_neighbourhood)} LSOA(s) moved" in text
    # Redraw's table: residents of each neighbourhood's LSOAs on the chosen base.
    from placekit.ui import common  # noqa: F401  (the app's own module, as the page uses it)

    fig_pop = at.session_state["_redraw_derived"][-1][2]["table"]["residents"]
    assert int(fig_pop.sum()) > 0 and set(fig_pop.index) == set(g.neighbourhoods)


def test_lsoas_and_wards_assigned_with_locks_and_a_draft_restored(home):
    from placekit.ui.working import Selection, flush_drafts

    place, g = _lsoa_plan()
    base_g = g.release_lsoas()
    at = _open(draft="tabL")
    assert not at.session_state["lsoa_layer"]
    at.toggle(key="lsoa_layer").set_value(True).run()
    code, target = next(iter(_edge_lsoas(place, base_g, 1).items()))
    at.session_state["selection"] = Selection("lsoa", (code,))
    at.run()
    assert any("1 LSOA(s) selected" in m.value for m in at.markdown)
    at.selectbox(key="target_pick").set_value(target).run()
    at.button(key="assign").click().run()
    assert not at.exception, [e.value for e in at.exception]
    now = at.session_state["grouping"]
    assert now.units == "lsoa" and lsoa_neighbourhoods(now, place.lsoa_ward_code)[code] == target
    assert "Moved 1 LSOA(s)" in _captions(at) and "now built from LSOAs" in _captions(at)
    # A ward of the plan: assigned with every LSOA fitted to it (here, back to where the LSOA came from).
    ward = place.lsoa_ward_code[code]
    home_nb = base_g.ward_to_neighbourhood[ward]
    at.session_state["selection"] = Selection("ward", (ward,))
    at.run()
    at.selectbox(key="target_pick").set_value(home_nb).run()
    at.button(key="assign").click().run()
    assert at.session_state["grouping"].units == "ward"  # every LSOA follows its ward again: a plan of whole wards
    at.button(key="undo_btn").click().run()
    assert at.session_state["grouping"] == now
    # A lock: the LSOA's neighbourhood cannot lose it.
    at.multiselect(key="locked_nbs").set_value([target]).run()
    at.session_state["selection"] = Selection("lsoa", (code,))
    at.run()
    at.selectbox(key="target_pick").set_value(home_nb).run()
    at.button(key="assign").click().run()
    assert "locked" in (at.session_state["assign_error"] or "") and at.session_state["grouping"] == now
    at.multiselect(key="locked_nbs").set_value([]).run()
    # The tab reloaded: the plan built from LSOAs comes back from its draft, with its undo history.
    flush_drafts()
    again = _open(draft="tabL")
    assert again.session_state["grouping"].lsoa_to_neighbourhood == now.lsoa_to_neighbourhood
    side = _sidebar(again)
    assert "Restored your unsaved work" in side and "LSOA(s) moved" in side
    again.button(key="undo_btn").click().run()
    assert again.session_state["grouping"].units == "ward"
