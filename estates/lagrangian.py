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

With capacities (a hub serves at most ``cap_j`` demand; a point may be split
between hubs) the same scheme holds with a richer subproblem: for each candidate,
the points it would serve at negative reduced cost form a continuous knapsack
(best ratio first until the capacity is full), whose value is ρ_j. The bound
is then at least the linear-programming bound of the capacitated strong
formulation, and each answer is costed by a transportation problem
(:func:`transport_cost`, HiGHS through SciPy).

Everything here works on NumPy arrays; :func:`estates.siting.solve_exact` is
the adapter from a :class:`~estates.siting.SitingProblem`.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

__all__ = ["UnitRules", "BranchAndBoundResult", "branch_and_bound", "subproblem", "knapsack_prices", "transport_cost"]


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


def knapsack_prices(wc: np.ndarray, lam: np.ndarray, w: np.ndarray, cap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ρ_j and the fractions x_ij of the continuous knapsack of each candidate.

    Candidate j takes the points of negative reduced cost ``w_i c_ij − λ_i`` in order of
    that cost per unit of demand, until its capacity ``cap_j`` is full (the last one in part);
    an infinite capacity takes them all (the uncapacitated price).
    """
    v = wc - lam[:, None]
    neg = v < 0
    x = neg.astype(float)
    bind = np.flatnonzero(w @ x > cap)  # only candidates whose capacity is full need the ratio order
    if bind.size:  # sort only their points of negative reduced cost, column by column (one lexsort)
        r, k = np.nonzero(neg[:, bind])
        wk = w[r]
        o = np.lexsort((v[r, bind[k]] / np.where(wk > 0, wk, 1.0), k))
        r, k, wk = r[o], k[o], wk[o]
        cum = np.cumsum(wk)
        first = np.searchsorted(k, np.arange(len(bind)))
        before = cum - wk - np.r_[0.0, cum][first][k]
        with np.errstate(invalid="ignore", divide="ignore"):
            take = np.where(wk > 0, np.clip((cap[bind][k] - before) / np.where(wk > 0, wk, 1.0), 0.0, 1.0), 1.0)
        x[:, bind] = 0.0
        x[r, bind[k]] = take
    return (v * x).sum(axis=0), x


def transport_cost(c: np.ndarray, w: np.ndarray, cap: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray | None]:
    """Return the least cost of serving every point from the open hubs `y` within their capacities, and the fractions x (n × open).

    ``inf`` and None when the open hubs cannot hold the demand.
    """
    from scipy.optimize import linprog  # scipy.optimize costs ~0.3 s to import: only when a form or a capacity needs it

    idx = np.flatnonzero(y)
    n, k = c.shape[0], len(idx)
    capk = cap[idx]
    if capk.sum() < w.sum() * (1 - 1e-12):
        return np.inf, None
    if np.isinf(capk).all():
        best = c[:, idx].argmin(axis=1)
        x = np.zeros((n, k))
        x[np.arange(n), best] = 1.0
        return float(w @ c[np.arange(n), idx[best]]), x
    cost = (w[:, None] * c[:, idx]).ravel()
    eq = sparse.csr_matrix((np.ones(n * k), (np.repeat(np.arange(n), k), np.arange(n * k))), shape=(n, n * k))
    lim = np.flatnonzero(np.isfinite(capk))
    ub = sparse.csr_matrix((np.tile(w, len(lim)), (np.repeat(np.arange(len(lim)), n), (np.arange(n)[None, :] * k + lim[:, None]).ravel())),
                           shape=(len(lim), n * k))  # fmt: skip
    res = linprog(cost, A_ub=ub, b_ub=capk[lim], A_eq=eq, b_eq=np.ones(n), bounds=(0, 1), method="highs")
    if res.status != 0:
        return np.inf, None
    return float(res.fun), res.x.reshape(n, k)


@dataclass
class _Ascent:
    bound: float
    lam: np.ndarray
    rho: np.ndarray | None
    y: np.ndarray | None
    primal: list[np.ndarray] = field(default_factory=list)


def _ascend(wc: np.ndarray, rules: UnitRules, fixed, closed, lam, upper: float, *, iterations: int, theta: float,
            collect: int = 0, deadline: float = np.inf, w: np.ndarray | None = None, cap: np.ndarray | None = None) -> _Ascent:  # fmt: skip
    """Raise the Lagrangian bound by subgradient steps from `lam` (until `deadline`, a perf_counter time, after 50 steps).

    Every `collect`-th subproblem answer is kept as a primal guess. With `cap` (and the
    demand `w`) each candidate's price is its capacitated knapsack (:func:`knapsack_prices`).
    """
    best = _Ascent(-np.inf, lam.copy(), None, None)
    stall, tol = 0, 1e-9 * max(1.0, abs(upper))
    live = np.flatnonzero(~closed)  # capacitated: only candidates still open to choice are priced
    wcl, capl, rho = (wc[:, live], cap[live], np.full(wc.shape[1], np.inf)) if cap is not None else (None, None, None)
    for it in range(iterations):
        if it >= 50 and it % 50 == 0 and time.perf_counter() > deadline:
            break
        if cap is None:
            red = np.minimum(0.0, wc - lam[:, None])
            rho = red.sum(axis=0)
        else:
            rho = rho.copy()
            rho[live], xs = knapsack_prices(wcl, lam, w, capl)
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
        g = 1.0 - ((red[:, y] < 0).sum(axis=1) if cap is None else xs[:, y[live]].sum(axis=1))
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
    with np.errstate(invalid="ignore"):  # inf − inf (priced-out candidate, no removable hub) is no reason to close
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
                     rel_tol: float = 1e-7, cap: np.ndarray | None = None, root_iterations: int = 3000,
                     node_iterations: int = 150) -> BranchAndBoundResult:  # fmt: skip
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
    cap
        Capacity of each candidate (demand it may serve; ``inf`` for none): the capacitated
        problem, answers costed by :func:`transport_cost`.
    """
    # length: one search loop; its steps (ascent, fixing, branching) are the functions above
    t0 = time.perf_counter()
    wc = w[:, None] * c
    costed: dict[bytes, float] = {}

    def cost(y: np.ndarray) -> float:
        if cap is None:
            return float(w @ c[:, y].min(axis=1))
        key = np.packbits(y).tobytes()
        if key not in costed:
            costed[key] = transport_cost(c, w, cap, y)[0]
        return costed[key]

    best_y, upper = start.copy(), cost(start)
    tol = rel_tol * max(1.0, abs(upper))
    lam0 = w * np.sort(c, axis=1)[:, min(1, c.shape[1] - 1)]
    none = np.zeros(c.shape[1], dtype=bool)
    if cap is not None:  # each capacitated step prices knapsacks: shorter ascents, more (cheap) branching
        root_iterations, node_iterations = min(root_iterations, 1000), min(node_iterations, 60)
    root = _ascend(wc, rules, rules.fixed, none, lam0, upper, iterations=root_iterations, theta=2.0, collect=25, deadline=t0 + time_limit, w=w, cap=cap)
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
        a = root if nodes == 1 else _ascend(wc, rules, fixed, closed, lam, upper, iterations=node_iterations, theta=0.5, w=w, cap=cap)
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
