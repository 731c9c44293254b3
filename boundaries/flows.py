"""Cross-boundary flows: where a neighbourhood's residents are registered, and who its practices serve.

The fixed part of every computation, registrations summed to (residence ward ×
practice), is built once by :func:`flow_base`. Every grouping is then a pair of
small one-hot products, so a ward reassignment recomputes every figure in well
under a millisecond for a city of Manchester's size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from boundaries.grouping import Grouping
from geo.model import Place
from geo.registrations import UNKNOWN_LSOA
from placekit.errors import InvalidGroupingError, PlacekitError

__all__ = [
    "OUTSIDE",
    "UNKNOWN",
    "FlowBase",
    "flow_base",
    "flow_base_from_place",
    "residence_rows",
    "practice_units",
    "flow_matrix",
    "neighbourhood_flows",
    "boundary_table",
    "straddling_practices",
    "flows_by",
    "Flows",
    "compute_flows",
    "aggregate_registrations",
]

OUTSIDE = "outside the city"
UNKNOWN = "unknown residence"
PracticeBy = Literal["location", "patients"]


@dataclass(frozen=True)
class FlowBase:
    """Registrations summed by residence row × practice, with each practice's ward.

    Attributes
    ----------
    counts
        Array (rows × practices) of patients.
    rows
        Residence rows: the place's ward codes, then :data:`OUTSIDE`, then :data:`UNKNOWN`.
    practices
        Practice codes (columns of `counts`).
    practice_ward
        Ward code of each practice's premises, or None when outside the place or unlocated.
    outside_lad
        Patients of the place's practices living outside it, by local authority name
        (``"Wales"``, ``"elsewhere in England"`` when the lookup does not cover the LSOA).
    dropped
        Counts of rows left out, with the reason (e.g. neither resident nor practice in the place).
    """

    counts: np.ndarray
    rows: pd.Index
    practices: pd.Index
    practice_ward: pd.Series
    outside_lad: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))
    dropped: dict[str, int] = field(default_factory=dict)
    demo: bool = False

    @property
    def wards(self) -> pd.Index:
        """Return the place's ward codes (rows before outside/unknown)."""
        return self.rows[:-2]

    @property
    def total(self) -> int:
        """Return every patient counted (resident in the place or registered in it)."""
        return int(self.counts.sum())


def flow_base(
    registrations: pd.DataFrame,
    lsoa_ward: pd.Series,
    practice_ward: pd.Series,
    *,
    wards: pd.Index,
    lsoa_lad: pd.Series | None = None,
    sex: str | None = None,
) -> FlowBase:
    """Sum registrations to (residence ward × practice), keeping every patient of the place.

    Parameters
    ----------
    registrations
        Columns ``practice_code``, ``lsoa_code``, ``patients`` (and ``sex``).
    lsoa_ward
        Ward of each of the place's LSOAs (best fit).
    practice_ward
        Ward of each practice inside the place (index practice code; missing or NaN = outside).
    wards
        The place's ward codes, in row order.
    lsoa_lad
        Optional local-authority name of LSOAs outside the place, to say where the
        place's practices' other patients live.
    sex
        Keep only this ``sex`` value (files split by sex).

    Returns
    -------
    FlowBase
        Rows where the patient lives in the place or the practice stands in it. Rows of
        neither are left out and counted in ``dropped``; LSOA ``NO2011`` is "unknown
        residence", any other LSOA not in the place is "outside the city".

    Raises
    ------
    PlacekitError
        If a practice is placed in a ward that is not one of `wards`.
    """
    need = {"practice_code", "lsoa_code", "patients"}
    if not need <= set(registrations.columns):
        raise PlacekitError(f"registrations need columns {sorted(need)}; they have {list(registrations.columns)}.")
    reg = registrations if sex is None or "sex" not in registrations else registrations[registrations["sex"] == sex]
    pw = practice_ward.dropna()
    stray = sorted(set(pw) - set(wards))
    if stray:
        raise PlacekitError(f"practice_ward names ward(s) {stray[:5]} that are not wards of the place; use the same ward vintage.")
    n_w = len(wards)
    row = residence_rows(reg["lsoa_code"], lsoa_ward, wards)
    in_place_practice = reg["practice_code"].isin(pw.index).to_numpy()
    keep = (row < n_w) | in_place_practice
    dropped = {"registrations of neither a resident nor a practice of the place": int(reg["patients"].to_numpy()[~keep].sum())}
    codes, uniques = pd.factorize(reg["practice_code"].to_numpy()[keep])
    counts = np.zeros((n_w + 2, len(uniques)), dtype=np.int64)
    np.add.at(counts, (row[keep], codes), reg["patients"].to_numpy()[keep])
    practices = pd.Index(uniques, name="practice_code")
    outside = _outside_by_lad(reg[in_place_practice & (row == n_w)], lsoa_lad) if lsoa_lad is not None else pd.Series(dtype="int64")
    return FlowBase(counts=counts, rows=pd.Index(list(wards) + [OUTSIDE, UNKNOWN], name="residence"), practices=practices,
                    practice_ward=practice_ward.reindex(practices), outside_lad=outside, dropped=dropped)  # fmt: skip


