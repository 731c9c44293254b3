"""Census 2021 residents by 2021 LSOA and age band, and the bridge from 2021 LSOAs to the place's wards.

The place's wards are fitted to 2011 LSOAs (ONS best-fit LSOA11 → ward lookup). A 2021
LSOA goes to a ward through the ONS best-fit LSOA11 → LSOA21 lookup read backwards, so
that an LSOA unchanged since 2011 lands in the same ward as its mid-2015 residents and its
GP registrations; the 2021 LSOAs that lookup cannot reach (made by splitting a 2011 LSOA)
go to the ward holding most of their area (2021 LSOA boundaries). Every 2021 LSOA lands in
exactly one ward, so the city total is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo._validate import lsoa_vintage_of, require_columns, require_known, require_numeric_nonnegative
from geo.manifest import LayerSpec
from placekit.errors import DataRootError, PlacekitError, VintageMismatchError

__all__ = ["read_census_age6", "census_layer", "lsoa21_wards", "AGE6_BANDS", "AGE6_LABELS", "BRIDGE_METHOD"]

#: Census 2021 "Age (6 categories)" labels → placekit columns.
AGE6_BANDS: dict[str, str] = {
    "Aged 15 years and under": "age_0_15",
    "Aged 16 to 24 years": "age_16_24",
    "Aged 25 to 34 years": "age_25_34",
    "Aged 35 to 49 years": "age_35_49",
    "Aged 50 to 64 years": "age_50_64",
    "Aged 65 years and over": "age_65_plus",
}
#: Short labels of the six bands, in order.
AGE6_LABELS: dict[str, str] = {"age_0_15": "0–15", "age_16_24": "16–24", "age_25_34": "25–34", "age_35_49": "35–49",
                               "age_50_64": "50–64", "age_65_plus": "65+"}  # fmt: skip

BRIDGE_METHOD = (
    "Census 2021 LSOAs are carried to wards through the ONS best-fit LSOA 2011→2021 lookup (each 2021 LSOA takes the ward "
    "of its 2011 LSOA, or of its most populous 2011 LSOA when several merged); 2021 LSOAs that lookup does not reach "
    "(split from a 2011 LSOA) take the ward holding most of their area (2021 LSOA boundaries). Every 2021 LSOA counts once."
)


def _check_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataRootError(f"Census 2021 population file {path} does not exist. Check the data root and the place manifest.")
    return path


def read_census_age6(
    path: str | Path,
    *,
    vintage: str = "Census 2021 (21 March 2021)",
    code_col: str = "lsoa21_code",
    band_col: str = "age_group",
    value_col: str = "usual_residents",
    lad_prefix: str | None = None,
) -> pd.DataFrame:
    """Read Census 2021 usual residents by 2021 LSOA in the six "Age (6 categories)" bands (long layout).

    Parameters
    ----------
    path
        CSV with one row per LSOA and age band.
    lad_prefix
        Keep only LSOAs whose name starts with this (e.g. ``"Manchester "``), when the file
        has an ``lsoa21_name`` column; None keeps every row.

    Returns
    -------
    pandas.DataFrame
        Index ``lsoa21_code``; int64 ``population`` and the six bands ``age_0_15`` …
        ``age_65_plus`` (they add up to ``population``).

    Raises
    ------
    VintageMismatchError
        When the codes are 2011 LSOA codes (no code from the 2021 set).
    PlacekitError
        Unknown age bands, an LSOA without all six bands or with a band twice, non-numeric counts.
    """
    path = _check_file(path)
    source = f"Census 2021 population {path.name}"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(df, [code_col, band_col, value_col], source=source)
    if lad_prefix and "lsoa21_name" in df:
        df = df[df["lsoa21_name"].str.startswith(lad_prefix)]
    unknown = sorted(set(df[band_col].unique().tolist()) - set(AGE6_BANDS))
    if unknown:
        raise PlacekitError(f"{source}: unknown {band_col} value(s) {unknown[:4]}; expected the six Census 2021 bands {list(AGE6_BANDS)}.")
    df = df.assign(_code=df[code_col].str.strip(), _band=df[band_col].map(AGE6_BANDS))
    df["_n"] = require_numeric_nonnegative(df[value_col].replace("", None).rename(value_col), source=source).astype("int64")
    dup = df.duplicated(["_code", "_band"])
    if dup.any():
        raise PlacekitError(f"{source}: {int(dup.sum())} repeated (LSOA, age band) rows, e.g. {df.loc[dup, '_code'].head(3).tolist()}; "
                            "one row per LSOA and band is expected.")  # fmt: skip
    wide = df.pivot(index="_code", columns="_band", values="_n").reindex(columns=list(AGE6_BANDS.values()))
    gaps = wide.isna().any(axis=1)
    if gaps.any():
        raise PlacekitError(f"{source}: {int(gaps.sum())} LSOA(s) lack some of the six age bands, e.g. {list(wide.index[gaps][:5])}.")
    wide = wide.astype("int64")
    wide.insert(0, "population", wide.sum(axis=1))
    wide.index.name = "lsoa21_code"
    if lsoa_vintage_of(wide.index) == "2011" and len(wide) > 1000:
        raise VintageMismatchError(f"{source} holds {len(wide):,} LSOAs and none of the codes new in 2021: it is on 2011 LSOAs. "
                                   "Use the Census 2021 file on 2021 LSOAs.")  # fmt: skip
    wide.attrs.update({"layer": "census", "source": str(path), "vintage": vintage, "status": "real", "lsoa_vintage": "2021"})
    return wide


def census_layer(spec: LayerSpec, paths: Sequence[Path]) -> pd.DataFrame:
    """Read a manifest's ``census`` layer (option ``lad_prefix`` to cut a national file)."""
    return read_census_age6(paths[0], vintage=spec.vintage, lad_prefix=spec.options.get("lad_prefix"))


