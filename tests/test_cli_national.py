"""The command line on places built from England's national files: places, --place CODE_OR_NAME, every command, england."""

from __future__ import annotations

import json
import os

import pandas as pd
import pyarrow.parquet as pq
import pytest

from boundaries.baseline import place_baseline
from boundaries.flows import compute_flows, flow_base_from_place
from boundaries.grouping import write_grouping
from geo.england import england_index
from geo.national import resolve_authority
from placekit.cli.main import main

LONDON, RURAL, METRO = "E09000021", "E06000017", "E08000003"  # Kingston upon Thames, Rutland, Manchester


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.realdata
def test_places_lists_the_296_authorities(real_data_root, england, capsys):
    code, out, _ = _run(capsys, "--data", str(real_data_root), "places", "--format", "json")
    rows = pd.DataFrame(json.loads(out))
    assert code == 0 and len(rows) == 296
    assert {"lad_code", "name", "kind", "region", "wards", "lsoas", "practices", "residents"} <= set(rows.columns)
    leeds = rows.set_index("name").loc["Leeds"]
    assert leeds["lad_code"] == "E08000035" and leeds["wards"] == 33 and leeds["lsoas"] == 488 and leeds["practices"] > 80
    assert rows["residents"].sum() == england.census["population"].sum()


@pytest.mark.realdata
def test_every_command_runs_on_a_london_borough(real_data_root, national, tmp_path, capsys):
    national(LONDON)  # built once for the session; each command reads it back from its cache
    base = ["--data", str(real_data_root), "--place", "Kingston upon Thames"]
    grouping = tmp_path / "baseline.csv"
    place = national(LONDON)
    write_grouping(place_baseline(place), grouping, ward_names=place.wards["name"].to_dict())
    commands = [["profile"], ["flows"], ["crossings", "--min-patients", "500"], ["practices"], ["suggest", "--top", "3"], ["health"],
                ["catchments"], ["coverage"], ["site-hubs", "--format", "json"], ["map", "--out", str(tmp_path / "k.html")],
                ["validate", str(grouping)], ["profile", "--grouping", str(grouping), "--format", "csv"]]  # fmt: skip
    for cmd in commands:
        code, out, err = _run(capsys, *base, *cmd)
        assert code == 0, (cmd, err[-600:])
        assert "modelled best fit" in err  # the place's note names the assignment on every command
    code, out, err = _run(capsys, *base, "site-hubs")
    assert code == 0 and "no local estates layer" in err and "--estates FILE" in err and "gp_practice" in out + err
    assert (tmp_path / "k.html").stat().st_size > 100_000


@pytest.mark.realdata
def test_commands_on_a_rural_unitary_and_a_metropolitan_district(real_data_root, national, capsys):
    for code_, name in ((RURAL, "rutland"), (METRO, "E08000003")):
        national(code_)
        for cmd in (["profile", "--level", "all"], ["flows"], ["crossings"], ["practices"], ["suggest", "--top", "2"], ["health", "--level", "city"],
                    ["catchments"], ["coverage", "--mode", "drive"]):  # fmt: skip
            code, out, err = _run(capsys, "--data", str(real_data_root), "--place", name, *cmd)
            assert code == 0, (name, cmd, err[-600:])
            assert "PCN baseline" in err


@pytest.mark.realdata
def test_flows_city_level_is_one_json_object(real_data_root, national, capsys):
    national(METRO)
    code, out, _ = _run(capsys, "--data", str(real_data_root), "--place", "Manchester", "flows", "--level", "city", "--format", "json")
    city = json.loads(out)
    assert code == 0 and isinstance(city, dict) and city["unit"] == "Manchester" and city["level"] == "city"
    assert city["gp_registered"] == 701_068 and round(city["gp_registered_resident_in_unit_pct"], 1) == 91.0
    assert city["residents_registered"] == 667_290 and round(city["residents_registered_in_unit_pct"], 1) == 95.6
    assert city["list_base"] == "registered patients (July 2022)"
    code, out, _ = _run(capsys, "--data", str(real_data_root), "flows", "--level", "city", "--format", "json")  # the manifest's, alike
    assert code == 0 and json.loads(out)["gp_registered"] == 701_068


