"""The fixed part of every flow figure: registrations collapsed once to (residence × practice) counts.

NHS Digital's file gives patients per practice × LSOA of residence. :func:`flow_base`
sums it, once, to sparse entries (residence row, practice, patients): a residence row
is a ward of the place, a local authority outside it (Trafford, Salford, ...; Wales;
elsewhere in England) or "unknown residence". Every grouping and every practice
assignment is then a pair of index arrays over those entries (ward → neighbourhood,
practice → neighbourhood), and every figure a ``numpy.bincount`` over them.
"""

from __future__ import annotations

import dataclasses
import weakref
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.compute as pc
from scipy.sparse import csr_matrix

from boundaries.grouping import practice_roll
from geo._fast import text_array
from geo.model import Place
from geo.registrations import UNKNOWN_LSOA
from placekit.errors import PlacekitError

__all__ = [
    "OUTSIDE",
    "UNKNOWN",
    "ELSEWHERE",
    "FlowBase",
    "flow_base",
    "flow_base_from_place",
    "residence_rows",
    "base_labels",
    "practice_lsoas",
    "lsoa_base_rows",
    "place_lsoa_lad",
    "with_moves",
]

OUTSIDE = "outside the city"
UNKNOWN = "unknown residence"
#: Residence area of patients outside the place when no local-authority lookup covers their LSOA.
ELSEWHERE = "elsewhere in England"

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]


@dataclass(frozen=True, eq=False)
class FlowBase:
    """Registrations summed to (residence row × practice) entries, with what each practice is.

    Attributes
    ----------
    row, col, patients
        One entry per (residence row, practice) pair with patients: positions in `rows`
        and `practices`, and the number of patients.
    rows
        Residence rows: the place's ward codes, then the areas outside it (local
        authorities, ``Wales``, :data:`ELSEWHERE`; or :data:`OUTSIDE` with no lookup),
        then :data:`UNKNOWN`.
    n_wards
        How many of `rows` are wards of the place.
    practices
        Practice codes: the place's practices in use, then the others holding patients of the place.
    practice_ward
        Ward of each practice's premises (index `practices`); NaN outside the place.
    practice_pcn
        PCN code of each practice (NaN when not in the practice→PCN map).
    practice_names
        Name of each practice ('' when unknown).
    practice_area
        For practices outside the place, where they are (CCG name from the PCN map, else
        "elsewhere"); '' for the place's practices.
    ward_population
        Residents per ward (index ward code), for team size on the resident base; None when unknown.
    roll
        The place's practice roll (:func:`boundaries.grouping.practice_roll`), to check
        explicit practice assignments; None when built without a place.
    population_base, list_base
        The two bases named with their year ("residents (mid-2015)", "registered patients (July 2022)").
    dropped
        Patients left out, with the reason (neither resident nor practice in the place).
    row_ward
        For a base over LSOAs (:func:`flow_base_from_place` with ``units="lsoa"``), the
        best-fit ward of each LSOA row (index the LSOA codes), so a grouping's LSOAs follow
        their ward unless assigned explicitly; None for a base over wards. The rows named
        "wards" (`n_wards`, :attr:`wards`, `practice_ward`, `ward_population`) are then LSOAs.
    """

    row: np.ndarray
    col: np.ndarray
    patients: np.ndarray
    rows: pd.Index
    n_wards: int
    practices: pd.Index
    practice_ward: pd.Series
    practice_pcn: pd.Series
    practice_names: pd.Series
    practice_area: pd.Series
    ward_population: pd.Series | None = None
    roll: pd.DataFrame | None = None
    population_base: str = "residents"
    list_base: str = "registered patients"
    dropped: dict[str, int] = field(default_factory=dict)
    demo: bool = False
    row_ward: pd.Series | None = None

    @property
    def units(self) -> str:
        """Return what the residence rows of the place are: ``"ward"`` or ``"lsoa"``."""
        return "ward" if self.row_ward is None else "lsoa"

    # ------------------------------------------------------------------ shapes
    @property
    def wards(self) -> pd.Index:
        """Return the place's ward codes (the first `n_wards` rows)."""
        return self.rows[: self.n_wards]

    @property
    def outside_areas(self) -> pd.Index:
        """Return the residence areas outside the place (rows between the wards and unknown)."""
        return self.rows[self.n_wards : -1]

    @property
    def total(self) -> int:
        """Return every patient counted (resident in the place or registered with one of its practices)."""
        return int(self.patients.sum())

    @cached_property
    def weights(self) -> np.ndarray:
        """Return `patients` as float64, the weights of every bincount."""
        return self.patients.astype(np.float64)

    @cached_property
    def ward_people(self) -> np.ndarray | None:
        """Return `ward_population` as a float64 array in ward order (None without it)."""
        return None if self.ward_population is None else self.ward_population.to_numpy(dtype=np.float64)

    @cached_property
    def premises(self) -> np.ndarray:
        """Return each practice's premises ward position, -1 outside the place."""
        pos = self.practice_ward.map(pd.Series(np.arange(self.n_wards), index=self.wards))
        return pos.fillna(-1).astype(np.int64).to_numpy()

    @cached_property
    def in_place(self) -> np.ndarray:
        """Return a boolean mask of the place's practices (premises in one of its wards)."""
        return self.premises >= 0

    @cached_property
    def practice_position(self) -> dict[str, int]:
        """Return practice code → position in `practices`."""
        return {p: i for i, p in enumerate(self.practices)}

    @cached_property
    def list_sizes(self) -> np.ndarray:
        """Return each practice's patients in the base (for the place's practices: their whole list)."""
        return np.bincount(self.col, weights=self.weights, minlength=len(self.practices))

    @cached_property
    def pcn_index(self) -> tuple[np.ndarray, pd.Index]:
        """Return each practice's PCN position (-1 without a PCN) and the PCN codes."""
        codes, uniques = pd.factorize(self.practice_pcn)
        return codes.astype(np.int64), pd.Index(uniques, name="pcn_code")

    @cached_property
    def counts(self) -> csr_matrix:
        """Return the entries as a sparse (rows × practices) matrix of patients."""
        return csr_matrix((self.patients, (self.row, self.col)), shape=(len(self.rows), len(self.practices)))

    @property
    def outside_lad(self) -> pd.Series:
        """Return the patients of the place's practices living outside it, by area, largest first."""
        sel = (self.row >= self.n_wards) & (self.row < len(self.rows) - 1) & self.in_place[self.col]
        s = pd.Series(np.bincount(self.row[sel], weights=self.weights[sel], minlength=len(self.rows)), index=self.rows)
        return s[self.outside_areas].astype(np.int64).sort_values(ascending=False)


