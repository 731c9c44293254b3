"""Bad scenario stores and uploads: corrupt, foreign, newer and legacy files, malformed rows, bad names, bad exports."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from boundaries.grouping import Grouping, grouping_to_csv, grouping_to_json
from boundaries.store import APPLICATION_ID, SCHEMA_VERSION, ScenarioStore
from placekit.errors import InvalidGroupingError, PlacekitError, ScenarioFileError, ScenarioStoreError
from tests.bad_inputs.framework import Case

WARDS = [f"E0590000{i}" for i in range(1, 7)]
GROUPING = Grouping({w: n for w, n in zip(WARDS, "AABCCB", strict=True)}, {"A": "West", "B": "East", "C": "West"}, name="tiny")

_LEGACY_SCHEMA = """
CREATE TABLE scenarios (name TEXT PRIMARY KEY, place TEXT NOT NULL, grouping_json TEXT NOT NULL,
    hubs_json TEXT NOT NULL DEFAULT '[]', note TEXT NOT NULL DEFAULT '', saved_at TEXT NOT NULL);
CREATE TABLE drafts (key TEXT PRIMARY KEY, place TEXT NOT NULL, grouping_json TEXT NOT NULL,
    hubs_json TEXT NOT NULL DEFAULT '[]', based_on TEXT NOT NULL DEFAULT '', saved_at TEXT NOT NULL);
"""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _untouched(make: Callable[[Path], None]) -> Callable[[Path], object]:
    """Build a file at the store's path with `make`, open it as a store, and fail loudly if the file changed."""

    def run(tmp: Path):
        path = tmp / "scenarios.sqlite"
        make(path)
        before = _digest(path)
        try:
            return ScenarioStore(path)
        finally:
            if _digest(path) != before:
                raise AssertionError("the store file was modified")  # a traceback, so the case fails

    return run


def _sqlite(sql: str, *, app_id: int = 0, version: int = 0) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        with closing(sqlite3.connect(path)) as con:
            con.executescript(sql)
            con.execute(f"PRAGMA application_id = {app_id}")
            con.execute(f"PRAGMA user_version = {version}")
            con.commit()

    return make


