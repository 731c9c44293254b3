"""The team commands: flows records, crossings, practices, suggestions, and a grouping file with practice assignments."""

from __future__ import annotations

import json

import pytest

from boundaries.grouping import baseline_grouping, write_grouping
from placekit.cli.main import main


def test_flows_records_carry_both_measures_demo(capsys, monkeypatch):
    monkeypatch.delenv("PLACEKIT_DATA", raising=False)
    assert main(["flows", "--format", "json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    for r in recs:
        assert {"neighbourhood", "locality", "resident_containment", "list_containment", "registered_list", "residents_registered",
                "practices", "population_base", "list_base"} <= set(r)  # fmt: skip
        assert 0 <= r["list_containment"] <= 1 and all(isinstance(p, str) for p in r["practices"])
        assert r["population_base"] == "residents (demo data)"
    assert main(["crossings", "--format", "json"]) == 0
    assert {r["direction"] for r in json.loads(capsys.readouterr().out)} == {"list by residence", "residents by practice"}
    assert main(["suggest", "--measure", "list_containment", "--kinds", "practice", "--top", "3", "--format", "json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert len(recs) == 3 and {r["kind"] for r in recs} == {"practice"} and recs[0]["measure"] == "list_containment"


@pytest.mark.realdata
def test_team_commands_real(real_place, real_data_root, tmp_path, capsys):
    data = ["--data", str(real_data_root)]
    assert main([*data, "crossings", "--neighbourhood", "Ardwick and Longsight"]) == 0
    out = capsys.readouterr().out
    assert "Trafford" in out and "LONGSIGHT MEDICAL PRACTICE" in out and "registered patients (July 2022)" in out
    assert main([*data, "crossings", "--neighbourhood", "Nowhere"]) == 2
    assert "not in the grouping" in capsys.readouterr().err
    assert main([*data, "practices", "--practice-by", "pcn", "--format", "json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert len(recs) == 83 and {r["decided_by"] for r in recs} <= {"pcn", "premises (no PCN)"}
    # A grouping file that moves Longsight Medical Practice to Moss Side: read, checked against the place, used.
    g = baseline_grouping(real_place).assign_practices(["P84689"], "Moss Side, Hulme and Rusholme")
    path = write_grouping(g, tmp_path / "teams.json")
    assert main([*data, "flows", "--grouping", str(path), "--format", "json"]) == 0
    recs = {r["neighbourhood"]: r for r in json.loads(capsys.readouterr().out)}
    assert "P84689" in recs["Moss Side, Hulme and Rusholme"]["practices"]
    assert round(recs["Ardwick and Longsight"]["list_containment"], 3) == 0.514
    bad = g.assign_practices(["P84616", "B81017"], "Ardwick and Longsight")  # closed in the ODS list; a practice outside the city
    write_grouping(bad, tmp_path / "bad.json")
    assert main([*data, "flows", "--grouping", str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err
    assert "bad.json has 2 problem(s)" in err and "P84616 MANCHESTER MEDICAL" in err and "is closed" in err and "B81017" in err
