"""Health need per neighbourhood, locality and city: QOF registers seen from practices and from residents.

Two views of each QOF condition (register group):

- **registered view** — the registers and lists of the practices of a unit (today: the
  practices whose premises stand in its wards; :func:`practice_units` is the one place that
  decides), prevalence = register ÷ the list of the age base QOF uses for that condition;
- **resident view (modelled)** — each practice's register is spread over the LSOAs its
  patients live in, in proportion to its July 2022 registrations, and summed over the
  LSOAs of a unit's wards, so it counts the unit's residents whichever practice they use.
  The assumption: a practice's prevalence applies to all its patients wherever they live.

Everything that does not depend on the grouping (the arrays per practice, per LSOA and per
ward) is built once by :func:`health_base`; a grouping is then a few sums of small arrays,
so a ward moved recomputes the whole table in about a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from boundaries.grouping import Grouping
from boundaries.membership import practice_neighbourhoods
from boundaries.profiles import require_cover
from geo.health import LIST_TYPES, QOF_CONDITIONS, RegisterOverListError
from geo.model import Place
from placekit.errors import PlacekitError

__all__ = [
    "HealthBase",
    "health_base",
    "practice_units",
    "health_table",
    "health_by_imd",
    "health_by_imd_units",
    "MAIN_CONDITIONS",
    "RESIDENT_ASSUMPTION",
    "HEALTH_COLUMNS",
]

#: Conditions shown first in profiles and charts (the 2016 prospectus names diabetes and dementia).
MAIN_CONDITIONS = ["DM", "HYP", "CHD", "COPD", "AST", "DEP", "MH", "DEM", "CKD", "STIA", "AF", "CAN"]

RESIDENT_ASSUMPTION = (
    "Resident view (modelled): each practice's QOF register and list are spread over the LSOAs its patients live in, in "
    "proportion to its registrations (July 2022), and summed over the LSOAs of the unit's wards. It assumes each practice's "
    "prevalence applies to all its patients wherever they live."
)

#: Columns of :func:`health_table`.
HEALTH_COLUMNS = [
    "level", "name", "locality", "condition", "condition_name", "list_type", "list_base", "register", "list_size", "prevalence",
    "city_prevalence", "england_prevalence", "ratio_city", "ratio_england", "resident_register", "resident_list_size",
    "resident_prevalence", "city_resident_prevalence", "resident_ratio_city", "resident_ratio_england",
]  # fmt: skip


@dataclass(frozen=True)
class HealthBase:
    """The grouping-free arrays of the health table (see :func:`health_base`).

    Attributes
    ----------
    conditions
        QOF group codes, the columns of every array.
    bases
        Each condition's list type (``TOTAL``, ``17OV``, ...).
    practices
        The place's practices with a QOF row (rows of `register`, `list_size`).
    practice_ward
        Ward of each of `practices` (premises).
    register, list_size
        Practices × conditions: QOF register, and the list of the condition's base.
    wards
        The place's wards (rows of `resident_register`, `resident_list`).
    resident_register, resident_list
        Wards × conditions: modelled register and list of the ward's residents.
    lsoa_ward, lsoa_quintile
        Per LSOA of the place: position of its ward in `wards`, and its IMD quintile (0 unknown).
    lsoa_register, lsoa_list
        LSOAs × conditions, modelled (summed to wards they give the resident arrays).
    england_register, england_list
        Per condition, over every practice in the QOF file.
    notes
        What was left out and why (practices without a QOF row, residents registered with them).
    """

    conditions: list[str]
    bases: dict[str, str]
    practices: pd.Index
    practice_ward: pd.Series
    register: np.ndarray
    list_size: np.ndarray
    wards: pd.Index
    resident_register: np.ndarray
    resident_list: np.ndarray
    lsoa_ward: np.ndarray
    lsoa_quintile: np.ndarray
    lsoa_register: np.ndarray
    lsoa_list: np.ndarray
    england_register: np.ndarray
    england_list: np.ndarray
    vintage: str = ""
    demo: bool = False
    notes: list[str] = field(default_factory=list)


def _condition_arrays(qof: pd.DataFrame, codes: pd.Index, conditions: list[str], bases: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Return (register, list of the condition's base) for practices `codes` × `conditions`."""
    sub = qof.reindex(codes)
    reg = sub[[f"register_{c}" for c in conditions]].to_numpy(dtype=float)
    lst = np.column_stack([sub[f"list_{bases[c]}"].astype("float64").to_numpy() for c in conditions])
    return np.nan_to_num(reg), np.nan_to_num(lst)


