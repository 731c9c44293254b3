"""Suggest single moves, of a ward or of a practice, that make neighbourhood teams more self-contained.

Every candidate is evaluated with the array core of :mod:`boundaries.flows` (one
``bincount`` per move), so a whole city's candidates take milliseconds.

The objective, stated: first, never make the weakest team weaker: moves that *raise*
the lowest containment rank above moves that keep it, which rank above moves that
lower it; then, within each of those, moves that keep the population band and
contiguity rank first; then by ``score``, the gain in the lowest containment plus the
gain in the city-wide containment (both as fractions).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from boundaries.flowbase import FlowBase
from boundaries.flows import MEASURES, team_counts
from boundaries.grouping import Grouping
from boundaries.membership import check_rule, explicit_units, resolve_practice_units, unit_index
from placekit.errors import PlacekitError
from placekit.settings import BAND_MAX, BAND_MIN

__all__ = ["suggest_moves", "apply_suggestion", "OBJECTIVE", "EFFECTS"]

#: The ranking, in words (also in ``attrs['objective']`` of every suggestion table).
OBJECTIVE = (
    "moves that raise the lowest containment first, then moves that keep it, then moves that lower it; within each, moves that "
    "keep the population band and contiguity first; then by score = gain in the lowest + gain in the city-wide containment"
)
#: Effect of a move on the lowest containment, best first.
EFFECTS = ("raises the lowest", "keeps the lowest", "lowers the lowest")
_TOL = 1e-12


class _Before:
    """The grouping's arrays and figures before any move."""

    def __init__(self, base: FlowBase, grouping: Grouping, adjacency: pd.DataFrame, rule: str, measure: str, size_base: str) -> None:
        self.base, self.rule, self.measure, self.size_base = base, rule, measure, size_base
        self.ward_unit, self.units = unit_index(grouping, base.wards)
        self.n = len(self.units)
        self.explicit = explicit_units(base, grouping, self.units)
        self.practice_unit = resolve_practice_units(base, self.ward_unit, self.n, rule, self.explicit)
        pos = pd.Series(np.arange(base.n_wards), index=base.wards)
        a, b = adjacency["a"].map(pos), adjacency["b"].map(pos)
        ok = (a.notna() & b.notna()).to_numpy()
        self.edges = np.stack([a[ok].astype(int).to_numpy(), b[ok].astype(int).to_numpy()])
        self.neighbours: list[set[int]] = [set() for _ in range(base.n_wards)]
        for i, j in self.edges.T.tolist():
            self.neighbours[i].add(j)
            self.neighbours[j].add(i)
        if base.ward_population is None and size_base == "population":
            raise PlacekitError("the flow base has no ward populations for the band on residents; build it with flow_base_from_place.")
        self.ward_pop = base.ward_people if base.ward_people is not None else np.zeros(base.n_wards)
        self.figures = self.evaluate(self.ward_unit, self.practice_unit)

    def evaluate(self, ward_unit: np.ndarray, practice_unit: np.ndarray) -> dict:
        contained, residents, lists = team_counts(self.base, ward_unit, practice_unit, self.n)
        denominator = residents if self.measure == "resident_containment" else lists
        value = np.divide(contained, denominator, out=np.full(self.n, np.nan), where=denominator > 0)
        pop = np.bincount(ward_unit, weights=self.ward_pop, minlength=self.n)
        return {
            "value": value,
            "min": float(np.nanmin(value)),
            "mean": float(contained.sum() / denominator.sum()),
            "population": pop,
            "list": lists,
        }

    def parts(self, ward_unit: np.ndarray, unit: int) -> int:
        """Return how many separate pieces `unit` is in (a walk over the adjacency; neighbourhoods are small)."""
        members = set(np.flatnonzero(ward_unit == unit).tolist())
        pieces = 0
        while members:
            pieces += 1
            stack = [members.pop()]
            while stack:
                for other in self.neighbours[stack.pop()] & members:
                    members.discard(other)
                    stack.append(other)
        return pieces


def _breach(sizes: np.ndarray, band: tuple[int, int]) -> float:
    """Return the people beyond the band's limits, summed over neighbourhoods."""
    return float(np.clip(band[0] - sizes, 0, None).sum() + np.clip(sizes - band[1], 0, None).sum())