def _good_store_bytes(tmp: Path) -> bytes:
    """Return the bytes of a real store holding twelve scenarios over several pages (checkpointed, one file)."""
    path = tmp / "good.sqlite"
    st = ScenarioStore(path)
    for i in range(12):
        st.save(f"S{i}", GROUPING, place="Tiny", note="x" * 1900)
    with closing(sqlite3.connect(path)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute("PRAGMA journal_mode=DELETE")
    return path.read_bytes()


def _corrupt_pages(path: Path) -> None:
    data = bytearray(_good_store_bytes(path.parent))
    data[4096:8192] = b"\xde\xad\xbe\xef" * 1024
    path.write_bytes(bytes(data))


def _with_row(values: tuple) -> Callable[[Path], object]:
    """A store with one good scenario and one malformed row; return (listed names, problems, the load error)."""

    def run(tmp: Path):
        st = ScenarioStore(tmp / "s.sqlite")
        st.save("Good", GROUPING, place="Tiny")
        with closing(sqlite3.connect(tmp / "s.sqlite")) as con:
            con.execute(
                "INSERT INTO scenarios (name, place, grouping_json, hubs_json, note, saved_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            con.commit()
        listed = list(st.list()["name"])
        problems = st.problems()
        st.load(values[0], wards=WARDS)  # must raise a typed error naming the row
        return listed, problems

    return run


def _store_cases() -> list[Case]:
    g = grouping_to_json(GROUPING)
    row = lambda name, gj=g, hj="[]": (name, "Tiny", gj, hj, "", "2024-01-01T00:00:00+00:00", "")  # noqa: E731
    return [
        Case(
            "store/garbage bytes",
            "store",
            _untouched(lambda p: p.write_bytes(b"not a database\n" * 100)),
            ScenarioStoreError,
            ("not an SQLite database", "scenarios.sqlite", "mv"),
        ),
        Case(
            "store/a text file",
            "store",
            _untouched(lambda p: p.write_text("name,place\nA,B\n")),
            ScenarioStoreError,
            ("not an SQLite database",),
        ),
        Case(
            "store/another program's database",
            "store",
            _untouched(_sqlite("CREATE TABLE photos (id INTEGER, path TEXT); INSERT INTO photos VALUES (1, 'a.jpg');")),
            ScenarioStoreError,
            ("another program", "photos", "mv"),
        ),
        Case(
            "store/another application id",
            "store",
            _untouched(_sqlite("CREATE TABLE scenarios (name TEXT);", app_id=0x12345678)),
            ScenarioStoreError,
            ("another program", "0x12345678"),
        ),
        Case(
            "store/newer schema",
            "store",
            _untouched(_sqlite(_LEGACY_SCHEMA, app_id=APPLICATION_ID, version=SCHEMA_VERSION + 7)),
            ScenarioStoreError,
            ("newer placekit", "Upgrade"),
        ),
        Case(
            "store/truncated database",
            "store",
            _untouched(lambda p: p.write_bytes(_good_store_bytes(p.parent)[:5000])),
            ScenarioStoreError,
            ("scenarios.sqlite",),
        ),
        Case("store/damaged pages", "store", _untouched(_corrupt_pages), ScenarioStoreError, ("damaged",)),
        Case("store/a folder at the store's path", "store", lambda tmp: ScenarioStore(tmp), ScenarioStoreError, ("folder",)),
        Case(
            "store/empty file starts a new store",
            "store",
            lambda tmp: (tmp / "s.sqlite").write_bytes(b"") or ScenarioStore(tmp / "s.sqlite").list(),
            None,
            check=lambda df: df.empty,
        ),
        Case("store/legacy store migrated with a backup", "store", _legacy_migrated, None, check=lambda r: r == (["Old"], 1, True)),
        Case(
            "store/malformed grouping JSON row",
            "store",
            _with_row(row("Bad", "{not json")),
            ScenarioFileError,
            ("Bad", "damaged", "delete"),
        ),
        Case("store/grouping without neighbourhoods", "store", _with_row(row("Bad", '{"name": "x"}')), ScenarioFileError, ("Bad",)),
        Case("store/hubs not a list", "store", _with_row(row("Bad", g, '{"a": 1}')), ScenarioFileError, ("Bad", "hubs")),
        Case("store/meta is a list", "store", _with_row(row("Bad", g.replace('"meta": {}', '"meta": [1]'))), ScenarioFileError, ("Bad",)),
        Case("store/grouping stored as a number", "store", _with_row(row("Bad", 42)), ScenarioFileError, ("Bad",)),
        Case("store/malformed rows are listed, not shown", "store", _listed_and_skipped, None, check=lambda r: r == (["Good"], ["Bad"])),
        Case("store/save an existing name", "store", _save_twice, PlacekitError, ("exists", "overwrite")),
        Case(
            "store/empty name",
            "store",
            lambda tmp: ScenarioStore(tmp / "s.sqlite").save("  ", GROUPING, place="T"),
            PlacekitError,
            ("needs a name",),
        ),
        Case(
            "store/name of 500 characters",
            "store",
            lambda tmp: ScenarioStore(tmp / "s.sqlite").save("x" * 500, GROUPING, place="T"),
            PlacekitError,
            ("120",),
        ),
        Case(
            "store/name with a line break",
            "store",
            lambda tmp: ScenarioStore(tmp / "s.sqlite").save("a\nb", GROUPING, place="T"),
            PlacekitError,
            ("line breaks",),
        ),
        Case(
            "store/hubs that are not ids",
            "store",
            lambda tmp: ScenarioStore(tmp / "s.sqlite").save("a", GROUPING, place="T", hubs=[1, None]),
            PlacekitError,
            ("hubs",),
        ),
        Case("store/rename onto an existing name", "store", _rename_onto, PlacekitError, ("exists already",)),
        Case("store/formula-like name kept as typed", "store", _formula_name, None, check=lambda n: n == '=HYPERLINK("http://x")'),
    ]


def _legacy_migrated(tmp: Path):
    path = tmp / "scenarios.sqlite"
    _sqlite(_LEGACY_SCHEMA)(path)
    with closing(sqlite3.connect(path)) as con:
        con.execute("INSERT INTO scenarios VALUES ('Old', 'Tiny', ?, '[]', '', '2023-01-01')", (grouping_to_json(GROUPING),))
        con.commit()
    st = ScenarioStore(path)
    backups = list(tmp.glob("scenarios.sqlite.bak-v1-*"))
    return list(st.list()["name"]), len(backups), st.load("Old", wards=WARDS)["grouping"] == GROUPING


def _listed_and_skipped(tmp: Path):
    try:
        _with_row(("Bad", "Tiny", "{", "[]", "", "2024", ""))(tmp)
    except ScenarioFileError:
        pass
    st = ScenarioStore(tmp / "s.sqlite")
    return list(st.list()["name"]), [p["name"] for p in st.problems()]


def _save_twice(tmp: Path):
    st = ScenarioStore(tmp / "s.sqlite")
    st.save("Base", GROUPING, place="T")
    st.save("Base", GROUPING.move(WARDS[0], "B"), place="T")


def _rename_onto(tmp: Path):
    st = ScenarioStore(tmp / "s.sqlite")
    st.save("A", GROUPING, place="T")
    st.save("B", GROUPING, place="T")
    st.rename("A", "B")


def _formula_name(tmp: Path):
    st = ScenarioStore(tmp / "s.sqlite")
    st.save('=HYPERLINK("http://x")', GROUPING, place="T")
    return st.list()["name"].iloc[0]


# --------------------------------------------------------------------------- whole-store imports
def _import(content: bytes | str | dict) -> Callable[[Path], int]:
    """Import an export file into a store holding one scenario; a refused file must leave the store as it was."""

    def run(tmp: Path) -> int:
        p = tmp / "export.json"
        p.write_bytes(content if isinstance(content, bytes) else (json.dumps(content) if isinstance(content, dict) else content).encode())
        st = ScenarioStore(tmp / "s.sqlite")
        st.save("Keep", GROUPING, place="T")
        before = st.list()
        try:
            return st.import_all(p)
        except BaseException:
            if not st.list().equals(before):
                raise AssertionError("a refused import changed the store") from None
            raise

    return run


def _export_doc(*entries: dict) -> dict:
    return {"format": "placekit-scenarios", "schema_version": 2, "scenarios": list(entries)}


def _entry(name: str = "New", grouping: object = None) -> dict:
    return {"name": name, "place": "T", "grouping": json.loads(grouping_to_json(GROUPING)) if grouping is None else grouping, "hubs": []}


def _import_cases() -> list[Case]:
    return [
        Case("store import/not JSON", "store", _import(b"\x00\x01 not json"), ScenarioFileError, ("not JSON",)),
        Case(
            "store import/a grouping file, not an export",
            "store",
            _import(grouping_to_json(GROUPING)),
            ScenarioFileError,
            ("not a placekit scenario export", "scenarios save"),
        ),
        Case(
            "store import/name exists",
            "store",
            _import(_export_doc(_entry("Keep"))),
            PlacekitError,
            ("exist already", "Nothing was imported"),
        ),
        Case("store import/same name twice", "store", _import(_export_doc(_entry("X"), _entry("X"))), ScenarioFileError, ("twice",)),
        Case(
            "store import/bad grouping in entry 2",
            "store",
            _import(_export_doc(_entry("X"), _entry("Y", {"nope": 1}))),
            ScenarioFileError,
            ("entry 2", "Nothing was imported"),
        ),
        Case("store import/deep nesting", "store", _import("[" * 200_000 + "]" * 200_000), ScenarioFileError, ("not JSON",)),
        Case("store import/good export", "store", _import(_export_doc(_entry("X"), _entry("Y"))), None, check=lambda n: n == 2),
    ]


# --------------------------------------------------------------------------- uploads (the app's "Import upload")
def _upload(data: bytes, filename: str, *, wards: list[str] = WARDS) -> Callable[[Path], object]:
    def run(tmp: Path):
        st = ScenarioStore(tmp / "s.sqlite")
        st.save("Keep", GROUPING, place="T")
        before = st.list()
        try:
            return st.import_file("Up", data, filename, place="T", wards=wards)
        except BaseException:
            if not st.list().equals(before):
                raise AssertionError("a refused upload changed the store") from None
            raise

    return run


def _upload_cases() -> list[Case]:
    good_csv = grouping_to_csv(GROUPING).encode()
    good_json = grouping_to_json(GROUPING)
    return [
        Case("uploads/not UTF-8", "uploads", _upload(b"\xff\xfe\x00bad", "g.csv"), ScenarioFileError, ("UTF-8",)),
        Case("uploads/broken JSON", "uploads", _upload(b"{broken", "g.json"), ScenarioFileError, ("not valid JSON",)),
        Case("uploads/JSON list", "uploads", _upload(b"[1, 2]", "g.json"), ScenarioFileError, ("neighbourhoods",)),
        Case(
            "uploads/NUL bytes", "uploads", _upload(b"ward_code,neighbourhood,locality\n\x00\x00\n", "g.csv"), ScenarioFileError, ("NUL",)
        ),
        Case("uploads/larger than 1 MB", "uploads", _upload(good_csv + b"# x\n" * 300_000, "g.csv"), ScenarioFileError, ("larger than",)),
        Case("uploads/Excel file", "uploads", _upload(b"PK\x03\x04" + b"\x00" * 100, "g.xlsx"), ScenarioFileError, ("xlsx",)),
        Case(
            "uploads/meta is a list",
            "uploads",
            _upload(good_json.replace('"meta": {}', '"meta": [1]').encode(), "g.json"),
            ScenarioFileError,
            ("g.json",),
        ),
        Case("uploads/deeply nested JSON", "uploads", _upload(b"[" * 100_000 + b"]" * 100_000, "g.json"), ScenarioFileError, ("g.json",)),
        Case(
            "uploads/missing columns",
            "uploads",
            _upload(b"ward,area\nE05900001,A\n", "g.csv"),
            ScenarioFileError,
            ("ward_code", "neighbourhood"),
        ),
        Case(
            "uploads/unknown and missing wards",
            "uploads",
            _upload(b"ward_code,neighbourhood,locality\nNOPE,A,North\n", "g.csv"),
            InvalidGroupingError,
            ("unknown", "missing"),
        ),
        Case(
            "uploads/ward in two neighbourhoods",
            "uploads",
            _upload(good_csv + b"E05900001,,B,East\n", "g.csv"),
            InvalidGroupingError,
            ("E05900001",),
        ),
        Case("uploads/good CSV with a BOM", "uploads", _upload(b"\xef\xbb\xbf" + good_csv, "g.csv"), None, check=lambda g: g == GROUPING),
        Case("uploads/good JSON", "uploads", _upload(good_json.encode(), "g.json"), None, check=lambda g: g == GROUPING),
    ]


CASES: list[Case] = _store_cases() + _import_cases() + _upload_cases()
