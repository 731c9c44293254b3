"""Suggest single-ward moves that make neighbourhoods more self-contained."""

from __future__ import annotations

import numpy as np
import pandas as pd

from boundaries.flows import FlowBase, PracticeBy, compute_flows
from boundaries.grouping import Grouping, neighbourhood_parts
from placekit.settings import BAND_MAX, BAND_MIN

__all__ = ["suggest_moves"]


def suggest_moves(
    base: FlowBase,
    grouping: Grouping,
    adjacency: pd.DataFrame,
    ward_population: pd.Series,
    *,
    practice_by: PracticeBy = "location",
    band: tuple[int, int] = (BAND_MIN, BAND_MAX),
    top: int = 10,
    ward_names: dict[str, str] | None = None,
) -> pd.DataFrame:
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
        One row per move, best first: ``ward``, ``ward_name``, ``from_neighbourhood``,
        ``to_neighbourhood``, ``min_before``, ``min_after``, ``mean_before``,
        ``mean_after``, ``from_sc_before/after``, ``to_sc_before/after``,
        ``from_population_after``, ``to_population_after``, ``band_ok`` and ``band_breaches_after``.
    """
    before = compute_flows(base, grouping, practice_by=practice_by)
    nbf = before.neighbourhoods
    wp = ward_population.reindex(list(grouping.ward_to_neighbourhood)).fillna(0)
    nb_pop = wp.groupby(grouping.wards).sum()

    def breaches(pop: pd.Series) -> float:
        return float(np.clip(band[0] - pop, 0, None).sum() + np.clip(pop - band[1], 0, None).sum())

    base_breach = breaches(nb_pop)
    w2n = grouping.ward_to_neighbourhood
    neighbours: dict[str, set[str]] = {}
    for a, b in zip(adjacency["a"], adjacency["b"], strict=True):
        if a in w2n and b in w2n and w2n[a] != w2n[b]:
            neighbours.setdefault(a, set()).add(w2n[b])
            neighbours.setdefault(b, set()).add(w2n[a])
    rows = []
    for ward, targets in neighbours.items():
        src = w2n[ward]
        if sum(1 for n in w2n.values() if n == src) == 1:
            continue  # would empty its neighbourhood
        for dst in sorted(targets):
            g = grouping.move(ward, dst)
            parts = neighbourhood_parts(g, adjacency)
            if len(parts[src]) > 1:
                continue  # would split the neighbourhood it leaves
            after = compute_flows(base, g, practice_by=practice_by)
            na = after.neighbourhoods
            pop_after = nb_pop.copy()
            pop_after[src] -= wp[ward]
            pop_after[dst] += wp[ward]
            b_after = breaches(pop_after)
            rows.append(
                {
                    "ward": ward,
                    "ward_name": (ward_names or {}).get(ward, ""),
                    "from_neighbourhood": src,
                    "to_neighbourhood": dst,
                    "min_before": before.min_self_containment,
                    "min_after": after.min_self_containment,
                    "mean_before": before.mean_self_containment,
                    "mean_after": after.mean_self_containment,
                    "from_sc_before": nbf.at[src, "self_containment"],
                    "from_sc_after": na.at[src, "self_containment"],
                    "to_sc_before": nbf.at[dst, "self_containment"],
                    "to_sc_after": na.at[dst, "self_containment"],
                    "from_population_after": int(pop_after[src]),
                    "to_population_after": int(pop_after[dst]),
                    "band_ok": bool(band[0] <= pop_after[src] <= band[1] and band[0] <= pop_after[dst] <= band[1]),
                    "band_breaches_after": b_after,
                    "_band_not_worse": b_after <= base_breach,
                }
            )
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
