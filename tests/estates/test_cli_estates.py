"""The estates commands: stdout carries only the format asked for; hubs have a type; infeasible p names the least p."""

from __future__ import annotations

import json

import pytest

from placekit.cli.main import main


def test_site_hubs_exact_json_is_pure(capfd, monkeypatch):
    monkeypatch.delenv("PLACEKIT_DATA", raising=False)
    assert main(["site-hubs", "--method", "exact", "--format", "json"]) == 0
    out, err = capfd.readouterr()  # file-descriptor level: a solver printing from C would show here
    recs = json.loads(out)
    assert len(recs) == 12 and all(r["type"] and r["status"] == "Optimal" for r in recs)
    assert "objective" in err and "hub candidates" in err


def test_infeasible_p_names_the_least_p(capfd, monkeypatch):
    monkeypatch.delenv("PLACEKIT_DATA", raising=False)
    assert main(["site-hubs", "-p", "4", "--format", "json"]) == 2
    out, err = capfd.readouterr()
    assert out == "" and "smallest p that works is 12" in err


@pytest.mark.realdata
def test_site_hubs_and_hubs_real(real_data_root, capfd, tmp_path):
    assert main(["--data", str(real_data_root), "site-hubs", "-p", "12", "--method", "exact", "--format", "json"]) == 0
    recs = json.loads(capfd.readouterr().out)
    assert {r["type"] for r in recs} <= {"gp", "gp_practice", "hospital", "library"}
    assert main(["--data", str(real_data_root), "site-hubs", "--candidates", "pharmacy,dentist", "--format", "json"]) == 0
    assert {r["type"] for r in json.loads(capfd.readouterr().out)} <= {"pharmacy", "dentist"}
    f = tmp_path / "hubs.txt"
    f.write_text("\n".join(r["hub"] for r in recs))
    assert main(["--data", str(real_data_root), "hubs", "--hubs", str(f), "--format", "json"]) == 0
    hubs = json.loads(capfd.readouterr().out)
    assert [h["type"] for h in hubs] == [r["type"] for r in recs]
