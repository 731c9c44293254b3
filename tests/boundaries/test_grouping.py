"""Groupings: file round trips, every problem listed at once, soft checks, vintage translation."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries.grouping import (
    Grouping,
    grouping_from_text,
    grouping_to_csv,
    grouping_to_json,
    neighbourhood_parts,
    read_grouping,
    soft_checks,
    translate_grouping,
    ward_adjacency,
    write_grouping,
)
from placekit.errors import InvalidGroupingError, ScenarioFileError

WARDS = [f"E0590000{i}" for i in range(1, 7)]

names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=20).map(str.strip).filter(bool)


@st.composite
def groupings(draw):
    n = draw(st.integers(1, 6))
    nbs = draw(st.lists(names, min_size=n, max_size=n, unique=True))
    locs = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    assign = [draw(st.sampled_from(nbs)) for _ in WARDS]
    used = list(dict.fromkeys(assign))
    n2l = {nb: draw(st.sampled_from(locs)) for nb in used}
    meta = draw(st.dictionaries(st.sampled_from(["author", "note"]), names, max_size=2))
    return Grouping(dict(zip(WARDS, assign, strict=True)), n2l, name=draw(names), ward_set="2004-2018", meta=meta)


@settings(max_examples=60, deadline=None)
@given(groupings())
def test_csv_and_json_round_trips_are_lossless(g):
    for fmt, text in (("csv", grouping_to_csv(g)), ("json", grouping_to_json(g))):
        back = grouping_from_text(text, fmt=fmt, wards=WARDS)
        assert back == g, fmt


def test_every_problem_is_listed_at_once():
    text = (
        "ward_code,neighbourhood,locality\n"
        "E05900001,A,West\n"
        "E05900001,B,West\n"  # ward in two neighbourhoods
        "E05900002,C,West\n"
        "E05900003,C,East\n"  # neighbourhood in two localities
        "E05999999,A,West\n"  # unknown ward
        ",D,East\n"  # empty neighbourhood
    )  # E05900004-6 missing
    with pytest.raises(InvalidGroupingError) as err:
        grouping_from_text(text, fmt="csv", wards=WARDS)
    problems = err.value.problems
    assert any("E05900001 is in 2 neighbourhoods" in p for p in problems)
    assert any("'C' is in 2 localities" in p for p in problems)
    assert any("unknown ward" in p and "E05999999" in p for p in problems)
    assert any("missing" in p and "E05900004" in p and "E05900006" in p for p in problems)
    assert any("'D' is empty" in p for p in problems)
    assert len(problems) == 5


@pytest.mark.parametrize(
    ("text", "fmt", "match"),
    [
        ("{not json", "json", "not valid JSON"),
        ('{"neighbourhoods": []}', "json", '"neighbourhoods" object'),
        ("ward,nb\nE05900001,A\n", "csv", "needs columns ward_code, neighbourhood, locality"),
        ("x", "xlsx", "not supported"),
    ],
)
def test_corrupt_files_get_a_clear_error(text, fmt, match):
    with pytest.raises(ScenarioFileError, match=match):
        grouping_from_text(text, fmt=fmt, wards=WARDS)


def test_oversized_file_refused():
    with pytest.raises(ScenarioFileError, match="larger than"):
        grouping_from_text("x" * 2_000_001, fmt="csv")


def test_write_is_atomic_and_keeps_old_file_on_bad_name(tmp_path, tiny_grouping):
    p = write_grouping(tiny_grouping, tmp_path / "g.json")
    assert read_grouping(p, wards=WARDS) == tiny_grouping
    with pytest.raises(ScenarioFileError):
        write_grouping(tiny_grouping, tmp_path / "g.txt")
    assert not (tmp_path / "g.txt").exists()


def test_move_and_new_neighbourhood(tiny_grouping):
    g = tiny_grouping.move("E05900001", "B")
    assert g.ward_to_neighbourhood["E05900001"] == "B"
    with pytest.raises(InvalidGroupingError, match="give the locality"):
        tiny_grouping.move("E05900001", "Z")
    g2 = tiny_grouping.move("E05900001", "Z", locality="North").move("E05900002", "Z")
    assert "A" not in g2.neighbourhoods and g2.neighbourhood_to_locality["Z"] == "North"


def test_soft_checks_band_contiguity_counts(tiny_place, tiny_grouping):
    adj = ward_adjacency(tiny_place.wards)
    assert len(adj) == 7  # 3x2 grid of squares: 7 shared edges; corner-only contacts do not count
    wp = tiny_place.population.groupby(tiny_place.lsoa_ward["ward_code"])["population"].sum()
    findings = soft_checks(tiny_grouping, wp, adj, band=(4300, 5000))  # A 4,200 and C 4,000 fall below
    assert any("counts: 3:2:1" in f for f in findings)
    assert sorted(f.split(" has")[0] for f in findings if f.startswith("population")) == ["population: A", "population: C"]
    # Wards 1 (SW corner) and 6 (NE corner) do not share an edge: a neighbourhood of the two is in 2 parts.
    split = tiny_grouping.move("E05900006", "A")
    parts = neighbourhood_parts(split, adj)
    assert sorted(map(sorted, parts["A"])) == [["E05900001", "E05900002"], ["E05900006"]]


def test_translate_grouping_reports_splits():
    old = pd.Series({"L1": "O1", "L2": "O1", "L3": "O2", "L4": "O2"})
    new = pd.Series({"L1": "N1", "L2": "N2", "L3": "N2", "L4": "N3"})
    pop = pd.Series({"L1": 100, "L2": 300, "L3": 200, "L4": 50})
    g = Grouping({"O1": "A", "O2": "B"}, {"A": "North", "B": "South"}, name="old", ward_set="old")
    ng, rep = translate_grouping(g, old, new, pop, new_ward_set="new")
    assert ng.ward_to_neighbourhood == {"N1": "A", "N2": "A", "N3": "B"}  # N2: 300 from A beats 200 from B
    split = rep[rep["split"]]
    assert set(split["new_ward"]) == {"N2"}
    assert split.set_index("from_neighbourhood")["share"].round(2).to_dict() == {"A": 0.6, "B": 0.4}
    assert rep["residents"].sum() == pop.sum()


def test_json_layout_is_readable(tiny_grouping):
    doc = json.loads(grouping_to_json(tiny_grouping, {"E05900001": "Ward 1"}))
    assert doc["neighbourhoods"]["A"]["wards"] == ["E05900001", "E05900002"]
    assert doc["neighbourhoods"]["A"]["ward_names"][0] == "Ward 1"
