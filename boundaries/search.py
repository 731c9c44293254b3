"""Local search over plans too many to list: single-unit flips with simulated annealing, keeping every hard constraint.

A flip moves one unit on a neighbourhood's edge into the neighbouring neighbourhood. It
is proposed only if it keeps every hard constraint: the unit is not locked, both
neighbourhoods stay inside the band, the neighbourhood it leaves stays contiguous (and
non-empty), and, where neighbourhoods nest in localities, both are in the same one. A
flip that improves the objective is always taken; a worse one with probability
``exp(Δ / T)``, the temperature falling geometrically over the run (Metropolis). The best
plan seen is returned. The method gives no bound on the optimum.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from boundaries.planscore import PlanScorer
from boundaries.units import Units, unit_parts

__all__ = ["SearchResult", "anneal", "objective_value", "is_valid_plan"]


@dataclass(frozen=True)
class SearchResult:
    """The best plan a local search found, with how the search went."""

    labels: np.ndarray
    value: float
    proposals: int
    accepted: int
    seconds: float
    stopped: str  # "" when it ran its course; else why it stopped early ("time limit", "stop requested")


def objective_value(scorer: PlanScorer, labels: np.ndarray, k: int, column: str) -> tuple[float, float]:
    """Return (the objective column, the city-wide list containment) of one plan, cheaply (no frame)."""
    contained, residents, lists, plab = scorer.counts(labels[None], k)
    c, r, l = contained[0], residents[0], lists[0]
    city = float(c.sum() / max(l.sum(), 1e-12))
    if column == "pcn_alignment":
        return float(scorer._alignment(plab)[0]), city
    name, stat = column.rsplit("_", 1)
    denom = l if name == "list_containment" else r
    if stat == "city":
        return float(c.sum() / max(denom.sum(), 1e-12)), city
    ok = denom > 0
    ratio = c[ok] / denom[ok]
    if not len(ratio):
        return float("nan"), city
    return (float(ratio.mean()) if stat == "mean" else float(ratio.min())), city


def _search_value(scorer: PlanScorer, labels: np.ndarray, k: int, column: str) -> tuple[float, tuple[float, float]]:
    """Return the value the annealing climbs (a lowest-neighbourhood objective softened by the mean) and the true (objective, city)."""
    true = objective_value(scorer, labels, k, column)
    if column.endswith("_min"):
        mean = objective_value(scorer, labels, k, column[:-4] + "_mean")[0]
        return true[0] + 0.2 * mean, true
    return true[0], true


def _connected_without(labels: np.ndarray, units: Units, leaving: int) -> bool:
    """Return True when the neighbourhood of unit `leaving` stays contiguous (and non-empty) without it."""
    lab = labels[leaving]
    rest = np.flatnonzero(labels == lab)
    if len(rest) <= 1:
        return False
    rest_set = set(rest.tolist()) - {leaving}
    start = next(iter(rest_set))
    seen, stack = {start}, [start]
    nb = units.neighbours
    while stack:
        x = stack.pop()
        for y in nb[x]:
            y = int(y)
            if y in rest_set and y not in seen:
                seen.add(y)
                stack.append(y)
    return len(seen) == len(rest_set)


def is_valid_plan(labels: np.ndarray, units: Units, k: int, band: tuple[float, float], *, group: np.ndarray | None = None) -> list[str]:
    """Return every hard constraint `labels` breaks (empty when valid): labels 0..k-1 all used, band, contiguity, nesting."""
    out = []
    if labels.min() < 0 or labels.max() >= k or len(np.unique(labels)) != k:
        out.append(f"labels must use each of 0..{k - 1}")
        return out
    pop = np.bincount(labels, weights=units.population, minlength=k)
    out += [f"neighbourhood {i} has {pop[i]:,.0f} residents, outside the band" for i in range(k) if not band[0] <= pop[i] <= band[1]]
    parts = unit_parts(labels, units)
    out += [f"neighbourhood {i} is in {parts[i]} parts" for i in range(k) if parts[i] != 1]
    if group is not None:
        out += [f"neighbourhood {i} spans groups" for i in range(k) if len(np.unique(group[labels == i])) > 1]
    return out


def anneal(
    scorer: PlanScorer,
    labels: np.ndarray,
    k: int,
    band: tuple[float, float],
    column: str,
    *,
    movable: np.ndarray | None = None,
    group: np.ndarray | None = None,
    rng: random.Random,
    seconds: float = 30.0,
    max_proposals: int | None = None,
    t_start: float = 0.01,
    t_end: float = 0.00005,
    stop: Callable[[], bool] | None = None,
    progress: Callable[[float, float], None] | None = None,
) -> SearchResult:
    """Improve a valid plan by single-unit flips with simulated annealing (see the module's docstring).

    Parameters
    ----------
    labels
        A valid start plan (unit labels 0..k-1).
    column
        The score column to maximise (:func:`boundaries.planscore.objective_column`).
    movable
        Boolean mask of the units that may move (locked neighbourhoods' units may not).
    seconds, max_proposals
        Budget: whichever ends first (`max_proposals` makes a run reproducible whatever the machine's speed).
    stop
        Called now and then; True ends the search (the best plan so far is returned).
    progress
        Called now and then with (share of the budget used, best value so far).
    """
    # length: one Metropolis loop (budget, stop and progress checks, proposal, constraints, acceptance) kept whole for speed
    units = scorer.units
    lab = np.asarray(labels, dtype=np.int64).copy()
    movable = np.ones(units.n, dtype=bool) if movable is None else movable
    pop = np.bincount(lab, weights=units.population, minlength=k)
    edges = units.edges
    cur, cur_true = _search_value(scorer, lab, k, column)
    best, best_lab = cur_true, lab.copy()
    t0 = time.monotonic()
    proposals = accepted = 0
    stopped = ""
    while True:
        used = (time.monotonic() - t0) / seconds if seconds else 1.0
        if max_proposals is not None:
            used = max(used, proposals / max_proposals) if seconds else proposals / max_proposals
            if proposals >= max_proposals:
                break
        if used >= 1.0:
            if max_proposals is not None and proposals < max_proposals:
                stopped = "time limit"
            break
        if proposals % 500 == 0:
            if stop is not None and stop():
                stopped = "stop requested"
                break
            if progress is not None:
                progress(min(used, 1.0), best[0])
        temp = t_start * (t_end / t_start) ** min(used, 1.0)
        e = edges[rng.randrange(len(edges))]
        u, v = (int(e[0]), int(e[1])) if rng.random() < 0.5 else (int(e[1]), int(e[0]))
        a, b = lab[u], lab[v]
        if a == b or not movable[u] or (group is not None and group[u] != group[v]):
            continue
        proposals += 1
        p = units.population[u]
        if pop[a] - p < band[0] or pop[b] + p > band[1] or not _connected_without(lab, units, u):
            continue
        lab[u] = b
        new, new_true = _search_value(scorer, lab, k, column)
        if new >= cur or rng.random() < math.exp((new - cur) / temp):
            cur, accepted = new, accepted + 1
            pop[a] -= p
            pop[b] += p
            if new_true > best:
                best, best_lab = new_true, lab.copy()
        else:
            lab[u] = a
    return SearchResult(best_lab, best[0], proposals, accepted, time.monotonic() - t0, stopped)
