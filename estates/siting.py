"""Hub siting: choose p hubs from candidates (p-median or maximal covering).

Two solvers over the same inputs, a cost matrix (demand points × candidates, minutes)
and demand weights:

* :func:`solve_exact` proves optimality: the p-median, capacitated or not, by
  Lagrangian branch and bound (:mod:`estates.lagrangian`): subgradient bounds equal
  to the linear-programming bound in about a second, reduced-cost fixing, best-bound
  search; maximal covering by its covering MIP in HiGHS (through ``highspy``, built
  from arrays, no modelling layer). Reports objective, bound and gap; HiGHS prints nothing.
* :func:`solve_heuristic` runs a greedy start and then vertex substitution with
  Whitaker's fast interchange (vectorised in NumPy): each pass prices every
  (insert, remove) pair at once.

Maximal covering is the p-median of the 0/1 cost "not within T minutes", so both
solvers handle it. Constraints: at least one hub in each required unit (neighbourhood),
hubs fixed open, and (exact only) capacities.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse

from estates.lagrangian import UnitRules, branch_and_bound, transport_cost
from placekit.errors import InfeasibleError, PlacekitError

__all__ = ["SitingProblem", "SitingResult", "solve_exact", "solve_heuristic", "brute_force", "coverage_cost", "smallest_p"]

Objective = Literal["pmedian", "mclp"]


@dataclass(frozen=True)
class SitingProblem:
    """A location–allocation problem.

    Attributes
    ----------
    cost
        Demand points × candidates (minutes); ``inf`` for unreachable pairs.
    weights
        Demand per point (residents).
    p
        Number of hubs to open.
    candidate_unit
        Optional unit (neighbourhood) of each candidate.
    required_units
        Units that must hold at least one hub.
    fixed
        Candidates that must be open (existing hubs).
    capacity
        Optional demand capacity of each candidate (exact solver only). A demand point may
        then be split between hubs; the result gives `loads` per hub and `split_points`.
    """

    cost: pd.DataFrame
    weights: pd.Series
    p: int
    candidate_unit: pd.Series | None = None
    required_units: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()
    capacity: pd.Series | None = None

    def __post_init__(self) -> None:
        c = self.cost
        if c.shape[1] == 0:
            raise PlacekitError("there are no candidate sites; add candidates (a sites layer) before siting hubs.")
        if c.shape[0] == 0:
            raise PlacekitError("there are no demand points; the cost matrix has no rows.")
        if not c.columns.is_unique or not c.index.is_unique:
            raise PlacekitError("the cost matrix has duplicate candidate or demand ids; make ids unique.")
        if self.p < 1 or self.p > c.shape[1]:
            raise PlacekitError(f"`p` was {self.p} but must be between 1 and the number of candidates ({c.shape[1]}).")
        if not self.weights.index.equals(c.index):
            raise PlacekitError("`weights` must be indexed like the rows of `cost` (the demand points).")
        if (self.weights < 0).any() or self.weights.isna().any():
            raise PlacekitError("`weights` must be non-negative numbers.")
        if np.isnan(c.to_numpy()).any():
            raise PlacekitError("`cost` has NaN entries; use inf for unreachable pairs.")
        unknown = [f for f in self.fixed if f not in c.columns]
        if unknown:
            raise PlacekitError(f"fixed hub(s) {unknown} are not candidates; pick them from the cost matrix columns.")
        if self.required_units:
            if self.candidate_unit is None:
                raise PlacekitError("`required_units` needs `candidate_unit` (the unit of each candidate).")
            have = set(self.candidate_unit.reindex(c.columns).dropna())
            missing = [u for u in self.required_units if u not in have]
            if missing:
                raise InfeasibleError(
                    f"no candidate site lies in neighbourhood(s) {missing}, and the rule asks for a hub in every one. Add a "
                    "candidate there (an estates file with role hub_candidate), widen the candidate types (--candidates), or drop the rule (--no-neighbourhood-rule)."
                )
        least = smallest_p(self)
        if self.p < least:
            raise InfeasibleError(f"p = {self.p} is too small: {_why_p(self)}; the smallest p that works is {least}.")

    @property
    def matrix(self) -> np.ndarray:
        """Return the cost as floats with ``inf`` replaced by a large finite penalty."""
        a = self.cost.to_numpy(dtype=float)
        finite = a[np.isfinite(a)]
        big = (finite.max() if finite.size else 1.0) * 10 + 1
        return np.where(np.isfinite(a), a, big)


def smallest_p(prob: SitingProblem) -> int:
    """Return the least number of hubs that meets the rules: the fixed hubs plus one per required unit they leave without a hub."""
    fixed = set(prob.fixed)
    covered = set(prob.candidate_unit.reindex(list(fixed)).dropna()) if prob.candidate_unit is not None and fixed else set()
    return max(1, len(fixed) + len([u for u in prob.required_units if u not in covered]))


def _why_p(prob: SitingProblem) -> str:
    parts = []
    if prob.fixed:
        parts.append(f"{len(set(prob.fixed))} hub(s) are fixed open")
    if prob.required_units:
        parts.append(f"each of the {len(prob.required_units)} neighbourhoods needs a hub")
    return " and ".join(parts) or "at least one hub is needed"


@dataclass
class SitingResult:
    """The chosen hubs and how good they are.

    Attributes
    ----------
    hubs
        Candidate ids opened.
    objective
        Total weighted cost (resident-minutes for the p-median; residents not covered for
        maximal covering).
    bound, gap
        Proven lower bound and relative gap (None for the heuristic).
    seconds, solver, status
        Time taken, what solved it, and the solver's final status ("Optimal", "Time limit reached", ...).
    assignment
        Each demand point's hub.
    iterations
        Local-search passes (heuristic) or branch-and-bound nodes (exact).
    weight_total
        Total demand, so ``objective / weight_total`` is the mean cost per resident.
    loads, split_points
        Demand served per hub and points split between hubs (capacitated problems only).
    candidates
        Which sites could become hubs and why (set by :func:`estates.access.site_hubs`).
    """

    hubs: list[str]
    objective: float
    bound: float | None
    gap: float | None
    seconds: float
    solver: str
    status: str
    assignment: pd.Series = field(default_factory=pd.Series)
    iterations: int = 0
    weight_total: float = 0.0
    loads: pd.Series | None = None
    split_points: int | None = None
    candidates: str = ""

    @property
    def mean_cost(self) -> float:
        """Return the objective per unit of demand (e.g. mean minutes per resident)."""
        return self.objective / self.weight_total if self.weight_total else float("nan")


def coverage_cost(minutes: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Return the 0/1 cost "not within `threshold` minutes" whose p-median is the maximal covering problem."""
    out = (minutes > threshold).astype(float)
    out.attrs["threshold"] = threshold
    return out


