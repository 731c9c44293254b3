"""Install size and time: the app's environment (`./dev app`) against installing everything (the old single set).

Builds fresh virtual environments in a temporary folder, each with pip and a cold,
private pip cache (so both download everything), and prints the wall time and the size on
disk of each: requirements/app.txt (what `./dev app` installs now) and
requirements/test.txt (every group: what `./dev app` installed before the sets were split).

Usage: python benchmarks/bench_install.py [--keep]   (needs access to PyPI; several minutes)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def _install(lock: str, tmp: Path) -> tuple[float, float, int]:
    venv, cache = tmp / f"venv-{lock}", tmp / f"cache-{lock}"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin/pip"), "install", "-q", "--cache-dir", str(cache), "-r", str(ROOT / f"requirements/{lock}.txt")],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run([str(venv / "bin/pip"), "install", "-q", "--no-deps", "--cache-dir", str(cache), str(ROOT)], check=True, capture_output=True)
    seconds = time.perf_counter() - t0
    freeze = subprocess.run([str(venv / "bin/pip"), "freeze"], check=True, capture_output=True, text=True).stdout
    return seconds, _size_mb(venv), len([line for line in freeze.splitlines() if "==" in line])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--keep", action="store_true", help="keep the environments (printed folder)")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="placekit-install-"))
    print(f"{'environment':<44} {'time':>8} {'size':>9} {'packages':>9}")
    for lock, label in (("app", "./dev app now: requirements/app.txt"), ("test", "everything (./dev app before): test.txt")):
        secs, mb, n = _install(lock, tmp)
        print(f"{label:<44} {secs:7.0f}s {mb:7.0f} MB {n:9d}")
    if args.keep:
        print(f"kept in {tmp}")
    else:
        subprocess.run(["rm", "-rf", str(tmp)], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
