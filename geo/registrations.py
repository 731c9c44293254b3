"""GP registrations: patients registered at each practice by LSOA of residence.

Reads every layout NHS Digital has published for "Patients Registered at a GP
Practice" by LSOA, and converts between LSOA vintages.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.compute as pc
import shapely

from geo._fast import isin_text, text_array
from geo._validate import (
    lsoa_vintage_of,
    read_csv_checked,
    read_parquet_checked,
    require_codes_present,
    require_columns,
    require_counts,
    require_rows,
    valid_geometries,
)
from placekit.errors import DuplicateCodeError, InvalidValueError, PlacekitError, VintageMismatchError

__all__ = [
    "read_registrations",
    "combine_registrations",
    "convert_lsoa_vintage",
    "convert_registrations",
    "lsoa21_to_lsoa11_pairs",
    "lsoa11_to_lsoa21_pairs",
    "split_part_parents",
    "require_single_vintage",
    "UNKNOWN_LSOA",
]

#: Codes NHS Digital uses for a patient whose LSOA is unknown.
UNKNOWN_LSOA = ("NO2011", "NO2021", "NO2001")

# Publisher column names → placekit names, for each layout seen in the wild.
_ALIASES = {
    "practice_code": ["PRACTICE_CODE", "OrganisationCode", "ORG_CODE", "CODE"],
    "practice_name": ["PRACTICE_NAME", "OranisationName", "OrganisationName"],
    "lsoa_code": ["LSOA_CODE", "LSOA11CD", "LSOA21CD", "LSOA_2011_CODE", "LSOA_2021_CODE"],
    "sex": ["SEX"],
    "patients": ["NUMBER_OF_PATIENTS", "Patient", "Patients"],
    "extract_date": ["EXTRACT_DATE"],
}


def read_registrations(path: str | Path, *, lsoa_vintage: str | None = None, sex: str | None = "ALL") -> pd.DataFrame:
    """Read a practice × LSOA registrations file in any NHS Digital layout.

    Accepted layouts: ``gp-reg-pat-prac-lsoa-all.csv`` (PUBLICATION, EXTRACT_DATE,
    PRACTICE_CODE, PRACTICE_NAME, LSOA_CODE, SEX, NUMBER_OF_PATIENTS), the male and
    female files (SEX = MALE/FEMALE), the reduced 4-column and 3-column forms, the
    upstream parquet (OrganisationCode, LSOA11CD, Patient), and the files on 2021 LSOAs.

    Parameters
    ----------
    path
        CSV (optionally gzipped) or parquet.
    lsoa_vintage
        ``"2011"`` or ``"2021"``; raise if the file's codes are of the other vintage.
        None detects it from the codes.
    sex
        Keep rows of this SEX value when the file has one (``"ALL"``; ``None`` keeps all).
        A male/female file has no ALL rows and is kept whole.

    Returns
    -------
    pandas.DataFrame
        Columns ``practice_code``, ``practice_name`` (may be empty), ``lsoa_code``,
        ``sex``, ``patients`` (int64). Unknown (``NO2011``) and Welsh LSOAs are kept.
        ``attrs``: ``lsoa_vintage``, ``extract_date``, ``source``, ``rows_read``.
    """
    path = Path(path)
    source = f"registrations file {path.name}"
    raw = (
        read_parquet_checked(path, what="registrations")
        if path.suffix == ".parquet"
        else read_csv_checked(path, what="registrations", dtype=str)
    )
    require_rows(raw, source=source, fix="A registrations file lists patients per practice and LSOA; download it again from NHS Digital.")
    df, renamed = _standard_columns(raw, source)
    if "sex" in df and sex is not None and sex in set(df["sex"].unique()):
        df = df[df["sex"] == sex]
    df = df.reset_index(drop=True)
    out = _checked_rows(df, renamed, source=source)
    found = _file_vintage(out, renamed)
    if lsoa_vintage is not None and found is not None and found != str(lsoa_vintage):
        raise VintageMismatchError(
            f"{source} is on {found} LSOAs but {lsoa_vintage} was expected. Convert it with "
            "`geo.registrations.convert_lsoa_vintage` and an ONS LSOA 2011↔2021 lookup, or load the "
            "file of the place's LSOA vintage."
        )
    extract = str(df["extract_date"].iloc[0]) if "extract_date" in df and len(df) else None
    out.attrs.update({"layer": "registrations", "source": str(path), "lsoa_vintage": found or lsoa_vintage, "extract_date": extract,
                      "rows_read": len(out)})  # fmt: skip
    return out


_LSOA_OR_UNKNOWN = r"^(?:E01|W01)\d{6}$|^NO20(?:01|11|21)$"


def _require_lsoa_codes(out: pd.DataFrame, *, source: str, column: str) -> None:
    """Refuse LSOA codes that are not LSOA codes (typos, lower case, truncated): their patients would be dropped from the place."""
    distinct = pd.Series(out["lsoa_code"].unique())  # the pattern runs once per distinct code, not per row
    if distinct.notna().all() and distinct.str.match(_LSOA_OR_UNKNOWN).all():
        return
    ok = out["lsoa_code"].str.match(_LSOA_OR_UNKNOWN)
    if not ok.all():
        bad = np.flatnonzero(~ok.to_numpy())
        rows = "; ".join(f"row {i + 1} ({out['practice_code'].iat[i]}) {out['lsoa_code'].iat[i]!r}" for i in bad[:5])
        raise InvalidValueError(
            f"{source}: column {column!r} has {len(bad)} value(s) that are not LSOA codes (E01/W01 and six digits, or NO2011 for "
            f"unknown): {rows}{' …' if len(bad) > 5 else ''}. Their {int(out['patients'].to_numpy()[bad].sum()):,} patients would be "
            "counted as living outside the place; fix those rows or download the file again."
        )


def _checked_rows(df: pd.DataFrame, renamed: dict[str, str], *, source: str) -> pd.DataFrame:
    """Return the standard columns of a registrations table, refusing blank codes, bad counts and repeated rows."""
    require_codes_present(df["practice_code"], source=source, column=_original(renamed, "practice_code"))
    require_codes_present(df["lsoa_code"], source=source, column=_original(renamed, "lsoa_code"))
    practice = df["practice_code"].astype(str).str.strip()
    lsoa = df["lsoa_code"].astype(str).str.strip()
    patients = require_counts(
        df["patients"], source=source, column=_original(renamed, "patients"), what="patients", labels=(practice, lsoa)
    )
    out = pd.DataFrame(
        {
            "practice_code": practice.values,
            "practice_name": df["practice_name"].astype(str).values if "practice_name" in df else "",
            "lsoa_code": lsoa.values,
            "sex": df["sex"].astype(str).values if "sex" in df else "ALL",
            "patients": patients.values,
        }
    )
    _require_lsoa_codes(out, source=source, column=_original(renamed, "lsoa_code"))
    dup = _repeated(out, ["practice_code", "lsoa_code", "sex"])
    if dup.any():
        raise DuplicateCodeError(
            f"{source}: {int(dup.sum())} repeated (practice, LSOA, sex) rows, e.g. "
            f"{out.loc[dup, ['practice_code', 'lsoa_code']].head(3).values.tolist()}. One row per pair is expected: "
            "remove the repeats (a file appended twice?) or download it again."
        )
    return out


def _repeated(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Return ``frame.duplicated(keys)`` computed on the keys' integer codes (a missing value equals a missing value, as there)."""
    combined = np.zeros(len(frame), dtype="int64")
    for k in keys:
        codes, uniques = pd.factorize(frame[k], use_na_sentinel=False)
        combined = combined * (len(uniques) + 1) + codes
    return pd.Series(pd.Series(combined).duplicated().to_numpy(), index=frame.index)


