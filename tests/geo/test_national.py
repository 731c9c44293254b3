"""Places from the national files: the modelled best fit, split LSOAs, name resolution, the PCN baseline (hand-built),
then England's real files: three authorities of different kinds, patients conserved, Manchester's city table."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from boundaries.baseline import PCN_BASELINE, is_pcn_baseline, pcn_baseline_from_base, pcn_display_name, place_baseline
from boundaries.flowbase import flow_base
from boundaries.flows import compute_flows, flow_base_from_place
from boundaries.grouping import Grouping
from boundaries.profiles import profile, ward_population
from geo.england import EnglandIndex, best_fit_wards
from geo.national import ENGLAND_ONLY, is_manifest, resolve_authority
from geo.registrations import convert_registrations, lsoa11_to_lsoa21_pairs
from placekit.errors import PlacekitError, UnknownCodeError


def _gdf(rows, index_name):
    return gpd.GeoDataFrame({"lad_code": [r[1] for r in rows]}, geometry=[r[2] for r in rows],
                            index=pd.Index([r[0] for r in rows], name=index_name), crs="EPSG:27700")  # fmt: skip


# --------------------------------------------------------------------------- the modelled best fit
def test_best_fit_takes_the_ward_holding_most_area_of_the_lsoas_own_authority():
    wards = _gdf([("W1", "A", box(0, 0, 100, 100)), ("W2", "A", box(100, 0, 200, 100)), ("W9", "B", box(0, 100, 200, 200))], "ward_code")
    lsoas = _gdf([
        ("L1", "A", box(60, 0, 160, 90)),     # 40% in W1, 60% in W2
        ("L2", "A", box(10, 10, 90, 150)),    # mostly in W9 (another authority): goes to its own authority's W1
        ("L3", "A", box(500, 500, 510, 510)),  # overlaps no ward (a generalised coast): the nearest ward of its authority
    ], "lsoa_code")  # fmt: skip
    fit = best_fit_wards(lsoas, wards)
    assert fit["ward_code"].to_dict() == {"L1": "W2", "L2": "W1", "L3": "W2"}
    assert fit.loc["L1", "share"] == pytest.approx(0.6) and fit.loc["L3", "share"] == 0


# --------------------------------------------------------------------------- registrations carried to 2021 LSOAs
def _split_fixture():
    lsoas11 = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], index=pd.Index(["E01000001", "E01000002"]),
                               crs="EPSG:27700")  # fmt: skip
    # E01000002 (2011) was split into E01040001 (the best fit) and E01040002 (named by no 2011 LSOA).
    lsoas21 = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 100), box(100, 0, 150, 100), box(150, 0, 200, 100)],
                               index=pd.Index(["E01000001", "E01040001", "E01040002"]), crs="EPSG:27700")  # fmt: skip
    lookup = pd.DataFrame({"lsoa21_code": ["E01000001", "E01040001"]}, index=pd.Index(["E01000001", "E01000002"], name="lsoa11_code"))
    residents = pd.Series({"E01000001": 1500, "E01040001": 1000, "E01040002": 3000})
    return lsoas11, lsoas21, lookup, residents


def test_split_lsoas_are_shared_among_their_parts_by_census_residents():
    lsoas11, lsoas21, lookup, residents = _split_fixture()
    pairs = lsoa11_to_lsoa21_pairs(lookup, lsoas11=lsoas11, lsoas21=lsoas21, residents21=residents)
    split = pairs[pairs["lsoa11"] == "E01000002"].set_index("lsoa21")
    assert set(split.index) == {"E01040001", "E01040002"} and split["method"].str.startswith("split").all()
    reg = pd.DataFrame({"practice_code": ["P1", "P1", "P2"], "practice_name": "", "lsoa_code": ["E01000001", "E01000002", "E01000002"],
                        "sex": "ALL", "patients": [10, 8, 3]})  # fmt: skip
    reg.attrs["lsoa_vintage"] = "2011"
    out, note = convert_registrations(reg, to_vintage="2021", lookup=lookup, lsoas11=lsoas11, lsoas21=lsoas21, residents21=residents)
    got = out.groupby(["practice_code", "lsoa_code"])["patients"].sum().to_dict()
    assert got == {("P1", "E01000001"): 10, ("P1", "E01040001"): 2, ("P1", "E01040002"): 6, ("P2", "E01040001"): 1, ("P2", "E01040002"): 2}
    assert "Census 2021 residents" in note and out["patients"].sum() == reg["patients"].sum()
    plain, _ = convert_registrations(reg, to_vintage="2021", lookup=lookup, lsoas11=lsoas11)  # without boundaries: the best fit as published
    assert "E01040002" not in set(plain["lsoa_code"])


# --------------------------------------------------------------------------- resolving --place
def _index() -> EnglandIndex:
    auth = pd.DataFrame({"name": ["Leeds", "Brighton and Hove", "North Yorkshire", "Kingston upon Hull, City of"]},
                        index=pd.Index(["E08000035", "E06000043", "E06000065", "E06000010"], name="lad_code"))  # fmt: skip
    succ = pd.DataFrame({"old_name": ["Harrogate"], "lad_code": ["E06000065"], "note": ["Harrogate (E07000165) is now part of North Yorkshire (E06000065)"]},
                        index=pd.Index(["E07000165"], name="old_code"))  # fmt: skip
    wales = pd.DataFrame({"name": ["Cardiff"]}, index=pd.Index(["W06000015"], name="lad_code"))
    return EnglandIndex(key="k", authorities=auth, successors=succ, other_nations=wales)


@pytest.mark.parametrize(("text", "code"), [("E08000035", "E08000035"), ("e08000035", "E08000035"), ("leeds", "E08000035"),
                                            ("Brighton & Hove", "E06000043"), (" Kingston upon Hull, City of ", "E06000010")])  # fmt: skip
def test_resolve_by_code_or_name(text, code):
    assert resolve_authority(text, _index()) == (code, [])


def test_resolve_a_replaced_authority_to_its_successor_with_a_note():
    for text in ("E07000165", "harrogate"):
        code, notes = resolve_authority(text, _index())
        assert code == "E06000065" and "Harrogate (E07000165) is now part of North Yorkshire" in notes[0]


@pytest.mark.parametrize("text", ["W06000015", "Cardiff", "S12000036", "N09000003"])
def test_resolve_refuses_other_nations_saying_why(text):
    with pytest.raises(UnknownCodeError, match="England only, because the registrations file is England's") as e:
        resolve_authority(text, _index())
    assert ENGLAND_ONLY in str(e.value)


def test_resolve_unknown_names_the_closest():
    with pytest.raises(UnknownCodeError, match=r"closest are: Leeds \(E08000035\)"):
        resolve_authority("Leds", _index())
    with pytest.raises(UnknownCodeError, match=r"Kingston upon Hull, City of \(E06000010\)"):
        resolve_authority("Hull", _index())


def test_is_manifest():
    assert is_manifest(None) and is_manifest("my_place.toml") and is_manifest("places/X.TOML")
    assert not is_manifest("Leeds") and not is_manifest("E08000035")


# --------------------------------------------------------------------------- the PCN baseline (hand-built)
def test_pcn_baseline_puts_each_ward_with_the_pcn_holding_most_of_its_registered_residents(tiny_place):
    base = flow_base_from_place(tiny_place)
    pcn = pd.Series({"P00001": "U1", "P00002": "U2", "P00003": "U2", "P00099": "U9"})
    base = base.__class__(**{**base.__dict__, "practice_pcn": pcn.reindex(base.practices)})
    g = pcn_baseline_from_base(base, pcn_names={"U1": "WEST PCN", "U2": "EAST AND NORTH PCN"}, place_name="Tiny")
    assert is_pcn_baseline(g) and g.name == f"Tiny {PCN_BASELINE}" and g.meta["baseline"] == PCN_BASELINE
    assert set(g.neighbourhoods) <= {"West PCN", "East and North PCN"} and g.localities == ["Tiny (all PCNs)"]
    reg = tiny_place.registrations
    ward = reg["lsoa_code"].map(tiny_place.lsoa_ward_code)
    held = reg.assign(ward=ward, pcn=reg["practice_code"].map(pcn))[lambda d: d["ward"].notna() & d["pcn"].isin(["U1", "U2"])]
    best = held.groupby(["ward", "pcn"])["patients"].sum().unstack().idxmax(axis=1).map({"U1": "West PCN", "U2": "East and North PCN"})
    assert best.to_dict() == g.ward_to_neighbourhood
    assert g.practice_to_neighbourhood.get("P00002") in (None, "East and North PCN") and "P00099" not in g.practice_to_neighbourhood


def test_pcn_baseline_gives_a_ward_without_residents_the_pcn_of_its_nearest_ward(tiny_place):
    reg = tiny_place.registrations
    emptied = reg[~reg["lsoa_code"].isin(tiny_place.lsoa_ward.index[tiny_place.lsoa_ward["ward_code"] == "E05900006"])]
    place = tiny_place.replace(registrations=emptied)
    base = flow_base(place.registrations, place.lsoa_ward_code, place.practices_in_place["ward_code"], wards=place.wards.index,
                     practice_info=pd.DataFrame({"pcn_code": ["U1", "U2", "U2"]}, index=["P00001", "P00002", "P00003"]))  # fmt: skip
    pts = place.wards.geometry.representative_point()
    g = pcn_baseline_from_base(base, pcn_names={}, place_name="Tiny", ward_points=np.column_stack([pts.x, pts.y]))
    # ward 6 (top right) has no registered resident: it joins the PCN of the nearest ward, ward 3 or ward 5
    assert g.ward_to_neighbourhood["E05900006"] in {g.ward_to_neighbourhood["E05900003"], g.ward_to_neighbourhood["E05900005"]}
    with pytest.raises(PlacekitError, match="ward positions"):
        pcn_baseline_from_base(base, pcn_names={}, place_name="Tiny")


def test_pcn_display_name():
    assert pcn_display_name("LS25/LS26 PCN") == "LS25/LS26 PCN"
    assert pcn_display_name("BURMANTOFTS, HAREHILLS & RICHMOND HILL PCN") == "Burmantofts, Harehills & Richmond Hill PCN"
    assert pcn_display_name("THE VALE OF YORK PCN") == "The Vale of York PCN"
    assert pcn_display_name("Leeds Central PCN") == "Leeds Central PCN"


# --------------------------------------------------------------------------- England's real files
LONDON, RURAL, METRO = "E09000021", "E06000017", "E08000003"  # Kingston upon Thames, Rutland, Manchester


@pytest.mark.realdata
def test_three_authorities_of_different_kinds_conserve_patients(real_data_root, england, national):
    raw = pd.read_parquet(real_data_root / "gp-registrations-lsoa/gp-reg-pat-prac-lsoa_2022-07_england.parquet")
    assert int(england.registrations["patients"].sum()) == int(raw["Patient"].sum()) == 61_768_942
    lk = pd.read_csv(real_data_root / "lsoa11-lsoa21-lookup/lsoa11_to_lsoa21_best_fit_lookup_england_wales_v2.csv", encoding="utf-8-sig")
    for code, kind in ((LONDON, "London borough"), (RURAL, "unitary authority"), (METRO, "metropolitan district")):
        place = national(code)
        assert england.authorities.at[code, "kind"] == kind and place.built_from == "national" and place.lsoa_vintage == "2021"
        assert place.status["lsoa_ward"] == "modelled" and "modelled best fit" in place.vintages["lsoa_ward"]
        ours = place.practices_in_place.index
        reg = place.registrations
        # every patient of the place's practices, as in the national file
        assert int(reg.loc[reg["practice_code"].isin(ours), "patients"].sum()) == int(raw.loc[raw["OrganisationCode"].isin(ours), "Patient"].sum())
        # every registered resident: the 2011 LSOAs whose best-fit 2021 LSOA lies in the place (split parts stay inside it)
        old = lk.loc[lk["LSOA21CD"].isin(place.lsoas.index), "LSOA11CD"]
        assert int(reg.loc[reg["lsoa_code"].isin(place.lsoas.index), "patients"].sum()) == int(raw.loc[raw["LSOA11CD"].isin(old), "Patient"].sum())
        assert int(place.population["population"].sum()) == int(england.authorities.at[code, "residents"])
        assert place.imd is not None and place.imd.index.equals(place.lsoas.index)


@pytest.mark.realdata
def test_manchester_from_the_national_files_has_the_manifests_city_table(national, real_place):
    nat = national(METRO)
    one = {w: "All" for w in nat.wards.index}
    f = compute_flows(flow_base_from_place(nat), Grouping(one, {"All": "City"}), city=nat.name).boundary
    city = f[f["level"] == "city"].iloc[0]
    assert (city["gp_registered"], round(city["gp_registered_resident_in_city_pct"], 1)) == (701_068, 91.0)
    assert (city["residents_registered"], round(city["residents_registered_in_city_pct"], 1)) == (667_290, 95.6)
    m = compute_flows(flow_base_from_place(real_place), place_baseline(real_place), city=real_place.name).boundary
    mc = m[m["level"] == "city"].iloc[0]
    cols = ["gp_registered", "gp_registered_resident_in_city", "residents_registered", "residents_registered_in_city"]
    assert city[cols].astype(int).tolist() == mc[cols].astype(int).tolist()
    # on 2021 LSOAs every one of Manchester's 295 LSOAs holds registered residents (the best fit alone left 15 empty)
    held = nat.registrations.groupby("lsoa_code")["patients"].sum().reindex(nat.lsoas.index)
    assert (held > 0).all() and len(held) == 295
    assert int(ward_population(nat).sum()) == 551_888 == int(real_place.census["population"].sum())


@pytest.mark.realdata
def test_modelled_best_fit_agrees_with_ons_for_manchester(real_data_root, england):
    wards = gpd.read_parquet(real_data_root / "england-boundaries/wards_2025_england.parquet", filters=[("LAD25CD", "in", [METRO])])
    lsoas = gpd.read_parquet(real_data_root / "england-boundaries/lsoa_2011_england.parquet", filters=[("LADCD_ACTIVE", "in", [METRO])])
    fit = best_fit_wards(lsoas.set_index("LSOA11CD").assign(lad_code=METRO), wards.set_index("WD25CD").assign(lad_code=METRO))
    ons = pd.read_csv(real_data_root / "lsoa11-ward-lookup/lsoa11_to_ward2019_greater_manchester.csv").set_index("LSOA11CD")["WD19CD"]
    same = (fit["ward_code"] == ons.reindex(fit.index)).sum()
    assert len(fit) == 282 and same == 272  # 96.5%: the figure the README quotes


@pytest.mark.realdata
def test_pcn_baseline_of_a_national_place(national):
    place = national(LONDON)
    g = place_baseline(place)
    assert is_pcn_baseline(g) and set(g.wards.index) == set(place.wards.index)
    pcns = place.pcn_map.reindex(place.practices_in_place.index)["pcn_code"].dropna().unique()
    assert 1 <= len(g.neighbourhoods) <= len(pcns)
    pr = profile(place, g)
    assert pr.attrs["population_base"] == "census2021" and "modelled best fit" in pr.attrs["note"]
    assert int(pr.loc[pr["level"] == "city", "population"].iloc[0]) == int(place.census["population"].sum())
    with pytest.raises(PlacekitError, match="no mid-2015 estimates"):
        profile(place, g, population="mid2015")


@pytest.mark.realdata
def test_a_ward_the_best_fit_leaves_empty_is_kept_and_named(national):
    city = national("E09000001")  # City of London: 25 wards, 6 LSOAs
    empty = [n for n in city.notes if n.layer == "lsoa_ward"]
    assert len(empty) == 1 and "20 ward(s) of City of London no LSOA" in empty[0] and "kept with 0 residents" in empty[0]
    pop = ward_population(city)
    assert len(pop) == 25 and (pop == 0).sum() == 20 and int(pop.sum()) == int(city.census["population"].sum())