def residence_rows(lsoa_codes: pd.Series, lsoa_ward: pd.Series, wards: pd.Index) -> np.ndarray:
    """Return each registration's residence row: its ward's position, ``len(wards)`` outside, ``len(wards) + 1`` unknown."""
    n_w = len(wards)
    position = lsoa_ward.map(pd.Series(np.arange(n_w), index=wards))
    if position.index.is_unique and pd.api.types.is_string_dtype(lsoa_codes) and pd.api.types.is_string_dtype(position.index):
        # What lsoa_codes.map(position) gives, looked up by pyarrow (pandas 3's map on Arrow text built an object per row).
        at = pc.fill_null(pc.index_in(text_array(lsoa_codes), value_set=text_array(position.index)), -1).to_numpy()
        row = pd.Series(np.where(at >= 0, position.to_numpy(dtype="float64")[np.maximum(at, 0)], np.nan), index=lsoa_codes.index)
    else:
        row = lsoa_codes.map(position)
    unknown = lsoa_codes.isin(UNKNOWN_LSOA)
    return row.where(row.notna(), np.where(unknown, n_w + 1, n_w)).astype("int64").to_numpy()


def _outside_area(lsoa_codes: pd.Series, lsoa_lad: pd.Series | None) -> np.ndarray:
    """Name the area of LSOAs outside the place: their local authority, Wales, or elsewhere in England."""
    if lsoa_lad is None:
        return np.full(len(lsoa_codes), OUTSIDE, dtype=object)
    lad = lsoa_codes.map(lsoa_lad)
    return lad.where(lad.notna(), np.where(lsoa_codes.str.startswith("W"), "Wales", ELSEWHERE)).to_numpy(dtype=object)


