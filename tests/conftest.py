"""Shared fixtures: a tiny synthetic place built by hand, and the real place from the data root."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from boundaries.grouping import Grouping
from geo.place import Place, practice_wards

X0, Y0 = 380_000, 395_000  # Manchester, British National Grid


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Keep caches and scenario stores out of the user's home."""
    home = tmp_path_factory.getbasetemp() / "placekit-home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("PLACEKIT_HOME", str(home))


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh PLACEKIT_HOME for one test (its own scenario store), returned as a path."""
    monkeypatch.setenv("PLACEKIT_HOME", str(tmp_path))
    return tmp_path


def _tiny_place() -> Place:
    # 3 × 2 grid of 1 km square wards W1..W6; each split into a west and an east LSOA.
    wards, lsoas, look = [], [], []
    k = 0
    for r in range(2):
        for c in range(3):
            w = f"E0590000{r * 3 + c + 1}"
            x, y = X0 + c * 1000, Y0 + r * 1000
            wards.append((w, f"Ward {r * 3 + c + 1}", box(x, y, x + 1000, y + 1000)))
            for half in range(2):
                k += 1
                code = f"E0100{k:04d}"
                lsoas.append((code, f"Tiny {k:03d}", box(x + half * 500, y, x + half * 500 + 500, y + 1000)))
                look.append((code, w))
    wg = gpd.GeoDataFrame(
        {"name": [n for _, n, _ in wards]},
        geometry=[g for *_, g in wards],
        index=pd.Index([w for w, *_ in wards], name="ward_code"),
        crs="EPSG:27700",
    )
    lg = gpd.GeoDataFrame(
        {"name": [n for _, n, _ in lsoas]},
        geometry=[g for *_, g in lsoas],
        index=pd.Index([c for c, *_ in lsoas], name="lsoa_code"),
        crs="EPSG:27700",
    )
    lookup = pd.DataFrame({"ward_code": [w for _, w in look], "ward_name": "", "lad_code": "E08000003", "lad_name": "Tiny"}, index=lg.index)
    pop = np.array([1000, 1200, 900, 1100, 1500, 800, 1000, 1000, 1300, 700, 1600, 600])
    child = pop // 5
    old = pop // 6
    population = pd.DataFrame({"population": pop, "age_0_15": child, "age_16_59": pop - child - old, "age_60_plus": old}, index=lg.index)
    imd = pd.DataFrame({"imd_rank": np.arange(12) * 2000 + 1, "imd_decile": [1, 1, 2, 3, 1, 5, 7, 8, 2, 10, 4, 6]}, index=lg.index)
    practices = gpd.GeoDataFrame(
        {
            "practice_name": ["P one", "P two", "P three", "P out"],
            "postcode": "",
            "status": ["A", "A", "A", "A"],
            "open_date": pd.NaT,
            "close_date": pd.NaT,
            "commissioner": "X",
            "geocoded": True,
        },
        geometry=[Point(X0 + 250, Y0 + 500), Point(X0 + 1500, Y0 + 1500), Point(X0 + 2700, Y0 + 200), Point(X0 + 9000, Y0 + 9000)],
        index=pd.Index(["P00001", "P00002", "P00003", "P00099"], name="practice_code"),
        crs="EPSG:27700",
    )
    practices["ward_code"] = practice_wards(practices, wg)
    rows = []
    rng = np.random.default_rng(1)
    for code in lg.index:
        for p in ["P00001", "P00002", "P00003", "P00099"]:
            rows.append((p, code, int(rng.integers(10, 400))))
    rows += [("P00001", "E01999999", 55), ("P00002", "NO2011", 7), ("P00003", "W01000100", 3)]
    reg = pd.DataFrame(rows, columns=["practice_code", "lsoa_code", "patients"])
    reg.insert(1, "practice_name", "")
    reg.insert(3, "sex", "ALL")
    reg.attrs["lsoa_vintage"] = "2011"
    return Place(
        name="Tiny",
        wards=wg,
        lsoas=lg,
        lsoa_ward=lookup,
        population=population,
        imd=imd,
        practices=practices,
        registrations=reg,
        lsoa_vintage="2011",
        status={},
        vintages={"population": "test"},
    )


@pytest.fixture
def tiny_place() -> Place:
    """A 6-ward, 12-LSOA place with 3 practices inside and 1 outside."""
    return _tiny_place()


@pytest.fixture
def tiny_grouping() -> Grouping:
    """Three neighbourhoods of two wards each, in two localities."""
    w = [f"E0590000{i}" for i in range(1, 7)]
    return Grouping(
        {w[0]: "A", w[1]: "A", w[2]: "B", w[3]: "C", w[4]: "C", w[5]: "B"}, {"A": "West", "B": "East", "C": "West"}, name="tiny"
    )


_DATA_FIXTURES = {"real_place", "real_data_root", "england", "national"}


def pytest_collection_modifyitems(config, items):
    """Refuse a test that needs the data root without the `realdata` marker, so `-m "not realdata"` runs anywhere."""
    unmarked = [i.nodeid for i in items if _DATA_FIXTURES & set(getattr(i, "fixturenames", ())) and i.get_closest_marker("realdata") is None]
    if unmarked:
        raise pytest.UsageError(f"tests using the data root must be marked @pytest.mark.realdata: {unmarked}")


def data_root() -> Path | None:
    value = os.environ.get("PLACEKIT_DATA")
    return Path(value) if value else None


@pytest.fixture(scope="session")
def real_place():
    """The Manchester place loaded from the data root; skipped when PLACEKIT_DATA is unset."""
    root = data_root()
    if root is None:
        pytest.skip("PLACEKIT_DATA is not set: real-data tests need the data root (CI sets it to ../shared/data)")
    from geo.place import load_place

    return load_place(root)


@pytest.fixture(scope="session")
def real_data_root() -> Path:
    root = data_root()
    if root is None:
        pytest.skip("PLACEKIT_DATA is not set: real-data tests need the data root (CI sets it to ../shared/data)")
    return root


@pytest.fixture(scope="session")
def session_home(tmp_path_factory):
    """PLACEKIT_HOME for session-scoped fixtures (the same folder the autouse fixture gives each test), so caches stay in it."""
    home = tmp_path_factory.getbasetemp() / "placekit-home"
    home.mkdir(exist_ok=True)
    mp = pytest.MonkeyPatch()
    mp.setenv("PLACEKIT_HOME", str(home))
    yield home
    mp.undo()


def shared_cache_dir(tmp_path_factory) -> Path:
    """Return the cache folder (``PLACEKIT_CACHE``) shared by every xdist worker of this run."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "placekit-shared-cache"
    shared.mkdir(exist_ok=True)
    return shared


@pytest.fixture(scope="session")
def england(real_data_root, session_home, tmp_path_factory):
    """England's national tables (geo.england), built once per test run and shared by the xdist workers.

    The tables cache (tens of seconds to build) lives beside the workers' own folders; the first
    worker to need it builds it under a file lock while the others wait, then every worker reads it.
    """
    from geo.england import england_tables

    shared = shared_cache_dir(tmp_path_factory)
    mp = pytest.MonkeyPatch()
    mp.setenv("PLACEKIT_CACHE", str(shared))
    with open(shared / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            tables = england_tables(real_data_root)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    yield tables
    mp.undo()


@pytest.fixture(scope="session")
def national(real_data_root, session_home, england):
    """A function giving the place of an English authority built from the national files (each built once per session)."""
    from geo.national import national_place

    built = {}

    def get(code: str):
        if code not in built:
            built[code] = national_place(real_data_root, code)
        return built[code]

    return get


@pytest.fixture
def app(tmp_path, monkeypatch):
    """The app (``app.py``) run once on its first page, with its own home under `tmp_path`, and no exception on it."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PLACEKIT_HOME", str(tmp_path))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
