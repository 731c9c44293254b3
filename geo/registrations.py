"""GP registrations: patients registered at each practice by LSOA of residence.

Reads every layout NHS Digital has published for "Patients Registered at a GP
Practice" by LSOA, and converts between LSOA vintages.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from geo._validate import (
    lsoa_vintage_of,
    read_csv_checked,
    read_parquet_checked,
    require_codes_present,
    require_columns,
    require_counts,
    require_rows,
)
from placekit.errors import PlacekitError, VintageMismatchError

__all__ = [
    "read_registrations",
    "combine_registrations",
    "convert_lsoa_vintage",
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
    require_codes_present(df["practice_code"], source=source, column=_original(renamed, "practice_code"))
    require_codes_present(df["lsoa_code"], source=source, column=_original(renamed, "lsoa_code"))
    practice = df["practice_code"].astype(str).str.strip()
    lsoa = df["lsoa_code"].astype(str).str.strip()
    patients = require_counts(
        df["patients"], source=source, column=_original(renamed, "patients"), what="patients", labels=practice + " × " + lsoa
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
    dup = out.duplicated(["practice_code", "lsoa_code", "sex"])
    if dup.any():
        raise PlacekitError(
            f"{source}: {int(dup.sum())} repeated (practice, LSOA, sex) rows, e.g. "
            f"{out.loc[dup, ['practice_code', 'lsoa_code']].head(3).values.tolist()}. One row per pair is expected."
        )
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
    reg = registrations.reset_index(drop=True).copy()
    reg["_row"] = np.arange(len(reg))
    unknown_target = f"NO{to_vintage}"
    known = reg["lsoa_code"].isin(lk[from_col])
    unk = reg["lsoa_code"].isin(UNKNOWN_LSOA)
    merged = _largest_remainder(reg[known].merge(lk, left_on="lsoa_code", right_on=from_col, how="left"))
    moved = merged.assign(lsoa_code=merged[to_col], patients=merged["patients_new"])[registrations.columns]
    rest = reg[~known].drop(columns="_row").copy()
    rest.loc[rest["lsoa_code"].isin(UNKNOWN_LSOA), "lsoa_code"] = unknown_target
    out = pd.concat([moved, rest], ignore_index=True)
    out = out.groupby(["practice_code", "lsoa_code", "sex"], as_index=False, sort=False).agg(
        practice_name=("practice_name", "first"), patients=("patients", "sum")
    )[registrations.columns]
    out = out[out["patients"] > 0].reset_index(drop=True)
    out.attrs.update(registrations.attrs)
    out.attrs["lsoa_vintage"] = str(to_vintage)
    out.attrs["unmapped"] = sorted(set(reg.loc[~known & ~unk, "lsoa_code"]))
    out.attrs["conversion"] = (
        f"LSOA vintage converted to {to_vintage} by {'weighted' if weight_col else 'equal'} shares, largest-remainder rounding"
    )
    return out


def _largest_remainder(merged: pd.DataFrame) -> pd.DataFrame:
    """Share each row's ``patients`` by ``w`` into ``patients_new``, rounding so each ``_row`` keeps its total."""
    exact = merged["patients"] * merged["w"]
    floor = np.floor(exact + 1e-9)
    merged["patients_new"] = floor.astype("int64")
    merged["rem"] = exact - floor
    short = (merged.groupby("_row")["patients"].first() - merged.groupby("_row")["patients_new"].sum()).astype("int64")
    merged = merged.sort_values(["_row", "rem"], ascending=[True, False])
    rank = merged.groupby("_row").cumcount()
    merged.loc[rank.values < merged["_row"].map(short).values, "patients_new"] += 1
    return merged
