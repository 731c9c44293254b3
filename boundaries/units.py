"""Building blocks of a plan: a place's wards or LSOAs, with residents on a stated base, adjacency and the flow base over them.

A plan puts every unit (ward or LSOA) in one neighbourhood. :func:`plan_units` gathers
what designing and ranking plans need about the units, once: residents on the chosen
base (mid-2015 or Census 2021), which units share a boundary (rook contiguity, as the
Redraw badge checks), and the registrations summed over them
(:class:`~boundaries.flowbase.FlowBase`).

LSOA plans are built from the place's own LSOAs (2011 for Manchester): the units its GP
registrations and mid-2015 residents come on. Census 2021 residents are carried onto
them from 2021 LSOAs (:func:`lsoa_census`) so that each ward's total is the ward's own
Census 2021 figure (:attr:`geo.model.Place.ward_census`): a plan of whole wards has the
same populations whichever units it is measured on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from boundaries.flowbase import FlowBase, flow_base_from_place
from boundaries.grouping import Grouping, ward_adjacency
from boundaries.membership import unit_index
from boundaries.profiles import POPULATION_BASES, population_label, ward_population
from geo.model import Place
from placekit.errors import PlacekitError
from placekit.settings import BAND_MAX, BAND_MIN, TARGET_LOCALITIES, TARGET_NEIGHBOURHOODS

__all__ = ["UNIT_KINDS", "LSOA_CENSUS_METHOD", "Units", "plan_units", "lsoa_census", "lsoa_population", "grouping_labels", "unit_parts",
           "unit_soft_checks"]

#: The building blocks a plan can be made of, with their plural for messages.
UNIT_KINDS = {"ward": "wards", "lsoa": "LSOAs"}

LSOA_CENSUS_METHOD = (
    "Census 2021 residents are carried from 2021 LSOAs onto the place's LSOAs: a 2021 LSOA goes to its 2011 LSOA in the ONS "
    "best-fit lookup (shared by mid-2015 residents among several 2011 LSOAs merged into it); a 2021 LSOA that lookup does not reach "
    "goes to the 2011 LSOA it overlaps most. Only 2011 LSOAs of the ward the 2021 LSOA is counted in are chosen, so each ward keeps "
    "its own Census 2021 total."
)


@dataclass(frozen=True, eq=False)
class Units:
    """The units a plan is built from, with everything a plan's constraints and figures need.

    Attributes
    ----------
    kind
        ``"ward"`` or ``"lsoa"``.
    codes
        Unit codes, in the order of every array here.
    names
        Unit names (index `codes`).
    population
        Residents per unit on `population_base` (float64).
    population_base, population_label
        The base (``"census2021"`` or ``"mid2015"``) and its name with its date, as every figure states it.
    edges
        Pairs of unit positions sharing a boundary (rook contiguity), each pair once, ``i < j``.
    ward
        The ward of each unit (itself for wards; the best-fit ward of an LSOA).
    base
        Registrations summed over the units (:class:`~boundaries.flowbase.FlowBase`, rows = `codes`).
    place_name
        The place's label ("Manchester").
    ward_names
        Ward code → name (to name neighbourhoods of LSOAs after their wards).
    """

    kind: str
    codes: pd.Index
    names: pd.Series
    population: np.ndarray
    population_base: str
    population_label: str
    edges: np.ndarray
    ward: pd.Series
    base: FlowBase
    place_name: str = ""
    ward_names: pd.Series | None = None

    @property
    def n(self) -> int:
        """Return the number of units."""
        return len(self.codes)

    @property
    def plural(self) -> str:
        """Return the units' plural for messages ("wards", "LSOAs")."""
        return UNIT_KINDS[self.kind]

    @cached_property
    def adjacency(self) -> csr_matrix:
        """Return the symmetric unit × unit adjacency matrix."""
        i, j = self.edges[:, 0], self.edges[:, 1]
        data = np.ones(2 * len(i))
        return coo_matrix((data, (np.r_[i, j], np.r_[j, i])), shape=(self.n, self.n)).tocsr()

    @cached_property
    def neighbours(self) -> list[np.ndarray]:
        """Return, per unit, the positions of the units it shares a boundary with."""
        a = self.adjacency
        return [a.indices[a.indptr[k] : a.indptr[k + 1]] for k in range(self.n)]

    def label(self, position: int) -> str:
        """Return a unit's name with its code, for messages."""
        code = self.codes[position]
        name = self.names.get(code, "")
        return f"{name} ({code})" if name else str(code)


