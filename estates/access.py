"""The estates chain for a place: demand points, sites, travel times, hubs, coverage and siting."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from boundaries.grouping import Grouping
from boundaries.lsoa_plans import lsoa_neighbourhoods
from estates import coverage as cov
from estates import hubs as hb
from estates import network as nw
from estates import traveltime as tt
from estates.sites import CandidateFilter, PlanningRatios, condition_penalty, hub_candidates, origins, place_sites, resolve_site_ids
from estates.siting import SitingProblem, SitingResult, coverage_cost, solve_exact, solve_heuristic
from geo._validate import require_positive_finite
from geo.model import Place
from placekit.errors import InfeasibleError, PlacekitError

__all__ = ["Access", "HubEvaluation", "build_access", "site_lsoas", "evaluate_hubs", "site_hubs", "initial_hubs", "CAPACITY_FACTOR", "range_summary"]

#: Default of `capacity_factor`: a hub may serve up to this many residents per patient of its capacity (its registered list).
CAPACITY_FACTOR = 3.0


@dataclass
class Access:
    """Travel times of a place under one mode: demand points × sites and sites × sites.

    ``od`` and ``ss`` are the minutes used; ``times`` and ``site_times`` carry them with
    their low and high bounds and calibrated range (:class:`~estates.traveltime.TravelTimes`).
    Under a plan built from LSOAs, a demand point and a site belong to the neighbourhood of
    their LSOA (``site_lsoa``: the LSOA each site stands in).
    """

    place: Place
    grouping: Grouping
    mode: str
    origins: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    od: pd.DataFrame
    ss: pd.DataFrame
    method: str
    modelled: bool
    notes: list[str] = field(default_factory=list)
    times: tt.TravelTimes | None = None
    site_times: tt.TravelTimes | None = None
    site_lsoa: pd.Series | None = None

    @property
    def site_unit(self) -> pd.Series:
        """Return the neighbourhood of each site under the current grouping (by its LSOA, for a plan built from LSOAs)."""
        by_ward = self.sites["ward_code"].map(self.grouping.ward_to_neighbourhood).rename("neighbourhood")
        if self.grouping.units == "ward":
            return by_ward
        lsoa = self.site_lsoa if self.site_lsoa is not None else site_lsoas(self.sites, self.place)
        nb = lsoa.reindex(self.sites.index).map(lsoa_neighbourhoods(self.grouping, self.place.lsoa_ward_code))
        return nb.fillna(by_ward).rename("neighbourhood")

    def with_grouping(self, grouping: Grouping) -> Access:
        """Return the same travel times under another grouping (nothing is recomputed)."""
        return dataclasses.replace(self, grouping=grouping)

    @property
    def origin_unit(self) -> pd.Series:
        """Return the neighbourhood of each demand point (LSOA): its explicit assignment, else its ward's."""
        if self.grouping.units == "lsoa":
            return lsoa_neighbourhoods(self.grouping, self.origins["ward_code"])
        return self.origins["ward_code"].map(self.grouping.ward_to_neighbourhood)


def site_lsoas(sites: gpd.GeoDataFrame, place: Place) -> pd.Series:
    """Return the LSOA each site stands in (index site id; NaN for a site in none of the place's LSOAs)."""
    j = gpd.sjoin(sites[[sites.geometry.name]], place.lsoas[[place.lsoas.geometry.name]], how="left", predicate="within")
    j = j[~j.index.duplicated()]
    col = "lsoa_code" if "lsoa_code" in j else "index_right"
    return j[col].reindex(sites.index).rename("lsoa_code")


