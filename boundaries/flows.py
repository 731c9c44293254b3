"""Cross-boundary flows: where a neighbourhood's residents are registered, and where its practices' patients live.

A neighbourhood team serves the registered lists of its practices; council services
follow its wards. The two measures of how well they coincide share one numerator,
the *contained* patients (residents of the neighbourhood's wards registered with one
of its practices):

``resident_containment``
    contained ÷ the neighbourhood's residents registered with any practice;
``list_containment``
    contained ÷ the patients registered with its practices, wherever they live
    (patients living outside the city stay in the denominator). The 2015 One Team
    specification quoted this one ("80% (Wythenshawe) to 44% (Withington and Fallowfield)").

Every figure of a grouping comes from the :class:`~boundaries.flowbase.FlowBase`, collapsed
once, by one ``numpy.bincount`` over its entries: a ward or practice move recomputes
everything in well under a millisecond for a city of Manchester's size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix

from boundaries.flowbase import ELSEWHERE, OUTSIDE, UNKNOWN, FlowBase, base_labels, flow_base, flow_base_from_place, residence_rows
from boundaries.grouping import Grouping
from boundaries.membership import practice_units
from geo.model import Place
from geo.registrations import UNKNOWN_LSOA
from placekit.errors import PlacekitError
from placekit.settings import BAND_MAX, BAND_MIN

__all__ = [
    "OUTSIDE",
    "UNKNOWN",
    "ELSEWHERE",
    "MEASURES",
    "FlowBase",
    "flow_base",
    "flow_base_from_place",
    "base_labels",
    "residence_rows",
    "flow_array",
    "team_counts",
    "Flows",
    "compute_flows",
    "flow_matrix",
    "neighbourhood_flows",
    "boundary_table",
    "who_crosses",
    "straddling_practices",
    "flows_by",
    "aggregate_registrations",
    "area_containment",
]

#: The two containment measures, with what each divides by.
MEASURES: dict[str, str] = {
    "resident_containment": "share of the neighbourhood's residents (registered anywhere) registered with its own practices",
    "list_containment": "share of the patients registered with its practices who live in its wards",
}


# --------------------------------------------------------------------------- the array core
def _row_units(base: FlowBase, ward_unit: np.ndarray, n_units: int) -> np.ndarray:
    """Return the unit of each residence row: wards' units, then ``n_units`` (outside), then ``n_units + 1`` (unknown)."""
    return np.concatenate([ward_unit, np.full(len(base.rows) - base.n_wards - 1, n_units), [n_units + 1]])


def flow_array(base: FlowBase, ward_unit: np.ndarray, practice_unit: np.ndarray, n_units: int) -> np.ndarray:
    """Return patients by (units + outside + unknown) of residence × (units + outside) of practice.

    One ``numpy.bincount`` over the base's entries: O(entries), no dense product.
    """
    flat = _row_units(base, ward_unit, n_units)[base.row] * (n_units + 1) + practice_unit[base.col]
    return np.bincount(flat, weights=base.weights, minlength=(n_units + 2) * (n_units + 1)).reshape(n_units + 2, n_units + 1)


