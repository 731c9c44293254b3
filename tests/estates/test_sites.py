"""Site roles, hub candidates and a user's estates file."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from boundaries.grouping import baseline_grouping
from estates.access import build_access, evaluate_hubs, site_hubs
from estates.sites import (
    CandidateFilter,
    PlanningRatios,
    add_estates_file,
    condition_penalty,
    default_role,
    gp_premises,
    hub_candidates,
    is_nhs_code,
    merge_cqc_locations,
    names_match,
    resolve_site_ids,
    site_capacity,
)
from geo.demo import demo_place
from geo.estates_sites import read_estates_file
from placekit.errors import MissingColumnError, PlacekitError

GOOD = """site_id,name,type,role,tenure,floor_area,condition,weekly_hours,lon,lat,postcode
E1,Town Hall Extension,council,,owned,4200,B,50,-2.2446,53.4794,
E2,Corner Pharmacy,pharmacy,,leased,80,A,60,-2.2300,53.4700,
E3,Old Clinic,health_centre,hub_candidate,freehold,900,D,40,-2.2500,53.4600,
E4,Store,warehouse,,,,,,,,M13 9WL
"""


def test_roles_by_type():
    assert default_role("gp") == default_role("library") == default_role("hospital") == "hub_candidate"
    assert default_role("pharmacy") == default_role("dentist") == "spoke"
    assert default_role("independent_hospital") == default_role("warehouse") == "asset"
    assert is_nhs_code("R0A") and is_nhs_code("RW602") and is_nhs_code("NHS")
    assert not is_nhs_code("AHN") and not is_nhs_code("NT3")  # Jigsaw Independent Hospital's provider, Spire


def test_estates_file_reads_and_roles(tmp_path):
    f = tmp_path / "estates.csv"
    f.write_text(GOOD)
    s = read_estates_file(f, default_role=default_role)
    assert list(s["role"]) == ["hub_candidate", "spoke", "hub_candidate", "asset"]
    assert list(s["tenure"].iloc[:3]) == ["freehold", "leasehold", "freehold"] and pd.isna(s["tenure"].iloc[3])
    assert s.loc["E1", "floor_area"] == 4200 and s.loc["E3", "condition"] == "D" and s.loc["E2", "weekly_hours"] == 60
    assert s.crs.to_epsg() == 27700 and s.geometry.notna().all()  # E4 located by its postcode
    ids, text = hub_candidates(s.assign(site_type=s["site_type"]), CandidateFilter(min_floor_area=1000))
    assert ids == ["E1"] and "floor area m² ≥ 1,000: 1 excluded as smaller" in text  # E3 (900 m²) out; E2 and E4 are not candidates
    assert condition_penalty(s).to_dict() == {"E1": 0.0, "E2": 0.0, "E3": 5.0, "E4": 0.0}


def test_estates_geojson(tmp_path):
    g = gpd.GeoDataFrame({"name": ["Hub"], "type": ["library"], "floor_area": [300]}, geometry=[Point(-2.24, 53.48)], crs="EPSG:4326")
    f = tmp_path / "estates.geojson"
    g.to_file(f, driver="GeoJSON")
    s = read_estates_file(f, default_role=default_role)
    assert s.index[0] == "estates-0001" and s["role"].iloc[0] == "hub_candidate" and s.crs.to_epsg() == 27700


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("name,lon,lat\nA,-2.2,53.4\n", MissingColumnError),
        ("name,type,role,lon,lat\nA,gp,boss,-2.2,53.4\n", "row 2, column 'role': 'boss' is not one of"),
        ("name,type,floor_area,lon,lat\nA,gp,-5,-2.2,53.4\n", "row 2, column 'floor_area': '-5' is not a number of m²"),
        ("name,type,condition,lon,lat\nA,gp,E,-2.2,53.4\n", r"column 'condition': 'E' is not one of \['A', 'B', 'C', 'D'\]"),
        ("name,type,weekly_hours,lon,lat\nA,gp,200,-2.2,53.4\n", "hours a week between 0 and 168"),
        ("name,type,tenure,lon,lat\nA,gp,rented,-2.2,53.4\n", "'tenure': 'rented'"),
        ("site_id,name,type,lon,lat\nX,A,gp,-2.2,53.4\nX,B,gp,-2.2,53.4\n", "'X' appears more than once"),
        ("name,type,lon,lat\nA,gp,53.4,-2.2\n", "not in Great Britain"),
        ("name,type,postcode\nA,gp,ZZ99 9ZZ\n", "postcode 'ZZ99 9ZZ' is not in the ONS Postcode Directory"),
        ("name,type\nA,gp\n", "no location"),
    ],
)
def test_bad_estates_files_are_refused(tmp_path, text, match):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    if isinstance(match, type):
        with pytest.raises(match):
            read_estates_file(f)
    else:
        with pytest.raises(PlacekitError, match=match) as err:
            read_estates_file(f)
        assert "bad.csv" in str(err.value)


def test_every_problem_is_listed_at_once(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("name,type,role,condition,lon,lat\nA,gp,boss,Z,-2.2,53.4\nB,,spoke,A,-2.2,53.4\n")
    with pytest.raises(PlacekitError, match="3 problem") as err:
        read_estates_file(f)
    assert "row 2, column 'role'" in str(err.value) and "row 2, column 'condition'" in str(err.value) and "row 3, column 'type'" in str(err.value)


def test_estates_file_joins_the_place_and_can_be_chosen(tmp_path):
    place = demo_place()
    f = tmp_path / "estates.csv"
    f.write_text(GOOD)
    p2 = add_estates_file(place, f)
    g = baseline_grouping(p2)
    a = build_access(p2, g, mode="walk")
    assert {"E1", "E2", "E3"} <= set(a.sites.index) and a.sites.loc["E2", "role"] == "spoke"
    res = site_hubs(a, p=13, fixed=("E1",), candidates=CandidateFilter(min_floor_area=1000))
    assert "E1" in res.hubs and "E2" not in res.hubs and "E3" not in res.hubs
    with pytest.raises(PlacekitError, match="already sites"):
        add_estates_file(p2, f)


@pytest.mark.realdata
def test_no_pharmacy_or_dentist_becomes_a_hub_by_default(real_place):
    g = baseline_grouping(real_place)
    a = build_access(real_place, g, mode="walk")
    assert {"pharmacy", "dentist", "independent_hospital"} <= set(a.sites["site_type"])
    assert set(a.sites.loc[a.sites["site_type"] == "independent_hospital", "name"]) >= {"Jigsaw Independent Hospital"}
    for method in ("heuristic", "exact"):
        res = site_hubs(a, p=12, method=method)
        types = set(a.sites.loc[res.hubs, "site_type"])
        assert types <= {"gp", "gp_practice", "hospital", "library"}, types
        assert res.status in ("Optimal", "local optimum") and res.seconds < 10
    opted = site_hubs(a, p=12, candidates=CandidateFilter(types=("pharmacy", "dentist")))
    assert set(a.sites.loc[opted.hubs, "site_type"]) <= {"pharmacy", "dentist"}
    ev = evaluate_hubs(a, res.hubs)
    assert "type" in ev.report and ev.report["type"].notna().all()
    assert set(ev.spokes.index) & set(a.sites.index[a.sites["role"] == "asset"]) == set()  # assets join no hub


@pytest.mark.realdata
def test_fixed_hubs_stay_in_the_answer(real_place):
    g = baseline_grouping(real_place)
    a = build_access(real_place, g, mode="walk")
    pharmacy = a.sites.index[a.sites["site_type"] == "pharmacy"][0]  # fixed hubs count even outside the candidate types
    library = a.sites.index[a.sites["site_type"] == "library"][0]
    for method in ("heuristic", "exact"):
        res = site_hubs(a, p=14, method=method, fixed=(pharmacy, library))
        assert {pharmacy, library} <= set(res.hubs) and len(res.hubs) == 14


def test_unknown_candidate_type_is_refused():
    a = build_access(demo_place(), baseline_grouping(demo_place()), mode="walk")
    with pytest.raises(PlacekitError, match="not site types here"):
        site_hubs(a, candidates=CandidateFilter(types=("spaceport",)))
    with pytest.raises(PlacekitError, match="smallest p that works is 12"):
        site_hubs(a, p=5)


def _practices():
    pts = [Point(1000, 1000), Point(1000, 1000), Point(1000, 1000), Point(1000, 1000), Point(5000, 5000), Point(9000, 9000)]
    return gpd.GeoDataFrame(
        {"practice_name": ["ARDWICK MEDICAL PRACTICE", "BRUNSWICK MEDICAL PRACTICE", "VALLANCE MEDICAL", "OLD SURGERY",
                           "WEST GORTON MEDICAL PRACTICE", "BROOKDALE SURGERY"],
         "postcode": ["M13 9UJ", "m13 9uj", "M139UJ", "M13 9UJ", "M12 5JE", "M40 1NZ"], "status": ["A", "A", "A", "C", "A", "C"]},
        geometry=pts, index=pd.Index(["P1", "P2", "P3", "P4", "P5", "P6"], name="practice_code"), crs="EPSG:27700")  # fmt: skip


def test_a_health_centre_of_four_practices_is_one_site_holding_their_lists():
    lists = pd.Series({"P1": 6839.0, "P2": 7836.0, "P3": 12002.0, "P4": 500.0, "P5": 7202.0})
    prem = gp_premises(_practices(), lists, list_label="registered list, July 2022")
    assert len(prem) == 3
    hc = prem.loc["ods-P1"]
    assert hc["practices"] == 4 and hc["practices_open"] == 3 and hc["practice_codes"] == "P1;P2;P3;P4"
    assert hc["registered_list"] == 6839 + 7836 + 12002 + 500 and "4 practice(s)" in hc["capacity_source"]
    assert hc["premises_status"] == "open" and hc["role"] == "hub_candidate"
    assert prem.loc["ods-P6", "premises_status"] == "closed" and prem.loc["ods-P6", "role"] == "asset"
    assert np.isnan(prem.loc["ods-P6", "registered_list"])
    cap = site_capacity(prem)
    assert cap.loc["ods-P1", "capacity"] == 27177 and cap.loc["ods-P6", "capacity_source"] == "unknown"
    assert resolve_site_ids(prem, ["P3", "ods-P2", "ods-P5"]) == ["ods-P1", "ods-P5"]


def test_cqc_locations_merge_into_their_building_or_are_marked():
    prem = gp_premises(_practices(), pd.Series(dtype=float))
    cqc = gpd.GeoDataFrame(
        {"name": ["Dr Ngan and Partners", "Vallance Medical Centre", "West Gorton Medical Practice", "MASTA Travel Clinic", "Skin Clinic"],
         "postcode": ["M13 9UJ", "M1 1AA", "M12 5LH", "M3 2BW", "M5 5ZZ"], "site_type": "gp"},
        geometry=[Point(1080, 1000), Point(1010, 1015), Point(5200, 5000), Point(3000, 3000), Point(9010, 9000)],
        index=["gp-1", "gp-2", "gp-3", "gp-4", "gp-5"], crs="EPSG:27700")  # fmt: skip
    merged, left, counts = merge_cqc_locations(cqc, prem, _practices())
    assert counts == {"merged": 3, "former": 1, "not_nhs": 1}  # gp-1 by postcode (80 m off), gp-2 within 25 m, gp-5 (closed premises)
    assert merged.loc["ods-P1", "other_names"] == "Dr Ngan and Partners; Vallance Medical Centre"
    assert merged.loc["ods-P6", "cqc_locations"] == 1  # the closed premises hold the skin clinic's location: merged, still closed
    assert left.loc["gp-3", "premises_status"] == "former" and left.loc["gp-4", "premises_status"] == "not_nhs"
    assert (left["role"] == "asset").all()
    assert resolve_site_ids(merged, ["gp-1"]) == ["ods-P1"]
    assert names_match("Droylsden Road Family Practice", "DROYLSDEN RD FAMILY PRACTICE")
    assert not names_match("Nuffield Health Manchester Diagnostic Suite", "MANCHESTER MEDICAL")


def test_capacity_from_an_estates_file_at_a_stated_ratio(tmp_path):
    f = tmp_path / "estates.csv"
    f.write_text("site_id,name,type,floor_area,clinical_rooms,lon,lat\nE1,Hub,health_centre,1200,,-2.24,53.48\n"
                 "E2,Rooms,council,,8,-2.23,53.47\nE3,Hall,community_centre,,,-2.22,53.46\n")  # fmt: skip
    s = read_estates_file(f, default_role=default_role)
    cap = site_capacity(s, PlanningRatios(patients_per_m2=10, patients_per_room=2000))
    assert cap.loc["E1", "capacity"] == 12_000 and "1,200 m² × 10.0 patients per m²" in cap.loc["E1", "capacity_source"]
    assert cap.loc["E2", "capacity"] == 16_000 and cap.loc["E3", "capacity_source"] == "unknown"
    s = s.assign(capacity=cap["capacity"])
    ids, text = hub_candidates(s, CandidateFilter(min_capacity=13_000))
    assert ids == ["E2", "E3"] and "capacity ≥ 13,000: 1 excluded as smaller, 1 of unknown capacity kept" in text
    ids, text = hub_candidates(s, CandidateFilter(min_capacity=13_000, unknown_capacity="drop"))
    assert ids == ["E2"] and "1 of unknown capacity dropped" in text
    with pytest.raises(PlacekitError, match="clinical_rooms"):
        f.write_text("name,type,clinical_rooms,lon,lat\nA,gp,-2,-2.2,53.4\n")
        read_estates_file(f)


@pytest.mark.realdata
def test_real_premises_one_site_per_building(real_place):
    """The CQC list and ODS name each NHS practice once; private clinics are assets; every hub shows capacity and residents served."""
    g = baseline_grouping(real_place)
    a = build_access(real_place, g, mode="drive")
    s = a.sites
    cand, note = hub_candidates(s)
    c = s.loc[cand]
    gp = c[c["practice_codes"].notna()]
    owners = gp["practice_codes"].str.split(";").explode()
    assert not owners.duplicated().any()  # no practice in two candidates
    assert not gp["postcode"].str.replace(" ", "").duplicated().any()  # no two GP candidates at one postcode
    assert set(s.loc[s["site_type"] == "gp", "premises_status"]) <= {"former", "not_nhs"}
    for name in ("MASTA Travel Clinic - Manchester", "Skin Medical Manchester", "Nuffield Health Manchester Printworks Fitness and Wellbeing Centre"):
        row = s[s["name"] == name]
        assert len(row) == 1 and row["role"].iloc[0] == "asset" and row.index[0] not in cand, name
    brunswick = s[s["practice_codes"].fillna("").str.contains("P84005")].iloc[0]  # Vallance, Ardwick and Brunswick at M13 9UJ
    assert brunswick["practices"] == 3 and brunswick["capacity"] == sum(real_place.practice_lists[c] for c in ("P84005", "P84037", "P84611"))
    assert "GP premises left out" in note and "not nhs" in note and "one site per building" in note
    res = site_hubs(a, p=12, method="exact", candidates=CandidateFilter(min_capacity=8000, unknown_capacity="drop"))
    ev = evaluate_hubs(a, res.hubs)
    assert (ev.report["capacity"] >= 8000).all() and ev.report["residents_served"].sum() == 529_282
    assert {"capacity", "capacity_source", "served_per_capacity", "residents_mean_minutes_low", "residents_mean_minutes_high"} <= set(ev.report)
    assert ev.calibration["share_below"] == 1.0  # every trip to a hub is shorter than the 4.3 km of the calibration pairs
    cap = site_hubs(a, p=12, method="exact", capacitated=True, capacity_factor=4, candidates=CandidateFilter(unknown_capacity="drop"))
    assert cap.status == "Optimal" and (cap.loads <= 4 * s.loc[cap.loads.index, "capacity"] + 1e-6).all()
    assert cap.objective >= site_hubs(a, p=12, method="exact", candidates=CandidateFilter(min_capacity=1)).objective - 1e-6