def _original(renamed: dict[str, str], std: str) -> str:
    """Return the file's own name of the standard column `std`."""
    return next((k for k, v in renamed.items() if v == std), std)


def _standard_columns(df: pd.DataFrame, source: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename the publisher's columns to placekit's (first alias found wins) and require the three needed."""
    ren = {}
    for std, names in _ALIASES.items():
        found = next((n for n in names if n in df.columns), None)
        if found is not None:
            ren[found] = std
    df = df.rename(columns=ren)
    require_columns(df, ["practice_code", "lsoa_code", "patients"], source=source)
    return df, ren


def _file_vintage(out: pd.DataFrame, renamed: dict[str, str]) -> str | None:
    """Return the LSOA vintage of a registrations file: from a 2021 column name or code, else from the codes."""
    if "LSOA21CD" in renamed or "LSOA_2021_CODE" in renamed or (out["lsoa_code"] == "NO2021").any():
        return "2021"
    return lsoa_vintage_of(out["lsoa_code"].unique())


def combine_registrations(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Union registration frames that overlap (e.g. a practice file and a resident file).

    Rows present in several frames must agree on the count; the names are taken from
    whichever frame has them.

    Raises
    ------
    PlacekitError
        If the same (practice, LSOA, sex) has different counts in two frames, or the
        frames are of different LSOA vintages.
    """
    if not frames:
        raise PlacekitError("combine_registrations needs at least one frame.")
    vintages = {f.attrs.get("lsoa_vintage") for f in frames} - {None}
    if len(vintages) > 1:
        raise VintageMismatchError(f"registration files mix LSOA vintages {sorted(vintages)}; convert them to one first.")
    allr = pd.concat(frames, ignore_index=True)
    key = ["practice_code", "lsoa_code", "sex"]
    counts = allr.groupby(key, sort=False)["patients"].agg(["min", "max"])
    clash = counts[counts["min"] != counts["max"]]
    if len(clash):
        raise PlacekitError(
            f"registration files disagree on {len(clash)} (practice, LSOA) count(s), e.g. "
            f"{clash.head(3).index.tolist()}; they are not extracts of the same publication."
        )
    names = (
        allr[allr["practice_name"].astype(str).str.len() > 0].drop_duplicates("practice_code").set_index("practice_code")["practice_name"]
    )
    out = allr.drop_duplicates(key).reset_index(drop=True)
    out["practice_name"] = out["practice_code"].map(names).fillna("")
    out.attrs.update(frames[0].attrs)
    out.attrs["source"] = " + ".join(str(f.attrs.get("source")) for f in frames)
    out.attrs["modelled"] = any(f.attrs.get("modelled") for f in frames)
    out.attrs["lsoa_vintage"] = next(iter(vintages), None)
    return out


def convert_lsoa_vintage(
    registrations: pd.DataFrame,
    lookup: pd.DataFrame,
    *,
    from_col: str,
    to_col: str,
    weight_col: str | None = None,
    to_vintage: str,
) -> pd.DataFrame:
    """Move registration counts from one LSOA vintage to another through an ONS lookup.

    Method: every source LSOA's patients are shared among the target LSOAs it maps to
    in proportion to `weight_col` (e.g. the 2011 population of each part), or equally
    when no weight is given. An unchanged or merged LSOA maps to one target and keeps
    all its patients. Shares are rounded by the largest-remainder method within each
    (practice, source LSOA), so every practice's total is kept exactly. Unknown LSOAs
    (``NO2011``/``NO2021``) are relabelled unknown in the target vintage; codes absent
    from the lookup stay as they are and are listed in ``attrs['unmapped']``.

    Parameters
    ----------
    registrations
        Output of :func:`read_registrations`.
    lookup
        One row per (source LSOA, target LSOA) pair, e.g. the ONS LSOA11→LSOA21 file.
    from_col, to_col
        Lookup columns holding the source and target codes.
    weight_col
        Optional share weight per pair.
    to_vintage
        ``"2011"`` or ``"2021"``, recorded in the result.
    """
    require_columns(lookup, [from_col, to_col] + ([weight_col] if weight_col else []), source="LSOA vintage lookup")
    lk = lookup[[from_col, to_col]].copy()
    lk["w"] = lookup[weight_col].astype(float) if weight_col else 1.0
    lk["w"] = lk["w"] / lk.groupby(from_col)["w"].transform("sum")
    lk = lk[lk[from_col].notna()].reset_index(drop=True)
    reg = registrations.reset_index(drop=True)
    unknown_target = f"NO{to_vintage}"
    firsts, uniques = pd.factorize(lk[from_col])
    at = pc.index_in(text_array(reg["lsoa_code"]), value_set=text_array(uniques))
    known = pc.is_valid(at).to_numpy(zero_copy_only=False)
    unk = isin_text(reg["lsoa_code"], UNKNOWN_LSOA)
    row, pair, patients_new = _shares(reg["patients"].to_numpy(dtype="int64"), pc.drop_null(at).to_numpy(), np.flatnonzero(known),
                                      firsts, lk["w"].to_numpy(dtype=float))  # fmt: skip
    moved = reg.take(row).reset_index(drop=True)
    moved["lsoa_code"] = lk[to_col].take(pair).reset_index(drop=True)
    moved["patients"] = patients_new
    rest = reg[~known].copy()
    rest.loc[isin_text(rest["lsoa_code"], UNKNOWN_LSOA), "lsoa_code"] = unknown_target
    out = _sum_repeats(pd.concat([moved[registrations.columns], rest], ignore_index=True))[registrations.columns]
    out = out[out["patients"] > 0].reset_index(drop=True)
    out.attrs.update(registrations.attrs)
    out.attrs["lsoa_vintage"] = str(to_vintage)
    out.attrs["unmapped"] = sorted(set(reg.loc[~known & ~unk, "lsoa_code"]))
    out.attrs["conversion"] = (
        f"LSOA vintage converted to {to_vintage} by {'weighted' if weight_col else 'equal'} shares, largest-remainder rounding"
    )
    return out


def _shares(patients: np.ndarray, source: np.ndarray, rows: np.ndarray, pair_source: np.ndarray,
            weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Share each row's patients among the pairs of its source LSOA by weight, rounding by the largest remainder.

    `rows` are the registration rows whose source LSOA has pairs, `source` the number of that
    LSOA among the pairs' sources (``pair_source``, one per pair). Returns, one entry per (row,
    pair) in the order a left merge gives, re-sorted within each row by remainder (largest
    first, ties in pair order): the row, the pair and its whole patients. Each row keeps its
    total: the ``short`` patients left by rounding down go one each to its largest remainders.
    """
    order = np.argsort(pair_source, kind="stable")
    counts = np.bincount(pair_source, minlength=int(max(source.max(initial=-1), pair_source.max(initial=-1))) + 1)
    starts = np.cumsum(counts) - counts
    rep = counts[source]
    seg = np.repeat(np.arange(len(rows)), rep)
    offset = np.arange(len(seg)) - np.repeat(np.cumsum(rep) - rep, rep)
    row, pair = rows[seg], order[np.repeat(starts[source], rep) + offset]
    exact = patients[row] * weight[pair]
    floor = np.floor(exact + 1e-9)
    whole = pd.Series(floor).astype("int64").to_numpy()  # raises on a share pandas cannot make whole (weights adding up to 0)
    rem = exact - floor
    short = patients[rows] - np.add.reduceat(whole, np.cumsum(rep) - rep) if len(rows) else np.zeros(0, dtype="int64")
    ranked = np.lexsort((-rem, seg))  # within each row, largest remainder first; ties keep the pairs' order (a stable sort)
    seg, row, pair, whole = seg[ranked], row[ranked], pair[ranked], whole[ranked]
    rank = np.arange(len(seg)) - np.repeat(np.cumsum(rep) - rep, rep)
    whole = whole + (rank < short[seg])
    return row, pair, whole


def _sum_repeats(frame: pd.DataFrame) -> pd.DataFrame:
    """Add up the patients of rows of one (practice, LSOA, sex), keeping the first practice name; groups in order of appearance.

    What ``groupby([...], sort=False).agg(practice_name="first", patients="sum")`` returns (rows
    with a missing key dropped), without its per-group overhead on England's 866,000 rows.
    """
    keys = ["practice_code", "lsoa_code", "sex"]
    codes = [pd.factorize(frame[k], use_na_sentinel=True)[0] for k in keys]
    ok = (codes[0] >= 0) & (codes[1] >= 0) & (codes[2] >= 0)
    frame, codes = frame[ok], [c[ok] for c in codes]
    combined = (codes[0].astype("int64") * (codes[1].max(initial=0) + 1) + codes[1]) * (codes[2].max(initial=0) + 1) + codes[2]
    group, _ = pd.factorize(combined)
    n = int(group.max(initial=-1)) + 1
    _, first = np.unique(group, return_index=True)
    out = frame.iloc[first][keys].reset_index(drop=True)
    names = frame["practice_name"]
    named = names.notna().to_numpy()
    if named.all():
        out["practice_name"] = names.iloc[first].reset_index(drop=True)
    else:
        groups_named, first_named = np.unique(group[named], return_index=True)
        pick = pd.Series(np.nan, index=range(n), dtype=object)
        pick.iloc[groups_named] = names[named].iloc[first_named].to_numpy(dtype=object)
        out["practice_name"] = pd.Series(pick.to_numpy(), dtype=names.dtype)
    out["patients"] = np.bincount(group, weights=frame["patients"].to_numpy(dtype="float64"), minlength=n).astype("int64")
    return out


# --------------------------------------------------------------------------- LSOA vintages
def lsoa21_to_lsoa11_pairs(
    lookup: pd.DataFrame, *, lsoas11: gpd.GeoDataFrame, lsoas21: gpd.GeoDataFrame | None = None, population: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Return the pairs that carry 2021-LSOA counts back to 2011 LSOAs, with each pair's share weight and method.

    The ONS lookup is a best fit from 2011 to 2021: every 2011 LSOA names the one 2021
    LSOA holding its population-weighted centroid. Read backwards:

    - a 2021 LSOA named by one 2011 LSOA (unchanged, or the best-fit part of a split)
      goes wholly to it (method ``lookup``);
    - a 2021 LSOA named by several 2011 LSOAs (a merge) is shared among them in
      proportion to their residents in `population` (method ``merge, shared by population``);
    - a 2021 LSOA named by none (the other parts of a split) goes to the 2011 LSOA of
      the place it overlaps most, from the 2021 boundaries `lsoas21` (method ``largest overlap``).

    Parameters
    ----------
    lookup
        :func:`geo.loaders.read_lsoa11_lsoa21_lookup` (index ``lsoa11_code``; ``lsoa21_code``).
    lsoas11, lsoas21
        The place's 2011 and 2021 LSOA boundaries (EPSG:27700); without `lsoas21` the
        other parts of splits stay unmapped.
    population
        Residents per 2011 LSOA (column ``population``), the weights of merges.

    Returns
    -------
    pandas.DataFrame
        Columns ``lsoa21``, ``lsoa11``, ``weight``, ``method``.
    """
    rev = pd.DataFrame({"lsoa21": lookup["lsoa21_code"].to_numpy(), "lsoa11": lookup.index.to_numpy()})
    pop = population["population"] if population is not None else pd.Series(dtype="float64")
    rev["weight"] = pop.reindex(rev["lsoa11"]).fillna(0).to_numpy(dtype=float)
    group_sum = rev.groupby("lsoa21")["weight"].transform("sum")
    rev.loc[group_sum <= 0, "weight"] = 1.0
    size = rev.groupby("lsoa21")["lsoa11"].transform("size")
    rev["method"] = np.where(size > 1, "merge, shared by population", "lookup")
    if lsoas21 is None:
        return rev
    orphans = lsoas21[~isin_text(lsoas21.index, rev["lsoa21"])]
    if not len(orphans):
        return rev
    a = gpd.GeoDataFrame({"lsoa21": orphans.index.to_numpy()}, geometry=orphans.geometry.to_numpy(), crs=orphans.crs)
    b = gpd.GeoDataFrame({"lsoa11": lsoas11.index.to_numpy()}, geometry=lsoas11.geometry.to_numpy(), crs=lsoas11.crs).to_crs(a.crs)
    inter = gpd.overlay(a, b, how="intersection", keep_geom_type=True)
    inter["area"] = inter.geometry.area
    best = inter.sort_values("area", ascending=False).drop_duplicates("lsoa21")[["lsoa21", "lsoa11"]]
    best = best.assign(weight=1.0, method="largest overlap")
    return pd.concat([rev, best], ignore_index=True)




def split_part_parents(lookup: pd.DataFrame, lsoas11: gpd.GeoDataFrame, lsoas21: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return each 2021 LSOA of `lsoas21` that the best fit names for no 2011 LSOA, with the 2011 LSOA it overlaps most."""
    orphans = lsoas21[~isin_text(lsoas21.index, lookup["lsoa21_code"])]
    if not len(orphans):
        return pd.DataFrame({"lsoa21": pd.Series(dtype=object), "lsoa11": pd.Series(dtype=object)})
    geoms11 = lsoas11.geometry.to_crs(orphans.crs).to_numpy()
    tree = shapely.STRtree(geoms11)
    o, p = tree.query(orphans.geometry.to_numpy(), predicate="intersects")
    near = np.unique(p)  # each polygon checked (and mended) once, not once per pair
    geoms11 = geoms11.copy()
    geoms11[near] = valid_geometries(geoms11[near])
    a, b = valid_geometries(orphans.geometry.to_numpy())[o], geoms11[p]
    # A pair that only touches shares no area: its intersection (a line or a point) is not computed.
    area = np.zeros(len(o))
    overlap = ~shapely.touches(a, b)
    area[overlap] = shapely.area(shapely.intersection(a[overlap], b[overlap]))
    best = pd.DataFrame({"o": o, "p": p, "a": area}).sort_values(["o", "a"]).drop_duplicates("o", keep="last")
    return pd.DataFrame({"lsoa21": orphans.index.to_numpy()[best["o"].to_numpy()], "lsoa11": lsoas11.index.to_numpy()[best["p"].to_numpy()]})


def lsoa11_to_lsoa21_pairs(
    lookup: pd.DataFrame, *, lsoas11: gpd.GeoDataFrame, lsoas21: gpd.GeoDataFrame, residents21: pd.Series
) -> pd.DataFrame:
    """Return the pairs that carry 2011-LSOA counts forward to 2021 LSOAs, splits apportioned by Census 2021 residents.

    The ONS best fit sends a split 2011 LSOA wholly to one of its 2021 parts, leaving the
    other parts empty (15 of Manchester's 295 LSOAs). Here each 2021 LSOA the lookup names
    for no 2011 LSOA is a part of the 2011 LSOA it overlaps most (from the boundaries), and
    a 2011 LSOA is shared among the best-fit part and those parts in proportion to their
    Census 2021 residents (method ``split, shared by Census 2021 residents``); every other
    2011 LSOA goes wholly to its best fit (method ``lookup``; a merge takes its parts whole).

    Parameters
    ----------
    lookup
        :func:`geo.loaders.read_lsoa11_lsoa21_lookup` (index ``lsoa11_code``; ``lsoa21_code``).
    lsoas11, lsoas21
        2011 and 2021 LSOA boundaries covering the area the counts are carried over.
    residents21
        Census 2021 residents per 2021 LSOA (the weights of the parts of a split).

    Returns
    -------
    pandas.DataFrame
        Columns ``lsoa11``, ``lsoa21``, ``weight``, ``method``.
    """
    pairs = pd.DataFrame({"lsoa11": lookup.index.to_numpy(), "lsoa21": lookup["lsoa21_code"].to_numpy()})
    parts = split_part_parents(lookup, lsoas11, lsoas21)
    split = set(parts["lsoa11"].tolist())
    pairs = pd.concat([pairs, parts[["lsoa11", "lsoa21"]]], ignore_index=True)
    is_split = isin_text(pairs["lsoa11"], split)
    weight = residents21.reindex(pairs["lsoa21"]).fillna(0).to_numpy(dtype=float)
    pairs["weight"] = np.where(is_split, weight, 1.0)
    total = pairs.groupby("lsoa11")["weight"].transform("sum").to_numpy()
    pairs.loc[total <= 0, "weight"] = 1.0  # a split whose parts have no residents: shared equally
    pairs["method"] = np.where(is_split, "split, shared by Census 2021 residents", "lookup")
    return pairs


def _retired_lsoa11(lookup: pd.DataFrame) -> set[str]:
    """Return the 2011 LSOA codes that no longer exist in 2021 (not the best fit of any 2011 LSOA, themselves included)."""
    return set(lookup.index.tolist()) - set(lookup["lsoa21_code"].tolist())


def require_single_vintage(registrations: pd.DataFrame, lookup: pd.DataFrame, *, source: str) -> None:
    """Refuse a registrations frame holding both retired 2011 LSOA codes and new 2021 codes.

    Raises
    ------
    VintageMismatchError
        Naming a few codes of each vintage and their patients.
    """
    codes = registrations["lsoa_code"].unique().tolist()
    new = sorted(c for c in codes if lsoa_vintage_of([c]) == "2021")
    old = sorted(set(codes) & _retired_lsoa11(lookup))
    if new and old:
        raise VintageMismatchError(
            f"{source} mixes LSOA vintages: 2011 codes that 2021 retired ({len(old)}, e.g. {old[:3]}) and 2021 codes that 2011 "
            f"lacked ({len(new)}, e.g. {new[:3]}). A file must be of one vintage: download the 2011-based or the 2021-based file "
            "again from NHS Digital unchanged."
        )


def convert_registrations(
    registrations: pd.DataFrame,
    *,
    to_vintage: str,
    lookup: pd.DataFrame | None,
    lsoas11: gpd.GeoDataFrame,
    lsoas21: gpd.GeoDataFrame | None = None,
    population: pd.DataFrame | None = None,
    residents21: pd.Series | None = None,
    source: str = "registrations",
) -> tuple[pd.DataFrame, str]:
    """Carry registrations to the place's LSOA vintage through the ONS best-fit lookup, or refuse.

    2021 → 2011 uses :func:`lsoa21_to_lsoa11_pairs` (the lookup read backwards, merges shared
    by population, split parts by largest overlap). 2011 → 2021 uses the lookup as published:
    each 2011 LSOA goes wholly to its best-fit 2021 LSOA; with `lsoas21` and `residents21`
    (Census 2021 residents per 2021 LSOA), a split 2011 LSOA is shared among all its parts
    by their residents instead (:func:`lsoa11_to_lsoa21_pairs`). Every patient is kept:
    totals per practice are unchanged (largest-remainder rounding).

    Returns
    -------
    tuple
        The converted frame (``attrs['lsoa_vintage']`` is `to_vintage`) and a note saying
        the method and how many patients each step moved.

    Raises
    ------
    VintageMismatchError
        Without a lookup; or when codes cannot be mapped (listed with their patients and the fix).
    """
    found = registrations.attrs.get("lsoa_vintage")
    if found in (None, str(to_vintage)):
        return registrations, ""
    if lookup is None:
        raise VintageMismatchError(
            f"{source} is on {found} LSOAs but the place is on {to_vintage} LSOAs. Add the ONS LSOA (2011) to LSOA (2021) best-fit "
            "lookup to the place manifest ([layers.lsoa11_lsoa21], format ons-lsoa11-lsoa21) so placekit can convert it, or load "
            f"the file on {to_vintage} LSOAs."
        )
    require_single_vintage(registrations, lookup, source=source)
    if str(to_vintage) == "2011":
        pairs = lsoa21_to_lsoa11_pairs(lookup, lsoas11=lsoas11, lsoas21=lsoas21, population=population)
        from_col, to_col = "lsoa21", "lsoa11"
    elif lsoas21 is not None and residents21 is not None:
        pairs = lsoa11_to_lsoa21_pairs(lookup, lsoas11=lsoas11, lsoas21=lsoas21, residents21=residents21)
        from_col, to_col = "lsoa11", "lsoa21"
    else:
        pairs = pd.DataFrame({"lsoa11": lookup.index.to_numpy(), "lsoa21": lookup["lsoa21_code"].to_numpy(), "weight": 1.0,
                              "method": "lookup"})  # fmt: skip
        from_col, to_col = "lsoa11", "lsoa21"
    unmapped = _unmapped(registrations, pairs[from_col], lsoas21 if to_col == "lsoa11" else None)
    if len(unmapped):
        _refuse_unmapped(unmapped, registrations, source=source, found=found, to_vintage=to_vintage, have_21=lsoas21 is not None)
    out = convert_lsoa_vintage(registrations, pairs, from_col=from_col, to_col=to_col, weight_col="weight", to_vintage=str(to_vintage))
    if int(out["patients"].sum()) != int(registrations["patients"].sum()):
        raise PlacekitError(f"{source}: converting LSOA vintages changed the patient total; this is a placekit bug, please report it.")
    return out, _conversion_note(registrations, pairs, from_col, source=source, found=found, to_vintage=str(to_vintage))


def _unmapped(registrations: pd.DataFrame, mapped: pd.Series, lsoas21: gpd.GeoDataFrame | None) -> list[str]:
    """Return the codes the pairs cannot carry, leaving out unknown residence and, with 2021 boundaries, codes outside the place."""
    codes = set(registrations["lsoa_code"].unique().tolist()) - set(mapped.tolist()) - set(UNKNOWN_LSOA)
    if lsoas21 is not None:
        codes &= set(lsoas21.index.tolist())  # 2021 LSOAs outside the place stay as they are: outside the place either way
    return sorted(codes)


def _refuse_unmapped(unmapped: list[str], reg: pd.DataFrame, *, source: str, found: str, to_vintage: str, have_21: bool) -> None:
    patients = int(reg.loc[reg["lsoa_code"].isin(unmapped), "patients"].sum())
    if str(to_vintage) == "2011":
        fix = "These are 2021 LSOAs that the best-fit lookup does not name (the other parts of split LSOAs). " + (
            "They lie in the place's 2021 boundaries but overlap no 2011 LSOA of the place; check the two boundary layers."
            if have_21
            else "Add the place's 2021 LSOA boundaries to the manifest ([layers.lsoas_2021]) so they can be placed by overlap."
        )
    else:
        fix = "They are not 2011 LSOA codes of England or Wales; fix the rows or download the file again."
    raise VintageMismatchError(
        f"{source} is on {found} LSOAs and cannot be carried to {to_vintage} LSOAs: {len(unmapped)} code(s) with {patients:,} "
        f"patients have no match, e.g. {unmapped[:5]}. {fix}"
    )


def _conversion_note(reg: pd.DataFrame, pairs: pd.DataFrame, from_col: str, *, source: str, found: str, to_vintage: str) -> str:
    to_col = "lsoa11" if from_col == "lsoa21" else "lsoa21"
    first = pairs.drop_duplicates(from_col).set_index(from_col)
    code = reg["lsoa_code"]
    target, method = code.map(first[to_col]), code.map(first["method"])
    step = pd.Series(np.where(target.isna(), "kept as they are (outside the place or unknown)", method), index=reg.index)
    step[target == code] = "unchanged"
    by = reg.groupby(step)["patients"].sum()
    parts = "; ".join(f"{k}: {int(v):,}" for k, v in by.items())
    if to_vintage == "2011":
        how = "the ONS best-fit lookup read backwards"
    elif pairs["method"].str.startswith("split").any():
        how = "the ONS best-fit lookup, a split 2011 LSOA shared among its 2021 parts by their Census 2021 residents"
    else:
        how = "the ONS best-fit lookup (a split 2011 LSOA goes wholly to one part)"
    return f"{source} is on {found} LSOAs; converted to {to_vintage} LSOAs through {how}. Patients by step: {parts}; every patient kept."
