"""Loaders: each bad input gets its own error naming the file and the fix."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from geo import loaders
from geo._validate import GeometryRepairWarning, lsoa_vintage_of
from geo.registrations import combine_registrations, convert_lsoa_vintage, read_registrations
from placekit.errors import (
    CRSError,
    DataRootError,
    DuplicateCodeError,
    MissingColumnError,
    PlacekitError,
    VintageMismatchError,
)


def _write_geojson(path, features, crs="EPSG:4326"):
    gdf = gpd.GeoDataFrame(features, crs=crs)
    gdf.to_file(path, driver="GeoJSON")
    return path


def test_read_wards_projects_to_bng_and_indexes_by_code(tmp_path):
    p = _write_geojson(
        tmp_path / "w.geojson",
        {
            "WD13CD": ["E05000001", "E05000002"],
            "WD13NM": ["A", "B"],
            "geometry": [box(-2.25, 53.45, -2.24, 53.46), box(-2.24, 53.45, -2.23, 53.46)],
        },
    )
    w = loaders.read_wards(p)
    assert w.crs.to_epsg() == 27700
    assert list(w.index) == ["E05000001", "E05000002"]
    assert w.index.name == "ward_code"
    assert 380_000 < w.geometry.iloc[0].centroid.x < 390_000
    assert w.attrs["vintage"] == "WD13"


def test_missing_column_names_file_and_near_match(tmp_path):
    p = _write_geojson(tmp_path / "w.geojson", {"WD13_CD": ["E05000001"], "WD13NM": ["A"], "geometry": [box(-2.25, 53.45, -2.24, 53.46)]})
    with pytest.raises(MissingColumnError, match=r"w.geojson is missing column\(s\) \['WD13CD'\].*looks like 'WD13_CD'"):
        loaders.read_wards(p)


def test_duplicate_codes_are_listed(tmp_path):
    p = _write_geojson(
        tmp_path / "w.geojson",
        {"WD13CD": ["E05000001", "E05000001"], "WD13NM": ["A", "B"], "geometry": [box(-2.25, 53.45, -2.24, 53.46)] * 2},
    )
    with pytest.raises(DuplicateCodeError, match="E05000001"):
        loaders.read_wards(p)


def test_missing_crs_is_refused(tmp_path):
    p = tmp_path / "nocrs.geojson"
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"WD13CD": "E05000001", "WD13NM": "A"},
                "geometry": {"type": "Polygon", "coordinates": [[[380000, 395000], [381000, 395000], [381000, 396000], [380000, 395000]]]},
            }
        ],
    }
    p.write_text(json.dumps(doc))
    # GeoJSON is WGS84 by definition, so projected numbers land far outside Great Britain.
    with pytest.raises(CRSError, match="outside Great Britain"):
        loaders.read_wards(p)


@pytest.mark.filterwarnings("ignore:.crs. was not provided:UserWarning")  # the file is written without a CRS on purpose
def test_shapefile_without_prj_needs_a_crs(tmp_path):
    gdf = gpd.GeoDataFrame({"WD13CD": ["E05000001"], "WD13NM": ["A"]}, geometry=[box(380000, 395000, 381000, 396000)])
    p = tmp_path / "w.shp"
    gdf.to_file(p)
    with pytest.raises(CRSError, match="has no CRS"):
        loaders.read_wards(p)
    w = loaders.read_wards(p, crs="EPSG:27700")
    assert w.geometry.iloc[0].area == pytest.approx(1e6)


def test_invalid_geometry_is_repaired_and_reported(tmp_path):
    bowtie = Polygon([(-2.25, 53.45), (-2.24, 53.46), (-2.24, 53.45), (-2.25, 53.46)])
    p = _write_geojson(tmp_path / "w.geojson", {"WD13CD": ["E05000009"], "WD13NM": ["Bow"], "geometry": [bowtie]})
    with pytest.warns(GeometryRepairWarning, match="E05000009"):
        w = loaders.read_wards(p)
    assert w.geometry.is_valid.all()
    assert w.geometry.iloc[0].area > 0


def test_missing_file_names_the_fix(tmp_path):
    with pytest.raises(DataRootError, match="PLACEKIT_DATA"):
        loaders.read_wards(tmp_path / "nope.geojson")


def test_lsoa_vintage_detection():
    assert lsoa_vintage_of(["E01005061", "E01033768"]) == "2011"
    assert lsoa_vintage_of(["E01005061", "E01034107"]) == "2021"
    assert lsoa_vintage_of(["NO2011"]) is None


def test_2021_lsoas_against_2011_lookup_is_a_vintage_mismatch(tmp_path):
    p = tmp_path / "look.csv"
    pd.DataFrame(
        {
            "LSOA11CD": ["E01005061", "E01034107"],
            "LSOA11NM": ["a", "b"],
            "WD17CD": ["E05000687"] * 2,
            "WD17NM": ["x"] * 2,
            "LAD17CD": ["E08000003"] * 2,
            "LAD17NM": ["Manchester"] * 2,
        }
    ).to_csv(p, index=False)
    with pytest.raises(VintageMismatchError, match="2021 LSOA codes.*E01034107.*2011"):
        loaders.read_lsoa_ward_lookup(p)


def test_population_bands_and_thousands_separators(tmp_path):
    p = tmp_path / "pop.csv"
    p.write_text(
        "LSOA code (2011),LSOA name (2011),Total population: mid 2015,Dependent Children aged 0-15: mid 2015,"
        "Population aged 16-59: mid 2015,Older population aged 60 and over: mid 2015\n"
        'E01000001,a,"1,600",300,"1,000",300\n'
    )
    pop = loaders.read_population(p)
    assert pop.loc["E01000001"].tolist() == [1600, 300, 1000, 300]


def test_population_non_numeric_is_refused(tmp_path):
    p = tmp_path / "pop.csv"
    p.write_text(
        "LSOA code (2011),Total population: mid 2015,Dependent Children aged 0-15,Population aged 16-59,Older population aged 60 and over\n"
        "E01000001,lots,1,1,1\n"
    )
    with pytest.raises(PlacekitError, match="lots. is not a number"):
        loaders.read_population(p)


def _epraccur_row(code, postcode, status="A", setting="4"):
    row = [""] * len(loaders.EPRACCUR_COLUMNS)
    row[0], row[1], row[9], row[10], row[12], row[14], row[25] = code, f"Practice {code}", postcode, "19740401", status, "14L", setting
    return row


def test_headerless_epraccur_is_geocoded_and_failures_reported(tmp_path):
    p = tmp_path / "epraccur.csv"
    rows = [
        _epraccur_row("P84001", "M13 9WL"),
        _epraccur_row("P84002", "ZZ99 9ZZ"),
        _epraccur_row("P84003", "M14 5NP", status="C"),
        _epraccur_row("Y99999", "M1 1AA", setting="0"),
    ]
    pd.DataFrame(rows).to_csv(p, index=False, header=False)
    with pytest.warns(loaders.GeocodeWarning, match=r"P84002 \(ZZ99 9ZZ\)"):
        prac = loaders.read_practices(p)
    assert list(prac.index) == ["P84001", "P84002", "P84003"]  # setting 0 (not a GP practice) left out
    assert prac.loc["P84001", "geocoded"]
    assert not prac.loc["P84002", "geocoded"]
    assert prac.attrs["geocode_failures"] == ["P84002"]
    x, y = prac.geometry["P84001"].x, prac.geometry["P84001"].y
    assert 383_000 < x < 388_000 and 394_000 < y < 399_000  # Oxford Road, Manchester
    closed = loaders.closed_practices(prac, ["P84001", "P84003"])
    assert list(closed.index) == ["P84003"]


def test_strict_geocode_raises(tmp_path):
    p = tmp_path / "epraccur.csv"
    pd.DataFrame([_epraccur_row("P84002", "ZZ99 9ZZ")]).to_csv(p, index=False, header=False)
    from placekit.errors import GeocodeError

    with pytest.raises(GeocodeError, match="ZZ99 9ZZ"):
        loaders.read_practices(p, strict_geocode=True)


def test_catchment_shares_over_one_refused(tmp_path):
    p = tmp_path / "c.csv"
    pd.DataFrame({"msoa_code": ["E02000001", "E02000001"], "trust_code": ["R0A", "RW6"], "proportion": [0.7, 0.5]}).to_csv(p, index=False)
    with pytest.raises(PlacekitError, match="more than 1"):
        loaders.read_catchments(p)


def test_sites_without_coordinates_need_a_postcode_column(tmp_path):
    p = tmp_path / "s.csv"
    pd.DataFrame({"name": ["x"], "lon": [""], "lat": [""]}).to_csv(p, index=False)
    with pytest.raises(MissingColumnError, match="postcode"):
        loaders.read_sites(p, site_type="library")


@pytest.mark.parametrize("postcodes", [["", " "], None])
def test_sites_with_neither_location_nor_postcode_are_refused(tmp_path, postcodes):
    """A blank postcode is no postcode: the rows with neither are named, not silently left unlocated."""
    p = tmp_path / "s.csv"
    table = {"name": ["Central Library", "Branch"], "lon": ["-2.2446", ""], "lat": ["53.4780", ""]}
    if postcodes is not None:
        table["postcode"] = postcodes
    pd.DataFrame(table).to_csv(p, index=False)
    with pytest.raises(PlacekitError, match=r"1 site\(s\) have neither coordinates nor a postcode: \['library-0001'\]"):
        loaders.read_sites(p, site_type="library", postcode_col="postcode" if postcodes is not None else None)


# --------------------------------------------------------------------------- registrations
def test_registrations_publisher_layouts(tmp_path):
    full = tmp_path / "gp-reg-pat-prac-lsoa-all.csv"
    pd.DataFrame(
        {
            "PUBLICATION": "GP_PRAC_PAT_LIST",
            "EXTRACT_DATE": "01JUL2022",
            "PRACTICE_CODE": ["P1", "P1", "P2"],
            "PRACTICE_NAME": ["A", "A", "B"],
            "LSOA_CODE": ["E01000001", "NO2011", "W01000001"],
            "SEX": "ALL",
            "NUMBER_OF_PATIENTS": [5, 2, 1],
        }
    ).to_csv(full, index=False)
    r = read_registrations(full)
    assert r["patients"].sum() == 8 and set(r["lsoa_code"]) == {"E01000001", "NO2011", "W01000001"}
    assert r.attrs["extract_date"] == "01JUL2022" and r.attrs["lsoa_vintage"] == "2011"
    mf = tmp_path / "mf.csv"
    pd.DataFrame(
        {
            "PRACTICE_CODE": ["P1", "P1"],
            "PRACTICE_NAME": "A",
            "LSOA_CODE": ["E01000001"] * 2,
            "SEX": ["MALE", "FEMALE"],
            "NUMBER_OF_PATIENTS": [3, 2],
        }
    ).to_csv(mf, index=False)
    assert read_registrations(mf)["patients"].sum() == 5
    pq = tmp_path / "upstream.parquet"
    pd.DataFrame({"OrganisationCode": ["P1"], "OranisationName": ["A"], "LSOA11CD": ["E01000001"], "Patient": [4]}).to_parquet(pq)
    assert read_registrations(pq).iloc[0].to_dict() | {} == {
        "practice_code": "P1",
        "practice_name": "A",
        "lsoa_code": "E01000001",
        "sex": "ALL",
        "patients": 4,
    }


@pytest.mark.parametrize(("value", "match"), [("-3", "negative"), ("many", "not a number"), ("45.9", "not a whole number"), ("1e30", "larger than")])
def test_registrations_bad_counts(tmp_path, value, match):
    p = tmp_path / "r.csv"
    p.write_text(f"PRACTICE_CODE,PRACTICE_NAME,LSOA_CODE,NUMBER_OF_PATIENTS\nP1,A,E01000001,{value}\n")
    with pytest.raises(PlacekitError, match=match):
        read_registrations(p)


def test_registrations_other_vintage_refused(tmp_path):
    p = tmp_path / "r21.csv"
    p.write_text("PRACTICE_CODE,PRACTICE_NAME,LSOA_CODE,NUMBER_OF_PATIENTS\nP1,A,E01034107,3\n")
    with pytest.raises(VintageMismatchError, match="2021 LSOAs but 2011"):
        read_registrations(p, lsoa_vintage="2011")


def test_combine_registrations_checks_agreement():
    a = pd.DataFrame({"practice_code": ["P1"], "practice_name": ["A"], "lsoa_code": ["E01000001"], "sex": "ALL", "patients": [4]})
    b = pd.DataFrame(
        {"practice_code": ["P1", "P2"], "practice_name": "", "lsoa_code": ["E01000001", "E01000001"], "sex": "ALL", "patients": [4, 1]}
    )
    c = combine_registrations([a, b])
    assert c["patients"].sum() == 5 and c.loc[c.practice_code == "P1", "practice_name"].item() == "A"
    b2 = b.assign(patients=[9, 1])
    with pytest.raises(PlacekitError, match="disagree"):
        combine_registrations([a, b2])


def test_convert_lsoa_vintage_keeps_every_patient():
    reg = pd.DataFrame(
        {
            "practice_code": ["P1", "P1", "P2", "P2"],
            "practice_name": "",
            "lsoa_code": ["E01034107", "E01034108", "E01034107", "NO2021"],
            "sex": "ALL",
            "patients": [7, 5, 3, 2],
        }
    )
    # E01034107 (2021) was carved from two 2011 LSOAs; E01034108 maps to one.
    look = pd.DataFrame(
        {"LSOA21CD": ["E01034107", "E01034107", "E01034108"], "LSOA11CD": ["E01005001", "E01005002", "E01005003"], "w": [2.0, 1.0, 1.0]}
    )
    out = convert_lsoa_vintage(reg, look, from_col="LSOA21CD", to_col="LSOA11CD", weight_col="w", to_vintage="2011")
    assert out.groupby("practice_code")["patients"].sum().to_dict() == {"P1": 12, "P2": 5}
    p1 = out[out.practice_code == "P1"].set_index("lsoa_code")["patients"]
    assert p1.to_dict() == {"E01005001": 5, "E01005002": 2, "E01005003": 5}  # 7 × 2/3 = 4.67 → 5, 7 × 1/3 → 2
    assert "NO2011" in set(out["lsoa_code"]) and out.attrs["lsoa_vintage"] == "2011"


def test_lsoa11_lsoa21_lookup(tmp_path):
    p = tmp_path / "lk.csv"
    p.write_text(
        "\ufeffObjectId,LSOA11CD,LSOA11NM,LSOA21CD,LSOA21NM,LAD22CD,LAD22NM,LAD22NMW\n"
        "1,E01005062,Manchester 001A,E01005062,Manchester 001A,E08000003,Manchester,\n"
        "2,E01005063,Manchester 001B,E01033999,Manchester 001F,E08000003,Manchester,\n",
        encoding="utf-8",
    )
    lk = loaders.read_lsoa11_lsoa21_lookup(p)
    assert lk.loc["E01005063", "lsoa21_code"] == "E01033999" and lk.attrs["method"].startswith("ONS best fit")
    p.write_text("LSOA11CD,LSOA21CD\nE01005062,E01005062\n", encoding="utf-8")
    with pytest.raises(MissingColumnError, match="LSOA21NM"):
        loaders.read_lsoa11_lsoa21_lookup(p)
