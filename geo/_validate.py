"""Input checks shared by the loaders and the analysis functions."""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio.errors
import shapely

from placekit.errors import (
    CRSError,
    DataRootError,
    DuplicateCodeError,
    EmptyLayerError,
    InvalidParameterError,
    InvalidValueError,
    MissingColumnError,
    PlacekitError,
    UnknownCodeError,
    UnreadableFileError,
    VintageMismatchError,
)
from placekit.safe_text import RepeatedKeyError, first_control_character, loads_json_unique
from placekit.settings import WORKING_CRS

__all__ = [
    "require_columns",
    "require_unique",
    "require_crs",
    "repair_geometry",
    "valid_geometries",
    "require_known",
    "lsoa_vintage_of",
    "require_lsoa_vintage",
    "require_numeric_nonnegative",
    "require_counts",
    "require_rows",
    "require_file",
    "read_csv_checked",
    "read_vector_checked",
    "read_parquet_checked",
    "read_guarded",
    "require_plain_text",
    "MAX_PLAIN_TEXT_BYTES",
    "require_codes_present",
    "require_positive_finite",
    "MAX_COUNT",
    "GeometryRepairWarning",
]

#: The largest count a single row of any layer may hold (people per LSOA, patients per practice × LSOA, list sizes).
#: England has about 57 million residents; no row of these layers comes near 10 million.
MAX_COUNT: int = 10_000_000

# ONS LSOA codes do not say their vintage, so the sets themselves are compared: the
# 2021 set kept most 2011 codes and added new ones from E01033769 upwards (England) and
# W01001959 upwards (Wales). 2011 codes stop at E01033768.
_LAST_LSOA11 = {"E01": 33768, "W01": 1958}
_LSOA_RE = re.compile(r"^(E01|W01)(\d{6})$")


class GeometryRepairWarning(UserWarning):
    """Invalid geometries were repaired with ``shapely.make_valid``."""


