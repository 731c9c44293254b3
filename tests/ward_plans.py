"""Plans of any number of neighbourhoods built from a place's real wards, for tests that must not assume 12.

:func:`contiguous_plan` splits the wards into `k` connected neighbourhoods whose residents fall in a
band (a depth-first search over connected sets of one to four wards, the most constrained ward first);
:func:`plan_grouping` names them and gives each the locality most of its wards had in a reference
grouping. On Manchester's 32 wards with Census 2021 residents, plans of 13, 14 and 15 neighbourhoods
all inside 30,000–50,000 exist (FINDINGS.md); 11 cannot all be under 50,000 (the mean is 50,172).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from boundaries.grouping import Grouping


def _neighbours(adjacency: pd.DataFrame, wards: list[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {w: set() for w in wards}
    for a, b in zip(adjacency["a"], adjacency["b"], strict=True):
        if a in out and b in out:
            out[a].add(b)
            out[b].add(a)
    return out


def _components(free: set[str], nbrs: dict[str, set[str]]) -> list[set[str]]:
    seen: set[str] = set()
    out = []
    for w in sorted(free):
        if w in seen:
            continue
        comp, stack = set(), [w]
        while stack:
            x = stack.pop()
            if x in comp:
                continue
            comp.add(x)
            stack.extend(nbrs[x] & free - comp)
        seen |= comp
        out.append(comp)
    return out


def _sets_with(w: str, free: set[str], nbrs: dict[str, set[str]], size: int) -> list[frozenset[str]]:
    """Return the connected sets of up to `size` free wards that contain `w`."""
    found = {frozenset([w])}
    frontier = [frozenset([w])]
    for _ in range(size - 1):
        nxt = []
        for s in frontier:
            for x in sorted(set().union(*(nbrs[y] for y in s)) & free - s):
                t = s | {x}
                if t not in found:
                    found.add(t)
                    nxt.append(t)
        frontier = nxt
    return sorted(found, key=lambda s: (len(s), sorted(s)))


def contiguous_plan(adjacency: pd.DataFrame, population: pd.Series, k: int, *, band: tuple[float, float] = (30_000, 50_000),
                    max_size: int = 4, max_nodes: int = 200_000) -> list[list[str]]:  # fmt: skip
    """Split the wards of `population` into `k` connected neighbourhoods of residents within `band`; return their wards.

    Raises
    ------
    ValueError
        When no such plan is found within `max_nodes` steps of the search.
    """
    wards = sorted(population.index)
    nbrs = _neighbours(adjacency, wards)
    pop = population.to_dict()
    lo, hi = band
    nodes = 0

    def feasible(free: set[str], left: int) -> bool:
        total = sum(pop[w] for w in free)
        if not (left * lo <= total <= left * hi and left <= len(free) <= left * max_size):
            return False
        return all(sum(pop[w] for w in c) >= lo for c in _components(free, nbrs))

    def search(free: set[str], groups: list[list[str]]) -> list[list[str]] | None:
        nonlocal nodes
        nodes += 1
        if nodes > max_nodes:
            return None
        if not free:
            return groups if len(groups) == k else None
        w = min(free, key=lambda x: (len(nbrs[x] & free), x))
        for s in _sets_with(w, free, nbrs, max_size):
            if lo <= sum(pop[x] for x in s) <= hi and feasible(free - s, k - len(groups) - 1):
                got = search(free - s, [*groups, sorted(s)])
                if got:
                    return got
        return None

    if k == 1:
        return [wards]
    plan = search(set(wards), []) if feasible(set(wards), k) else None
    if plan is None:
        raise ValueError(f"no plan of {k} connected neighbourhoods with residents in {band} found in {max_nodes:,} steps")
    return plan


def plan_grouping(plan: list[list[str]], reference: Grouping, *, names: Mapping[str, str] | None = None, name: str = "") -> Grouping:
    """Return `plan` as a grouping: neighbourhood i is named after its first ward, in the locality most of its wards had in `reference`."""
    w2n, n2l = {}, {}
    for i, wards in enumerate(plan, start=1):
        label = f"N{i:02d} {(names or {}).get(wards[0], wards[0])}"
        loc = pd.Series([reference.neighbourhood_to_locality[reference.ward_to_neighbourhood[w]] for w in wards]).mode().iloc[0]
        n2l[label] = loc
        w2n.update({w: label for w in wards})
    return Grouping(w2n, n2l, name=name or f"{len(plan)} neighbourhoods")
