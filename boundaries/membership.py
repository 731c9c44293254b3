"""Which neighbourhood team each practice belongs to under a grouping.

A practice of the place belongs to one neighbourhood: the grouping's explicit
assignment when it has one, else its default rule (:data:`boundaries.grouping.PRACTICE_RULES`):

``premises``
    the neighbourhood of the ward its premises stand in;
``pcn``
    every practice of a primary care network goes where most of that network's
    practices have their premises (ties: the larger combined list; practices with no
    PCN in the map fall back to their premises);
``patients``
    where most of its patients who live in the city live (no such patient: premises).

Practices outside the place belong to no team ("outside the city").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from boundaries.flowbase import OUTSIDE, FlowBase, flow_base_from_place
from boundaries.grouping import PRACTICE_RULES, Grouping, practice_problems
from geo.model import Place
from placekit.errors import InvalidGroupingError, PlacekitError

__all__ = [
    "unit_index",
    "explicit_units",
    "resolve_practice_units",
    "practice_units",
    "practice_neighbourhoods",
    "practice_membership",
    "check_rule",
]


def check_rule(rule: str) -> str:
    """Return `rule` if it is a practice rule, else raise with the allowed values."""
    if rule not in PRACTICE_RULES:
        raise PlacekitError(f'`practice_by` was "{rule}" but is expected to be one of {list(PRACTICE_RULES)}.')
    return rule


def unit_index(grouping: Grouping, wards: pd.Index, row_ward: pd.Series | None = None) -> tuple[np.ndarray, list[str]]:
    """Return each ward's neighbourhood position (in `wards` order) and the neighbourhood names.

    With `row_ward` (a base over LSOAs: the best-fit ward of each LSOA of `wards`), each
    LSOA takes its explicit assignment in the grouping, else the neighbourhood of its ward.

    Raises
    ------
    InvalidGroupingError
        If a ward of the place is in no neighbourhood, or (over wards) the grouping assigns
        LSOAs explicitly: its figures need the base over LSOAs.
    """
    w2n = grouping.ward_to_neighbourhood
    units = grouping.neighbourhoods
    pos = {u: i for i, u in enumerate(units)}
    if row_ward is None:
        if grouping.lsoa_to_neighbourhood:
            raise InvalidGroupingError([f"the grouping assigns {len(grouping.lsoa_to_neighbourhood)} LSOA(s) explicitly: measure it on the place's "
                                        "LSOAs (flow_base_from_place(place, units='lsoa'))"], source=f"grouping {grouping.name!r}")  # fmt: skip
        codes = wards.tolist()  # plain str: iterating Arrow-backed labels one by one is slow
        missing = [w for w in codes if w not in w2n]
    else:
        codes = row_ward.reindex(wards).tolist()
        missing = sorted({w for w in codes if w not in w2n})
    if missing:
        raise InvalidGroupingError([f"{len(missing)} ward(s) of the place missing: {missing}"], source=f"grouping {grouping.name!r}")
    out = np.array([pos[w2n[w]] for w in codes], dtype=np.int64)
    if row_ward is not None and grouping.lsoa_to_neighbourhood:
        where = pd.Index(wards).get_indexer(list(grouping.lsoa_to_neighbourhood))
        unknown = [c for c, i in zip(grouping.lsoa_to_neighbourhood, where, strict=True) if i < 0]
        if unknown:
            raise InvalidGroupingError([f"{len(unknown)} unknown LSOA(s), not LSOAs of the place: {unknown[:10]}"], source=f"grouping {grouping.name!r}")
        out[where] = [pos[n] for n in grouping.lsoa_to_neighbourhood.values()]
    return out, units


def explicit_units(base: FlowBase, grouping: Grouping, units: list[str]) -> np.ndarray:
    """Return each practice's explicitly assigned neighbourhood position, -1 where the rule decides.

    Raises
    ------
    InvalidGroupingError
        Listing every explicit assignment of a practice that is not one of the place's
        practices in use (unknown, closed, outside), with the fix.
    """
    out = np.full(len(base.practices), -1, dtype=np.int64)
    if not grouping.practice_to_neighbourhood:
        return out
    where = base.practice_position
    bad = [p for p in grouping.practice_to_neighbourhood if p not in where or not base.in_place[where[p]]]
    if bad:  # say why for each, from the place's practice roll when the base has it
        problems = practice_problems(grouping, base.roll) if base.roll is not None else []
        problems = problems or [f"practice {p} (assigned to {grouping.practice_to_neighbourhood[p]!r}) is not a practice of the place in use: "
                                "remove it or check the code" for p in bad]  # fmt: skip
        raise InvalidGroupingError(problems, source=f"grouping {grouping.name!r}")
    pos = {u: i for i, u in enumerate(units)}
    for p, n in grouping.practice_to_neighbourhood.items():
        out[base.practice_position[p]] = pos[n]
    return out


def _by_pcn(base: FlowBase, premises_unit: np.ndarray, n_units: int) -> np.ndarray:
    """Return the unit of each practice's PCN (-1 without one): where most of its practices' premises are."""
    pcn, codes = base.pcn_index
    sel = (pcn >= 0) & base.in_place
    if not len(codes):
        raise PlacekitError(
            "the `pcn` rule needs the practice→PCN map: add the layer `pcn_map` (NHS Digital gp-reg-pat-prac-map) to the manifest."
        )
    lists = base.list_sizes[sel]
    # Practices count first; the combined list only breaks ties (its share is < 1).
    score = np.bincount(pcn[sel] * n_units + premises_unit[sel], weights=1 + lists / (1 + lists.sum()), minlength=len(codes) * n_units)
    best = score.reshape(len(codes), n_units).argmax(axis=1)
    return np.where(pcn >= 0, best[np.maximum(pcn, 0)], -1)


def _by_patients(base: FlowBase, ward_unit: np.ndarray, n_units: int) -> tuple[np.ndarray, np.ndarray]:
    """Return each practice's patients per unit of residence (practices × units) and where most of them live."""
    city = base.row < base.n_wards
    flat = base.col[city] * n_units + ward_unit[base.row[city]]
    by_unit = np.bincount(flat, weights=base.weights[city], minlength=len(base.practices) * n_units).reshape(-1, n_units)
    return by_unit, by_unit.argmax(axis=1)


