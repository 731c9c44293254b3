"""Health layers: QOF disease registers per practice, and registered patients per practice by broad age group.

Both are national files (every practice in England) indexed by ODS practice code; the
place's figures pick the practices they need (see :mod:`boundaries.health`).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from geo._validate import require_columns, require_counts, require_known, require_numeric_nonnegative, require_unique
from geo.manifest import LayerSpec
from placekit.errors import DataRootError, DuplicateCodeError, PlacekitError

__all__ = [
    "read_qof",
    "read_practice_ages",
    "qof_layer",
    "practice_ages_layer",
    "QOF_CONDITIONS",
    "LIST_TYPES",
    "QOFAnomalyWarning",
    "RegisterOverListError",
]

#: QOF register groups (GROUP_CODE) and what each counts.
QOF_CONDITIONS: dict[str, str] = {
    "AF": "Atrial fibrillation",
    "AST": "Asthma",
    "CAN": "Cancer",
    "CHD": "Coronary heart disease",
    "CKD": "Chronic kidney disease",
    "COPD": "Chronic obstructive pulmonary disease",
    "DEM": "Dementia",
    "DEP": "Depression",
    "DM": "Diabetes",
    "EP": "Epilepsy",
    "HF": "Heart failure",
    "HYP": "Hypertension",
    "LD": "Learning disability",
    "MH": "Mental health (SMI)",
    "NDH": "Non-diabetic hyperglycaemia",
    "OB": "Obesity",
    "OST": "Osteoporosis",
    "PAD": "Peripheral arterial disease",
    "PC": "Palliative care",
    "RA": "Rheumatoid arthritis",
    "STIA": "Stroke and TIA",
}

#: QOF's list-size bases (PATIENT_LIST_TYPE): the ages a condition's prevalence is taken over.
LIST_TYPES: dict[str, str] = {"TOTAL": "all ages", "06OV": "6+", "16OV": "16+", "17OV": "17+", "18OV": "18+", "50OV": "50+"}

_PRACTICE_CODE = re.compile(r"^[A-Z][0-9A-Z]\d{4}$")


class QOFAnomalyWarning(UserWarning):
    """The QOF file holds registers larger than their list (kept, and refused where they enter a place's figures)."""


class RegisterOverListError(PlacekitError):
    """A practice's QOF register is larger than the list it is a share of."""


def _check_file(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataRootError(f"{what} file {path} does not exist. Check the data root (--data or PLACEKIT_DATA) and the place manifest.")
    return path


def _whole_counts(s: pd.Series, *, source: str) -> pd.Series:
    """Return `s` as int64; raise naming the rows that are not whole non-negative numbers (``112.0`` is whole)."""
    num = require_numeric_nonnegative(s, source=source)
    frac = num % 1 != 0
    if frac.any():
        raise PlacekitError(
            f"{source}: column {s.name!r} has {int(frac.sum())} value(s) that are not whole numbers, e.g. "
            f"{list(s[frac].astype(str)[:5])} at rows {list(s.index[frac][:5])}. Counts of patients must be whole; fix those rows."
        )
    return num.astype("int64")


def _require_practice_codes(codes: pd.Series, *, source: str) -> None:
    bad = codes[~codes.str.match(_PRACTICE_CODE)]
    if len(bad):
        raise PlacekitError(
            f"{source}: {len(bad)} value(s) of PRACTICE_CODE are not ODS practice codes (a letter then five characters, "
            f"e.g. P84001, Y02849): {sorted(set(bad))[:8]}. Fix those rows or supply the publisher's file unchanged."
        )


def _mapping(path: Path) -> pd.DataFrame:
    """Read QOF's practice → PCN → sub-ICB → ICB file, indexed by practice code."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    source = f"QOF practice geographies {path.name}"
    cols = {"PRACTICE_NAME": "practice_name", "PCN_ODS_CODE": "pcn_code", "PCN_NAME": "pcn_name", "SUB_ICB_ODS_CODE": "sub_icb_code",
            "SUB_ICB_NAME": "sub_icb_name", "ICB_ODS_CODE": "icb_code", "ICB_NAME": "icb_name", "REGION_NAME": "region_name"}  # fmt: skip
    require_columns(df, ["PRACTICE_CODE", *cols], source=source)
    out = df[list(cols)].rename(columns=cols).set_index(pd.Index(df["PRACTICE_CODE"].str.strip(), name="practice_code"))
    require_unique(out.index, source=source, what="PRACTICE_CODE")
    return out


def _wide(df: pd.DataFrame, source: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """Pivot the long QOF file to one row per practice: ``register_<GROUP>`` and ``list_<TYPE>`` columns."""
    p_idx, practices = pd.factorize(df["PRACTICE_CODE"], sort=True)
    g_idx, groups = pd.factorize(df["GROUP_CODE"], sort=True)
    t_idx, types = pd.factorize(df["PATIENT_LIST_TYPE"], sort=True)
    flat = p_idx * len(groups) + g_idx
    if len(np.unique(flat)) != len(flat):
        dup = pd.Series(flat).duplicated().to_numpy()
        pairs = df.loc[dup, ["PRACTICE_CODE", "GROUP_CODE"]].head(5).values.tolist()
        raise DuplicateCodeError(f"{source} repeats {int(dup.sum())} (PRACTICE_CODE, GROUP_CODE) pair(s), e.g. {pairs}; "
                                 "each practice has one row per register group. Remove the repeated rows.")  # fmt: skip
    unknown = sorted(set(types) - set(LIST_TYPES))
    if unknown:
        raise PlacekitError(f"{source}: PATIENT_LIST_TYPE {unknown} unknown; expected one of {list(LIST_TYPES)}.")
    pairs = pd.DataFrame({"g": g_idx, "t": t_idx}).drop_duplicates()
    mixed = pairs["g"][pairs["g"].duplicated()].unique()
    if len(mixed):
        raise PlacekitError(f"{source}: group(s) {[groups[i] for i in mixed]} use more than one PATIENT_LIST_TYPE; "
                            "each QOF register has one list-size base. Supply the publisher's file unchanged.")  # fmt: skip
    reg = np.full((len(practices), len(groups)), -1, dtype=np.int64)
    reg[p_idx, g_idx] = df["REGISTER"].to_numpy()
    if (reg < 0).any():
        p, g = np.nonzero(reg < 0)
        raise PlacekitError(f"{source}: {len(p)} (practice, group) pair(s) have no row, e.g. "
                            f"{[(practices[i], groups[j]) for i, j in zip(p[:5], g[:5], strict=False)]}; every practice has a row "
                            "for every register group in the publisher's file.")  # fmt: skip
    size = df["PRACTICE_LIST_SIZE"].to_numpy()
    lo = np.full((len(practices), len(types)), np.iinfo(np.int64).max)
    hi = np.full((len(practices), len(types)), -1)
    np.minimum.at(lo, (p_idx, t_idx), size)
    np.maximum.at(hi, (p_idx, t_idx), size)
    clash = (hi >= 0) & (lo != hi)
    if clash.any():
        raise PlacekitError(f"{source}: {int(clash.any(axis=1).sum())} practice(s) give two list sizes for the same base, e.g. "
                            f"{list(practices[clash.any(axis=1)][:3])}; a practice has one list per age base.")  # fmt: skip
    out = pd.DataFrame(reg, index=pd.Index(practices, name="practice_code"), columns=[f"register_{g}" for g in groups])
    lists = pd.DataFrame(np.where(hi >= 0, hi, np.nan), index=out.index, columns=[f"list_{t}" for t in types]).astype("Int64")
    return out.join(lists), {str(groups[g]): str(types[t]) for g, t in zip(pairs["g"], pairs["t"], strict=True)}


def _over_list(wide: pd.DataFrame, bases: dict[str, str], *, source: str, action: str) -> pd.DataFrame:
    """Return the (practice, group) pairs whose register exceeds the list of its base; raise or warn about them."""
    if action not in ("error", "warn"):
        raise PlacekitError(f'`over_list` was "{action}" but is expected to be "error" or "warn".')
    rows = []
    for g, b in bases.items():
        over = wide[f"register_{g}"] > wide[f"list_{b}"]
        rows += [(p, g, int(wide.at[p, f"register_{g}"]), int(wide.at[p, f"list_{b}"])) for p in wide.index[over]]
    out = pd.DataFrame(rows, columns=["practice_code", "condition", "register", "list_size"])
    if len(out):
        pairs = "; ".join(f"{r.practice_code} {r.condition} register {r.register:,} > list {r.list_size:,}" for r in out.head(8).itertuples())
        if action == "error":
            raise RegisterOverListError(f"{source}: {len(out)} register(s) larger than their list: {pairs}. A register counts patients "
                                        "of the list, so it cannot exceed it; fix the file, or read it with over_list='warn' "
                                        "(manifest: over_list = \"warn\") to keep such rows out of the figures only where they matter.")  # fmt: skip
        warnings.warn(f"{source}: {len(out)} register(s) larger than their list, kept but refused in any figure they enter: {pairs}",
                      QOFAnomalyWarning, stacklevel=4)  # fmt: skip
    return out


def read_qof(
    path: str | Path,
    mapping: str | Path | None = None,
    *,
    vintage: str = "QOF 2022-23",
    over_list: Literal["error", "warn"] = "error",
) -> pd.DataFrame:
    """Read QOF practice-level prevalence (NHS England ``PREVALENCE_<yy><yy>.csv``) and its practice geographies.

    Parameters
    ----------
    path
        The prevalence file: ``PRACTICE_CODE, GROUP_CODE, REGISTER, PATIENT_LIST_TYPE,
        PRACTICE_LIST_SIZE``, one row per practice and register group.
    mapping
        Optional ``MAPPING_NHS_GEOGRAPHIES_<yy><yy>.csv`` of the same publication: every
        practice of the prevalence file must be in it.
    over_list
        What to do with a register larger than its list: ``"error"`` (default) raises;
        ``"warn"`` keeps the file (a national file holds a few, e.g. a residential
        epilepsy centre's learning-disability register), warns naming each pair and lists
        them in ``attrs['register_over_list']``; :func:`boundaries.health.health_base`
        still refuses one that enters a place's figures.

    Returns
    -------
    pandas.DataFrame
        Index ``practice_code``; ``register_<GROUP>`` (int64) for each of the 21 groups,
        ``list_<TYPE>`` for each list-size base (``TOTAL``, ``06OV``, ``16OV``, ``17OV``,
        ``18OV``, ``50OV``), and from `mapping`: ``practice_name``, ``pcn_code``,
        ``pcn_name``, ``sub_icb_code``, ``sub_icb_name``, ``icb_code``, ``icb_name``,
        ``region_name``. ``attrs['bases']`` maps each group to its list type.

    Raises
    ------
    MissingColumnError, DuplicateCodeError, UnknownCodeError, RegisterOverListError, PlacekitError
        Missing columns; a repeated (practice, group); a practice absent from `mapping`;
        a register larger than its list; counts that are not whole non-negative numbers.
    """
    path = _check_file(path, "QOF prevalence")
    source = f"QOF prevalence {path.name}"
    # Counts are parsed as numbers by the C parser; a column holding text stays text and is reported row by row.
    df = pd.read_csv(path, dtype={"PRACTICE_CODE": str, "GROUP_CODE": str, "PATIENT_LIST_TYPE": str})
    require_columns(df, ["PRACTICE_CODE", "GROUP_CODE", "REGISTER", "PATIENT_LIST_TYPE", "PRACTICE_LIST_SIZE"], source=source)
    df["PRACTICE_CODE"] = df["PRACTICE_CODE"].str.strip()
    _require_practice_codes(df["PRACTICE_CODE"], source=source)
    for col in ("REGISTER", "PRACTICE_LIST_SIZE"):
        df[col] = _whole_counts(df[col].rename(col), source=source)
    wide, bases = _wide(df, source)
    over = _over_list(wide, bases, source=source, action=over_list)
    if mapping is not None:
        mpath = _check_file(mapping, "QOF practice geographies")
        geo = _mapping(mpath)
        require_known(wide.index, geo.index, source=source, what="practice code",
                      fix=f"Every practice of the prevalence file must be in {mpath.name}; use the two files of the same publication.")  # fmt: skip
        wide = geo.reindex(wide.index).join(wide)
    wide.attrs.update({"layer": "qof", "source": str(path), "vintage": vintage, "status": "real", "bases": bases,
                       "register_over_list": [tuple(r) for r in over.itertuples(index=False)]})  # fmt: skip
    return wide


_AGE_COLUMNS = {"TOTAL": "total", "16OV": "age_16_plus", "17OV": "age_17_plus", "18OV": "age_18_plus", "30_74": "age_30_74",
                "50OV": "age_50_plus", "0_64": "age_0_64", "65OV": "age_65_plus"}  # fmt: skip


def read_practice_ages(path: str | Path, *, vintage: str = "2020-04") -> pd.DataFrame:
    """Read registered patients per practice in broad age groups (House of Commons Library layout of NHS Digital's file).

    Parameters
    ----------
    path
        CSV with ``PRACTICE_CODE, TOTAL, 16OV, 17OV, 18OV, 30_74, 50OV, 0_64, 65OV`` (and
        optionally ``65OV%``).

    Returns
    -------
    pandas.DataFrame
        Index ``practice_code``; float ``total``, ``age_16_plus``, ``age_17_plus``,
        ``age_18_plus``, ``age_30_74``, ``age_50_plus``, ``age_0_64``, ``age_65_plus``
        (the compiler estimated some groups for a few practices, so not all are whole;
        those practices are listed in ``attrs['estimated']``), and ``share_65_plus``.

    Raises
    ------
    PlacekitError
        Non-numeric or negative counts, ``0_64 + 65OV`` not equal to ``TOTAL``, or nested
        groups out of order (e.g. more patients aged 18+ than 16+).
    """
    path = _check_file(path, "practice age groups")
    source = f"practice age groups {path.name}"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(df, ["PRACTICE_CODE", *_AGE_COLUMNS], source=source)
    codes = df["PRACTICE_CODE"].str.strip()
    _require_practice_codes(codes, source=source)
    out = pd.DataFrame(index=pd.Index(codes, name="practice_code"))
    for col, new in _AGE_COLUMNS.items():
        s = df[col].replace("", None).set_axis(out.index).rename(col)
        out[new] = require_counts(s, source=source, what="patients", whole=False).to_numpy()  # some groups are estimates
    require_unique(out.index, source=source, what="PRACTICE_CODE")
    split = (out["age_0_64"] + out["age_65_plus"] - out["total"]).abs() > 0.5
    bad = split | _nesting_breaks(out)
    if bad.any():
        raise PlacekitError(
            f"{source}: {int(bad.sum())} practice(s) whose age groups do not fit together, e.g. {list(out.index[bad][:6])}: "
            "0_64 + 65OV must equal TOTAL, and TOTAL ≥ 16OV ≥ 17OV ≥ 18OV ≥ 50OV ≥ 65OV. Fix those rows."
        )
    out["share_65_plus"] = out["age_65_plus"] / out["total"].where(out["total"] > 0)
    estimated = out.index[(out[list(_AGE_COLUMNS.values())] % 1 > 1e-6).any(axis=1)]
    out.attrs.update({"layer": "practice_ages", "source": str(path), "vintage": vintage, "status": "real", "estimated": list(estimated)})
    return out


def _nesting_breaks(out: pd.DataFrame) -> pd.Series:
    chain = ["total", "age_16_plus", "age_17_plus", "age_18_plus", "age_50_plus", "age_65_plus"]
    broken = pd.Series(False, index=out.index)
    for a, b in zip(chain, chain[1:], strict=False):
        broken |= out[a] < out[b] - 1e-6
    return broken


def qof_layer(spec: LayerSpec, paths: Sequence[Path]) -> pd.DataFrame:
    """Read a manifest's ``qof`` layer: ``files = [prevalence, mapping]``; option ``over_list``."""
    return read_qof(paths[0], paths[1] if len(paths) > 1 else None, vintage=spec.vintage, over_list=spec.options.get("over_list", "error"))


def practice_ages_layer(spec: LayerSpec, paths: Sequence[Path]) -> pd.DataFrame:
    """Read a manifest's ``practice_ages`` layer."""
    return read_practice_ages(paths[0], vintage=spec.vintage)
