"""``placekit design`` and ``placekit ensemble`` on the demo place (hand-checked behaviour) and on Manchester."""

from __future__ import annotations

import json

import pytest

from placekit.cli.design import split_names
from placekit.cli.main import main
from placekit.errors import PlacekitError


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.delenv("PLACEKIT_DATA", raising=False)


def test_design_and_ensemble_on_the_demo(demo, tmp_path, capsys):
    """Infeasible K exits 2 with what works; a feasible K writes a grouping validate and flows read; the ensemble ranks it."""
    assert main(["design", "--neighbourhoods", "12", "--population", "mid2015"]) == 2
    err = capsys.readouterr().err
    assert "placekit: error: no valid plan puts 32 wards into 12" in err and "What works: --neighbourhoods 13" in err
    assert err.count("\n") == 1  # one line
    plan = tmp_path / "plan.json"
    assert main(["design", "--neighbourhoods", "13", "--population", "mid2015", "--format", "json", "--out", str(plan)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["feasible"] and doc["exact"] and "optimal among" in doc["method"] and len(doc["neighbourhoods"]) == 13
    assert doc["objective"]["result"] >= doc["objective"]["start"] - 1  # both present, fractions
    assert all(30_000 <= n["population"] <= 50_000 for n in doc["neighbourhoods"])
    assert main(["validate", str(plan)]) == 0
    assert "valid grouping of 32 wards into 13 neighbourhoods" in capsys.readouterr().out
    assert main(["flows", "--grouping", str(plan), "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 13
    png = tmp_path / "hist.png"
    out = tmp_path / "ens.parquet"
    assert main(["ensemble", "--grouping", str(plan), "--population", "mid2015", "--format", "json", "--plot", str(png), "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["exact"] and summary["plans"] == doc["plans"]
    best = summary["measures"]["list_containment_city"]
    assert best["plan"] == best["max"] and best["percentile"] > 99  # the design is the best on its own objective (ties count half)
    assert png.stat().st_size > 10_000 and out.stat().st_size > 1_000


def test_design_bad_inputs(demo, capsys):
    for argv, words in (
        (["design", "--neighbourhoods", "x"], "invalid int value"),
        (["design", "--neighbourhoods", "13", "--band", "lots"], "is not a band"),
        (["design", "--neighbourhoods", "0"], "--neighbourhoods"),
        (["design", "--neighbourhoods", "13", "--population", "mid2015", "--lock", "Nowhere"], "is not a neighbourhood of the start"),
        (["ensemble", "--all-england", "--out", "ens"], "builds every authority from England's national files"),
        (["ensemble", "--population", "mid2015", "--plans", "0"], "--plans"),
    ):
        with pytest.raises(SystemExit) as info:
            raise SystemExit(main(argv))
        assert info.value.code == 2, argv
        assert words in capsys.readouterr().err, argv


def test_split_names_keeps_names_with_commas():
    known = ["Higher Blackley, Harpurhey and Charlestown", "Cheetham and Crumpsall"]
    assert split_names(["Higher Blackley, Harpurhey and Charlestown,Cheetham and Crumpsall"], known) == known
    assert split_names(["Cheetham and Crumpsall", "Cheetham and Crumpsall"], known) == ["Cheetham and Crumpsall"]
    with pytest.raises(PlacekitError, match="Higher Blackley"):
        split_names(["Higher Blackley"], known)


@pytest.mark.realdata
def test_manchester_twelve_is_impossible_with_wards_and_thirteen_is_proven(real_data_root, capsys):
    """The headline request: 12 on Census 2021 is refused with the reason and what works; the best 13 is proven among 1,363."""
    data = ["--data", str(real_data_root)]
    assert main([*data, "design", "--neighbourhoods", "12", "--format", "json"]) == 2
    captured = capsys.readouterr()
    alt = json.loads(captured.out)["alternatives"]
    assert alt["feasible_neighbourhoods"] == {"13": 1363, "14": 15993, "15": 1113}
    assert alt["other_base"]["plans"] == 168 and alt["units_lsoa"]["fits"]
    assert "2–3 contiguous wards" in captured.err and "--population mid2015 (168 valid plans" in captured.err
    assert main([*data, "design", "--neighbourhoods", "13", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["plans"] == 1363 and "optimal among 1,363 valid plans" in doc["method"]
    assert main([*data, "ensemble", "--population", "mid2015", "--format", "json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["plans"] == 168 and s["exact"] and s["plan"] == "Manchester One Team baseline (2015)"