def build_access(
    place: Place,
    grouping: Grouping,
    *,
    mode: nw.Mode = "walk",
    network: str | Path | nw.RoadNetwork | None = None,
    sites: gpd.GeoDataFrame | None = None,
    times: str | Path | pd.DataFrame | None = None,
    planning: PlanningRatios | None = None,
    progress: bool = False,
) -> Access:
    """Build demand points, sites and travel-time matrices for `place`.

    Times come from `times` (your own file or table ``origin, site, minutes``, used as given;
    only the sites it names are kept), else shortest paths over `network`, else the
    straight-line model of `mode` (``drive`` with low and high times from the admissible
    forms, see :mod:`estates.traveltime`; ``walk`` assumed), flagged ``modelled``.

    Raises
    ------
    PlacekitError
        For a bad times file (every problem named), or both `times` and `network`.
    """
    if mode not in ("walk", "drive"):
        raise PlacekitError(f'`mode` was "{mode}" but is expected to be "walk" or "drive".')
    o = origins(place)
    s = place_sites(place, grouping, planning=planning) if sites is None else sites
    if len(s) == 0:
        raise PlacekitError(f"{place.label} has no sites inside its wards; add candidate sites.")
    notes: list[str] = []
    given = None
    if times is not None:
        if network is not None:
            raise PlacekitError("give either your own times (--times) or a road network (--network), not both.")
        table = times if isinstance(times, pd.DataFrame) else tt.read_times_file(times)
        given = tt.times_matrix(table, o, s)
        left = s.index.difference(given.columns)
        if len(left):
            kinds = s.loc[left, "site_type"].value_counts()
            notes.append(f"your times cover {given.shape[1]} of the {len(s)} sites; the other {len(left)} "
                         f"({', '.join(f'{k} {v}' for k, v in kinds.items())}) are left out of coverage and siting")  # fmt: skip
        attrs = dict(s.attrs)
        s = s.loc[given.columns]
        s.attrs.update(attrs)
    od = tt.travel_times(o, s, mode=mode, network=network, times=given, place=place.label, progress=progress)
    if given is not None:
        ss = tt.modelled_times(s, s, mode=mode)
        notes.append(f"spoke–hub times (site to site) are modelled: {ss.method}")
    else:
        ss = tt.travel_times(s, s, mode=mode, network=network, place=place.label, progress=progress)
    return Access(place, grouping, mode, o, s, od.minutes, ss.minutes, od.method, od.modelled, [*od.notes, *notes], od, ss,
                  site_lsoas(s, place))  # fmt: skip


def range_summary(access: Access, nearest_km: pd.Series | None, weights: pd.Series) -> dict | None:
    """Return the calibrated range of modelled drive times and the share of `weights` whose trip falls below or above it.

    None when the times are not modelled with a calibrated range (network, your own times, walking).
    """
    t = access.times
    if t is None or t.km_range is None or nearest_km is None:
        return None
    lo, hi = t.km_range
    w = weights.reindex(nearest_km.index).astype(float)
    below = float(w[nearest_km < lo].sum() / w.sum()) if w.sum() else float("nan")
    above = float(w[nearest_km > hi].sum() / w.sum()) if w.sum() else float("nan")
    text = (f"drive model calibrated on {lo:.1f}–{hi:.1f} km (straight line); {below:.0%} of residents' trips to their nearest hub are "
            f"shorter, {above:.0%} longer" + ("; below the range the figures are given as low–high across the admissible forms"
                                              if below > 0 else ""))  # fmt: skip
    return {"km_min": lo, "km_max": hi, "share_below": below, "share_above": above, "text": text}


def initial_hubs(access: Access, *, p: int | None = None) -> tuple[list[str], str]:
    """Return the flagged hubs, or (when none are flagged) a p-hub proposal from the heuristic, and where they came from.

    `p` defaults to the number of neighbourhoods of the access's grouping (each needs a hub).
    """
    flagged = list(access.sites.index[access.sites["is_hub"].fillna(False).astype(bool)])
    if flagged:
        return flagged, "hubs flagged in the sites layer"
    p = len(access.grouping.neighbourhoods) if p is None else p
    try:
        res = site_hubs(access, p=p, method="heuristic")
    except InfeasibleError as exc:  # a neighbourhood without a candidate site (e.g. a PCN baseline's): propose without the rule
        n = min(p, len(hub_candidates(access.sites)[0]))
        res = site_hubs(access, p=n, method="heuristic", one_per_neighbourhood=False)
        return res.hubs, f"no hubs are flagged: {n} hubs proposed by the p-median heuristic, without a hub in every neighbourhood ({exc})"
    return res.hubs, f"no hubs are flagged: {p} hubs proposed by the p-median heuristic (one or more per neighbourhood)"


@dataclass(frozen=True)
class HubEvaluation:
    """Everything about one set of hubs.

    Attributes
    ----------
    people
        Per demand point (LSOA): ``hub`` (nearest) and ``minutes`` to it; with uncertain
        times also ``minutes_low`` and ``minutes_high``; with modelled times ``km``.
    spokes
        Per non-hub site: ``hub``, ``minutes``, ``same_unit``.
    report
        Per hub: ``name``, ``type``, ``neighbourhood``, spokes, ``capacity`` and its source,
        residents served (nearest hub) and their mean minutes (low and high with uncertain
        times), and ``served_per_capacity``.
    checks
        Breaches of the hub-and-spoke rules (fewer hubs than neighbourhoods, a neighbourhood without one).
    coverage
        Time to the nearest hub per neighbourhood, by IMD quintile and for 60+ (with ``_low``
        and ``_high`` bounds of each figure when the times are uncertain).
    curve
        Share of residents within t minutes of a hub, t = 0, 0.5, ….
    threshold
        Minutes used for "within".
    method
        How the travel times were made.
    modelled
        True for the straight-line model, False for network shortest paths or your own times.
    calibration
        For modelled drive times: the calibrated range (km) and the share of residents' trips
        below and above it (:func:`range_summary`); None otherwise.
    """

    people: pd.DataFrame
    spokes: pd.DataFrame
    report: pd.DataFrame
    checks: list[str]
    coverage: cov.CoverageSummary
    curve: pd.Series
    threshold: float
    method: str
    modelled: bool
    calibration: dict | None = None

    @property
    def uncertain(self) -> bool:
        """Return True when the figures come with low and high bounds."""
        return "minutes_low" in self.people


