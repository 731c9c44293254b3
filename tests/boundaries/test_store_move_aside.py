"""Moving a damaged scenario store aside (boundaries.store.move_aside): kept with its side files, never overwriting,
never deleting, refused when the file changed, working while another process holds it; the CLI keeps its fix."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime

import pytest

import boundaries.store as store_module
from boundaries.grouping import Grouping
from boundaries.store import APPLICATION_ID, SCHEMA_VERSION, ScenarioStore, move_aside, store_identity
from placekit.cli.main import main
from placekit.errors import ScenarioStoreError

WARDS = [f"E0590000{i}" for i in range(1, 7)]
GROUPING = Grouping({w: n for w, n in zip(WARDS, "AABCCB", strict=True)}, {"A": "West", "B": "East", "C": "West"}, name="tiny")
FIXED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class _Clock:
    @staticmethod
    def now(tz=None):
        return FIXED


@pytest.fixture
def fixed_time(monkeypatch):
    monkeypatch.setattr(store_module, "datetime", _Clock)
    return "scenarios.sqlite.damaged-20260102T030405Z"


def test_the_store_and_its_write_ahead_log_move_together_and_still_open(tmp_path, fixed_time):
    path = tmp_path / "scenarios.sqlite"
    st = ScenarioStore(path)
    st.save("Kept", GROUPING, place="Tiny")
    holder = st._connect()  # an open reader keeps the write-ahead log from being checkpointed away
    holder.execute("BEGIN")
    holder.execute("SELECT count(*) FROM scenarios").fetchone()
    sides = sorted(p.name for p in tmp_path.iterdir())
    assert "scenarios.sqlite-wal" in sides, sides
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    dest = move_aside(path, expect=store_identity(path))
    holder.close()
    assert dest == tmp_path / fixed_time
    assert not path.exists() and not (tmp_path / "scenarios.sqlite-wal").exists()
    for name, data in before.items():  # every file kept, byte for byte, under the new name
        assert (tmp_path / name.replace("scenarios.sqlite", fixed_time)).read_bytes() == data or name.endswith("-shm")
    assert list(ScenarioStore(dest).list()["name"]) == ["Kept"]  # the moved store opens, with its log
    assert ScenarioStore(path).list().empty  # and a new, empty one starts at the old name


def test_an_existing_name_is_never_overwritten(tmp_path, fixed_time):
    path = tmp_path / "scenarios.sqlite"
    path.write_bytes(b"garbage" * 100)
    taken = tmp_path / fixed_time
    taken.write_bytes(b"an earlier move")
    (tmp_path / (fixed_time + "-2-wal")).write_bytes(b"a stray log")  # the second name is half taken too
    (tmp_path / "scenarios.sqlite-wal").write_bytes(b"log")
    dest = move_aside(path)
    assert dest.name == fixed_time + "-3"
    assert dest.read_bytes() == b"garbage" * 100 and (tmp_path / (fixed_time + "-3-wal")).read_bytes() == b"log"
    assert taken.read_bytes() == b"an earlier move" and (tmp_path / (fixed_time + "-2-wal")).read_bytes() == b"a stray log"
    assert not (tmp_path / (fixed_time + "-2")).exists()  # the half-made second attempt was undone
    assert not path.exists()


def test_a_file_that_changed_since_it_was_seen_is_not_moved(tmp_path):
    path = tmp_path / "scenarios.sqlite"
    path.write_bytes(b"garbage")
    seen = store_identity(path)
    path.unlink()  # another window moved it aside, and a new store started there
    ScenarioStore(path).save("New work", GROUPING, place="Tiny")
    with pytest.raises(ScenarioStoreError, match="changed since its problem was reported"):
        move_aside(path, expect=seen)
    assert list(ScenarioStore(path).list()["name"]) == ["New work"]
    assert [p.name for p in tmp_path.iterdir() if "damaged" in p.name] == []
    with pytest.raises(ScenarioStoreError, match="no scenario store file"):
        move_aside(tmp_path / "absent.sqlite")


def test_without_hard_links_the_file_is_copied_to_a_new_name_then_removed(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "scenarios.sqlite"
    path.write_bytes(bytes(range(256)) * 1000)
    dest = move_aside(path)
    assert dest.read_bytes() == bytes(range(256)) * 1000 and not path.exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX: an open file can be renamed")
def test_works_while_another_process_holds_the_store(tmp_path):
    """A child holds a write transaction open on the store: the move goes through, and the child's handle follows the moved file."""
    path = tmp_path / "scenarios.sqlite"
    ScenarioStore(path).save("Old", GROUPING, place="Tiny")
    code = (
        "import sqlite3, sys\n"
        f"con = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
        "con.execute('BEGIN IMMEDIATE')\n"
        "con.execute(\"UPDATE scenarios SET note = 'held' WHERE name = 'Old'\")\n"
        "print('holding', flush=True)\n"
        "sys.stdin.readline()\n"
        "con.execute('COMMIT')\n"
        "print('committed', flush=True)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "holding"
        dest = move_aside(path)
        fresh = ScenarioStore(path)
        fresh.save("New", GROUPING, place="Tiny")  # the new store is not blocked by the old lock
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "committed"
    finally:
        child.kill() if child.poll() is None else None
        child.wait(timeout=30)
    assert list(ScenarioStore(path).list()["name"]) == ["New"]
    assert ScenarioStore(dest).load("Old")["note"] == "held"  # the holder's write went to the moved file: nothing lost


def test_the_cli_keeps_its_clear_error_with_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PLACEKIT_HOME", str(tmp_path))
    path = tmp_path / "scenarios.sqlite"
    path.write_bytes(b"not a database\n" * 50)
    assert main(["scenarios", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("placekit: error:") and "not an SQLite database" in err and f"mv '{path}'" in err and "Traceback" not in err
    assert path.read_bytes() == b"not a database\n" * 50


def test_the_error_says_whether_moving_aside_is_a_fix(tmp_path):
    path = tmp_path / "scenarios.sqlite"
    path.write_bytes(b"garbage" * 10)
    with pytest.raises(ScenarioStoreError) as exc:
        ScenarioStore(path)
    assert exc.value.movable and exc.value.path == path and exc.value.reason.startswith("is not an SQLite database")
    newer = tmp_path / "newer.sqlite"
    with closing(sqlite3.connect(newer)) as con:
        con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        con.execute("CREATE TABLE scenarios (name TEXT)")
        con.commit()
    with pytest.raises(ScenarioStoreError, match="newer placekit") as exc:
        ScenarioStore(newer)
    assert not exc.value.movable  # upgrading placekit is the fix, not a new store
