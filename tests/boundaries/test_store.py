"""The scenario store: round trips, renames, refusals that leave the store unchanged."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from boundaries.grouping import grouping_to_csv
from boundaries.store import ScenarioStore
from placekit.errors import InvalidGroupingError, PlacekitError, ScenarioFileError

WARDS = [f"E0590000{i}" for i in range(1, 7)]


def _rows(path) -> list[tuple]:
    """Return every stored row, read with sqlite3 directly (not through the store under test)."""
    with closing(sqlite3.connect(path)) as con:
        return con.execute("SELECT * FROM scenarios ORDER BY name").fetchall()


def test_save_load_rename_duplicate_delete(tmp_path, tiny_grouping):
    st = ScenarioStore(tmp_path / "s.sqlite")
    st.save("Base", tiny_grouping, place="Tiny", hubs=["h1"])
    got = st.load("Base", wards=WARDS)
    assert got["grouping"] == tiny_grouping and got["hubs"] == ["h1"]
    with pytest.raises(PlacekitError, match="exists"):
        st.save("Base", tiny_grouping, place="Tiny")
    st.rename("Base", "Renamed")
    st.duplicate("Renamed", "Copy")
    assert set(st.list()["name"]) == {"Renamed", "Copy"}
    st.delete("Copy")
    assert list(st.list()["name"]) == ["Renamed"]
    with pytest.raises(PlacekitError, match="no scenario"):
        st.delete("Copy")


@pytest.mark.parametrize(
    ("data", "name", "error"),
    [
        (b"\xff\xfe\x00bad", "bad.csv", ScenarioFileError),
        (b"{broken", "bad.json", ScenarioFileError),
        (b"ward_code,neighbourhood,locality\nE05900001,A,North\n", "short.csv", InvalidGroupingError),
    ],
)
def test_bad_upload_leaves_store_unchanged(tmp_path, tiny_grouping, data, name, error):
    st = ScenarioStore(tmp_path / "s.sqlite")
    st.save("Keep", tiny_grouping, place="Tiny")
    before = _rows(tmp_path / "s.sqlite")
    with pytest.raises(error):
        st.import_file("Keep", data, name, place="Tiny", wards=WARDS, overwrite=True)
    assert _rows(tmp_path / "s.sqlite") == before  # every column of every row, the saved grouping's JSON included
    assert st.load("Keep", wards=WARDS)["grouping"] == tiny_grouping


def test_good_upload(tmp_path, tiny_grouping):
    st = ScenarioStore(tmp_path / "s.sqlite")
    g = st.import_file("Up", grouping_to_csv(tiny_grouping).encode(), "g.csv", place="Tiny", wards=WARDS)
    assert g == tiny_grouping and st.load("Up")["grouping"] == tiny_grouping


def test_drafts_round_trip_and_stay_apart_from_scenarios(tmp_path, tiny_grouping):
    st = ScenarioStore(tmp_path / "s.sqlite")
    assert st.load_draft("tab-1") is None
    moved = tiny_grouping.move("E05900001", "B")
    st.save_draft("tab-1", moved, place="Tiny", hubs=["h1"], based_on="tiny")
    st.save_draft("tab-1", moved.move("E05900002", "B"), place="Tiny", based_on="tiny")  # replaces, never adds
    got = st.load_draft("tab-1", wards=WARDS)
    assert got["grouping"] == moved.move("E05900002", "B") and got["based_on"] == "tiny" and got["hubs"] == []
    assert st.list().empty  # drafts are not scenarios
    st.delete_draft("tab-1")
    assert st.load_draft("tab-1") is None
