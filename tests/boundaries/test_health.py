"""Health need, population bases and community assets on the tiny place: totals conserved under any grouping."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from boundaries.assets import asset_disparity, asset_table
from boundaries.grouping import Grouping
from boundaries.health import health_base, health_by_imd, health_table, practice_units
from boundaries.population import population_table
from boundaries.profiles import profile, ward_population
from geo.census import AGE6_BANDS
from geo.health import RegisterOverListError
from placekit.errors import PlacekitError

X0, Y0 = 380_000, 395_000


def _qof(codes: list[str], rng: np.random.Generator) -> pd.DataFrame:
    lists = rng.integers(2000, 6000, len(codes))
    q = pd.DataFrame({"register_DM": (lists * rng.uniform(0.03, 0.1, len(codes))).astype("int64"),
                      "register_HYP": (lists * rng.uniform(0.08, 0.2, len(codes))).astype("int64"),
                      "list_17OV": (lists * 0.8).astype("int64"), "list_TOTAL": lists.astype("int64")},
                     index=pd.Index(codes, name="practice_code"))  # fmt: skip
    q["list_17OV"] = q["list_17OV"].astype("Int64")
    q["list_TOTAL"] = q["list_TOTAL"].astype("Int64")
    q.attrs.update({"bases": {"DM": "17OV", "HYP": "TOTAL"}, "vintage": "QOF test", "register_over_list": []})
    return q


def _with_health_layers(place):
    rng = np.random.default_rng(7)
    qof = _qof(["P00001", "P00002", "P00003", "P00099", "P77777"], rng)  # P77777: elsewhere in England, no patients here
    census = pd.DataFrame({b: rng.integers(50, 300, len(place.lsoas)) for b in AGE6_BANDS.values()}, index=place.lsoas.index)
    census.insert(0, "population", census.sum(axis=1))
    census.index.name = "lsoa21_code"
    lookup = pd.DataFrame({"lsoa21_code": place.lsoas.index, "lsoa21_name": "", "lad_code": "E08000003", "lad_name": "Tiny"},
                          index=pd.Index(place.lsoas.index, name="lsoa11_code"))  # fmt: skip
    ages = pd.DataFrame({"total": [3000.0, 4000.0, 2000.0, 1000.0], "age_65_plus": [300.0, 800.0, 100.0, 50.0]},
                        index=pd.Index(["P00001", "P00002", "P00003", "P00099"], name="practice_code"))  # fmt: skip
    assets = gpd.GeoDataFrame({"name": ["Bank <b>A</b>", "Bank B", "Job C"], "asset_type": ["food_bank", "food_bank", "jobcentre"]},
                              geometry=[Point(X0 + 100, Y0 + 100), Point(X0 + 2500, Y0 + 1500), Point(X0 + 600, Y0 + 400)],
                              index=pd.Index(["food_bank-0000", "food_bank-0001", "jobcentre-0000"], name="asset_id"), crs="EPSG:27700")  # fmt: skip
    return place.replace(qof=qof, census=census, lsoa11_lsoa21=lookup, practice_ages=ages, assets=assets,
                         vintages={"population": "mid-2015 test", "census": "Census 2021 test"})  # fmt: skip


@pytest.fixture
def hplace(tiny_place):
    return _with_health_layers(tiny_place)


def _resident_reference(place) -> pd.DataFrame:
    """The resident view computed the obvious way, with pandas merges, per ward and condition."""
    reg = place.registrations
    total = reg.groupby("practice_code")["patients"].sum()
    qof = place.qof
    denom = total.astype(float).where(total.index.isin(place.practices.index), np.fmax(total, qof["list_TOTAL"].reindex(total.index).fillna(0)))
    local = reg[reg["lsoa_code"].isin(place.lsoas.index) & reg["practice_code"].isin(qof.index)].copy()
    local["share"] = local["patients"] / local["practice_code"].map(denom)
    long = qof[["register_DM", "register_HYP"]].reset_index().melt("practice_code", var_name="c", value_name="register")
    m = local.merge(long, on="practice_code")
    m["modelled"] = m["share"] * m["register"]
    m["ward_code"] = m["lsoa_code"].map(place.lsoa_ward_code)
    return m.groupby(["ward_code", "c"])["modelled"].sum().unstack()


def test_registered_view_conserves_the_place_practices_registers(hplace, tiny_grouping):
    h = health_table(hplace, tiny_grouping)
    nb = h[h["level"] == "neighbourhood"].groupby("condition")[["register", "list_size"]].sum()
    in_place = hplace.practices_in_place.index
    assert nb.loc["DM", "register"] == hplace.qof.loc[in_place, "register_DM"].sum()
    assert nb.loc["HYP", "list_size"] == hplace.qof.loc[in_place, "list_TOTAL"].sum()
    city = h[h["level"] == "city"].set_index("condition")
    assert city.loc["DM", "register"] == nb.loc["DM", "register"]
    assert city.loc["DM", "prevalence"] == pytest.approx(100 * city.loc["DM", "register"] / city.loc["DM", "list_size"])
    eng = hplace.qof["register_DM"].sum() / hplace.qof["list_17OV"].sum()
    assert city.loc["DM", "england_prevalence"] == pytest.approx(100 * eng)


def test_resident_view_matches_the_pandas_merge_and_is_conserved(hplace, tiny_grouping):
    h = health_table(hplace, tiny_grouping)
    ref = _resident_reference(hplace)
    city = h[h["level"] == "city"].set_index("condition")
    # The place's residents' modelled registers: practices in and outside the place, each apportioned to residents of the place.
    assert city.loc["DM", "resident_register"] == pytest.approx(ref["register_DM"].sum())
    nb = h[h["level"] == "neighbourhood"].set_index(["name", "condition"])["resident_register"]
    want = ref["register_DM"].groupby(pd.Series(tiny_grouping.ward_to_neighbourhood)).sum()
    for name, v in want.items():
        assert nb[(name, "DM")] == pytest.approx(v)
    loc = h[h["level"] == "locality"].groupby("condition")["resident_register"].sum()
    assert loc["HYP"] == pytest.approx(city.loc["HYP", "resident_register"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["A", "B", "C", "D"]), min_size=6, max_size=6))
def test_any_grouping_conserves_both_views(hplace, labels):
    wards = list(hplace.wards.index)
    g = Grouping(dict(zip(wards, labels, strict=True)), {n: ("L1" if n in "AB" else "L2") for n in set(labels)}, name="random")
    base = health_base(hplace)
    h = health_table(hplace, g, base=base)
    nb = h[h["level"] == "neighbourhood"].groupby("condition")[["register", "resident_register"]].sum()
    city = h[h["level"] == "city"].set_index("condition")
    assert (nb["register"] == city["register"]).all()
    assert np.allclose(nb["resident_register"], city["resident_register"])


def test_practice_units_follow_the_premises_ward(hplace, tiny_grouping):
    u = practice_units(hplace, tiny_grouping)
    assert u.to_dict() == {"P00001": "A", "P00002": "C", "P00003": "B"}


def test_register_over_list_in_the_figures_is_refused(hplace):
    q = hplace.qof.copy()
    q.attrs.update(hplace.qof.attrs)
    q.attrs["register_over_list"] = [("P00002", "DM", 999, 10)]
    with pytest.raises(RegisterOverListError, match="P00002"):
        health_base(hplace.replace(qof=q))
    q.attrs["register_over_list"] = [("P77777", "DM", 999, 10)]  # elsewhere, no resident here: no effect
    health_base(hplace.replace(qof=q))


def test_no_qof_layer_says_which_layer_to_add(tiny_place):
    with pytest.raises(PlacekitError, match=r"\[layers.qof\]"):
        health_base(tiny_place)


def test_imd_quintiles_split_the_resident_view(hplace, tiny_grouping):
    base = health_base(hplace)
    by = health_by_imd(base)
    h = health_table(hplace, tiny_grouping, base=base)
    city = h[h["level"] == "city"].set_index("condition")
    assert by.groupby("condition")["resident_register"].sum()["DM"] == pytest.approx(city.loc["DM", "resident_register"])
    one = health_by_imd(base, wards=["E05900001"])
    assert one["resident_register"].sum() < by["resident_register"].sum()


def test_census_base_keeps_the_total_and_names_itself(hplace, tiny_grouping):
    pr = profile(hplace, tiny_grouping, population="census2021")
    assert pr.loc[pr["level"] == "city", "population"].iloc[0] == hplace.census["population"].sum()
    assert "share_65_plus" in pr and "age_60_plus" not in pr
    assert pr.attrs["population_label"].startswith("Census 2021")
    assert ward_population(hplace, "census2021").sum() == hplace.census["population"].sum()
    with pytest.raises(PlacekitError, match='`population` was "2011"'):
        profile(hplace, tiny_grouping, population="2011")


def test_population_table_sets_registered_residents_beside_residents(hplace, tiny_grouping):
    t = population_table(hplace, tiny_grouping)
    city = t[t["level"] == "city"].iloc[0]
    reg = hplace.registrations
    assert city["registered_residents_2022"] == reg.loc[reg["lsoa_code"].isin(hplace.lsoas.index), "patients"].sum()
    assert city["difference"] == city["registered_residents_2022"] - city["residents_census2021"]
    assert city["share_65_plus_lists"] == pytest.approx(1200 / 9000)  # P00001-3 only: P00099 stands outside the place


def test_assets_per_10k_and_disparity(hplace, tiny_grouping):
    a = asset_table(hplace, tiny_grouping)
    nb = a[a["level"] == "neighbourhood"].set_index(["name", "asset_type"])
    assert nb.loc[("A", "food_bank"), "count"] == 1 and nb.loc[("B", "food_bank"), "count"] == 1
    assert nb.loc[("A", "jobcentre"), "count"] == 1 and nb.loc[("C", "food_bank"), "count"] == 0
    pop_a = hplace.ward_census["population"][["E05900001", "E05900002"]].sum()
    assert nb.loc[("A", "food_bank"), "per_10k"] == pytest.approx(1e4 / pop_a)
    d = asset_disparity(a)
    assert d.loc["food_bank", "lowest"] == "C" and d.loc["food_bank", "ratio"] == np.inf and d.loc["food_bank", "none"] == 1