def _refuse_over_list(qof: pd.DataFrame, used: pd.Index) -> None:
    over = [r for r in qof.attrs.get("register_over_list", []) if r[0] in set(used)]
    if over:
        raise RegisterOverListError(
            f"QOF file ({qof.attrs.get('source', 'qof layer')}): practice(s) in this place's figures have a register larger than their "
            f"list: {over[:6]}. Correct the QOF file for those practices before computing health need."
        )


def _resident_shares(place: Place, qof: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Return each (practice, LSOA of the place) share of the practice's patients, and notes.

    The share is the practice's July 2022 registrations in that LSOA over its whole list:
    its registrations total when the extract holds its whole list (a practice of the
    place's practice layer), else the larger of that total and its QOF list.
    """
    reg = place.registrations
    total = reg.groupby("practice_code")["patients"].sum()
    local = reg[reg["lsoa_code"].isin(place.lsoas.index)]
    no_qof = ~local["practice_code"].isin(qof.index)
    notes = []
    if no_qof.any():
        notes.append(f"{int(local.loc[no_qof, 'patients'].sum()):,} residents (July 2022) are registered with "
                     f"{local.loc[no_qof, 'practice_code'].nunique()} practice(s) with no QOF row (closed or merged); "
                     "they are outside the resident view.")  # fmt: skip
    local = local[~no_qof]
    whole = place.practices.index if place.practices is not None else pd.Index([])
    qof_list = qof["list_TOTAL"].astype("float64").reindex(total.index)
    denom = total.astype(float).where(total.index.isin(whole), np.fmax(total.astype(float), qof_list.fillna(0)))
    shares = local.assign(share=local["patients"] / local["practice_code"].map(denom).to_numpy())
    return shares[["practice_code", "lsoa_code", "share"]], notes


def health_base(place: Place) -> HealthBase:
    """Build the grouping-free arrays of the health table for `place` (QOF, registrations, IMD).

    Raises
    ------
    PlacekitError
        When the place has no QOF layer, no practices or no registrations.
    RegisterOverListError
        When a practice that enters the figures has a register larger than its list.
    """
    qof = place.qof
    if qof is None or place.registrations is None or place.practices is None:
        raise PlacekitError(f"{place.label} has no QOF, practice or registrations layer; add [layers.qof] (NHS England QOF prevalence), "
                            "[layers.practices] and [layers.registrations] to the manifest to compute health need.")  # fmt: skip
    bases = qof.attrs["bases"]
    conditions = [c for c in QOF_CONDITIONS if c in bases] + sorted(set(bases) - set(QOF_CONDITIONS))
    pip = place.practices_in_place
    in_qof = pip.index.isin(qof.index)
    notes = []
    if (~in_qof).any():
        notes.append(f"{int((~in_qof).sum())} practice(s) of the place have no QOF row: {list(pip.index[~in_qof][:8])}; "
                     "they are outside the registered view.")  # fmt: skip
    practices = pip.index[in_qof]
    shares, more = _resident_shares(place, qof)
    _refuse_over_list(qof, practices.union(pd.Index(shares["practice_code"].unique())))
    reg, lst = _condition_arrays(qof, practices, conditions, bases)
    # LSOA × practice shares, then × the practices' registers and lists.
    l_pos = pd.Index(place.lsoas.index).get_indexer(shares["lsoa_code"])
    p_codes, p_uni = pd.factorize(shares["practice_code"])
    s = np.zeros((len(place.lsoas), len(p_uni)))
    np.add.at(s, (l_pos, p_codes), shares["share"].to_numpy())
    p_reg, p_lst = _condition_arrays(qof, pd.Index(p_uni), conditions, bases)
    lsoa_reg, lsoa_lst = s @ p_reg, s @ p_lst
    wards = place.wards.index
    lsoa_ward = wards.get_indexer(place.lsoa_ward_code)
    onehot = np.zeros((len(wards), len(lsoa_ward)))
    onehot[lsoa_ward, np.arange(len(lsoa_ward))] = 1.0
    lt = place.lsoa_table
    quint = lt["imd_quintile"].fillna(0).astype(int).to_numpy() if "imd_quintile" in lt else np.zeros(len(lt), dtype=int)
    eng_reg, eng_lst = _condition_arrays(qof, qof.index, conditions, bases)
    return HealthBase(conditions=conditions, bases={c: bases[c] for c in conditions}, practices=practices,
                      practice_ward=pip.loc[practices, "ward_code"], register=reg, list_size=lst, wards=wards,
                      resident_register=onehot @ lsoa_reg, resident_list=onehot @ lsoa_lst, lsoa_ward=lsoa_ward, lsoa_quintile=quint,
                      lsoa_register=lsoa_reg, lsoa_list=lsoa_lst, england_register=eng_reg.sum(axis=0), england_list=eng_lst.sum(axis=0),
                      vintage=qof.attrs.get("vintage", ""), demo=place.demo, notes=notes + more)  # fmt: skip


def practice_units(place: Place, grouping: Grouping) -> pd.Series:
    """Return the neighbourhood each of the place's practices belongs to under `grouping`.

    The one function that puts practices into neighbourhoods for health need: the
    grouping's practice membership (explicit assignments, else its rule: premises, PCN or
    patients) from :func:`boundaries.membership.practice_neighbourhoods`. A practice in use
    with no patients in the registrations extract (so no rule but premises can place it)
    goes by its premises unless assigned explicitly.

    Returns
    -------
    pandas.Series
        Index ``practice_code`` (the place's practices in use); neighbourhood name.
    """
    inside = place.practices_in_place
    premises = inside["ward_code"].map(grouping.ward_to_neighbourhood)
    explicit = pd.Series(grouping.practice_to_neighbourhood, dtype=object).reindex(inside.index)
    if place.registrations is None:
        return explicit.fillna(premises).rename("neighbourhood")
    member = practice_neighbourhoods(place, grouping).reindex(inside.index)
    return member.fillna(explicit).fillna(premises).rename("neighbourhood")


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / b, np.nan)


def _unit_sums(base: HealthBase, grouping: Grouping, units: pd.Series) -> tuple:
    """Return (rows, register, list, resident register, resident list), one row per neighbourhood, locality and the city."""
    nbs = grouping.neighbourhoods
    pos = {n: i for i, n in enumerate(nbs)}
    p_unit = units.reindex(base.practices).map(pos).fillna(-1).astype(int).to_numpy()
    w_unit = np.array([pos[grouping.ward_to_neighbourhood[w]] for w in base.wards])
    n = len(nbs)
    ok = p_unit >= 0
    reg, lst = np.zeros((n, len(base.conditions))), np.zeros((n, len(base.conditions)))
    np.add.at(reg, p_unit[ok], base.register[ok])
    np.add.at(lst, p_unit[ok], base.list_size[ok])
    rreg, rlst = np.zeros_like(reg), np.zeros_like(reg)
    np.add.at(rreg, w_unit, base.resident_register)
    np.add.at(rlst, w_unit, base.resident_list)
    locs = grouping.localities
    loc_of = np.array([locs.index(grouping.neighbourhood_to_locality[nb]) for nb in nbs])
    stacks = []
    for a in (reg, lst, rreg, rlst):
        by_loc = np.zeros((len(locs), a.shape[1]))
        np.add.at(by_loc, loc_of, a)
        stacks.append(np.vstack([a, by_loc, a.sum(axis=0, keepdims=True)]))
    rows = [("neighbourhood", nb, grouping.neighbourhood_to_locality[nb]) for nb in nbs] + [("locality", lo, lo) for lo in locs]
    return rows, *stacks


def _categorical(values: list[str], positions: np.ndarray) -> pd.Categorical:
    """Return ``values[positions]`` as a categorical, built from codes (no string made per row)."""
    codes, cats = pd.factorize(np.asarray(values, dtype=object))
    return pd.Categorical.from_codes(codes[positions], list(cats))


def health_table(place: Place, grouping: Grouping, *, base: HealthBase | None = None) -> pd.DataFrame:
    """Return QOF health need per neighbourhood, locality and city, registered and resident views, beside city and England.

    Parameters
    ----------
    place
        A loaded place with QOF, practices and registrations.
    grouping
        Must cover every ward of the place.
    base
        The output of :func:`health_base` for `place`, when the caller keeps it (the app,
        benchmarks); built here otherwise.

    Returns
    -------
    pandas.DataFrame
        One row per unit × condition, columns :data:`HEALTH_COLUMNS`: ``level``
        (neighbourhood, locality, city), ``name``, ``locality``, ``condition`` (QOF group
        code), ``condition_name``, ``list_type`` and ``list_base`` (QOF's age base, e.g.
        ``17OV`` = "17+"), ``register`` and ``list_size`` (the unit's practices, QOF
        2022-23), ``prevalence`` (% of the base list), ``city_prevalence``,
        ``england_prevalence``, ``ratio_city`` and ``ratio_england`` (prevalence ÷ those),
        and the same for the modelled resident view: ``resident_register``,
        ``resident_list_size``, ``resident_prevalence``, ``city_resident_prevalence``,
        ``resident_ratio_city``, ``resident_ratio_england``. ``attrs``: ``assumption``,
        ``notes``, ``vintage``, ``demo``.
    """
    require_cover(grouping, place.wards.index, source=f"grouping {grouping.name!r} for {place.label}")
    base = base if base is not None else health_base(place)
    rows, reg, lst, rreg, rlst = _unit_sums(base, grouping, practice_units(place, grouping))
    rows.append(("city", place.name, ""))
    prev, rprev = 100 * _ratio(reg, lst), 100 * _ratio(rreg, rlst)
    eng = 100 * _ratio(base.england_register, base.england_list)
    n_rows, n_c = reg.shape
    lt = [base.bases[c] for c in base.conditions]
    per_row = lambda v: _categorical(v, np.repeat(np.arange(n_rows), n_c))  # noqa: E731
    per_cond = lambda v: _categorical(v, np.tile(np.arange(n_c), n_rows))  # noqa: E731
    out = pd.DataFrame({
        "level": per_row([r[0] for r in rows]), "name": per_row([r[1] for r in rows]), "locality": per_row([r[2] for r in rows]),
        "condition": per_cond(base.conditions), "condition_name": per_cond([QOF_CONDITIONS.get(c, c) for c in base.conditions]),
        "list_type": per_cond(lt), "list_base": per_cond([LIST_TYPES.get(t, t) for t in lt]),
        "register": reg.ravel().round().astype(np.int64), "list_size": lst.ravel().round().astype(np.int64), "prevalence": prev.ravel(),
        "city_prevalence": np.tile(prev[-1], n_rows), "england_prevalence": np.tile(eng, n_rows), "ratio_city": (prev / prev[-1]).ravel(),
        "ratio_england": (prev / eng).ravel(), "resident_register": rreg.ravel(), "resident_list_size": rlst.ravel(),
        "resident_prevalence": rprev.ravel(), "city_resident_prevalence": np.tile(rprev[-1], n_rows),
        "resident_ratio_city": (rprev / rprev[-1]).ravel(), "resident_ratio_england": (rprev / eng).ravel(),
    })  # fmt: skip
    out.attrs.update({"assumption": RESIDENT_ASSUMPTION, "notes": list(base.notes), "vintage": base.vintage, "demo": base.demo,
                      "grouping": grouping.name, "place": place.label})  # fmt: skip
    return out


def health_by_imd(base: HealthBase, *, wards: list[str] | None = None) -> pd.DataFrame:
    """Return the modelled resident view by IMD 2019 quintile of residence (1 = most deprived), for the city or some wards.

    Returns
    -------
    pandas.DataFrame
        One row per quintile × condition: ``imd_quintile``, ``condition``,
        ``resident_register``, ``resident_list_size``, ``resident_prevalence`` (%),
        ``england_prevalence``, ``ratio_england``. LSOAs without IMD are left out.
    """
    keep = base.lsoa_quintile > 0
    if wards is not None:
        keep &= np.isin(base.lsoa_ward, base.wards.get_indexer(pd.Index(wards)))
    q = base.lsoa_quintile[keep]
    reg, lst = np.zeros((5, len(base.conditions))), np.zeros((5, len(base.conditions)))
    np.add.at(reg, q - 1, base.lsoa_register[keep])
    np.add.at(lst, q - 1, base.lsoa_list[keep])
    prev = 100 * _ratio(reg, lst)
    eng = 100 * _ratio(base.england_register, base.england_list)
    n_c = len(base.conditions)
    return pd.DataFrame({"imd_quintile": np.repeat(np.arange(1, 6), n_c), "condition": np.tile(base.conditions, 5),
                         "resident_register": reg.ravel(), "resident_list_size": lst.ravel(), "resident_prevalence": prev.ravel(),
                         "england_prevalence": np.tile(eng, 5), "ratio_england": (prev / eng).ravel()})  # fmt: skip



def health_by_imd_units(base: HealthBase, grouping: Grouping) -> pd.DataFrame:
    """Return :func:`health_by_imd` for every neighbourhood of `grouping`, with a ``name`` column (for small multiples)."""
    frames = []
    for nb in grouping.neighbourhoods:
        wards = [w for w, n in grouping.ward_to_neighbourhood.items() if n == nb]
        frames.append(health_by_imd(base, wards=wards).assign(name=nb))
    return pd.concat(frames, ignore_index=True)