def _largest_overlap(lsoas21: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> pd.Series:
    """Return the ward holding most of each 2021 LSOA's area (NaN when it overlaps none)."""
    ov = gpd.overlay(lsoas21[[lsoas21.geometry.name]].reset_index(names="_l21"), wards[[wards.geometry.name]].reset_index(names="_w"),
                     how="intersection", keep_geom_type=True)  # fmt: skip
    ov["_a"] = ov.geometry.area
    best = ov.sort_values("_a").drop_duplicates("_l21", keep="last").set_index("_l21")["_w"]
    return best.reindex(lsoas21.index)


def _by_area(missing: pd.Index, lsoas21: gpd.GeoDataFrame | None, wards: gpd.GeoDataFrame) -> pd.Series:
    """Place the 2021 LSOAs the lookup does not reach in the ward holding most of their area."""
    if lsoas21 is None:
        raise PlacekitError(f"{len(missing)} Census 2021 LSOA(s) are not reached by the best-fit lookup ({list(missing[:4])}) and the "
                            "place has no 2021 LSOA boundaries to place them: add a [layers.lsoas_2021] layer.")  # fmt: skip
    require_known(missing, lsoas21.index, source="Census 2021 layer vs 2021 LSOA boundaries", what="LSOA",
                  fix="Use 2021 LSOA boundaries that cover every census LSOA of the place.")  # fmt: skip
    return _largest_overlap(lsoas21.loc[missing], wards)


def lsoa21_wards(
    codes: pd.Index,
    lsoa11_lsoa21: pd.DataFrame,
    lsoa11_ward: pd.Series,
    population11: pd.Series,
    *,
    wards: gpd.GeoDataFrame,
    lsoas21: gpd.GeoDataFrame | None = None,
) -> pd.Series:
    """Assign each 2021 LSOA of `codes` to one ward of the place (see :data:`BRIDGE_METHOD`).

    Parameters
    ----------
    codes
        The place's 2021 LSOA codes (the census rows to carry).
    lsoa11_lsoa21
        ONS best-fit lookup (index ``lsoa11_code``; ``lsoa21_code``).
    lsoa11_ward
        Ward of each of the place's 2011 LSOAs (best fit).
    population11
        Residents per 2011 LSOA, to choose among merged parents.
    wards
        The place's ward boundaries (for LSOAs the lookup does not reach).
    lsoas21
        2021 LSOA boundaries; needed only when the lookup misses some of `codes`.

    Returns
    -------
    pandas.Series
        Index ``lsoa21_code``; ``ward_code``. ``attrs``: ``method``, ``by_lookup``,
        ``by_boundaries`` (counts of LSOAs).

    Raises
    ------
    UnknownCodeError
        When a 2021 LSOA reaches no ward (outside the place, or no boundary to place it).
    VintageMismatchError
        When `codes` are 2011 codes that the lookup retired in 2021.
    """
    lk = lsoa11_lsoa21[lsoa11_lsoa21.index.isin(lsoa11_ward.index)]
    parents = pd.DataFrame({"lsoa21_code": lk["lsoa21_code"], "ward_code": lsoa11_ward.reindex(lk.index),
                            "pop": population11.reindex(lk.index).fillna(0)})  # fmt: skip
    by_lookup = parents.sort_values("pop").drop_duplicates("lsoa21_code", keep="last").set_index("lsoa21_code")["ward_code"]
    out = by_lookup.reindex(codes)
    missing = out.index[out.isna()]
    retired = sorted(set(missing) & (set(lsoa11_lsoa21.index) - set(lsoa11_lsoa21["lsoa21_code"])))
    if retired:
        raise VintageMismatchError(f"the Census 2021 layer names {len(retired)} LSOA code(s) that the 2021 set retired, e.g. {retired[:4]}: "
                                   "it is on 2011 LSOAs. Use the Census 2021 file on 2021 LSOAs.")  # fmt: skip
    if len(missing):
        out.loc[missing] = _by_area(missing, lsoas21, wards).to_numpy()
    lost = out.index[out.isna()]
    require_known(lost, [], source="Census 2021 layer", what="LSOA outside every ward of the place",
                  fix="Cut the census file to the place (manifest option lad_prefix) or use boundaries of the same place.")  # fmt: skip
    out = out.rename("ward_code")
    out.index.name = "lsoa21_code"
    out.attrs.update({"method": BRIDGE_METHOD, "by_lookup": len(out) - len(missing), "by_boundaries": len(missing)})
    return out