def _row(ctx: _Before, kind: str, unit: str, src: int, dst: int, after: dict, contiguity_kept: bool, band: tuple[int, int]) -> dict:
    before = ctx.figures
    size = "population" if ctx.size_base == "population" else "list"
    return {
        "kind": kind, "unit": unit, "from_neighbourhood": ctx.units[src], "to_neighbourhood": ctx.units[dst],
        "min_before": before["min"], "min_after": after["min"], "mean_before": before["mean"], "mean_after": after["mean"],
        "from_before": before["value"][src], "from_after": after["value"][src], "to_before": before["value"][dst], "to_after": after["value"][dst],
        "population_from_after": int(round(after["population"][src])), "population_to_after": int(round(after["population"][dst])),
        "list_from_after": int(round(after["list"][src])), "list_to_after": int(round(after["list"][dst])),
        "band_kept": _breach(after[size], band) <= _breach(before[size], band) + _TOL, "contiguity_kept": contiguity_kept,
    }  # fmt: skip


def _ward_moves(ctx: _Before, band: tuple[int, int]) -> list[dict]:
    """Evaluate moving each ward on a neighbourhood's edge into each neighbourhood it touches (never emptying one)."""
    wu0 = ctx.ward_unit
    a, b = ctx.edges
    cross = wu0[a] != wu0[b]
    pairs = {(int(w), int(wu0[o])) for w, o in zip(np.r_[a[cross], b[cross]], np.r_[b[cross], a[cross]], strict=True)}
    sizes = np.bincount(wu0, minlength=ctx.n)
    rows = []
    for w, dst in sorted(pairs):
        src = int(wu0[w])
        if sizes[src] <= 1:
            continue
        wu = wu0.copy()
        wu[w] = dst
        pu = resolve_practice_units(ctx.base, wu, ctx.n, ctx.rule, ctx.explicit)
        kept = ctx.parts(wu, src) <= ctx.parts(wu0, src) and ctx.parts(wu, dst) <= ctx.parts(wu0, dst)
        rows.append(_row(ctx, "ward", ctx.base.wards[w], src, dst, ctx.evaluate(wu, pu), kept, band))
    return rows


def _practice_moves(ctx: _Before, band: tuple[int, int], min_share: float) -> list[dict]:
    """Evaluate assigning each of the place's practices to each other neighbourhood holding at least `min_share` of its list."""
    base, n = ctx.base, ctx.n
    city = base.row < base.n_wards
    by_unit = np.bincount(base.col[city] * n + ctx.ward_unit[base.row[city]], weights=base.weights[city], minlength=len(base.practices) * n)
    share = by_unit.reshape(-1, n) / np.maximum(base.list_sizes, 1)[:, None]
    premises_unit = ctx.ward_unit[np.maximum(base.premises, 0)]
    rows = []
    for p in np.flatnonzero(base.in_place):
        src = int(ctx.practice_unit[p])
        targets = set(np.flatnonzero(share[p] >= min_share)) | {int(premises_unit[p])}
        for dst in sorted(targets - {src}):
            pu = ctx.practice_unit.copy()
            pu[p] = dst
            rows.append(_row(ctx, "practice", base.practices[p], src, int(dst), ctx.evaluate(ctx.ward_unit, pu), True, band))
    return rows


def suggest_moves(
    base: FlowBase,
    grouping: Grouping,
    adjacency: pd.DataFrame,
    *,
    measure: str = "resident_containment",
    kinds: tuple[str, ...] = ("ward", "practice"),
    practice_by: str | None = None,
    band: tuple[int, int] = (BAND_MIN, BAND_MAX),
    band_base: str | None = None,
    top: int = 10,
    ward_names: Mapping[str, str] | None = None,
    min_share: float = 0.1,
) -> pd.DataFrame:
    """Rank single ward moves and single practice moves by their effect on a containment measure.

    A ward move takes a ward on the edge of its neighbourhood into a neighbourhood it
    touches (never emptying one); its practices follow the grouping's rule. A practice
    move assigns one of the place's practices explicitly to another neighbourhood that
    holds at least `min_share` of its patients, or back to the neighbourhood of its
    premises. Ranked by :data:`OBJECTIVE`.

    Parameters
    ----------
    measure
        ``resident_containment`` or ``list_containment``.
    kinds
        Which moves to consider: ``"ward"``, ``"practice"``.
    band_base
        Team size checked for the band: ``"population"`` (residents) or
        ``"registered_list"``; by default the base of `measure` (residents for resident
        containment, the list for list containment).

    Returns
    -------
    pandas.DataFrame
        One row per move, best first, each applicable with :func:`apply_suggestion`:
        ``rank``, ``kind`` (``ward``/``practice``), ``unit`` (the ward or practice code),
        ``unit_name``, ``from_neighbourhood``, ``to_neighbourhood``, ``effect`` (one of
        :data:`EFFECTS`), ``min_before/after``, ``min_gain``, ``mean_before/after``,
        ``mean_gain`` (of `measure`, as fractions; the mean is city-wide), ``from_before/after``
        and ``to_before/after`` (the measure in the two neighbourhoods),
        ``population_from/to_after`` (residents), ``list_from/to_after`` (registered list),
        ``band_kept`` (the people outside the band on `band_base` do not grow),
        ``contiguity_kept`` (neither neighbourhood ends in more pieces), ``score``.
        ``attrs``: ``measure``, ``objective``, ``band_base``, ``population_base``,
        ``list_base``, ``practice_by``, ``candidates``.
    """
    size_base = _check_options(measure, band_base, kinds)
    rule = check_rule(practice_by or grouping.practice_rule)
    ctx = _Before(base, grouping, adjacency, rule, measure, size_base)
    rows = (_ward_moves(ctx, band) if "ward" in kinds else []) + (_practice_moves(ctx, band, min_share) if "practice" in kinds else [])
    df = _rank(pd.DataFrame(rows), ward_names, base)
    df.attrs.update({"measure": measure, "objective": OBJECTIVE, "band_base": size_base, "band": band, "practice_by": rule,
                     "population_base": base.population_base, "list_base": base.list_base, "candidates": len(df), "demo": base.demo})  # fmt: skip
    return df.head(top) if top else df


