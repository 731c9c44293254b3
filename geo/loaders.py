"""One loader per layer: read a publisher's file, validate it, return a frame indexed by code.

Every loader takes a path and keyword-only options, checks the file's columns,
codes and CRS, and returns a (Geo)DataFrame indexed by the official code with
placekit's standard column names. Geometry is in the working CRS (EPSG:27700).
The layer's vintage and source are recorded in ``frame.attrs``.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo._validate import (
    read_csv_checked,
    read_guarded,
    read_parquet_checked,
    read_vector_checked,
    repair_geometry,
    require_codes_present,
    require_columns,
    require_counts,
    require_crs,
    require_file,
    require_lsoa_vintage,
    require_plain_text,
    require_rows,
    require_unique,
)
from geo.postcodes import POSTCODE_SOURCE, geocode_postcodes
from placekit.errors import GeocodeError, InvalidValueError, PlacekitError
from placekit.safe_text import name_case
from placekit.settings import WORKING_CRS

__all__ = [
    "read_areas",
    "read_wards",
    "read_lsoas",
    "read_msoas",
    "read_lsoa_ward_lookup",
    "read_lsoa_msoa_lookup",
    "read_lsoa11_lsoa21_lookup",
    "read_population",
    "read_imd",
    "read_practices",
    "read_list_sizes",
    "read_pcn_map",
    "read_hospitals",
    "read_catchments",
    "read_sites",
    "read_trusts",
    "site_frame",
    "EPRACCUR_COLUMNS",
    "GeocodeWarning",
    "ClosedPracticeWarning",
]


class GeocodeWarning(UserWarning):
    """Some records could not be located from their postcode."""


class ClosedPracticeWarning(UserWarning):
    """Practices that are closed or dormant were found where open ones were expected."""


#: The 27 columns of an ODS headerless organisation file (epraccur, etr, ...).
EPRACCUR_COLUMNS = [
    "ORGANISATION_CODE",
    "NAME",
    "NATIONAL_GROUPING",
    "HIGH_LEVEL_HEALTH_GEOGRAPHY",
    "ADDRESS_LINE_1",
    "ADDRESS_LINE_2",
    "ADDRESS_LINE_3",
    "ADDRESS_LINE_4",
    "ADDRESS_LINE_5",
    "POSTCODE",
    "OPEN_DATE",
    "CLOSE_DATE",
    "STATUS_CODE",
    "ORGANISATION_SUB_TYPE_CODE",
    "COMMISSIONER",
    "JOIN_PROVIDER_PURCHASER_DATE",
    "LEFT_PROVIDER_PURCHASER_DATE",
    "CONTACT_TELEPHONE_NUMBER",
    "NULL_1",
    "NULL_2",
    "NULL_3",
    "AMENDED_RECORD_INDICATOR",
    "NULL_4",
    "PROVIDER_PURCHASER",
    "NULL_5",
    "PRESCRIBING_SETTING",
    "NULL_6",
]


#: LSOAs in England in the IoD2019 (2011 LSOAs): the largest rank.
_IMD_LSOAS = 32_844


def _require_at_least_one(values: pd.Series, codes: pd.Series, *, source: str, column: str) -> None:
    """Ranks and deciles start at 1; a 0 is a blank read as a number or a wrong column."""
    zero = np.flatnonzero(values.to_numpy() == 0)
    if len(zero):
        rows = ", ".join(f"row {i + 1} ({codes.iloc[i]})" for i in zero[:5])
        raise InvalidValueError(
            f"{source}: column {column!r} holds 0 in {len(zero)} row(s) ({rows}); ranks and deciles start at 1. Fix those rows."
        )


def _check_file(path: str | Path, what: str) -> Path:
    return require_file(path, what)


def _read_table(path: Path, *, what: str, **kw) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return read_parquet_checked(path, what=what)
    return read_csv_checked(path, what=what, **kw)


def _rename(df: pd.DataFrame, columns: Mapping[str, str] | None) -> pd.DataFrame:
    """Rename publisher columns to the names the loader expects (manifest `columns`)."""
    if columns:
        df = df.rename(columns={v: k for k, v in columns.items() if v in df.columns and k != v})
    return df


def _with_attrs(df, *, layer: str, path: Path, vintage: str, status: str = "real", **extra):
    df.attrs.update({"layer": layer, "source": str(path), "vintage": vintage, "status": status, **extra})
    return df


# --------------------------------------------------------------------------- areas
def read_areas(
    path: str | Path,
    *,
    code_col: str,
    name_col: str | None = None,
    layer: str,
    vintage: str,
    index_name: str,
    crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Read area boundaries (GeoJSON, GeoPackage, Shapefile) indexed by their code.

    Parameters
    ----------
    path
        Boundary file readable by pyogrio.
    code_col, name_col
        Columns holding the official code and name (e.g. ``WD13CD``, ``WD13NM``).
    layer, vintage
        Recorded in ``attrs`` and used in messages.
    index_name
        Name of the returned index (``ward_code``, ``lsoa_code``, ...).
    crs
        CRS to assume when the file declares none.

    Returns
    -------
    geopandas.GeoDataFrame
        Index `index_name`; column ``name``; geometry in EPSG:27700, repaired if invalid.
    """
    gdf = read_vector_checked(path, what=layer)
    path = Path(path)
    source = f"{layer} file {path.name}"
    require_rows(gdf, source=source, what="features (areas)")
    require_columns(gdf, [code_col] + ([name_col] if name_col else []), source=source)
    require_codes_present(gdf[code_col], source=source, column=code_col)
    if gdf.crs is None and crs:
        gdf = gdf.set_crs(crs)
    gdf = require_crs(gdf, source=source)
    gdf = gdf.set_index(gdf[code_col].astype(str).str.strip())
    gdf.index.name = index_name
    require_unique(gdf.index, source=source, what=index_name)
    out = gpd.GeoDataFrame(
        {"name": gdf[name_col].astype(str) if name_col else gdf.index.to_series()},
        geometry=gdf.geometry.values,
        index=gdf.index,
        crs=WORKING_CRS,
    )
    out = repair_geometry(out, source=source)
    return _with_attrs(out, layer=layer, path=path, vintage=vintage)


