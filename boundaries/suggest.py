"""Suggest single-ward moves that make neighbourhoods more self-contained."""

from __future__ import annotations

import numpy as np
import pandas as pd

from boundaries.flows import FlowBase, PracticeBy, compute_flows
from boundaries.grouping import Grouping, neighbourhood_parts
from placekit.settings import BAND_MAX, BAND_MIN

__all__ = ["suggest_moves"]


def suggest_moves(base: FlowBase, grouping: Grouping, adjacency: pd.DataFrame, ward_population: pd.Series, *,
                  practice_by: PracticeBy = "location", band: tuple[int, int] = (BAND_MIN, BAND_MAX), top: int = 10,
                  ward_names: dict[str, str] | None = None) -> pd.DataFrame:  # fmt: skip
    """Rank every move of one ward into an adjacent neighbourhood by its effect on self-containment.

    A candidate move takes a ward on the edge of its neighbourhood into a neighbourhood
    it touches. Moves that would empty a neighbourhood or split the one left behind are
    not considered. Moves that do not take the neighbourhoods further outside `band`
    (total residents beyond its limits) are ranked before moves that do; within each
    group, by ``score``: the gain in the lowest self-containment plus the gain in the
    residents-weighted mean (both as fractions).

    Returns
    -------
    pandas.DataFrame
        One row per move, best first: ``ward``, ``ward_name``, ``from/to_neighbourhood``,
        ``min/mean_before/after``, ``from/to_sc_before/after``, ``from/to_population_after``,
        ``band_ok``, ``band_breaches_after``, ``min_gain``, ``mean_gain``, ``score``.
    """
    before = compute_flows(base, grouping, practice_by=practice_by)
    wp = ward_population.reindex(list(grouping.ward_to_neighbourhood)).fillna(0)
    nb_pop = wp.groupby(grouping.wards).sum()
    base_breach = _breaches(nb_pop, band)
    rows = []
    for ward, src, dst in _frontier_moves(grouping, adjacency):
        g = grouping.move(ward, dst)
        if len(neighbourhood_parts(g, adjacency)[src]) > 1:
            continue  # would split the neighbourhood it leaves
        after = compute_flows(base, g, practice_by=practice_by)
        pop_after = nb_pop.copy()
        pop_after[src] -= wp[ward]
        pop_after[dst] += wp[ward]
        b_after = _breaches(pop_after, band)
        rows.append({
            "ward": ward, "ward_name": (ward_names or {}).get(ward, ""), "from_neighbourhood": src, "to_neighbourhood": dst,
            "min_before": before.min_self_containment, "min_after": after.min_self_containment,
            "mean_before": before.mean_self_containment, "mean_after": after.mean_self_containment,
            "from_sc_before": before.neighbourhoods.at[src, "self_containment"], "from_sc_after": after.neighbourhoods.at[src, "self_containment"],
            "to_sc_before": before.neighbourhoods.at[dst, "self_containment"], "to_sc_after": after.neighbourhoods.at[dst, "self_containment"],
            "from_population_after": int(pop_after[src]), "to_population_after": int(pop_after[dst]),
            "band_ok": bool(band[0] <= pop_after[src] <= band[1] and band[0] <= pop_after[dst] <= band[1]),
            "band_breaches_after": b_after, "_band_not_worse": b_after <= base_breach,
        })  # fmt: skip
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows)
    df["min_gain"] = df["min_after"] - df["min_before"]
    df["mean_gain"] = df["mean_after"] - df["mean_before"]
    df["score"] = df["min_gain"] + df["mean_gain"]
    df = df.sort_values(["_band_not_worse", "score", "min_gain"], ascending=[False, False, False])
    df = df.drop(columns="_band_not_worse").reset_index(drop=True)
    df.attrs.update({"practice_by": practice_by, "candidates": len(df)})
    return df.head(top) if top else df


def _breaches(pop: pd.Series, band: tuple[int, int]) -> float:
    """Return the residents beyond the band's limits, summed over neighbourhoods."""
    return float(np.clip(band[0] - pop, 0, None).sum() + np.clip(pop - band[1], 0, None).sum())


def _frontier_moves(grouping: Grouping, adjacency: pd.DataFrame):
    """Yield (ward, from, to) for each ward on a neighbourhood's edge and each neighbourhood it touches, never emptying one."""
    w2n = grouping.ward_to_neighbourhood
    sizes = pd.Series(list(w2n.values())).value_counts()
    neighbours: dict[str, set[str]] = {}
    for a, b in zip(adjacency["a"], adjacency["b"], strict=True):
        if a in w2n and b in w2n and w2n[a] != w2n[b]:
            neighbours.setdefault(a, set()).add(w2n[b])
            neighbours.setdefault(b, set()).add(w2n[a])
    for ward, targets in neighbours.items():
        if sizes[w2n[ward]] > 1:
            for dst in sorted(targets):
                yield ward, w2n[ward], dst
