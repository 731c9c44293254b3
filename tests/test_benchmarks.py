"""Every benchmark script runs to its end on the real data, in its quick setting, and its own checks hold.

A benchmark prints figures and is read by people, so nothing else would notice when one
breaks (``bench_health`` once crashed at its last print for a whole release). The
figures themselves are not asserted here: speed is for the benchmarks to report, on a
quiet machine. What is asserted is that each script finishes, prints its headline lines,
and that the checks it makes of its own answers (the same figures as the obvious
alternative) come out true.

Not run here: ``bench_install`` (builds fresh environments from the package index: minutes,
and a network), ``bench_estates`` (travel-time matrices on a 100,000-node grid against networkx
and p-median solves against spopt: minutes on two cores; the siting and matrix code it times
is tested in ``tests/estates``), and the long settings of the others (England-sized files).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"


def _run(script: str, *args: str, root: Path, home: Path, timeout: int = 600) -> str:
    """Run one benchmark script from a folder outside the checkout; return what it printed (fail with its output if it failed)."""
    env = dict(os.environ, PLACEKIT_DATA=str(root), PLACEKIT_HOME=str(home))
    out = subprocess.run([sys.executable, str(BENCH / script), *args], cwd=home, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{script} {' '.join(args)} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


@pytest.mark.realdata
def test_bench_flows_quick(real_data_root, tmp_path):
    out = _run("bench_flows.py", "--quick", root=real_data_root, home=tmp_path)
    assert "ward move" in out and "practice move" in out and "pandas groupby" in out
    assert "300 wards" in out.replace(",", "") and "England" not in out


@pytest.mark.realdata
def test_bench_design_quick(real_data_root, tmp_path):
    out = _run("bench_design.py", "--quick", root=real_data_root, home=tmp_path)
    assert "same counts: True" in out  # the cover states count what plain backtracking counts
    assert "same plans and city-wide list containment: True" in out  # placekit's scores equal GerryChain's updaters'
    assert "K=13: 1,363" in out and "K=12: 168" in out and "LSOA design:" in out and "ensemble of 200 ReCom plans" in out


@pytest.mark.realdata
def test_bench_health(real_data_root, tmp_path):
    out = _run("bench_health.py", root=real_data_root, home=tmp_path)
    assert "same figures: True" in out  # the health table equals the pandas merge version
    assert "profile pack of" in out and "PDF total" in out


@pytest.mark.realdata
def test_bench_app(real_data_root, tmp_path):
    out = _run("bench_app.py", "--moves", "2", root=real_data_root, home=tmp_path)
    assert "script run (server side), cached data" in out and "caches cleared before the rerun" in out


@pytest.mark.realdata
def test_bench_load(real_data_root, tmp_path):
    out = _run("bench_load.py", "--warm", "1", root=real_data_root, home=tmp_path)
    assert "cold load (empty cache)" in out and "warm load (best of 1)" in out and "alternative" in out


@pytest.mark.realdata
def test_bench_startup(real_data_root, tmp_path):
    out = _run("bench_startup.py", "--runs", "1", "--data", str(real_data_root), root=real_data_root, home=tmp_path)
    assert "heavy libraries loaded by import placekit.cli.main" in out and "profile --format json" in out


@pytest.mark.realdata
def test_bench_bad_inputs(real_data_root, tmp_path):
    out = _run("bench_bad_inputs.py", "--per-group", "1", "--kills", "3", "--names", "20", root=real_data_root, home=tmp_path)
    # Exit status 0 means no traceback, silent accept, unclear error or lost save among these (the whole catalogue runs in tests/bad_inputs).
    assert "inputs tried:" in out and "kill -9 during saves: 3 kills" in out and "two writers, 20 names" in out


@pytest.mark.realdata
@pytest.mark.e2e
def test_bench_browser_one_repetition(real_data_root, tmp_path):
    if not Path("/usr/bin/chromium").exists():
        if os.environ.get("PLACEKIT_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required here (PLACEKIT_REQUIRE_BROWSER is set) but /usr/bin/chromium is missing")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    out = _run("bench_browser.py", "--reps", "1", "--sizes", "1366x768", root=real_data_root, home=tmp_path, timeout=900)
    for step in ("map click → selection highlighted on the map", "Assign → changed figure", "Assign → map updated",
                 "practice Assign → dot recoloured", "page switch Flows → Redraw"):  # fmt: skip
        assert step in out, out


def test_every_benchmark_is_run_here_or_named_as_not():
    """A new benchmark script gets a test here (or a reason in this module's docstring)."""
    tested = {line.split('"')[1] for line in Path(__file__).read_text(encoding="utf-8").splitlines() if "_run(\"bench_" in line}
    scripts = {p.name for p in BENCH.glob("bench_*.py")}
    assert scripts - tested == {"bench_install.py", "bench_estates.py"}, scripts - tested


@pytest.mark.realdata
def test_bench_places_quick(real_data_root, england, session_home, tmp_path):
    # England's tables come from this session's cache (built once for every national test), so the quick run times a place's build.
    out = _run("bench_places.py", "--quick", "--tables-cache", os.environ["PLACEKIT_CACHE"], root=real_data_root, home=tmp_path)
    for line in ("--place Rutland profile, England's tables cached, the place built", "--place Rutland profile, warm",
                 "england --only 2 authorities --format csv (2 rows)", "alternative: build each place + its flows"):  # fmt: skip
        assert line in out, out


@pytest.mark.realdata
def test_bench_model_quick(real_data_root, tmp_path):
    out = _run("bench_model.py", "--quick", root=real_data_root, home=tmp_path)
    assert "calibrate (fit + one refit without each term)" in out and "target < 5 s" in out
    assert out.count("conserved: True") == 2 and "same figures: True" in out and "same figures: False" not in out
    assert "region E12000002" in out and "peak memory" in out and "nearest practice" in out
