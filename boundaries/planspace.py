"""Every valid plan of a graph of units, listed exactly: exact cover over the connected unit sets inside the band.

A valid plan splits the free units (those not in a locked neighbourhood) into
neighbourhoods that are each contiguous (connected over shared boundaries), inside the
population band and, where asked, inside one group (a locality). :func:`connected_blocks`
lists every connected unit set inside the band; a plan is an exact cover of the free
units by such blocks.

:class:`PlanSpace` builds the cover as a directed acyclic graph, in the manner of the
frontier-based (ZDD) method used to validate redistricting samplers: units are ordered
to keep the frontier narrow (reverse Cuthill–McKee), a state is the set of units already
covered, and from each state the only choices are the blocks whose lowest unit is the
lowest uncovered one. States reached by different routes are merged, and states from
which no cover can be finished are cut once. The number of plans with each count of
neighbourhoods then follows by dynamic programming over the states, without listing them;
plans can be listed (:meth:`PlanSpace.plans`), drawn uniformly at random
(:meth:`PlanSpace.sample`), or the best plan under an objective that adds up over
neighbourhoods found exactly (:meth:`PlanSpace.best_sum`, :meth:`PlanSpace.best_min`).
On Manchester's 32 wards and 30,000–50,000 the whole space is a few hundred states.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import reverse_cuthill_mckee

from placekit.errors import PlacekitError

__all__ = [
    "NotListableError",
    "SearchStopped",
    "MAX_BLOCKS",
    "MAX_STATES",
    "connected_blocks",
    "PlanSpace",
    "plan_space",
]

#: Most connected unit sets in the band listed before a space counts as too large to list.
MAX_BLOCKS = 200_000
#: Most cover states kept before a space counts as too large to list.
MAX_STATES = 400_000


class NotListableError(PlacekitError):
    """The space of valid plans is too large to list exactly (too many blocks or states); sample or search it instead."""


class SearchStopped(PlacekitError):
    """A listing or search was stopped by its time limit or a stop request."""


def connected_blocks(
    population: np.ndarray,
    neighbours: Sequence[np.ndarray],
    lo: float,
    hi: float,
    *,
    free: np.ndarray | None = None,
    group: np.ndarray | None = None,
    max_blocks: int = MAX_BLOCKS,
) -> list[tuple[int, ...]]:
    """Return every connected set of free units whose population lies in [`lo`, `hi`] (sorted tuples of positions).

    Parameters
    ----------
    population
        Residents per unit (non-negative).
    neighbours
        Per unit, the positions of the units it shares a boundary with.
    free
        Boolean mask of the units that may be used (default: all).
    group
        Per unit, a group label (e.g. its locality): a block stays inside one group.
    max_blocks
        Stop with :class:`NotListableError` beyond this many sets explored.

    Notes
    -----
    Sets are grown one neighbour at a time from single units, pruned as soon as their
    population exceeds `hi` (populations are non-negative), each set explored once.
    """
    n = len(population)
    free = np.ones(n, dtype=bool) if free is None else free
    stack = [frozenset([i]) for i in range(n) if free[i] and population[i] <= hi]
    seen = set(stack)
    out = []
    while stack:
        s = stack.pop()
        p = float(sum(population[i] for i in s))
        if p >= lo:
            out.append(tuple(sorted(s)))
        for i in s:
            for j in neighbours[i]:
                j = int(j)
                if j in s or not free[j] or p + population[j] > hi or (group is not None and group[j] != group[i]):
                    continue
                t = s | {j}
                if t not in seen:
                    seen.add(t)
                    if len(seen) > max_blocks:
                        raise NotListableError(
                            f"more than {max_blocks:,} connected sets of units fit the band: the space of plans is too large to list"
                        )
                    stack.append(t)
    return sorted(out)


@dataclass(eq=False)
class PlanSpace:
    """Every exact cover of the free units by blocks: the valid plans, as a graph of cover states.

    Attributes
    ----------
    n
        Number of units (free or not).
    free
        Boolean mask of the units the plans cover.
    blocks
        The connected in-band unit sets (sorted tuples of unit positions).
    edges
        State → list of (block index, next state), only edges that lead to a full cover.
    counts
        State → {number of blocks still to place: number of ways}; ``counts[0]`` gives
        the number of valid plans for each number of neighbourhoods.
    """

    n: int
    free: np.ndarray
    blocks: list[tuple[int, ...]]
    edges: dict[int, list[tuple[int, int]]]
    full: int
    counts: dict[int, dict[int, int]] = field(default_factory=dict)

    # ---------------------------------------------------------------- sizes
    @property
    def totals(self) -> dict[int, int]:
        """Return {number of neighbourhoods: number of valid plans} (the free units only)."""
        return dict(sorted(self.counts.get(0, {}).items()))

    def count(self, k: int) -> int:
        """Return the number of valid plans with `k` neighbourhoods (free units only)."""
        return self.totals.get(k, 0)

    @property
    def states(self) -> int:
        """Return how many cover states the space has."""
        return len(self.edges)

    # ---------------------------------------------------------------- listing
    def paths(self, k: int, *, deadline: float | None = None) -> Iterator[list[int]]:
        """Yield every valid plan with `k` neighbourhoods as a list of block indices.

        Raises
        ------
        SearchStopped
            When `deadline` (a ``time.monotonic()`` value) passes.
        """
        if self.count(k) == 0:
            return
        for i, path in enumerate(_paths_from(self, 0, k)):
            if deadline is not None and i % 4096 == 4095 and time.monotonic() > deadline:
                raise SearchStopped("the time limit stopped the listing of plans")
            yield path

    def labels(self, path: Sequence[int], *, fill: int = -1) -> np.ndarray:
        """Return a plan (block indices) as a label per unit (0..k-1 in block order; `fill` for units not free)."""
        out = np.full(self.n, fill, dtype=np.int64)
        for lab, b in enumerate(path):
            out[list(self.blocks[b])] = lab
        return out

    def plans(self, k: int, *, limit: int | None = None, deadline: float | None = None) -> np.ndarray:
        """Return every valid plan with `k` neighbourhoods as rows of unit labels (int16; -1 for units not free).

        Raises
        ------
        NotListableError
            When there are more than `limit` plans.
        SearchStopped
            When `deadline` (a ``time.monotonic()`` value) passes.
        """
        total = self.count(k)
        if limit is not None and total > limit:
            raise NotListableError(f"{total:,} valid plans with {k} neighbourhoods: more than {limit:,} to list")
        if total == 0:
            return np.full((0, self.n), -1, dtype=np.int16)
        return self.labels_of(_path_array(self, 0, k, {}, deadline))

    def labels_of(self, paths: np.ndarray) -> np.ndarray:
        """Return plans given as rows of block indices (one per neighbourhood) as rows of unit labels (int16; -1 not free)."""
        member = np.zeros((len(self.blocks), self.n), dtype=np.int16)
        for b, units in enumerate(self.blocks):
            member[b, list(units)] = 1
        out = np.full((len(paths), self.n), -1, dtype=np.int16)
        for lab in range(paths.shape[1] if paths.ndim == 2 else 0):
            out += (lab + 1) * member[paths[:, lab]]
        return out

    def shard_paths(self, k: int) -> list[list[int]]:
        """Return the first choices (one block each) that split the plans with `k` neighbourhoods into disjoint shards."""
        return [[b] for b, nxt in self.edges.get(0, []) if self.counts[nxt].get(k - 1, 0)]

    def plans_from(self, prefix: Sequence[int], k: int) -> np.ndarray:
        """Return the valid plans with `k` neighbourhoods that begin with the blocks `prefix` (one shard)."""
        state = 0
        for b in prefix:
            state = next(nxt for bb, nxt in self.edges[state] if bb == b)
        rows = []
        for tail in _paths_from(self, state, k - len(prefix)):
            rows.append(self.labels([*prefix, *tail]))
        return np.array(rows, dtype=np.int16).reshape(len(rows), self.n)

    # ---------------------------------------------------------------- sampling
    def sample(self, k: int, size: int, rng: random.Random) -> np.ndarray:
        """Return `size` plans with `k` neighbourhoods drawn independently and uniformly from all valid plans (rows of labels)."""
        if self.count(k) == 0:
            raise PlacekitError(f"no valid plan has {k} neighbourhoods: nothing to sample")
        out = np.full((size, self.n), -1, dtype=np.int16)
        for r in range(size):
            state, left, lab = 0, k, 0
            while state != self.full:
                options = [(b, nxt, self.counts[nxt].get(left - 1, 0)) for b, nxt in self.edges[state]]
                pick = rng.randrange(sum(c for _, _, c in options))
                for opt in options:
                    if pick < opt[2]:
                        break
                    pick -= opt[2]
                b, nxt, _ = opt
                out[r, list(self.blocks[b])] = lab
                state, left, lab = nxt, left - 1, lab + 1
        return out

    # ---------------------------------------------------------------- optimum
    def best_sum(self, k: int, value: np.ndarray, *, allowed: np.ndarray | None = None) -> tuple[tuple[float, ...], list[int]] | None:
        """Return the plan with `k` neighbourhoods maximising the sum over its blocks of `value` (exact, by dynamic programming).

        Parameters
        ----------
        value
            Per block, a value or a row of values compared in order (lexicographic: the
            second breaks ties of the first, ...).
        allowed
            Boolean mask of the blocks that may be used (default: all).

        Returns
        -------
        (tuple of float, list of int) or None
            The best total and the plan's blocks; None when no plan uses only allowed blocks.
        """
        value = np.atleast_2d(np.asarray(value, dtype=float).T).T if np.ndim(value) == 1 else np.asarray(value, dtype=float)
        memo: dict[tuple[int, int], tuple[tuple[float, ...], int, int] | None] = {}
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 4 * self.n + 100))
        try:
            best = _best(self, 0, k, value, allowed, memo)
        finally:
            sys.setrecursionlimit(limit)
        if best is None:
            return None
        path, state, left = [], 0, k
        while state != self.full:
            _, b, nxt = memo[(state, left)]
            path.append(b)
            state, left = nxt, left - 1
        return best[0], path

    def best_min(self, k: int, ratio: np.ndarray, tiebreak: np.ndarray) -> tuple[float, float, list[int]] | None:
        """Return the plan with `k` neighbourhoods maximising the lowest block `ratio`, ties broken by the largest sum of `tiebreak`.

        The threshold is found by bisection over the distinct block ratios (a plan using
        only blocks at or above it exists), then :meth:`best_sum` maximises `tiebreak`
        among the plans using only those blocks: exact for both.
        """
        levels = np.unique(ratio[np.isfinite(ratio)])
        lo, hi, found = 0, len(levels) - 1, None
        while lo <= hi:
            mid = (lo + hi) // 2
            got = self.best_sum(k, tiebreak, allowed=ratio >= levels[mid])
            if got is None:
                hi = mid - 1
            else:
                found, lo = (float(levels[mid]), got), mid + 1
        if found is None:
            return None
        level, (total, path) = found
        return level, total[0], path


def _path_array(space: PlanSpace, state: int, left: int, memo: dict, deadline: float | None) -> np.ndarray:
    """Return every way to finish the cover from `state` with `left` blocks, as rows of block indices (memoised)."""
    if state == space.full:
        return np.zeros((1, 0), dtype=np.int32)
    key = (state, left)
    if key in memo:
        return memo[key]
    if deadline is not None and time.monotonic() > deadline:
        raise SearchStopped("the time limit stopped the listing of plans")
    parts = []
    for b, nxt in space.edges[state]:
        if space.counts[nxt].get(left - 1, 0):
            tail = _path_array(space, nxt, left - 1, memo, deadline)
            parts.append(np.hstack([np.full((len(tail), 1), b, dtype=np.int32), tail]))
    memo[key] = np.vstack(parts)
    return memo[key]


def _paths_from(space: PlanSpace, state: int, left: int) -> Iterator[list[int]]:
    if state == space.full:
        yield []
        return
    for b, nxt in space.edges[state]:
        if space.counts[nxt].get(left - 1, 0):
            for tail in _paths_from(space, nxt, left - 1):
                yield [b, *tail]


def _best(space: PlanSpace, state: int, left: int, value: np.ndarray, allowed: np.ndarray | None, memo: dict):
    if state == space.full:
        return ((0.0,) * value.shape[1], -1, -1) if left == 0 else None
    key = (state, left)
    if key in memo:
        return memo[key]
    best = None
    if left > 0:
        for b, nxt in space.edges[state]:
            if (allowed is not None and not allowed[b]) or not space.counts[nxt].get(left - 1, 0):
                continue
            sub = _best(space, nxt, left - 1, value, allowed, memo)
            if sub is None:
                continue
            total = tuple(float(x + y) for x, y in zip(value[b], sub[0], strict=True))
            if best is None or total > best[0]:
                best = (total, b, nxt)
    memo[key] = best
    return best


def _order(neighbours: Sequence[np.ndarray], free: np.ndarray) -> np.ndarray:
    """Return a rank per unit that keeps the cover frontier narrow (reverse Cuthill–McKee over the free units)."""
    n = len(neighbours)
    rows = np.concatenate([np.full(len(nb), i) for i, nb in enumerate(neighbours)]) if n else np.zeros(0, int)
    cols = np.concatenate(list(neighbours)) if n else np.zeros(0, int)
    keep = free[rows] & free[cols] if len(rows) else np.zeros(0, dtype=bool)
    mat = csr_matrix((np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=(n, n))
    order = reverse_cuthill_mckee(mat, symmetric_mode=True)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return rank


def plan_space(
    population: np.ndarray,
    neighbours: Sequence[np.ndarray],
    lo: float,
    hi: float,
    *,
    free: np.ndarray | None = None,
    group: np.ndarray | None = None,
    max_blocks: int = MAX_BLOCKS,
    max_states: int = MAX_STATES,
    stop: Callable[[], bool] | None = None,
) -> PlanSpace:
    """Build the space of every valid plan of the free units (see the module's docstring).

    Raises
    ------
    NotListableError
        When there are more than `max_blocks` candidate blocks or `max_states` cover states.
    SearchStopped
        When `stop()` returns True (checked every few thousand states).
    """
    n = len(population)
    free = np.ones(n, dtype=bool) if free is None else np.asarray(free, dtype=bool)
    blocks = connected_blocks(population, neighbours, lo, hi, free=free, group=group, max_blocks=max_blocks)
    rank = _order(neighbours, free)
    bit = [1 << int(r) for r in rank]
    full = sum(bit[i] for i in range(n) if free[i])
    by_low: dict[int, list[tuple[int, int]]] = {}
    for b, units in enumerate(blocks):
        mask = sum(bit[i] for i in units)
        by_low.setdefault(min(int(rank[i]) for i in units), []).append((b, mask))
    edges: dict[int, list[tuple[int, int]]] = {}
    counts: dict[int, dict[int, int]] = {full: {0: 1}}
    pending = [0] if full else []
    while pending:  # depth first, children before parents, without recursion
        state = pending[-1]
        if state in counts:
            pending.pop()
            continue
        low = (~state & (state + 1)).bit_length() - 1
        kids = [(b, state | m) for b, m in by_low.get(low, []) if not m & state]
        todo = [s for _, s in kids if s not in counts]
        if todo:
            pending.extend(todo)
            continue
        pending.pop()
        good = [(b, s) for b, s in kids if counts[s]]
        edges[state] = good
        total: dict[int, int] = {}
        for _, s in good:
            for left, c in counts[s].items():
                total[left + 1] = total.get(left + 1, 0) + c
        counts[state] = total
        if len(counts) > max_states:
            raise NotListableError(f"more than {max_states:,} cover states: the space of plans is too large to list")
        if stop is not None and len(counts) % 2048 == 0 and stop():
            raise SearchStopped("stopped while listing the plans")
    edges[full] = []
    return PlanSpace(n=n, free=free, blocks=blocks, edges={s: e for s, e in edges.items() if counts.get(s)}, full=full, counts=counts)
