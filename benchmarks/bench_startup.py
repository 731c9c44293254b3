"""Start-up cost: importing placekit and running `placekit profile` as a whole process.

Prints, each measured in fresh processes (median of --runs):
- `import placekit` (the ground: settings, errors, version) and `import placekit.cli.main` (the whole CLI);
- which heavy optional libraries the CLI has loaded before any command runs (none should be);
- `placekit profile --format json` as a whole process, on the demo place and with --data;
- the obvious alternative in the same run: importing those heavy libraries eagerly, as a
  module-level `import folium, matplotlib.pyplot, osmnx, highspy` would.

Usage: python benchmarks/bench_startup.py [--data DIR] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HEAVY = ["folium", "branca", "matplotlib", "osmnx", "networkx", "highspy", "streamlit", "offlinefolium", "sklearn", "spopt"]


def _seconds(code: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        out.append(time.perf_counter() - t0)
    return out


def _process(args: list[str], runs: int, env: dict) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "placekit.cli.main", *args], capture_output=True, text=True, env=env)
        out.append(time.perf_counter() - t0)
        if r.returncode != 0:
            raise SystemExit(f"placekit {' '.join(args)} failed: {r.stderr[-500:]}")
    return out


def _line(label: str, secs: list[float]) -> str:
    return f"{label:<58} median {statistics.median(secs):6.2f} s  (min {min(secs):.2f}, max {max(secs):.2f}, n={len(secs)})"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("PLACEKIT_DATA"))
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PLACEKIT_DATA"}
    print(_line("python -c pass (interpreter start)", _seconds("pass", args.runs)))
    print(_line("import placekit", _seconds("import placekit", args.runs)))
    print(_line("import numpy, pandas, geopandas, scipy", _seconds("import numpy, pandas, geopandas, scipy.sparse", args.runs)))
    print(_line("import placekit.cli.main (every command registered)", _seconds("import placekit.cli.main", args.runs)))
    probe = f"import sys, json, placekit.cli.main; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout)
    print(f"{'heavy libraries loaded by import placekit.cli.main':<58} {loaded or 'none'}")
    eager = "import placekit.cli.main, folium, branca, matplotlib.pyplot, osmnx, highspy"
    print(_line("alternative: placekit.cli.main + folium, matplotlib, osmnx, highspy", _seconds(eager, args.runs)))
    print(_line("placekit profile --format json (demo place)", _process(["profile", "--format", "json"], args.runs, env)))
    if args.data:
        print(_line("placekit --data DIR profile --format json", _process(["--data", args.data, "profile", "--format", "json"], args.runs, env)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