def read_wards(
    path: str | Path, *, code_col: str = "WD13CD", name_col: str = "WD13NM", vintage: str = "WD13", crs: str | None = None
) -> gpd.GeoDataFrame:
    """Read ward boundaries indexed by ward code (``ward_code``), in the working CRS."""
    return read_areas(path, code_col=code_col, name_col=name_col, layer="wards", vintage=vintage, index_name="ward_code", crs=crs)


def read_lsoas(
    path: str | Path, *, code_col: str = "LSOA11CD", name_col: str = "LSOA11NM", vintage: str = "2011", crs: str | None = None
) -> gpd.GeoDataFrame:
    """Read LSOA boundaries indexed by LSOA code, checking the codes match `vintage`."""
    gdf = read_areas(path, code_col=code_col, name_col=name_col, layer="lsoas", vintage=vintage, index_name="lsoa_code", crs=crs)
    require_lsoa_vintage(gdf.index, vintage, source=f"LSOA boundaries {Path(path).name}")
    return gdf


def read_msoas(
    path: str | Path, *, code_col: str = "MSOA11CD", name_col: str = "MSOA11NM", vintage: str = "2011", crs: str | None = None
) -> gpd.GeoDataFrame:
    """Read MSOA boundaries indexed by MSOA code."""
    return read_areas(path, code_col=code_col, name_col=name_col, layer="msoas", vintage=vintage, index_name="msoa_code", crs=crs)


# --------------------------------------------------------------------------- lookups
def read_lsoa_ward_lookup(
    path: str | Path,
    *,
    lsoa_col: str = "LSOA11CD",
    ward_col: str = "WD17CD",
    ward_name_col: str = "WD17NM",
    lad_col: str = "LAD17CD",
    lad_name_col: str = "LAD17NM",
    vintage: str = "LSOA11→WD17",
    lsoa_vintage: str = "2011",
) -> pd.DataFrame:
    """Read an ONS best-fit LSOA→ward lookup.

    Returns
    -------
    pandas.DataFrame
        Index ``lsoa_code``; columns ``ward_code``, ``ward_name``, ``lad_code``, ``lad_name``.
        Best-fit means each LSOA sits wholly in the ward holding its population-weighted
        centroid, even when it straddles a ward boundary.
    """
    path = _check_file(path, "LSOA→ward lookup")
    df = _read_table(path, what="LSOA→ward lookup", dtype=str)
    source = f"LSOA→ward lookup {path.name}"
    require_rows(df, source=source)
    require_columns(df, [lsoa_col, ward_col, ward_name_col, lad_col, lad_name_col], source=source)
    require_codes_present(df[lsoa_col], source=source, column=lsoa_col)
    require_codes_present(df[ward_col], source=source, column=ward_col)
    out = pd.DataFrame(
        {
            "ward_code": df[ward_col].str.strip().values,
            "ward_name": df[ward_name_col].values,
            "lad_code": df[lad_col].values,
            "lad_name": df[lad_name_col].values,
        },
        index=pd.Index(df[lsoa_col].str.strip(), name="lsoa_code"),
    )
    require_unique(out.index, source=source, what="lsoa_code")
    require_lsoa_vintage(out.index, lsoa_vintage, source=source)
    return _with_attrs(out, layer="lsoa_ward", path=path, vintage=vintage, method="ONS best fit (population-weighted centroid)")