def _finish(prob: SitingProblem, open_idx: np.ndarray, start: float, **kw) -> SitingResult:
    c = prob.matrix
    sub = c[:, open_idx]
    best = sub.argmin(axis=1)
    w = prob.weights.to_numpy(dtype=float)
    obj = float(w @ sub[np.arange(len(c)), best])
    cols = prob.cost.columns
    return SitingResult(
        hubs=[cols[j] for j in open_idx],
        objective=obj,
        seconds=time.perf_counter() - start,
        assignment=pd.Series(cols[open_idx][best], index=prob.cost.index, name="hub"),
        weight_total=float(w.sum()),
        **kw,
    )


# --------------------------------------------------------------------------- heuristic
def _masks(prob: SitingProblem):
    cols = prob.cost.columns
    fixed = np.isin(cols, list(prob.fixed))
    unit = prob.candidate_unit.reindex(cols).to_numpy() if prob.candidate_unit is not None else np.full(len(cols), None)
    req = set(prob.required_units)
    return fixed, unit, req


def _greedy(prob: SitingProblem, c: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Open hubs one at a time, each the cheapest addition: first one per required unit lacking one, then any."""
    fixed, unit, _ = _masks(prob)
    is_open = fixed.copy()
    d1 = c[:, is_open].min(axis=1) if is_open.any() else np.full(c.shape[0], np.inf, dtype=c.dtype)

    def add_best(allowed: np.ndarray) -> None:
        nonlocal d1
        score = w @ np.minimum(d1[:, None], c) if np.isfinite(d1).any() else w @ c
        j = int(np.argmin(np.where(allowed & ~is_open, score, np.inf)))
        is_open[j] = True
        d1 = np.minimum(d1, c[:, j])

    while lacking := [u for u in prob.required_units if not (is_open & (unit == u)).any()]:
        add_best(np.isin(unit, lacking))
    while is_open.sum() < prob.p:
        add_best(np.ones(c.shape[1], dtype=bool))
    return is_open


def _local_search(prob: SitingProblem, c: np.ndarray, w: np.ndarray, is_open: np.ndarray, max_iter: int) -> int:
    """Improve `is_open` in place by best-improvement swaps (Whitaker's fast interchange); return the passes made."""
    fixed, unit, req = _masks(prob)
    n = c.shape[0]
    for it in range(1, max_iter + 1):
        idx = np.flatnonzero(is_open)
        sub = c[:, idx]
        if len(idx) > 1:
            part = np.argpartition(sub, 1, axis=1)[:, :2]
            a, b = sub[np.arange(n), part[:, 0]], sub[np.arange(n), part[:, 1]]
            first, d1, d2 = np.where(a <= b, part[:, 0], part[:, 1]), np.minimum(a, b), np.maximum(a, b)
        else:
            first, d1, d2 = np.zeros(n, dtype=int), sub[:, 0], np.full(n, np.finfo(c.dtype).max / 4, dtype=c.dtype)
        gain = w @ np.maximum(d1[:, None] - c, 0)  # saving from inserting j, per candidate
        extra = w[:, None] * (np.minimum(c, d2[:, None]) - np.minimum(c, d1[:, None]))
        onehot = sparse.csr_matrix((np.ones(n), (first, np.arange(n))), shape=(len(idx), n))
        change = np.asarray(onehot @ extra) - gain[None, :]  # (open r) × (candidate j): net change of swapping r for j
        change[:, is_open] = np.inf
        change[fixed[idx], :] = np.inf
        for k, r in enumerate(idx):
            if unit[r] in req and (is_open & (unit == unit[r])).sum() == 1:
                change[k, unit != unit[r]] = np.inf  # r is its unit's only hub: only a same-unit swap keeps it covered
        k, j = np.unravel_index(np.argmin(change), change.shape)
        if not change[k, j] < -1e-9 * max(1.0, float(w @ d1)):
            return it
        is_open[idx[k]], is_open[j] = False, True
    return max_iter


def _kick(prob: SitingProblem, best: np.ndarray, rng: np.random.Generator, kick: int) -> np.ndarray | None:
    """Return `best` with up to `kick` free hubs swapped for random candidates (of the same unit when it is required)."""
    fixed, unit, req = _masks(prob)
    trial = best.copy()
    movable = np.flatnonzero(trial & ~fixed)
    if len(movable) == 0:
        return None
    for r in rng.choice(movable, size=min(kick, len(movable)), replace=False):
        pool = np.flatnonzero(~trial & ((unit == unit[r]) if unit[r] in req else np.ones(len(trial), dtype=bool)))
        if len(pool):
            trial[r], trial[rng.choice(pool)] = False, True
    return trial


def solve_heuristic(
    prob: SitingProblem, *, max_iter: int = 500, dtype: type[np.floating] = np.float64, restarts: int = 12, kick: int = 3, seed: int = 0
) -> SitingResult:
    """Greedy start, best-improvement vertex substitution (fast interchange), then iterated local search.

    Keeps fixed hubs open and at least one hub in each required unit throughout.
    `restarts` kicks of `kick` random swaps each follow the first local optimum (seeded,
    so the answer is repeatable); 0 gives the plain greedy + interchange.
    """
    start = time.perf_counter()
    c = prob.matrix.astype(dtype, copy=False)
    w = prob.weights.to_numpy(dtype=dtype)
    best = _greedy(prob, c, w)
    it = _local_search(prob, c, w, best, max_iter)
    best_val = float(w @ c[:, best].min(axis=1))
    rng = np.random.default_rng(seed)
    for _ in range(restarts):
        trial = _kick(prob, best, rng, kick)
        if trial is None:
            break
        it += _local_search(prob, c, w, trial, max_iter)
        val = float(w @ c[:, trial].min(axis=1))
        if val < best_val - 1e-9 * max(1.0, abs(best_val)):
            best, best_val = trial, val
    res = _finish(prob, np.flatnonzero(best), start, bound=None, gap=None, solver="greedy + fast interchange", status="local optimum")
    res.iterations = it
    return res


# --------------------------------------------------------------------------- exact
@contextmanager
def _quiet_stdout():
    """Send file descriptor 1 to /dev/null for the duration (HiGHS prints its banner from C, past Python's sys.stdout)."""
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def _rules(prob: SitingProblem) -> UnitRules:
    fixed, unit, _ = _masks(prob)
    return UnitRules(prob.p, fixed, tuple(np.flatnonzero(unit == u) for u in prob.required_units))


def _is_coverage(prob: SitingProblem) -> bool:
    """Return True when every cost is 0 or 1 (maximal covering: "not within the threshold")."""
    a = prob.cost.to_numpy(dtype=float)
    return bool(np.isin(a, (0.0, 1.0)).all())


def _run(h, verbose: bool) -> None:
    if verbose:
        h.run()
    else:
        with _quiet_stdout():
            h.run()


def solve_exact(prob: SitingProblem, *, time_limit: float = 120.0, threads: int | None = None, verbose: bool = False,
                engine: str = "auto") -> SitingResult:  # fmt: skip
    """Solve to proven optimality (or the time limit); report objective, bound and gap.

    Engines (``auto`` picks the first that fits):

    * maximal covering (a 0/1 cost): the covering MIP in HiGHS (:func:`_covering_model`:
      one binary per candidate, one covered share per demand point), built from arrays;
    * p-median and capacitated p-median: Lagrangian branch and bound
      (:mod:`estates.lagrangian`), started from the swap heuristic's answer (capacitated:
      from the better of that answer and the largest capacities, costed by a
      transportation problem).

    ``engine="lagrangian"`` forces the branch and bound (maximal covering included);
    ``engine="highs"`` forces HiGHS (capacitated: the classic assignment formulation with
    x_ij ≤ y_j). When `time_limit` stops the search the result says so in ``status``, with
    the proven bound and the gap.

    Raises
    ------
    InfeasibleError
        If the constraints cannot all be met (e.g. capacities below total demand).
    """
    if engine not in ("auto", "lagrangian", "highs"):
        raise PlacekitError(f'`engine` was "{engine}" but is expected to be "auto", "lagrangian" or "highs".')
    start = time.perf_counter()
    if prob.capacity is not None and engine == "highs":
        costs, col_lo, col_up, n_int, a, row_lo, row_up, offset = _assignment_model(prob)
        h = _highs(a, costs, col_lo, col_up, n_int, row_lo, row_up, offset, time_limit=time_limit, threads=threads, verbose=verbose)
        _run(h, verbose)
        return _result(prob, h, start, "HiGHS MILP (assignment, capacitated)", capacitated=True, rounds=1)
    if prob.capacity is None and (engine == "highs" or (engine == "auto" and _is_coverage(prob))):
        costs, col_lo, col_up, n_int, a, row_lo, row_up, offset = _covering_model(prob)
        h = _highs(a, costs, col_lo, col_up, n_int, row_lo, row_up, offset, time_limit=time_limit, threads=threads, verbose=verbose)
        _run(h, verbose)
        return _result(prob, h, start, "HiGHS MILP (maximal covering)", capacitated=False, rounds=1)
    return _lagrangian(prob, start, time_limit)


def _capacity_start(prob: SitingProblem, cap: np.ndarray, heur: np.ndarray) -> np.ndarray:
    """Return a start that can hold the demand: the heuristic's hubs if they can, else the largest capacities (one per unit first)."""
    w = float(prob.weights.sum())
    if cap[heur].sum() >= w:
        return heur
    fixed, unit, _ = _masks(prob)
    y = fixed.copy()
    order = np.argsort(-cap, kind="stable")
    for u in prob.required_units:
        if not (y & (unit == u)).any():
            y[order[np.flatnonzero(unit[order] == u)[0]]] = True
    for j in order:
        if y.sum() >= prob.p:
            break
        y[j] = True
    if cap[y].sum() < w * (1 - 1e-12):
        raise InfeasibleError(
            f"no {prob.p} hubs can hold the {w:,.0f} residents: the largest capacities that meet the rules add up to {cap[y].sum():,.0f}. "
            "Raise --capacity-factor, allow more hubs (-p), or add candidates of known capacity."
        )
    return y


def _lagrangian(prob: SitingProblem, start: float, time_limit: float) -> SitingResult:
    c = prob.matrix
    w = prob.weights.to_numpy(dtype=float)
    heur = np.isin(prob.cost.columns, solve_heuristic(prob).hubs)
    cap = None if prob.capacity is None else prob.capacity.reindex(prob.cost.columns).fillna(np.inf).to_numpy(dtype=float)

    def improve(y: np.ndarray) -> np.ndarray:
        if cap is not None:  # the swap search prices uncapacitated moves
            return y
        y = y.copy()
        _local_search(prob, c, w, y, 500)
        return y

    first = heur if cap is None else _capacity_start(prob, cap, heur)
    if cap is not None and np.isfinite(transport_cost(c, w, cap, heur)[0]):
        first = heur if transport_cost(c, w, cap, heur)[0] <= transport_cost(c, w, cap, first)[0] else first
    remaining = max(time_limit - (time.perf_counter() - start), 0.0)
    bb = branch_and_bound(c, w, _rules(prob), first, improve, time_limit=remaining, cap=cap)
    gap = max(0.0, (bb.objective - bb.bound) / bb.objective) if bb.objective else 0.0
    status = "Optimal" if bb.proven else "Time limit reached"
    what = "capacitated, knapsack prices" if cap is not None else ("maximal covering" if _is_coverage(prob) else "p-median")
    solver = f"Lagrangian branch and bound, {what} ({bb.nodes} nodes; root bound {bb.root_bound:,.1f})"
    res = _finish(prob, np.flatnonzero(bb.y), start, bound=bb.bound, gap=gap, solver=solver, status=status)
    res.iterations = bb.nodes
    if cap is not None:
        _with_loads(res, prob, c, w, cap, bb.y)
    return res


def _with_loads(res: SitingResult, prob: SitingProblem, c: np.ndarray, w: np.ndarray, cap: np.ndarray, y: np.ndarray) -> None:
    """Set the capacitated answer's objective, loads, split points and each point's main hub from its transportation problem."""
    obj, x = transport_cost(c, w, cap, y)
    hubs = prob.cost.columns[np.flatnonzero(y)]
    res.objective = obj
    res.assignment = pd.Series(hubs[x.argmax(axis=1)], index=prob.cost.index, name="hub")
    res.loads = pd.Series(w @ x, index=hubs).loc[res.hubs]
    res.split_points = int(((x > 1e-6).sum(axis=1) > 1).sum())


def _covering_model(prob: SitingProblem):
    """Maximal covering: binary y_j, covered share z_i ≤ Σ_{j covers i} y_j; minimise the residents not covered, Σ w_i (1 − z_i)."""
    a = prob.cost.to_numpy(dtype=float)
    w = prob.weights.to_numpy(dtype=float)
    n, m = a.shape
    ii, jj = np.nonzero(a == 0.0)
    rows_i = [np.arange(n), ii]
    cols_j = [m + np.arange(n), jj]
    vals = [np.ones(n), -np.ones(len(ii))]
    costs = np.r_[np.zeros(m), -w]
    return _assemble(prob, costs, rows_i, cols_j, vals, [np.full(n, -np.inf)], n, m + n, float(w.sum()), n_int=m, row_up=[np.zeros(n)])


def _assignment_model(prob: SitingProblem):
    """Classic formulation with assignment variables x_ij and capacities."""
    c = prob.matrix
    w = prob.weights.to_numpy(dtype=float)
    n, m = c.shape
    cap = prob.capacity.reindex(prob.cost.columns).fillna(np.inf).to_numpy(dtype=float)
    x = m + np.arange(n * m).reshape(n, m)
    costs = np.r_[np.zeros(m), (w[:, None] * c).ravel()]
    rows_i, cols_j, vals, row_lo, row_up = [], [], [], [], []
    # each point assigned once: Σ_j x_ij = 1
    rows_i.append(np.repeat(np.arange(n), m))
    cols_j.append(x.ravel())
    vals.append(np.ones(n * m))
    row_lo.append(np.ones(n))
    row_up.append(np.ones(n))
    # x_ij ≤ y_j
    r0 = n
    rows_i += [r0 + np.arange(n * m), r0 + np.arange(n * m)]
    cols_j += [x.ravel(), np.tile(np.arange(m), n)]
    vals += [np.ones(n * m), -np.ones(n * m)]
    row_lo.append(np.full(n * m, -np.inf))
    row_up.append(np.zeros(n * m))
    # capacity: Σ_i w_i x_ij ≤ cap_j y_j
    r1 = r0 + n * m
    finite = np.flatnonzero(np.isfinite(cap))
    for k, j in enumerate(finite):
        rows_i += [np.full(n, r1 + k), [r1 + k]]
        cols_j += [x[:, j], [j]]
        vals += [w, [-cap[j]]]
    row_lo.append(np.full(len(finite), -np.inf))
    row_up.append(np.zeros(len(finite)))
    n_row = r1 + len(finite)
    return _assemble(prob, costs, rows_i, cols_j, vals, row_lo, n_row, m + n * m, 0.0, n_int=m, row_up=row_up)


def _assemble(prob, costs, rows_i, cols_j, vals, row_lo, n_row, n_col, offset, *, n_int, row_up=None):
    m = prob.cost.shape[1]
    cols = prob.cost.columns
    ri = [np.concatenate(rows_i)] if rows_i else [np.zeros(0, int)]
    cj = [np.concatenate(cols_j)] if cols_j else [np.zeros(0, int)]
    vv = [np.concatenate(vals)] if vals else [np.zeros(0)]
    lo = [np.concatenate(row_lo)] if row_lo else [np.zeros(0)]
    up = [np.concatenate(row_up)] if row_up else [np.full(n_row, np.inf)]
    extra = 0
    # Σ y = p
    ri.append(np.full(m, n_row))
    cj.append(np.arange(m))
    vv.append(np.ones(m))
    lo.append([prob.p])
    up.append([prob.p])
    extra += 1
    unit = prob.candidate_unit.reindex(cols).to_numpy() if prob.candidate_unit is not None else None
    for u in prob.required_units:
        js = np.flatnonzero(unit == u)
        ri.append(np.full(len(js), n_row + extra))
        cj.append(js)
        vv.append(np.ones(len(js)))
        lo.append([1.0])
        up.append([np.inf])
        extra += 1
    a = sparse.csc_matrix((np.concatenate(vv), (np.concatenate(ri), np.concatenate(cj))), shape=(n_row + extra, n_col))
    col_lo = np.zeros(n_col)
    col_up = np.ones(n_col)
    col_lo[np.flatnonzero(np.isin(cols, list(prob.fixed)))] = 1.0
    return (
        costs,
        col_lo,
        col_up,
        n_int,
        a,
        np.concatenate([np.asarray(x, float) for x in lo]),
        np.concatenate([np.asarray(x, float) for x in up]),
        offset,
    )


def _highs(a, costs, col_lo, col_up, n_int, row_lo, row_up, offset, *, time_limit, threads, verbose):
    import highspy

    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = costs, col_lo, col_up
    lp.row_lower_, lp.row_upper_ = row_lo, row_up
    lp.offset_ = offset
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = a.shape[1], a.shape[0]
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_int + [highspy.HighsVarType.kContinuous] * (a.shape[1] - n_int)
    with _quiet_stdout():
        h = highspy.Highs()
        h.setOptionValue("output_flag", verbose)
    h.setOptionValue("time_limit", float(max(time_limit, 0.1)))
    h.setOptionValue("mip_rel_gap", 1e-7)
    if threads:
        h.setOptionValue("threads", int(threads))
    h.passModel(lp)
    return h


def _result(prob, h, start, solver, *, capacitated, rounds):
    status = h.modelStatusToString(h.getModelStatus())
    if status in ("Infeasible", "Primal infeasible or unbounded"):
        raise InfeasibleError(f"no set of {prob.p} hubs meets every constraint (HiGHS: {status}); relax capacities or required units.")
    colv = np.asarray(h.getSolution().col_value)
    if colv.size == 0:
        raise InfeasibleError(f"HiGHS found no solution in time (status {status}).")
    info = h.getInfo()
    m = prob.cost.shape[1]
    open_idx = np.flatnonzero(colv[:m] > 0.5)
    if h.getInfo().primal_solution_status != 2 or len(open_idx) != prob.p:  # 2: a feasible incumbent
        raise PlacekitError(f"HiGHS found no set of {prob.p} hubs within the time limit (status {status}); raise the time limit.")
    res = _finish(prob, open_idx, start, bound=float(info.mip_dual_bound), gap=float(info.mip_gap), solver=solver, status=status)
    if capacitated:
        # Demand may be split between hubs (x is continuous); the assignment names each point's main hub.
        x = colv[m:].reshape(prob.cost.shape)
        res.assignment = pd.Series(prob.cost.columns[x.argmax(axis=1)], index=prob.cost.index, name="hub")
        res.loads = pd.Series(prob.weights.to_numpy() @ x, index=prob.cost.columns).loc[res.hubs]
        res.split_points = int(((x > 1e-6).sum(axis=1) > 1).sum())
        res.objective = float(info.objective_function_value)
    res.iterations = rounds
    return res


def brute_force(prob: SitingProblem) -> SitingResult:
    """Try every set of p candidates (small problems only; for tests); with capacities each set is costed by its transportation problem."""
    from itertools import combinations

    start = time.perf_counter()
    c = prob.matrix
    w = prob.weights.to_numpy(dtype=float)
    fixed, unit, req = _masks(prob)
    cap = None if prob.capacity is None else prob.capacity.reindex(prob.cost.columns).fillna(np.inf).to_numpy(dtype=float)
    best, best_set = np.inf, None
    for combo in combinations(range(c.shape[1]), prob.p):
        idx = np.array(combo)
        if not fixed[np.flatnonzero(fixed)].all() or not set(np.flatnonzero(fixed)) <= set(combo):
            continue
        if req and not req <= set(unit[idx]):
            continue
        v = float(w @ c[:, idx].min(axis=1)) if cap is None else transport_cost(c, w, cap, np.isin(np.arange(c.shape[1]), idx))[0]
        if v < best - 1e-12:
            best, best_set = v, idx
    if best_set is None or not np.isfinite(best):
        raise InfeasibleError("no combination meets the constraints.")
    res = _finish(prob, best_set, start, bound=best, gap=0.0, solver="brute force", status="Optimal")
    if cap is not None:
        _with_loads(res, prob, c, w, cap, np.isin(np.arange(c.shape[1]), best_set))
    return res
