"""Profiles: totals are conserved under any grouping."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boundaries.grouping import Grouping
from boundaries.profiles import profile
from placekit.errors import InvalidGroupingError

WARDS = [f"E0590000{i}" for i in range(1, 7)]


def test_profile_figures(tiny_place, tiny_grouping):
    pr = profile(tiny_place, tiny_grouping).set_index(["level", "name"])
    a = pr.loc[("neighbourhood", "A")]
    assert a["population"] == 1000 + 1200 + 900 + 1100
    assert a["lsoas"] == 4 and a["area_km2"] == pytest.approx(2.0)
    assert a["imd_mean_decile"] == pytest.approx((1000 * 1 + 1200 * 1 + 900 * 2 + 1100 * 3) / 4200)
    assert a["share_most_deprived_decile"] == pytest.approx(2200 / 4200)
    assert a["practices"] == 1 and a["practice_codes"] == ["P00001"]
    reg = tiny_place.registrations
    assert a["registered_list"] == reg.loc[reg.practice_code == "P00001", "patients"].sum()
    assert pr.loc[("city", "Tiny"), "population"] == tiny_place.population["population"].sum()
    assert pr.loc[("city", "Tiny"), "practices"] == 3  # P00099 stands outside the place
    assert pr.loc[("locality", "West"), "wards"] == ["E05900001", "E05900002", "E05900004", "E05900005"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 3), min_size=6, max_size=6), st.lists(st.integers(0, 1), min_size=4, max_size=4))
def test_totals_conserved_under_any_grouping(tiny_place, nb_idx, loc_idx):
    g = Grouping({w: f"N{i}" for w, i in zip(WARDS, nb_idx, strict=True)}, {f"N{i}": f"L{loc_idx[i]}" for i in set(nb_idx)})
    pr = profile(tiny_place, g)
    total = tiny_place.population["population"].sum()
    for level in ("neighbourhood", "locality", "city"):
        sub = pr[pr["level"] == level]
        assert sub["population"].sum() == total
        assert sub["lsoas"].sum() == 12
        assert sub["practices"].sum() == 3
        assert sub[["age_0_15", "age_16_59", "age_60_plus"]].sum().sum() == total


def test_identity_grouping_reproduces_ward_figures(tiny_place):
    g = Grouping({w: w for w in WARDS}, {w: "All" for w in WARDS})
    pr = profile(tiny_place, g)
    nb = pr[pr["level"] == "neighbourhood"].set_index("name")["population"]
    by_ward = tiny_place.population["population"].groupby(tiny_place.lsoa_ward["ward_code"]).sum()
    assert nb.sort_index().to_dict() == by_ward.sort_index().to_dict()


def test_grouping_missing_a_ward_is_refused(tiny_place):
    g = Grouping({w: "A" for w in WARDS[:-1]}, {"A": "X"})
    with pytest.raises(InvalidGroupingError, match="missing.*E05900006"):
        profile(tiny_place, g)
