"""Flows: invariants under any grouping, real-data figures, bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boundaries.flows import (
    OUTSIDE,
    UNKNOWN,
    compute_flows,
    flow_base,
    flow_base_from_place,
    flow_matrix,
    flows_by,
    neighbourhood_flows,
    straddling_practices,
)
from boundaries.grouping import Grouping, baseline_grouping, neighbourhood_parts, ward_adjacency
from boundaries.suggest import suggest_moves
from placekit.errors import InvalidGroupingError, PlacekitError

WARDS = [f"E0590000{i}" for i in range(1, 7)]


def _involving_place(place) -> int:
    reg = place.registrations
    in_place = reg["lsoa_code"].isin(place.lsoas.index) | reg["practice_code"].isin(
        place.practices.index[place.practices["ward_code"].notna()]
    )
    return int(reg.loc[in_place, "patients"].sum())


def test_matrix_by_hand(tiny_place, tiny_grouping):
    base = flow_base_from_place(tiny_place)
    m = flow_matrix(base, tiny_grouping)
    reg = tiny_place.registrations
    # Residents of neighbourhood A (wards 1, 2 = LSOAs 1-4) registered with P00001 (in ward 1, so in A).
    a_lsoas = ["E0100" + f"{k:04d}" for k in range(1, 5)]
    expect = reg[(reg.practice_code == "P00001") & reg.lsoa_code.isin(a_lsoas)]["patients"].sum()
    assert m.loc["A", "A"] == expect
    # The practice outside the place is the "outside the city" column.
    assert m[OUTSIDE].sum() == reg[(reg.practice_code == "P00099") & reg.lsoa_code.isin(tiny_place.lsoas.index)]["patients"].sum()
    # Unknown and outside residences of city practices are rows.
    assert m.loc[UNKNOWN].sum() == 7
    assert m.loc[OUTSIDE].sum() == 55 + 3
    assert m.attrs["practice_by"] == "location"


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 3), min_size=6, max_size=6), st.sampled_from(["location", "patients"]))
def test_matrix_total_equals_registrations_under_any_grouping(tiny_place, idx, practice_by):
    g = Grouping({w: f"N{i}" for w, i in zip(WARDS, idx, strict=True)}, {f"N{i}": "L" for i in set(idx)})
    base = flow_base_from_place(tiny_place)
    f = compute_flows(base, g, practice_by=practice_by)
    assert f.matrix.to_numpy().sum() == _involving_place(tiny_place) == base.total
    nb = f.neighbourhoods
    assert nb["residents"].sum() + f.matrix.loc[[OUTSIDE, UNKNOWN]].to_numpy().sum() == base.total
    assert ((nb["self_containment"] >= 0) & (nb["self_containment"] <= 1)).all()
    city = f.boundary.loc["City"]
    assert city["residents_registered"] == nb["residents"].sum()
    assert city["gp_registered"] == nb["registered"].sum()


def test_one_neighbourhood_city_has_only_outside_flows(tiny_place):
    g = Grouping({w: "All" for w in WARDS}, {"All": "City"})
    m = flow_matrix(flow_base_from_place(tiny_place), g)
    nb = neighbourhood_flows(m).loc["All"]
    assert nb["self_contained"] == nb["residents"] - nb["residents_outside_city"]
    off = m.drop(index="All", columns="All")
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


def test_practice_by_patients_moves_home(tiny_place, tiny_grouping):
    base = flow_base_from_place(tiny_place)
    loc = straddling_practices(base, tiny_grouping, practice_by="location")
    pat = straddling_practices(base, tiny_grouping, practice_by="patients")
    # By patients every practice sits where most of its city patients live: its own share is the largest.
    assert (pat["own_share"] >= pat["second_share"] - 1e-12).all()
    assert set(loc.index) == set(pat.index) == {"P00001", "P00002", "P00003"}
    assert (loc["in_own"] + loc["in_other_neighbourhoods"] + loc["outside_city"] + loc["unknown"] == loc["list"]).all()


def test_bad_inputs(tiny_place, tiny_grouping):
    base = flow_base_from_place(tiny_place)
    with pytest.raises(InvalidGroupingError, match="missing"):
        flow_matrix(base, Grouping({WARDS[0]: "A"}, {"A": "L"}))
    with pytest.raises(PlacekitError, match="practice_by"):
        flow_matrix(base, tiny_grouping, practice_by="nearest")
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


def test_flows_by_sex(tiny_place, tiny_grouping):
    reg = tiny_place.registrations
    split = pd.concat(
        [reg.assign(sex="MALE", patients=reg.patients // 2), reg.assign(sex="FEMALE", patients=reg.patients - reg.patients // 2)]
    )
    place = tiny_place.replace(registrations=split)
    out = flows_by(place, tiny_grouping)
    assert set(out["sex"]) == {"FEMALE", "MALE"}
    assert out["residents"].sum() == neighbourhood_flows(flow_matrix(flow_base_from_place(place), tiny_grouping))["residents"].sum()


def test_suggestions_keep_contiguity(tiny_place, tiny_grouping):
    base = flow_base_from_place(tiny_place)
    adj = ward_adjacency(tiny_place.wards)
    wp = tiny_place.population.groupby(tiny_place.lsoa_ward["ward_code"])["population"].sum()
    s = suggest_moves(base, tiny_grouping, adj, wp, band=(0, 10**9), top=0)
    assert len(s) > 0
    for _, r in s.iterrows():
        g = tiny_grouping.move(r["ward"], r["to_neighbourhood"])
        parts = neighbourhood_parts(g, adj)
        assert len(parts[r["from_neighbourhood"]]) == 1, f"moving {r['ward']} splits {r['from_neighbourhood']}"
        assert len(parts[r["to_neighbourhood"]]) == 1, f"moving {r['ward']} leaves {r['to_neighbourhood']} in pieces"
        f = compute_flows(base, g)
        assert f.min_self_containment == pytest.approx(r["min_after"])
    assert (s["score"].diff().dropna() <= 1e-12).all()  # best first


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
    assert 0.4 < f.min_self_containment < f.mean_self_containment < 0.9
    assert base.outside_lad.index[0] == "Trafford"
    one = Grouping({w: "All" for w in real_place.wards.index}, {"All": "City"})
    assert compute_flows(base, one).neighbourhoods.loc["All", "self_containment"] == pytest.approx(
        city["residents_registered_in_city_pct"] / 100
    )
    assert np.isclose(f.neighbourhoods["self_contained"].sum() / f.neighbourhoods["residents"].sum(), f.mean_self_containment)


def test_aggregate_registrations_keeps_every_patient():
    from boundaries.flows import aggregate_registrations

    reg = pd.DataFrame(
        {"practice_code": ["P1", "P1", "P2", "P3", "P2"], "lsoa_code": ["L1", "NO2011", "L2", "L1", "LX"], "patients": [5, 1, 7, 2, 4]}
    )
    out = aggregate_registrations(reg, pd.Series({"L1": "A", "L2": "B"}), pd.Series({"P1": "X", "P2": "Y"}))
    assert out.to_numpy().sum() == 19
    assert out.loc["A", "X"] == 5 and out.loc["unknown", "X"] == 1 and out.loc["B", "Y"] == 7
    assert out.loc["A", "unmapped"] == 2 and out.loc["unmapped", "Y"] == 4
    assert out.attrs["unmapped"] == {"lsoa_patients": 4, "practice_patients": 2}
