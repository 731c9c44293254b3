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


def test_new_store_carries_schema_version_and_application_id(tmp_path):
    from boundaries.store import APPLICATION_ID, SCHEMA_VERSION

    ScenarioStore(tmp_path / "s.sqlite")
    with closing(sqlite3.connect(tmp_path / "s.sqlite")) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_legacy_store_is_backed_up_then_migrated_with_its_drafts(tmp_path, tiny_grouping):
    from boundaries.grouping import grouping_to_json

    path = tmp_path / "scenarios.sqlite"
    with closing(sqlite3.connect(path)) as con:  # the schema placekit wrote before versions
        con.executescript(
            "CREATE TABLE scenarios (name TEXT PRIMARY KEY, place TEXT NOT NULL, grouping_json TEXT NOT NULL, "
            "hubs_json TEXT NOT NULL DEFAULT '[]', note TEXT NOT NULL DEFAULT '', saved_at TEXT NOT NULL);"
            "CREATE TABLE drafts (key TEXT PRIMARY KEY, place TEXT NOT NULL, grouping_json TEXT NOT NULL, "
            "hubs_json TEXT NOT NULL DEFAULT '[]', based_on TEXT NOT NULL DEFAULT '', saved_at TEXT NOT NULL);"
        )
        doc = grouping_to_json(tiny_grouping)
        con.execute("INSERT INTO scenarios VALUES ('Old', 'Tiny', ?, '[\"h\"]', 'n', '2023-05-01')", (doc,))
        con.execute("INSERT INTO drafts VALUES ('tab', 'Tiny', ?, '[]', 'Old', '2023-05-02')", (doc,))
        con.commit()
    before = _rows(path)
    st = ScenarioStore(path)
    assert len(st.backups) == 1 and _rows(st.backups[0]) == before  # the backup holds the store as it was, in the old schema
    with closing(sqlite3.connect(st.backups[0])) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 0
    old = st.load("Old", wards=WARDS)
    assert old["grouping"] == tiny_grouping and old["hubs"] == ["h"] and old["created_at"] == "2023-05-01"
    assert st.load_draft("tab", wards=WARDS)["based_on"] == "Old"
    ScenarioStore(path)  # opening again migrates nothing and backs up nothing
    assert len(list(tmp_path.glob("scenarios.sqlite.bak-*"))) == 1


def test_overwrite_keeps_created_at(tmp_path, tiny_grouping):
    st = ScenarioStore(tmp_path / "s.sqlite")
    st.save("A", tiny_grouping, place="Tiny")
    first = st.load("A")["created_at"]
    st.save("A", tiny_grouping.move("E05900001", "B"), place="Tiny", overwrite=True)
    got = st.load("A", wards=WARDS)
    assert got["created_at"] == first and got["grouping"] == tiny_grouping.move("E05900001", "B")


def test_whole_store_export_and_import_round_trip(tmp_path, tiny_grouping):
    a = ScenarioStore(tmp_path / "a.sqlite")
    a.save("One", tiny_grouping, place="Tiny", hubs=["h1"], note="first")
    a.save("Two", tiny_grouping.move("E05900001", "C"), place="Tiny")
    assert a.export_all(tmp_path / "all.json") == 2
    b = ScenarioStore(tmp_path / "b.sqlite")
    assert b.import_all(tmp_path / "all.json") == 2
    for name in ("One", "Two"):
        x, y = a.load(name, wards=WARDS), b.load(name, wards=WARDS)
        assert (x["grouping"], x["hubs"], x["note"], x["saved_at"]) == (y["grouping"], y["hubs"], y["note"], y["saved_at"])
    with pytest.raises(PlacekitError, match="exist already"):
        b.import_all(tmp_path / "all.json")
    assert b.import_all(tmp_path / "all.json", overwrite=True) == 2


