"""A scenario store: named groupings (with hub lists and a practice what-if) in one SQLite file, with unsaved drafts beside them.

Guarantees:

- every write is one transaction, so a failed or killed save leaves the store as it was;
- saving without `overwrite` is a plain ``INSERT`` against the primary key, so two
  processes saving the same name cannot both win: one saves, the other is told the
  name is taken;
- a file that is not a placekit store (corrupt, another program's database, a newer
  schema) is reported with its path and a recovery step and is never modified;
- a malformed row (bad JSON, wrong types) is skipped by :meth:`ScenarioStore.list` and
  listed by :meth:`ScenarioStore.problems`; loading it raises a typed error;
- the schema carries a version (``PRAGMA user_version``) and the migrations to reach it;
  the file is backed up (``<name>.bak-v<old>-<time>``) before any migration;
- the whole store exports to, and imports from, one JSON file.

Files uploaded by users are parsed and validated before any write.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from boundaries.grouping import Grouping, grouping_from_doc, grouping_from_text, grouping_to_doc, grouping_to_json
from placekit.errors import PlacekitError, ScenarioFileError, ScenarioStoreError
from placekit.files import write_text_atomically
from placekit.safe_text import RepeatedKeyError, first_control_character, loads_json_unique
from placekit.settings import user_dir

__all__ = [
    "ScenarioStore",
    "Scenario",
    "StoreProblem",
    "default_store_path",
    "SCHEMA_VERSION",
    "APPLICATION_ID",
    "EXPORT_FORMAT",
    "MAX_NAME_LENGTH",
    "MAX_DRAFT_HISTORY",
    "move_aside",
    "store_identity",
]

#: Version of the store's schema; :data:`_MIGRATIONS` carries older stores to it.
SCHEMA_VERSION = 4
#: ``PRAGMA application_id`` of a placekit store ("PKSC"), so another program's database is recognised.
APPLICATION_ID = 0x504B5343
#: The ``format`` field of a whole-store export.
EXPORT_FORMAT = "placekit-scenarios"
#: Longest scenario name.
MAX_NAME_LENGTH = 120
_MAX_NOTE = 2_000
_MAX_HUBS = 10_000
_MAX_WHATIF = 20_000
_MAX_EXPORT_BYTES = 200_000_000
_SQLITE_HEADER = b"SQLite format 3\x00"
#: Overwrite a scenario in place, keeping when it was first saved.
_UPSERT = (
    "ON CONFLICT(name) DO UPDATE SET place = excluded.place, grouping_json = excluded.grouping_json, hubs_json = excluded.hubs_json, "
    "note = excluded.note, saved_at = excluded.saved_at, whatif_json = excluded.whatif_json"
)
_COLUMNS = "name, place, grouping_json, hubs_json, note, saved_at, created_at, whatif_json"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scenarios (
    name TEXT PRIMARY KEY NOT NULL,
    place TEXT NOT NULL,
    grouping_json TEXT NOT NULL,
    hubs_json TEXT NOT NULL DEFAULT '[]',
    note TEXT NOT NULL DEFAULT '',
    saved_at TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT '',
    whatif_json TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS drafts (
    key TEXT PRIMARY KEY NOT NULL,
    place TEXT NOT NULL,
    grouping_json TEXT NOT NULL,
    hubs_json TEXT NOT NULL DEFAULT '[]',
    based_on TEXT NOT NULL DEFAULT '',
    saved_at TEXT NOT NULL,
    history_json TEXT NOT NULL DEFAULT ''
);
"""

# The first released schema (version 1, ``user_version`` 0, no application id): both tables without created_at.
_V1_SCENARIO_COLUMNS = {"name", "place", "grouping_json", "hubs_json", "note", "saved_at"}
_V1_DRAFT_COLUMNS = {"key", "place", "grouping_json", "hubs_json", "based_on", "saved_at"}


def _v1_to_v2(con: sqlite3.Connection) -> None:
    """Version 2 records when a scenario was first saved (kept when it is overwritten); drafts are unchanged."""
    con.execute("ALTER TABLE scenarios ADD COLUMN created_at TEXT NOT NULL DEFAULT ''")
    con.execute("UPDATE scenarios SET created_at = saved_at")
    con.execute(
        "CREATE TABLE IF NOT EXISTS drafts (key TEXT PRIMARY KEY NOT NULL, place TEXT NOT NULL, grouping_json TEXT NOT NULL, "
        "hubs_json TEXT NOT NULL DEFAULT '[]', based_on TEXT NOT NULL DEFAULT '', saved_at TEXT NOT NULL)"
    )