@pytest.mark.realdata
def test_england_rows_are_what_the_built_places_give(real_data_root, national, capsys):
    code, out, err = _run(capsys, "--data", str(real_data_root), "england", "--only", f"{RURAL},{LONDON}", "--format", "json")
    assert code == 0 and "authorities" in err  # the progress bar, on stderr
    rows = pd.DataFrame(json.loads(out)).set_index("lad_code")
    for c in (RURAL, LONDON):
        place = national(c)
        f = compute_flows(flow_base_from_place(place), place_baseline(place), city=place.name)
        city = f.boundary[f.boundary["level"] == "city"].iloc[0]
        r = rows.loc[c]
        assert r["registered_list"] == city["gp_registered"] and r["residents_registered"] == city["residents_registered"]
        assert r["list_resident_pct"] == pytest.approx(city["gp_registered_resident_in_city_pct"])
        assert r["pcn_resident_containment_min"] == pytest.approx(100 * f.neighbourhoods["resident_containment"].min())
        assert r["pcn_list_containment_median"] == pytest.approx(100 * f.neighbourhoods["list_containment"].median())
        assert r["pcn_neighbourhoods"] == len(f.neighbourhoods) and r["residents"] == place.census["population"].sum()


@pytest.mark.realdata
def test_bad_places_are_clear_errors(real_data_root, england, capsys, tmp_path):
    base = ["--data", str(real_data_root), "--place"]
    code, _, err = _run(capsys, *base, "Cardiff", "profile")
    assert code == 2 and "England only, because the registrations file is England's" in err and "Traceback" not in err
    code, _, err = _run(capsys, *base, "S12000036", "profile")
    assert code == 2 and "England only" in err
    code, _, err = _run(capsys, *base, "Leds", "profile")
    assert code == 2 and "closest are: Leeds (E08000035)" in err
    code, _, err = _run(capsys, *base, "nowhere.toml", "profile")
    assert code == 2 and "nowhere.toml" in err
    assert resolve_authority("Harrogate", england_index(real_data_root))[0] == "E06000065"
    # a national file missing from the data root is named, with what to download
    root = tmp_path / "data"
    for folder in real_data_root.iterdir():
        if folder.is_dir() and folder.name != "gp-practice-pcn-map":
            os.symlink(folder, root / folder.name) if root.exists() else (root.mkdir(), os.symlink(folder, root / folder.name))
    code, _, err = _run(capsys, "--data", str(root), "--place", "Rutland", "profile")
    assert code == 2 and "gp-reg-pat-prac-map_2022-01_england.csv" in err and "download: NHS Digital" in err


def test_a_named_place_needs_a_data_root(monkeypatch, capsys):
    monkeypatch.delenv("PLACEKIT_DATA", raising=False)
    code, _, err = _run(capsys, "--place", "Leeds", "profile")
    assert code == 2 and "national files" in err and "PLACEKIT_DATA" in err


@pytest.mark.realdata
def test_app_opens_on_the_place_named(real_data_root, england, monkeypatch, capsys):
    import placekit.cli.app as app_cli

    seen = {}
    monkeypatch.setattr(app_cli, "_check", lambda launcher: seen.setdefault("place", os.environ.get("PLACEKIT_PLACE")) and 0)
    monkeypatch.setenv("PLACEKIT_DATA", str(real_data_root))  # cmd_app sets both variables for the app it starts:
    monkeypatch.setenv("PLACEKIT_PLACE", "")  # recorded here, so they are restored after the test
    monkeypatch.delenv("PLACEKIT_PLACE")
    assert main(["--data", str(real_data_root), "--place", "rutland", "app", "--check"]) == 0
    assert seen["place"] == "E06000017"