def team_counts(
    base: FlowBase, ward_unit: np.ndarray, practice_unit: np.ndarray, n_units: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (contained, residents registered, registered list) per unit: three bincounts over the entries, no unit × unit table.

    This is all a move needs (both measures and the list base); :func:`flow_array` gives the whole matrix.
    """
    res = _row_units(base, ward_unit, n_units)[base.row]
    prac = practice_unit[base.col]
    w = base.weights
    resident, listed = res < n_units, prac < n_units
    same = resident & (res == prac)
    return (
        np.bincount(res[same], weights=w[same], minlength=n_units),
        np.bincount(res[resident], weights=w[resident], minlength=n_units),
        np.bincount(prac[listed], weights=w[listed], minlength=n_units),
    )


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return a / b, NaN where b is 0 (no warning)."""
    return np.divide(a, b, out=np.full(np.shape(a), np.nan), where=b > 0)


# --------------------------------------------------------------------------- every figure of a grouping
@dataclass(frozen=True, eq=False)
class Flows:
    """Every flow figure of one grouping; the frames are built on first use.

    Attributes
    ----------
    units
        Neighbourhood names, in the grouping's order.
    ward_unit, practice_unit
        Positions of each ward's and each practice's neighbourhood (``len(units)`` = outside).
    practice_by
        The rule that placed the practices not assigned explicitly.
    """

    base: FlowBase
    grouping: Grouping
    practice_by: str
    units: list[str]
    ward_unit: np.ndarray
    practice_unit: np.ndarray
    city: str = "City"
    band: tuple[int, int] = (BAND_MIN, BAND_MAX)

    @property
    def demo(self) -> bool:
        """Return True on demo data."""
        return self.base.demo

    @property
    def bases(self) -> dict[str, str]:
        """Return the two bases of team size with their year: ``population`` and ``registered_list``."""
        return {"population": self.base.population_base, "registered_list": self.base.list_base}

    @cached_property
    def counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (contained, residents registered, registered list) per neighbourhood (:func:`team_counts`)."""
        return team_counts(self.base, self.ward_unit, self.practice_unit, len(self.units))

    @cached_property
    def array(self) -> np.ndarray:
        """Return patients by residence unit (neighbourhoods, outside the city, unknown) × practice unit (neighbourhoods, outside)."""
        return flow_array(self.base, self.ward_unit, self.practice_unit, len(self.units))

    @cached_property
    def _measures(self) -> dict[str, np.ndarray]:
        contained, residents, lists = self.counts
        return {"resident_containment": _ratio(contained, residents), "list_containment": _ratio(contained, lists)}

    def measure(self, name: str) -> np.ndarray:
        """Return `name` (``resident_containment`` or ``list_containment``) per neighbourhood, as fractions."""
        if name not in MEASURES:
            raise PlacekitError(f'`measure` was "{name}" but is expected to be one of {list(MEASURES)}.')
        return self._measures[name]

    def minimum(self, name: str = "resident_containment") -> float:
        """Return the lowest value of measure `name` over the neighbourhoods."""
        return float(np.nanmin(self.measure(name)))

    def mean(self, name: str = "resident_containment") -> float:
        """Return the city-wide value of `name`: all contained patients over all residents (or all lists)."""
        contained, residents, lists = self.counts
        return float(contained.sum() / (residents if name == "resident_containment" else lists).sum())

    @cached_property
    def population(self) -> np.ndarray | None:
        """Return residents per neighbourhood (the population base, e.g. mid-2015); None without ward populations."""
        wp = self.base.ward_people
        return None if wp is None else np.bincount(self.ward_unit, weights=wp, minlength=len(self.units))

    @cached_property
    def matrix(self) -> pd.DataFrame:
        """Return :attr:`array` as a frame (see :func:`flow_matrix`)."""
        df = pd.DataFrame(
            self.array.round().astype(np.int64),
            index=pd.Index([*self.units, OUTSIDE, UNKNOWN], name="residence"),
            columns=pd.Index([*self.units, OUTSIDE], name="registered with"),
        )
        df.attrs.update({"practice_by": self.practice_by, "demo": self.demo})
        return df

    @cached_property
    def neighbourhoods(self) -> pd.DataFrame:
        """Return the per-neighbourhood table (see :func:`neighbourhood_flows`)."""
        return neighbourhood_flows(self)

    @cached_property
    def boundary(self) -> pd.DataFrame:
        """Return the localities' and city's boundary table (see :func:`boundary_table`)."""
        return boundary_table(self.matrix, self.grouping, city=self.city)


def compute_flows(
    base: FlowBase, grouping: Grouping, *, practice_by: str | None = None, city: str = "City", band: tuple[int, int] = (BAND_MIN, BAND_MAX)
) -> Flows:
    """Compute every flow figure of `grouping`: membership of each practice, then one bincount.

    Parameters
    ----------
    practice_by
        Override the grouping's practice rule (``premises``, ``pcn``, ``patients``);
        explicit practice assignments apply either way.
    band
        Team size band, checked on residents and on registered lists.
    """
    ward_unit, practice_unit, units = practice_units(base, grouping, practice_by=practice_by)
    return Flows(base, grouping, practice_by or grouping.practice_rule, units, ward_unit, practice_unit, city=city, band=band)


def flow_matrix(base: FlowBase, grouping: Grouping, *, practice_by: str | None = None) -> pd.DataFrame:
    """Count patients by neighbourhood of residence × neighbourhood of their practice.

    Returns
    -------
    pandas.DataFrame
        Rows: neighbourhoods, ``outside the city``, ``unknown residence``; columns:
        neighbourhoods, ``outside the city``. Every patient resident in the city or
        registered with one of its practices is counted once; residents of elsewhere
        registered elsewhere are not in it. ``attrs['practice_by']`` states the rule.
    """
    return compute_flows(base, grouping, practice_by=practice_by).matrix


def neighbourhood_flows(flows: Flows) -> pd.DataFrame:
    """Summarise flows per neighbourhood: both containment measures, their counts, team size on both bases.

    Returns
    -------
    pandas.DataFrame
        Index neighbourhood: ``locality``; ``population`` (residents of its wards, the
        population base, e.g. mid-2015) and ``population_in_band``; ``residents_registered``
        (its residents registered with any practice) and ``registered_list`` (patients of
        its practices wherever they live; the list base, e.g. July 2022) and
        ``list_in_band``; ``contained`` (its residents registered with its practices);
        ``resident_containment`` (contained ÷ residents_registered) and
        ``list_containment`` (contained ÷ registered_list), fractions 0–1;
        ``residents_outside_city`` (its residents registered with practices outside the
        city), ``list_outside_city`` (its practices' patients living outside the city),
        ``list_residence_unknown``; ``practices`` (codes) and ``n_practices``.
        ``attrs``: ``practice_by``, ``population_base``, ``list_base``, ``band``, ``demo``.
    """
    a, n, units = flows.array, len(flows.units), flows.units
    contained, residents, lists = flows.counts
    base = flows.base
    pop = flows.population
    codes = np.asarray(base.practices, dtype=object)
    order = np.argsort(flows.practice_unit, kind="stable")
    cuts = np.searchsorted(flows.practice_unit[order], np.arange(n + 1))
    lo, hi = flows.band
    out = pd.DataFrame(
        {
            "locality": [flows.grouping.neighbourhood_to_locality[u] for u in units],
            "population": pop.round().astype(np.int64) if pop is not None else np.nan,
            "population_in_band": (pop >= lo) & (pop <= hi) if pop is not None else np.nan,
            "residents_registered": residents.round().astype(np.int64),
            "registered_list": lists.round().astype(np.int64),
            "list_in_band": (lists >= lo) & (lists <= hi),
            "contained": contained.round().astype(np.int64),
            "resident_containment": _ratio(contained, residents),
            "list_containment": _ratio(contained, lists),
            "residents_outside_city": a[:n, n].round().astype(np.int64),
            "list_outside_city": a[n, :n].round().astype(np.int64),
            "list_residence_unknown": a[n + 1, :n].round().astype(np.int64),
            "practices": [codes[order[cuts[i] : cuts[i + 1]]].tolist() for i in range(n)],
        },
        index=pd.Index(units, name="neighbourhood"),
    )
    out["n_practices"] = out["practices"].map(len)
    out.attrs.update({"practice_by": flows.practice_by, "population_base": base.population_base, "list_base": base.list_base,
                      "band": flows.band, "demo": flows.demo})  # fmt: skip
    return out


def boundary_table(matrix: pd.DataFrame, grouping: Grouping, *, city: str = "City") -> pd.DataFrame:
    """Return the commissioners' boundary table for each locality and the city.

    For each unit: GP-registered population (patients of its practices): total, resident
    in the city (n, %), resident in another local authority (n, %), unknown residence;
    resident registered population (its residents registered anywhere): total, registered
    in the city (n, %), registered outside it (n, %); and the same with the unit (the
    locality) in place of the city.
    """
    units = [c for c in matrix.columns if c != OUTSIDE]
    n = len(units)
    m = matrix.loc[units + [OUTSIDE, UNKNOWN], units + [OUTSIDE]].to_numpy(dtype=float)
    loc_of = [grouping.neighbourhood_to_locality[u] for u in units]
    rows = []
    for name, level in [*((lo, "locality") for lo in grouping.localities), (city, "city")]:  # a locality may share the city's name
        sel = np.array([level == "city" or lo == name for lo in loc_of])
        reg = m[:, :n][:, sel]  # patients of the unit's practices, by residence row
        res = m[:n][sel]  # the unit's residents, by practice column
        reg_total, reg_city, reg_out, reg_unknown = reg.sum(), reg[:n].sum(), reg[n].sum(), reg[n + 1].sum()
        reg_unit = reg[:n][sel].sum()
        res_total, res_city, res_out = res.sum(), res[:, :n].sum(), res[:, n].sum()
        res_unit = res[:, :n][:, sel].sum()

        def pct(a, b):
            return 100 * a / b if b else np.nan

        rows.append(
            {
                "unit": name,
                "level": level,
                "gp_registered": int(reg_total),
                "gp_registered_resident_in_city": int(reg_city),
                "gp_registered_resident_in_city_pct": pct(reg_city, reg_total),
                "gp_registered_resident_other_la": int(reg_out),
                "gp_registered_resident_other_la_pct": pct(reg_out, reg_total),
                "gp_registered_residence_unknown": int(reg_unknown),
                "gp_registered_resident_in_unit": int(reg_unit),
                "gp_registered_resident_in_unit_pct": pct(reg_unit, reg_total),
                "residents_registered": int(res_total),
                "residents_registered_in_city": int(res_city),
                "residents_registered_in_city_pct": pct(res_city, res_total),
                "residents_registered_outside_city": int(res_out),
                "residents_registered_outside_city_pct": pct(res_out, res_total),
                "residents_registered_in_unit": int(res_unit),
                "residents_registered_in_unit_pct": pct(res_unit, res_total),
            }
        )
    out = pd.DataFrame(rows).set_index("unit")
    out.attrs.update(matrix.attrs)
    return out


# --------------------------------------------------------------------------- who crosses
def _by_place(keys: np.ndarray, rows: np.ndarray, weights: np.ndarray, n_keys: int, n_rows: int) -> np.ndarray:
    return np.bincount(rows * n_keys + keys, weights=weights, minlength=n_rows * n_keys).reshape(n_rows, n_keys)


def who_crosses(flows: Flows) -> pd.DataFrame:
    """Return, per neighbourhood, where its practices' patients live and where its residents are registered.

    Returns
    -------
    pandas.DataFrame
        One row per (neighbourhood, direction, area) with patients: ``neighbourhood``;
        ``direction``: ``"list by residence"`` (patients of its practices, by where they
        live) or ``"residents by practice"`` (its residents, by where their practice is);
        ``area`` (a neighbourhood, a local authority outside the city such as Trafford,
        ``unknown residence``, or for practices outside the city their CCG area);
        ``area_kind`` (``own neighbourhood``, ``neighbourhood``, ``outside the city``,
        ``unknown``); ``patients``; ``share`` of the direction's total. Largest first
        within each neighbourhood and direction.
    """
    base, units, n = flows.base, flows.units, len(flows.units)
    out_areas = list(base.outside_areas)
    # Patients of each unit's practices, by residence: units, each outside area, unknown.
    res_key = np.concatenate([flows.ward_unit, n + np.arange(len(out_areas)), [n + len(out_areas)]])
    lists = _by_place(res_key[base.row], flows.practice_unit[base.col], base.weights, n + len(out_areas) + 1, n + 1)[:n]
    # Each unit's residents, by practice: units, then the area of practices outside the city.
    areas = pd.Index(sorted(set(base.practice_area[~base.in_place])))
    prac_key = np.where(flows.practice_unit < n, flows.practice_unit, n + areas.get_indexer(base.practice_area.to_numpy()))
    city = base.row < base.n_wards
    res = _by_place(prac_key[base.col[city]], flows.ward_unit[base.row[city]], base.weights[city], n + len(areas), n)
    frames = []
    for direction, mat, names in (
        ("list by residence", lists, [*units, *out_areas, UNKNOWN]),
        ("residents by practice", res, [*units, *areas]),
    ):
        kind = ["neighbourhood"] * n + [OUTSIDE] * (len(names) - n)
        if direction == "list by residence":
            kind[-1] = "unknown"
        i, j = np.nonzero(mat)
        df = pd.DataFrame({"neighbourhood": np.array(units, dtype=object)[i], "direction": direction, "area": np.array(names, dtype=object)[j],
                           "area_kind": np.array(kind, dtype=object)[j], "patients": mat[i, j].round().astype(np.int64)})  # fmt: skip
        df.loc[df["area"] == df["neighbourhood"], "area_kind"] = "own neighbourhood"
        df["share"] = df["patients"] / df.groupby("neighbourhood")["patients"].transform("sum")
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out["_order"] = out["neighbourhood"].map({u: i for i, u in enumerate(units)})
    out = out.sort_values(["_order", "direction", "patients"], ascending=[True, True, False]).drop(columns="_order")
    out.attrs.update({"practice_by": flows.practice_by, "list_base": base.list_base, "demo": flows.demo})
    return out.reset_index(drop=True)


def straddling_practices(flows: Flows, *, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Return, for each of the city's practices, how its list splits across neighbourhoods.

    Returns
    -------
    pandas.DataFrame
        Index practice_code, sorted most split first: ``practice_name``, ``neighbourhood``
        (its team), ``list`` (all its patients), ``in_own``, ``own_share``,
        ``in_other_neighbourhoods``, ``outside_city``, ``unknown``,
        ``second_neighbourhood`` and ``second_share`` (where most of the rest live).
    """
    base, n, pu = flows.base, len(flows.units), flows.practice_unit
    idx = np.flatnonzero(base.in_place)
    res_unit = np.concatenate([flows.ward_unit, np.full(len(base.rows) - base.n_wards - 1, n), [n + 1]])
    by_unit = csr_matrix((base.weights, (res_unit[base.row], base.col)), shape=(n + 2, len(base.practices)))[:, idx].toarray()
    total = by_unit.sum(axis=0)
    cols = np.arange(len(idx))
    home = pu[idx]
    placed = home < n  # explicit assignments and rules always place the city's practices; kept safe anyway
    own = np.zeros(len(idx))
    own[placed] = by_unit[home[placed], cols[placed]]
    others = by_unit[:n].copy()
    others[home[placed], cols[placed]] = -1
    second = others.argmax(axis=0)
    label = dict(names) if names is not None else base.practice_names.to_dict()
    df = pd.DataFrame(
        {
            "practice_name": [label.get(p, "") for p in base.practices[idx]],
            "neighbourhood": [flows.units[u] if u < n else OUTSIDE for u in home],
            "list": total.round().astype(np.int64),
            "in_own": own.round().astype(np.int64),
            "own_share": _ratio(own, total),
            "in_other_neighbourhoods": (by_unit[:n].sum(axis=0) - own).round().astype(np.int64),
            "outside_city": by_unit[n].round().astype(np.int64),
            "unknown": by_unit[n + 1].round().astype(np.int64),
            "second_neighbourhood": [flows.units[s] for s in second],
            "second_share": _ratio(others[second, cols].clip(min=0), total),
        },
        index=pd.Index(base.practices[idx], name="practice_code"),
    )
    df.attrs.update({"practice_by": flows.practice_by, "list_base": base.list_base})
    return df.sort_values("own_share")


def flows_by(place: Place, grouping: Grouping, *, column: str = "sex", practice_by: str | None = None) -> pd.DataFrame:
    """Return both containment measures per neighbourhood for each value of `column` (e.g. MALE/FEMALE).

    Raises
    ------
    PlacekitError
        When the registrations have no such breakdown (NHS Digital's LSOA files carry
        sex but not age).
    """
    reg = place.registrations
    values = sorted(set(reg[column]) - {"ALL"}) if column in reg else []
    if not values:
        raise PlacekitError(
            f"the registrations file has no {column!r} breakdown (only ALL). Load the male/female "
            "files of the same publication (gp-reg-pat-prac-lsoa-male/female) to see flows by sex."
        )
    parts = []
    keep = ["residents_registered", "registered_list", "resident_containment", "list_containment", "residents_outside_city"]
    for v in values:
        nf = compute_flows(flow_base_from_place(place, sex=v), grouping, practice_by=practice_by).neighbourhoods
        parts.append(nf[keep].assign(**{column: v}).reset_index())
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- national files
def _factor_units(codes: pd.Series, unit: pd.Series, fill: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Factorise `codes` once, then map the distinct codes to units (missing → `fill`); return per-row unit positions and names."""
    c_idx, uniques = pd.factorize(codes)
    u = pd.Series(uniques).map(unit)
    u = u.where(u.notna(), fill)
    u_idx, u_names = pd.factorize(u.to_numpy())
    return u_idx[c_idx], np.asarray(u_names, dtype=object)


def aggregate_registrations(
    registrations: pd.DataFrame, lsoa_unit: pd.Series, practice_unit: pd.Series, *, unknown: str = "unknown", unmapped: str = "unmapped"
) -> pd.DataFrame:
    """Sum registrations to (unit of residence × unit of practice) for any pair of coarse groupings.

    Made for national files (866k rows): codes are factorised once and summed with
    ``numpy.bincount``, with no merge or pivot. The result is dense, so use it for
    coarse units (local authorities × sub-ICBs); for PCNs use :func:`area_containment`.

    Parameters
    ----------
    registrations
        Columns ``practice_code``, ``lsoa_code``, ``patients``.
    lsoa_unit
        LSOA → unit of residence (e.g. local authority). ``NO2011``-style codes become
        `unknown`; LSOAs absent from it become `unmapped` (and are counted, not dropped).
    practice_unit
        Practice → unit (e.g. sub-ICB); practices absent become `unmapped`.

    Returns
    -------
    pandas.DataFrame
        Residence units × practice units, patients; ``attrs['unmapped']`` gives the
        patients whose LSOA or practice had no unit.
    """
    lsoas = registrations["lsoa_code"]
    l_fill = np.where(pd.Series(pd.factorize(lsoas)[1]).isin(UNKNOWN_LSOA), unknown, unmapped)
    r_idx, r_names = _factor_units(lsoas, lsoa_unit, l_fill)
    c_idx, c_names = _factor_units(registrations["practice_code"], practice_unit, np.array(unmapped, dtype=object))
    n = registrations["patients"].to_numpy()
    sums = np.bincount(r_idx * len(c_names) + c_idx, weights=n, minlength=len(r_names) * len(c_names)).reshape(len(r_names), len(c_names))
    out = pd.DataFrame(sums.astype(np.int64), index=pd.Index(r_names, name="residence"), columns=pd.Index(c_names, name="practice"))
    out.attrs["unmapped"] = {
        "lsoa_patients": int(out.loc[unmapped].sum()) if unmapped in out.index else 0,
        "practice_patients": int(out[unmapped].sum()) if unmapped in out.columns else 0,
    }
    return out


def _row_argmax(table: csr_matrix) -> np.ndarray:
    """Return each row's column holding its largest positive value (ties: the lowest column), -1 for rows with none.

    Vectorised over the CSR arrays (``scipy``'s own ``argmax(axis=1)`` loops over rows in Python).
    """
    table.sum_duplicates()  # also sorts each row's columns
    lengths = np.diff(table.indptr)
    full = np.flatnonzero(lengths)
    row_max = np.zeros(table.shape[0])
    row_max[full] = np.maximum.reduceat(table.data, table.indptr[:-1][full])
    rows = np.repeat(np.arange(table.shape[0]), lengths)
    hit = np.flatnonzero(table.data == row_max[rows])
    first = hit[np.r_[True, rows[hit][1:] != rows[hit][:-1]]] if len(hit) else hit
    out = np.full(table.shape[0], -1, dtype=np.int64)
    out[rows[first]] = table.indices[first]
    out[row_max <= 0] = -1
    return out


def area_containment(registrations: pd.DataFrame, practice_unit: pd.Series, *, lsoa_unit: pd.Series | None = None) -> pd.DataFrame:
    """Return resident and list containment of every unit of practices (e.g. every PCN in England).

    Each practice belongs to its unit (`practice_unit`); each LSOA to `lsoa_unit` when
    given, else to the unit holding most of its patients (ties: the unit met first in
    the file). Sparse throughout: the LSOA × unit table is a ``scipy.sparse`` matrix,
    its row maxima a sort, the sums bincounts.

    Parameters
    ----------
    registrations
        Columns ``practice_code``, ``lsoa_code``, ``patients`` (e.g. the national 866k-row file).
    practice_unit
        Practice code → unit (PCN code). Patients of practices without a unit count in no
        unit's list, and as "registered elsewhere" for their residents.
    lsoa_unit
        Optional LSOA → unit of residence.

    Returns
    -------
    pandas.DataFrame
        Index unit: ``lsoas`` (LSOAs assigned), ``residents_registered``, ``registered_list``,
        ``contained``, ``resident_containment``, ``list_containment``. ``attrs``:
        ``unmapped_practice_patients``, ``unknown_residence_patients``.
    """
    p_idx, units = _factor_units(registrations["practice_code"], practice_unit, np.array("", dtype=object))
    has_unit = units != ""
    l_idx, l_codes = pd.factorize(registrations["lsoa_code"])
    w = registrations["patients"].to_numpy(dtype=np.float64)
    known = ~pd.Index(l_codes).isin(UNKNOWN_LSOA)
    mapped = has_unit[p_idx]
    table = csr_matrix((w[mapped], (l_idx[mapped], p_idx[mapped])), shape=(len(l_codes), len(units)))
    if lsoa_unit is None:
        home = _row_argmax(table)
    else:
        home = pd.Index(units).get_indexer(pd.Index(l_codes).map(lsoa_unit))
    home = np.where(known, home, -1)
    row_home = home[l_idx]
    inside = row_home >= 0
    n_u = len(units)
    residents = np.bincount(row_home[inside], weights=w[inside], minlength=n_u)
    lists = np.bincount(p_idx, weights=w, minlength=n_u)
    same = inside & (row_home == p_idx)
    contained = np.bincount(p_idx[same], weights=w[same], minlength=n_u)
    out = pd.DataFrame(
        {
            "lsoas": np.bincount(home[home >= 0], minlength=n_u),
            "residents_registered": residents.round().astype(np.int64),
            "registered_list": lists.round().astype(np.int64),
            "contained": contained.round().astype(np.int64),
            "resident_containment": _ratio(contained, residents),
            "list_containment": _ratio(contained, lists),
        },
        index=pd.Index(units, name="unit"),
    )[has_unit]
    out.attrs.update({"unmapped_practice_patients": int(lists[~has_unit].sum()), "unknown_residence_patients": int(w[~known[l_idx]].sum())})
    return out