def test_malformed_rows_are_skipped_listed_and_refused_on_load(tmp_path, tiny_grouping):
    st = ScenarioStore(tmp_path / "s.sqlite")
    st.save("Good", tiny_grouping, place="Tiny")
    with closing(sqlite3.connect(tmp_path / "s.sqlite")) as con:
        con.execute("INSERT INTO scenarios (name, place, grouping_json, hubs_json, note, saved_at, created_at) VALUES ('Bad', 'Tiny', '{oops', '[]', '', '2024', '')")
        con.execute("INSERT INTO drafts VALUES ('tab', 'Tiny', '[]', '[]', '', '2024', '')")
        con.commit()
    listing = st.list()
    assert list(listing["name"]) == ["Good"] and [p["name"] for p in listing.attrs["skipped"]] == ["Bad"]
    assert {(p["table"], p["name"]) for p in st.problems()} == {("scenarios", "Bad"), ("drafts", "tab")}
    with pytest.raises(ScenarioFileError, match="'Bad'.*damaged"):
        st.load("Bad")
    assert st.load_draft("tab") is None  # not restored, and listed by problems()
    assert st.export_all(tmp_path / "x.json") == 1


def test_draft_keeps_its_undo_and_redo_history(tmp_path, tiny_grouping):
    st = ScenarioStore(tmp_path / "s.sqlite")
    one = tiny_grouping.move("E05900001", "B")
    two = one.move("E05900002", "B")
    st.save_draft("tab", one, place="Tiny", based_on="tiny", undo=[tiny_grouping], redo=[two])
    got = st.load_draft("tab", wards=WARDS)
    assert got["grouping"] == one and got["undo"] == [tiny_grouping] and got["redo"] == [two] and got["history_problem"] is None
    st.save_draft("tab", two, place="Tiny", undo=[tiny_grouping.move("E05900003", "B")] * 80)
    got = st.load_draft("tab")
    assert len(got["undo"]) == 50 and got["redo"] == []  # the nearest MAX_DRAFT_HISTORY steps


def test_unreadable_history_loses_the_history_not_the_draft(tmp_path, tiny_grouping):
    st = ScenarioStore(tmp_path / "s.sqlite")
    moved = tiny_grouping.move("E05900001", "B")
    st.save_draft("tab", moved, place="Tiny", undo=[tiny_grouping])
    with closing(sqlite3.connect(tmp_path / "s.sqlite")) as con:
        con.execute("UPDATE drafts SET history_json = '{\"undo\": [{\"neighbourhoods\": 3}]}'")
        con.commit()
    got = st.load_draft("tab", wards=WARDS)
    assert got["grouping"] == moved and got["undo"] == [] and "undo history of draft 'tab' could not be read" in got["history_problem"]


def test_version_2_store_is_backed_up_and_its_drafts_gain_an_empty_history(tmp_path, tiny_grouping):
    from boundaries.grouping import grouping_to_json
    from boundaries.store import APPLICATION_ID, SCHEMA_VERSION

    path = tmp_path / "scenarios.sqlite"
    with closing(sqlite3.connect(path)) as con:  # the schema of version 2: drafts without history
        con.executescript(
            "CREATE TABLE scenarios (name TEXT PRIMARY KEY NOT NULL, place TEXT NOT NULL, grouping_json TEXT NOT NULL, "
            "hubs_json TEXT NOT NULL DEFAULT '[]', note TEXT NOT NULL DEFAULT '', saved_at TEXT NOT NULL, created_at TEXT NOT NULL DEFAULT '');"
            "CREATE TABLE drafts (key TEXT PRIMARY KEY NOT NULL, place TEXT NOT NULL, grouping_json TEXT NOT NULL, "
            "hubs_json TEXT NOT NULL DEFAULT '[]', based_on TEXT NOT NULL DEFAULT '', saved_at TEXT NOT NULL);"
            f"PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 2;"
        )
        con.execute("INSERT INTO drafts VALUES ('tab', 'Tiny', ?, '[]', 'Old', '2025-05-02')", (grouping_to_json(tiny_grouping),))
        con.commit()
    st = ScenarioStore(path)
    assert len(st.backups) == 1 and "bak-v2-" in st.backups[0].name
    got = st.load_draft("tab", wards=WARDS)
    assert got["grouping"] == tiny_grouping and got["undo"] == got["redo"] == [] and got["history_problem"] is None
    with closing(sqlite3.connect(path)) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4