@pytest.mark.realdata
def test_ensemble_all_england_ranks_each_authority_and_resumes(real_data_root, national, tmp_path, capsys):
    """--all-england --only: one Parquet per authority ranked, a refused one says why; a second run on 2 Dask workers redoes nothing written and ranks the new one."""
    national(RURAL)
    out = tmp_path / "ens"
    base = ["--data", str(real_data_root), "ensemble", "--all-england", "--out", str(out), "--format", "json"]
    code, stdout, err = _run(capsys, *base, "--only", "Rutland,E06000053")  # Rutland; the Isles of Scilly (2,000 residents)
    rows = pd.DataFrame(json.loads(stdout)).set_index("code")
    assert code == 0, err[-600:]
    assert rows.at[RURAL, "status"] == "done" and rows.at[RURAL, "exact"] and rows.at[RURAL, "plans"] >= 1
    assert 0 <= rows.at[RURAL, "list_containment_city_percentile"] <= 100
    assert rows.at["E06000053", "status"] == "refused" and "no valid plan" in rows.at["E06000053", "detail"]
    assert sorted(p.name for p in out.iterdir()) == ["E06000017.parquet", "ensembles.csv"]
    summary = json.loads(pq.read_schema(out / "E06000017.parquet").metadata[b"placekit.ensemble"])
    assert summary["place"] and summary["plans"] == rows.at[RURAL, "plans"]
    before = (out / "E06000017.parquet").stat().st_mtime_ns
    code, stdout, err = _run(capsys, *base, "--only", "Rutland,Hartlepool", "--workers", "2")  # Hartlepool runs on the cluster
    again = pd.DataFrame(json.loads(stdout)).set_index("code")
    assert code == 0 and again.at[RURAL, "status"] == "skipped" and (out / "E06000017.parquet").stat().st_mtime_ns == before
    assert again.at["E06000001", "status"] == "done" and (out / "E06000001.parquet").exists() and "2 Dask worker(s)" in err
    assert again.at[RURAL, "list_containment_city"] == rows.at[RURAL, "list_containment_city"]
    for extra, words in ((["--only", "Rutland", "--grouping", "plan.json"], "--grouping does not go with --all-england"),
                         (["--only", "Nowhereshire"], "Nowhereshire")):  # fmt: skip
        code, _, err = _run(capsys, *base, *extra)
        assert code == 2 and words in err, err
    code, _, err = _run(capsys, "--data", str(real_data_root), "ensemble", "--all-england", "--out", "x.parquet")
    assert code == 2 and "--out DIR" in err


@pytest.mark.realdata
def test_design_and_export_on_a_national_place(real_data_root, national, tmp_path, capsys):
    """A PCN-baseline place designs, says what the design releases, and exports on its own base (it has no mid-2015 residents)."""
    import pyogrio

    national("E06000001")  # Hartlepool
    base = ["--data", str(real_data_root), "--place", "Hartlepool"]
    plan, gpkg = tmp_path / "h3.json", tmp_path / "h3.gpkg"
    code, out, err = _run(capsys, *base, "design", "--neighbourhoods", "3", "--out", str(plan))
    assert code == 0, err[-600:]
    assert "PCN alignment" in out + err and "released" in out + err
    code, out, err = _run(capsys, *base, "export", "--grouping", str(plan), "--format", "gpkg", "--out", str(gpkg))
    assert code == 0, err[-600:]
    assert "Census 2021 usual residents" in out and "mid-2015" not in out
    layers = dict(pyogrio.list_layers(gpkg))
    assert {"neighbourhoods", "wards", "practices"} <= set(layers)
    assert len(pyogrio.read_dataframe(gpkg, layer="neighbourhoods")) == 3
    code, _, err = _run(capsys, "--data", str(real_data_root), "--place", "Rutland", "design", "--neighbourhoods", "2")
    assert code == 2 and "What works: --neighbourhoods 1" in err and "Traceback" not in err
