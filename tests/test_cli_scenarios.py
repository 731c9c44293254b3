"""``placekit scenarios``: the app's store from the command line, and the CLI's handling of bad input."""

from __future__ import annotations

import csv
import io
import json

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


def test_save_list_show_export_import_delete(demo, capsys):
    g = baseline_grouping(demo_place())
    f = write_grouping(g, demo / "g.json")
    assert main(["scenarios", "save", str(f), "--name", "Plan A", "--hubs", "h1,h2", "--note", "first"]) == 0
    assert main(["scenarios", "save", str(f), "--name", "Plan A"]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["scenarios", "save", str(f), "--name", "Plan A", "--overwrite"]) == 0
    st = ScenarioStore(default_store_path())  # the app's store: the same file
    assert list(st.list()["name"]) == ["Plan A"] and st.load("Plan A")["hubs"] == []
    capsys.readouterr()
    assert main(["scenarios", "list", "--format", "json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["Plan A"]
    assert main(["scenarios", "show", "Plan A", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sum(len(v["wards"]) for v in doc["neighbourhoods"].values()) == len(g.ward_to_neighbourhood)
    assert main(["scenarios", "export", "Plan A", "--out", str(demo / "a.csv")]) == 0
    assert read_grouping(demo / "a.csv", wards=demo_place().wards.index).ward_to_neighbourhood == g.ward_to_neighbourhood
    assert main(["scenarios", "export", "--all", "--out", str(demo / "all.json")]) == 0
    assert main(["scenarios", "delete", "Plan A"]) == 0
    assert main(["scenarios", "delete", "Plan A"]) == 2
    assert main(["scenarios", "import", str(demo / "all.json")]) == 0
    assert main(["scenarios", "import", str(demo / "all.json")]) == 2  # names exist: nothing imported
    assert list(ScenarioStore(default_store_path()).list()["name"]) == ["Plan A"]


def test_save_refuses_a_grouping_of_other_wards(demo, capsys):
    (demo / "g.csv").write_text("ward_code,neighbourhood,locality\nE05999999,A,North\n")
    assert main(["scenarios", "save", str(demo / "g.csv")]) == 2
    err = capsys.readouterr().err
    assert "unknown ward" in err and "E05999999" in err
    assert ScenarioStore(default_store_path()).list().empty


def test_csv_output_neutralises_formula_names(demo, capsys):
    g = baseline_grouping(demo_place())
    f = write_grouping(g, demo / "g.json")
    assert main(["scenarios", "save", str(f), "--name", "=HYPERLINK(\"http://x\",\"y\")"]) == 0
    capsys.readouterr()
    assert main(["scenarios", "list", "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[1][0] == "'=HYPERLINK(\"http://x\",\"y\")"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["coverage", "--threshold", "inf"], "--threshold"),
        (["site-hubs", "--time-limit", "nan"], "--time-limit"),
        (["site-hubs", "-p", "0"], "-p"),
    ],
)
def test_numbers_refused_before_any_work(demo, capsys, args, words):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2 and words in capsys.readouterr().err
