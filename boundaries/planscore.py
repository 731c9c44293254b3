"""Score many plans at once: both containment measures (mean, lowest, city-wide), PCN alignment, population deviation.

A plan is a row of unit labels (0..k-1). Under the ``premises`` rule a practice belongs
to the neighbourhood of the unit its premises stand in, so whether a patient is
*contained* depends only on two units: where the patient lives and where the practice
stands. :class:`PlanScorer` therefore sums the registrations of the place's
:class:`~boundaries.flowbase.FlowBase` once into a (residence unit × premises unit)
matrix, and scores a batch of plans with one batched matrix product (plans' one-hot
neighbourhoods × that matrix) and a gather — thousands of plans a second on LSOAs,
tens of thousands on wards. The ``pcn`` and ``patients`` rules, where a
practice's team depends on the whole plan, go through the same membership code as every
other figure (:func:`boundaries.membership.resolve_practice_units`), plan by plan.

Figures (each a column of :meth:`PlanScorer.score`, fractions 0–1):

``list_containment_mean`` / ``_min`` / ``_city``
    list containment per neighbourhood (its practices' patients living in it), averaged
    without weights, the lowest, and city-wide (all contained ÷ all patients of the
    place's practices: the list-weighted figure, which parking scattered practices in one
    neighbourhood cannot raise);
``resident_containment_mean`` / ``_min`` / ``_city``
    the same for resident containment;
``pcn_alignment``
    share of the place's practices (weighted by list) whose whole primary care network
    (its practices in the place) is in one neighbourhood;
``population_deviation``
    the largest gap between a neighbourhood's residents and the average, as a share of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from boundaries.grouping import Grouping
from boundaries.membership import check_rule, resolve_practice_units
from boundaries.units import Units, grouping_labels
from placekit.errors import PlacekitError

__all__ = ["grouping_scores", "MEASURES", "OBJECTIVES", "STATISTICS", "PlanScorer", "objective_column", "check_objective"]

#: Every figure a plan is scored on, with what it is.
MEASURES: dict[str, str] = {
    "list_containment_mean": "list containment, unweighted mean over neighbourhoods",
    "list_containment_min": "list containment, lowest neighbourhood",
    "list_containment_city": "list containment, city-wide (contained ÷ all patients of the place's practices)",
    "resident_containment_mean": "resident containment, unweighted mean over neighbourhoods",
    "resident_containment_min": "resident containment, lowest neighbourhood",
    "resident_containment_city": "resident containment, city-wide (contained ÷ all residents registered)",
    "pcn_alignment": "share of practices (by list) whose whole PCN is in one neighbourhood",
    "population_deviation": "largest gap between a neighbourhood's residents and the average, as a share of it",
}
#: What a design can maximise.
OBJECTIVES: dict[str, str] = {
    "list_containment": "patients of a neighbourhood's practices who live in it",
    "resident_containment": "residents of a neighbourhood registered with its practices",
    "pcn_alignment": "practices whose whole PCN is in one neighbourhood (by list)",
}
#: How a containment measure is summarised over the neighbourhoods of a plan.
STATISTICS: dict[str, str] = {
    "mean": "unweighted mean over neighbourhoods",
    "min": "lowest neighbourhood",
    "city": "city-wide share (weighted by list or by residents)",
}


def check_objective(objective: str, measure: str) -> None:
    """Raise with the allowed values when `objective` or `measure` is not one of them."""
    if objective not in OBJECTIVES:
        raise PlacekitError(f'`objective` was "{objective}" but is expected to be one of {list(OBJECTIVES)}.')
    if measure not in STATISTICS:
        raise PlacekitError(f'`measure` was "{measure}" but is expected to be one of {list(STATISTICS)}.')


def objective_column(objective: str, measure: str) -> str:
    """Return the score column an objective maximises (``pcn_alignment`` has one figure whatever the measure)."""
    check_objective(objective, measure)
    return objective if objective == "pcn_alignment" else f"{objective}_{measure}"


def _nan_stats(ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean and minimum over axis 1 ignoring NaN (NaN where a row is all NaN), without warnings."""
    ok = np.isfinite(ratio)
    n = ok.sum(axis=1)
    mean = np.divide(np.where(ok, ratio, 0).sum(axis=1), n, out=np.full(len(ratio), np.nan), where=n > 0)
    low = np.where(ok, ratio, np.inf).min(axis=1)
    return mean, np.where(n > 0, low, np.nan)


