"""The package as users get it: pinned sets that match pyproject.toml, and a wheel that works outside the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
#: Each pinned set and the dependency groups it must satisfy ("" is the core).
LOCKS = {"core": [""], "app": ["", "app"], "network": ["", "network"], "design": ["", "design"],
         "test": ["", "app", "network", "design", "test", "bench"]}


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def _group(name: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    specs = project["dependencies"] if name == "" else project["optional-dependencies"][name]
    return [Requirement(s) for s in specs]


@pytest.mark.parametrize("lock", list(LOCKS))
def test_pinned_set_satisfies_its_groups(lock):
    """Every dependency the groups name is pinned, at a version their specifier allows (`./dev lock` re-pins)."""
    pins = _pins(ROOT / "requirements" / f"{lock}.txt")
    problems = []
    for group in LOCKS[lock]:
        for req in _group(group):
            got = pins.get(canonicalize_name(req.name))
            if got is None:
                problems.append(f"{req.name} (group {group or 'core'}) is not pinned in requirements/{lock}.txt")
            elif not req.specifier.contains(got, prereleases=True):
                problems.append(f"{req.name}=={got} in requirements/{lock}.txt breaks {req} (group {group or 'core'})")
    assert problems == [], "run ./dev lock:\n" + "\n".join(problems)


def test_app_set_leaves_out_test_tools_and_the_reference_solver():
    pins = _pins(ROOT / "requirements" / "app.txt")
    assert not {"pytest", "playwright", "hypothesis", "ruff", "spopt", "pulp", "scikit-learn", "osmnx"} & set(pins)
    assert (ROOT / "requirements.txt").read_text(encoding="utf-8").strip().endswith("-r requirements/app.txt")


# --------------------------------------------------------------------------- the wheel, installed
@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """Build the wheel, install it with the app's pinned set into a fresh venv; return the venv's bin folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    # Build from a copy: setuptools writes build/ beside the sources, which must not litter the checkout.
    src = shutil.copytree(ROOT, tmp / "src", ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist", "out", "static", "__pycache__",
                                                                        "*.egg-info", ".pytest_cache", ".ruff_cache", ".hypothesis"))  # fmt: skip
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(tmp / "dist"), str(src)], check=True,
                           capture_output=True, text=True)  # fmt: skip
    # setuptools warns when a data folder looks like a package left out of the list (issue 8): none may.
    assert "would be ignored" not in build.stdout + build.stderr, "setuptools: a data folder would be ignored; see [tool.setuptools]"
    wheel = next((tmp / "dist").glob("placekit-*.whl"))
    # Issue 18: the wheel adds only the design card's packages and placekit to an environment.
    with zipfile.ZipFile(wheel) as zf:
        top = {n.split("/")[0] for n in zf.namelist() if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"placekit", "geo", "boundaries", "estates"}, f"the wheel's top-level names are {sorted(top)}"
    venv = tmp / "venv"
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if Path(uv).exists():
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        env = dict(os.environ, VIRTUAL_ENV=str(venv))
        subprocess.run([uv, "pip", "install", "-q", "-r", str(ROOT / "requirements/app.txt")], check=True, env=env)
        subprocess.run([uv, "pip", "install", "-q", "--no-deps", str(wheel)], check=True, env=env)
    else:  # pip alone, slower
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin/pip"), "install", "-q", "-r", str(ROOT / "requirements/app.txt")], check=True)
        subprocess.run([str(venv / "bin/pip"), "install", "-q", "--no-deps", str(wheel)], check=True)
    return venv / "bin"


def _run(bin_dir: Path, *args: str, cwd: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PLACEKIT_DATA")}
    env.update({"PATH": f"{bin_dir}:{env['PATH']}", "PLACEKIT_HOME": str(cwd / "home")} | (env_extra or {}))
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.realdata
@pytest.mark.wheel
def test_wheel_runs_every_command_and_the_app_from_anywhere(installed, real_data_root, tmp_path):
    """`pip install` of the wheel (not editable), run from a folder that is not the checkout."""
    where = _run(installed, "python", "-c", "import geo, placekit; print(geo.__file__); print(placekit.__version__)", cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert str(installed.parent) in where.stdout and str(ROOT) not in where.stdout, where.stdout
    assert where.stdout.strip().endswith(PYPROJECT["project"]["version"])
    demo = _run(installed, "placekit", "profile", "--format", "json", cwd=tmp_path)
    assert demo.returncode == 0 and len(json.loads(demo.stdout)) == 12 and "demo data" in demo.stderr, demo.stderr
    data = ["placekit", "--data", str(real_data_root)]
    cat = _run(installed, *data, "catchments", "--format", "json", cwd=tmp_path)  # reads the shipped trust_successors.csv
    assert cat.returncode == 0 and len(json.loads(cat.stdout)) == 12, cat.stderr
    for cmd in (["flows", "--format", "csv"], ["validate", str(ROOT / "placekit/data/groupings/manchester_2015_one_team.csv")],
                ["coverage", "--format", "json"], ["map", "--out", str(tmp_path / "m.html")]):  # fmt: skip
        r = _run(installed, *data, *cmd, cwd=tmp_path)
        assert r.returncode == 0, (cmd, r.stderr)
    assert "cdn.jsdelivr.net/npm/leaflet" not in (tmp_path / "m.html").read_text(encoding="utf-8")
    app = _run(installed, *data, "app", "--check", cwd=tmp_path)
    assert app.returncode == 0 and "started; first page: Map and profiles" in app.stdout, app.stdout + app.stderr
    assert (tmp_path / "home/app/static/vendor").is_dir()