def require_columns(df: pd.DataFrame, columns: Iterable[str], *, source: str) -> None:
    """Raise if `df` lacks any of `columns`, naming what it has and what is missing."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        near = {m: [c for c in df.columns if c.lower().replace("_", "") == m.lower().replace("_", "")] for m in missing}
        hint = "; ".join(f"{m!r} looks like {v[0]!r}" for m, v in near.items() if v)
        raise MissingColumnError(
            f"{source} is missing column(s) {missing}. It has {list(df.columns)[:30]}."
            + (f" Renamed? {hint}." if hint else "")
            + " Map the publisher's column names in the place manifest (`columns = {...}`)"
            " or supply the file in the publisher's format."
        )


def require_unique(index: pd.Index, *, source: str, what: str = "code") -> None:
    """Raise if `index` holds duplicates, listing up to 10 of them."""
    dup = index[index.duplicated()].unique()
    if len(dup):
        raise DuplicateCodeError(
            f"{source} has {len(dup)} duplicate {what}(s): {list(dup[:10])}. "
            f"Each {what} must appear once; remove or merge the repeated rows."
        )


def require_crs(gdf: gpd.GeoDataFrame, *, source: str, to_working: bool = True) -> gpd.GeoDataFrame:
    """Check that `gdf` has a CRS and return it in the working CRS.

    Raises
    ------
    CRSError
        If the CRS is missing, or if projected coordinates sit outside Great Britain
        (a common sign of a wrongly declared CRS).
    """
    if gdf.crs is None:
        raise CRSError(
            f"{source} has no CRS. Declare it in the file or set `crs` in the place "
            "manifest (ONS and OS files are EPSG:27700 or EPSG:4326)."
        )
    if not to_working:
        return gdf
    out = gdf.to_crs(WORKING_CRS)
    if len(out) and not out.geometry.is_empty.all():
        minx, miny, maxx, maxy = out.total_bounds
        if not (-1e5 <= minx and maxx <= 8e5 and -1e5 <= miny and maxy <= 1.3e6):
            raise CRSError(
                f"{source} lies outside Great Britain once projected to {WORKING_CRS} "
                f"(bounds {minx:.0f},{miny:.0f},{maxx:.0f},{maxy:.0f}). Its declared CRS "
                f"{gdf.crs.to_string()} is probably wrong; fix the file's CRS or `crs` in the manifest."
            )
    return out


def valid_geometries(geoms: np.ndarray) -> np.ndarray:
    """Return `geoms` (a shapely array) with the invalid ones made valid, quietly (a copy only when one is repaired).

    For the national boundary files, whose generalised polygons hold a few self-touching rings
    that ``make_valid`` mends keeping their area; a user's own file goes through
    :func:`repair_geometry`, which names each repair.
    """
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad])
    return geoms


def repair_geometry(gdf: gpd.GeoDataFrame, *, source: str) -> gpd.GeoDataFrame:
    """Repair invalid geometries with ``make_valid`` and warn naming each repaired code.

    Raises
    ------
    PlacekitError
        If a geometry is missing or empty.
    """
    missing = gdf.geometry.isna() | gdf.geometry.is_empty
    if missing.any():
        raise PlacekitError(
            f"{source} has {int(missing.sum())} feature(s) with no geometry: "
            f"{list(gdf.index[missing][:10])}. Every area needs a boundary; fix or drop them."
        )
    invalid = ~gdf.geometry.is_valid
    if invalid.any():
        codes = list(gdf.index[invalid])
        reasons = shapely.is_valid_reason(gdf.geometry[invalid].values)
        warnings.warn(
            f"{source}: repaired {len(codes)} invalid geometr(y/ies) with make_valid: "
            + "; ".join(f"{c} ({r})" for c, r in zip(codes[:10], reasons[:10], strict=False)),
            GeometryRepairWarning,
            stacklevel=2,
        )
        gdf = gdf.copy()
        fixed = shapely.make_valid(gdf.geometry[invalid].values)
        # make_valid can return collections holding stray lines; keep the polygonal part.
        fixed = [_polygonal(g) for g in fixed]
        gdf.loc[invalid, gdf.geometry.name] = gpd.GeoSeries(fixed, index=gdf.index[invalid], crs=gdf.crs)
    return gdf


def _polygonal(geom):
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else geom


def require_known(codes: Iterable[str], known: Iterable[str], *, source: str, what: str, fix: str) -> None:
    """Raise :class:`UnknownCodeError` listing every code of `codes` absent from `known`."""
    known_set = set(known)
    unknown = sorted({c for c in codes if c not in known_set})
    if unknown:
        raise UnknownCodeError(
            f"{source} has {len(unknown)} unknown {what}(s): {unknown[:15]}" + (" …" if len(unknown) > 15 else "") + f". {fix}"
        )


def lsoa_vintage_of(codes: Iterable[str]) -> str | None:
    """Guess the LSOA vintage of `codes`: ``"2011"``, ``"2021"`` or None if undecidable.

    A set holding any code above the last 2011 code is 2021. A set without one is
    taken as 2011.
    """
    listed = codes if isinstance(codes, (pd.Index, pd.Series, np.ndarray, pd.api.extensions.ExtensionArray, list, tuple)) else list(codes)
    text = pa.array(pd.Series(np.asarray(listed, dtype=object), dtype=object).astype("string"), type=pa.string())  # str(c) per code
    if not pc.all(pc.fill_null(pc.string_is_ascii(text), True)).as_py():
        return _lsoa_vintage_by_loop(text.to_pylist())  # re's \d takes any Unicode digit: leave such text to re
    # One vectorised pass (a Python loop over England's 35,000 codes cost 0.1 s per file); ``\n?\z`` is what ``$`` matches in re.
    ok = pc.fill_null(pc.match_substring_regex(text, r"^(?:E01|W01)\d{6}\n?\z"), False)
    if not pc.any(ok).as_py():
        return None
    matched = pc.filter(text, ok)
    number = pc.cast(pc.utf8_slice_codeunits(matched, 3, 9), pa.int64()).to_numpy()
    wales = pc.starts_with(matched, "W01").to_numpy(zero_copy_only=False)
    return "2021" if (number > np.where(wales, _LAST_LSOA11["W01"], _LAST_LSOA11["E01"])).any() else "2011"


def _lsoa_vintage_by_loop(codes: list[str | None]) -> str | None:
    seen = False
    for c in codes:
        m = _LSOA_RE.match(str(c)) if c is not None else None
        if not m:
            continue
        seen = True
        if int(m.group(2)) > _LAST_LSOA11[m.group(1)]:
            return "2021"
    return "2011" if seen else None


def require_lsoa_vintage(codes: Iterable[str], expected: str, *, source: str) -> None:
    """Raise :class:`VintageMismatchError` when `codes` are of another LSOA vintage than `expected`."""
    codes = codes if isinstance(codes, (pd.Index, pd.Series, np.ndarray, pd.api.extensions.ExtensionArray, list, tuple)) else list(codes)
    found = lsoa_vintage_of(codes)
    if found is not None and found != str(expected):
        codes = list(codes)
        newer = [c for c in codes if _LSOA_RE.match(str(c)) and int(str(c)[3:]) > _LAST_LSOA11[str(c)[:3]]]
        raise VintageMismatchError(
            f"{source} uses {found} LSOA codes (e.g. {newer[:3]}) but the place is on "
            f"{expected} LSOAs. Convert the file with the ONS LSOA 2011→2021 lookup "
            "(`geo.registrations.convert_lsoa_vintage`) or load the file of the matching vintage."
        )


def _row_label(index_value: Any, position: int, labels: pd.Series | tuple[pd.Series, ...] | None) -> str:
    """Name one row of a table: its data row number (1 = first row after the header) and, when given, its label."""
    if isinstance(labels, tuple):
        label = " (" + " × ".join(str(part.iloc[position]) for part in labels) + ")"
    elif labels is not None:
        label = f" ({labels.iloc[position]})"
    else:
        label = f" ({index_value})" if not isinstance(index_value, (int, np.integer)) else ""
    return f"row {position + 1}{label}"


def require_counts(
    s: pd.Series,
    *,
    source: str,
    column: str | None = None,
    what: str = "people",
    max_value: int = MAX_COUNT,
    labels: pd.Series | tuple[pd.Series, ...] | None = None,
    whole: bool = True,
) -> pd.Series:
    """Return `s` as int64 counts; raise naming the rows that are not whole, finite, non-negative numbers up to `max_value`.

    Parameters
    ----------
    s
        The column as read (text or numbers).
    source
        The file, for the message ("registrations file x.csv").
    column
        The column's name in the file (default ``s.name``).
    what
        What is counted, for the message ("patients", "residents").
    max_value
        The largest count a row may hold (:data:`MAX_COUNT`).
    labels
        Optional text per row (same length as `s`) naming it in messages, or a tuple of such
        columns joined with ``×`` only for the rows reported (``(practice, lsoa)`` → ``"P84001 × E01005001"``).
    whole
        False for counts a publisher estimated (fractions allowed; float64 returned).

    Raises
    ------
    InvalidValueError
        With the number of bad rows, up to five of them with their values and the reason, and the fix.
    """
    column = column or str(s.name)
    text = s.astype("string").str.strip().str.replace(",", "", regex=False) if not pd.api.types.is_numeric_dtype(s) else s
    values = _whole_numbers(text) if whole and not pd.api.types.is_numeric_dtype(s) else None
    if values is None:
        values = pd.to_numeric(text, errors="coerce").astype("float64").to_numpy()
    reasons = np.full(len(s), "", dtype=object)
    reasons[np.isnan(values)] = "is not a number"
    reasons[np.isinf(values)] = "is not finite"
    finite = np.isfinite(values)
    reasons[finite & (values < 0)] = "is negative"
    reasons[finite & (values > max_value)] = f"is larger than {max_value:,}"
    if whole:
        reasons[finite & (values >= 0) & (values <= max_value) & (values != np.floor(values))] = "is not a whole number"
    bad = np.flatnonzero(reasons != "")
    if len(bad):
        shown = "; ".join(f"{_row_label(s.index[i], i, labels)} {str(s.iloc[i])!r} {reasons[i]}" for i in bad[:5])
        kind = "whole numbers" if whole else "numbers"
        raise InvalidValueError(
            f"{source}: column {column!r} must hold {kind} of {what} from 0 to {max_value:,}; {len(bad)} row(s) do not: "
            f"{shown}{' …' if len(bad) > 5 else ''}. Fix those rows{f' (a count is a whole number of {what})' if whole else ''}, or download the file "
            "again from its publisher unchanged."
        )
    return pd.Series(values.astype("int64") if whole else values, index=s.index, name=s.name)


def _whole_numbers(text: pd.Series) -> np.ndarray | None:
    """Return text that is all integers (or missing) as float64 (NaN where missing); None when any value is not an integer.

    A fast path for :func:`require_counts` (pyarrow's integer parser; :func:`pandas.to_numeric` on
    text took 40 ms per 30,000 rows): a column holding anything else is parsed by pandas as before.
    """
    try:
        ints = pc.cast(pa.array(text, type=pa.string(), from_pandas=True), pa.int64())
        return pc.cast(ints, pa.float64()).to_numpy(zero_copy_only=False)  # exact below 2**53, else ArrowInvalid
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, TypeError, ValueError):
        return None


def require_numeric_nonnegative(s: pd.Series, *, source: str) -> pd.Series:
    """Return `s` as int64 counts (see :func:`require_counts`; kept for callers of the old name)."""
    return require_counts(s, source=source)


def require_rows(df: pd.DataFrame, *, source: str, what: str = "rows", fix: str = "") -> pd.DataFrame:
    """Raise :class:`EmptyLayerError` when `df` has no rows, so no figure is computed from an empty layer."""
    if len(df) == 0:
        raise EmptyLayerError(
            f"{source} has no {what}. Every figure from it would be zero. "
            + (fix or "Check that you chose the right file and that it was downloaded completely.")
        )
    return df


def require_file(path: str | Path, what: str) -> Path:
    """Return `path` if it is a readable, non-empty file; raise naming the file and the fix otherwise.

    Raises
    ------
    DataRootError
        If the file does not exist.
    UnreadableFileError
        If it is a folder, is empty (zero bytes) or cannot be opened.
    """
    path = Path(path)
    if not path.exists():
        raise DataRootError(
            f"{what} file {path} does not exist. Check the data root (--data or PLACEKIT_DATA) and the `file` entry of the place manifest."
        )
    if path.is_dir():
        raise UnreadableFileError(
            f"{what} file {path} is a folder, not a file. Name the file itself in the place manifest (or on the command line)."
        )
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as exc:
        raise UnreadableFileError(f"{what} file {path} cannot be opened ({exc.strerror or exc}). Check its permissions.") from exc
    if size == 0:
        raise UnreadableFileError(
            f"{what} file {path} is empty (0 bytes). Download it again; an interrupted download leaves an empty file."
        )
    return path


#: Largest user file (estates, sites) checked whole for control characters and repeated JSON keys.
MAX_PLAIN_TEXT_BYTES = 50_000_000


def require_plain_text(path: str | Path, what: str) -> Path:
    """Refuse a CSV holding control characters (NUL, ESC, ...) and a GeoJSON whose objects repeat a key, naming the line.

    Pandas would read NUL bytes into names and codes, and GDAL keeps one of two repeated
    properties without a word. Files above :data:`MAX_PLAIN_TEXT_BYTES` and other formats
    (GeoPackage, Shapefile) are not read here.

    Raises
    ------
    UnreadableFileError
        Naming the file, the line and the character or key, and the fix.
    """
    path = require_file(path, what)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".txt", ".geojson", ".json") or path.stat().st_size > MAX_PLAIN_TEXT_BYTES:
        return path
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    bad = first_control_character(text)
    if bad:
        raise UnreadableFileError(
            f"{what} file {path.name}, line {bad[0]}: holds the control character {bad[1]}, which a text file of sites never "
            "contains (it is binary, or was damaged on its way). Remove it or save the file again as UTF-8 CSV."
        )
    if suffix in (".geojson", ".json"):
        try:
            loads_json_unique(text)
        except RepeatedKeyError as exc:
            raise UnreadableFileError(
                f"{what} file {path.name}: {exc}; a GIS reader keeps only one of the two without a word. Keep one and save it again."
            ) from exc
        except (ValueError, RecursionError):
            pass  # not JSON: the vector reader says so with its own message
    return path


def _unreadable(path: Path, what: str, kind: str, exc: BaseException) -> UnreadableFileError:
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    return UnreadableFileError(
        f"{what} file {path.name} cannot be read as {kind}: {detail}. It may be truncated, of another format or not the file "
        f"you meant; download it again from its publisher unchanged. (Full path: {path})"
    )


def read_guarded(read: Callable[[], Any], path: Path, what: str, kind: str) -> Any:
    """Call `read` (which reads `path`) and turn a parser's failure into :class:`UnreadableFileError` naming the file."""
    try:
        return read()
    except PlacekitError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError, TypeError, KeyError,
            IndexError, RuntimeError, MemoryError, RecursionError) as exc:  # fmt: skip
        raise _unreadable(path, what, kind, exc) from exc


