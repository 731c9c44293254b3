"""Groupings: file round trips, every problem listed at once, soft checks, vintage translation."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries.flows import compute_flows, flow_base_from_place
from boundaries.grouping import (
    PRACTICE_RULES,
    Grouping,
    grouping_from_records,
    grouping_from_text,
    grouping_to_csv,
    grouping_to_json,
    neighbourhood_parts,
    practice_problems,
    practice_roll,
    read_grouping,
    soft_checks,
    translate_grouping,
    ward_adjacency,
    write_grouping,
)
from boundaries.membership import practice_neighbourhoods
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
    codes = draw(st.lists(st.from_regex(r"[A-Z][0-9]{5}", fullmatch=True), max_size=5, unique=True))
    practices = {p: draw(st.sampled_from(used)) for p in codes}
    rule = draw(st.sampled_from(list(PRACTICE_RULES)))
    return Grouping(dict(zip(WARDS, assign, strict=True)), n2l, name=draw(names), ward_set="2004-2018", meta=meta,
                    practice_rule=rule, practice_to_neighbourhood=practices)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(groupings())
def test_csv_and_json_round_trips_are_lossless(g):
    named = {p: f"Practice, {p}" for p in g.practice_to_neighbourhood}  # a comma in a name must survive the CSV
    for fmt, text in (("csv", grouping_to_csv(g, practice_names=named)), ("json", grouping_to_json(g))):
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


# --------------------------------------------------------------------------- practices
def _roll_place(tiny_place):
    """The tiny place plus a closed practice in ward 1 that holds no patients."""
    pr = tiny_place.practices
    closed = pr.loc[["P00001"]].rename(index={"P00001": "P00004"}).assign(status="C", close_date=pd.Timestamp("2021-03-31"))
    closed["practice_name"] = "P closed"
    return tiny_place.replace(practices=pd.concat([pr, closed]))


def test_practice_roll_says_who_can_be_assigned(tiny_place):
    roll = practice_roll(_roll_place(tiny_place))
    assert roll["status"].to_dict() == {
        "P00001": "in place",
        "P00002": "in place",
        "P00003": "in place",
        "P00099": "outside",
        "P00004": "closed",
    }
    assert "closed 2021-03-31" in roll.at["P00004", "detail"]


def test_every_bad_practice_assignment_is_listed_with_its_fix(tiny_place, tiny_grouping):
    roll = practice_roll(_roll_place(tiny_place))
    text = grouping_to_csv(tiny_grouping) + (
        "\npractice_code,practice_name,neighbourhood\n"
        "P00001,P one,A\n"
        "P00001,P one,B\n"  # in two neighbourhoods
        "P12345,,A\n"  # unknown code
        "P00004,P closed,B\n"  # closed
        "P00099,P out,C\n"  # outside the place
        "P00002,P two,Z\n"  # a neighbourhood with no ward
    )
    with pytest.raises(InvalidGroupingError) as err:
        grouping_from_text(text, fmt="csv", wards=WARDS, roll=roll, source="grouping file g.csv")
    problems = err.value.problems
    assert str(err.value).startswith("grouping file g.csv has 5 problem(s)")  # the file, then each code with its fix
    assert any("P00001 is in 2 neighbourhoods" in p and "keep one" in p for p in problems)
    assert any("P00002" in p and "'Z', which has no ward" in p for p in problems)
    assert any("P12345" in p and "not a practice known to Tiny" in p and "check the code" in p for p in problems)
    assert any("P00004 P closed" in p and "is closed" in p and "remove it" in p for p in problems)
    assert any("P00099 P out" in p and "outside Tiny" in p and "remove it" in p for p in problems)
    assert len(problems) == 5
    text = text.replace("P00001,P one,B\n", "").replace("P00002,P two,Z\n", "")
    ok = grouping_from_text(text.replace("P12345,,A\n", "").replace("P00004,P closed,B\n", "").replace("P00099,P out,C\n", ""),
                            fmt="csv", wards=WARDS, roll=roll)  # fmt: skip
    assert ok.practice_to_neighbourhood == {"P00001": "A"} and practice_problems(ok, roll) == []


def test_json_practices_and_rule(tiny_grouping):
    g = tiny_grouping.with_practice_rule("pcn").assign_practices(["P00002"], "A")
    doc = json.loads(grouping_to_json(g))
    assert doc["practice_rule"] == "pcn" and doc["neighbourhoods"]["A"]["practices"] == ["P00002"]
    assert "practices" not in doc["neighbourhoods"]["B"]  # unlisted practices follow the rule
    doc["practice_rule"] = "nearest"
    with pytest.raises(InvalidGroupingError, match="'nearest' is not a rule"):
        grouping_from_text(json.dumps(doc), fmt="json", wards=WARDS)


def test_practice_edits(tiny_grouping):
    g = tiny_grouping.assign_practices(["P00001", "P00003"], "C")
    assert g.practice_to_neighbourhood == {"P00001": "C", "P00003": "C"} and tiny_grouping.practice_to_neighbourhood == {}
    assert g.release_practices(["P00001"]).practice_to_neighbourhood == {"P00003": "C"}
    with pytest.raises(InvalidGroupingError, match="not in this grouping"):
        g.assign_practices(["P00001"], "Nowhere")
    # Emptying a neighbourhood that holds practices is refused, with the way out.
    with pytest.raises(InvalidGroupingError, match="assign or release those practices first"):
        g.move("E05900004", "A").move("E05900005", "A")
    assert g.release_practices(["P00001", "P00003"]).assign_wards(["E05900004", "E05900005"], "A").neighbourhoods == ["A", "B"]
    with pytest.raises(InvalidGroupingError, match="which has no ward"):
        Grouping(tiny_grouping.ward_to_neighbourhood, tiny_grouping.neighbourhood_to_locality, practice_to_neighbourhood={"P00001": "Q"})
    with pytest.raises(InvalidGroupingError, match="no practice code"):
        grouping_from_records([("E05900001", "A", "L")], practices=[("", "A")])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"meta": [1], "neighbourhoods": {}}', '"meta" must be an object'),
        ('{"meta": {"a": {"b": 1}}, "neighbourhoods": {}}', '"meta" must be an object'),
        ("[" * 100_000 + "]" * 100_000, "nests JSON too deeply"),
        ('{"name": 3, "neighbourhoods": {}}', '"name" must be a text string'),
        ('{"neighbourhoods": {"A": {"locality": "L", "wards": [{"x": 1}]}}}', '"wards" must be a list of codes'),
        ('{"neighbourhoods": {"A": {"locality": "L", "wards": ["E05900001"], "practices": "P1"}}}', '"practices" must be a list of codes'),
        ('{"neighbourhoods": {"A": {"locality": ["L"], "wards": []}}}', '"locality" must be a text string'),
    ],
)
def test_malformed_json_gets_a_clear_error(text, match):
    with pytest.raises(ScenarioFileError, match=match):
        grouping_from_text(text, fmt="json", wards=WARDS)


def test_folder_given_as_grouping_file(tmp_path):
    (tmp_path / "g.json").mkdir()
    with pytest.raises(ScenarioFileError, match="is a folder, not a file"):
        read_grouping(tmp_path / "g.json", wards=WARDS)


def test_csv_practice_table_needs_its_columns(tiny_grouping):
    text = grouping_to_csv(tiny_grouping) + "\npractice_code,team\nP00001,A\n"
    with pytest.raises(ScenarioFileError, match="practice table needs columns practice_code, neighbourhood"):
        grouping_from_text(text, fmt="csv", wards=WARDS)


def test_soft_checks_on_both_bases(tiny_place, tiny_grouping):
    wp = tiny_place.population.groupby(tiny_place.lsoa_ward["ward_code"])["population"].sum()
    lists = pd.Series({"A": 100, "B": 4500, "C": 9000})
    findings = soft_checks(tiny_grouping, wp, band=(4300, 5000), registered_lists=lists, population_base="residents (mid-2015)",
                           list_base="registered patients (July 2022)")  # fmt: skip
    assert "population: A has 4,200 residents (mid-2015), outside 4,300–5,000" in findings
    assert "registered list: A has 100 registered patients (July 2022), outside 4,300–5,000" in findings
    assert "registered list: C has 9,000 registered patients (July 2022), outside 4,300–5,000" in findings
    assert not any(f.startswith("registered list: B") for f in findings)


def test_translate_keeps_practices():
    old = pd.Series({"L1": "O1", "L2": "O2"})
    new = pd.Series({"L1": "N1", "L2": "N1"})
    pop = pd.Series({"L1": 100, "L2": 50})
    g = Grouping(
        {"O1": "A", "O2": "B"}, {"A": "North", "B": "South"}, practice_rule="patients", practice_to_neighbourhood={"P1": "A", "P2": "B"}
    )
    ng, _ = translate_grouping(g, old, new, pop, new_ward_set="new")
    assert ng.practice_rule == "patients" and ng.practice_to_neighbourhood == {"P1": "A"} and ng.meta["practices_released"] == "P2"


# --------------------------------------------------------------------------- plans built from LSOAs
def test_lsoa_assignments_round_trip_and_are_checked(tiny_place, tiny_grouping):
    """A neighbourhood can list LSOAs (overriding their ward's); CSV and JSON keep them; every problem is listed at once."""
    g = tiny_grouping.assign_lsoas(["E01000003"], "A").assign_lsoas(["E01000004"], "B")
    assert g.units == "lsoa" and g.lsoas.to_dict() == {"E01000003": "A", "E01000004": "B"}
    wards, lsoas = list(tiny_place.wards.index), list(tiny_place.lsoas.index)
    for text, fmt in ((grouping_to_json(g), "json"), (grouping_to_csv(g), "csv")):
        assert grouping_from_text(text, fmt=fmt, wards=wards, lsoas=lsoas) == g
    assert "lsoa_code,lsoa_name,neighbourhood" in grouping_to_csv(g)
    # a neighbourhood made only of LSOAs is a neighbourhood
    only = json.dumps({"neighbourhoods": {"A": {"locality": "W", "wards": wards}, "Z": {"locality": "W", "lsoas": ["E01000001"]}}})
    assert grouping_from_text(only, fmt="json", wards=wards, lsoas=lsoas).neighbourhoods == ["A", "Z"]
    bad = ('{"neighbourhoods": {"A": {"locality": "W", "wards": ["E05900001", "E05900002", "E05900003", "E05900004", "E05900005", '
           '"E05900006"], "lsoas": ["E01000001", "E09999999"]}, "B": {"locality": "W", "lsoas": ["E01000001"]}}}')  # fmt: skip
    with pytest.raises(InvalidGroupingError) as info:
        grouping_from_text(bad, fmt="json", wards=wards, lsoas=lsoas)
    text = str(info.value)
    assert "LSOA E01000001 is in 2 neighbourhoods" in text and "unknown LSOA(s)" in text and "E09999999" in text
    with pytest.raises(InvalidGroupingError, match="not in the grouping"):
        grouping_from_text(grouping_to_csv(g).replace("E01000004,,B", "E01000004,,Nowhere"), fmt="csv", wards=wards)
    assert g.release_lsoas().units == "ward" and g.release_lsoas(["E01000004"]).lsoa_to_neighbourhood == {"E01000003": "A"}


def test_flows_of_a_plan_of_lsoas(tiny_place, tiny_grouping):
    """Figures of a plan of LSOAs come from the base over LSOAs: residents by LSOA, practices by the LSOA of their premises."""
    g = tiny_grouping.assign_lsoas(["E01000001"], "C")  # ward 1's west LSOA, where practice P00001 stands, joins C
    base = flow_base_from_place(tiny_place, units="lsoa")
    assert base.units == "lsoa" and base.n_wards == 12
    f = compute_flows(base, g)
    assert practice_neighbourhoods(tiny_place, g)["P00001"] == "C"
    reg = tiny_place.registrations
    lsoa_nb = tiny_place.lsoa_ward_code.map(g.ward_to_neighbourhood).where(~tiny_place.lsoas.index.isin(["E01000001"]), "C")
    home = reg["lsoa_code"].map(lsoa_nb)
    team = reg["practice_code"].map({"P00001": "C", "P00002": g.ward_to_neighbourhood["E05900005"], "P00003": "B"})
    contained = reg["patients"][home.notna() & (home == team)].groupby(home).sum()
    assert f.neighbourhoods["contained"].to_dict() == contained.reindex(f.units).fillna(0).astype(int).to_dict()
    with pytest.raises(InvalidGroupingError, match="measure it on the place's LSOAs"):
        compute_flows(flow_base_from_place(tiny_place), g)