def residence_rows(lsoa_codes: pd.Series, lsoa_ward: pd.Series, wards: pd.Index) -> np.ndarray:
    """Return each registration's residence row: its ward's position, ``len(wards)`` outside, ``len(wards) + 1`` unknown."""
    n_w = len(wards)
    row = lsoa_codes.map(lsoa_ward.map(pd.Series(np.arange(n_w), index=wards)))
    unknown = lsoa_codes.isin(UNKNOWN_LSOA)
    return row.where(row.notna(), np.where(unknown, n_w + 1, n_w)).astype("int64").to_numpy()


def _outside_by_lad(outside: pd.DataFrame, lsoa_lad: pd.Series) -> pd.Series:
    """Sum patients living outside the place by local authority (Wales, or elsewhere in England when not in the lookup)."""
    lad = outside["lsoa_code"].map(lsoa_lad)
    lad = lad.where(lad.notna(), np.where(outside["lsoa_code"].str.startswith("W"), "Wales", "elsewhere in England"))
    return outside["patients"].groupby(lad.to_numpy()).sum().sort_values(ascending=False).astype("int64")


def flow_base_from_place(place: Place, *, sex: str | None = None) -> FlowBase:
    """Build the :class:`FlowBase` of a loaded place (registrations, lookup, the wards of its practices in use)."""
    if place.registrations is None or place.practices is None:
        raise PlacekitError(f"{place.label} has no registrations or practice layer; add them to the manifest.")
    ward = place.practices_in_place["ward_code"]
    lad = place.lsoa_ward.loc[~place.lsoa_ward.index.isin(place.lsoas.index), "lad_name"]
    base = flow_base(place.registrations, place.lsoa_ward_code, ward, wards=place.wards.index, lsoa_lad=lad, sex=sex)
    return dataclasses.replace(base, demo=place.demo)


# --------------------------------------------------------------------------- the fast core
def _unit_index(grouping: Grouping, wards: pd.Index) -> tuple[np.ndarray, list[str]]:
    missing = [w for w in wards if w not in grouping.ward_to_neighbourhood]
    if missing:
        raise InvalidGroupingError([f"{len(missing)} ward(s) of the place missing: {missing}"], source=f"grouping {grouping.name!r}")
    units = grouping.neighbourhoods
    pos = {u: i for i, u in enumerate(units)}
    return np.array([pos[grouping.ward_to_neighbourhood[w]] for w in wards]), units


def practice_units(base: FlowBase, ward_unit: np.ndarray, n_units: int, *, practice_by: PracticeBy = "location") -> np.ndarray:
    """Return each practice's unit index (``n_units`` = outside the city).

    ``location``: the unit of the ward its premises stand in. ``patients``: the unit
    where most of its patients who live in the city live (practices outside the city
    stay outside either way).
    """
    if practice_by not in ("location", "patients"):
        raise PlacekitError(f'`practice_by` was "{practice_by}" but is expected to be "location" or "patients".')
    wards = base.wards
    wpos = pd.Series(np.arange(len(wards)), index=wards)
    loc_ward = base.practice_ward.map(wpos)
    inside = loc_ward.notna().to_numpy()
    out = np.full(len(base.practices), n_units, dtype=np.int64)
    if practice_by == "location":
        out[inside] = ward_unit[loc_ward[inside].astype(int).to_numpy()]
        return out
    onehot = np.zeros((n_units, len(wards)))
    onehot[ward_unit, np.arange(len(wards))] = 1.0
    by_unit = onehot @ base.counts[: len(wards)]  # units × practices
    best = by_unit.argmax(axis=0)
    has = by_unit.sum(axis=0) > 0
    out[inside & has] = best[inside & has]
    out[inside & ~has] = ward_unit[loc_ward[inside & ~has].astype(int).to_numpy()]
    return out


def _matrix(base: FlowBase, ward_unit: np.ndarray, prac_unit: np.ndarray, n_units: int) -> np.ndarray:
    """Return (units + outside + unknown) × (units + outside) patients."""
    n_w = len(base.wards)
    row_unit = np.concatenate([ward_unit, [n_units, n_units + 1]])
    rows = np.zeros((n_units + 2, n_w + 2))
    rows[row_unit, np.arange(n_w + 2)] = 1.0
    cols = np.zeros((len(prac_unit), n_units + 1))
    cols[np.arange(len(prac_unit)), prac_unit] = 1.0
    return rows @ base.counts @ cols


