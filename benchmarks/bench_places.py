"""Places from England's national files: `--place NAME profile` as a process, cold and warm; `placekit england`.

Prints, measured in the same run, each command as a whole process (wall time and its peak memory):

- `placekit --place Leeds profile`: from nothing cached (England's tables and the place built), with England's
  tables cached but not the place (what every run would cost without the place cache: the obvious
  alternative), and warm (the place read from its cache; best of --warm); beside the shipped Manchester
  manifest's `placekit profile` (a place loaded from its own files);
- `placekit england --format csv` (296 authorities from the national tables through the flow engine),
  with England's LSOA→ward best fit computed (first run) and cached (second run), beside the obvious
  alternative: building each authority's place and computing its flows and PCN baseline, timed on
  --sample authorities in one process and extrapolated to 296 (said so).

Usage: PLACEKIT_DATA=DIR python benchmarks/bench_places.py [--place Leeds] [--warm 3] [--sample 8] [--quick]
       [--tables-cache DIR]   (copy England's cached tables from DIR: skips the from-nothing figure)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUICK_PLACE, QUICK_ONLY = "Rutland", ["E06000017", "E09000021"]

_ALTERNATIVE = """
import resource, sys, time
from boundaries.baseline import place_baseline
from boundaries.flows import compute_flows, flow_base_from_place
from geo.national import build_place
from geo.england import england_tables
root, codes = sys.argv[1], sys.argv[2].split(",")
tables = england_tables(root)
t0 = time.perf_counter()
for c in codes:
    place = build_place(tables, c)
    compute_flows(flow_base_from_place(place), place_baseline(place), city=place.name)
print(f"{(time.perf_counter() - t0) / len(codes):.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
"""


def _popen_with_rusage(args: list[str], env: dict) -> tuple[float, float, str]:
    """Run `args`, reaping it with wait4 so its own peak memory is known."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[2:])} failed ({proc.returncode})")
    return seconds, usage.ru_maxrss / 1024, out


def _placekit(*argv: str) -> list[str]:
    return [sys.executable, "-m", "placekit.cli.main", *argv]


def _line(label: str, seconds: float, mb: float) -> str:
    return f"{label:<78} {seconds:7.2f} s   peak {mb:6.0f} MB"


def _place_figures(args: argparse.Namespace, env: dict, home: Path) -> None:
    cache = home / "cache"
    if args.tables_cache:
        print(_line("  from nothing cached: skipped (--tables-cache: England's tables copied)", float("nan"), float("nan")))
    else:
        print(_line(f"--place {args.place} profile, nothing cached (England's tables + the place)",
                    *_popen_with_rusage(_placekit("--place", args.place, "profile"), env)[:2]))  # fmt: skip
    shutil.rmtree(cache / "places", ignore_errors=True)
    print(_line(f"--place {args.place} profile, England's tables cached, the place built (alternative: no place cache)",
                *_popen_with_rusage(_placekit("--place", args.place, "profile"), env)[:2]))  # fmt: skip
    warm = [_popen_with_rusage(_placekit("--place", args.place, "profile"), env)[:2] for _ in range(args.warm)]
    best = min(warm)
    print(_line(f"--place {args.place} profile, warm (the place read from its cache; best of {args.warm})", *best))
    if not args.quick:  # the quick setting (a test) leaves out what the full run adds for context
        print(_line("profile of the shipped Manchester manifest (its own files)", *_popen_with_rusage(_placekit("profile"), env)[:2]))


def _england_figures(args: argparse.Namespace, env: dict, home: Path, root: str) -> None:
    only = ["--only", ",".join(QUICK_ONLY)] if args.quick else []
    n = len(QUICK_ONLY) if args.quick else 296
    first = _popen_with_rusage(_placekit("england", "--format", "csv", *only), env)
    rows = len(first[2].strip().splitlines()) - 1
    label = "england" + (f" --only {len(QUICK_ONLY)} authorities" if args.quick else "")
    best_fit = "computed for those authorities (not cached)" if args.quick else "computed and cached"
    print(_line(f"{label} --format csv ({rows} rows), LSOA→ward best fit {best_fit}", *first[:2]))
    if not args.quick:
        second = _popen_with_rusage(_placekit("england", "--format", "csv", *only), env)
        print(_line(f"{label} --format csv, second run (best fit cached)", *second[:2]))
    sample = QUICK_ONLY[:1] if args.quick else _sample(home, args.sample)
    r = subprocess.run([sys.executable, "-c", _ALTERNATIVE, root, ",".join(sample)], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"the alternative failed: {r.stderr[-800:]}")
    per, mb = (float(x) for x in r.stdout.split())
    print(_line(f"alternative: build each place + its flows, {per:.2f} s per authority on {len(sample)} (× {n} = extrapolated)",
                per * n, mb))  # fmt: skip


def _sample(home: Path, k: int) -> list[str]:
    """Return k authorities spread over England's list (every 296/k-th by name), for the alternative's timing."""
    out = subprocess.run(_placekit("places", "--format", "csv"), env=dict(os.environ, PLACEKIT_HOME=str(home)), capture_output=True,
                         text=True, check=True).stdout.splitlines()[1:]  # fmt: skip
    codes = [line.split(",")[0] for line in out if line]
    step = max(1, len(codes) // k)
    return codes[::step][:k]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--place", default="Leeds")
    p.add_argument("--warm", type=int, default=3)
    p.add_argument("--sample", type=int, default=8, help="authorities the alternative to `england` is timed on")
    p.add_argument("--quick", action="store_true", help=f"--place {QUICK_PLACE}, england --only {','.join(QUICK_ONLY)} once, warm 1, "
                   "the alternative on one authority, no manifest figure")
    p.add_argument("--tables-cache", dest="tables_cache", default=None, help="a cache folder holding England's tables (england/)")
    args = p.parse_args()
    root = os.environ.get("PLACEKIT_DATA")
    if not root:
        raise SystemExit("set PLACEKIT_DATA to the data root holding the national files")
    if args.quick:
        args.place, args.warm = QUICK_PLACE, 1
    with tempfile.TemporaryDirectory(prefix="bench-places-") as tmp:
        home = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k != "PLACEKIT_CACHE"} | {"PLACEKIT_HOME": str(home), "PLACEKIT_DATA": root}
        if args.tables_cache:
            shutil.copytree(Path(args.tables_cache) / "england", home / "cache" / "england",
                            ignore=shutil.ignore_patterns("bestfit-*"))  # fmt: skip
        print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores, shared)")
        _place_figures(args, env, home)
        _england_figures(args, env, home, root)
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