def lsoa_census(place: Place) -> pd.Series:
    """Return Census 2021 residents per LSOA of the place, keeping each ward's total (see :data:`LSOA_CENSUS_METHOD`).

    A place already on 2021 LSOAs (built from the national files) takes each LSOA's own
    Census 2021 residents: there is nothing to carry.

    Raises
    ------
    PlacekitError
        When the place has no Census 2021 layer or no LSOA 2011→2021 lookup.
    """
    if place.lsoa_vintage == "2021" and place.census is not None:
        out = place.census["population"].astype(float).reindex(place.lsoas.index, fill_value=0.0).rename("population")
        out.index.name = "lsoa_code"
        out.attrs["method"] = "Census 2021 residents of each 2021 LSOA (the place's own LSOAs)."
        return out
    bridge = place.lsoa21_ward  # 2021 LSOA → the ward it is counted in; raises without the layers
    census = place.census["population"].astype(float)
    codes = place.lsoas.index
    lk = place.lsoa11_lsoa21[place.lsoa11_lsoa21.index.isin(codes)]
    parents = pd.DataFrame({"l11": lk.index, "l21": lk["lsoa21_code"].to_numpy()})
    parents["pop"] = place.population["population"].reindex(parents["l11"]).fillna(0).to_numpy(dtype=float) + 1e-9
    same = place.lsoa_ward_code.reindex(parents["l11"]).to_numpy() == bridge.reindex(parents["l21"]).to_numpy()
    parents = parents[same & parents["l21"].isin(census.index).to_numpy()]
    parents["share"] = parents["pop"] / parents.groupby("l21")["pop"].transform("sum")
    parents["residents"] = parents["share"] * census.reindex(parents["l21"]).to_numpy()
    out = parents.groupby("l11")["residents"].sum().reindex(codes, fill_value=0.0)
    rest = census.index.difference(pd.Index(parents["l21"].unique()))
    if len(rest):
        home = _nearest_in_ward(place, rest, bridge)
        out = out.add(census.reindex(rest).groupby(home.to_numpy()).sum(), fill_value=0.0).reindex(codes, fill_value=0.0)
    out = out.rename("population")
    out.index.name = "lsoa_code"
    out.attrs["method"] = LSOA_CENSUS_METHOD
    return out


def _nearest_in_ward(place: Place, lsoas21: pd.Index, bridge: pd.Series) -> pd.Series:
    """Return, for 2021 LSOAs the lookup does not reach, the 2011 LSOA of their ward that they overlap most (else the nearest)."""
    if place.lsoas_2021 is None:
        raise PlacekitError(f"{len(lsoas21)} Census 2021 LSOA(s) are not reached by the best-fit lookup ({list(lsoas21[:4])}) and the "
                            "place has no 2021 LSOA boundaries to place them: add a [layers.lsoas_2021] layer.")  # fmt: skip
    g21 = place.lsoas_2021.reindex(lsoas21)
    l11 = place.lsoas
    ward11 = place.lsoa_ward_code.reindex(l11.index)
    out = {}
    for code, geom in zip(g21.index, g21.geometry, strict=True):
        cand = l11[ward11.eq(bridge.get(code)).to_numpy()]
        if cand.empty or geom is None:
            cand = l11
        overlap = cand.geometry.intersection(geom).area if geom is not None else pd.Series(0.0, index=cand.index)
        out[code] = overlap.idxmax() if overlap.max() > 0 else cand.geometry.distance(geom.centroid).idxmin()
    return pd.Series(out).reindex(lsoas21)


def lsoa_population(place: Place, population: str = "census2021") -> pd.Series:
    """Return residents per LSOA of the place on the chosen base (``mid2015`` or ``census2021``)."""
    if population not in POPULATION_BASES:
        raise PlacekitError(f'`population` was "{population}" but is expected to be one of {list(POPULATION_BASES)}.')
    if population == "mid2015":
        return place.population["population"].reindex(place.lsoas.index).fillna(0).astype(float)
    if place.census is None:
        raise PlacekitError(f"{place.label} has no Census 2021 layer; add [layers.census] to the manifest or use --population mid2015.")
    return lsoa_census(place)


def _edges(geoms: gpd.GeoDataFrame) -> np.ndarray:
    adj = ward_adjacency(geoms)
    i = geoms.index.get_indexer(adj["a"])
    j = geoms.index.get_indexer(adj["b"])
    e = np.sort(np.c_[i, j], axis=1) if len(adj) else np.empty((0, 2), dtype=np.int64)
    return np.unique(e, axis=0).astype(np.int64)


