"""Strict files: repeated JSON keys and control characters in groupings, uploads, scenario exports and estates files."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
from shapely.geometry import Point, box

from boundaries.grouping import grouping_to_csv, grouping_to_json, read_grouping
from boundaries.store import ScenarioStore
from geo import loaders
from geo.estates_sites import read_estates_file
from placekit.errors import ScenarioFileError, UnreadableFileError
from tests.bad_inputs.cases_misc import GROUPING, WARDS
from tests.bad_inputs.framework import Case, CliRefused, cli_run, copy_to, demo_env, put

_JSON = grouping_to_json(GROUPING)
_CSV = grouping_to_csv(GROUPING)
# The JSON text with neighbourhood "A" written twice: the second (one ward) would silently replace the first (two wards).
_REPEATED_NB = _JSON.replace(
    '  "neighbourhoods": {\n', '  "neighbourhoods": {\n    "A": {"locality": "West", "wards": ["E05900001"]},\n', 1
)
_REPEATED_LOCALITY = _JSON.replace('"locality": "West",', '"locality": "West", "locality": "East",', 1)
_REPEATED_TOP = _JSON.replace('  "neighbourhoods": {', '  "name": "other",\n  "neighbourhoods": {', 1)


def _grouping(name: str, content: bytes | str) -> Callable[[Path], object]:
    return lambda tmp: read_grouping(put(tmp / name, content), wards=WARDS)


def _csv_line(line: int, insert: str) -> str:
    """Return the grouping CSV with `insert` put into the middle of line `line` (1-based)."""
    lines = _CSV.splitlines(keepends=True)
    text = lines[line - 1]
    lines[line - 1] = text[:5] + insert + text[5:]
    return "".join(lines)


def _upload(data: bytes, filename: str) -> Callable[[Path], object]:
    def run(tmp: Path):
        st = ScenarioStore(tmp / "s.sqlite")
        before = st.list()
        try:
            return st.import_file("Up", data, filename, place="T", wards=WARDS)
        except BaseException:
            if not st.list().equals(before):
                raise AssertionError("a refused upload changed the store") from None
            raise

    return run


def _export_text(entry_grouping: str) -> str:
    return (
        '{"format": "placekit-scenarios", "schema_version": 3, "scenarios": [{"name": "X", "place": "T", "grouping": '
        + entry_grouping
        + "}]}"
    )


def _cli_import(text: bytes | str) -> Callable[[Path], object]:
    """``placekit scenarios import`` of an export file; a refusal must leave the store as it was."""

    def run(tmp: Path):
        store = tmp / "s.sqlite"
        ScenarioStore(store).save("Keep", GROUPING, place="T")
        path = put(tmp / "export.json", text)
        try:
            return cli_run(["scenarios", "--store", str(store), "import", str(path)])
        finally:
            if ScenarioStore(store).list()["name"].tolist() != ["Keep"]:
                raise AssertionError("a refused import changed the store")

    return run


_ESTATES = "name,type,lon,lat\nLibrary one,library,-2.24,53.48\nLibrary two,library,-2.25,53.47\n"


def _estates(name: str, content: bytes | str) -> Callable[[Path], object]:
    return lambda tmp: read_estates_file(put(tmp / name, content))


def _estates_geojson_repeated() -> str:
    feature = '{"type": "Feature", "properties": {"name": "A", "type": "library", "type": "pharmacy"}, "geometry": {"type": "Point", "coordinates": [-2.24, 53.48]}}'
    return (
        '{"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}, "features": [\n'
        + feature
        + "\n]}"
    )


def _sites_with(edit: Callable[[bytes], bytes]) -> Callable[[Path], object]:
    return lambda tmp: loaders.read_sites(copy_to(tmp, "gm-estates-sites/gm_libraries.csv", edit), site_type="library")


def _nul_in_line_3(data: bytes) -> bytes:
    lines = data.split(b"\n")
    lines[2] = lines[2][:4] + b"\x00" + lines[2][4:]
    return b"\n".join(lines)


def _grouping_cases() -> list[Case]:
    g = "grouping"
    return [
        Case(
            "grouping/JSON names a neighbourhood twice",
            g,
            _grouping("g.json", _REPEATED_NB),
            ScenarioFileError,
            ("'A'", "twice", "g.json", "line 6"),
        ),  # fmt: skip
        Case(
            "grouping/JSON repeats a key inside a neighbourhood",
            g,
            _grouping("g.json", _REPEATED_LOCALITY),
            ScenarioFileError,
            ("'locality'", "twice", "g.json"),
        ),  # fmt: skip
        Case(
            "grouping/JSON repeats a top-level key", g, _grouping("g.json", _REPEATED_TOP), ScenarioFileError, ("'name'", "twice", "line 1")
        ),
        Case(
            "grouping/NUL byte in a CSV grouping",
            g,
            _grouping("g.csv", _csv_line(3, "\x00")),
            ScenarioFileError,
            ("g.csv", "line 3", "NUL"),
        ),
        Case("grouping/ESC in a CSV grouping", g, _grouping("g.csv", _csv_line(4, "\x1b[31m")), ScenarioFileError, ("line 4", "U+001B")),
        Case("grouping/C1 control in a CSV grouping", g, _grouping("g.csv", _csv_line(5, "\x85")), ScenarioFileError, ("line 5", "U+0085")),
        Case(
            "grouping/NUL escaped in a JSON name",
            g,
            _grouping("g.json", _JSON.replace('"A": {', '"A\\u0000": {', 1)),
            ScenarioFileError,
            ("control character", "U+0000"),
        ),  # fmt: skip
        Case("grouping/tabs and CRLF are fine", g, _grouping("g.csv", _CSV.replace("\n", "\r\n")), None, check=lambda r: r == GROUPING),
    ]


def _store_cases() -> list[Case]:
    inner = json.dumps(json.loads(_JSON))
    return [
        Case(
            "uploads/JSON names a neighbourhood twice",
            "uploads",
            _upload(_REPEATED_NB.encode(), "g.json"),
            ScenarioFileError,
            ("'A'", "twice", "g.json"),
        ),  # fmt: skip
        Case(
            "uploads/control character in a CSV",
            "uploads",
            _upload(_csv_line(2, "\x07").encode(), "g.csv"),
            ScenarioFileError,
            ("line 2", "U+0007"),
        ),  # fmt: skip
        Case(
            "store import/a scenario's grouping repeats a key",
            "store",
            _cli_import(_export_text(inner.replace('"neighbourhoods": {', '"neighbourhoods": {"A": {"locality": "W", "wards": []}, ', 1))),
            CliRefused,
            ("'A'", "twice", "Nothing was imported"),
        ),  # fmt: skip
        Case(
            "store import/an entry repeats its name",
            "store",
            _cli_import(_export_text(inner).replace('"name": "X",', '"name": "X", "name": "Y",')),
            CliRefused,
            ("'name'", "twice"),
        ),  # fmt: skip
        Case(
            "store import/NUL byte",
            "store",
            _cli_import(_export_text(inner).replace('"T"', '"T\x00"')),
            CliRefused,
            ("line 1", "NUL", "Nothing was imported"),
        ),  # fmt: skip
    ]


def _estates_cases() -> list[Case]:
    return [
        Case(
            "estates/NUL byte in a CSV",
            "layers",
            _estates("e.csv", _ESTATES.replace("two", "t\x00wo")),
            UnreadableFileError,
            ("e.csv", "line 3", "NUL"),
        ),  # fmt: skip
        Case(
            "estates/GeoJSON repeats a property",
            "layers",
            _estates("e.geojson", _estates_geojson_repeated()),
            UnreadableFileError,
            ("'type'", "twice", "line 2"),
        ),  # fmt: skip
        Case("estates/clean CSV", "layers", _estates("e.csv", _ESTATES), None, check=lambda r: len(r) == 2),
        Case("sites/NUL byte in a sites CSV", "layers", _sites_with(_nul_in_line_3), UnreadableFileError, ("line 3", "NUL"), realdata=True),
    ]


def _demo_cli(args: Callable[[Path], list[str]]) -> Callable[[Path], object]:
    def run(tmp: Path):
        with demo_env():
            return cli_run(args(tmp))

    return run


def _vector(tmp: Path, filename: str, geoms: list, *, crs: str | None = "EPSG:27700", **columns) -> str:
    path = tmp / filename
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pyogrio warns of a file written without a CRS: that is the case
        gpd.GeoDataFrame(columns or {"name": [f"N{i}" for i in range(len(geoms))]}, geometry=geoms, crs=crs).to_file(path, engine="pyogrio")
    if crs is None:
        path.with_suffix(".prj").unlink(missing_ok=True)
    return str(path)


def _import(make: Callable[[Path], str], *extra: str) -> Callable[[Path], object]:
    return _demo_cli(lambda tmp: ["import-plan", make(tmp), *extra, "--out", str(tmp / "out.json")])


_SQUARE = box(383_000, 395_000, 386_000, 398_000)


def _plan_cases() -> list[Case]:
    c = "cli"
    return [
        Case(
            "import-plan/a Shapefile without its .prj",
            c,
            _import(lambda t: _vector(t, "p.shp", [_SQUARE], crs=None)),
            CliRefused,
            ("declares no CRS", "Set CRS"),
        ),  # fmt: skip
        Case(
            "import-plan/points, not polygons",
            c,
            _import(lambda t: _vector(t, "p.gpkg", [Point(383_000, 395_000)])),
            CliRefused,
            ("no polygon layer",),
        ),  # fmt: skip
        Case(
            "import-plan/polygons far from the place",
            c,
            _import(lambda t: _vector(t, "p.gpkg", [box(0, 0, 10, 10)])),
            CliRefused,
            ("lie in no neighbourhood", "--outside nearest"),
        ),  # fmt: skip
        Case("import-plan/blank names", c, _import(lambda t: _vector(t, "p.gpkg", [_SQUARE], name=[""])), CliRefused, ("blank",)),
        Case("import-plan/no name field", c, _import(lambda t: _vector(t, "p.gpkg", [_SQUARE], zone=["A"])), CliRefused, ("--name-field",)),
        Case(
            "import-plan/a table with a NUL byte",
            c,
            _import(lambda t: str(put(t / "t.csv", "unit_id,district\nDEMOW01,A\x00\n"))),
            CliRefused,
            ("line 2", "NUL"),
        ),  # fmt: skip
        Case(
            "import-plan/a table of unknown codes",
            c,
            _import(lambda t: str(put(t / "t.csv", "unit_id,district\nE05999999,A\n"))),
            CliRefused,
            ("E05999999",),
        ),  # fmt: skip
        Case(
            "import-plan/a table without a district column",
            c,
            _import(lambda t: str(put(t / "t.csv", "ward,zone\nDEMOW01,A\n"))),
            CliRefused,
            ("district column", "Districtr"),
        ),  # fmt: skip
        Case(
            "import-plan/--out is not a grouping file",
            c,
            _demo_cli(lambda t: ["import-plan", "x.gpkg", "--out", str(t / "o.gpkg")]),
            CliRefused,
            (".json or .csv",),
        ),  # fmt: skip
        Case(
            "export/--out with the wrong suffix",
            c,
            _demo_cli(lambda t: ["export", "--grouping", "g.json", "--format", "gpkg", "--out", str(t / "o.geojson")]),
            CliRefused,
            ("ending .gpkg",),
        ),  # fmt: skip
        Case(
            "export/an unknown scenario",
            c,
            _demo_cli(lambda t: ["export", "--scenario", "nope", "--store", str(t / "s.sqlite"), "--out", str(t / "o.gpkg")]),
            CliRefused,
            ("no scenario called 'nope'",),
        ),  # fmt: skip
    ]


CASES: list[Case] = _grouping_cases() + _store_cases() + _estates_cases() + _plan_cases()