def resolve_practice_units(
    base: FlowBase, ward_unit: np.ndarray, n_units: int, rule: str, explicit: np.ndarray | None = None
) -> np.ndarray:
    """Return each practice's unit position (``n_units`` = outside the city): the array core of membership.

    Parameters
    ----------
    ward_unit
        Unit position of each ward of the base.
    rule
        ``premises``, ``pcn`` or ``patients`` (see the module's docstring).
    explicit
        Per practice, an explicitly assigned unit position or -1 (:func:`explicit_units`).
    """
    inside = base.in_place
    premises_unit = np.where(inside, ward_unit[np.maximum(base.premises, 0)], n_units)
    out = premises_unit.copy()
    if rule == "pcn":
        pcn_unit = _by_pcn(base, premises_unit, n_units)
        take = inside & (pcn_unit >= 0)
        out[take] = pcn_unit[take]
    elif rule == "patients":
        by_unit, best = _by_patients(base, ward_unit, n_units)
        take = inside & (by_unit.sum(axis=1) > 0)
        out[take] = best[take]
    elif rule != "premises":
        check_rule(rule)
    if explicit is not None:
        out = np.where(explicit >= 0, explicit, out)
    return out


def practice_units(base: FlowBase, grouping: Grouping, *, practice_by: str | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return ward units, practice units and neighbourhood names of `grouping` over `base`.

    `practice_by` overrides the grouping's rule (explicit assignments still apply).
    """
    rule = check_rule(practice_by or grouping.practice_rule)
    ward_unit, units = unit_index(grouping, base.wards, base.row_ward)
    explicit = explicit_units(base, grouping, units)
    return ward_unit, resolve_practice_units(base, ward_unit, len(units), rule, explicit), units


def _base_of(place_or_base: Place | FlowBase, grouping: Grouping | None = None) -> FlowBase:
    if isinstance(place_or_base, FlowBase):
        return place_or_base
    return flow_base_from_place(place_or_base, units=grouping.units if grouping is not None else "ward")


def practice_neighbourhoods(place_or_base: Place | FlowBase, grouping: Grouping, *, practice_by: str | None = None) -> pd.Series:
    """Return the neighbourhood of every practice under `grouping`: explicit assignment, else the rule.

    Cheap: the place's :class:`~boundaries.flowbase.FlowBase` is built once per place and
    kept; each call is a few array operations (well under a millisecond for a city).

    Parameters
    ----------
    place_or_base
        A loaded place, or its flow base.
    grouping
        Wards into neighbourhoods, with its practice rule and explicit assignments.
    practice_by
        Override the grouping's rule (``premises``, ``pcn``, ``patients``).

    Returns
    -------
    pandas.Series
        Index ``practice_code``: the place's practices in use (premises in the place,
        open or holding patients), then practices elsewhere that hold patients of the
        place; value the neighbourhood name, NaN for practices outside the city.
        ``attrs['practice_by']`` is the rule used.

    Examples
    --------
    >>> nb = practice_neighbourhoods(place, grouping)          # doctest: +SKIP
    >>> practices["neighbourhood"] = nb.reindex(practices.index)  # doctest: +SKIP
    """
    base = _base_of(place_or_base, grouping)
    _, pu, units = practice_units(base, grouping, practice_by=practice_by)
    names = np.array([*units, np.nan], dtype=object)
    out = pd.Series(names[pu], index=base.practices, name="neighbourhood")
    out.attrs["practice_by"] = practice_by or grouping.practice_rule
    return out


def practice_membership(place_or_base: Place | FlowBase, grouping: Grouping, *, practice_by: str | None = None) -> pd.DataFrame:
    """Return, for each of the place's practices, its team and how it was decided.

    Returns
    -------
    pandas.DataFrame
        Index ``practice_code``: ``practice_name``, ``pcn_code``, ``premises_ward``,
        ``premises_neighbourhood``, ``neighbourhood``, ``decided_by`` (``explicit`` or the
        rule; ``premises`` where the rule fell back to it), ``list_size`` (registered
        patients in the extract).
    """
    base = _base_of(place_or_base, grouping)
    rule = check_rule(practice_by or grouping.practice_rule)
    ward_unit, units = unit_index(grouping, base.wards, base.row_ward)
    explicit = explicit_units(base, grouping, units)
    by_rule = resolve_practice_units(base, ward_unit, len(units), rule)
    by_premises = resolve_practice_units(base, ward_unit, len(units), "premises")
    final = np.where(explicit >= 0, explicit, by_rule)
    names = np.array([*units, OUTSIDE], dtype=object)
    how = np.where(explicit >= 0, "explicit", rule).astype(object)
    if rule == "pcn":
        how = np.where((explicit < 0) & (base.pcn_index[0] < 0), "premises (no PCN)", how)
    if rule == "patients":
        no_city = _by_patients(base, ward_unit, len(units))[0].sum(axis=1) == 0
        how = np.where((explicit < 0) & no_city, "premises (no patients in the city)", how)
    inside = base.in_place
    return pd.DataFrame(
        {
            "practice_name": base.practice_names.to_numpy()[inside],
            "pcn_code": base.practice_pcn.to_numpy()[inside],
            "premises_ward": base.practice_ward.to_numpy()[inside],
            "premises_neighbourhood": names[by_premises[inside]],
            "neighbourhood": names[final[inside]],
            "decided_by": how[inside],
            "list_size": base.list_sizes[inside].round().astype(np.int64),
        },
        index=base.practices[inside],
    )