@dataclass(frozen=True, eq=False)
class PlanScorer:
    """Scores plans of `units` (rows of unit labels) on every figure of :data:`MEASURES`.

    Attributes
    ----------
    units
        The units and their flow base.
    rule
        How practices find their neighbourhood: ``premises`` (fast path), ``pcn`` or ``patients``.
    pinned
        Per practice of the base, a unit whose neighbourhood the practice follows whatever
        the rule (an explicit assignment to a locked neighbourhood), -1 otherwise.
    """

    units: Units
    rule: str = "premises"
    pinned: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_rule(self.rule)

    # ---------------------------------------------------------------- fixed parts
    @cached_property
    def practice_unit(self) -> np.ndarray:
        """Return, per practice of the base, the unit it follows under ``premises`` (its pin, else its premises; -1 outside)."""
        q = self.units.base.premises.copy()
        if self.pinned is not None:
            q = np.where(self.pinned >= 0, self.pinned, q)
        return q

    @cached_property
    def _pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return (residence unit, premises unit, patients) pairs, residents registered per unit, list per premises unit."""
        b = self.units.base
        n = self.units.n
        res = b.row < n
        q = self.practice_unit[b.col]
        inplace = q >= 0
        residents = np.bincount(b.row[res], weights=b.weights[res], minlength=n)
        lists = np.bincount(q[inplace], weights=b.weights[inplace], minlength=n)
        both = res & inplace
        key, inv = np.unique(b.row[both] * n + q[both], return_inverse=True)
        w = np.bincount(inv, weights=b.weights[both])
        return (key // n).astype(np.intp), (key % n).astype(np.intp), w, residents, lists

    @cached_property
    def _dense(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the premises units and the (residence unit × premises unit) patients as a dense matrix, for batched matrix products."""
        pu, pq, w, _, _ = self._pairs
        cols = np.unique(pq)
        dense = np.zeros((self.units.n, len(cols)))
        np.add.at(dense, (pu, np.searchsorted(cols, pq)), w)
        return cols, dense

    @cached_property
    def _pcn(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return practices with a PCN (sorted by PCN), their list, and the start of each PCN's run."""
        b = self.units.base
        pcn, _ = b.pcn_index
        idx = np.flatnonzero(b.in_place & (pcn >= 0))
        idx = idx[np.argsort(pcn[idx], kind="stable")]
        starts = np.flatnonzero(np.r_[True, np.diff(pcn[idx]) != 0]) if len(idx) else np.zeros(0, dtype=np.intp)
        return idx, b.list_sizes[idx], starts, pcn[idx]

    # ---------------------------------------------------------------- per plan
    def counts(self, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return (contained, residents registered, registered list, practice labels) per plan × neighbourhood.

        `labels` is (plans × units), values 0..k-1. Practice labels are (plans × practices),
        ``k`` for practices outside the place.
        """
        labels = np.atleast_2d(labels).astype(np.intp)
        if self.rule != "premises":
            return self._counts_general(labels, k)
        m = len(labels)
        cols, dense = self._dense
        _, _, _, residents, lists = self._pairs
        contained, res, lst = np.zeros((m, k)), np.zeros((m, k)), np.zeros((m, k))
        step = max(1, 4_000_000 // (k * self.units.n))
        for s in range(0, m, step):
            lab = labels[s : s + step]
            r = np.arange(len(lab))
            onehot = np.zeros((len(lab), k, self.units.n))
            onehot[r[:, None], lab, np.arange(self.units.n)[None, :]] = 1.0
            by_nb = onehot @ dense  # plans × neighbourhoods × premises units: patients living in the neighbourhood
            lq = lab[:, cols]
            own = np.take_along_axis(by_nb, lq[:, None, :], axis=1)[:, 0, :]  # ... of the premises unit's own neighbourhood
            contained[s : s + len(lab)] = np.bincount((r[:, None] * k + lq).ravel(), weights=own.ravel(), minlength=len(lab) * k).reshape(-1, k)
            res[s : s + len(lab)] = onehot @ residents
            lst[s : s + len(lab)] = onehot @ lists
        q = self.practice_unit
        plab = np.where(q >= 0, labels[:, np.maximum(q, 0)], k)
        return contained, res, lst, plab

    def _counts_general(self, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Score plan by plan through the membership code (rules ``pcn`` and ``patients``)."""
        b = self.units.base
        n = self.units.n
        out = [np.zeros((len(labels), k)) for _ in range(3)]
        plabs = np.zeros((len(labels), len(b.practices)), dtype=np.intp)
        res_rows = b.row < n
        for r, lab in enumerate(labels):
            explicit = None if self.pinned is None else np.where(self.pinned >= 0, lab[np.maximum(self.pinned, 0)], -1)
            pu = resolve_practice_units(b, lab, k, self.rule, explicit)
            res = np.where(res_rows, lab[np.minimum(b.row, n - 1)], k)
            prac = pu[b.col]
            same = res_rows & (prac < k) & (res == prac)
            out[0][r] = np.bincount(res[same], weights=b.weights[same], minlength=k)
            out[1][r] = np.bincount(res[res_rows], weights=b.weights[res_rows], minlength=k)
            out[2][r] = np.bincount(prac[prac < k], weights=b.weights[prac < k], minlength=k)
            plabs[r] = pu
        return out[0], out[1], out[2], plabs

    def score(self, labels: np.ndarray, k: int) -> pd.DataFrame:
        """Return every figure of :data:`MEASURES` for each plan (rows of `labels`, values 0..k-1), one row per plan."""
        labels = np.atleast_2d(labels)
        contained, residents, lists, plab = self.counts(labels, k)
        with np.errstate(divide="ignore", invalid="ignore"):
            lc = np.where(lists > 0, contained / np.where(lists > 0, lists, 1), np.nan)
            rc = np.where(residents > 0, contained / np.where(residents > 0, residents, 1), np.nan)
        out = {}
        for name, ratio, denom in (("list_containment", lc, lists), ("resident_containment", rc, residents)):
            mean, low = _nan_stats(ratio)
            out[f"{name}_mean"], out[f"{name}_min"] = mean, low
            out[f"{name}_city"] = contained.sum(axis=1) / np.maximum(denom.sum(axis=1), 1e-12)
        out["pcn_alignment"] = self._alignment(plab)
        pop = self.population(labels, k)
        ideal = self.units.population[labels[0] >= 0].sum() / k if len(labels) else np.nan
        out["population_deviation"] = np.abs(pop - ideal).max(axis=1) / ideal if ideal else np.nan
        return pd.DataFrame(out)

    def population(self, labels: np.ndarray, k: int) -> np.ndarray:
        """Return residents per plan × neighbourhood (the units' base)."""
        labels = np.atleast_2d(labels).astype(np.intp)
        m = len(labels)
        key = (np.arange(m)[:, None] * k + labels).ravel()
        ok = labels.ravel() >= 0
        pop = np.broadcast_to(self.units.population, labels.shape).ravel()
        return np.bincount(key[ok], weights=pop[ok], minlength=m * k).reshape(m, k)

    def _alignment(self, plab: np.ndarray) -> np.ndarray:
        idx, lists, starts, _ = self._pcn
        if not len(idx) or lists.sum() == 0:
            return np.full(len(plab), np.nan)
        sub = plab[:, idx]
        whole = np.minimum.reduceat(sub, starts, axis=1) == np.maximum.reduceat(sub, starts, axis=1)
        sizes = np.diff(np.r_[starts, len(idx)])
        return (np.repeat(whole, sizes, axis=1) * lists).sum(axis=1) / lists.sum()

    # ---------------------------------------------------------------- per block (exact optimum)
    def block_values(self, blocks: list[tuple[int, ...]]) -> pd.DataFrame:
        """Return per block (a unit set): contained, residents registered, registered list, PCN list whole inside, residents.

        Only under the ``premises`` rule, where each figure adds up over neighbourhoods.
        """
        if self.rule != "premises":
            raise PlacekitError("block values need the premises rule: under pcn or patients a practice's team depends on the whole plan")
        member = np.zeros((len(blocks), self.units.n), dtype=bool)
        for b, units in enumerate(blocks):
            member[b, list(units)] = True
        pu, pq, w, residents, lists = self._pairs
        idx, plist, starts, _ = self._pcn
        q = self.practice_unit[idx]
        inside = member[:, np.maximum(q, 0)] & (q >= 0)
        whole = np.logical_and.reduceat(inside, starts, axis=1) if len(idx) else np.zeros((len(blocks), 0), dtype=bool)
        sizes = np.diff(np.r_[starts, len(idx)]) if len(idx) else np.zeros(0, dtype=int)
        pcn_list = (np.repeat(whole, sizes, axis=1) * plist).sum(axis=1) if len(idx) else np.zeros(len(blocks))
        return pd.DataFrame({
            "contained": (member[:, pu] & member[:, pq]) @ w,
            "residents_registered": member @ residents,
            "registered_list": member @ lists,
            "pcn_list": pcn_list,
            "population": member @ self.units.population,
        })  # fmt: skip

    @cached_property
    def totals(self) -> dict[str, float]:
        """Return the city-wide denominators: residents registered, registered list, list of practices with a PCN."""
        _, _, _, residents, lists = self._pairs
        _, plist, _, _ = self._pcn
        return {"residents_registered": float(residents.sum()), "registered_list": float(lists.sum()), "pcn_list": float(plist.sum())}


def grouping_scores(units: Units, grouping: Grouping) -> pd.Series:
    """Return every figure of a grouping as it stands (its rule and explicit practice assignments) on `units`."""
    labels, names = grouping_labels(grouping, units)
    pinned = np.full(len(units.base.practices), -1, dtype=np.int64)
    for code, nb in grouping.practice_to_neighbourhood.items():
        if code in units.base.practice_position:
            pinned[units.base.practice_position[code]] = int(np.flatnonzero(labels == names.index(nb))[0])
    return PlanScorer(units, rule=grouping.practice_rule, pinned=pinned).score(labels[None], len(names)).iloc[0]
