"""Coverage: how far residents are from their nearest hub, per neighbourhood, deprivation and age."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from placekit.errors import PlacekitError

__all__ = ["coverage_from_matrix", "weighted_quantile", "coverage_summary", "CoverageSummary", "cumulative_curve", "DEFAULT_THRESHOLDS",
           "equity_change", "OLDER_BAND", "OLDER_BANDS", "older_band", "with_ranges"]

#: The population layer's oldest band (IoD2019 denominators: 0–15, 16–59, 60+). Residents aged 65+ are not
#: published apart, so the 60+ band, which holds all of them, stands in for them.
OLDER_BAND = ("age_60_plus", "aged 60+")
#: The oldest band of each kind of population layer (column, label, prefix of the coverage columns): mid-2015
#: (IoD2019 denominators) has 60+; Census 2021 (a place built from national files) has 65+.
OLDER_BANDS = (("age_60_plus", "aged 60+", "age60_"), ("age_65_plus", "aged 65+", "age65_"))


def older_band(people: pd.DataFrame) -> tuple[str, str, str]:
    """Return the oldest age band `people` holds: (column, label, prefix of the coverage columns)."""
    for band in OLDER_BANDS:
        if band[0] in people:
            return band
    raise PlacekitError(f"`people` has no older age band ({', '.join(b[0] for b in OLDER_BANDS)}); pass the demand points (estates.sites.origins).")

#: Default thresholds (minutes) per mode.
DEFAULT_THRESHOLDS = {"walk": 15.0, "drive": 10.0}


def coverage_from_matrix(minutes: pd.DataFrame, demand: pd.Series, hubs: list[str], *, threshold: float = 15) -> pd.Series:
    """Return, per demand point, the share of its demand within `threshold` minutes of a hub (0 or 1).

    Parameters
    ----------
    minutes
        Demand points × sites.
    demand
        Residents per demand point (index like `minutes`).
    hubs
        Sites that are hubs.
    """
    if not demand.index.equals(minutes.index):
        raise PlacekitError("`demand` must be indexed like the rows of `minutes`.")
    if not hubs:
        return pd.Series(0.0, index=minutes.index, name="covered")
    missing = [h for h in hubs if h not in minutes.columns]
    if missing:
        raise PlacekitError(f"hub(s) {missing[:10]} are not columns of the travel-time matrix.")
    near = minutes[hubs].min(axis=1)
    return (near <= threshold).astype(float).rename("covered")


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Return the `q` quantile of `values` weighted by `weights` (lower interpolation-free definition)."""
    values, weights = np.asarray(values, float), np.asarray(weights, float)
    ok = weights > 0
    if not ok.any():
        return float("nan")
    order = np.argsort(values[ok])
    v, w = values[ok][order], weights[ok][order]
    cum = np.cumsum(w) / w.sum()
    return float(v[np.searchsorted(cum, q, side="left")])