def read_lsoa_msoa_lookup(
    path: str | Path,
    *,
    lsoa_col: str = "lsoa11_code",
    msoa_col: str = "msoa11_code",
    msoa_name_col: str = "msoa11_name",
    vintage: str = "2011",
) -> pd.DataFrame:
    """Read an LSOA→MSOA lookup; index ``lsoa_code``, columns ``msoa_code``, ``msoa_name``."""
    path = _check_file(path, "LSOA→MSOA lookup")
    df = _read_table(path, what="LSOA→MSOA lookup", dtype=str)
    source = f"LSOA→MSOA lookup {path.name}"
    require_rows(df, source=source)
    require_columns(df, [lsoa_col, msoa_col, msoa_name_col], source=source)
    require_codes_present(df[lsoa_col], source=source, column=lsoa_col)
    require_codes_present(df[msoa_col], source=source, column=msoa_col)
    out = pd.DataFrame(
        {"msoa_code": df[msoa_col].values, "msoa_name": df[msoa_name_col].values},
        index=pd.Index(df[lsoa_col].str.strip(), name="lsoa_code"),
    )
    require_unique(out.index, source=source, what="lsoa_code")
    require_lsoa_vintage(out.index, vintage, source=source)
    return _with_attrs(out, layer="lsoa_msoa", path=path, vintage=vintage)