def flow_matrix(base: FlowBase, grouping: Grouping, *, practice_by: PracticeBy = "location") -> pd.DataFrame:
    """Count patients by neighbourhood of residence × neighbourhood of their practice.

    Returns
    -------
    pandas.DataFrame
        Rows: neighbourhoods, ``outside the city``, ``unknown residence``; columns:
        neighbourhoods, ``outside the city``. Every patient resident in the city or
        registered with one of its practices is counted once; residents of elsewhere
        registered elsewhere are not in it. ``attrs['practice_by']`` states the rule.
    """
    ward_unit, units = _unit_index(grouping, base.wards)
    pu = practice_units(base, ward_unit, len(units), practice_by=practice_by)
    m = _matrix(base, ward_unit, pu, len(units))
    df = pd.DataFrame(
        m.round().astype(np.int64),
        index=pd.Index(units + [OUTSIDE, UNKNOWN], name="residence"),
        columns=pd.Index(units + [OUTSIDE], name="registered with"),
    )
    df.attrs.update({"practice_by": practice_by, "demo": base.demo})
    return df


def neighbourhood_flows(matrix: pd.DataFrame) -> pd.DataFrame:
    """Summarise a flow matrix per neighbourhood.

    Returns
    -------
    pandas.DataFrame
        Index neighbourhood: ``residents`` (its residents registered anywhere),
        ``registered`` (patients of its practices, wherever they live),
        ``self_contained`` (residents registered in it), ``self_containment``
        (fraction of its residents registered in it), ``practice_share_resident``
        (fraction of its practices' patients who live in it), ``residents_outside_city``
        (registered with practices outside the city), ``registered_from_outside``
        (its practices' patients living outside the city), ``registered_unknown``.
    """
    units = [c for c in matrix.columns if c != OUTSIDE]
    m = matrix.loc[units + [OUTSIDE, UNKNOWN], units + [OUTSIDE]].to_numpy(dtype=float)
    n = len(units)
    diag = np.diag(m[:n, :n])
    residents = m[:n].sum(axis=1)
    registered = m[:, :n].sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                "residents": residents.astype(np.int64),
                "registered": registered.astype(np.int64),
                "self_contained": diag.astype(np.int64),
                "self_containment": np.where(residents > 0, diag / residents, np.nan),
                "practice_share_resident": np.where(registered > 0, diag / registered, np.nan),
                "residents_outside_city": m[:n, n].astype(np.int64),
                "registered_from_outside": m[n, :n].astype(np.int64),
                "registered_unknown": m[n + 1, :n].astype(np.int64),
            },
            index=pd.Index(units, name="neighbourhood"),
        )
    out["resident_containment"] = out["self_containment"]
    out["list_containment"] = out["practice_share_resident"]
    out["residents_registered"] = out["residents"]
    out["registered_list"] = out["registered"]
    out.attrs.update(matrix.attrs)
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
    for name in [*grouping.localities, city]:
        sel = np.array([name == city or lo == name for lo in loc_of])
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
                "level": "city" if name == city else "locality",
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