def _group_stats(t: pd.Series, w: pd.Series, key: pd.Series, threshold: float) -> pd.DataFrame:
    rows = {}
    for k, idx in key.groupby(key, sort=False).groups.items():
        tt, ww = t[idx].to_numpy(), w[idx].to_numpy()
        tot = ww.sum()
        rows[k] = {
            "residents": tot,
            "mean_minutes": float((tt * ww).sum() / tot) if tot else np.nan,
            "p90_minutes": weighted_quantile(tt, ww, 0.9),
            "share_within": float(ww[tt <= threshold].sum() / tot) if tot else np.nan,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


@dataclass(frozen=True)
class CoverageSummary:
    """Time to the nearest hub, summarised.

    Attributes
    ----------
    by_unit
        Per neighbourhood and for the city: ``residents``, ``mean_minutes``,
        ``p90_minutes``, ``share_within`` and the same prefixed ``age60_`` for residents
        aged 60 and over (``age65_``, 65 and over, for a population on Census 2021 bands); with
        uncertain times, each figure also as ``<figure>_low`` and ``<figure>_high`` (the least and
        greatest it can be: minutes from the low and high times, shares within from the high and low times).
    by_imd
        For the city by IMD quintile of residence (1 = most deprived), or None without IMD.
    threshold
        The threshold (minutes) of ``share_within``.
    """

    by_unit: pd.DataFrame
    by_imd: pd.DataFrame | None
    threshold: float


def _tables(t: pd.Series, people: pd.DataFrame, unit: pd.Series, threshold: float, city: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    col, _, prefix = older_band(people)
    pop, old = people["population"], people[col]
    allkey = pd.Series(city, index=people.index)
    by = pd.concat([_group_stats(t, pop, unit.reindex(people.index), threshold), _group_stats(t, pop, allkey, threshold)])
    o = pd.concat([_group_stats(t, old, unit.reindex(people.index), threshold), _group_stats(t, old, allkey, threshold)])
    by_imd = _group_stats(t, pop, people["imd_quintile"], threshold).sort_index() if "imd_quintile" in people else None
    return by.join(o.add_prefix(prefix)), by_imd


def _with_bounds(mid: pd.DataFrame, low: pd.DataFrame, high: pd.DataFrame) -> pd.DataFrame:
    """Add ``<figure>_low`` and ``<figure>_high`` beside each figure: minutes from the low/high times, shares the other way round."""
    out = mid.copy()
    for c in mid.columns:
        if c.endswith("residents"):
            continue
        lo, hi = (high[c], low[c]) if c.endswith("share_within") else (low[c], high[c])
        out[f"{c}_low"], out[f"{c}_high"] = lo, hi
    return out


def coverage_summary(
    nearest_minutes: pd.Series, people: pd.DataFrame, unit: pd.Series, *, threshold: float, city: str = "City",
    low: pd.Series | None = None, high: pd.Series | None = None,
) -> CoverageSummary:  # fmt: skip
    """Summarise time to the nearest hub per neighbourhood and for the city, overall, by IMD quintile and for 60+.

    Parameters
    ----------
    nearest_minutes
        Minutes from each demand point to its nearest hub.
    people
        Per demand point: ``population``, ``age_60_plus`` (or ``age_65_plus``) and optionally ``imd_quintile``.
    unit
        Neighbourhood of each demand point.
    low, high
        Least and greatest plausible minutes to the nearest hub (uncertain times); each
        figure then also comes as ``_low`` and ``_high``.
    """
    t = nearest_minutes.reindex(people.index)
    if t.isna().any():
        raise PlacekitError("some demand points have no travel time; the matrix must cover every LSOA.")
    by, by_imd = _tables(t, people, unit, threshold, city)
    if low is not None and high is not None:
        lo_by, lo_imd = _tables(low.reindex(people.index), people, unit, threshold, city)
        hi_by, hi_imd = _tables(high.reindex(people.index), people, unit, threshold, city)
        by = _with_bounds(by, lo_by, hi_by)
        by_imd = _with_bounds(by_imd, lo_imd, hi_imd) if by_imd is not None else None
    return CoverageSummary(by_unit=by, by_imd=by_imd, threshold=threshold)


def cumulative_curve(nearest_minutes: pd.Series, weights: pd.Series, *, upto: float = 60, step: float = 0.5) -> pd.Series:
    """Return the share of `weights` within t minutes of a hub, for t = 0, step, …, upto."""
    grid = np.arange(0, upto + step, step)
    t = nearest_minutes.reindex(weights.index).to_numpy()
    w = weights.to_numpy(dtype=float)
    order = np.argsort(t)
    cum = np.cumsum(w[order]) / w.sum()
    idx = np.searchsorted(t[order], grid, side="right")
    return pd.Series(np.where(idx > 0, cum[np.maximum(idx - 1, 0)], 0.0), index=pd.Index(grid, name="minutes"), name="share_within")


def equity_change(now_minutes: pd.Series, base_minutes: pd.Series, people: pd.DataFrame, *, threshold: float) -> pd.DataFrame:
    """Return mean time and share within `threshold` to the nearest hub, for a base set and now, by group, with the change.

    Groups: all residents, each IMD quintile (1 = most deprived; when ``imd_quintile`` is
    in `people`) and residents in the oldest band (:func:`older_band`; weighted by that band's count).

    Returns
    -------
    pandas.DataFrame
        Index ``group``; ``residents``, ``mean_minutes_base``, ``mean_minutes_now``,
        ``mean_minutes_change``, ``share_within_base``, ``share_within_now``,
        ``share_within_change`` (shares 0–1; a negative time change is an improvement).
    """
    col, label, _ = older_band(people)
    need = ["population", col]
    missing = [c for c in need if c not in people]
    if missing:
        raise PlacekitError(f"`people` lacks column(s) {missing}; pass the demand points (estates.sites.origins).")
    pop = people["population"].astype(float)
    groups = {"all residents": pop}
    if "imd_quintile" in people:
        for q in sorted(people["imd_quintile"].dropna().unique()):
            groups[f"IMD quintile {int(q)}{' (most deprived)' if q == 1 else ''}"] = pop.where(people["imd_quintile"] == q, 0.0)
    groups[f"residents {label}"] = people[col].astype(float)
    rows = {}
    for name, w in groups.items():
        tot = float(w.sum())
        r = {"residents": tot}
        for tag, t in (("base", base_minutes), ("now", now_minutes)):
            tt = t.reindex(people.index).to_numpy(dtype=float)
            r[f"mean_minutes_{tag}"] = float((tt * w).sum() / tot) if tot else np.nan
            r[f"share_within_{tag}"] = float(w[tt <= threshold].sum() / tot) if tot else np.nan
        rows[name] = r
    out = pd.DataFrame.from_dict(rows, orient="index")
    out["mean_minutes_change"] = out["mean_minutes_now"] - out["mean_minutes_base"]
    out["share_within_change"] = out["share_within_now"] - out["share_within_base"]
    out.index.name = "group"
    order = ["residents", "mean_minutes_base", "mean_minutes_now", "mean_minutes_change", "share_within_base", "share_within_now", "share_within_change"]
    return out[order]


def with_ranges(df: pd.DataFrame, *, digits: int = 1, percent: tuple[str, ...] = ()) -> pd.DataFrame:
    """Return `df` for a table: each figure with ``_low`` and ``_high`` columns as one text cell ``v (low–high)``.

    Columns named in `percent` are shares shown as percentages.
    """
    out = df.copy()
    for c in [c for c in df.columns if f"{c}_low" in df and f"{c}_high" in df]:
        k = 100 if c in percent else 1
        v, lo, hi = (k * out[c]).round(digits), (k * out[f"{c}_low"]).round(digits), (k * out[f"{c}_high"]).round(digits)
        out[c] = [f"{a:.{digits}f}" if lo_ == hi_ else f"{a:.{digits}f} ({lo_:.{digits}f}–{hi_:.{digits}f})"
                  for a, lo_, hi_ in zip(v, lo, hi, strict=True)]  # fmt: skip
        out = out.drop(columns=[f"{c}_low", f"{c}_high"])
    for c in percent:
        if c in out and out[c].dtype.kind == "f":
            out[c] = (100 * out[c]).round(digits)
    return out
