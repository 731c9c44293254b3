"""A scenario store: named groupings (and hub lists) in one SQLite file.

Every write is one transaction, so a failed save leaves the store as it was. Files
uploaded by users are parsed and validated before any write.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from boundaries.grouping import Grouping, grouping_from_text, grouping_to_json
from placekit.errors import PlacekitError, ScenarioFileError

__all__ = ["ScenarioStore", "Scenario"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scenarios (
    name TEXT PRIMARY KEY,
    place TEXT NOT NULL,
    grouping_json TEXT NOT NULL,
    hubs_json TEXT NOT NULL DEFAULT '[]',
    note TEXT NOT NULL DEFAULT '',
    saved_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS drafts (
    key TEXT PRIMARY KEY,
    place TEXT NOT NULL,
    grouping_json TEXT NOT NULL,
    hubs_json TEXT NOT NULL DEFAULT '[]',
    based_on TEXT NOT NULL DEFAULT '',
    saved_at TEXT NOT NULL
);
"""


class Scenario(dict):
    """A stored scenario: ``name``, ``place``, ``grouping`` (a Grouping), ``hubs``, ``note``, ``saved_at``."""


class ScenarioStore:
    """Named scenarios of one or more places in a SQLite file.

    Parameters
    ----------
    path
        The database file (created if absent), e.g. ``~/.placekit/scenarios.sqlite``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con, con:
            con.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=10, isolation_level="DEFERRED")
        con.execute("PRAGMA journal_mode=WAL")
        return con

    @staticmethod
    def _check_name(name: str) -> str:
        name = (name or "").strip()
        if not name:
            raise PlacekitError("a scenario needs a name; type one in.")
        if len(name) > 120:
            raise PlacekitError("scenario names are limited to 120 characters.")
        return name

    def save(self, name: str, grouping: Grouping, *, place: str, hubs: Iterable[str] = (), note: str = "", overwrite: bool = False) -> None:
        """Save a scenario in one transaction; refuse to overwrite unless `overwrite`."""
        name = self._check_name(name)
        doc = grouping_to_json(grouping)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with closing(self._connect()) as con, con:
            exists = con.execute("SELECT 1 FROM scenarios WHERE name = ?", (name,)).fetchone()
            if exists and not overwrite:
                raise PlacekitError(f"a scenario called {name!r} exists; choose another name or overwrite it.")
            con.execute(
                "INSERT OR REPLACE INTO scenarios (name, place, grouping_json, hubs_json, note, saved_at) VALUES (?, ?, ?, ?, ?, ?)",
                (name, place, doc, json.dumps(list(hubs)), note, now),
            )

    def load(self, name: str, *, wards: Iterable[str] | None = None) -> Scenario:
        """Return the scenario `name`, its grouping checked against `wards`."""
        with closing(self._connect()) as con:
            row = con.execute(
                "SELECT name, place, grouping_json, hubs_json, note, saved_at FROM scenarios WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            raise PlacekitError(f"there is no scenario called {name!r}.")
        g = grouping_from_text(row[2], fmt="json", wards=wards, source=f"stored scenario {name!r}")
        return Scenario(name=row[0], place=row[1], grouping=g, hubs=json.loads(row[3]), note=row[4], saved_at=row[5])

    def list(self, place: str | None = None) -> pd.DataFrame:
        """Return the stored scenarios (name, place, neighbourhoods, hubs, saved_at), newest first."""
        with closing(self._connect()) as con:
            rows = con.execute(
                "SELECT name, place, grouping_json, hubs_json, note, saved_at FROM scenarios ORDER BY saved_at DESC, name"
            ).fetchall()
        out = pd.DataFrame(
            [
                {
                    "name": r[0],
                    "place": r[1],
                    "neighbourhoods": len(json.loads(r[2])["neighbourhoods"]),
                    "hubs": len(json.loads(r[3])),
                    "note": r[4],
                    "saved_at": r[5],
                }
                for r in rows
            ],
            columns=["name", "place", "neighbourhoods", "hubs", "note", "saved_at"],
        )
        return out if place is None else out[out["place"] == place].reset_index(drop=True)

    def rename(self, old: str, new: str) -> None:
        """Rename a scenario; refuse if `new` is taken."""
        new = self._check_name(new)
        with closing(self._connect()) as con, con:
            if con.execute("SELECT 1 FROM scenarios WHERE name = ?", (new,)).fetchone():
                raise PlacekitError(f"a scenario called {new!r} exists already.")
            cur = con.execute("UPDATE scenarios SET name = ? WHERE name = ?", (new, old))
            if cur.rowcount == 0:
                raise PlacekitError(f"there is no scenario called {old!r}.")

    def duplicate(self, name: str, new: str) -> None:
        """Copy scenario `name` to `new`."""
        new = self._check_name(new)
        with closing(self._connect()) as con, con:
            if con.execute("SELECT 1 FROM scenarios WHERE name = ?", (new,)).fetchone():
                raise PlacekitError(f"a scenario called {new!r} exists already.")
            cur = con.execute(
                "INSERT INTO scenarios (name, place, grouping_json, hubs_json, note, saved_at) "
                "SELECT ?, place, grouping_json, hubs_json, note, saved_at FROM scenarios WHERE name = ?",
                (new, name),
            )
            if cur.rowcount == 0:
                raise PlacekitError(f"there is no scenario called {name!r}.")

    def delete(self, name: str) -> None:
        """Delete scenario `name`."""
        with closing(self._connect()) as con, con:
            if con.execute("DELETE FROM scenarios WHERE name = ?", (name,)).rowcount == 0:
                raise PlacekitError(f"there is no scenario called {name!r}.")

    def import_file(self, name: str, data: bytes, filename: str, *, place: str, wards: Iterable[str], overwrite: bool = False) -> Grouping:
        """Validate an uploaded grouping file and save it; a bad file changes nothing.

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
        g = grouping_from_text(text, fmt=suffix, wards=list(wards), source=f"uploaded file {filename}")
        self.save(name, g, place=place, overwrite=overwrite)
        return g

    # ------------------------------------------------------------------ drafts
    def save_draft(self, key: str, grouping: Grouping, *, place: str, hubs: Iterable[str] = (), based_on: str = "") -> None:
        """Save (or replace) the working draft `key`: unsaved edits kept so a reload can restore them.

        Parameters
        ----------
        key
            Identifies whose draft it is (e.g. a browser tab's draft id).
        based_on
            The saved scenario (or baseline) the draft was edited from, to say so on restore.
        """
        if not key:
            raise PlacekitError("a draft needs a key.")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with closing(self._connect()) as con, con:
            con.execute(
                "INSERT OR REPLACE INTO drafts (key, place, grouping_json, hubs_json, based_on, saved_at) VALUES (?, ?, ?, ?, ?, ?)",
                (key, place, grouping_to_json(grouping), json.dumps(list(hubs)), based_on, now),
            )

    def load_draft(self, key: str, *, wards: Iterable[str] | None = None) -> Scenario | None:
        """Return draft `key` (``name`` is the key; ``based_on`` says what it was edited from), or None."""
        with closing(self._connect()) as con:
            row = con.execute("SELECT key, place, grouping_json, hubs_json, based_on, saved_at FROM drafts WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        g = grouping_from_text(row[2], fmt="json", wards=wards, source=f"draft {key!r}")
        return Scenario(name=row[0], place=row[1], grouping=g, hubs=json.loads(row[3]), based_on=row[4], saved_at=row[5])

    def delete_draft(self, key: str) -> None:
        """Delete draft `key` (no error if there is none)."""
        with closing(self._connect()) as con, con:
            con.execute("DELETE FROM drafts WHERE key = ?", (key,))