def read_csv_checked(path: str | Path, *, what: str, **kw: Any) -> pd.DataFrame:
    """Read a CSV with :func:`pandas.read_csv`, turning parse and decoding failures into :class:`UnreadableFileError`.

    A file whose last line stops short of the first line's fields, with no line break at
    the end, was cut off (an interrupted download): it is refused, since pandas would fill
    the missing fields with blanks and the rows after the cut would be silently missing.
    """
    path = require_file(path, what)
    _require_whole_last_line(path, what, sep=kw.get("sep", ","), encoding=kw.get("encoding") or "utf-8")
    return read_guarded(lambda: pd.read_csv(path, **kw), path, what, "CSV")


def _require_whole_last_line(path: Path, what: str, *, sep: str, encoding: str) -> None:
    size = path.stat().st_size
    with path.open("rb") as fh:
        first = fh.readline(1_000_000)
        fh.seek(max(0, size - 65_536))
        tail = fh.read()
    if tail.endswith((b"\n", b"\r")) or b"\n" not in tail:
        return
    last = tail.rsplit(b"\n", 1)[1]
    try:
        head_fields = next(csv.reader([first.decode(encoding, errors="replace")], delimiter=sep), [])
        last_fields = next(csv.reader([last.decode(encoding, errors="replace")], delimiter=sep), [])
    except csv.Error:
        return
    if 0 < len(last_fields) < len(head_fields):
        raise UnreadableFileError(
            f"{what} file {path.name} ends in the middle of a row (its last line has {len(last_fields)} of {len(head_fields)} fields and no "
            "line break): the file was cut short, so rows after the cut are missing. Download it again."
        )