def read_lsoa11_lsoa21_lookup(
    path: str | Path,
    *,
    lsoa11_col: str = "LSOA11CD",
    lsoa21_col: str = "LSOA21CD",
    lsoa21_name_col: str = "LSOA21NM",
    lad_col: str = "LAD22CD",
    lad_name_col: str = "LAD22NM",
    vintage: str = "ONS LSOA11->LSOA21 best fit (v2)",
) -> pd.DataFrame:
    """Read the ONS best-fit LSOA 2011 → LSOA 2021 lookup (England and Wales).

    Best fit: each 2011 LSOA goes wholly to the 2021 LSOA holding its population-weighted
    centroid, so a 2011 LSOA that was split maps to one part only, and a 2021 LSOA made
    only from the other parts has no row. Use it to move 2011-based counts forward; to
    carry 2021-based counts back, weigh by the 2021 boundaries instead.

    Returns
    -------
    pandas.DataFrame
        Index ``lsoa11_code``; ``lsoa21_code``, ``lsoa21_name``, ``lad_code``, ``lad_name``.
    """
    path = _check_file(path, "LSOA 2011→2021 lookup")
    df = read_csv_checked(path, what="LSOA 2011→2021 lookup", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    source = f"LSOA 2011→2021 lookup {path.name}"
    require_rows(df, source=source)
    require_columns(df, [lsoa11_col, lsoa21_col, lsoa21_name_col, lad_col, lad_name_col], source=source)
    require_codes_present(df[lsoa11_col], source=source, column=lsoa11_col)
    require_codes_present(df[lsoa21_col], source=source, column=lsoa21_col)
    out = pd.DataFrame(
        {
            "lsoa21_code": df[lsoa21_col].str.strip().values,
            "lsoa21_name": df[lsoa21_name_col].values,
            "lad_code": df[lad_col].str.strip().values,
            "lad_name": df[lad_name_col].values,
        },
        index=pd.Index(df[lsoa11_col].str.strip(), name="lsoa11_code"),
    )
    require_unique(out.index, source=source, what="lsoa11_code")
    require_lsoa_vintage(out.index, "2011", source=source + " (LSOA11CD)")
    return _with_attrs(out, layer="lsoa11_lsoa21", path=path, vintage=vintage, method="ONS best fit (population-weighted centroid)")


# --------------------------------------------------------------------------- population and IMD
def _find_col(df: pd.DataFrame, startswith: str, *, source: str) -> str:
    for c in df.columns:
        if c.strip().lower().startswith(startswith.lower()):
            return c
    raise PlacekitError(
        f"{source} has no column starting with {startswith!r}; it has {list(df.columns)[:12]}. "
        "Use the MHCLG IoD2019 file layout or map the column in the manifest."
    )


_POP_COLS = {
    "population": "Total population",
    "age_0_15": "Dependent Children aged 0-15",
    "age_16_59": "Population aged 16-59",
    "age_60_plus": "Older population aged 60 and over",
}

_IMD_DOMAINS = {
    "imd": "Index of Multiple Deprivation (IMD)",
    "income": "Income",
    "employment": "Employment",
    "education": "Education, Skills and Training",
    "health": "Health Deprivation and Disability",
    "crime": "Crime",
    "housing": "Barriers to Housing and Services",
    "living_env": "Living Environment",
}


def read_population(path: str | Path, *, vintage: str = "mid-2015 (IoD2019 denominators)", lsoa_vintage: str = "2011") -> pd.DataFrame:
    """Read resident population by LSOA with its broad age bands (IoD2019 File 6 layout).

    Returns
    -------
    pandas.DataFrame
        Index ``lsoa_code``; integer columns ``population``, ``age_0_15``, ``age_16_59``,
        ``age_60_plus`` (the bands add up to ``population``).
    """
    path = _check_file(path, "population")
    df = read_csv_checked(path, what="population", dtype=str, thousands=",")
    source = f"population file {path.name}"
    require_rows(df, source=source, what="LSOA rows")
    code = _find_col(df, "LSOA code", source=source)
    require_codes_present(df[code], source=source, column=code)
    out = pd.DataFrame(index=pd.Index(df[code].str.strip(), name="lsoa_code"))
    for new, prefix in _POP_COLS.items():
        col = _find_col(df, prefix, source=source)
        s = df[col].reset_index(drop=True)
        out[new] = require_counts(s, source=source, column=col, what="residents", labels=df[code].reset_index(drop=True)).to_numpy()
    require_unique(out.index, source=source, what="lsoa_code")
    require_lsoa_vintage(out.index, lsoa_vintage, source=source)
    bad = out["age_0_15"] + out["age_16_59"] + out["age_60_plus"] != out["population"]
    if bad.any():
        raise PlacekitError(f"{source}: age bands do not add up to the total for {list(out.index[bad][:5])}; check the file.")
    return _with_attrs(out, layer="population", path=path, vintage=vintage)


def read_imd(path: str | Path, *, vintage: str = "IoD2019", lsoa_vintage: str = "2011") -> pd.DataFrame:
    """Read the English Indices of Deprivation by LSOA (IoD2019 File 1 or File 2 layout).

    Returns
    -------
    pandas.DataFrame
        Index ``lsoa_code``; ``imd_rank``, ``imd_decile`` (1 = most deprived 10% in
        England) and, from File 2, ``<domain>_rank`` / ``<domain>_decile``; ``lad_code``.
    """
    path = _check_file(path, "IMD")
    df = read_csv_checked(path, what="IMD", dtype=str)
    source = f"IMD file {path.name}"
    require_rows(df, source=source, what="LSOA rows")
    code = _find_col(df, "LSOA code", source=source)
    require_codes_present(df[code], source=source, column=code)
    out = pd.DataFrame(index=pd.Index(df[code].str.strip(), name="lsoa_code"))
    try:
        out["lad_code"] = df[_find_col(df, "Local Authority District code", source=source)].values
    except PlacekitError:
        pass
    for key, label in _IMD_DOMAINS.items():
        for kind in ("Rank", "Decile"):
            col = next((c for c in df.columns if c.startswith(label) and f" {kind} " in c + " "), None)
            if col is None:
                if key == "imd":
                    raise PlacekitError(f"{source} has no IMD {kind} column; use IoD2019 File 1 or File 2.")
                continue
            top = 10 if kind == "Decile" else _IMD_LSOAS
            values = require_counts(df[col].reset_index(drop=True), source=source, column=col, what="ranks" if kind == "Rank" else "deciles",
                                    max_value=top, labels=df[code].reset_index(drop=True))  # fmt: skip
            _require_at_least_one(values, df[code], source=source, column=col)
            out[f"{key}_{kind.lower()}"] = values.to_numpy()
    require_unique(out.index, source=source, what="lsoa_code")
    require_lsoa_vintage(out.index, lsoa_vintage, source=source)
    return _with_attrs(out, layer="imd", path=path, vintage=vintage)


# --------------------------------------------------------------------------- practices
def _require_in_britain(df: pd.DataFrame, x, y, crs: str, *, source: str) -> None:
    """Refuse coordinates outside Great Britain (swapped or mistyped longitude and latitude)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    given = np.isfinite(x) & np.isfinite(y)
    if crs == "EPSG:4326":
        inside = (x >= -9) & (x <= 2.5) & (y >= 49) & (y <= 61)
    else:
        inside = (x >= -1e5) & (x <= 8e5) & (y >= -1e5) & (y <= 1.3e6)
    bad = np.flatnonzero(given & ~inside)
    if len(bad):
        rows = "; ".join(f"{df.index[i]} ({x[i]:g}, {y[i]:g})" for i in bad[:5])
        raise InvalidValueError(
            f"{source}: {len(bad)} site(s) lie outside Great Britain: {rows}. Longitude and latitude may be swapped or mistyped "
            f"({'longitude -9 to 2.5, latitude 49 to 61' if crs == 'EPSG:4326' else 'British National Grid metres'}); fix those rows."
        )


def _points(df: pd.DataFrame, x: pd.Series, y: pd.Series, crs: str, *, source: str = "points") -> gpd.GeoDataFrame:
    _require_in_britain(df, x, y, crs, source=source)
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(x, y), crs=crs)
    return gdf.to_crs(WORKING_CRS) if crs != WORKING_CRS else gdf


def _geocode(df: pd.DataFrame, *, source: str, strict: bool) -> gpd.GeoDataFrame:
    """Geocode ``df['postcode']``; warn (or raise when `strict`) naming every failure."""
    geo = geocode_postcodes(df["postcode"])
    failed = df.index[~geo["geocoded"].values]
    gdf = _points(df.assign(geocoded=geo["geocoded"].values), geo["easting"], geo["northing"], WORKING_CRS)
    gdf["postcode_lad"] = pd.array(geo["lad_code"].to_numpy(), dtype="string")
    gdf.loc[~gdf["geocoded"], "geometry"] = None
    if len(failed):
        listing = ", ".join(f"{c} ({df.at[c, 'postcode']})" for c in failed[:20])
        msg = (
            f"{source}: {len(failed)} of {len(df)} postcode(s) not found in the {POSTCODE_SOURCE}: "
            f"{listing}{' …' if len(failed) > 20 else ''}. They have no location; correct the postcode "
            "or add coordinates."
        )
        if strict:
            raise GeocodeError(msg)
        warnings.warn(msg, GeocodeWarning, stacklevel=3)
    gdf.attrs["geocode_failures"] = list(failed)
    return gdf


def read_practices(
    path: str | Path,
    *,
    prescribing_setting: str | None = "4",
    commissioner: str | Sequence[str] | None = None,
    vintage: str = "epraccur",
    strict_geocode: bool = False,
) -> gpd.GeoDataFrame:
    """Read the ODS GP practice list (epraccur), with or without its header row.

    Parameters
    ----------
    path
        An epraccur CSV: the ODS headerless 27-column file, or the same with a header.
    prescribing_setting
        Keep only this setting (``"4"`` = GP practice); None keeps all.
    commissioner
        Keep only practices commissioned by these sub-ICB/CCG codes (e.g. ``"14L"``).
    strict_geocode
        Raise instead of warning when a postcode cannot be located.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``practice_code``; ``practice_name``, ``postcode``, ``status``
        (A active, C closed, D dormant, P proposed), ``open_date``, ``close_date``,
        ``commissioner``, ``geocoded``; point geometry at the postcode (empty if not found).
    """
    path = _check_file(path, "GP practice list")
    source = f"GP practice list {path.name}"
    df = _read_epraccur(path)
    require_columns(df, ["ORGANISATION_CODE", "NAME", "POSTCODE", "STATUS_CODE", "OPEN_DATE", "CLOSE_DATE", "COMMISSIONER",
                         "PRESCRIBING_SETTING"], source=source)  # fmt: skip
    if prescribing_setting is not None:
        df = df[df["PRESCRIBING_SETTING"].str.strip() == str(prescribing_setting)]
    if commissioner is not None:
        wanted = [commissioner] if isinstance(commissioner, str) else list(commissioner)
        df = df[df["COMMISSIONER"].isin(wanted)]
    require_rows(df, source=source, what=f"GP practices (PRESCRIBING_SETTING {prescribing_setting})",
                 fix="Use the ODS epraccur file unchanged; its GP practices have PRESCRIBING_SETTING 4.")  # fmt: skip
    require_codes_present(df["ORGANISATION_CODE"], source=source, column="ORGANISATION_CODE")
    out = pd.DataFrame(
        {
            "practice_name": df["NAME"].values,
            "postcode": df["POSTCODE"].str.strip().values,
            "status": df["STATUS_CODE"].str.strip().values,
            "open_date": pd.to_datetime(df["OPEN_DATE"].replace("", None), format="%Y%m%d", errors="coerce").values,
            "close_date": pd.to_datetime(df["CLOSE_DATE"].replace("", None), format="%Y%m%d", errors="coerce").values,
            "commissioner": df["COMMISSIONER"].values,
        },
        index=pd.Index(df["ORGANISATION_CODE"].str.strip(), name="practice_code"),
    )
    require_unique(out.index, source=source, what="practice_code")
    gdf = _geocode(out, source=source, strict=strict_geocode)
    return _with_attrs(gdf, layer="practices", path=path, vintage=vintage, geocoder=POSTCODE_SOURCE)


def _read_epraccur(path: Path) -> pd.DataFrame:
    """Read an epraccur file with its header, or headerless with the 27 ODS columns."""
    with path.open(encoding="latin-1") as fh:
        first = fh.readline().upper()
    header = first.startswith("ORGANISATION_CODE") or first.startswith('"ORGANISATION_CODE')
    df = read_csv_checked(path, what="GP practice list", dtype=str, header=0 if header else None, encoding="latin-1", keep_default_na=False)
    if not header:
        if df.shape[1] != len(EPRACCUR_COLUMNS):
            raise PlacekitError(
                f"GP practice list {path.name} has {df.shape[1]} columns and no header; the ODS "
                f"epraccur layout has {len(EPRACCUR_COLUMNS)}. Download epraccur.csv from ODS unchanged."
            )
        df.columns = EPRACCUR_COLUMNS
    return df


def closed_practices(practices: pd.DataFrame, codes: Sequence[str]) -> pd.DataFrame:
    """Return the practices among `codes` whose ODS status is not active (A)."""
    sub = practices.loc[practices.index.intersection(pd.Index(codes))]
    return sub[sub["status"] != "A"][["practice_name", "status", "close_date"]]


def read_list_sizes(path: str | Path, *, vintage: str | None = None) -> pd.DataFrame:
    """Read NHS Digital practice list totals (``gp-reg-pat-prac-all.csv``).

    Returns
    -------
    pandas.DataFrame
        Index ``practice_code``; ``list_size`` (all ages, persons), ``ccg_code``, ``postcode``.
        ``attrs['vintage']`` is the file's EXTRACT_DATE.
    """
    path = _check_file(path, "practice list sizes")
    df = read_csv_checked(path, what="practice list sizes", dtype=str)
    source = f"practice list sizes {path.name}"
    require_rows(df, source=source)
    require_columns(df, ["CODE", "NUMBER_OF_PATIENTS", "EXTRACT_DATE"], source=source)
    if "SEX" in df and "AGE" in df:
        df = df[(df["SEX"] == "ALL") & (df["AGE"] == "ALL")]
        require_rows(df, source=source, what="rows with SEX = ALL and AGE = ALL", fix="Use the all-persons file gp-reg-pat-prac-all.csv.")
    require_codes_present(df["CODE"], source=source, column="CODE")
    n = require_counts(df["NUMBER_OF_PATIENTS"].reset_index(drop=True), source=source, column="NUMBER_OF_PATIENTS", what="patients",
                       labels=df["CODE"].reset_index(drop=True))  # fmt: skip
    out = pd.DataFrame(
        {
            "list_size": n.astype("int64").values,
            "ccg_code": df.get("CCG_CODE", pd.Series(index=df.index)).values,
            "postcode": df.get("POSTCODE", pd.Series(index=df.index)).values,
        },
        index=pd.Index(df["CODE"].str.strip(), name="practice_code"),
    )
    require_unique(out.index, source=source, what="practice_code")
    return _with_attrs(out, layer="list_sizes", path=path, vintage=vintage or str(df["EXTRACT_DATE"].iloc[0]))


def read_pcn_map(path: str | Path, *, vintage: str | None = None) -> pd.DataFrame:
    """Read NHS Digital's practice→PCN→CCG map (``gp-reg-pat-prac-map.csv``).

    Returns
    -------
    pandas.DataFrame
        Index ``practice_code``; ``practice_name``, ``pcn_code``, ``pcn_name``, ``ccg_code``, ``ccg_name``.
    """
    path = _check_file(path, "practice→PCN map")
    df = read_csv_checked(path, what="practice→PCN map", dtype=str)
    source = f"practice→PCN map {path.name}"
    require_rows(df, source=source)
    need = ["PRACTICE_CODE", "PRACTICE_NAME", "PCN_CODE", "PCN_NAME", "CCG_CODE", "CCG_NAME", "EXTRACT_DATE"]
    require_columns(df, need, source=source)
    require_codes_present(df["PRACTICE_CODE"], source=source, column="PRACTICE_CODE")
    out = df.set_index(df["PRACTICE_CODE"].str.strip())[need[1:6]]
    out.columns = ["practice_name", "pcn_code", "pcn_name", "ccg_code", "ccg_name"]
    out.index.name = "practice_code"
    require_unique(out.index, source=source, what="practice_code")
    return _with_attrs(out, layer="pcn_map", path=path, vintage=vintage or str(df["EXTRACT_DATE"].iloc[0]))


# --------------------------------------------------------------------------- hospitals and catchments
def read_hospitals(path: str | Path, *, vintage: str = "NHS Choices Hospital.csv 2018-01") -> gpd.GeoDataFrame:
    """Read NHS Choices hospital sites (``Hospital.csv``; ``¬``-delimited latin-1 or comma UTF-8).

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``site_code`` (ODS site code); ``name``, ``trust_code`` (parent ODS code),
        ``trust_name``, ``postcode``, ``sector``; points in EPSG:27700.
    """
    path = _check_file(path, "hospital sites")
    raw = path.read_bytes()
    text = raw.decode("utf-8") if _is_utf8(raw) else raw.decode("latin-1")
    sep = "¬" if "¬" in text.splitlines()[0] else ","
    df = read_guarded(lambda: pd.read_csv(io.StringIO(text), sep=sep, dtype=str, engine="python" if sep == "¬" else "c",
                                          quoting=csv.QUOTE_MINIMAL), path, "hospital sites", "CSV")  # fmt: skip
    source = f"hospital sites {path.name}"
    require_rows(df, source=source, what="hospital sites")
    require_columns(df, ["OrganisationCode", "OrganisationName", "Latitude", "Longitude", "ParentODSCode", "Postcode"], source=source)
    lat = pd.to_numeric(df["Latitude"], errors="coerce")
    lon = pd.to_numeric(df["Longitude"], errors="coerce")
    keep = lat.notna() & lon.notna()
    if (~keep).any():
        warnings.warn(
            f"{source}: {int((~keep).sum())} site(s) without coordinates dropped: {list(df.loc[~keep, 'OrganisationCode'][:10])}",
            GeocodeWarning,
            stacklevel=2,
        )
    df = df[keep]
    out = pd.DataFrame(
        {
            "name": df["OrganisationName"].values,
            "trust_code": df["ParentODSCode"].values,
            "trust_name": df.get("ParentName", pd.Series(index=df.index)).values,
            "postcode": df["Postcode"].values,
            "sector": df.get("Sector", pd.Series(index=df.index)).values,
        },
        index=pd.Index(df["OrganisationCode"].str.strip(), name="site_code"),
    )
    first = ~out.index.duplicated()  # a site listed twice (England's file repeats 8) keeps its first row, with that row's position
    out = out[first]
    gdf = _points(out, lon[keep].to_numpy()[first], lat[keep].to_numpy()[first], "EPSG:4326", source=source)
    return _with_attrs(gdf, layer="hospitals", path=path, vintage=vintage)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_trusts(path: str | Path, *, vintage: str = "ODS etr") -> pd.DataFrame:
    """Read the ODS NHS trust list (``etr.csv``, headerless 27 columns): index ``trust_code``; ``trust_name``, ``postcode``."""
    path = _check_file(path, "NHS trusts")
    df = read_csv_checked(path, what="NHS trusts", header=None, dtype=str, keep_default_na=False)
    require_rows(df, source=f"NHS trusts {path.name}")
    if df.shape[1] < 10:
        raise PlacekitError(
            f"NHS trusts {path.name} has {df.shape[1]} columns; the ODS etr layout has 27 (code, name, ..., postcode in the 10th)."
        )
    out = pd.DataFrame(
        {"trust_name": df[1].map(name_case).values, "postcode": df[9].values},
        index=pd.Index(df[0].str.strip(), name="trust_code"),
    )
    require_unique(out.index, source=f"NHS trusts {path.name}", what="trust_code")
    return _with_attrs(out, layer="trusts", path=path, vintage=vintage)


def read_catchments(path: str | Path, *, vintage: str = "OHID 2019 all admissions", msoa_vintage: str = "2011") -> pd.DataFrame:
    """Read OHID trust catchments: the share of each MSOA's admissions going to each trust.

    Returns
    -------
    pandas.DataFrame
        Columns ``msoa_code``, ``trust_code``, ``proportion`` (0–1; per MSOA they sum to
        a little under 1 because small flows are not attributed).
    """
    path = _check_file(path, "trust catchments")
    df = read_csv_checked(path, what="trust catchments", dtype=str)
    source = f"trust catchments {path.name}"
    require_rows(df, source=source)
    lower = {c.lower(): c for c in df.columns}
    ren = {
        lower[k]: v
        for k, v in {"msoa_code": "msoa_code", "msoa11cd": "msoa_code", "trust_code": "trust_code", "proportion": "proportion"}.items()
        if k in lower
    }
    df = df.rename(columns=ren)
    require_columns(df, ["msoa_code", "trust_code", "proportion"], source=source)
    p = pd.to_numeric(df["proportion"], errors="coerce")
    if p.isna().any() or (p < 0).any() or (p > 1).any():
        raise PlacekitError(
            f"{source}: `proportion` must be a number between 0 and 1; bad rows {list(df.index[p.isna() | (p < 0) | (p > 1)][:5])}."
        )
    out = pd.DataFrame({"msoa_code": df["msoa_code"].str.strip(), "trust_code": df["trust_code"].str.strip(), "proportion": p})
    dup = out.duplicated(["msoa_code", "trust_code"])
    if dup.any():
        raise PlacekitError(
            f"{source}: {int(dup.sum())} repeated (msoa_code, trust_code) pairs, "
            f"e.g. {out[dup].head(3).values.tolist()}; keep one row per pair."
        )
    total = out.groupby("msoa_code")["proportion"].sum()
    if (total > 1.001).any():
        raise PlacekitError(f"{source}: shares add up to more than 1 for MSOA(s) {list(total.index[total > 1.001][:5])}.")
    return _with_attrs(out, layer="catchments", path=path, vintage=vintage)


# --------------------------------------------------------------------------- estates sites
def site_frame(
    frame: gpd.GeoDataFrame, *, name_col: str, site_type: str, id_prefix: str, owner: str | None = None, postcode_col: str | None = "postcode"
) -> gpd.GeoDataFrame:
    """Return rows of `frame` (practices, hospitals, ...) as estates sites with the standard columns.

    Ids are ``<id_prefix>-<frame index>``; values are taken by position, never by index label.
    """
    n = len(frame)
    owner_values = frame[owner].to_numpy() if isinstance(owner, str) and owner in frame else [owner] * n
    return gpd.GeoDataFrame(
        {
            "name": frame[name_col].to_numpy(),
            "site_type": site_type,
            "postcode": frame[postcode_col].to_numpy() if postcode_col and postcode_col in frame else [None] * n,
            "owner": owner_values,
            "floor_area": None,
            "capacity": None,
            "condition": None,
            "is_hub": False,
            "geocoded": frame["geocoded"].to_numpy() if "geocoded" in frame else True,
        },
        geometry=frame.geometry.values,
        index=pd.Index([f"{id_prefix}-{c}" for c in frame.index], name="site_id"),
        crs=frame.crs,
    )


def read_sites(
    path: str | Path,
    *,
    site_type: str,
    id_col: str | None = None,
    name_col: str = "name",
    postcode_col: str | None = "postcode",
    lon_col: str | None = "lon",
    lat_col: str | None = "lat",
    id_prefix: str | None = None,
    columns: Mapping[str, str] | None = None,
    vintage: str = "",
    strict_geocode: bool = False,
) -> gpd.GeoDataFrame:
    """Read estates sites (CSV with coordinates or postcode, or any vector file).

    Rows with coordinates are placed there; rows with only a postcode are geocoded
    offline; rows with neither are reported.

    Parameters
    ----------
    site_type
        Type given to every row (``gp``, ``hospital``, ``library``, ``pharmacy``, ...).
    id_col
        Column with a unique site id; when None ids are ``<id_prefix>-<row number>``.
    columns
        Optional mapping of placekit names (``owner``, ``floor_area``, ``condition``,
        ``capacity``, ``is_hub``) to the file's column names.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``site_id``; ``name``, ``site_type``, ``postcode``, ``owner``, ``floor_area``,
        ``capacity``, ``condition``, ``is_hub``, ``geocoded``; points in EPSG:27700.
    """
    path = _check_file(path, f"{site_type} sites")
    source = f"{site_type} sites {path.name}"
    df, x, y, crs = _site_table(path, source=source, lon_col=lon_col, lat_col=lat_col)
    require_rows(df, source=source, what="sites")
    df = _rename(df, columns)
    require_columns(df, [name_col] + ([postcode_col] if postcode_col and (postcode_col in df or x.isna().any()) else []), source=source)
    prefix = id_prefix or site_type
    ids = df[id_col].astype(str).str.strip() if id_col else pd.Series([f"{prefix}-{i:04d}" for i in range(len(df))], index=df.index)
    out = pd.DataFrame(
        {
            "name": df[name_col].astype(str).values,
            "site_type": site_type,
            "postcode": df[postcode_col].astype(str).str.strip().values if postcode_col and postcode_col in df else None,
        },
        index=pd.Index(ids.values, name="site_id"),
    )
    for extra in ("owner", "floor_area", "capacity", "condition"):
        out[extra] = df[extra].values if extra in df else None
    out["is_hub"] = df["is_hub"].astype(str).str.lower().isin(["1", "true", "yes", "y"]).values if "is_hub" in df else False
    require_unique(out.index, source=source, what="site_id")
    gdf = _locate_sites(out, x, y, crs, source=source, strict=strict_geocode)
    return _with_attrs(gdf, layer=f"sites:{site_type}", path=path, vintage=vintage)


def _site_table(path: Path, *, source: str, lon_col: str | None, lat_col: str | None) -> tuple[pd.DataFrame, pd.Series, pd.Series, str]:
    """Read a sites file: its attribute table and x, y (NaN where absent) in the CRS returned."""
    require_plain_text(path, source)
    if path.suffix.lower() in (".geojson", ".gpkg", ".shp", ".json"):
        g = require_crs(read_vector_checked(path, what=source), source=source)
        g = g.set_geometry(g.geometry.representative_point())
        return pd.DataFrame(g.drop(columns=g.geometry.name)), g.geometry.x, g.geometry.y, WORKING_CRS
    df = read_csv_checked(path, what=source, dtype=str, keep_default_na=False)

    def coord(col: str | None) -> pd.Series:
        return pd.to_numeric(df[col], errors="coerce") if col and col in df else pd.Series(np.nan, index=df.index)

    return df, coord(lon_col), coord(lat_col), "EPSG:4326"


def _locate_sites(out: pd.DataFrame, x: pd.Series, y: pd.Series, crs: str, *, source: str, strict: bool) -> gpd.GeoDataFrame:
    """Place sites at their coordinates; geocode by postcode those without; refuse those with neither."""
    has_xy = (x.notna() & y.notna()).values
    gdf = _points(out, x.values, y.values, crs, source=source)
    gdf["geocoded"] = has_xy
    need = ~has_xy
    postcode = out["postcode"] if "postcode" in out else pd.Series(None, index=out.index)
    neither = need & (postcode.fillna("").astype(str).str.strip() == "").to_numpy()
    if neither.any():
        raise PlacekitError(
            f"{source}: {int(neither.sum())} site(s) have neither coordinates nor a postcode: {list(out.index[neither][:10])}. "
            "Give each site lon/lat or a postcode, or drop it."
        )
    if need.any():
        coded = _geocode(out[need], source=source, strict=strict)
        gdf.loc[need, "geometry"] = coded.geometry.values
        gdf.loc[need, "geocoded"] = coded["geocoded"].values
        gdf.attrs["geocode_failures"] = coded.attrs["geocode_failures"]
    return gdf