def _split_outside(lsoa_codes: pd.Series, row: np.ndarray, n_w: int, lsoa_lad: pd.Series | None) -> tuple[np.ndarray, pd.Index]:
    """Give each area outside the place its own residence row (after the wards), unknown residence the last; return rows and area names."""
    area = _outside_area(lsoa_codes[row == n_w], lsoa_lad)
    area_names = pd.Index(pd.Series(area).value_counts().index if len(area) else [OUTSIDE if lsoa_lad is None else ELSEWHERE])
    row = row.copy()
    row[row == n_w + 1] = n_w + len(area_names)
    row[row == n_w] = n_w + area_names.get_indexer(area)
    return row, area_names


def _practice_table(practice_ward: pd.Series, codes: np.ndarray, info: pd.DataFrame | None) -> pd.DataFrame:
    """Order practices (the place's first), with premises ward, PCN, name and area of the others."""
    inside = practice_ward.dropna()
    order = pd.Index(list(dict.fromkeys([*inside.index, *codes])), name="practice_code")
    info = (info if info is not None else pd.DataFrame(index=order)).reindex(order)
    area = info["ccg_name"] if "ccg_name" in info else pd.Series(np.nan, index=order)
    area = area.astype(object).str.replace(r"^NHS |\s*CCG$", "", regex=True).fillna("elsewhere")
    return pd.DataFrame(
        {
            "ward": practice_ward.reindex(order),
            "pcn": info["pcn_code"] if "pcn_code" in info else np.nan,
            "name": (info["practice_name"] if "practice_name" in info else pd.Series("", index=order)).fillna("").astype(str),
            "area": area.where(~order.isin(inside.index), ""),
        },
        index=order,
    )


