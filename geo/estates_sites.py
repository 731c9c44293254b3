"""A user's estates file: sites with a type, a role and what an estates planner records about them.

The file is a CSV (``lon``/``lat``, ``easting``/``northing`` or a ``postcode`` per row)
or any vector file of points (GeoJSON, GeoPackage, shapefile). Columns:

==============  ========  =====================================================================
column          required  values
==============  ========  =====================================================================
name            yes       the site's name
type            yes       ``gp``, ``health_centre``, ``hospital``, ``library``, ``council``,
                          ``community_centre``, ``pharmacy``, ``dentist``, … (lower case; any word)
site_id         no        unique id (default ``estates-<row>``)
role            no        ``hub_candidate``, ``spoke`` or ``asset`` (default: from the type)
tenure          no        ``freehold``, ``leasehold``, ``licence`` or ``unknown``
floor_area      no        gross internal floor area, m² (a number ≥ 0)
clinical_rooms  no        consulting and treatment rooms (a number ≥ 0); with floor area, gives a capacity
condition       no        six-facet survey physical condition: ``A`` (as new), ``B`` (sound),
                          ``C`` (needs major repair), ``D`` (unacceptable, risk of failure)
weekly_hours    no        hours open per week (0–168)
is_hub          no        ``yes``/``no``: an existing hub
==============  ========  =====================================================================

:func:`read_estates_file` checks every row and reports every problem at once, each
with its row, column, value and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo._validate import require_plain_text
from geo.postcodes import POSTCODE_SOURCE, geocode_postcodes
from placekit.errors import MissingColumnError, PlacekitError
from placekit.settings import WORKING_CRS

__all__ = ["ROLES", "TENURES", "CONDITIONS", "ESTATES_COLUMNS", "read_estates_file", "validate_estates"]

#: What a site can be in a hub-and-spoke estate.
ROLES = ("hub_candidate", "spoke", "asset")
#: Tenure of the site (aliases accepted: owned → freehold, leased → leasehold).
TENURES = ("freehold", "leasehold", "licence", "unknown")
_TENURE_ALIASES = {"owned": "freehold", "own": "freehold", "leased": "leasehold", "lease": "leasehold", "license": "licence"}
#: Six-facet survey physical condition grades, best first.
CONDITIONS = ("A", "B", "C", "D")
#: The attribute columns an estates frame carries (beside ``name``, ``site_type`` and the geometry).
ESTATES_COLUMNS = ("role", "tenure", "floor_area", "condition", "weekly_hours", "clinical_rooms")
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n", ""}


def _table(path: Path) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Return the attribute table (strings) and, for vector files, point coordinates in the working CRS."""
    require_plain_text(path, "estates")
    if path.suffix.lower() in (".geojson", ".json", ".gpkg", ".shp"):
        g = gpd.read_file(path, engine="pyogrio")
        if g.crs is None:
            raise PlacekitError(f"estates file {path.name} has no CRS; save it with one (EPSG:4326 or EPSG:27700).")
        g = g.to_crs(WORKING_CRS)
        pts = g.geometry.representative_point()
        df = pd.DataFrame(g.drop(columns=g.geometry.name)).astype(object).where(lambda d: d.notna(), "").astype(str)
        return df, np.c_[pts.x.to_numpy(), pts.y.to_numpy()]
    if path.suffix.lower() not in (".csv", ".txt"):
        raise PlacekitError(f"estates file {path.name}: use a .csv, .geojson, .gpkg or .shp file.")
    return pd.read_csv(path, dtype=str, keep_default_na=False), None


def _number(df: pd.DataFrame, col: str, lo: float, hi: float, unit: str, problems: list[str]) -> pd.Series:
    raw = df[col].astype(str).str.strip() if col in df else pd.Series("", index=df.index)
    val = pd.to_numeric(raw.str.replace(",", ""), errors="coerce")
    bad = (raw != "") & (val.isna() | (val < lo) | (val > hi))
    for i in df.index[bad][:10]:
        problems.append(f"row {i + 2}, column {col!r}: {raw[i]!r} is not a number of {unit} between {lo:g} and {hi:g}")
    return val.where(~bad)


def _choice(df: pd.DataFrame, col: str, allowed: tuple[str, ...], problems: list[str], *, aliases=None, upper=False) -> pd.Series:
    raw = df[col].astype(str).str.strip() if col in df else pd.Series("", index=df.index)
    val = raw.str.upper() if upper else raw.str.lower()
    val = val.replace(aliases or {})
    bad = (val != "") & ~val.isin(allowed)
    for i in df.index[bad][:10]:
        problems.append(f"row {i + 2}, column {col!r}: {raw[i]!r} is not one of {list(allowed)}")
    return val.where(~bad & (val != ""), None)