def _v2_to_v3(con: sqlite3.Connection) -> None:
    """Version 3 keeps a draft's undo and redo history (empty for drafts saved before)."""
    con.execute("ALTER TABLE drafts ADD COLUMN history_json TEXT NOT NULL DEFAULT ''")


def _v3_to_v4(con: sqlite3.Connection) -> None:
    """Version 4 keeps a scenario's practice what-if (closures, a merger, a new practice; empty for scenarios saved before)."""
    con.execute("ALTER TABLE scenarios ADD COLUMN whatif_json TEXT NOT NULL DEFAULT ''")


#: Migration from each version to the next; each runs inside the migrating transaction.
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4}

#: Most undo (and redo) steps a draft keeps.
MAX_DRAFT_HISTORY = 50


def default_store_path() -> Path:
    """Return the store the app and the CLI share: ``$PLACEKIT_HOME/scenarios.sqlite``."""
    return user_dir() / "scenarios.sqlite"


class Scenario(dict):
    """A stored scenario: ``name``, ``place``, ``grouping`` (a Grouping), ``hubs``, ``note``, ``saved_at``, ``created_at``,
    ``whatif`` (a mapping: practices closed, merged, opened; None when the scenario has none)."""


class StoreProblem(dict):
    """A row that could not be read: ``table``, ``name`` (or draft key) and ``reason``."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ScenarioFileError(f"{what} is {type(value).__name__}, not text")
    return value


def _hubs_from(text: Any) -> list[str]:
    hubs = json.loads(_text(text, "hubs_json"))
    if not isinstance(hubs, list) or not all(isinstance(h, str) for h in hubs):
        raise ScenarioFileError("hubs_json is not a list of site ids")
    return hubs


def _whatif_from(text: Any) -> dict | None:
    """Read a scenario's ``whatif_json`` (empty text: none)."""
    if text == "" or text is None:
        return None
    doc = json.loads(_text(text, "whatif_json"))
    if not isinstance(doc, dict):
        raise ScenarioFileError("whatif_json is not an object")
    return doc


