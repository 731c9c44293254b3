"""Bad data layers: every loader on copies of the real files, broken in the ways files break."""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from collections.abc import Callable
from pathlib import Path

from geo import loaders
from geo.registrations import read_registrations
from placekit.errors import (
    CRSError,
    DataRootError,
    DuplicateCodeError,
    EmptyLayerError,
    InvalidValueError,
    PlacekitError,
    UnreadableFileError,
    VintageMismatchError,
)
from tests.bad_inputs.framework import Case, copy_to

# layer: (file under the data root, reader, a header token to rename for "wrong columns", truncation detected)
LAYERS: dict[str, tuple[str, Callable[[Path], object], str, bool]] = {
    "wards": ("manchester-wards-2013/manchester_wards_2013_E08000003.geojson", lambda p: loaders.read_wards(p), "WD13CD", True),
    "lsoas": (
        "manchester-lsoa-2011-boundaries/manchester_lsoa_2011_E08000003.geojson",
        lambda p: loaders.read_lsoas(p),
        "LSOA11CD",
        True,
    ),
    "lsoa_ward": (
        "lsoa11-ward-lookup/lsoa11_to_ward2017_greater_manchester.csv",
        lambda p: loaders.read_lsoa_ward_lookup(p),
        "WD17CD",
        True,
    ),
    "lsoa_msoa": (
        "lsoa11-msoa11-lookup/lsoa11_to_msoa11_greater_manchester.csv",
        lambda p: loaders.read_lsoa_msoa_lookup(p),
        "msoa11_code",
        True,
    ),
    "lsoa11_lsoa21": (
        "lsoa11-lsoa21-lookup/lsoa11_to_lsoa21_best_fit_lookup_england_wales_v2.csv",
        lambda p: loaders.read_lsoa11_lsoa21_lookup(p),
        "LSOA21CD",
        True,
    ),
    "population": (
        "imd2019-and-population-lsoa/iod2019_population_denominators_mid2015_greater_manchester.csv",
        lambda p: loaders.read_population(p),
        "Total population",
        True,
    ),
    "imd": (
        "imd2019-and-population-lsoa/iod2019_domains_ranks_deciles_greater_manchester.csv",
        lambda p: loaders.read_imd(p),
        "LSOA code",
        True,
    ),
    "practices": (
        "gp-practices-epraccur/epraccur_greater_manchester_QOP_2023-12_with_header.csv",
        lambda p: loaders.read_practices(p),
        "POSTCODE",
        False,
    ),
    "list_sizes": (
        "gp-practice-list-sizes/gp-reg-pat-prac-all_2021-01_greater_manchester.csv",
        lambda p: loaders.read_list_sizes(p),
        "NUMBER_OF_PATIENTS",
        True,
    ),
    "pcn_map": (
        "gp-practice-pcn-map/gp-reg-pat-prac-map_2022-01_greater_manchester.csv",
        lambda p: loaders.read_pcn_map(p),
        "PCN_CODE",
        True,
    ),
    "registrations": (
        "gp-registrations-lsoa/gp-reg-pat-prac-lsoa_2022-07_greater_manchester_practices.csv",
        lambda p: read_registrations(p),
        "LSOA_CODE",
        True,
    ),
    "hospitals": (
        "hospital-sites/nhs_choices_hospitals_2018-01_greater_manchester_bbox.csv",
        lambda p: loaders.read_hospitals(p),
        "Latitude",
        False,
    ),
    "catchments": (
        "hospital-trust-catchments-msoa/trust_catchment_msoa11_2019_all_admissions_greater_manchester.csv",
        lambda p: loaders.read_catchments(p),
        "proportion",
        True,
    ),
    "trusts": ("hospital-sites/ods_etr_trusts_2022-03_england.csv", lambda p: loaders.read_trusts(p), "", False),
    "sites": ("gm-estates-sites/gm_libraries.csv", lambda p: loaders.read_sites(p, site_type="library"), "name", False),
}

GARBAGE = bytes(range(256)) * 40