def _coordinates(df: pd.DataFrame, xy: np.ndarray | None, problems: list[str]) -> np.ndarray:
    """Return x, y in the working CRS per row (NaN where the row has no location yet)."""
    if xy is not None:
        return xy
    out = np.full((len(df), 2), np.nan)
    if {"easting", "northing"} <= set(df.columns):
        e, n = pd.to_numeric(df["easting"], errors="coerce"), pd.to_numeric(df["northing"], errors="coerce")
        ok = (e.notna() & n.notna()).to_numpy()
        out[ok] = np.c_[e[ok], n[ok]]
    if {"lon", "lat"} <= set(df.columns):
        lon, lat = pd.to_numeric(df["lon"], errors="coerce"), pd.to_numeric(df["lat"], errors="coerce")
        ok = (lon.notna() & lat.notna()).to_numpy() & np.isnan(out[:, 0])
        bad = ok & ~((lon.between(-9, 3) & lat.between(49, 61)).to_numpy())
        for i in np.flatnonzero(bad)[:10]:
            problems.append(f"row {i + 2}: lon {df['lon'].iat[i]}, lat {df['lat'].iat[i]} is not in Great Britain (WGS84 degrees)")
        ok &= ~bad
        if ok.any():
            pts = gpd.GeoSeries(gpd.points_from_xy(lon[ok], lat[ok]), crs="EPSG:4326").to_crs(WORKING_CRS)
            out[ok] = np.c_[pts.x.to_numpy(), pts.y.to_numpy()]
    need = np.isnan(out[:, 0])
    if need.any():
        pcs = df["postcode"].astype(str).str.strip() if "postcode" in df else pd.Series("", index=df.index)
        coded = geocode_postcodes(pcs[need])
        out[need] = np.c_[coded["easting"].to_numpy(), coded["northing"].to_numpy()]
        for i, ok_pc in zip(np.flatnonzero(need), coded["geocoded"].to_numpy(), strict=True):
            if not ok_pc and len(problems) < 40:
                pc = pcs.iat[i]
                problems.append(f"row {i + 2}: no location: give lon/lat, easting/northing or a postcode"
                                if not pc else f"row {i + 2}: postcode {pc!r} is not in the {POSTCODE_SOURCE}")  # fmt: skip
    return out


def validate_estates(df: pd.DataFrame, *, source: str, xy: np.ndarray | None = None, default_role: Callable[[str], str] | None = None) -> gpd.GeoDataFrame:
    """Check an estates table row by row and return it as sites (index ``site_id``) in the working CRS.

    Parameters
    ----------
    df
        The file's table, every value a string, with a default RangeIndex (rows are
        reported as file lines: row 0 is line 2, after the header).
    xy
        Point coordinates (working CRS) for a vector file; None to read ``lon``/``lat``,
        ``easting``/``northing`` or ``postcode`` columns.
    default_role
        Function of the site type giving the role of rows that leave ``role`` blank.

    Raises
    ------
    MissingColumnError
        Without ``name`` or ``type``.
    PlacekitError
        Listing every bad value (row, column, value, what is expected).
    """
    df = df.reset_index(drop=True).rename(columns=lambda c: str(c).strip().lower())
    if "site_type" in df and "type" not in df:
        df = df.rename(columns={"site_type": "type"})
    missing = [c for c in ("name", "type") if c not in df]
    if missing:
        raise MissingColumnError(f"{source} is missing column(s) {missing}; it has {list(df.columns)[:20]}. "
                                 "An estates file needs at least `name` and `type` per site.")  # fmt: skip
    problems: list[str] = []
    kind = df["type"].astype(str).str.strip().str.lower().str.replace(" ", "_")
    for i in df.index[kind == ""][:10]:
        problems.append(f"row {i + 2}, column 'type': empty; give the kind of site (gp, library, pharmacy, ...)")
    ids = df["site_id"].astype(str).str.strip() if "site_id" in df else pd.Series([f"estates-{i + 1:04d}" for i in df.index])
    for d in ids[ids.duplicated()].unique()[:10]:
        problems.append(f"column 'site_id': {d!r} appears more than once; give each site its own id")
    role = _choice(df, "role", ROLES, problems)
    out = pd.DataFrame(
        {
            "name": df["name"].astype(str).str.strip().to_numpy(),
            "site_type": kind.to_numpy(),
            "postcode": df["postcode"].astype(str).str.strip().to_numpy() if "postcode" in df else None,
            "role": role.to_numpy(),
            "tenure": _choice(df, "tenure", TENURES, problems, aliases=_TENURE_ALIASES).to_numpy(),
            "floor_area": _number(df, "floor_area", 0, 1e6, "m²", problems).to_numpy(),
            "condition": _choice(df, "condition", CONDITIONS, problems, upper=True).to_numpy(),
            "weekly_hours": _number(df, "weekly_hours", 0, 168, "hours a week", problems).to_numpy(),
            "clinical_rooms": _number(df, "clinical_rooms", 0, 1000, "rooms", problems).to_numpy(),
            "is_hub": _choice(df, "is_hub", tuple(sorted(_TRUE | _FALSE - {""})), problems).isin(_TRUE).to_numpy(),
        },
        index=pd.Index(ids.to_numpy(), name="site_id"),
    )
    coords = _coordinates(df, xy, problems)
    if problems:
        raise PlacekitError(f"{source} has {len(problems)} problem(s); nothing was loaded:\n" + "\n".join(f"  - {p}" for p in problems)
                            + "\nFix these rows and load the file again.")  # fmt: skip
    if default_role is not None:
        out["role"] = out["role"].fillna(out["site_type"].map(default_role))
    out["owner"] = None
    out["capacity"] = None
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(coords[:, 0], coords[:, 1]), crs=WORKING_CRS)


def read_estates_file(path: str | Path, *, default_role: Callable[[str], str] | None = None) -> gpd.GeoDataFrame:
    """Read and check a user's estates file (CSV or vector points); see the module docstring for its columns."""
    path = Path(path)
    if not path.exists():
        raise PlacekitError(f"estates file {path} does not exist.")
    df, xy = _table(path)
    out = validate_estates(df, source=f"estates file {path.name}", xy=xy, default_role=default_role)
    out.attrs.update({"layer": "sites:estates", "source": str(path)})
    return out