def plan_units(place: Place, *, kind: str = "ward", population: str = "census2021") -> Units:
    """Gather the units a plan of `place` is built from: residents on `population`, adjacency, flow base.

    Parameters
    ----------
    kind
        ``"ward"`` or ``"lsoa"`` (the place's LSOAs, the units of its registrations).
    population
        The resident base of the band: ``"census2021"`` or ``"mid2015"``.

    Raises
    ------
    PlacekitError
        An unknown kind or base, a place without registrations, or a base the place lacks.
    """
    if kind not in UNIT_KINDS:
        raise PlacekitError(f'`units` was "{kind}" but is expected to be one of {list(UNIT_KINDS)}.')
    label = population_label(place, population)
    if kind == "ward":
        pop = ward_population(place, population).reindex(place.wards.index).fillna(0).to_numpy(dtype=float)
        base = flow_base_from_place(place)
        geoms, ward = place.wards, pd.Series(place.wards.index, index=place.wards.index)
    else:
        lp = lsoa_population(place, population)
        pop = lp.to_numpy(dtype=float)
        base = flow_base_from_place(place, units="lsoa", lsoa_population=lp)
        geoms, ward = place.lsoas, place.lsoa_ward_code.reindex(place.lsoas.index)
    names = geoms["name"] if "name" in geoms else pd.Series("", index=geoms.index)
    return Units(kind=kind, codes=geoms.index, names=names.astype(str), population=pop, population_base=population,
                 population_label=label, edges=_edges(geoms), ward=ward, base=base, place_name=place.label,
                 ward_names=place.wards["name"].astype(str) if "name" in place.wards else None)  # fmt: skip


def grouping_labels(grouping: Grouping, units: Units) -> tuple[np.ndarray, list[str]]:
    """Return each unit's neighbourhood position under `grouping` and the neighbourhood names.

    LSOAs follow their explicit assignment, else their ward's neighbourhood; a grouping
    assigning LSOAs explicitly cannot be read on ward units.
    """
    return unit_index(grouping, units.codes, None if units.kind == "ward" else units.ward)


def unit_parts(labels: np.ndarray, units: Units) -> np.ndarray:
    """Return how many contiguous parts each neighbourhood position of `labels` has (0 for an unused label)."""
    e = units.edges
    keep = labels[e[:, 0]] == labels[e[:, 1]] if len(e) else np.zeros(0, dtype=bool)
    mat = coo_matrix((np.ones(int(keep.sum())), (e[keep, 0], e[keep, 1])), shape=(units.n, units.n))
    _, comp = connected_components(mat, directed=False)
    k = int(labels.max()) + 1 if len(labels) else 0
    firsts = pd.DataFrame({"label": labels, "comp": comp}).drop_duplicates()
    return np.bincount(firsts["label"].to_numpy(), minlength=k)


def unit_soft_checks(place: Place, grouping: Grouping, *, population: str | None = None, band: tuple[int, int] = (BAND_MIN, BAND_MAX),
                     units: Units | None = None) -> list[str]:  # fmt: skip
    """Report what departs from the place model, on the grouping's own units (LSOAs for a plan of LSOAs).

    The same findings, in the same words, as :func:`boundaries.grouping.soft_checks`: a
    neighbourhood's residents outside `band` (on `population`; None: the place's own base), a
    neighbourhood in separate parts (over LSOAs sharing a boundary, for a plan of LSOAs), counts other than 12:3:1.
    """
    population = place.population_base if population is None else population
    u = units if units is not None else plan_units(place, kind=grouping.units, population=population)
    labels, names = grouping_labels(grouping, u)
    pop = np.bincount(labels, weights=u.population, minlength=len(names))
    out = [f"population: {nb} has {int(round(p)):,} {u.population_label}, outside {band[0]:,}–{band[1]:,}"
           for nb, p in zip(names, pop, strict=True) if not band[0] <= p <= band[1]]  # fmt: skip
    parts = unit_parts(labels, u)
    out += [f"contiguity: {nb} is in {parts[i]} separate parts ({u.plural})" for i, nb in enumerate(names) if parts[i] > 1]
    n, m, _ = grouping.counts()
    if (n, m) != (TARGET_NEIGHBOURHOODS, TARGET_LOCALITIES):
        out.append(f"counts: {n}:{m}:1 instead of {TARGET_NEIGHBOURHOODS}:{TARGET_LOCALITIES}:1")
    return out