def _truncate(data: bytes) -> bytes:
    """Cut the file a few bytes into a line in its middle, as an interrupted download does."""
    half = len(data) // 2
    start = data.rfind(b"\n", 0, half) + 1
    return data[: start + 5]


def _header_only(rel: str) -> Callable[[bytes], bytes]:
    if rel.endswith(".geojson"):
        return lambda data: json.dumps({**{k: v for k, v in json.loads(data).items() if k != "features"}, "features": []}).encode()
    return lambda data: data.split(b"\n", 1)[0] + b"\n"


def _rename_column(token: str) -> Callable[[bytes], bytes]:
    return lambda data: (
        data.replace(token.encode(), b"Renamed_" + token.encode(), 1)
        if not data.startswith(b"{")
        else data.replace(f'"{token}"'.encode(), f'"Renamed_{token}"'.encode())
    )


def _read(layer: str, edit: Callable[[bytes], bytes] | None = None, *, make: str | None = None) -> Callable[[Path], object]:
    rel, reader, _, _ = LAYERS[layer]

    def run(tmp: Path):
        if make == "missing":
            return reader(tmp / Path(rel).name)
        if make == "folder":
            (tmp / Path(rel).name).mkdir()
            return reader(tmp / Path(rel).name)
        return reader(copy_to(tmp, rel, edit))

    return run


def _generic() -> list[Case]:
    out = []
    for layer, (rel, _, token, truncation) in LAYERS.items():
        name = Path(rel).name
        out += [
            Case(f"{layer}/missing file", "layers", _read(layer, make="missing"), DataRootError, ("does not exist", name), realdata=True),
            Case(
                f"{layer}/zero bytes", "layers", _read(layer, lambda d: b""), UnreadableFileError, ("empty", "0 bytes", name), realdata=True
            ),
            Case(f"{layer}/a folder", "layers", _read(layer, make="folder"), UnreadableFileError, ("folder", name), realdata=True),
            Case(f"{layer}/binary garbage", "layers", _read(layer, lambda d: GARBAGE), PlacekitError, (name,), realdata=True),
        ]
        if layer != "trusts":  # the ODS trust list has no header: its first line is a trust
            out.append(
                Case(f"{layer}/header only", "layers", _read(layer, _header_only(rel)), EmptyLayerError, ("has no", name), realdata=True)
            )
        if token:
            out.append(
                Case(f"{layer}/key column renamed", "layers", _read(layer, _rename_column(token)), PlacekitError, (name,), realdata=True)
            )
        if truncation:
            out.append(Case(f"{layer}/truncated download", "layers", _read(layer, _truncate), PlacekitError, (name,), realdata=True))
    return out


def _csv_cell(row: int, col: int, value: str, *, sep: bytes = b",") -> Callable[[bytes], bytes]:
    """Replace one cell (data row `row`, 0-based column `col`) of a simple CSV without quoted separators in that row."""

    def edit(data: bytes) -> bytes:
        lines = data.split(b"\n")
        cells = lines[row + 1].split(sep)
        cells[col] = value.encode()
        lines[row + 1] = sep.join(cells)
        return b"\n".join(lines)

    return edit


def _append_row(row_of: Callable[[list[bytes]], bytes]) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        lines = data.rstrip(b"\n").split(b"\n")
        return b"\n".join([*lines, row_of(lines)]) + b"\n"

    return edit


def _first_columns(n: int) -> Callable[[bytes], bytes]:
    """Keep the first `n` columns of every row (parsed as CSV, so quoted commas stay inside their field)."""

    def edit(data: bytes) -> bytes:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(row[:n] for row in csv.reader(io.StringIO(data.decode("latin-1"))))
        return buf.getvalue().encode("latin-1")

    return edit


def _with_warnings(run: Callable[[Path], object]) -> Callable[[Path], list[str]]:
    def wrapped(tmp: Path) -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run(tmp)
        return [str(w.message) for w in caught if issubclass(w.category, UserWarning)]

    return wrapped