def _check_options(measure: str, band_base: str | None, kinds: tuple[str, ...]) -> str:
    """Refuse unknown options; return the base of the band check."""
    if measure not in MEASURES:
        raise PlacekitError(f'`measure` was "{measure}" but is expected to be one of {list(MEASURES)}.')
    size_base = band_base or ("population" if measure == "resident_containment" else "registered_list")
    if size_base not in ("population", "registered_list") or not set(kinds) <= {"ward", "practice"}:
        raise PlacekitError(
            f'`band_base` must be "population" or "registered_list" and `kinds` a subset of ("ward", "practice"); got {size_base!r}, {kinds!r}.'
        )
    return size_base


#: The columns of :func:`suggest_moves`, in order (an empty answer has them too).
_COLUMNS = ["rank", "kind", "unit", "unit_name", "from_neighbourhood", "to_neighbourhood", "effect", "min_before", "min_after", "mean_before",
            "mean_after", "from_before", "from_after", "to_before", "to_after", "population_from_after", "population_to_after",
            "list_from_after", "list_to_after", "band_kept", "contiguity_kept", "min_gain", "mean_gain", "score"]  # fmt: skip


def _rank(df: pd.DataFrame, ward_names: Mapping[str, str] | None, base: FlowBase) -> pd.DataFrame:
    """Order the candidates by :data:`OBJECTIVE` and add ``rank``, ``effect``, gains and names."""
    if df.empty:  # e.g. a one-neighbourhood plan: no move; the same columns, so callers need no special case
        kinds = dict.fromkeys(_COLUMNS[7:15] + _COLUMNS[21:], "float64") | dict.fromkeys(["rank", *_COLUMNS[15:19]], "int64")
        return pd.DataFrame(columns=_COLUMNS).astype(kinds | dict.fromkeys(_COLUMNS[19:21], "bool"))
    df["min_gain"] = df["min_after"] - df["min_before"]
    df["mean_gain"] = df["mean_after"] - df["mean_before"]
    df["score"] = df["min_gain"] + df["mean_gain"]
    tier = np.where(df["min_gain"] > _TOL, 0, np.where(df["min_gain"] >= -_TOL, 1, 2))
    df["effect"] = np.array(EFFECTS, dtype=object)[tier]
    df["_tier"], df["_rules"] = tier, ~(df["band_kept"] & df["contiguity_kept"])
    df = df.sort_values(["_tier", "_rules", "score", "min_gain"], ascending=[True, True, False, False], kind="stable").drop(
        columns=["_tier", "_rules"]
    )
    names = dict(ward_names or {}) | base.practice_names.to_dict()
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    df.insert(3, "unit_name", df["unit"].map(names).fillna(""))
    df.insert(6, "effect", df.pop("effect"))
    return df.reset_index(drop=True)


def apply_suggestion(grouping: Grouping, move: Mapping | pd.Series) -> Grouping:
    """Return `grouping` with one suggested move applied (a row of :func:`suggest_moves`).

    A ward move reassigns the ward; a practice move assigns the practice explicitly.
    """
    kind, unit, dst = move["kind"], move["unit"], move["to_neighbourhood"]
    if kind == "ward":
        return grouping.move(unit, dst)
    if kind == "practice":
        return grouping.assign_practices([unit], dst)
    raise PlacekitError(f'a move\'s `kind` was "{kind}" but is expected to be "ward" or "practice".')