def _nearest(access: Access, hubs: list[str]) -> pd.DataFrame:
    """Return each demand point's nearest hub, its minutes, and (when known) low, high and straight-line km."""
    people = hb.nearest_hub(access.od, hubs)
    t = access.times
    if t is not None and t.uncertain:
        people["minutes_low"] = t.low[hubs].min(axis=1).to_numpy()
        people["minutes_high"] = t.high[hubs].min(axis=1).to_numpy()
    if t is not None and t.km is not None:
        km = t.km[hubs].to_numpy()
        people["km"] = km[np.arange(len(km)), pd.Index(hubs).get_indexer(people["hub"])]
    return people


def _hub_table(access: Access, hubs: list[str], people: pd.DataFrame, spokes: pd.DataFrame) -> pd.DataFrame:
    pop = access.origins["population"]
    report = hb.hub_report(spokes, people, hubs, population=pop, names=access.sites["name"])
    report.insert(1, "type", access.sites["site_type"].reindex(hubs))
    report.insert(2, "neighbourhood", access.site_unit.reindex(hubs))
    cap = pd.to_numeric(access.sites["capacity"], errors="coerce").reindex(hubs) if "capacity" in access.sites else pd.Series(np.nan, index=hubs)
    src = access.sites["capacity_source"].reindex(hubs) if "capacity_source" in access.sites else pd.Series("unknown", index=hubs)
    report.insert(report.columns.get_loc("residents_served"), "capacity", cap.to_numpy())
    report.insert(report.columns.get_loc("residents_served"), "capacity_source", src.to_numpy())
    report["served_per_capacity"] = report["residents_served"] / report["capacity"]
    if "minutes_low" in spokes:
        for col, how in (("spoke_mean_minutes", "mean"), ("spoke_max_minutes", "max")):
            for tag in ("low", "high"):
                report[f"{col}_{tag}"] = spokes.groupby("hub")[f"minutes_{tag}"].agg(how).reindex(hubs)
    for tag in ("low", "high"):
        col = f"minutes_{tag}"
        if col in people:
            w = pop.reindex(people.index)
            report[f"residents_mean_minutes_{tag}"] = ((people[col] * w).groupby(people["hub"]).sum() / w.groupby(people["hub"]).sum()).reindex(hubs)
    return report


def evaluate_hubs(access: Access, hubs: list[str], *, threshold: float | None = None, within_unit: bool = False) -> HubEvaluation:
    """Return everything about a set of hubs: spokes, per-hub figures, checks, coverage and the curve.

    Hub ids may also be ODS practice codes or the ids of sites merged into GP premises
    (:func:`~estates.sites.resolve_site_ids`).
    """
    threshold = cov.DEFAULT_THRESHOLDS[access.mode] if threshold is None else require_positive_finite(threshold=threshold)
    hubs = resolve_site_ids(access.sites, hubs)
    unknown = [h for h in hubs if h not in access.sites.index]
    if unknown:
        raise PlacekitError(f"hub(s) {unknown[:10]} are not sites of {access.place.label}; use ids from the sites table.")
    people = _nearest(access, hubs)
    role = access.sites["role"] if "role" in access.sites else pd.Series("spoke", index=access.sites.index)
    joined = [x for x in access.ss.index if role.get(x) != "asset" or x in hubs]  # assets (e.g. independent hospitals) join no hub
    spokes = hb.assign_spokes(access.ss.loc[joined], hubs, site_unit=access.site_unit, within_unit=within_unit)
    st = access.site_times
    if st is not None and st.uncertain and len(spokes):  # the low and high times of each spoke's trip to its hub
        r, c = st.low.index.get_indexer(spokes.index), st.low.columns.get_indexer(spokes["hub"])
        spokes["minutes_low"], spokes["minutes_high"] = st.low.to_numpy()[r, c], st.high.to_numpy()[r, c]
    summary = cov.coverage_summary(people["minutes"], access.origins, access.origin_unit, threshold=threshold, city=access.place.name,
                                   low=people.get("minutes_low"), high=people.get("minutes_high"))  # fmt: skip
    return HubEvaluation(
        people=people,
        spokes=spokes,
        report=_hub_table(access, hubs, people, spokes),
        checks=hb.hub_checks(hubs, access.site_unit, access.grouping.neighbourhoods),
        coverage=summary,
        curve=cov.cumulative_curve(people["minutes"], access.origins["population"], upto=max(60, threshold * 3)),
        threshold=threshold,
        method=access.method,
        modelled=access.modelled,
        calibration=range_summary(access, people.get("km"), access.origins["population"]),
    )


