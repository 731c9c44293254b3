"""Faults the scenario store must survive: processes killed with SIGKILL mid-save, and two writers racing for one name.

Run as a module for the child processes::

    python -m tests.bad_inputs.store_faults saver STORE          # saves until killed, printing each commit
    python -m tests.bad_inputs.store_faults writer STORE ID N T  # saves N contested names at time T

:func:`kill_test` and :func:`race_test` drive them and count what was lost or overwritten.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from boundaries.grouping import Grouping, grouping_to_json
from boundaries.store import ScenarioStore
from placekit.errors import PlacekitError

REPO = Path(__file__).resolve().parents[2]
WARDS = [f"E0590000{i}" for i in range(1, 7)]


def _grouping(k: int) -> Grouping:
    names = ["A", "B", "C"]
    return Grouping({w: names[(i + k) % 3] for i, w in enumerate(WARDS)}, {"A": "West", "B": "East", "C": "West"}, name=f"v{k}")


def _child(args: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "tests.bad_inputs.store_faults", *args], env=env, cwd=REPO, **kw)


# --------------------------------------------------------------------------- kill -9
def saver(store: str) -> None:
    """Save scenarios, overwrite one rolling scenario and a draft, forever; print each committed save."""
    st = ScenarioStore(store)
    start = int(time.time() * 1000) % 10**9
    i = 0
    print("ready", flush=True)
    while True:
        name = f"k{start}-{i}"
        st.save(name, _grouping(i), place="Tiny", note=str(i))
        print(f"saved {name} {i}", flush=True)
        st.save("rolling", _grouping(i), place="Tiny", note=str(i), overwrite=True)
        print(f"rolling {i}", flush=True)
        st.save_draft("tab", _grouping(i), place="Tiny")
        i += 1


@dataclass
class KillResult:
    """What ``kill -9`` during saves cost: kills, saves reported committed, and those missing or unreadable afterwards."""

    kills: int
    committed: int
    lost: int
    unreadable_store: int
    rolling_broken: int


def kill_test(store: Path, *, kills: int = 10, seed: int = 0) -> KillResult:
    """Kill a saving child with SIGKILL at random moments `kills` times; check every reported commit survived."""
    rng = random.Random(seed)
    committed: dict[str, int] = {}
    lost = unreadable = rolling_broken = 0
    for _ in range(kills):
        proc = _child(["saver", str(store)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        out = proc.stdout.read()
        proc.wait()
        for line in out.splitlines():
            parts = line.split()
            if parts[:1] == ["saved"] and len(parts) == 3:
                committed[parts[1]] = int(parts[2])
        try:
            st = ScenarioStore(store)
            names = set(st.list()["name"])
            for name, i in committed.items():
                if name not in names or st.load(name, wards=WARDS)["grouping"] != _grouping(i):
                    lost += 1
            if "rolling" in names:
                r = st.load("rolling", wards=WARDS)
                rolling_broken += r["grouping"] != _grouping(int(r["note"]))
        except Exception:  # noqa: BLE001 (a store that no longer opens is what this test looks for)
            unreadable += 1
    return KillResult(kills=kills, committed=len(committed), lost=lost, unreadable_store=unreadable, rolling_broken=rolling_broken)


# --------------------------------------------------------------------------- two writers
def _save_checked_then_replaced(st: ScenarioStore, name: str, grouping: Grouping, note: str) -> None:
    """The save placekit had before issue 11: check the name, then INSERT OR REPLACE (two steps; the baseline of the race)."""
    with closing(sqlite3.connect(st.path, timeout=10)) as con, con:
        if con.execute("SELECT 1 FROM scenarios WHERE name = ?", (name,)).fetchone():
            raise PlacekitError(f"a scenario called {name!r} exists")
        con.execute(
            "INSERT OR REPLACE INTO scenarios (name, place, grouping_json, hubs_json, note, saved_at, created_at) VALUES (?, ?, ?, '[]', ?, '', '')",
            (name, "Tiny", grouping_to_json(grouping), note),
        )


def writer(store: str, wid: str, n: int, start_at: float, how: str = "store") -> None:
    """Save contested names c0..c(n-1) without overwrite from the moment `start_at`; print the ones this writer won."""
    st = ScenarioStore(store)
    won = []
    time.sleep(max(0.0, start_at - time.time()))
    for i in range(n):
        try:
            if how == "store":
                st.save(f"c{i}", _grouping(int(wid)), place="Tiny", note=wid)
            else:
                _save_checked_then_replaced(st, f"c{i}", _grouping(int(wid)), wid)
            won.append(i)
        except PlacekitError:
            pass
    print(json.dumps(won), flush=True)


@dataclass
class RaceResult:
    """Two processes saving the same names without overwrite: names contested, won by both, by neither, overwritten."""

    names: int
    won_by_both: int
    won_by_neither: int
    overwritten: int


def race_test(store: Path, *, names: int = 200, how: str = "store") -> RaceResult:
    """Run two writers on the same `names` names at once; every name must be won by exactly one and hold its content.

    `how` is ``"store"`` (:meth:`ScenarioStore.save`) or ``"check-then-replace"`` (the save
    before issue 11, to show what the test catches).
    """
    ScenarioStore(store)  # create it once, so the race is about saves, not set-up
    start_at = time.time() + 8.0  # both children have imported by then
    args = [str(names), str(start_at), how]
    procs = [_child(["writer", str(store), wid, *args], stdout=subprocess.PIPE, text=True) for wid in ("1", "2")]
    won = [set(json.loads(p.communicate(timeout=600)[0].strip().splitlines()[-1])) for p in procs]
    st = ScenarioStore(store)
    both = len(won[0] & won[1])
    neither = names - len(won[0] | won[1])
    overwritten = 0  # names where a save that reported success is not what the store holds
    for i in range(names):
        note = st.load(f"c{i}", wards=WARDS)["note"]
        winners = [wid for wid, w in zip(("1", "2"), won, strict=True) if i in w]
        overwritten += len(winners) > 1 or (len(winners) == 1 and note != winners[0])
    return RaceResult(names=names, won_by_both=both, won_by_neither=neither, overwritten=overwritten)


if __name__ == "__main__":
    if sys.argv[1] == "saver":
        saver(sys.argv[2])
    elif sys.argv[1] == "writer":
        writer(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
    else:
        raise SystemExit(f"unknown role {sys.argv[1]!r}")
