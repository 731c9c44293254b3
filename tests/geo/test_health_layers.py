"""Loaders of the health, census and asset layers: each on a hand-built file, and each bad input with its error."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo.assets import assets_layer, read_assets
from geo.census import AGE6_BANDS, lsoa21_wards, read_census_age6
from geo.health import QOFAnomalyWarning, RegisterOverListError, read_practice_ages, read_qof
from geo.manifest import LayerSpec
from placekit.errors import DuplicateCodeError, PlacekitError, UnknownCodeError, VintageMismatchError

QOF_HEADER = "PRACTICE_CODE,GROUP_CODE,REGISTER,PATIENT_LIST_TYPE,PRACTICE_LIST_SIZE\n"


def _qof(tmp_path, rows: list[str], name: str = "PREVALENCE.csv"):
    p = tmp_path / name
    p.write_text(QOF_HEADER + "\n".join(rows) + "\n")
    return p


def _mapping(tmp_path, codes):
    cols = ["NAT_ONS_CODE", "PRACTICE_CODE", "PRACTICE_NAME", "PCN_ODS_CODE", "PCN_NAME", "SUB_ICB_ODS_CODE", "SUB_ICB_NAME", "ICB_ODS_CODE",
            "ICB_NAME", "REGION_NAME"]  # fmt: skip
    df = pd.DataFrame([["E92000001", c, f"Practice {c}", "U1", "PCN one", "14L", "Sub ICB", "QOP", "GM", "North West"] for c in codes],
                      columns=cols)  # fmt: skip
    p = tmp_path / "MAPPING.csv"
    df.to_csv(p, index=False)
    return p


GOOD = ["P84001,DM,112.0,17OV,900", "P84001,HYP,150.0,TOTAL,1000", "P84002,DM,30.0,17OV,400", "P84002,HYP,40.0,TOTAL,500"]


def test_read_qof_pivots_registers_and_lists_with_their_bases(tmp_path):
    q = read_qof(_qof(tmp_path, GOOD), _mapping(tmp_path, ["P84001", "P84002"]), vintage="QOF test")
    assert list(q.index) == ["P84001", "P84002"]
    assert q.at["P84001", "register_DM"] == 112 and q["register_DM"].dtype == np.int64
    assert q.at["P84001", "list_17OV"] == 900 and q.at["P84002", "list_TOTAL"] == 500
    assert q.attrs["bases"] == {"DM": "17OV", "HYP": "TOTAL"}
    assert q.at["P84002", "sub_icb_code"] == "14L" and q.attrs["vintage"] == "QOF test"


def test_qof_practice_absent_from_mapping_is_an_unknown_code(tmp_path):
    with pytest.raises(UnknownCodeError, match=r"unknown practice code\(s\): \['P84002'\].*MAPPING.csv"):
        read_qof(_qof(tmp_path, GOOD), _mapping(tmp_path, ["P84001"]))


def test_qof_malformed_practice_code_is_refused(tmp_path):
    with pytest.raises(PlacekitError, match=r"not ODS practice codes.*'84001'"):
        read_qof(_qof(tmp_path, ["84001,DM,1,17OV,10", "84001,HYP,1,TOTAL,10"]))


def test_qof_register_larger_than_list_is_refused_or_kept_with_a_warning(tmp_path):
    rows = ["P84001,DM,950,17OV,900", "P84001,HYP,150,TOTAL,1000"]
    with pytest.raises(RegisterOverListError, match=r"P84001 DM register 950 > list 900.*over_list"):
        read_qof(_qof(tmp_path, rows))
    with pytest.warns(QOFAnomalyWarning, match="P84001 DM"):
        q = read_qof(_qof(tmp_path, rows), over_list="warn")
    assert q.attrs["register_over_list"] == [("P84001", "DM", 950, 900)]


@pytest.mark.parametrize(("value", "match"), [("many", "is not a number"), ("", "is not a number"), ("-3", "negative"), ("2.5", "not a whole number")])
def test_qof_bad_counts_name_the_column_and_row(tmp_path, value, match):
    with pytest.raises(PlacekitError, match=match):
        read_qof(_qof(tmp_path, [f"P84001,DM,{value},17OV,900", "P84001,HYP,1,TOTAL,1000"]))


def test_qof_repeated_pair_and_mixed_bases_are_refused(tmp_path):
    with pytest.raises(DuplicateCodeError, match=r"P84001', 'DM'"):
        read_qof(_qof(tmp_path, GOOD + ["P84001,DM,5,17OV,900"]))
    with pytest.raises(PlacekitError, match=r"more than one PATIENT_LIST_TYPE"):
        read_qof(_qof(tmp_path, ["P84001,DM,5,17OV,900", "P84002,DM,5,18OV,900"]))
    with pytest.raises(PlacekitError, match=r"have no row"):
        read_qof(_qof(tmp_path, ["P84001,DM,5,17OV,900", "P84001,HYP,5,TOTAL,1000", "P84002,DM,5,17OV,900"]))


AGES = "PRACTICE_CODE,TOTAL,16OV,17OV,18OV,30_74,50OV,0_64,65OV,65OV%\n"


def test_read_practice_ages_and_its_checks(tmp_path):
    p = tmp_path / "ages.csv"
    p.write_text(AGES + "P84001,1000,800,790,780,500,300,850,150,0.15\nP84002,500,400.5,390,380,250,150,450,50,0.1\n")
    a = read_practice_ages(p, vintage="April 2020")
    assert a.at["P84001", "age_65_plus"] == 150 and a.at["P84001", "share_65_plus"] == pytest.approx(0.15)
    assert a.attrs["estimated"] == ["P84002"]
    p.write_text(AGES + "P84001,1000,800,790,780,500,300,800,150,0.15\n")
    with pytest.raises(PlacekitError, match=r"0_64 \+ 65OV must equal TOTAL"):
        read_practice_ages(p)
    p.write_text(AGES + "P84001,1000,800,790,795,500,300,850,150,0.15\n")
    with pytest.raises(PlacekitError, match=r"P84001"):
        read_practice_ages(p)
    p.write_text(AGES + "P84001,1000,x,790,780,500,300,850,150,0.15\n")
    with pytest.raises(PlacekitError, match=r"'16OV' must hold numbers of patients .* 'x' is not a number"):
        read_practice_ages(p)


def _census(tmp_path, codes, value="10"):
    rows = [f"{c},Place {c},{band},{value}" for c in codes for band in AGE6_BANDS]
    p = tmp_path / "census.csv"
    p.write_text("lsoa21_code,lsoa21_name,age_group,usual_residents\n" + "\n".join(rows) + "\n")
    return p


def test_read_census_age6_wide_with_total(tmp_path):
    c = read_census_age6(_census(tmp_path, ["E01000001", "E01033800"]))
    assert c.loc["E01000001", "population"] == 60 and c.loc["E01000001", "age_65_plus"] == 10
    assert c.index.name == "lsoa21_code"


def test_census_bad_inputs(tmp_path):
    p = _census(tmp_path, ["E01000001"])
    p.write_text(p.read_text().replace("Aged 65 years and over", "Aged 65+"))
    with pytest.raises(PlacekitError, match="unknown age_group"):
        read_census_age6(p)
    p = _census(tmp_path, ["E01000001"])
    p.write_text("\n".join(p.read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(PlacekitError, match="lack some of the six age bands"):
        read_census_age6(p)
    with pytest.raises(PlacekitError, match="is not a number"):
        read_census_age6(_census(tmp_path, ["E01000001"], value="n/a"))
    with pytest.raises(VintageMismatchError, match="on 2011 LSOAs"):
        read_census_age6(_census(tmp_path, [f"E01{i:06d}" for i in range(1, 1100)]))


def test_lsoa21_wards_keeps_every_lsoa_once(tmp_path):
    """Unchanged, merged (most populous parent wins) and split-only (placed by area) 2021 LSOAs all land in one ward."""
    wards = gpd.GeoDataFrame({"name": ["W1", "W2"]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)],
                             index=pd.Index(["E05000001", "E05000002"], name="ward_code"), crs="EPSG:27700")  # fmt: skip
    look = pd.DataFrame({"lsoa21_code": ["E01000001", "E01040000", "E01040000"]}, index=pd.Index(["E01000001", "E01000002", "E01000003"]))
    l11_ward = pd.Series({"E01000001": "E05000001", "E01000002": "E05000001", "E01000003": "E05000002"})
    pop11 = pd.Series({"E01000001": 10, "E01000002": 5, "E01000003": 50})
    l21 = gpd.GeoDataFrame(geometry=[box(0, 0, 5, 5), box(5, 0, 15, 5), box(12, 5, 20, 10)],
                           index=pd.Index(["E01000001", "E01040000", "E01040001"]), crs="EPSG:27700")  # fmt: skip
    out = lsoa21_wards(pd.Index(l21.index), look, l11_ward, pop11, wards=wards, lsoas21=l21)
    assert out.to_dict() == {"E01000001": "E05000001", "E01040000": "E05000002", "E01040001": "E05000002"}
    assert (out.attrs["by_lookup"], out.attrs["by_boundaries"]) == (2, 1)
    with pytest.raises(PlacekitError, match=r"no 2021 LSOA boundaries"):
        lsoa21_wards(pd.Index(l21.index), look, l11_ward, pop11, wards=wards)
    retired = pd.DataFrame({"lsoa21_code": ["E01040000"]}, index=pd.Index(["E01000002"]))
    with pytest.raises(VintageMismatchError, match="retired"):
        lsoa21_wards(pd.Index(["E01000002"]), retired, l11_ward, pop11, wards=wards, lsoas21=l21)


def test_read_assets_joins_buildings_of_one_site(tmp_path):
    # Two buildings 4 m apart (one site) and one 200 m away; EPSG:27700 for exact distances.
    polys = gpd.GeoDataFrame({"DISTNAME": ["Unknown", "St Anne's", "Unknown"]},
                             geometry=[box(0, 0, 10, 10), box(14, 0, 20, 10), box(220, 0, 230, 10)], crs="EPSG:27700")  # fmt: skip
    polys = polys.set_geometry(polys.translate(380_000, 395_000))
    p = tmp_path / "worship.geojson"
    polys.to_file(p, driver="GeoJSON")
    a = read_assets(p, asset_type="place_of_worship", name_col="DISTNAME")
    assert len(a) == 2 and sorted(a["buildings"]) == [1, 2]
    assert "St Anne's" in set(a["name"]) and a.crs.to_epsg() == 27700
    pts = tmp_path / "jobs.csv"
    pts.write_text("name,lon,lat\nCentre A,-2.25,53.46\n")
    j = read_assets(pts, asset_type="jobcentre", name_col="name")
    assert j.iloc[0]["name"] == "Centre A" and 380_000 < j.geometry.x.iloc[0] < 390_000
    with pytest.raises(PlacekitError, match='`asset_type` was "gym"'):
        read_assets(pts, asset_type="gym")
    spec = LayerSpec("assets", ("a", "b"), "community-assets", "2018", options={"types": ["jobcentre"]})
    with pytest.raises(PlacekitError, match="one asset type per file"):
        assets_layer(spec, [pts, pts])


def test_assets_without_location_are_left_out(tmp_path):
    p = tmp_path / "banks.geojson"
    gpd.GeoDataFrame({"Name": ["A", "B"]}, geometry=[Point(-2.25, 53.46), None], crs="EPSG:4326").to_file(p, driver="GeoJSON")
    a = read_assets(p, asset_type="food_bank", name_col="Name")
    assert list(a["name"]) == ["A"]