def read_parquet_checked(path: str | Path, *, what: str) -> pd.DataFrame:
    """Read a parquet file, turning failures (truncated, not parquet) into :class:`UnreadableFileError`."""
    path = require_file(path, what)
    return read_guarded(lambda: pd.read_parquet(path), path, what, "parquet")


def read_vector_checked(path: str | Path, *, what: str) -> gpd.GeoDataFrame:
    """Read a vector file (GeoJSON, GeoPackage, Shapefile) with pyogrio; failures become :class:`UnreadableFileError`."""
    path = require_file(path, what)
    try:
        return read_guarded(lambda: gpd.read_file(path, engine="pyogrio"), path, what, "a vector file (GeoJSON, GeoPackage, Shapefile)")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError, pyogrio.errors.GeometryError,
            pyogrio.errors.FeatureError, pyogrio.errors.CRSError) as exc:  # fmt: skip
        raise _unreadable(path, what, "a vector file (GeoJSON, GeoPackage, Shapefile)", exc) from exc


def require_codes_present(codes: pd.Series, *, source: str, column: str) -> None:
    """Raise naming the rows whose code is blank or missing (they would become a code ``"nan"``)."""
    distinct = pd.Series(codes.unique())  # checked once per distinct code (England's registrations: 866,000 rows, 40,000 codes)
    if not distinct.isna().any() and not (distinct.astype("string").str.strip() == "").any():
        return
    blank = codes.isna().to_numpy() | (codes.astype("string").str.strip().fillna("") == "").to_numpy()
    if blank.any():
        rows = [int(i) + 1 for i in np.flatnonzero(blank)[:5]]
        raise InvalidValueError(
            f"{source}: column {column!r} is blank in {int(blank.sum())} row(s) (data rows {rows}). "
            "Every row needs its code; fill them in or delete those rows."
        )


def require_positive_finite(**values: float | None) -> float | None:
    """Check that each named value (None skipped) is a finite number above 0; return the last one checked, unchanged.

    Raises
    ------
    InvalidParameterError
        Naming the parameter, its value and what is allowed (``threshold`` was inf ...).
    """
    last = None
    for name, value in values.items():
        if value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(f"`{name}` was {value!r} but is expected to be a number of minutes (or seconds) above 0.") from exc
        if not np.isfinite(number) or number <= 0:
            raise InvalidParameterError(f"`{name}` was {value!r} but is expected to be a finite number above 0 (e.g. 15).")
        last = value
    return last
