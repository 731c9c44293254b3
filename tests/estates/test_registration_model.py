"""The registration model and what-ifs on Manchester's July 2022 registrations, and the two commands on the demo place."""

from __future__ import annotations

import json

import pytest

from boundaries.grouping import baseline_grouping
from estates.registration import calibrate, choice_data
from estates.whatif import NEW_CODE, WhatIf, prepare, what_if
from placekit.cli.main import main
from placekit.cli.model import whatif_doc


@pytest.fixture(scope="module")
def manchester(real_place):
    cal = calibrate(choice_data(real_place, mode="walk"), folds=3)
    return real_place, cal, prepare(cal, real_place)


@pytest.mark.realdata
def test_calibrated_signs_and_fit_beside_baselines(manchester):
    _, cal, _ = manchester
    p = cal.params
    assert p["minutes"] < 0 and p["log_minutes"] < 0  # time deters
    assert p["log_list"] > 0  # size attracts
    assert p["crosses_boundary"] < 0  # registering in another authority is rarer than distance alone says
    assert cal.fit.converged and 0.3 < cal.fit.rho2 < 0.9
    m = cal.measures.set_index(["sample", "model"])["misplaced"]
    oos = m[[s for s in m.index.get_level_values(0) if s != "in sample"][0]]
    assert oos["model"] < oos["nearest practice"] and oos["model"] < oos["size only"]
    cov = cal.data.coverage
    assert cov["residents_registered"] == 667_290 and cov["in_choice_sets"] / cov["residents_registered"] > 0.99


@pytest.mark.realdata
def test_whatif_conserves_patients_and_reports_every_table(manchester):
    place, cal, model = manchester
    g = baseline_grouping(place)
    res = what_if(model, WhatIf(close=("P84005",), open_name="Hub", open_at="M13 9WL", capacity=3000), g)
    list_size = int(place.registrations.loc[place.registrations["practice_code"] == "P84005", "patients"].sum())
    assert res.closed_list == res.displaced == list_size
    assert res.practices["change"].sum() == 0
    new = res.practices.set_index("practice_code").loc[NEW_CODE]
    assert 0 < new["list_after"] <= 3000
    doc = whatif_doc(res, cal, place.label)
    assert {"closed_list", "displaced", "practices", "travel", "equity", "containment", "boundary"} <= set(doc)
    assert all({"practice_code", "gain"} <= set(r) for r in doc["practices"])
    assert len(doc["containment"]) == len(g.neighbourhoods) and len(doc["equity"]) == 5
    assert json.dumps(doc, default=str)


def test_commands_on_the_demo_place(capfd, monkeypatch):
    monkeypatch.delenv("PLACEKIT_DATA", raising=False)
    assert main(["whatif", "--close", "DEMO001", "--folds", "0", "--format", "json"]) == 0
    out, err = capfd.readouterr()
    doc = json.loads(out)
    assert doc["closed_list"] == doc["displaced"] > 0 and sum(r["change"] for r in doc["practices"]) == 0
    assert "demo data" in err
    assert main(["model", "--folds", "2", "--format", "csv", "--table", "terms"]) == 0
    out, _ = capfd.readouterr()
    assert out.startswith("# demo data") and "log_list" in out
    assert main(["whatif", "--open", "Hub", "--at", "M13 9WL", "--capacity", "0"]) == 2
    assert "capacity '0'" in capfd.readouterr().err
