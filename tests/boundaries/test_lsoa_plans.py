"""Plans built from LSOAs: each LSOA's neighbourhood, edits that keep one form, polygons dissolved from LSOAs."""

from __future__ import annotations

import pandas as pd
import pytest

from boundaries.grouping import grouping_from_text, grouping_to_json
from boundaries.lsoa_plans import assign_units, lsoa_neighbourhoods, moved_units, neighbourhood_areas, relabel, renamed_neighbourhoods
from placekit.errors import InvalidGroupingError

W = [f"E0590000{i}" for i in range(1, 7)]


@pytest.fixture
def lw(tiny_place):
    return tiny_place.lsoa_ward_code


@pytest.fixture
def pop(tiny_place):
    return tiny_place.population["population"].astype(float)


def test_lsoa_neighbourhoods_follow_wards_then_explicit(tiny_grouping, lw):
    nb = lsoa_neighbourhoods(tiny_grouping, lw)
    assert nb.tolist() == ["A", "A", "A", "A", "B", "B", "C", "C", "C", "C", "B", "B"]
    g = tiny_grouping.assign_lsoas(["E01000003"], "B")
    assert lsoa_neighbourhoods(g, lw)["E01000003"] == "B" and lsoa_neighbourhoods(g, lw)["E01000004"] == "A"


def test_assign_a_single_lsoa_keeps_the_ward_where_most_residents_are(tiny_grouping, lw, pop):
    # W2 holds E01000003 (900) and E01000004 (1,100): moving the smaller keeps W2 in A, listing the LSOA.
    g = assign_units(tiny_grouping, "B", lw, pop, lsoas=["E01000003"])
    assert g.units == "lsoa" and g.lsoa_to_neighbourhood == {"E01000003": "B"} and g.ward_to_neighbourhood[W[1]] == "A"
    # Moving the larger too: the ward follows its residents, nothing is listed, a plan of whole wards again.
    g2 = assign_units(g, "B", lw, pop, lsoas=["E01000004"])
    assert g2.units == "ward" and g2.ward_to_neighbourhood[W[1]] == "B"
    assert g2.ward_to_neighbourhood == tiny_grouping.assign_wards([W[1]], "B").ward_to_neighbourhood
    # The larger alone: the ward goes to B, and its other LSOA is listed in A.
    g3 = assign_units(tiny_grouping, "B", lw, pop, lsoas=["E01000004"])
    assert g3.ward_to_neighbourhood[W[1]] == "B" and g3.lsoa_to_neighbourhood == {"E01000003": "A"}
    want = lsoa_neighbourhoods(tiny_grouping, lw)
    want["E01000004"] = "B"
    assert lsoa_neighbourhoods(g3, lw).equals(want)


def test_assign_a_ward_moves_all_its_lsoas(tiny_grouping, lw, pop):
    g = assign_units(tiny_grouping, "B", lw, pop, lsoas=["E01000003"])  # W2 split between A and B
    moved = assign_units(g, "C", lw, pop, wards=[W[1]])
    assert moved.units == "ward" and moved.ward_to_neighbourhood[W[1]] == "C"
    assert set(lsoa_neighbourhoods(moved, lw)[["E01000003", "E01000004"]]) == {"C"}
    # LSOAs of other wards listed explicitly stay as they are.
    g4 = assign_units(g, "C", lw, pop, lsoas=["E01000001"])
    g5 = assign_units(g4, "B", lw, pop, wards=[W[0]])
    assert g5.lsoa_to_neighbourhood == {"E01000003": "B"} and g5.ward_to_neighbourhood[W[0]] == "B"


def test_new_neighbourhood_empty_ones_and_practices(tiny_grouping, lw, pop):
    with pytest.raises(InvalidGroupingError, match="give the locality"):
        assign_units(tiny_grouping, "New", lw, pop, lsoas=["E01000001"])
    g = assign_units(tiny_grouping, "New", lw, pop, lsoas=["E01000001"], locality="East")
    assert g.neighbourhood_to_locality["New"] == "East" and g.lsoa_to_neighbourhood == {"E01000001": "New"}
    # Every LSOA of A moves away: A is dropped.
    gone = assign_units(tiny_grouping, "C", lw, pop, wards=[W[0], W[1]])
    assert "A" not in gone.neighbourhood_to_locality
    held = tiny_grouping.assign_practices(["P00001"], "A")
    with pytest.raises(InvalidGroupingError, match="P00001"):
        assign_units(held, "C", lw, pop, wards=[W[0], W[1]])
    with pytest.raises(InvalidGroupingError, match="unknown"):
        assign_units(tiny_grouping, "A", lw, pop, lsoas=["E09999999"])


def test_relabel_round_trips_through_json(tiny_place, tiny_grouping, lw, pop):
    labels = lsoa_neighbourhoods(tiny_grouping, lw)
    labels[["E01000003", "E01000009"]] = ["B", "A"]
    g = relabel(tiny_grouping, labels, lw, pop)
    assert lsoa_neighbourhoods(g, lw).equals(labels)
    again = grouping_from_text(grouping_to_json(g), fmt="json", wards=list(tiny_place.wards.index), lsoas=list(tiny_place.lsoas.index))
    assert again.lsoa_to_neighbourhood == g.lsoa_to_neighbourhood