def _siting_capacity(access: Access, cols: list[str], factor: float, *, fixed: tuple[str, ...] = (),
                     drop_unknown: bool = False) -> tuple[pd.Series, str]:  # fmt: skip
    """Return each candidate's capacity in residents (capacity × `factor`; unknown: unlimited, or left out) and a note."""
    cap = pd.to_numeric(access.sites["capacity"], errors="coerce").reindex(cols) if "capacity" in access.sites else pd.Series(np.nan, index=cols)
    note = f"capacitated: no hub serves more residents than {factor:g} × its capacity (registered patients)"
    unknown = cap.isna() & ~cap.index.isin(fixed)
    if drop_unknown:
        cap = cap[~unknown]
        note += f"; {int(unknown.sum())} candidate(s) of unknown capacity dropped"
    elif unknown.any():
        note += f"; {int(unknown.sum())} candidate(s) of unknown capacity are not limited (pass --unknown-capacity drop to leave them out)"
    return (cap * factor).fillna(np.inf), note


def site_hubs(
    access: Access,
    *,
    p: int = 12,
    objective: str = "pmedian",
    method: str = "heuristic",
    threshold: float | None = None,
    fixed: tuple[str, ...] = (),
    one_per_neighbourhood: bool = True,
    capacity: pd.Series | None = None,
    capacitated: bool = False,
    capacity_factor: float = CAPACITY_FACTOR,
    candidates: CandidateFilter | list[str] | None = None,
    penalty: dict[str, float] | None = None,
    time_limit: float = 120,
) -> SitingResult:
    """Choose p hubs among the hub candidates by p-median or maximal covering.

    Demand is residents per LSOA; with `one_per_neighbourhood` every neighbourhood of
    the grouping gets at least one hub. `candidates` is a :class:`CandidateFilter`
    (default: the sites whose role is ``hub_candidate``) or a list of site ids; fixed
    hubs are candidates whatever the filter says. `penalty` maps condition grades to
    minutes added to every trip to a site in that condition (default
    :data:`~estates.sites.CONDITION_PENALTY`; ``{}`` for none); the objective counts them,
    the coverage figures do not. With `capacitated`, no hub serves more residents than
    `capacity_factor` × its capacity (``capacity`` of the sites; a candidate of unknown
    capacity is not limited); `capacity` (residents per candidate) overrides that.
    """
    # length: one adapter from the options to a SitingProblem; its docstring documents every option
    require_positive_finite(threshold=threshold, time_limit=time_limit, capacity_factor=capacity_factor)
    if isinstance(candidates, list):
        cols, note = resolve_site_ids(access.sites, candidates), f"{len(candidates)} candidate sites given"
    else:
        cols, note = hub_candidates(access.sites, candidates)
    fixed = tuple(resolve_site_ids(access.sites, fixed))
    unknown = [h for h in [*cols, *fixed] if h not in access.sites.index]
    if unknown:
        raise PlacekitError(f"site(s) {unknown[:10]} are not sites of {access.place.label}; use ids from the sites table.")
    cols = list(dict.fromkeys([*cols, *fixed]))
    pen = condition_penalty(access.sites, penalty, cols)
    cost = access.od[cols] + pen.to_numpy()[None, :]
    if objective == "mclp":
        cost = coverage_cost(cost, cov.DEFAULT_THRESHOLDS[access.mode] if threshold is None else threshold)
    elif objective != "pmedian":
        raise PlacekitError(f'`objective` was "{objective}" but is expected to be "pmedian" or "mclp".')
    if method not in ("exact", "heuristic"):
        raise PlacekitError(f'`method` was "{method}" but is expected to be "exact" or "heuristic".')
    if capacitated and capacity is None:
        drop = isinstance(candidates, CandidateFilter) and candidates.unknown_capacity == "drop"
        capacity, cap_note = _siting_capacity(access, cols, capacity_factor, fixed=fixed, drop_unknown=drop)
        cost, note = cost[list(capacity.index)], f"{note}; {cap_note}"
    prob = SitingProblem(
        cost,
        access.origins["population"].astype(float),
        p,
        candidate_unit=access.site_unit.reindex(cols),
        required_units=tuple(access.grouping.neighbourhoods) if one_per_neighbourhood else (),
        fixed=tuple(fixed),
        capacity=capacity,
    )
    if capacity is not None and method == "heuristic":
        note += "; capacitated problems are always solved exactly (the swap heuristic ignores capacity)"
    res = solve_exact(prob, time_limit=time_limit) if method == "exact" or capacity is not None else solve_heuristic(prob)
    res.candidates = note + (f"; condition penalty on {int((pen > 0).sum())} site(s)" if (pen > 0).any() else "")
    return res
