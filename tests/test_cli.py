"""The placekit command line on the demo place and on real data."""

from __future__ import annotations

import json

import pytest

from placekit.cli.main import main


def test_profile_json_demo(capsys, monkeypatch):
    monkeypatch.delenv("PLACEKIT_DATA", raising=False)
    assert main(["profile", "--format", "json"]) == 0
    out = capsys.readouterr()
    recs = json.loads(out.out)
    assert len(recs) == 12
    assert {"neighbourhood", "locality", "wards", "population"} <= set(recs[0])
    assert "demo data" in out.err


def test_profile_table_labels_demo(capsys, monkeypatch):
    monkeypatch.delenv("PLACEKIT_DATA", raising=False)
    assert main(["profile"]) == 0
    assert "DEMO DATA" in capsys.readouterr().out


def test_validate_bad_file_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PLACEKIT_DATA", raising=False)
    f = tmp_path / "bad.csv"
    f.write_text("ward_code,neighbourhood,locality\nNOPE,A,North\n")
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert "unknown ward" in err and "missing" in err


@pytest.mark.realdata
def test_profile_real_json(real_data_root, capsys):
    assert main(["--data", str(real_data_root), "profile", "--format", "json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert sum(r["population"] for r in recs) == 529_282
    assert recs[0]["neighbourhood"] == "Cheetham and Crumpsall" and recs[0]["wards"] == ["E05000694", "E05000698"]


@pytest.mark.realdata
def test_validate_and_map_real(real_data_root, tmp_path, capsys):
    from boundaries.grouping import baseline_grouping, write_grouping

    f = write_grouping(baseline_grouping(), tmp_path / "baseline.json")
    assert main(["--data", str(real_data_root), "validate", str(f)]) == 0
    out = capsys.readouterr().out
    assert "12 neighbourhoods and 3 localities" in out and "29,452" in out
    html = tmp_path / "map.html"
    assert main(["--data", str(real_data_root), "map", "--out", str(html)]) == 0
    text = html.read_text()
    assert "cdn.jsdelivr.net/npm/leaflet" not in text  # Leaflet inlined: draws offline
    assert "Cheetham and Crumpsall" in text and "P84004" in text


def test_flows_json_demo(capsys, monkeypatch):
    monkeypatch.delenv("PLACEKIT_DATA", raising=False)
    assert main(["flows", "--format", "json", "--practice-by", "patients"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert len(recs) == 12
    for r in recs:
        assert {"neighbourhood", "residents_registered", "registered_list", "resident_containment"} <= set(r)
        assert 0 <= r["resident_containment"] <= 1 and r["practice_by"] == "patients"


@pytest.mark.realdata
def test_flows_catchments_suggest_real(real_data_root, capsys):
    assert main(["--data", str(real_data_root), "flows", "--format", "json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    cheetham = next(r for r in recs if r["neighbourhood"] == "Cheetham and Crumpsall")
    assert cheetham["registered_list"] == 59_137 and 0.7 < cheetham["resident_containment"] < 0.85
    assert main(["--data", str(real_data_root), "flows", "--matrix", "--format", "csv"]) == 0
    assert "outside the city" in capsys.readouterr().out
    assert main(["--data", str(real_data_root), "catchments", "--format", "json"]) == 0
    assert all(r["dominant_trust"] == "R0A" for r in json.loads(capsys.readouterr().out))
    assert main(["--data", str(real_data_root), "suggest", "--top", "3", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