def _collapse(key: np.ndarray, patients: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum `patients` per distinct `key` (residence row × practice): the once-only collapse."""
    key, inverse = np.unique(key, return_inverse=True)
    return key, np.bincount(inverse, weights=patients).round().astype(np.int64)


def _checked(registrations: pd.DataFrame, practice_ward: pd.Series, wards: pd.Index, sex: str | None) -> tuple[pd.DataFrame, pd.Series]:
    """Check the columns and the practices' wards; return the registrations of `sex` and the practices with a ward."""
    need = {"practice_code", "lsoa_code", "patients"}
    if not need <= set(registrations.columns):
        raise PlacekitError(f"registrations need columns {sorted(need)}; they have {list(registrations.columns)}.")
    reg = registrations if sex is None or "sex" not in registrations else registrations[registrations["sex"] == sex]
    pw = practice_ward.dropna()
    stray = sorted(set(pw) - set(wards))
    if stray:
        raise PlacekitError(f"practice_ward names ward(s) {stray[:5]} that are not wards of the place; use the same ward vintage.")
    return reg, pw


def flow_base(
    registrations: pd.DataFrame,
    lsoa_ward: pd.Series,
    practice_ward: pd.Series,
    *,
    wards: pd.Index,
    lsoa_lad: pd.Series | None = None,
    sex: str | None = None,
    practice_info: pd.DataFrame | None = None,
    ward_population: pd.Series | None = None,
) -> FlowBase:
    """Sum registrations to (residence row × practice) entries, keeping every patient of the place.

    Parameters
    ----------
    registrations
        Columns ``practice_code``, ``lsoa_code``, ``patients`` (and ``sex``).
    lsoa_ward
        Ward of each of the place's LSOAs (best fit).
    practice_ward
        Ward of each of the place's practices (with or without patients); missing or NaN = outside.
    wards
        The place's ward codes, in row order.
    lsoa_lad
        Optional local-authority name of LSOAs outside the place, to say where the
        place's practices' other patients live (else one row, :data:`OUTSIDE`).
    sex
        Keep only this ``sex`` value.
    practice_info
        Optional, indexed by practice code: ``pcn_code`` (for the ``pcn`` rule),
        ``practice_name``, ``ccg_name`` (where the practices outside the place are).
    ward_population
        Residents per ward (team size on the resident base).

    Returns
    -------
    FlowBase
        Entries where the patient lives in the place or the practice stands in it. Rows of
        neither are left out and counted in ``dropped``; LSOA ``NO2011`` is "unknown
        residence", any other LSOA not in the place is outside, by area.

    Raises
    ------
    PlacekitError
        If columns are missing, or a practice is placed in a ward not in `wards`.
    """
    reg, pw = _checked(registrations, practice_ward, wards, sex)
    n_w = len(wards)
    row = residence_rows(reg["lsoa_code"], lsoa_ward, wards)
    keep = (row < n_w) | reg["practice_code"].isin(pw.index).to_numpy()
    dropped = {"registrations of neither a resident nor a practice of the place": int(reg["patients"].to_numpy()[~keep].sum())}
    reg = reg[keep]
    row, area_names = _split_outside(reg["lsoa_code"], row[keep], n_w, lsoa_lad)
    table = _practice_table(practice_ward, reg["practice_code"].unique(), practice_info)
    key, sums = _collapse(row * len(table) + table.index.get_indexer(reg["practice_code"]), reg["patients"].to_numpy(dtype=np.float64))
    return FlowBase(row=key // len(table), col=key % len(table), patients=sums,
                    rows=pd.Index([*wards, *area_names, UNKNOWN], name="residence"), n_wards=n_w, practices=table.index,
                    practice_ward=table["ward"], practice_pcn=table["pcn"], practice_names=table["name"], practice_area=table["area"],
                    ward_population=None if ward_population is None else ward_population.reindex(wards).fillna(0),
                    dropped=dropped)  # fmt: skip


def lsoa_base_rows(base: FlowBase, lsoa_codes: pd.Series, lsoa_ward: pd.Series, lsoa_lad: pd.Series | None) -> np.ndarray:
    """Return the residence row of `base` for each LSOA code, by the rules :func:`flow_base` uses (-1 for an area the base lacks).

    `lsoa_ward` and `lsoa_lad` are the ones the base was built with (see :func:`place_lsoa_lad`).
    """
    codes = pd.Series(lsoa_codes).reset_index(drop=True)
    n_w = base.n_wards
    row = residence_rows(codes, lsoa_ward, base.wards)
    out = row.copy()
    out[row == n_w + 1] = len(base.rows) - 1
    outside = row == n_w
    if outside.any():
        out[outside] = base.rows.get_indexer(_outside_area(codes[outside], lsoa_lad))
    return out


def with_moves(base: FlowBase, row: np.ndarray, col_from: np.ndarray, col_to: np.ndarray, patients: np.ndarray, *,
               new_practices: pd.DataFrame | None = None) -> FlowBase:  # fmt: skip
    """Return `base` with patients moved between practices (same residence row), new practices appended after the others.

    Parameters
    ----------
    row, col_from, col_to, patients
        One move each: residence row, the practice left and the one joined (positions in
        ``base.practices``; positions from ``len(base.practices)`` on are `new_practices`), whole patients.
    new_practices
        Index practice code; ``ward`` (premises), ``name``.
    """
    extra = new_practices if new_practices is not None else pd.DataFrame({"ward": [], "name": []})
    practices = pd.Index([*base.practices, *extra.index], name=base.practices.name)
    n_p = len(practices)
    key = np.concatenate([base.row * n_p + base.col, row * n_p + col_from, row * n_p + col_to])
    w = np.concatenate([base.patients, -np.asarray(patients), np.asarray(patients)]).astype(np.float64)
    key, sums = _collapse(key, w)
    if (sums < 0).any():
        raise PlacekitError(
            "a move takes more patients from a practice than the base holds there; moves must come from registered patients."
        )
    keep = sums > 0

    def grow(s: pd.Series, values: pd.Series | list, fill: object) -> pd.Series:
        return pd.concat([s, pd.Series(values, index=extra.index, dtype=object)]) if len(extra) else s.reindex(practices, fill_value=fill)

    return dataclasses.replace(base, row=key[keep] // n_p, col=key[keep] % n_p, patients=sums[keep], practices=practices,
                               practice_ward=grow(base.practice_ward, extra["ward"].tolist(), np.nan),
                               practice_pcn=grow(base.practice_pcn, [np.nan] * len(extra), np.nan),
                               practice_names=grow(base.practice_names, extra["name"].tolist(), ""),
                               practice_area=grow(base.practice_area, [""] * len(extra), ""))  # fmt: skip


def place_lsoa_lad(place: Place) -> pd.Series | None:
    """Return the local authority names of LSOAs beyond `place` that its flow base names its outside areas by."""
    return place.lsoa_ward.loc[~place.lsoa_ward.index.isin(place.lsoas.index), "lad_name"] if "lad_name" in place.lsoa_ward else None


def _vintage_label(vintage: str, *, demo: bool) -> str:
    """Turn a layer vintage into words: ``"2022-07 (LSOA 2011)"`` → ``"July 2022"``, ``"mid-2015 (...)"`` → ``"mid-2015"``."""
    if demo:
        return "demo data"
    head = vintage.split(" (")[0].strip()
    year, _, month = head.partition("-")
    if year.isdigit() and month.isdigit() and 1 <= int(month) <= 12:
        return f"{_MONTHS[int(month) - 1]} {year}"
    return head or "vintage unknown"


def base_labels(place: Place) -> tuple[str, str]:
    """Return the names of the two bases of team size with their year: residents, registered patients."""
    pop = _vintage_label(place.vintages.get("population", ""), demo=place.status.get("population") == "demo" or place.demo)
    reg = _vintage_label(place.vintages.get("registrations", ""), demo=place.status.get("registrations") == "demo" or place.demo)
    return f"residents ({pop})", f"registered patients ({reg})"


_BASES: weakref.WeakKeyDictionary[Place, dict[tuple[str | None, str], FlowBase]] = weakref.WeakKeyDictionary()


def practice_lsoas(place: Place) -> pd.Series:
    """Return the LSOA each of the place's practices in use stands in (index ``practice_code``).

    A practice whose point falls in no LSOA polygon (a sliver between generalised
    boundaries) takes the nearest LSOA.
    """
    pr = place.practices_in_place
    lsoas = place.lsoas[[place.lsoas.geometry.name]].rename_axis("lsoa_code")
    joined = gpd.sjoin(pr[[pr.geometry.name]], lsoas, how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]["lsoa_code"]
    lost = joined.index[joined.isna()]
    if len(lost):
        near = gpd.sjoin_nearest(pr.loc[lost, [pr.geometry.name]], lsoas, how="left")
        joined.loc[lost] = near[~near.index.duplicated()]["lsoa_code"].reindex(lost).to_numpy()
    return joined.reindex(pr.index).rename("lsoa_code")


def flow_base_from_place(place: Place, *, sex: str | None = None, units: str = "ward", lsoa_population: pd.Series | None = None) -> FlowBase:
    """Build (once per place) the :class:`FlowBase` of a loaded place.

    Uses its registrations, LSOA→ward lookup (with local authorities outside the place),
    the wards of its practices in use, the practice→PCN map when loaded, and the ward
    populations. The base is kept with the place, so later calls are free.

    Parameters
    ----------
    units
        ``"ward"`` (rows are wards; practices by the ward of their premises) or ``"lsoa"``
        (rows are the place's LSOAs, practices by the LSOA of their premises, with
        :attr:`FlowBase.row_ward`): the base a plan built from LSOAs is measured on.
    lsoa_population
        With ``units="lsoa"``, residents per LSOA (default: the place's mid-2015 residents).
    """
    key = (sex, units)
    cached = _BASES.setdefault(place, {})
    if key in cached and lsoa_population is None:
        return cached[key]
    if units not in ("ward", "lsoa"):
        raise PlacekitError(f'`units` was "{units}" but is expected to be one of ["ward", "lsoa"].')
    if place.registrations is None or place.practices is None:
        raise PlacekitError(f"{place.label} has no registrations or practice layer; add them to the manifest.")
    lad = place_lsoa_lad(place)
    info = place.practices[["practice_name"]]
    if place.pcn_map is not None:
        info = place.pcn_map[["pcn_code", "ccg_name"]].join(place.practices[["practice_name"]], how="outer")
        info["practice_name"] = info["practice_name"].fillna(place.pcn_map["practice_name"])
    if units == "ward":
        base = flow_base(place.registrations, place.lsoa_ward_code, place.practices_in_place["ward_code"], wards=place.wards.index,
                         lsoa_lad=lad, sex=sex, practice_info=info, ward_population=place.ward_population)  # fmt: skip
        extra = {}
    else:
        codes = place.lsoas.index
        pop = lsoa_population if lsoa_population is not None else place.population["population"].reindex(codes).fillna(0)
        base = flow_base(place.registrations, pd.Series(codes, index=codes), practice_lsoas(place), wards=codes, lsoa_lad=lad, sex=sex,
                         practice_info=info, ward_population=pop)  # fmt: skip
        extra = {"row_ward": place.lsoa_ward_code.reindex(codes)}
    pop_base, list_base = base_labels(place)
    base = dataclasses.replace(base, demo=place.demo, roll=practice_roll(place), population_base=pop_base, list_base=list_base, **extra)
    if lsoa_population is None:
        cached[key] = base
    return base
