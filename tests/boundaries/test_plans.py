"""Plans out (GeoPackage, GeoJSON, CSV with every figure) and back in (polygons or an assignment table → a grouping)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import box

from boundaries.flowbase import flow_base_from_place
from boundaries.flows import compute_flows
from boundaries.grouping import Grouping
from boundaries.health import health_table
from boundaries.plan_export import FIELDS, HEALTH_FIELDS, plan_layers, write_plan
from boundaries.plan_import import SLIVER, grouping_from_polygons, import_plan, read_plan_polygons
from boundaries.profiles import profile
from placekit.errors import CRSError, InvalidGroupingError, PlacekitError, ScenarioFileError
from tests.conftest import X0, Y0, _tiny_place

README = Path(__file__).resolve().parents[2] / "README.md"
WARDS = [f"E0590000{i}" for i in range(1, 7)]

# The export's field names, frozen: a renamed field breaks QGIS projects and spreadsheets built on the files, so a
# change must be made here, in FIELDS and in the README's table together, on purpose.
FROZEN = {
    "neighbourhoods": "name locality wards res_cont list_cont contained res_reg reg_list pop_band list_band res_outcty lst_outcty "
                      "lst_unknwn n_prac practices",
    "localities": "name wards gp_reg gp_rcity gp_rcityp gp_roth gp_rothp gp_runkn gp_runit gp_runitp res_reg res_rcity res_rcityp "
                  "res_rout res_routp res_runit res_runitp",
    "profile": "lsoas pop15 age0_15 age16_59 age60p sh60p area_km2 dens15 imd_dec imd_d1sh prem_prac prem_list pop21 c21_0_15 "
               "c21_16_24 c21_25_34 c21_35_49 c21_50_64 c21_65p c21_16_64 c21_sh65p dens21",
    "wards": "code name nbhd locality pop15 pop21",
    "practices": "code name pcn team decided prem_ward prem_nbhd reg_list in_team own_share second sec_share out_city unknown",
    "hubs": "site_id name type ward nbhd",
    "health": "reg list prev rcty reng rreg rlist rprev rrcty rreng",
}  # fmt: skip


@pytest.fixture(scope="module")
def place():
    return _tiny_place()


@pytest.fixture(scope="module")
def grouping():
    g = Grouping({WARDS[0]: "A", WARDS[1]: "A", WARDS[2]: "B", WARDS[3]: "C", WARDS[4]: "C", WARDS[5]: "B"},
                 {"A": "West", "B": "East", "C": "West"}, name="tiny")  # fmt: skip
    return g.assign_practices(["P00002"], "B").with_practice_rule("patients")


@pytest.fixture(scope="module")
def exported(place, grouping, tmp_path_factory):
    """One export of the tiny plan in every format, and its layers."""
    folder = tmp_path_factory.mktemp("export")
    plan = plan_layers(place, grouping, generated="2026-01-01T00:00:00Z")
    paths = {fmt: write_plan(plan, folder / f"plan.{fmt}", fmt=fmt) for fmt in ("gpkg", "geojson", "csv")}
    return plan, paths


def test_field_names_are_frozen_short_and_in_the_readme():
    assert {k: " ".join(v) for k, v in FIELDS.items()} | {"health": " ".join(HEALTH_FIELDS)} == FROZEN
    names = [f for spec in FIELDS.values() for f in spec] + [f"COPD_{s}" for s in HEALTH_FIELDS]
    assert max(map(len, names)) <= 10 and all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", n) for n in names)
    section = README.read_text(encoding="utf-8").split("### Export fields", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\w+) \| `(\w+)` \|", section, flags=re.M)
    assert rows == [(layer, f) for layer, spec in FIELDS.items() for f in spec] + [("health", f"C_{s}") for s in HEALTH_FIELDS]


def test_geopackage_reads_back_with_its_layers_crs_counts_and_figures(exported, place, grouping):
    plan, paths = exported
    listed = pyogrio.list_layers(paths["gpkg"])
    assert [str(n) for n, _ in listed] == ["neighbourhoods", "localities", "wards", "practices", "fields", "about"]
    assert [str(t) for _, t in listed[:4]] == ["MultiPolygon", "MultiPolygon", "MultiPolygon", "Point"]
    nb = gpd.read_file(paths["gpkg"], layer="neighbourhoods")
    assert nb.crs.to_epsg() == 27700
    assert [len(gpd.read_file(paths["gpkg"], layer=n)) for n in ("neighbourhoods", "localities", "wards", "practices")] == [3, 2, 6, 3]
    flows = compute_flows(flow_base_from_place(place), grouping).neighbourhoods
    assert np.allclose(nb.set_index("name")["res_cont"], flows["resident_containment"].reindex(nb["name"]))
    assert nb.set_index("name")["reg_list"].to_dict() == flows["registered_list"].to_dict()
    assert nb["pop15"].sum() == place.population["population"].sum()  # every resident once
    assert np.isclose(nb.geometry.area.sum(), place.wards.geometry.area.sum())  # the wards dissolved, nothing lost
    info = pyogrio.read_info(paths["gpkg"], layer="neighbourhoods")
    assert "dissolved from the wards" in info["layer_metadata"]["DESCRIPTION"] and "registered patients" in info["layer_metadata"]["DESCRIPTION"]
    fields = pyogrio.read_dataframe(paths["gpkg"], layer="fields", read_geometry=False)
    assert set(fields.loc[fields["layer"] == "neighbourhoods", "field"]) == set(nb.columns) - {"geometry"}
    assert fields.set_index(["layer", "field"]).loc[("neighbourhoods", "pop15"), "base"] == "residents, test"
    practices = gpd.read_file(paths["gpkg"], layer="practices").set_index("code")
    assert practices.loc["P00002", ["team", "decided"]].tolist() == ["B", "explicit"]
    about = pyogrio.read_dataframe(paths["gpkg"], layer="about", read_geometry=False).set_index("key")["value"]
    assert about["practice_rule"] == "patients" and about["crs"] == "EPSG:27700"


def test_geojson_is_rfc7946_and_csv_holds_the_same_attributes(exported):
    plan, paths = exported
    gj = gpd.read_file(paths["geojson"])
    assert gj.crs.to_epsg() == 4326 and len(gj) == 3
    minx, miny, maxx, maxy = gj.total_bounds
    assert -3 < minx < maxx < -1 and 52 < miny < maxy < 55  # longitude first, Manchester
    assert '"crs"' not in paths["geojson"].read_text(encoding="utf-8")  # RFC 7946 has no crs member
    table = pd.read_csv(paths["csv"])
    assert list(table.columns) == [c for c in plan.layers["neighbourhoods"].columns if c != "geometry"]
    assert np.allclose(table["res_cont"], gj["res_cont"])


def test_export_refuses_a_wrong_name_or_a_layer_for_a_geopackage(exported, tmp_path):
    plan, _ = exported
    with pytest.raises(PlacekitError, match="ending .gpkg"):
        write_plan(plan, tmp_path / "x.geojson", fmt="gpkg")
    with pytest.raises(PlacekitError, match="holds every layer"):
        write_plan(plan, tmp_path / "x.gpkg", fmt="gpkg", layer="wards")
    with pytest.raises(PlacekitError, match="hubs"):
        write_plan(plan, tmp_path / "x.csv", fmt="csv", layer="hubs")  # no hubs chosen: no such layer


def test_round_trip_gives_back_the_same_grouping(exported, place, grouping):
    _, paths = exported
    for path, by in ((paths["gpkg"], "area"), (paths["gpkg"], "residents"), (paths["geojson"], "area")):
        result = import_plan(path, place, by=by)
        g = result.grouping
        assert (g.ward_to_neighbourhood, g.neighbourhood_to_locality) == (grouping.ward_to_neighbourhood, grouping.neighbourhood_to_locality)
        assert result.problems.empty, result.problems
    g = import_plan(paths["gpkg"], place).grouping  # a GeoPackage also carries the practice rule and explicit practices
    assert (g.practice_rule, g.practice_to_neighbourhood) == ("patients", {"P00002": "B"})


def _polygons(*shapes: tuple[str, object], crs: str = "EPSG:27700") -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame({"name": [n for n, _ in shapes]}, geometry=[s for _, s in shapes], crs="EPSG:27700").to_crs(crs)
    gdf.attrs["source"] = "hand-drawn plan"
    return gdf


def test_a_ward_split_between_polygons_is_reported_with_its_shares(place):
    # West: wards 1, 4 and 30% of ward 2; East: the rest. Ward 2 (x 1000-2000) is cut at x = 1300.
    west = box(X0, Y0, X0 + 1300, Y0 + 2000)
    east = box(X0 + 1300, Y0, X0 + 3000, Y0 + 2000)
    result = grouping_from_polygons(_polygons(("West", west), ("East", east)), place)
    assert result.grouping.ward_to_neighbourhood[WARDS[1]] == "East"
    row = result.wards.set_index("ward_code").loc[WARDS[1]]
    assert row["status"] == "split" and np.isclose(row["share"], 0.7) and row["others"] == "West 30.0%"
    assert result.problems["ward_code"].tolist() == [WARDS[1], WARDS[4]]
    assert any("2 ward(s) split" in n and "West 30.0%" in n for n in result.notes)
    # By residents: ward 2's west LSOA (x 1000-1500) holds 900 of its 2,000; 60% of that LSOA lies in West.
    by_people = grouping_from_polygons(_polygons(("West", west), ("East", east)), place, by="residents")
    assert np.isclose(by_people.wards.set_index("ward_code").at[WARDS[1], "share"], 1 - 0.6 * 900 / 2000)


def test_slivers_are_not_splits_and_a_ward_outside_is_refused_or_given_to_the_nearest(place):
    # A boundary 2 m off the ward edge, and the last column of wards (3 and 6) left out.
    west = box(X0, Y0, X0 + 1002, Y0 + 2000)
    middle = box(X0 + 1002, Y0, X0 + 2000, Y0 + 2000)
    with pytest.raises(InvalidGroupingError, match=r"2 ward\(s\) lie in no neighbourhood.*E05900003 Ward 3.*--outside nearest"):
        grouping_from_polygons(_polygons(("West", west), ("Middle", middle)), place)
    result = grouping_from_polygons(_polygons(("West", west), ("Middle", middle)), place, outside="nearest")
    w = result.wards.set_index("ward_code")
    assert w.at[WARDS[1], "status"] == "whole" and w.at[WARDS[1], "share"] < 1  # 0.2% sliver in West
    assert w.loc[[WARDS[2], WARDS[5]], "status"].tolist() == ["outside: nearest"] * 2
    assert result.grouping.ward_to_neighbourhood[WARDS[2]] == "Middle"
    assert SLIVER == 0.005


def test_polygons_in_another_crs_without_a_crs_and_with_several_layers(place, tmp_path):
    shapes = [("A", box(X0, Y0, X0 + 1500, Y0 + 2000)), ("B", box(X0 + 1500, Y0, X0 + 3000, Y0 + 2000))]
    lonlat = _polygons(*shapes, crs="EPSG:4326")
    lonlat.to_file(tmp_path / "p.gpkg", layer="first", engine="pyogrio")
    lonlat.to_file(tmp_path / "p.gpkg", layer="second", engine="pyogrio")
    with pytest.raises(PlacekitError, match=r"2 polygon layers \['first', 'second'\].*--layer"):
        read_plan_polygons(tmp_path / "p.gpkg")
    assert read_plan_polygons(tmp_path / "p.gpkg", layer="second").crs.to_epsg() == 27700
    shp = tmp_path / "p.shp"
    _polygons(*shapes).to_file(shp, engine="pyogrio")
    with zipfile.ZipFile(tmp_path / "p.zip", "w") as z:  # a zipped Shapefile, its parts in a folder, as uploads come
        for part in tmp_path.glob("p.*"):
            if part.suffix != ".zip" and part.suffix != ".gpkg":
                z.write(part, f"plan/{part.name}")
    assert import_plan(tmp_path / "p.zip", place).grouping.ward_to_neighbourhood[WARDS[2]] == "B"
    shp.with_suffix(".prj").unlink()
    with pytest.raises(CRSError, match="declares no CRS.*Set CRS"):
        read_plan_polygons(shp)
    mixed = _polygons(*shapes).explode(index_parts=False)  # a Polygon and a MultiPolygon: a layer of "Unknown" type, as QGIS writes
    mixed.loc[0, "geometry"] = mixed.geometry.iloc[0].union(box(X0 + 3100, Y0, X0 + 3200, Y0 + 100))
    mixed.to_file(tmp_path / "mixed.geojson", engine="pyogrio")
    assert str(pyogrio.read_info(tmp_path / "mixed.geojson")["geometry_type"]) == "Unknown"
    assert import_plan(tmp_path / "mixed.geojson", place).grouping.ward_to_neighbourhood[WARDS[2]] == "B"
    named = _polygons(*shapes).rename(columns={"name": "NBHD_NAME"}).assign(loc=["W", "E"])
    named.to_file(tmp_path / "n.geojson", engine="pyogrio")
    with pytest.raises(PlacekitError, match="no field names the neighbourhoods.*--name-field"):
        import_plan(tmp_path / "n.geojson", place)
    g = import_plan(tmp_path / "n.geojson", place, name_field="nbhd_name", locality_field="loc").grouping
    assert g.neighbourhood_to_locality == {"A": "W", "B": "E"}


def test_assignment_tables_of_wards_and_of_lsoas(place, tmp_path):
    wards = tmp_path / "wards.csv"
    wards.write_text("unit_id,district\n" + "".join(f"{w},{d}\n" for w, d in zip(WARDS, "112332", strict=True)), encoding="utf-8")
    result = import_plan(wards, place)
    assert result.grouping.ward_to_neighbourhood == dict(zip(WARDS, "112332", strict=True))
    assert result.grouping.neighbourhood_to_locality == {"1": "Unassigned", "2": "Unassigned", "3": "Unassigned"}
    assert any("names no locality" in n for n in result.notes)
    # LSOAs: each ward's two LSOAs; ward 2's west LSOA (900 of its 2,000 residents) goes to district 2, its east one to 1.
    lsoa_ward = place.lsoa_ward["ward_code"]
    district = lsoa_ward.map(dict(zip(WARDS, "112332", strict=True)))
    district.iloc[2] = "2"
    lsoas = tmp_path / "lsoas.csv"
    pd.DataFrame({"GEOID": district.index, "assignment": district.to_numpy()}).to_csv(lsoas, index=False)
    result = import_plan(lsoas, place)
    row = result.wards.set_index("ward_code").loc[WARDS[1]]
    assert (row["neighbourhood"], row["status"], row["others"]) == ("1", "split", "2 45.0%") and np.isclose(row["share"], 0.55)
    assert any("comes back as a ward plan" in n for n in result.notes)
    bad = tmp_path / "bad.csv"
    bad.write_text("unit_id,district\nE05900001,1\nE01000001,2\n", encoding="utf-8")
    with pytest.raises(ScenarioFileError, match="must all be ward codes or all LSOA codes"):
        import_plan(bad, place)
    short = tmp_path / "short.csv"
    short.write_text("unit_id,district\n" + "".join(f"{w},1\n" for w in WARDS[:5]), encoding="utf-8")
    with pytest.raises(InvalidGroupingError, match="E05900006"):
        import_plan(short, place)


@pytest.mark.realdata
def test_manchester_export_holds_every_health_figure(real_place, tmp_path):
    from boundaries.grouping import baseline_grouping

    g = baseline_grouping(real_place)
    plan = plan_layers(real_place, g)
    path = write_plan(plan, tmp_path / "m.gpkg", fmt="gpkg")
    assert [str(n) for n, _ in pyogrio.list_layers(path)] == ["neighbourhoods", "localities", "wards", "practices", "fields", "reference", "about"]
    nb = gpd.read_file(path, layer="neighbourhoods").set_index("name")
    assert (len(nb), len(gpd.read_file(path, layer="practices")), nb.crs.to_epsg()) == (12, 83, 27700)
    assert len(nb.columns) <= 255  # dBase's limit, should a user save it as a Shapefile
    h = health_table(real_place, g).query("level == 'neighbourhood' and condition == 'DM'").set_index("name")
    assert np.allclose(nb["DM_prev"], h["prevalence"].reindex(nb.index).astype(float))
    assert np.allclose(nb["DM_rprev"], h["resident_prevalence"].reindex(nb.index).astype(float))
    pr = profile(real_place, g, population="census2021").query("level == 'neighbourhood'").set_index("name")
    assert nb["pop21"].to_dict() == pr["population"].astype(int).to_dict() and nb["pop21"].sum() == 551_888
    ref = pyogrio.read_dataframe(path, layer="reference", read_geometry=False)
    assert len(ref) == 21 and np.isclose(ref.set_index("cond").at["DM", "city_prev"], h["city_prevalence"].iloc[0])
    assert import_plan(path, real_place).grouping.ward_to_neighbourhood == g.ward_to_neighbourhood