def _geojson_edit(fn: Callable[[dict], None]) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        doc = json.loads(data)
        fn(doc)
        return json.dumps(doc).encode()

    return edit


def _bowtie(doc: dict) -> None:
    ring = doc["features"][0]["geometry"]["coordinates"]
    xs = [p[0] for p in _points(ring)]
    ys = [p[1] for p in _points(ring)]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    doc["features"][0]["geometry"] = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]]}


def _points(coords):
    if coords and isinstance(coords[0], (int, float)):
        yield coords
        return
    for c in coords:
        yield from _points(c)


def _same_total(edit: Callable[[bytes], bytes]) -> Callable[[Path], tuple[int, int]]:
    """Read the registrations file changed by `edit` and unchanged; return both patient totals."""
    rel = LAYERS["registrations"][0]

    def run(tmp: Path) -> tuple[int, int]:
        changed = read_registrations(copy_to(tmp, rel, edit))
        same = read_registrations(copy_to(tmp, rel, name="original.csv"))
        return int(changed["patients"].sum()), int(same["patients"].sum())

    return run


def _specific() -> list[Case]:
    pop, reg, imd = (LAYERS[k][0] for k in ("population", "registrations", "imd"))
    r = _read
    return [
        # population counts
        Case(
            "population/45.9 residents",
            "layers",
            r("population", _csv_cell(0, 4, "45.9")),
            InvalidValueError,
            ("not a whole number", "E01004766", "Total population"),
            realdata=True,
        ),
        Case(
            "population/1e30 residents",
            "layers",
            r("population", _csv_cell(0, 4, "1e30")),
            InvalidValueError,
            ("larger than", "E01004766"),
            realdata=True,
        ),
        Case("population/negative", "layers", r("population", _csv_cell(3, 5, "-20")), InvalidValueError, ("negative",), realdata=True),
        Case("population/inf", "layers", r("population", _csv_cell(1, 4, "inf")), InvalidValueError, ("not finite",), realdata=True),
        Case(
            "population/text count",
            "layers",
            r("population", _csv_cell(2, 6, "lots")),
            InvalidValueError,
            ("not a number", "lots"),
            realdata=True,
        ),
        Case("population/blank count", "layers", r("population", _csv_cell(2, 6, "")), InvalidValueError, ("not a number",), realdata=True),
        Case(
            "population/bands do not add up",
            "layers",
            r("population", _csv_cell(0, 5, "1")),
            PlacekitError,
            ("do not add up", "E01004766"),
            realdata=True,
        ),
        Case(
            "population/duplicate LSOA",
            "layers",
            r("population", _append_row(lambda ls: ls[1])),
            DuplicateCodeError,
            ("E01004766",),
            realdata=True,
        ),
        Case("population/blank LSOA code", "layers", r("population", _csv_cell(4, 0, "")), InvalidValueError, ("blank",), realdata=True),
        Case(
            "population/2021 LSOA codes",
            "layers",
            r("population", _csv_cell(0, 0, "E01034107")),
            VintageMismatchError,
            ("2021",),
            realdata=True,
        ),
        Case(
            "population/thousands separators",
            "layers",
            r("population", _csv_cell(0, 4, '"1,616"')),
            None,
            check=lambda f: int(f.loc["E01004766", "population"]) == 1616,
            realdata=True,
        ),
        # registrations counts and codes
        Case(
            "registrations/45.9 patients",
            "layers",
            r("registrations", _csv_cell(0, 3, "45.9")),
            InvalidValueError,
            ("not a whole number", "NUMBER_OF_PATIENTS", "C81077"),
            realdata=True,
        ),
        Case(
            "registrations/1e30 patients",
            "layers",
            r("registrations", _csv_cell(5, 3, "1e30")),
            InvalidValueError,
            ("larger than",),
            realdata=True,
        ),
        Case(
            "registrations/negative", "layers", r("registrations", _csv_cell(5, 3, "-3")), InvalidValueError, ("negative",), realdata=True
        ),
        Case(
            "registrations/blank count",
            "layers",
            r("registrations", _csv_cell(5, 3, "")),
            InvalidValueError,
            ("not a number",),
            realdata=True,
        ),
        Case(
            "registrations/LSOA code typo",
            "layers",
            r("registrations", _csv_cell(5, 2, "E0100X123")),
            InvalidValueError,
            ("not LSOA codes", "E0100X123"),
            realdata=True,
        ),
        Case(
            "registrations/lower-case code",
            "layers",
            r("registrations", _csv_cell(5, 2, "e01005752")),
            InvalidValueError,
            ("not LSOA codes",),
            realdata=True,
        ),
        Case(
            "registrations/blank practice",
            "layers",
            r("registrations", _csv_cell(5, 0, "")),
            InvalidValueError,
            ("blank", "PRACTICE_CODE"),
            realdata=True,
        ),
        Case(
            "registrations/duplicate row",
            "layers",
            r("registrations", _append_row(lambda ls: ls[1])),
            DuplicateCodeError,
            ("repeated",),
            realdata=True,
        ),
        Case(
            "registrations/extra column",
            "layers",
            _same_total(lambda d: d.replace(b"\n", b",x\n").replace(b"NUMBER_OF_PATIENTS,x", b"NUMBER_OF_PATIENTS,EXTRA", 1)),
            None,
            check=lambda totals: totals[0] == totals[1],
            realdata=True,
        ),
        # IMD ranks and deciles
        Case(
            "imd/decile 11",
            "layers",
            r("imd", lambda d: re.sub(rb"^(E01004766,(?:[^,]*,){4})\d+", rb"\g<1>11", d, count=1, flags=re.M)),
            InvalidValueError,
            ("larger than 10",),
            realdata=True,
        ),
        Case(
            "imd/rank 0",
            "layers",
            r("imd", lambda d: re.sub(rb"^(E01004766,(?:[^,]*,){3})\d+", rb"\g<1>0", d, count=1, flags=re.M)),
            InvalidValueError,
            ("start at 1",),
            realdata=True,
        ),
        # lookups
        Case(
            "lsoa_ward/duplicate LSOA",
            "layers",
            r("lsoa_ward", _append_row(lambda ls: ls[1])),
            DuplicateCodeError,
            ("E01004875",),
            realdata=True,
        ),
        Case(
            "lsoa_ward/blank ward code",
            "layers",
            r("lsoa_ward", _csv_cell(2, 2, "")),
            InvalidValueError,
            ("blank", "WD17CD"),
            realdata=True,
        ),
        Case(
            "lsoa_ward/2021 LSOA codes",
            "layers",
            r("lsoa_ward", _csv_cell(0, 0, "E01034107")),
            VintageMismatchError,
            ("2021",),
            realdata=True,
        ),
        Case(
            "lsoa_msoa/duplicate LSOA",
            "layers",
            r("lsoa_msoa", _append_row(lambda ls: ls[1])),
            DuplicateCodeError,
            ("lsoa_code",),
            realdata=True,
        ),
        # boundaries
        Case(
            "wards/duplicate code",
            "layers",
            r("wards", _geojson_edit(lambda d: d["features"].append(d["features"][0]))),
            DuplicateCodeError,
            ("ward_code",),
            realdata=True,
        ),
        Case(
            "wards/null geometry",
            "layers",
            r("wards", _geojson_edit(lambda d: d["features"][0].update(geometry=None))),
            PlacekitError,
            ("no geometry",),
            realdata=True,
        ),
        Case(
            "wards/British National Grid coordinates declared as degrees",
            "layers",
            r(
                "wards",
                _geojson_edit(
                    lambda d: d["features"][0]["geometry"].update(
                        coordinates=[[[380000, 395000], [381000, 395000], [381000, 396000], [380000, 395000]]]
                    )
                ),
            ),
            CRSError,
            ("outside Great Britain",),
            realdata=True,
        ),
        Case(
            "wards/self-intersecting ward repaired",
            "layers",
            _with_warnings(r("wards", _geojson_edit(_bowtie))),
            None,
            check=lambda msgs: any("repaired" in m for m in msgs),
            realdata=True,
        ),
        Case(
            "lsoas/2021 boundaries as 2011",
            "layers",
            lambda tmp: loaders.read_lsoas(
                copy_to(tmp, "manchester-lsoa-2021-boundaries/manchester_lsoa_2021_E08000003.geojson"),
                code_col="LSOA21CD",
                name_col="LSOA21NM",
            ),
            VintageMismatchError,
            ("2021",),
            realdata=True,
        ),
        # practices, hospitals, catchments, sites, list sizes, trusts
        Case(
            "practices/postcode not found",
            "layers",
            _with_warnings(r("practices", lambda d: d.replace(b",M11 3BB,", b",ZZ99 9ZZ,", 1))),
            None,
            check=lambda msgs: any("ZZ99 9ZZ" in m for m in msgs),
            realdata=True,
        ),
        Case(
            "practices/headerless, 20 columns",
            "layers",
            r("practices", lambda d: b"\n".join(b",".join(l.split(b",")[:20]) for l in d.split(b"\n")[1:])),
            PlacekitError,
            ("27",),
            realdata=True,
        ),
        Case(
            "hospitals/latitude and longitude swapped",
            "layers",
            r("hospitals", lambda d: d.replace(b"53.459743499755859,-2.2454688549041748", b"-2.2454688549041748,53.459743499755859", 1)),
            InvalidValueError,
            ("outside Great Britain", "NMP01"),
            realdata=True,
        ),
        Case(
            "hospitals/site without coordinates",
            "layers",
            _with_warnings(r("hospitals", lambda d: d.replace(b"53.459743499755859,-2.2454688549041748", b",", 1))),
            None,
            check=lambda msgs: any("without coordinates" in m and "NMP01" in m for m in msgs),
            realdata=True,
        ),
        Case("catchments/share 1.5", "layers", r("catchments", _csv_cell(0, 2, "1.5")), PlacekitError, ("between 0 and 1",), realdata=True),
        Case(
            "catchments/repeated pair",
            "layers",
            r("catchments", _append_row(lambda ls: ls[1])),
            PlacekitError,
            ("repeated",),
            realdata=True,
        ),
        Case(
            "catchments/shares add to more than 1",
            "layers",
            r("catchments", _csv_cell(0, 2, "0.99")),
            PlacekitError,
            ("more than 1", "E02000984"),
            realdata=True,
        ),
        Case(
            "sites/neither coordinates nor postcode",
            "layers",
            r("sites", lambda d: re.sub(rb"BL6 5EQ,(.*),-2.58651,53.594458", rb",\1,,", d, count=1)),
            PlacekitError,
            ("neither coordinates nor a postcode",),
            realdata=True,
        ),
        Case(
            "sites/coordinates swapped",
            "layers",
            r("sites", lambda d: d.replace(b"-2.58651,53.594458", b"53.594458,-2.58651", 1)),
            InvalidValueError,
            ("outside Great Britain",),
            realdata=True,
        ),
        Case(
            "sites/postcode only, unknown",
            "layers",
            _with_warnings(r("sites", lambda d: re.sub(rb"BL6 5EQ,(.*),-2.58651,53.594458", rb"ZZ99 9ZZ,\1,,", d, count=1))),
            None,
            check=lambda msgs: any("ZZ99 9ZZ" in m for m in msgs),
            realdata=True,
        ),
        Case(
            "list_sizes/45.9 patients",
            "layers",
            r("list_sizes", _csv_cell(0, 9, "45.9")),
            InvalidValueError,
            ("not a whole number", "P82001"),
            realdata=True,
        ),
        Case(
            "list_sizes/1e30 patients",
            "layers",
            r("list_sizes", _csv_cell(0, 9, "1e30")),
            InvalidValueError,
            ("larger than",),
            realdata=True,
        ),
        Case("trusts/five columns", "layers", r("trusts", _first_columns(5)), PlacekitError, ("27",), realdata=True),
    ]


CASES: list[Case] = _generic() + _specific()