def straddling_practices(
    base: FlowBase, grouping: Grouping, *, practice_by: PracticeBy = "location", names: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Return, for each of the city's practices, how its list splits across neighbourhoods.

    Returns
    -------
    pandas.DataFrame
        Index practice_code, sorted most split first: ``practice_name``, ``neighbourhood``
        (its home under `practice_by`), ``list`` (all its patients), ``in_own``,
        ``own_share``, ``in_other_neighbourhoods``, ``outside_city``, ``unknown``,
        ``second_neighbourhood`` and ``second_share`` (where most of the rest live).
    """
    ward_unit, units = _unit_index(grouping, base.wards)
    n = len(units)
    pu = practice_units(base, ward_unit, n, practice_by=practice_by)
    inside = pu < n
    rows = np.zeros((n + 2, len(base.rows)))
    rows[np.concatenate([ward_unit, [n, n + 1]]), np.arange(len(base.rows))] = 1.0
    by_unit = rows @ base.counts  # (units + outside + unknown) × practices
    idx = np.flatnonzero(inside)
    sub = by_unit[:, idx]
    total = sub.sum(axis=0)
    own = sub[pu[idx], np.arange(len(idx))]
    others = sub[:n].copy()
    others[pu[idx], np.arange(len(idx))] = -1
    second = others.argmax(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = pd.DataFrame(
            {
                "practice_name": [(names or {}).get(p, "") for p in base.practices[idx]],
                "neighbourhood": [units[u] for u in pu[idx]],
                "list": total.astype(np.int64),
                "in_own": own.astype(np.int64),
                "own_share": own / total,
                "in_other_neighbourhoods": (sub[:n].sum(axis=0) - own).astype(np.int64),
                "outside_city": sub[n].astype(np.int64),
                "unknown": sub[n + 1].astype(np.int64),
                "second_neighbourhood": [units[s] for s in second],
                "second_share": others[second, np.arange(len(idx))] / total,
            },
            index=pd.Index(base.practices[idx], name="practice_code"),
        )
    df.attrs["practice_by"] = practice_by
    return df.sort_values("own_share")


def flows_by(place: Place, grouping: Grouping, *, column: str = "sex", practice_by: PracticeBy = "location") -> pd.DataFrame:
    """Return self-containment per neighbourhood for each value of `column` (e.g. MALE/FEMALE).

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
    for v in values:
        base = flow_base_from_place(place, sex=v)
        nf = neighbourhood_flows(flow_matrix(base, grouping, practice_by=practice_by))
        parts.append(nf[["residents", "self_containment", "residents_outside_city"]].assign(**{column: v}).reset_index())
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- everything at once
@dataclass
class Flows:
    """Every flow figure of one grouping."""

    matrix: pd.DataFrame
    neighbourhoods: pd.DataFrame
    boundary: pd.DataFrame
    practice_by: str
    demo: bool = False

    @property
    def min_self_containment(self) -> float:
        """Return the lowest self-containment of any neighbourhood."""
        return float(self.neighbourhoods["self_containment"].min())

    @property
    def mean_self_containment(self) -> float:
        """Return self-containment weighted by residents (city residents registered in their own neighbourhood)."""
        nb = self.neighbourhoods
        return float(nb["self_contained"].sum() / nb["residents"].sum())


def compute_flows(base: FlowBase, grouping: Grouping, *, practice_by: PracticeBy = "location", city: str = "City") -> Flows:
    """Compute the matrix, the per-neighbourhood summary and the boundary table."""
    m = flow_matrix(base, grouping, practice_by=practice_by)
    return Flows(m, neighbourhood_flows(m), boundary_table(m, grouping, city=city), practice_by, base.demo)


def aggregate_registrations(
    registrations: pd.DataFrame, lsoa_unit: pd.Series, practice_unit: pd.Series, *, unknown: str = "unknown", unmapped: str = "unmapped"
) -> pd.DataFrame:
    """Sum registrations to (unit of residence × unit of practice) for any pair of groupings.

    Made for national files (866k rows): codes are factorised once and summed with
    ``numpy.bincount`` into a dense array, with no merge or pivot.

    Parameters
    ----------
    registrations
        Columns ``practice_code``, ``lsoa_code``, ``patients``.
    lsoa_unit
        LSOA → unit of residence (e.g. local authority). ``NO2011``-style codes become
        `unknown`; LSOAs absent from it become `unmapped` (and are counted, not dropped).
    practice_unit
        Practice → unit (e.g. PCN, sub-ICB); practices absent become `unmapped`.

    Returns
    -------
    pandas.DataFrame
        Residence units × practice units, patients; ``attrs['unmapped']`` gives the
        patients whose LSOA or practice had no unit.
    """
    n = registrations["patients"].to_numpy()
    # Factorise the Series themselves: with Arrow-backed strings this never builds Python str objects.
    l_codes, l_uniques = pd.factorize(registrations["lsoa_code"])
    p_codes, p_uniques = pd.factorize(registrations["practice_code"])
    l_unit = pd.Series(l_uniques).map(lsoa_unit)
    l_unit = l_unit.where(l_unit.notna(), np.where(pd.Series(l_uniques).isin(UNKNOWN_LSOA), unknown, unmapped))
    p_unit = pd.Series(p_uniques).map(practice_unit).fillna(unmapped)
    r_idx, r_names = pd.factorize(l_unit.to_numpy())
    c_idx, c_names = pd.factorize(p_unit.to_numpy())
    flat = r_idx[l_codes] * len(c_names) + c_idx[p_codes]
    sums = np.bincount(flat, weights=n, minlength=len(r_names) * len(c_names)).reshape(len(r_names), len(c_names))
    out = pd.DataFrame(sums.astype(np.int64), index=pd.Index(r_names, name="residence"), columns=pd.Index(c_names, name="practice"))
    out.attrs["unmapped"] = {
        "lsoa_patients": int(out.loc[unmapped].sum()) if unmapped in out.index else 0,
        "practice_patients": int(out[unmapped].sum()) if unmapped in out.columns else 0,
    }
    return out
