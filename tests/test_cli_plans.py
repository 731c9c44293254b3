"""``placekit export`` and ``placekit import-plan`` on the demo place: the figures agree with ``placekit flows``, and a plan comes back."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pyogrio
import pytest

from boundaries.grouping import baseline_grouping, read_grouping, write_grouping
from boundaries.store import ScenarioStore, default_store_path
from geo.demo import demo_place
from placekit.cli.main import main


@pytest.fixture
def demo(monkeypatch, tmp_path):
    monkeypatch.delenv("PLACEKIT_DATA", raising=False)
    monkeypatch.setenv("PLACEKIT_HOME", str(tmp_path / "home"))
    return tmp_path


def test_export_a_scenario_and_import_it_back(demo, capsys):
    place = demo_place()
    g = baseline_grouping(place)
    g = g.move(g.wards.index[0], g.neighbourhoods[1])  # not the baseline
    f = write_grouping(g, demo / "g.json")
    hubs = list(place.sites.index[:2])
    assert main(["scenarios", "save", str(f), "--name", "Plan B", "--hubs", ",".join(hubs)]) == 0
    assert main(["export", "--scenario", "Plan B", "--out", str(demo / "b.gpkg")]) == 0
    out = capsys.readouterr().out
    assert "layers neighbourhoods (12), localities (3), wards (32)" in out and "hubs (2)" in out and "demo data" in out
    assert [str(n) for n, _ in pyogrio.list_layers(demo / "b.gpkg")][:5] == ["neighbourhoods", "localities", "wards", "practices", "hubs"]
    assert set(gpd.read_file(demo / "b.gpkg", layer="hubs")["site_id"]) == set(hubs)
    assert main(["flows", "--grouping", str(f), "--format", "json"]) == 0
    flows = {r["neighbourhood"]: r for r in json.loads(capsys.readouterr().out)}
    nb = gpd.read_file(demo / "b.gpkg", layer="neighbourhoods").set_index("name")
    assert np.allclose(nb["res_cont"], [flows[n]["resident_containment"] for n in nb.index])
    assert nb["contained"].tolist() == [flows[n]["contained"] for n in nb.index]
    assert main(["import-plan", str(demo / "b.gpkg"), "--out", str(demo / "back.json")]) == 0
    back = read_grouping(demo / "back.json", wards=place.wards.index)
    assert (back.ward_to_neighbourhood, back.neighbourhood_to_locality) == (g.ward_to_neighbourhood, g.neighbourhood_to_locality)
    assert main(["validate", str(demo / "back.json")]) == 0
    assert main(["export", "--grouping", str(f), "--out", str(demo / "w.geojson"), "--layer", "wards"]) == 0
    assert gpd.read_file(demo / "w.geojson").crs.to_epsg() == 4326


@pytest.mark.filterwarnings("ignore:'crs' was not provided")  # the file without a CRS is written on purpose
def test_import_plan_reports_splits_and_refuses_what_it_cannot_place(demo, capsys):
    place = demo_place()
    wards = place.wards.reset_index()
    x = wards.geometry.centroid.x
    halves = wards[x > x.min()].assign(name=np.where(x[x > x.min()] < x.median(), "West", "East"))
    plan = halves.dissolve("name").reset_index()[["name", "geometry"]]
    plan["geometry"] = plan.geometry.translate(xoff=300)  # drawn 300 m east, without the westmost ward: splits, and a ward outside
    plan.to_file(demo / "p.gpkg", engine="pyogrio")
    assert main(["import-plan", str(demo / "p.gpkg"), "--out", str(demo / "p.json")]) == 2
    err = capsys.readouterr().err
    assert "lie in no neighbourhood" in err and "--outside nearest" in err and not (demo / "p.json").exists()
    assert main(["import-plan", str(demo / "p.gpkg"), "--outside", "nearest", "--format", "csv", "--out", str(demo / "p.json")]) == 0
    cap = capsys.readouterr()
    assert "split" in cap.out and "outside: nearest" in cap.out and "Unassigned" in cap.err
    assert len(read_grouping(demo / "p.json", wards=place.wards.index).neighbourhoods) == 2
    plan.set_crs(None, allow_override=True).to_file(demo / "nocrs.shp", engine="pyogrio")
    (demo / "nocrs.prj").unlink(missing_ok=True)
    assert main(["import-plan", str(demo / "nocrs.shp"), "--out", str(demo / "x.json")]) == 2
    assert "declares no CRS" in capsys.readouterr().err
    assert main(["export", "--grouping", str(demo / "p.json"), "--scenario", "x", "--out", str(demo / "x.gpkg")]) == 2
    assert "exactly one of --grouping FILE or --scenario NAME" in capsys.readouterr().err
    assert ScenarioStore(default_store_path()).list().empty