def test_scenarios_and_drafts_belong_to_their_place(tmp_path, tiny_grouping):
    st = ScenarioStore(tmp_path / "s.sqlite")
    st.save("Plan", tiny_grouping, place="Leeds (E08000035)")
    assert st.load("Plan", wards=WARDS, place="Leeds (E08000035)")["grouping"] == tiny_grouping
    with pytest.raises(PlacekitError, match=r"belongs to Leeds \(E08000035\), not Salford \(E08000006\)"):
        st.load("Plan", wards=WARDS, place="Salford (E08000006)")
    assert list(st.list("Leeds (E08000035)")["name"]) == ["Plan"] and st.list("Salford (E08000006)").empty
    st.save_draft("tab:E08000035", tiny_grouping.move("E05900001", "B"), place="Leeds (E08000035)")
    assert st.load_draft("tab:E08000035", wards=WARDS, place="Salford (E08000006)") is None  # never restored on another place
    assert st.load_draft("tab:E08000035", wards=WARDS, place="Leeds (E08000035)") is not None
    before = _rows(tmp_path / "s.sqlite")
    assert st.load("Plan", place="Leeds (E08000035)") and _rows(tmp_path / "s.sqlite") == before  # reading changes nothing


def test_version_3_store_gains_what_ifs_and_they_round_trip(tmp_path, tiny_grouping):
    from boundaries.grouping import grouping_to_json
    from boundaries.store import APPLICATION_ID

    path = tmp_path / "scenarios.sqlite"
    with closing(sqlite3.connect(path)) as con:  # the schema of version 3: scenarios without a what-if
        con.executescript(
            "CREATE TABLE scenarios (name TEXT PRIMARY KEY NOT NULL, place TEXT NOT NULL, grouping_json TEXT NOT NULL, "
            "hubs_json TEXT NOT NULL DEFAULT '[]', note TEXT NOT NULL DEFAULT '', saved_at TEXT NOT NULL, created_at TEXT NOT NULL DEFAULT '');"
            "CREATE TABLE drafts (key TEXT PRIMARY KEY NOT NULL, place TEXT NOT NULL, grouping_json TEXT NOT NULL, "
            "hubs_json TEXT NOT NULL DEFAULT '[]', based_on TEXT NOT NULL DEFAULT '', saved_at TEXT NOT NULL, history_json TEXT NOT NULL DEFAULT '');"
            f"PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 3;"
        )
        con.execute("INSERT INTO scenarios VALUES ('Old', 'Tiny', ?, '[\"h1\"]', '', '2025-05-02', '2025-05-01')", (grouping_to_json(tiny_grouping),))
        con.commit()
    st = ScenarioStore(path)
    assert len(st.backups) == 1 and "bak-v3-" in st.backups[0].name
    old = st.load("Old", wards=WARDS)
    assert old["whatif"] is None and old["hubs"] == ["h1"] and old["created_at"] == "2025-05-01"
    doc = {"close": ["P00001"], "merge": None, "open": {"name": "Hub", "at": "M15 4AJ", "capacity": 500}}
    st.save("With what-if", tiny_grouping, place="Tiny", whatif=doc)
    assert st.load("With what-if")["whatif"] == doc
    st.save("Old", tiny_grouping, place="Tiny", whatif=doc, overwrite=True)
    assert st.load("Old")["whatif"] == doc and st.load("Old")["created_at"] == "2025-05-01"
    st.duplicate("Old", "Copy")
    assert st.load("Copy")["whatif"] == doc
    assert st.export_all(tmp_path / "all.json") == 3
    other = ScenarioStore(tmp_path / "other.sqlite")
    assert other.import_all(tmp_path / "all.json") == 3 and other.load("With what-if")["whatif"] == doc
    with pytest.raises(PlacekitError, match="what-if"):
        st.save("Bad", tiny_grouping, place="Tiny", whatif={"close": float("nan")})
    with pytest.raises(PlacekitError, match="what-if"):
        st.save("Bad", tiny_grouping, place="Tiny", whatif=["P00001"])
    assert "Bad" not in set(st.list()["name"])
