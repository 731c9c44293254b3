"""Input checks shared by the loaders and the analysis functions."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable

import geopandas as gpd
import pandas as pd
import shapely

from placekit.errors import (
    CRSError,
    DuplicateCodeError,
    MissingColumnError,
    PlacekitError,
    UnknownCodeError,
    VintageMismatchError,
)
from placekit.settings import WORKING_CRS

__all__ = [
    "require_columns",
    "require_unique",
    "require_crs",
    "repair_geometry",
    "require_known",
    "lsoa_vintage_of",
    "require_lsoa_vintage",
    "require_numeric_nonnegative",
    "GeometryRepairWarning",
]

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
    seen = False
    for c in codes:
        m = _LSOA_RE.match(str(c))
        if not m:
            continue
        seen = True
        if int(m.group(2)) > _LAST_LSOA11[m.group(1)]:
            return "2021"
    return "2011" if seen else None


def require_lsoa_vintage(codes: Iterable[str], expected: str, *, source: str) -> None:
    """Raise :class:`VintageMismatchError` when `codes` are of another LSOA vintage than `expected`."""
    codes = list(codes)
    found = lsoa_vintage_of(codes)
    if found is not None and found != str(expected):
        newer = [c for c in codes if _LSOA_RE.match(str(c)) and int(str(c)[3:]) > _LAST_LSOA11[str(c)[:3]]]
        raise VintageMismatchError(
            f"{source} uses {found} LSOA codes (e.g. {newer[:3]}) but the place is on "
            f"{expected} LSOAs. Convert the file with the ONS LSOA 2011→2021 lookup "
            "(`geo.registrations.convert_lsoa_vintage`) or load the file of the matching vintage."
        )


def require_numeric_nonnegative(s: pd.Series, *, source: str) -> pd.Series:
    """Return `s` as integers; raise naming the rows that are not numbers or are negative."""
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna() | s.isna()
    if bad.any():
        raise PlacekitError(
            f"{source}: column {s.name!r} has {int(bad.sum())} non-numeric value(s), e.g. "
            f"{list(s[bad].astype(str).unique()[:5])} at rows {list(s.index[bad][:5])}. "
            "Counts must be whole numbers; fix those rows."
        )
    neg = num < 0
    if neg.any():
        raise PlacekitError(
            f"{source}: column {s.name!r} has {int(neg.sum())} negative value(s) at rows "
            f"{list(s.index[neg][:5])}. Counts cannot be negative; fix those rows."
        )
    return num