def test_moved_units_counts_lsoas_when_either_plan_has_them(tiny_grouping, lw, pop):
    m = moved_units(tiny_grouping, tiny_grouping.move(W[1], "B"), lw)
    assert m["kind"].tolist() == ["ward"] and m["code"].tolist() == [W[1]]
    g = assign_units(tiny_grouping, "B", lw, pop, lsoas=["E01000003"])
    m = moved_units(tiny_grouping, g, lw)
    assert m.to_dict("records") == [{"code": "E01000003", "kind": "lsoa", "ward": W[1], "in_a": "A", "in_b": "B"}]
    assert moved_units(g, tiny_grouping, lw)["in_b"].tolist() == ["A"]


def test_neighbourhood_areas_dissolve_wards_or_lsoas(tiny_place, tiny_grouping, lw, pop):
    wards_areas = neighbourhood_areas(tiny_grouping, tiny_place.wards)
    assert list(wards_areas.index) == ["A", "B", "C"] and wards_areas.loc["A", "locality"] == "West"
    assert wards_areas.area.round().tolist() == [2e6, 2e6, 2e6]
    g = assign_units(tiny_grouping, "B", lw, pop, lsoas=["E01000003"])
    with pytest.raises(InvalidGroupingError, match="LSOAs"):
        neighbourhood_areas(g, tiny_place.wards)
    areas = neighbourhood_areas(g, tiny_place.wards, tiny_place.lsoas, lw)
    assert areas.area.round().tolist() == [1.5e6, 2.5e6, 2e6]
    assert pd.Series(areas.area).sum().round() == 6e6


def test_label_parts_count_pieces_over_lsoas(tiny_place, tiny_grouping, lw, pop):
    from boundaries.grouping import ward_adjacency
    from boundaries.lsoa_plans import label_parts

    adj = ward_adjacency(tiny_place.lsoas)
    labels = lsoa_neighbourhoods(tiny_grouping, lw)
    assert {n: len(p) for n, p in label_parts(labels, adj).items()} == {"A": 1, "B": 1, "C": 1}
    labels["E01000001"] = "C"  # the west half of W1 touches W4's west LSOA above it (C)
    labels["E01000006"] = "A"  # the east half of W3 touches no LSOA of A
    parts = label_parts(labels, adj)
    assert [len(p) for p in parts["C"]] == [5] and sorted(map(len, parts["A"])) == [1, 3]


def test_plan_of_lsoas_exports_from_its_lsoas_and_ward_counts_refuse_it(tiny_place, tiny_grouping, lw, pop):
    from boundaries.assets import asset_table
    from boundaries.flows import compute_flows, flow_base_from_place
    from boundaries.plan_export import plan_layers
    from boundaries.population import population_table
    from boundaries.profiles import profile

    g = assign_units(tiny_grouping, "B", lw, pop, lsoas=["E01000003"])
    plan = plan_layers(tiny_place, g, generated="2026-01-01T00:00:00Z")
    nbs = plan.layers["neighbourhoods"].set_index("name")
    assert nbs.area.round().to_dict() == {"A": 1.5e6, "B": 2.5e6, "C": 2e6}  # dissolved from the LSOAs
    want = compute_flows(flow_base_from_place(tiny_place, units="lsoa"), g).neighbourhoods
    assert (nbs["res_cont"] - want["resident_containment"].reindex(nbs.index)).abs().max() < 1e-9
    assert nbs.loc["B", "pop15"] == pop[labels_of(g, lw) == "B"].sum()  # residents of its LSOAs
    assert "dissolved from the LSOAs" in plan.descriptions["neighbourhoods"]
    pr = profile(tiny_place, g).query("level == 'neighbourhood'").set_index("name")
    assert pr.loc["B", "lsoa_codes"] == ["E01000003", "E01000005", "E01000006", "E01000011", "E01000012"]
    assert pr.loc["B", "wards"] == ["E05900002", "E05900003", "E05900006"] and pr.loc["A", "practices"] == 1
    for table in (population_table, asset_table):
        with pytest.raises(InvalidGroupingError, match="built from LSOAs"):
            table(tiny_place, g)


def labels_of(g, lw):
    return lsoa_neighbourhoods(g, lw)


def test_a_renamed_neighbourhood_is_not_a_move(tiny_grouping, lw):
    """B renames neighbourhood A (all its wards to a new name) and moves one more ward into it: only that ward moved."""
    a_wards = [w for w, n in tiny_grouping.ward_to_neighbourhood.items() if n == "A"]
    extra = next(w for w, n in tiny_grouping.ward_to_neighbourhood.items() if n != "A")
    b = tiny_grouping.assign_wards([*a_wards, extra], "North", locality=tiny_grouping.neighbourhood_to_locality["A"])
    m = moved_units(tiny_grouping, b, lw)
    assert m.attrs["renamed"] == {"A": "North"} and m["code"].tolist() == [extra] and m["in_b"].tolist() == ["North"]
    # a neighbourhood B drops whose units scatter has no counterpart: its units moved
    labels_a = pd.Series({"w1": "X", "w2": "X", "w3": "X", "w4": "Y"})
    assert renamed_neighbourhoods(labels_a, pd.Series({"w1": "P", "w2": "P", "w3": "Q", "w4": "Y"})) == {"X": "P"}
    assert renamed_neighbourhoods(labels_a, pd.Series({"w1": "P", "w2": "Q", "w3": "R", "w4": "Y"})) == {}
    assert renamed_neighbourhoods(labels_a, labels_a) == {}
