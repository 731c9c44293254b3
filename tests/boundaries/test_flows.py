"""Flows: both containment measures by hand, invariants under any grouping and practice assignment, real-data figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boundaries.flows import (
    OUTSIDE,
    UNKNOWN,
    aggregate_registrations,
    area_containment,
    compute_flows,
    flow_base,
    flow_base_from_place,
    flow_matrix,
    flows_by,
    straddling_practices,
    who_crosses,
)
from boundaries.grouping import Grouping, baseline_grouping
from boundaries.membership import practice_membership, practice_neighbourhoods
from placekit.errors import InvalidGroupingError, PlacekitError

WARDS = [f"E0590000{i}" for i in range(1, 7)]
CITY_PRACTICES = ["P00001", "P00002", "P00003"]


def _involving_place(place) -> int:
    reg = place.registrations
    in_place = reg["lsoa_code"].isin(place.lsoas.index) | reg["practice_code"].isin(
        place.practices.index[place.practices["ward_code"].notna()]
    )
    return int(reg.loc[in_place, "patients"].sum())


# --------------------------------------------------------------------------- by hand
@pytest.fixture
def hand_base():
    """Two wards, one LSOA each; P1 in W1, P2 in W2 (one PCN), PX outside; numbers small enough to check by hand."""
    reg = pd.DataFrame(
        [("P1", "L1", 60), ("P1", "L2", 20), ("P1", "E01999999", 10), ("P1", "NO2011", 5), ("P2", "L1", 10), ("P2", "L2", 50), ("PX", "L1", 30),
         ("PX", "E01888888", 999)],
        columns=["practice_code", "lsoa_code", "patients"],
    )  # fmt: skip
    info = pd.DataFrame({"pcn_code": ["K1", "K1"], "practice_name": ["One", "Two"]}, index=["P1", "P2"])
    return flow_base(reg, pd.Series({"L1": "W1", "L2": "W2"}), pd.Series({"P1": "W1", "P2": "W2"}), wards=pd.Index(["W1", "W2"]),
                     practice_info=info, ward_population=pd.Series({"W1": 120, "W2": 80}))  # fmt: skip


HAND = Grouping({"W1": "N1", "W2": "N2"}, {"N1": "L", "N2": "L"}, name="hand")


def test_both_measures_by_hand(hand_base):
    f = compute_flows(hand_base, HAND)
    nb = f.neighbourhoods
    # N1: residents of W1 registered anywhere 60 + 10 + 30 = 100, of whom 60 with P1; P1's list 60 + 20 + 10 + 5 = 95.
    assert nb.loc["N1", ["residents_registered", "registered_list", "contained"]].tolist() == [100, 95, 60]
    assert nb.loc["N1", "resident_containment"] == pytest.approx(0.6)
    assert nb.loc["N1", "list_containment"] == pytest.approx(60 / 95)  # patients outside the city stay in the denominator
    # N2: residents 20 + 50 = 70, 50 with P2; P2's list 10 + 50 = 60.
    assert nb.loc["N2", "resident_containment"] == pytest.approx(50 / 70) and nb.loc["N2", "list_containment"] == pytest.approx(50 / 60)
    assert nb.loc["N1", ["residents_outside_city", "list_outside_city", "list_residence_unknown"]].tolist() == [30, 10, 5]
    assert nb["population"].tolist() == [120, 80] and nb.loc["N1", "practices"] == ["P1"]
    assert f.minimum("list_containment") == pytest.approx(60 / 95) and f.mean("list_containment") == pytest.approx(110 / 155)
    assert f.mean("resident_containment") == pytest.approx(110 / 170)
    assert hand_base.dropped == {"registrations of neither a resident nor a practice of the place": 999}


def test_practice_move_by_hand(hand_base):
    f = compute_flows(hand_base, HAND.assign_practices(["P2"], "N1"))
    nb = f.neighbourhoods
    assert nb.loc["N1", "resident_containment"] == pytest.approx(0.7) and nb.loc["N1", "list_containment"] == pytest.approx(70 / 155)
    assert nb.loc["N2", "resident_containment"] == 0 and np.isnan(nb.loc["N2", "list_containment"])  # a team with no practice
    assert nb.loc["N1", "practices"] == ["P1", "P2"] and nb.loc["N2", "n_practices"] == 0


def test_rules_by_hand(hand_base):
    # pcn: P1 and P2 share PCN K1 with one premises in each neighbourhood; the larger list (P1, 95) breaks the tie.
    assert practice_neighbourhoods(hand_base, HAND.with_practice_rule("pcn"))[["P1", "P2"]].tolist() == ["N1", "N1"]
    pn = practice_neighbourhoods(hand_base, HAND, practice_by="pcn")
    assert pn[["P1", "P2"]].tolist() == ["N1", "N1"] and pd.isna(pn["PX"]) and pn.attrs["practice_by"] == "pcn"
    # patients: P2 has 10 patients in N1 and 50 in N2.
    assert practice_neighbourhoods(hand_base, HAND, practice_by="patients")[["P1", "P2"]].tolist() == ["N1", "N2"]
    # An explicit assignment overrides any rule.
    g = HAND.with_practice_rule("pcn").assign_practices(["P2"], "N2")
    assert practice_neighbourhoods(hand_base, g)[["P1", "P2"]].tolist() == ["N1", "N2"]
    m = practice_membership(hand_base, g)
    assert m["decided_by"].to_dict() == {"P1": "pcn", "P2": "explicit"} and m.loc["P2", "premises_neighbourhood"] == "N2"


# --------------------------------------------------------------------------- invariants
@st.composite
def grouping_and_assignments(draw):
    idx = draw(st.lists(st.integers(0, 3), min_size=6, max_size=6))
    nbs = sorted({f"N{i}" for i in idx})
    g = Grouping(
        {w: f"N{i}" for w, i in zip(WARDS, idx, strict=True)},
        {n: "L" for n in nbs},
        practice_rule=draw(st.sampled_from(["premises", "patients"])),
    )
    explicit = draw(st.dictionaries(st.sampled_from(CITY_PRACTICES), st.sampled_from(nbs), max_size=3))
    for p, n in explicit.items():
        g = g.assign_practices([p], n)
    return g


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(grouping_and_assignments())
def test_every_patient_counted_once_under_any_grouping_and_assignment(tiny_place, g):
    base = flow_base_from_place(tiny_place)
    f = compute_flows(base, g)
    assert f.matrix.to_numpy().sum() == _involving_place(tiny_place) == base.total
    nb = f.neighbourhoods
    assert nb["residents_registered"].sum() + f.matrix.loc[[OUTSIDE, UNKNOWN]].to_numpy().sum() == base.total
    city_lists = tiny_place.registrations.query("practice_code in @CITY_PRACTICES")["patients"].sum()
    assert nb["registered_list"].sum() == city_lists  # every patient of a city practice is on exactly one team's list
    assert sorted(sum(nb["practices"], [])) == CITY_PRACTICES  # every practice in exactly one team
    for m in ("resident_containment", "list_containment"):
        assert ((nb[m].dropna() >= 0) & (nb[m].dropna() <= 1)).all()
    city = f.boundary.loc["City"]
    assert city["residents_registered"] == nb["residents_registered"].sum() and city["gp_registered"] == nb["registered_list"].sum()
    crossing = who_crosses(f).groupby(["neighbourhood", "direction"])["patients"].sum().unstack()
    assert (crossing["list by residence"].reindex(nb.index).fillna(0) == nb["registered_list"]).all()
    assert (crossing["residents by practice"].reindex(nb.index).fillna(0) == nb["residents_registered"]).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(grouping_and_assignments(), st.sampled_from(CITY_PRACTICES), st.integers(0, 3))
def test_moving_a_practice_changes_only_the_two_neighbourhoods(tiny_place, g, practice, k):
    base = flow_base_from_place(tiny_place)
    before = compute_flows(base, g)
    src = practice_neighbourhoods(base, g)[practice]
    dst = g.neighbourhoods[k % len(g.neighbourhoods)]
    after = compute_flows(base, g.assign_practices([practice], dst))
    cols = ["residents_registered", "registered_list", "contained", "resident_containment", "list_containment", "population"]
    same = before.neighbourhoods[cols].drop(index=[src, dst]).compare(after.neighbourhoods[cols].drop(index=[src, dst]))
    assert same.empty
    assert (before.neighbourhoods["residents_registered"] == after.neighbourhoods["residents_registered"]).all()  # residents stay put
    moved = before.neighbourhoods["registered_list"] - after.neighbourhoods["registered_list"]
    assert moved.get(src, 0) == -moved.get(dst, 0) or src == dst


def test_one_neighbourhood_city_contains_all_its_own_patients(tiny_place):
    g = Grouping({w: "All" for w in WARDS}, {"All": "City"})
    f = compute_flows(flow_base_from_place(tiny_place), g)
    nb = f.neighbourhoods.loc["All"]
    # Both measures are 1 for the city's own patients: the only patients not contained live or are registered outside it.
    assert nb["contained"] == nb["residents_registered"] - nb["residents_outside_city"]
    assert nb["contained"] == nb["registered_list"] - nb["list_outside_city"] - nb["list_residence_unknown"]
    off = f.matrix.drop(index="All", columns="All")
    assert set(off.index) == {OUTSIDE, UNKNOWN} and list(off.columns) == [OUTSIDE]


def test_identity_grouping_reproduces_ward_level_flows(tiny_place):
    g = Grouping({w: w for w in WARDS}, {w: "L" for w in WARDS})
    m = flow_matrix(flow_base_from_place(tiny_place), g)
    reg = tiny_place.registrations.copy()
    reg["res"] = reg["lsoa_code"].map(tiny_place.lsoa_ward["ward_code"])
    reg["prac"] = reg["practice_code"].map(tiny_place.practices["ward_code"])
    direct = reg.dropna(subset=["res", "prac"]).pivot_table(index="res", columns="prac", values="patients", aggfunc="sum", fill_value=0)
    for r in direct.index:
        for c in direct.columns:
            assert m.loc[r, c] == direct.loc[r, c]


def test_matrix_by_hand(tiny_place, tiny_grouping):
    base = flow_base_from_place(tiny_place)
    m = flow_matrix(base, tiny_grouping)
    reg = tiny_place.registrations
    a_lsoas = ["E0100" + f"{k:04d}" for k in range(1, 5)]  # wards 1, 2 = neighbourhood A; P00001 stands in ward 1
    assert m.loc["A", "A"] == reg[(reg.practice_code == "P00001") & reg.lsoa_code.isin(a_lsoas)]["patients"].sum()
    assert m[OUTSIDE].sum() == reg[(reg.practice_code == "P00099") & reg.lsoa_code.isin(tiny_place.lsoas.index)]["patients"].sum()
    assert m.loc[UNKNOWN].sum() == 7 and m.loc[OUTSIDE].sum() == 55 + 3
    assert m.attrs["practice_by"] == "premises"
    assert base.outside_lad.to_dict() == {"elsewhere in England": 55, "Wales": 3}


def test_straddling_practices_split(tiny_place, tiny_grouping):
    base = flow_base_from_place(tiny_place)
    loc = straddling_practices(compute_flows(base, tiny_grouping))
    pat = straddling_practices(compute_flows(base, tiny_grouping, practice_by="patients"))
    assert (pat["own_share"] >= pat["second_share"] - 1e-12).all()  # by patients a practice sits where most of its city patients live
    assert set(loc.index) == set(pat.index) == set(CITY_PRACTICES)
    assert (loc["in_own"] + loc["in_other_neighbourhoods"] + loc["outside_city"] + loc["unknown"] == loc["list"]).all()


def test_pcn_rule_needs_the_map_and_uses_it(tiny_place, tiny_grouping):
    with pytest.raises(PlacekitError, match="needs the practice→PCN map"):
        compute_flows(flow_base_from_place(tiny_place), tiny_grouping, practice_by="pcn")
    pcn = pd.DataFrame({"practice_name": "", "pcn_code": ["K1", "K1", "K1"], "pcn_name": "", "ccg_code": "", "ccg_name": "NHS Tiny CCG"},
                       index=pd.Index(CITY_PRACTICES, name="practice_code"))  # fmt: skip
    place = tiny_place.replace(pcn_map=pcn)
    nb = practice_neighbourhoods(place, tiny_grouping, practice_by="pcn")
    # Premises: P00001 in A, P00002 in C, P00003 in B: a three-way tie, broken by the largest list.
    lists = tiny_place.registrations.groupby("practice_code")["patients"].sum()
    home = {"P00001": "A", "P00002": "C", "P00003": "B"}[lists[CITY_PRACTICES].idxmax()]
    assert set(nb[CITY_PRACTICES]) == {home}


def test_bad_inputs(tiny_place, tiny_grouping):
    base = flow_base_from_place(tiny_place)
    with pytest.raises(InvalidGroupingError, match="missing"):
        flow_matrix(base, Grouping({WARDS[0]: "A"}, {"A": "L"}))
    with pytest.raises(PlacekitError, match="practice_by"):
        flow_matrix(base, tiny_grouping, practice_by="location")
    with pytest.raises(PlacekitError, match="need columns"):
        flow_base(
            tiny_place.registrations.drop(columns="patients"),
            tiny_place.lsoa_ward["ward_code"],
            pd.Series(dtype=object),
            wards=tiny_place.wards.index,
        )
    with pytest.raises(PlacekitError, match="not wards of the place"):
        flow_base(
            tiny_place.registrations, tiny_place.lsoa_ward["ward_code"], pd.Series({"P00001": "E05000687"}), wards=tiny_place.wards.index
        )
    with pytest.raises(PlacekitError, match="male/female"):
        flows_by(tiny_place, tiny_grouping)
    with pytest.raises(PlacekitError, match="measure"):
        compute_flows(base, tiny_grouping).measure("self_containment")


def test_assigning_a_practice_that_is_not_the_places_is_refused_at_use(tiny_place, tiny_grouping):
    g = tiny_grouping.assign_practices(["P00099", "P77777"], "A")
    with pytest.raises(InvalidGroupingError) as err:
        compute_flows(flow_base_from_place(tiny_place), g)
    assert len(err.value.problems) == 2
    assert any("P00099" in p and "outside Tiny" in p for p in err.value.problems)
    assert any("P77777" in p and "not a practice known to Tiny" in p for p in err.value.problems)


def test_flows_by_sex(tiny_place, tiny_grouping):
    reg = tiny_place.registrations
    split = pd.concat(
        [reg.assign(sex="MALE", patients=reg.patients // 2), reg.assign(sex="FEMALE", patients=reg.patients - reg.patients // 2)]
    )
    place = tiny_place.replace(registrations=split)
    out = flows_by(place, tiny_grouping)
    assert set(out["sex"]) == {"FEMALE", "MALE"}
    total = compute_flows(flow_base_from_place(place), tiny_grouping).neighbourhoods["residents_registered"].sum()
    assert out["residents_registered"].sum() == total


def test_base_is_built_once_per_place(tiny_place):
    assert flow_base_from_place(tiny_place) is flow_base_from_place(tiny_place)


# --------------------------------------------------------------------------- national files
def _national():
    return pd.DataFrame(
        {"practice_code": ["P1", "P1", "P2", "P3", "P2", "P4", "P1"], "lsoa_code": ["L1", "NO2011", "L2", "L1", "LX", "L2", "L2"],
         "patients": [5, 1, 7, 2, 4, 3, 2]}
    )  # fmt: skip


def test_aggregate_registrations_keeps_every_patient():
    reg = _national().iloc[:5]
    out = aggregate_registrations(reg, pd.Series({"L1": "A", "L2": "B"}), pd.Series({"P1": "X", "P2": "Y"}))
    assert out.to_numpy().sum() == 19
    assert out.loc["A", "X"] == 5 and out.loc["unknown", "X"] == 1 and out.loc["B", "Y"] == 7
    assert out.loc["A", "unmapped"] == 2 and out.loc["unmapped", "Y"] == 4
    assert out.attrs["unmapped"] == {"lsoa_patients": 4, "practice_patients": 2}


def test_area_containment_by_hand():
    # PCN X = P1, P3; PCN Y = P2; P4 has no PCN. L1: X 7; L2: Y 7, X 2 -> Y; LX: Y 4 -> Y.
    out = area_containment(_national(), pd.Series({"P1": "X", "P3": "X", "P2": "Y"}))
    assert out.loc["X", ["lsoas", "residents_registered", "registered_list", "contained"]].tolist() == [1, 7, 10, 7]
    assert out.loc["Y", ["lsoas", "residents_registered", "registered_list", "contained"]].tolist() == [2, 7 + 3 + 2 + 4, 11, 11]
    assert out.loc["X", "list_containment"] == pytest.approx(0.7) and out.loc["Y", "resident_containment"] == pytest.approx(11 / 16)
    assert out.attrs == {"unmapped_practice_patients": 3, "unknown_residence_patients": 1}


# --------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_real_flows(real_place):
    base = flow_base_from_place(real_place)
    g = baseline_grouping(real_place)
    f = compute_flows(base, g, city=real_place.name)
    city = f.boundary.loc[real_place.name]
    assert city["gp_registered"] == 701_068
    assert city["gp_registered_resident_in_city_pct"] == pytest.approx(91.0, abs=0.05)
    reg = real_place.registrations
    assert f.matrix.to_numpy().sum() == _involving_place(real_place)
    assert city["residents_registered"] == reg.loc[reg.lsoa_code.isin(real_place.lsoas.index), "patients"].sum()
    assert base.outside_lad.index[0] == "Trafford"
    one = Grouping({w: "All" for w in real_place.wards.index}, {"All": "City"})
    assert compute_flows(base, one).neighbourhoods.loc["All", "resident_containment"] == pytest.approx(
        city["residents_registered_in_city_pct"] / 100
    )
    assert f.bases == {"population": "residents (mid-2015)", "registered_list": "registered patients (July 2022)"}


@pytest.mark.realdata
def test_real_2015_baseline_figures(real_place):
    """The 2015 One Team baseline on July 2022 registrations, practices by premises (recorded figures)."""
    nb = compute_flows(flow_base_from_place(real_place), baseline_grouping(real_place)).neighbourhoods
    lc, rc = nb["list_containment"].round(3), nb["resident_containment"].round(3)
    # The specification's range, "80% (Wythenshawe) to 44% (Withington and Fallowfield)", is the list measure.
    assert lc.max() == 0.794 and lc.idxmax() == "Didsbury, Burnage and Chorlton Park"
    assert lc["Wythenshawe (Baguley, Sharston, Woodhouse Park)"] == 0.782
    assert lc.min() == 0.465 and lc.idxmin() == "Ardwick and Longsight"
    assert lc["Fallowfield (Old Moat) and Withington"] == 0.499
    assert rc.min() == 0.529 and rc.idxmin() == "Wythenshawe (Brooklands) and Northenden" and rc.max() == 0.896
    assert nb["registered_list"].sum() == 701_068 and nb["n_practices"].sum() == 83 and nb["population"].sum() == 529_282
    # Team size on both bases: the band holds on neither for every team.
    assert (~nb["population_in_band"]).sum() == 5 and (~nb["list_in_band"]).sum() == 10