def _whatif_json(whatif: Mapping[str, Any] | None) -> str:
    """Return a what-if as stored text, refusing one that is not a small JSON object."""
    if whatif is None:
        return ""
    if not isinstance(whatif, Mapping):
        raise PlacekitError(f"a scenario's what-if is an object (close, merge, open); got {type(whatif).__name__}.")
    try:
        text = json.dumps(dict(whatif), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise PlacekitError(f"a scenario's what-if must be plain JSON (text, numbers, lists); {exc}.") from exc
    if len(text) > _MAX_WHATIF:
        raise PlacekitError(f"a scenario's what-if is limited to {_MAX_WHATIF:,} characters of JSON; this one has {len(text):,}.")
    return text


def _neighbourhood_count(text: Any) -> int:
    doc = json.loads(_text(text, "grouping_json"))
    if not isinstance(doc, dict) or not isinstance(doc.get("neighbourhoods"), dict):
        raise ScenarioFileError('grouping_json has no "neighbourhoods" object')
    return len(doc["neighbourhoods"])


#: What a malformed row can raise while it is read (bad JSON, wrong SQLite types, a grouping parser's refusal).
_ROW_ERRORS = (PlacekitError, ValueError, TypeError, KeyError, AttributeError, RecursionError, UnicodeError)


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    """Tell whether SQLite's error says the file itself is bad (malformed, not a database), not that it is busy, locked or unreachable."""
    return not isinstance(exc, sqlite3.OperationalError) or "malformed" in str(exc) or "not a database" in str(exc)


class ScenarioStore:
    """Named scenarios of one or more places in a SQLite file.

    Parameters
    ----------
    path
        The database file (created if absent), e.g. :func:`default_store_path`.

    Raises
    ------
    ScenarioStoreError
        If `path` is corrupt, another program's database or of a newer schema; the file
        is left as it was and the message says how to recover.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise ScenarioStoreError(f"the scenario store {self.path} is a folder; give a file name such as scenarios.sqlite.")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.backups: list[Path] = []
        version = self._inspect()
        if version != SCHEMA_VERSION:
            self._initialise_or_migrate(version)

    # ------------------------------------------------------------------ opening, checking, migrating
    def _refuse(self, reason: str, *, movable: bool = False) -> ScenarioStoreError:
        """Return the error for a store that cannot be used; `movable` when moving the file aside is a fix (damaged, foreign)."""
        backups = sorted(self.path.parent.glob(self.path.name + ".bak-*"))
        restore = f" Backups beside it: {', '.join(b.name for b in backups[-3:])}." if backups else ""
        return ScenarioStoreError(
            f"the scenario store {self.path} {reason}; it was not changed. To recover: move it aside "
            f"(mv '{self.path}' '{self.path}.broken') and placekit starts a new, empty store there, then bring scenarios back "
            f"with `placekit scenarios import FILE` from an export or a backup; or set PLACEKIT_HOME to another folder.{restore}",
            path=self.path,
            reason=reason,
            movable=movable,
        )

    def _inspect(self) -> int:
        """Return the schema version of the file (0 for none yet); refuse corrupt, foreign and newer files without writing."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return 0
        try:
            with self.path.open("rb") as fh:
                header = fh.read(len(_SQLITE_HEADER))
        except OSError as exc:
            raise self._refuse(f"cannot be read ({exc.strerror or exc})") from exc
        if header != _SQLITE_HEADER:
            raise self._refuse(
                "is not an SQLite database (its first bytes are not an SQLite header: corrupt or another kind of file)", movable=True
            )
        try:
            with closing(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)) as con:
                app_id = con.execute("PRAGMA application_id").fetchone()[0]
                version = con.execute("PRAGMA user_version").fetchone()[0]
                tables = {r[0]: {c[1] for c in con.execute(f"PRAGMA table_info('{r[0]}')")} for r in con.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}  # fmt: skip
                check = con.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise self._refuse(f"is damaged ({exc})", movable=_damaged(exc)) from exc
        if check != "ok":
            raise self._refuse(f"is damaged (SQLite's integrity check says: {check})", movable=True)
        return self._version_of(app_id, version, tables)

    def _version_of(self, app_id: int, version: int, tables: dict[str, set[str]]) -> int:
        if app_id not in (0, APPLICATION_ID):
            raise self._refuse(
                f"belongs to another program (SQLite application id {app_id:#x}, placekit's is {APPLICATION_ID:#x})", movable=True
            )
        if app_id == APPLICATION_ID:
            if version > SCHEMA_VERSION:
                raise self._refuse(
                    f"was written by a newer placekit (schema {version}; this placekit reads up to {SCHEMA_VERSION}). Upgrade placekit"
                )
            return version
        if not tables:
            return 0
        if (
            "scenarios" in tables
            and _V1_SCENARIO_COLUMNS <= tables["scenarios"]
            and _V1_DRAFT_COLUMNS <= tables.get("drafts", _V1_DRAFT_COLUMNS)
        ):
            return 1  # the first placekit store, from before schema versions
        raise self._refuse(f"is another program's database (tables {sorted(tables)[:6]}, no placekit scenarios table)", movable=True)

    def _initialise_or_migrate(self, version: int) -> None:
        if version >= 1:
            self.backups.append(self._backup(version))
        with self._write() as con:
            now = con.execute("PRAGMA user_version").fetchone()[0] if version else 0
            if con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID and now == SCHEMA_VERSION:
                return  # another process finished first
            if version == 0 and not con.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]:
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    con.execute(statement)
            else:
                for step in range(max(version, 1), SCHEMA_VERSION):
                    _MIGRATIONS[step](con)
            con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        with closing(self._connect()) as con:
            con.execute("PRAGMA journal_mode=WAL")

    def _backup(self, version: int) -> Path:
        """Copy the store with SQLite's backup API (a consistent snapshot) before migrating it."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        dest = self.path.with_name(f"{self.path.name}.bak-v{version}-{stamp}-{uuid.uuid4().hex[:6]}")
        try:
            with closing(sqlite3.connect(self.path, timeout=10)) as src, closing(sqlite3.connect(dest)) as dst:
                src.backup(dst)
        except sqlite3.DatabaseError as exc:
            dest.unlink(missing_ok=True)
            raise self._refuse(f"could not be backed up before its upgrade ({exc})") from exc
        return dest

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=15, isolation_level=None)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Yield a connection inside ``BEGIN IMMEDIATE``: committed on success, rolled back on any error."""
        try:
            con = self._connect()
        except sqlite3.Error as exc:
            raise self._refuse(f"cannot be opened ({exc})") from exc
        with closing(con):
            try:
                con.execute("BEGIN IMMEDIATE")
                yield con
                con.execute("COMMIT")
            except BaseException as exc:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                    raise ScenarioStoreError(
                        f"the scenario store {self.path} is busy (another placekit is writing to it); nothing was changed. Try again."
                    ) from exc
                if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.IntegrityError):
                    raise self._refuse(f"failed while writing ({exc})", movable=_damaged(exc)) from exc
                raise

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            with closing(self._connect()) as con:
                return con.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._refuse(f"cannot be read ({exc})", movable=_damaged(exc)) from exc

    # ------------------------------------------------------------------ checks
    @staticmethod
    def _check_name(name: Any) -> str:
        name = (name or "").strip() if isinstance(name, str) else name
        if not isinstance(name, str) or not name:
            raise PlacekitError("a scenario needs a name; type one in.")
        if len(name) > MAX_NAME_LENGTH:
            raise PlacekitError(f"scenario names are limited to {MAX_NAME_LENGTH} characters; this one has {len(name)}.")
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise PlacekitError("a scenario name cannot hold line breaks, tabs or other control characters; type it on one line.")
        return name

    @staticmethod
    def _check_extras(hubs: Iterable[str], note: str) -> tuple[str, str]:
        hubs = list(hubs)
        if len(hubs) > _MAX_HUBS or not all(isinstance(h, str) and h.strip() for h in hubs):
            raise PlacekitError(f"hubs must be up to {_MAX_HUBS:,} site ids (text); got {len(hubs)} item(s) of another kind.")
        if not isinstance(note, str) or len(note) > _MAX_NOTE:
            raise PlacekitError(f"a scenario note is text of up to {_MAX_NOTE:,} characters.")
        return json.dumps(hubs), note

    # ------------------------------------------------------------------ scenarios
    def save(self, name: str, grouping: Grouping, *, place: str, hubs: Iterable[str] = (), note: str = "", overwrite: bool = False,
             whatif: Mapping[str, Any] | None = None) -> None:  # fmt: skip
        """Save a scenario in one transaction; refuse to overwrite unless `overwrite`.

        Without `overwrite` this is a plain ``INSERT`` against the primary key, so of two
        processes saving the same name one wins and the other gets the error; with it, the
        row is replaced and its ``created_at`` kept. `whatif` is the scenario's practice
        what-if (``estates.whatif.WhatIf.to_doc``), kept as JSON.
        """
        name = self._check_name(name)
        hubs_json, note = self._check_extras(hubs, note)
        doc, now = grouping_to_json(grouping), _now()
        values = (name, str(place), doc, hubs_json, note, now, now, _whatif_json(whatif))
        with self._write() as con:
            if overwrite:
                con.execute(f"INSERT INTO scenarios ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) {_UPSERT}", values)
                return
            try:
                con.execute(f"INSERT INTO scenarios ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values)
            except sqlite3.IntegrityError as exc:
                raise PlacekitError(f"a scenario called {name!r} exists; choose another name or overwrite it.") from exc

    def load(self, name: str, *, wards: Iterable[str] | None = None, place: str | None = None, lsoas: Iterable[str] | None = None) -> Scenario:
        """Return the scenario `name`, its grouping checked against `wards` (and, with `lsoas`, its LSOAs against them).

        With `place`, a scenario saved for another place is refused (a Leeds scenario never
        opens on Salford), before its grouping is read.

        Raises
        ------
        PlacekitError
            If there is no such scenario, or it belongs to another place than `place`.
        ScenarioFileError
            If its stored row is malformed (the message says how to remove or replace it).
        """
        rows = self._read(f"SELECT {_COLUMNS} FROM scenarios WHERE name = ?", (name,))
        if not rows:
            raise PlacekitError(f"there is no scenario called {name!r}.")
        if place is not None and rows[0][1] != place:
            raise PlacekitError(f"scenario {name!r} belongs to {rows[0][1]}, not {place}: open {rows[0][1]} (the place picker, or --place) "
                                "to see it.")  # fmt: skip
        try:
            return self._scenario(rows[0], wards, lsoas)
        except _ROW_ERRORS as exc:
            if isinstance(exc, PlacekitError) and not isinstance(exc, ScenarioFileError) and wards is not None:
                raise  # a sound row whose grouping does not fit these wards: the grouping's own message says so
            raise ScenarioFileError(
                f"the stored scenario {name!r} in {self.path} is damaged ({exc}); it cannot be loaded. Save the working grouping "
                f"over it, or delete it (`placekit scenarios delete {name!r}`)."
            ) from exc

    @staticmethod
    def _scenario(row: tuple, wards: Iterable[str] | None, lsoas: Iterable[str] | None = None) -> Scenario:
        name, place, gjson, hjson, note, saved_at, created_at, wjson = row
        g = grouping_from_text(_text(gjson, "grouping_json"), fmt="json", wards=wards, source=f"stored scenario {name!r}", lsoas=lsoas)
        return Scenario(name=_text(name, "name"), place=_text(place, "place"), grouping=g, hubs=_hubs_from(hjson), note=str(note),
                        saved_at=str(saved_at), created_at=str(created_at), whatif=_whatif_from(wjson))  # fmt: skip

    def list(self, place: str | None = None) -> pd.DataFrame:
        """Return the readable scenarios (name, place, neighbourhoods, hubs, note, saved_at), newest first.

        Malformed rows are left out and named in ``attrs['skipped']`` (see :meth:`problems`).
        """
        rows = self._read(f"SELECT {_COLUMNS} FROM scenarios")
        good, skipped = [], []
        for r in rows:
            try:
                good.append({"name": _text(r[0], "name"), "place": _text(r[1], "place"), "neighbourhoods": _neighbourhood_count(r[2]),
                             "hubs": len(_hubs_from(r[3])), "note": str(r[4]), "saved_at": _text(r[5], "saved_at")})  # fmt: skip
            except _ROW_ERRORS as exc:
                skipped.append(StoreProblem(table="scenarios", name=str(r[0]), reason=str(exc)[:200]))
        out = pd.DataFrame(good, columns=["name", "place", "neighbourhoods", "hubs", "note", "saved_at"])
        out = out.sort_values(["saved_at", "name"], ascending=[False, True], kind="stable").reset_index(drop=True)
        if place is not None:
            out = out[out["place"] == place].reset_index(drop=True)
        out.attrs["skipped"] = skipped
        return out

    def problems(self) -> list[StoreProblem]:
        """Return every row of the store that cannot be read (scenarios and drafts), with the reason."""
        out = list(self.list().attrs["skipped"])
        for r in self._read("SELECT key, place, grouping_json, hubs_json, based_on, saved_at FROM drafts"):
            try:
                _text(r[0], "key"), _text(r[1], "place"), _neighbourhood_count(r[2]), _hubs_from(r[3])
            except _ROW_ERRORS as exc:
                out.append(StoreProblem(table="drafts", name=str(r[0]), reason=str(exc)[:200]))
        return out

    def rename(self, old: str, new: str) -> None:
        """Rename a scenario; refuse if `new` is taken."""
        new = self._check_name(new)
        with self._write() as con:
            try:
                cur = con.execute("UPDATE scenarios SET name = ? WHERE name = ?", (new, old))
            except sqlite3.IntegrityError as exc:
                raise PlacekitError(f"a scenario called {new!r} exists already.") from exc
            if cur.rowcount == 0:
                raise PlacekitError(f"there is no scenario called {old!r}.")

    def duplicate(self, name: str, new: str) -> None:
        """Copy scenario `name` to `new`."""
        new = self._check_name(new)
        with self._write() as con:
            try:
                cur = con.execute(
                    f"INSERT INTO scenarios ({_COLUMNS}) SELECT ?, place, grouping_json, hubs_json, note, ?, ?, whatif_json FROM scenarios "
                    "WHERE name = ?",
                    (new, _now(), _now(), name),
                )
            except sqlite3.IntegrityError as exc:
                raise PlacekitError(f"a scenario called {new!r} exists already.") from exc
            if cur.rowcount == 0:
                raise PlacekitError(f"there is no scenario called {name!r}.")

    def delete(self, name: str) -> None:
        """Delete scenario `name`."""
        with self._write() as con:
            if con.execute("DELETE FROM scenarios WHERE name = ?", (name,)).rowcount == 0:
                raise PlacekitError(f"there is no scenario called {name!r}.")

    def import_file(self, name: str, data: bytes, filename: str, *, place: str, wards: Iterable[str], overwrite: bool = False,
                    lsoas: Iterable[str] | None = None) -> Grouping:  # fmt: skip
        """Validate an uploaded grouping file (its LSOAs against `lsoas`, when given) and save it; a bad file changes nothing.

        Raises
        ------
        ScenarioFileError, InvalidGroupingError
            With every problem found; the store is untouched.
        """
        suffix = Path(filename).suffix.lower().lstrip(".")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ScenarioFileError(f"{filename} is not UTF-8 text; save it as UTF-8 CSV or JSON.") from exc
        try:
            g = grouping_from_text(text, fmt=suffix, wards=list(wards), source=f"uploaded file {filename}", lsoas=lsoas)
        except (RecursionError, AttributeError, TypeError) as exc:  # until every parser path raises its own error
            raise ScenarioFileError(f"uploaded file {filename} is not a grouping placekit can read ({type(exc).__name__}).") from exc
        self.save(name, g, place=place, overwrite=overwrite)
        return g

    # ------------------------------------------------------------------ the whole store
    def export_all(self, path: str | Path) -> int:
        """Write every readable scenario to one JSON file (atomically); return how many. Malformed rows are listed in it."""
        rows = self._read(f"SELECT {_COLUMNS} FROM scenarios ORDER BY name")
        items, skipped = [], []
        for r in rows:
            try:
                s = self._scenario(r, None)
                items.append({"name": s["name"], "place": s["place"], "grouping": json.loads(r[2]), "hubs": s["hubs"], "note": s["note"],
                              "saved_at": s["saved_at"], "created_at": s["created_at"], "whatif": s["whatif"]})  # fmt: skip
            except _ROW_ERRORS as exc:
                skipped.append({"name": str(r[0]), "reason": str(exc)[:200]})
        doc = {"format": EXPORT_FORMAT, "schema_version": SCHEMA_VERSION, "exported_at": _now(), "scenarios": items, "skipped": skipped}
        write_text_atomically(Path(path), json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
        return len(items)

    def import_all(self, path: str | Path, *, overwrite: bool = False) -> int:
        """Add every scenario of an :meth:`export_all` file in one transaction; return how many.

        Every entry is checked first; a bad entry, or a name that exists when not
        `overwrite`, refuses the whole file and changes nothing.
        """
        path = Path(path)
        entries = _read_export(path)
        names = [e[0] for e in entries]
        with self._write() as con:
            taken = [n for n in names if con.execute("SELECT 1 FROM scenarios WHERE name = ?", (n,)).fetchone()]
            if taken and not overwrite:
                raise PlacekitError(
                    f"{path.name}: {len(taken)} scenario(s) exist already: {taken[:10]}. Nothing was imported; pass overwrite "
                    "(`--overwrite`) to replace them, or rename them first."
                )
            for values in entries:
                con.execute(f"INSERT INTO scenarios ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) {_UPSERT}", values)
        return len(entries)

    # ------------------------------------------------------------------ drafts
    def save_draft(
        self,
        key: str,
        grouping: Grouping,
        *,
        place: str,
        hubs: Iterable[str] = (),
        based_on: str = "",
        undo: Iterable[Grouping] = (),
        redo: Iterable[Grouping] = (),
    ) -> None:
        """Save (or replace) the working draft `key`: unsaved edits kept so a reload can restore them.

        Parameters
        ----------
        key
            Identifies whose draft it is (e.g. a browser tab's draft id).
        based_on
            The saved scenario (or baseline) the draft was edited from, to say so on restore.
        undo, redo
            The undo and redo stacks, each with its next step last (the :data:`MAX_DRAFT_HISTORY` nearest steps of each are kept).
        """
        if not key or not isinstance(key, str):
            raise PlacekitError("a draft needs a key.")
        hubs_json, _ = self._check_extras(hubs, "")
        history = {side: [grouping_to_doc(g) for g in list(steps)[-MAX_DRAFT_HISTORY:]]
                   for side, steps in (("undo", undo), ("redo", redo))}  # fmt: skip
        with self._write() as con:
            con.execute(
                "INSERT OR REPLACE INTO drafts (key, place, grouping_json, hubs_json, based_on, saved_at, history_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, str(place), grouping_to_json(grouping), hubs_json, str(based_on), _now(), json.dumps(history, separators=(",", ":"))),
            )

    def load_draft(self, key: str, *, wards: Iterable[str] | None = None, place: str | None = None) -> Scenario | None:
        """Return draft `key` (``name`` is the key; ``based_on`` says what it was edited from), or None.

        ``undo`` and ``redo`` hold its history (stacks of groupings, the next step last); ``history_problem``
        says why the history could not be restored (it is then empty, and the draft itself still is).
        A malformed draft is not restored (None) and is listed by :meth:`problems`; with `place`, neither
        is a draft of another place (None).
        """
        rows = self._read("SELECT key, place, grouping_json, hubs_json, based_on, saved_at, history_json FROM drafts WHERE key = ?", (key,))
        if not rows or (place is not None and rows[0][1] != place):
            return None
        row = rows[0]
        try:
            g = grouping_from_text(_text(row[2], "grouping_json"), fmt="json", wards=None, source=f"draft {key!r}")
            hubs = _hubs_from(row[3])
        except _ROW_ERRORS:
            return None
        if wards is not None:
            wards = list(wards)
            g = grouping_from_text(row[2], fmt="json", wards=wards, source=f"draft {key!r}")
        out = Scenario(name=str(row[0]), place=str(row[1]), grouping=g, hubs=hubs, based_on=str(row[4]), saved_at=str(row[5]),
                       undo=[], redo=[], history_problem=None)  # fmt: skip
        try:
            out.update(_history_from(row[6], key, wards))
        except _ROW_ERRORS as exc:
            out["history_problem"] = f"the undo history of draft {key!r} could not be read ({str(exc)[:200]}), so it starts afresh"
        return out

    def delete_draft(self, key: str) -> None:
        """Delete draft `key` (no error if there is none)."""
        with self._write() as con:
            con.execute("DELETE FROM drafts WHERE key = ?", (key,))


def _history_from(text: Any, key: str, wards: list[str] | None) -> dict[str, list[Grouping]]:
    """Read a draft's ``history_json`` (empty text: no history) into undo and redo lists of groupings."""
    if text == "":
        return {"undo": [], "redo": []}
    doc = json.loads(_text(text, "history_json"))
    if not isinstance(doc, dict) or not all(isinstance(doc.get(side, []), list) for side in ("undo", "redo")):
        raise ScenarioFileError('history_json is not {"undo": [...], "redo": [...]}')
    return {side: [grouping_from_doc(d, wards=wards, source=f"draft {key!r}, {side} step {i + 1}") for i, d in enumerate(doc.get(side, []))]
            for side in ("undo", "redo")}  # fmt: skip


def _read_export(path: Path) -> list[tuple]:
    """Read and check an export file; return one row of values per scenario, or raise naming the entry at fault."""
    if not path.is_file():
        raise ScenarioFileError(f"scenario export {path} does not exist or is not a file.")
    if path.stat().st_size > _MAX_EXPORT_BYTES:
        raise ScenarioFileError(
            f"scenario export {path.name} is larger than {_MAX_EXPORT_BYTES // 1_000_000} MB; check you chose the right file."
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
        bad = first_control_character(text)
        if bad:
            raise ScenarioFileError(f"scenario export {path.name}, line {bad[0]}: holds the control character {bad[1]}: it is not JSON "
                                    "text as placekit exports it (binary, or damaged on its way). Nothing was imported; export the store again.")  # fmt: skip
        doc = loads_json_unique(text)
    except RepeatedKeyError as exc:
        raise ScenarioFileError(f"scenario export {path.name}: {exc}; JSON would keep only the last and lose the first without a word. "
                                "Nothing was imported; keep one of the two, or export the store again.") from exc  # fmt: skip
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ScenarioFileError(f"scenario export {path.name} is not JSON text ({type(exc).__name__}); export the store again.") from exc
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT or not isinstance(doc.get("scenarios"), list):
        raise ScenarioFileError(
            f'scenario export {path.name} is not a placekit scenario export (it needs "format": "{EXPORT_FORMAT}" and a '
            '"scenarios" list). To add one grouping file use `placekit scenarios save FILE`.'
        )
    out, seen = [], set()
    for i, e in enumerate(doc["scenarios"]):
        try:
            if not isinstance(e, dict):
                raise ScenarioFileError("it is not an object")
            name = ScenarioStore._check_name(e.get("name"))
            if name in seen:
                raise ScenarioFileError(f"the name {name!r} appears twice")
            seen.add(name)
            g = grouping_from_text(json.dumps(e.get("grouping")), fmt="json", source=f"scenario {name!r}")
            hubs_json, note = ScenarioStore._check_extras(e.get("hubs", []), e.get("note", ""))
            saved = str(e.get("saved_at") or _now())
            out.append((name, _text(e.get("place", ""), "place"), grouping_to_json(g), hubs_json, note, saved, str(e.get("created_at") or saved),
                        _whatif_json(e.get("whatif"))))  # fmt: skip
        except _ROW_ERRORS as exc:
            raise ScenarioFileError(
                f"scenario export {path.name}: entry {i + 1} cannot be imported ({exc}). Nothing was imported."
            ) from exc
    return out


# ---------------------------------------------------------------------- moving a damaged store aside
#: The files SQLite keeps beside a database (write-ahead log, its index, rollback journal): they move with it, so a
#: new store at the old name never replays an old log, and the moved file still opens with its own.
_SIDE_FILES = ("-wal", "-shm", "-journal")


def store_identity(path: str | Path) -> tuple[int, int, int, int] | None:
    """Return what identifies the file at `path` now (device, inode, size, modification time), or None when there is none."""
    try:
        s = Path(path).stat()
    except OSError:
        return None
    return s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns


def _link_or_copy(src: Path, dest: Path) -> None:
    """Give `src`'s content the new name `dest`, which must not exist (FileExistsError if it does); `src` stays."""
    try:
        os.link(src, dest)  # atomic, and refuses an existing name
        return
    except FileExistsError:
        raise
    except OSError:  # no hard links on this file system: copy into a name created exclusively
        pass
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, src.open("rb") as fh:
        shutil.copyfileobj(fh, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    if dest.stat().st_size != src.stat().st_size:
        raise OSError(f"the copy {dest.name} is not the size of {src.name}")


def move_aside(path: str | Path, *, expect: tuple[int, int, int, int] | None = None) -> Path:
    """Move the store file `path` (and its SQLite side files) to a new name beside it; return that name.

    The new name is ``<name>.damaged-<UTC time>`` (``-2``, ``-3`` … when taken). Nothing is deleted and
    nothing is overwritten: each file first gets its new name as a hard link (or, without hard links,
    a copy into a file created exclusively), and only when every one has it is the old name removed.
    A process that holds the store open keeps its handle on the moved file (POSIX). Then a new,
    empty store can start at `path`.

    Parameters
    ----------
    expect
        :func:`store_identity` of the file when its problem was seen: when the file at `path` is no
        longer that one (another window moved it already, and a new store may hold new work), nothing
        is moved.

    Raises
    ------
    ScenarioStoreError
        When there is no file to move, it changed since `expect`, or the folder refuses the move
        (the message names the files; nothing was moved).
    """
    path = Path(path)
    if not path.is_file():
        raise ScenarioStoreError(f"there is no scenario store file at {path} to move aside.", path=path)
    if expect is not None and store_identity(path) != tuple(expect):
        raise ScenarioStoreError(f"the scenario store {path} changed since its problem was reported (another window may have moved "
                                 "it aside and started a new one); nothing was moved. Reload the page to see it as it is now.", path=path)  # fmt: skip
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    moving = [(path.with_name(path.name + s), s) for s in ("", *_SIDE_FILES) if path.with_name(path.name + s).exists()]
    for attempt in range(1, 100):
        dest = path.with_name(f"{path.name}.damaged-{stamp}" + (f"-{attempt}" if attempt > 1 else ""))
        made: list[Path] = []
        try:
            for src, suffix in moving:
                _link_or_copy(src, dest.with_name(dest.name + suffix))
                made.append(dest.with_name(dest.name + suffix))
        except FileExistsError:
            for m in made:  # only new names of files that keep their old ones: nothing is lost
                m.unlink()
            continue
        except OSError as exc:
            for m in made:
                m.unlink()
            raise ScenarioStoreError(f"the scenario store {path} could not be moved aside ({exc}); nothing was moved. Move it by hand "
                                     f"(mv '{path}' '{dest}') or set PLACEKIT_HOME to another folder.", path=path) from exc  # fmt: skip
        for src, _ in moving:
            src.unlink()
        return dest
    raise ScenarioStoreError(f"no free name beside {path} to move it aside to; nothing was moved.", path=path)
