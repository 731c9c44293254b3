"""Lagrangian branch and bound for the p-median with fixed hubs and at least one hub per unit.

The assignment constraints ("each demand point served once") are relaxed with
multipliers λ. What is left is choosing p candidates of least reduced cost
ρ_j = Σ_i min(0, w_i c_ij − λ_i) with the fixed hubs open and at least one
hub in each required unit; because units are disjoint a greedy choice solves
it exactly (the cheapest candidate of each uncovered unit, then the cheapest
of the rest). Subgradient ascent (Held and Karp's step) raises the bound; on
these problems it reaches the linear-programming bound of the classic strong
formulation in a second where a simplex solve of that LP takes a minute.

Each node of the tree fixes some candidates open or closed. Reduced-cost tests
(Beasley 1993) close every candidate whose opening would lift the bound above
the best known answer and open every hub whose closing would; the tree then
branches on the open hub whose closing bound is highest. Nodes are explored
best bound first, so the bound reported when a time limit stops the search is
the least bound of the nodes still open.

Everything here works on NumPy arrays; :func:`estates.siting.solve_exact` is
the adapter from a :class:`~estates.siting.SitingProblem`.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["UnitRules", "BranchAndBoundResult", "branch_and_bound", "subproblem"]


@dataclass(frozen=True)
class UnitRules:
    """The combinatorial side of a siting problem.

    Attributes
    ----------
    p
        Hubs to open.
    fixed
        Boolean per candidate: must be open.
    members
        For each required unit, the candidate indices that lie in it.
    """

    p: int
    fixed: np.ndarray
    members: tuple[np.ndarray, ...]


def subproblem(rho: np.ndarray, rules: UnitRules, fixed: np.ndarray, closed: np.ndarray) -> np.ndarray | None:
    """Return the p candidates of least total `rho` with `fixed` open, `closed` shut and every unit covered (None if impossible)."""
    r = np.where(closed, np.inf, rho)
    y = fixed.copy()
    for k in rules.members:
        if not y[k].any():
            j = k[np.argmin(r[k])]
            if not np.isfinite(r[j]):
                return None
            y[j] = True
    free = rules.p - int(y.sum())
    if free < 0:
        return None
    if free:
        rest = np.where(y, np.inf, r)
        pick = np.argpartition(rest, free - 1)[:free] if free < len(rest) else np.arange(len(rest))
        if not np.isfinite(rest[pick]).all():
            return None
        y[pick] = True
    return y


@dataclass
class _Ascent:
    bound: float
    lam: np.ndarray
    rho: np.ndarray | None
    y: np.ndarray | None
    primal: list[np.ndarray] = field(default_factory=list)


def _ascend(wc: np.ndarray, rules: UnitRules, fixed, closed, lam, upper: float, *, iterations: int, theta: float,
            collect: int = 0, deadline: float = np.inf) -> _Ascent:  # fmt: skip
    """Raise the Lagrangian bound by subgradient steps from `lam` (until `deadline`, a perf_counter time, after 50 steps).

    Every `collect`-th subproblem answer is kept as a primal guess.
    """
    best = _Ascent(-np.inf, lam.copy(), None, None)
    stall, tol = 0, 1e-9 * max(1.0, abs(upper))
    for it in range(iterations):
        if it >= 50 and it % 50 == 0 and time.perf_counter() > deadline:
            break
        red = np.minimum(0.0, wc - lam[:, None])
        rho = red.sum(axis=0)
        y = subproblem(rho, rules, fixed, closed)
        if y is None:
            return _Ascent(np.inf, lam, None, None)
        val = lam.sum() + rho[y].sum()
        if collect and it % collect == 0:
            best.primal.append(y)
        if val > best.bound + tol:
            best.bound, best.lam, best.rho, best.y, stall = val, lam.copy(), rho, y, 0
        else:
            stall += 1
            if stall >= 20:
                theta, stall = theta / 2, 0
        if best.bound >= upper - tol or theta < 1e-5:
            break
        g = 1.0 - (red[:, y] < 0).sum(axis=1)
        norm = float(g @ g)
        if norm == 0:  # the relaxed answer serves every point once: it is optimal for this node
            break
        lam = lam + theta * (upper - val) / norm * g
    return best


def _fix(a: _Ascent, rules: UnitRules, fixed, closed, upper: float, tol: float):
    """Close candidates whose opening, and open hubs whose closing, lifts the bound to `upper`; return the new sets and closing bounds."""
    base = a.lam.sum()
    y = a.y
    fixed, closed = fixed.copy(), closed.copy()
    removable = a.rho[y & ~fixed]
    most = removable.max() if removable.size else np.inf
    # Opening j costs at least rho_j minus the largest rho it could replace: a cheap screen before the exact test.
    out = ~y & ~fixed & ~closed
    closed |= out & (a.bound + a.rho - most >= upper - tol)
    for j in np.flatnonzero(out & ~closed):
        f = fixed.copy()
        f[j] = True
        yy = subproblem(a.rho, rules, f, closed)
        if yy is None or base + a.rho[yy].sum() >= upper - tol:
            closed[j] = True
    scores = {}
    for j in np.flatnonzero(y & ~fixed):
        c = closed.copy()
        c[j] = True
        yy = subproblem(a.rho, rules, fixed, c)
        b = np.inf if yy is None else base + a.rho[yy].sum()
        if b >= upper - tol:
            fixed[j] = True
        else:
            scores[int(j)] = b
    return fixed, closed, scores


@dataclass
class BranchAndBoundResult:
    """What the search found.

    Attributes
    ----------
    y
        Boolean per candidate: the best answer found (open hubs).
    objective, bound
        Its cost and the proven lower bound (equal when proven optimal).
    root_bound
        The Lagrangian bound at the root (the linear-programming bound, near enough).
    nodes
        Nodes of the tree explored.
    proven
        True when the search finished (bound = objective within tolerance).
    """

    y: np.ndarray
    objective: float
    bound: float
    root_bound: float
    nodes: int
    proven: bool


def branch_and_bound(c: np.ndarray, w: np.ndarray, rules: UnitRules, start: np.ndarray,
                     improve: Callable[[np.ndarray], np.ndarray], *, time_limit: float = 120.0,
                     rel_tol: float = 1e-7) -> BranchAndBoundResult:  # fmt: skip
    """Solve the p-median with unit rules to proven optimality, or until `time_limit` seconds.

    Parameters
    ----------
    c, w
        Costs (points × candidates, finite) and demand weights.
    start
        A feasible answer (boolean per candidate), e.g. from the swap heuristic.
    improve
        Local search: takes a feasible answer and returns one at least as good; used on
        promising answers of the relaxation.
    """
    t0 = time.perf_counter()
    wc = w[:, None] * c

    def cost(y: np.ndarray) -> float:
        return float(w @ c[:, y].min(axis=1))

    best_y, upper = start.copy(), cost(start)
    tol = rel_tol * max(1.0, abs(upper))
    lam0 = w * np.sort(c, axis=1)[:, min(1, c.shape[1] - 1)]
    none = np.zeros(c.shape[1], dtype=bool)
    root = _ascend(wc, rules, rules.fixed, none, lam0, upper, iterations=3000, theta=2.0, collect=25, deadline=t0 + time_limit)
    for y in sorted(root.primal, key=cost)[:3]:  # the relaxation's answers, polished, often beat the heuristic
        y = improve(y)
        if cost(y) < upper - tol:
            best_y, upper = y, cost(y)
    heap = [(root.bound, 0, rules.fixed.copy(), none, root.lam)]
    nodes, count = 0, 1
    while heap and time.perf_counter() - t0 < time_limit:
        bound, _, fixed, closed, lam = heapq.heappop(heap)
        if bound >= upper - tol:
            heap = []
            break
        nodes += 1
        a = root if nodes == 1 else _ascend(wc, rules, fixed, closed, lam, upper, iterations=150, theta=0.5)
        if a.y is None or a.bound >= upper - tol:
            continue
        if (v := cost(a.y)) < upper - tol:
            best_y, upper = a.y.copy(), v
        fixed, closed, scores = _fix(a, rules, fixed, closed, upper, tol)
        if not scores:  # every open hub is forced: this node's only answer has been costed
            continue
        j = max(scores, key=scores.get)
        left, right = fixed.copy(), closed.copy()
        left[j], right[j] = True, True
        heapq.heappush(heap, (a.bound, count, left, closed, a.lam))
        heapq.heappush(heap, (max(a.bound, scores[j]), count + 1, fixed, right, a.lam))
        count += 2
    lower = min(min(h[0] for h in heap), upper) if heap else upper
    return BranchAndBoundResult(best_y, upper, min(lower, upper), root.bound, nodes, proven=not heap)
