"""What if a practice closes, two merge, or a new practice opens: where the patients go, by the registration model.

A :class:`WhatIf` names practices to close, a merger (one list at the premises of the
first practice) and a new practice (a site or postcode and a capacity). :func:`what_if`
moves patients by the calibrated model (:mod:`estates.registration`):

- **displaced** patients (every patient of a closed practice, or of the second practice
  of a merger, wherever they live) choose among the practices still open within reach
  of their LSOA in proportion to the model's probabilities (the merged practice counts
  with the two lists combined, at the first one's premises); a patient whose LSOA cannot
  be located starts from the closed practice's premises;
- a **new practice** draws patients by the model: each patient of an LSOA within reach
  would choose it with the model's probability given it, its capacity standing for its
  list. Displaced patients choose among the open practices and the new one; patients who
  stay draw from their practice to the new one. When the draw exceeds the capacity, every
  draw is scaled down to fill it exactly: displaced patients it cannot take choose again
  among the others, patients who would have switched stay;
- moves are whole patients, rounded by largest remainder so that every displaced list is
  moved whole: the displaced total equals the closed lists, and no patient is created or lost.

The model is applied once (no second round in which receiving practices grow more
attractive), and it says where patients would choose to register, not where the NHS
would allocate them.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd

from boundaries.flowbase import FlowBase, lsoa_base_rows, place_lsoa_lad, with_moves
from boundaries.flows import compute_flows, flow_base_from_place
from boundaries.grouping import Grouping, practice_roll
from estates.registration import MIN_MINUTES, Calibration, ChoiceData, travel_minutes
from estates.sites import place_sites, resolve_site_ids
from geo.model import Place
from geo.postcodes import geocode_postcodes, normalise_postcode
from placekit.errors import PlacekitError
from placekit.settings import WORKING_CRS

__all__ = [
    "WhatIf",
    "WhatIfResult",
    "PreparedModel",
    "NEW_CODE",
    "prepare",
    "what_if",
    "parse_capacity",
    "parse_codes",
    "weighted_quantile",
]

#: The practice code given to a new practice in every table.
NEW_CODE = "NEW"
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$")
_MAX_CAPACITY = 1_000_000


def parse_capacity(value: object) -> int:
    """Return `value` as a capacity: a whole number of patients from 1 to 1,000,000.

    Raises
    ------
    PlacekitError
        Naming the value and what to give instead (``1.5``, ``0``, ``-3``, ``abc``, ``inf``).
    """
    text = str(value).strip().replace(",", "").replace("_", "")
    if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d+", text):
        raise PlacekitError(f"capacity {value!r} is not a whole number of patients; give a positive whole number, e.g. --capacity 6000.")
    n = int(text)
    if n < 1 or n > _MAX_CAPACITY:
        raise PlacekitError(
            f"capacity {value!r} is not allowed; give a whole number of patients from 1 to {_MAX_CAPACITY:,}, e.g. --capacity 6000."
        )
    return n


def parse_codes(value: str | None) -> tuple[str, ...]:
    """Return the practice codes of a comma-separated list, upper-cased, blanks dropped."""
    return tuple(dict.fromkeys(c.strip().upper() for c in (value or "").split(",") if c.strip()))


@dataclass(frozen=True)
class WhatIf:
    """A scenario of practice changes.

    Attributes
    ----------
    close
        Practice codes to close.
    merge
        ``(A, B)``: one list at the premises of A; B's premises close.
    open_name, open_at, capacity
        A new practice: its name, where (a postcode or a site id) and how many patients it can take.
    """

    close: tuple[str, ...] = ()
    merge: tuple[str, str] | None = None
    open_name: str | None = None
    open_at: str | None = None
    capacity: int | None = None

    @property
    def is_empty(self) -> bool:
        """Return True when the scenario changes nothing."""
        return not self.close and self.merge is None and self.open_at is None

    def describe(self) -> str:
        """Return the scenario in words."""
        parts = []
        if self.close:
            parts.append("close " + ", ".join(self.close))
        if self.merge:
            parts.append(f"merge {self.merge[1]} into {self.merge[0]} (one list at the premises of {self.merge[0]})")
        if self.open_at:
            parts.append(f"open {self.open_name!r} at {self.open_at} for {self.capacity:,} patients")
        return "; ".join(parts) or "no change"

    def to_doc(self) -> dict:
        """Return the scenario as a JSON-ready mapping (kept with a saved scenario)."""
        return {"close": list(self.close), "merge": list(self.merge) if self.merge else None,
                "open": {"name": self.open_name, "at": self.open_at, "capacity": self.capacity} if self.open_at else None}  # fmt: skip

    @classmethod
    def from_doc(cls, doc: dict) -> WhatIf:
        """Return the scenario of :meth:`to_doc` (checked: codes are text, the capacity a positive whole number)."""
        if not isinstance(doc, dict):
            raise PlacekitError("a what-if is an object with close, merge and open; this one is not.")
        close = doc.get("close") or []
        merge = doc.get("merge")
        opened = doc.get("open")
        if not isinstance(close, list) or not all(isinstance(c, str) for c in close):
            raise PlacekitError("a what-if's close is a list of practice codes.")
        if merge is not None and (not isinstance(merge, list) or len(merge) != 2 or not all(isinstance(c, str) for c in merge)):
            raise PlacekitError("a what-if's merge is two practice codes.")
        if opened is not None and (not isinstance(opened, dict) or not isinstance(opened.get("at"), str)):
            raise PlacekitError("a what-if's open needs name, at (postcode or site id) and capacity.")
        return cls(tuple(close), tuple(merge) if merge else None, str(opened.get("name") or "New practice") if opened else None,
                   opened["at"] if opened else None, parse_capacity(opened.get("capacity")) if opened else None)  # fmt: skip


@dataclass(frozen=True, eq=False)
class PreparedModel:
    """A calibration made ready for quick what-ifs: attractions, registrations and the flow base as arrays, computed once.

    Attributes
    ----------
    attraction
        Origins × practices: exp(utility) within the cutoff, 0 beyond it.
    lsoa_codes, lsoa_origin, lsoa_row
        The LSOAs of the registrations: code, origin position (-1 when not located) and
        residence row of the place's flow base.
    entry_lsoa, entry_key, entry_patients
        Every registration of the scope: LSOA (position in `lsoa_codes`), practice key
        (the position of a located practice; ``len(practices)`` is kept for a new practice;
        practices without a location follow, named in `other_codes`) and patients.
    key_col
        The flow base's practice position of every key (-1 for the new practice's slot).
    """

    calibration: Calibration
    place: Place
    attraction: np.ndarray
    roll: pd.DataFrame
    sites: gpd.GeoDataFrame | None
    lsoa_codes: np.ndarray
    lsoa_origin: np.ndarray
    lsoa_row: np.ndarray
    entry_lsoa: np.ndarray
    entry_key: np.ndarray
    entry_patients: np.ndarray
    other_codes: pd.Index
    base: FlowBase
    key_col: np.ndarray
    located: dict[str, tuple[float, float, str]] = field(default_factory=dict)
    _kept: dict = field(default_factory=dict)

    @property
    def data(self) -> ChoiceData:
        """Return the choice sets the model was fitted on."""
        return self.calibration.data

    @property
    def params(self) -> dict[str, float]:
        """Return the coefficients by term."""
        return self.calibration.params

    @property
    def n_practices(self) -> int:
        """Return how many located practices the model has (the new practice's key)."""
        return len(self.data.practices)

    @cached_property
    def entry_origin(self) -> np.ndarray:
        """Return the origin of each registration (-1 when its LSOA is not located)."""
        return self.lsoa_origin[self.entry_lsoa]

    @cached_property
    def before(self) -> tuple[_Sorted, np.ndarray, np.ndarray]:
        """Return the travel times of every located registration as it is (sorted once), their patients and origins."""
        return _located(self, self.data.minutes, self.entry_lsoa, self.entry_key, self.entry_patients)

    @cached_property
    def on_lsoas(self) -> tuple[FlowBase, np.ndarray, np.ndarray]:
        """Return the flow base over the place's LSOAs, each registration LSOA's row of it and each key's practice position.

        The base a plan built from LSOAs is measured on (``lsoa_row`` and ``key_col`` for it).
        """
        base = flow_base_from_place(self.place, units="lsoa")
        codes = self.place.lsoas.index
        rows = lsoa_base_rows(base, pd.Series(self.lsoa_codes), pd.Series(codes, index=codes), place_lsoa_lad(self.place))
        keys = pd.Index([*self.data.practices.index, NEW_CODE, *self.other_codes])
        return base, rows, base.practices.get_indexer(keys)

    def base_for(self, grouping: Grouping) -> tuple[FlowBase, np.ndarray, np.ndarray]:
        """Return the flow base `grouping` is measured on (over LSOAs for a plan built from them), with its rows and practice positions."""
        return (self.base, self.lsoa_row, self.key_col) if grouping.units == "ward" else self.on_lsoas

    def neighbourhoods_before(self, grouping: Grouping) -> pd.DataFrame:
        """Return the flow figures per neighbourhood of `grouping` as registered (kept for the last grouping asked)."""
        kept = self._kept.get("neighbourhoods")
        if kept is None or kept[0] is not grouping:
            kept = (grouping, compute_flows(self.base_for(grouping)[0], grouping).neighbourhoods)
            self._kept["neighbourhoods"] = kept
        return kept[1]


def _utility(params: dict[str, float], minutes: np.ndarray, log_list: np.ndarray, crosses: np.ndarray, same_ward: np.ndarray) -> np.ndarray:
    """Return the model's utility for arrays of terms (broadcast together)."""
    return (params.get("minutes", 0.0) * minutes + params.get("log_minutes", 0.0) * np.log(np.maximum(minutes, MIN_MINUTES))
            + params.get("log_list", 0.0) * log_list + params.get("crosses_boundary", 0.0) * crosses
            + params.get("same_ward", 0.0) * same_ward)  # fmt: skip


def _attraction(data: ChoiceData, params: dict[str, float], minutes: np.ndarray, origins: pd.DataFrame, dest: pd.DataFrame,
                size: np.ndarray) -> np.ndarray:  # fmt: skip
    """Return exp(utility) of every origin × destination, 0 beyond the cutoff or without a route."""
    olad, dlad = origins["lad_code"].to_numpy(dtype=object)[:, None], dest["lad_code"].to_numpy(dtype=object)[None, :]
    oward, dward = origins["ward_code"].to_numpy(dtype=object)[:, None], dest["ward_code"].to_numpy(dtype=object)[None, :]
    crosses = (pd.notna(olad) & pd.notna(dlad) & (olad != dlad)).astype(float)
    same = (pd.notna(oward) & (oward == dward)).astype(float)
    within = np.isfinite(minutes) & (minutes <= data.cutoff)
    t = np.where(within, minutes, data.cutoff)
    u = _utility(params, t, np.log(np.maximum(size, 1.0))[None, :], crosses, same)
    return np.where(within, np.exp(u), 0.0)


def prepare(calibration: Calibration, place: Place) -> PreparedModel:
    """Compute, once, every origin × practice attraction of the fitted model and the registrations as arrays (a few MB for a city)."""
    d = calibration.data
    a = _attraction(d, calibration.params, d.minutes, d.origins, d.practices, d.practices["list_size"].to_numpy(float))
    e = d.entries
    lsoa_id, lsoa_codes = pd.factorize(e["lsoa_code"])
    other_id, other_codes = pd.factorize(e["practice_code"].where(e["practice"] < 0))
    key = np.where(e["practice"].to_numpy() >= 0, e["practice"].to_numpy(), len(d.practices) + 1 + other_id)
    base = flow_base_from_place(place)
    keys = pd.Index([*d.practices.index, NEW_CODE, *other_codes])
    key_col = base.practices.get_indexer(keys)
    rows = lsoa_base_rows(base, pd.Series(lsoa_codes), place.lsoa_ward_code, place_lsoa_lad(place))
    try:
        sites = place_sites(place)
    except PlacekitError:  # a place with no sites layer: new practices open at postcodes only
        sites = None
    return PreparedModel(calibration, place, a, practice_roll(place), sites, np.asarray(lsoa_codes, dtype=object),
                         d.origins.index.get_indexer(lsoa_codes), rows, lsoa_id, key.astype(np.int64),
                         e["patients"].to_numpy(np.int64), pd.Index(other_codes), base, key_col)  # fmt: skip


@dataclass(frozen=True, eq=False)
class _Resolved:
    """A what-if checked against the place: practice positions and the new practice's row."""

    closed: np.ndarray
    merge_into: int | None
    merged_from: int | None
    new: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)


def _check_code(model: PreparedModel, code: str, what: str) -> int:
    """Return the position of practice `code`, or raise saying why it cannot be `what` (closed, merged)."""
    roll, data = model.roll, model.data
    label = model.place.label
    if code not in roll.index:
        raise PlacekitError(f"practice {code} is not a practice known to {label}; check the code (ODS practice code, e.g. P84001): "
                            "`placekit practices` lists them.")  # fmt: skip
    name = roll.at[code, "practice_name"]
    if roll.at[code, "status"] == "closed":
        raise PlacekitError(f"practice {code} {name} is already closed ({roll.at[code, 'detail']}), so it cannot be {what}; "
                            "choose an open practice (`placekit practices`).")  # fmt: skip
    if roll.at[code, "status"] == "outside":
        raise PlacekitError(f"practice {code} {name} is outside {label} ({roll.at[code, 'detail']}); only the place's own practices "
                            f"can be {what}. Use --place for that practice's own area.")  # fmt: skip
    if code not in data.practices.index:
        raise PlacekitError(f"practice {code} {name} has no location or no patients in the {data.base}, so the model cannot move its "
                            "patients; check its postcode in the practice list.")  # fmt: skip
    return int(data.practices.index.get_loc(code))


def _locate_new(model: PreparedModel, at: str) -> tuple[float, float, str]:
    """Return the point and a description of `at`: a site id of the place, or a postcode (each found once per model)."""
    if at not in model.located:
        model.located[at] = _find(model, at)
    return model.located[at]


def _find(model: PreparedModel, at: str) -> tuple[float, float, str]:
    place, sites = model.place, model.sites
    if sites is not None:
        at = resolve_site_ids(sites, [at])[0]  # an ODS code or an old site id names its premises
    if sites is not None and at in sites.index:
        s = sites.loc[at]
        return float(s.geometry.x), float(s.geometry.y), f"site {at} ({s['name']})"
    key = str(normalise_postcode(pd.Series([at])).iloc[0])
    if not _POSTCODE.match(key):
        raise PlacekitError(f"--at {at!r} is neither a site id of {place.label} nor a postcode; give a postcode (e.g. M13 9WL) or a site id "
                            "from `placekit hubs` / the sites table.")  # fmt: skip
    g = geocode_postcodes(pd.Series([at])).iloc[0]
    if not g["geocoded"]:
        raise PlacekitError(
            f"postcode {at!r} is not in the ONS Postcode Directory (or has no grid reference); check it, or give a site id."
        )
    return float(g["easting"]), float(g["northing"]), f"postcode {at.strip().upper()}"


def _new_practice(model: PreparedModel, spec: WhatIf) -> pd.DataFrame:
    """Return the new practice as a one-row practices table (position after the existing ones), or raise if it lies outside the place."""
    if not (spec.open_name or "").strip():
        raise PlacekitError("a new practice needs a name: --open NAME (e.g. --open 'Ancoats Health Centre').")
    if spec.capacity is None:
        raise PlacekitError(f"the new practice {spec.open_name!r} needs a capacity: --capacity N, a positive whole number of patients.")
    x, y, where = _locate_new(model, spec.open_at)
    point = gpd.GeoDataFrame(index=[NEW_CODE], geometry=gpd.points_from_xy([x], [y]), crs=WORKING_CRS)
    hit = model.place.wards.sindex.query(point.geometry.iloc[0], predicate="within")
    ward = model.place.wards.index[hit[0]] if len(hit) else np.nan
    if pd.isna(ward):
        raise PlacekitError(f"{where} lies outside {model.place.label} (no ward of the place contains it); open the practice at a postcode "
                            "or site inside the place.")  # fmt: skip
    lad = model.place.lad_code or None
    return pd.DataFrame({"x": [x], "y": [y], "practice_name": [spec.open_name.strip()], "list_size": [float(spec.capacity)], "lad_code": [lad],
                         "ward_code": [ward], "in_place": [True], "where": [where]}, index=pd.Index([NEW_CODE], name="practice_code"))  # fmt: skip


def resolve(model: PreparedModel, spec: WhatIf) -> _Resolved:
    """Check a what-if against the place and return the practices' positions and the new practice.

    Raises
    ------
    PlacekitError
        An unknown, closed or outside practice; a merger of a practice with itself or of a
        closed one; closing every practice of the place; a new practice outside the place.
    """
    if spec.is_empty:
        raise PlacekitError("nothing to do: give --close CODE[,CODE…], --merge A,B or --open NAME --at POSTCODE|SITE_ID --capacity N.")
    closed = [_check_code(model, c, "closed") for c in spec.close]
    merge_into = merged_from = None
    if spec.merge is not None:
        a, b = (str(c).strip().upper() for c in spec.merge)
        if a == b:
            raise PlacekitError(f"--merge {a},{b} names one practice twice; give two practices: the one whose premises stay first.")
        if a in spec.close or b in spec.close:
            raise PlacekitError(f"--merge {a},{b} names a practice that --close closes; merge open practices, or close one of them only.")
        merge_into, merged_from = _check_code(model, a, "merged"), _check_code(model, b, "merged")
        closed.append(merged_from)
    inside = model.data.practices["in_place"].to_numpy()
    if inside.sum() and set(np.flatnonzero(inside)) <= set(closed):
        raise PlacekitError(f"this closes every practice of {model.place.label} ({int(inside.sum())}), leaving its residents no practice in the "
                            "place; keep at least one open (close fewer practices).")  # fmt: skip
    new = _new_practice(model, spec) if spec.open_at is not None else None
    if spec.open_at is None and (spec.capacity is not None or spec.open_name):
        raise PlacekitError("--capacity and --open need --at POSTCODE|SITE_ID: where the new practice opens.")
    return _Resolved(np.array(sorted(set(closed)), dtype=np.int64), merge_into, merged_from, new)


# --------------------------------------------------------------------------- moving patients
def _nearest_open(minutes: np.ndarray, open_cols: np.ndarray) -> np.ndarray:
    """Return, per row of `minutes`, the open practice with the shortest time."""
    m = np.where(open_cols[None, :], minutes, np.inf)
    return m.argmin(axis=1)


def _column_scale(model: PreparedModel, r: _Resolved) -> np.ndarray:
    """Return each practice's attraction multiplier: 0 when closed; for a merger, the pull of the combined list at the premises kept."""
    scale = np.ones(model.n_practices)
    scale[r.closed] = 0.0
    if r.merge_into is not None:
        lists = model.data.practices["list_size"].to_numpy(float)
        scale[r.merge_into] = ((lists[r.merge_into] + lists[r.merged_from]) / lists[r.merge_into]) ** model.params.get("log_list", 0.0)
    return scale


def _new_attraction(model: PreparedModel, new: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Return the new practice's attraction and travel time from every origin (zeros and inf without one)."""
    d = model.data
    if new is None:
        return np.zeros(len(d.origins)), np.full(len(d.origins), np.inf)
    if d.travel is None:
        raise PlacekitError("the travel times were given as a matrix, which has no times to a new site; open the practice at a site of "
                            "that matrix, or use the modelled or network times.")  # fmt: skip
    minutes = travel_minutes(d.origins, new, d.travel)
    return _attraction(d, model.params, minutes, d.origins, new, new["list_size"].to_numpy(float))[:, 0], minutes[:, 0]


@dataclass(frozen=True, eq=False)
class _Scenario:
    """A resolved what-if in arrays: which practices are open (attraction multipliers), the new practice's pull, the fill."""

    r: _Resolved
    scale: np.ndarray
    e_new: np.ndarray
    new_minutes: np.ndarray
    fill: float = 1.0
    draw: float = 0.0
    p_new: np.ndarray | None = None

    @cached_property
    def closed_mask(self) -> np.ndarray:
        """Return, per practice key (located, the new slot, unlocated), whether it closes."""
        return np.isin(np.arange(len(self.scale) + 1), self.r.closed)


def _displaced_shares(model: PreparedModel, sc: _Scenario, origins: np.ndarray, fill: float) -> np.ndarray:
    """Return the shares (origins × practices, then the new practice) in which displaced patients of `origins` register.

    `fill` is the share of the new practice's draw that its capacity takes; the rest choose
    again among the open practices. An origin with no open practice within reach goes to
    the nearest open one.
    """
    w = model.attraction[origins] * sc.scale[None, :]
    s_open = w.sum(axis=1)
    new = sc.e_new[origins]
    total = s_open + new
    q_new = np.divide(new, total, out=np.zeros_like(new), where=total > 0)
    q_open = np.divide(w, s_open[:, None], out=np.zeros_like(w), where=s_open[:, None] > 0) * (1 - fill * q_new)[:, None]
    lost = s_open <= 0
    if lost.any():  # nothing open within reach: the nearest open practice takes what the new one does not
        near = np.where(sc.scale[None, :] > 0, model.data.minutes[origins[lost]], np.inf).argmin(axis=1)
        q_open[np.flatnonzero(lost), near] = 1 - fill * q_new[lost]
    return np.column_stack([q_open, fill * q_new])


def _stayers(model: PreparedModel, sc: _Scenario) -> np.ndarray:
    """Return the registrations (positions) of located patients at located practices that stay open."""
    key = model.entry_key
    return np.flatnonzero((model.entry_origin >= 0) & (key < model.n_practices) & ~sc.closed_mask[np.minimum(key, model.n_practices)])


def _p_new(model: PreparedModel, sc: _Scenario) -> np.ndarray:
    """Return, per origin, the model's probability of choosing the new practice among everything open."""
    total = (model.attraction * sc.scale[None, :]).sum(axis=1) + sc.e_new
    return np.divide(sc.e_new, total, out=np.zeros_like(sc.e_new), where=total > 0)


def _with_fill(model: PreparedModel, sc: _Scenario) -> _Scenario:
    """Return `sc` with the share of the new practice's model draw that its capacity takes (1 when it fits) and the draw."""
    if sc.r.new is None:
        return sc
    disp = np.flatnonzero(sc.closed_mask[np.minimum(model.entry_key, model.n_practices)] & (model.entry_origin >= 0))
    origins, inv = np.unique(model.entry_origin[disp], return_inverse=True)
    from_displaced = float((model.entry_patients[disp] * _displaced_shares(model, sc, origins, 1.0)[inv, -1]).sum())
    stay = _stayers(model, sc)
    p_new = _p_new(model, sc)
    draw = from_displaced + float((model.entry_patients[stay] * p_new[model.entry_origin[stay]]).sum())
    cap = float(sc.r.new["list_size"].iloc[0])
    return dataclasses.replace(sc, fill=min(1.0, cap / draw) if draw > 0 else 1.0, draw=draw, p_new=p_new)


#: Shares of a patient below this are not offered in the rounding (a displaced list is still moved whole).
_TINY = 1e-3


def _round_groups(values: np.ndarray, group: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Return `values` as whole numbers summing to `totals` within each group (largest remainder first)."""
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    floor = np.floor(values + 1e-9)
    deficit = np.asarray(totals, dtype=np.int64) - np.bincount(group, weights=floor, minlength=len(totals)).round().astype(np.int64)
    order = np.lexsort((-(values - floor), group))
    g = group[order]
    starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    rank = np.arange(len(g)) - np.repeat(starts, np.diff(np.r_[starts, len(g)]))
    out = floor.astype(np.int64)
    out[order[rank < deficit[g]]] += 1
    short = np.asarray(totals, dtype=np.int64) - np.bincount(group, weights=out, minlength=len(totals)).round().astype(np.int64)
    if (short > 0).any():  # a group whose offered shares fell short of its total: its largest share takes the rest
        first = order[starts[short[g[starts]] > 0]]
        out[first] += short[group[first]]
    return out


def _moves_frame(entries: np.ndarray, model: PreparedModel, to: np.ndarray, patients: np.ndarray, kind: str) -> pd.DataFrame:
    keep = patients > 0
    e = entries[keep]
    return pd.DataFrame({"lsoa": model.entry_lsoa[e], "origin": model.entry_origin[e], "from": model.entry_key[e], "to": to[keep],
                         "patients": patients[keep], "kind": kind})  # fmt: skip


def _displaced_moves(model: PreparedModel, sc: _Scenario) -> pd.DataFrame:
    """Return where every displaced patient goes, each displaced registration moved whole."""
    out_of = np.flatnonzero(sc.closed_mask[np.minimum(model.entry_key, model.n_practices)])
    located = out_of[model.entry_origin[out_of] >= 0]
    origins, inv = np.unique(model.entry_origin[located], return_inverse=True)
    values = _displaced_shares(model, sc, origins, sc.fill)[inv] * model.entry_patients[located, None]
    unlocated = out_of[model.entry_origin[out_of] < 0]
    if len(unlocated):  # they go where the located patients of their practice go, in the same shares
        values = np.vstack([values, _follow_located(model, sc, model.entry_key[located], values, model.entry_key[unlocated])
                            * model.entry_patients[unlocated, None]])  # fmt: skip
    rows = np.concatenate([located, unlocated])
    i, j = np.nonzero(values >= _TINY)
    whole = _round_groups(values[i, j], i, model.entry_patients[rows])
    return _moves_frame(rows[i], model, j, whole, "displaced")


def _follow_located(model: PreparedModel, sc: _Scenario, located_key: np.ndarray, values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Return destination shares for unlocated patients of practices `keys`: those of the practice's located patients."""
    out = np.zeros((len(keys), values.shape[1]))
    xy = model.data.practices[["x", "y"]].to_numpy()
    for k in np.unique(keys):
        mine = located_key == k
        if mine.any() and values[mine].sum() > 0:
            share = values[mine].sum(axis=0) / values[mine].sum()
        else:  # no located patient: the nearest open practice to its premises
            share = np.zeros(values.shape[1])
            share[np.where(sc.scale > 0, np.hypot(*(xy - xy[k]).T), np.inf).argmin()] = 1.0
        out[keys == k] = share
    return out


def _drawn_moves(model: PreparedModel, sc: _Scenario, displaced: pd.DataFrame) -> pd.DataFrame:
    """Return the patients who stay with an open practice in the data but would switch to the new one (scaled by the fill).

    When the capacity binds (fill below 1), the whole patients drawn make up the capacity
    exactly, with the displaced patients the new practice takes.
    """
    stay = _stayers(model, sc)
    p_new = sc.p_new if sc.p_new is not None else _p_new(model, sc)
    values = model.entry_patients[stay] * p_new[model.entry_origin[stay]] * sc.fill
    pick = values >= _TINY
    if sc.fill < 1:
        taken = int(displaced.loc[displaced["to"] == model.n_practices, "patients"].sum())
        target = int(sc.r.new["list_size"].iloc[0]) - taken
    else:
        target = int(np.floor(values.sum() + 1e-6))
    target = max(0, min(target, int(model.entry_patients[stay][pick].sum())))
    whole = _round_groups(values[pick], np.zeros(int(pick.sum()), dtype=np.int64), np.array([target]))
    return _moves_frame(stay[pick], model, np.full(int(pick.sum()), model.n_practices), whole, "drawn")


# --------------------------------------------------------------------------- what it does
def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Return the `q` quantile of `values` counted `weights` times each (NaN when the weights sum to 0)."""
    return _Sorted(np.asarray(values, dtype=np.float64)).quantile(np.asarray(weights, dtype=np.float64), q)


class _Sorted:
    """Values sorted once, for the mean and quantiles under many weightings (non-finite values weigh nothing)."""

    def __init__(self, values: np.ndarray) -> None:
        self.ok = np.isfinite(values)
        self.clean = np.where(self.ok, values, 0.0)
        self.order = np.argsort(np.where(self.ok, values, np.inf), kind="stable")
        self.sorted = self.clean[self.order]

    def quantile(self, weights: np.ndarray, q: float) -> float:
        cum = np.cumsum(np.where(self.ok, weights, 0.0)[self.order])
        if not len(cum) or cum[-1] <= 0:
            return float("nan")
        return float(self.sorted[np.searchsorted(cum, q * cum[-1])])

    def stats(self, weights: np.ndarray) -> dict[str, float]:
        w = np.where(self.ok, weights, 0.0)
        n = float(w.sum())
        return {"patients": n, "mean": float((self.clean * w).sum() / n) if n > 0 else float("nan"), "p90": self.quantile(weights, 0.9)}


@dataclass(frozen=True, eq=False)
class WhatIfResult:
    """What a scenario does: where patients go, lists, travel, equity, containment and the authority boundary.

    Attributes
    ----------
    closed_list
        Patients of the closed practices (for a merger, of the practice whose premises close).
    displaced
        Patients the model moves from those lists (equal to `closed_list`: every one is moved).
    drawn
        Patients who stay with an open practice in the data but switch to the new one.
    capacity_fill
        Share of the new practice's model draw its capacity takes (1 when it fits; None without one).
    moves
        One row per (LSOA, from practice, to practice): ``lsoa_code``, ``from``, ``to``,
        ``patients``, ``kind`` (``displaced`` or ``drawn``), ``minutes_before``, ``minutes_after``.
    practices
        One row per practice that closes, gains or loses: ``practice_code``,
        ``practice_name``, ``in_place``, ``status``, ``list_before``, ``gain`` (displaced
        patients it takes; for the new practice all it takes), ``drawn_to_new``,
        ``list_after``, ``change``, ``change_pct``.
    travel, equity, containment, boundary
        Travel time before and after by group of patients; by IMD quintile of residence;
        both containment measures per neighbourhood before and after (percent); patients
        crossing the local authority boundary before and after.
    """

    spec: WhatIf
    closed_list: int
    displaced: int
    drawn: int
    capacity_fill: float | None
    moves: pd.DataFrame
    practices: pd.DataFrame
    travel: pd.DataFrame
    equity: pd.DataFrame
    containment: pd.DataFrame
    boundary: pd.DataFrame
    new_practice: pd.DataFrame | None
    base: str
    notes: list[str] = field(default_factory=list)


def _codes(model: PreparedModel, r: _Resolved) -> pd.DataFrame:
    """Return the practices by key: the located ones, then the new practice (or a blank slot)."""
    pr = model.data.practices
    slot = r.new[pr.columns] if r.new is not None else pd.DataFrame({c: [np.nan] for c in pr.columns}, index=[NEW_CODE]).astype(pr.dtypes)
    return pd.concat([pr, slot])


def _with_minutes(model: PreparedModel, moves: pd.DataFrame, sc: _Scenario) -> pd.DataFrame:
    """Add ``minutes_before`` and ``minutes_after`` to the moves (NaN for patients whose LSOA is not located)."""
    full = np.column_stack([model.data.minutes, sc.new_minutes])
    o, f, t = moves["origin"].to_numpy(), moves["from"].to_numpy(), moves["to"].to_numpy()
    ok = o >= 0
    before, after = np.full(len(o), np.nan), np.full(len(o), np.nan)
    before[ok], after[ok] = full[o[ok], f[ok]], full[o[ok], t[ok]]
    return moves.assign(minutes_before=before, minutes_after=after)


def _practice_table(codes: pd.DataFrame, moves: pd.DataFrame, r: _Resolved) -> pd.DataFrame:
    """Return one row per practice that closes, gains or loses patients, largest gain first."""
    n = len(codes)
    w = moves["patients"].to_numpy(float)
    disp = moves["kind"].to_numpy() == "displaced"
    to, frm = moves["to"].to_numpy(), moves["from"].to_numpy()
    gain = np.bincount(to, weights=w, minlength=n)
    gain_displaced = np.bincount(to[disp], weights=w[disp], minlength=n)
    drawn = np.bincount(frm[~disp], weights=w[~disp], minlength=n)
    lost = np.bincount(frm[disp], weights=w[disp], minlength=n)
    before = np.nan_to_num(codes["list_size"].to_numpy(float))
    status = np.full(n, "", dtype=object)
    if r.new is not None:
        before[-1], status[-1] = 0.0, "new"
    status[r.closed] = "closed"
    if r.merge_into is not None:
        status[r.merged_from] = f"merged into {codes.index[r.merge_into]}"
        status[r.merge_into] = "merged (premises kept)"
    status[(status == "") & (gain > 0)] = "gains"
    status[(status == "") & (drawn > 0)] = "loses to the new practice"
    after = before + gain - drawn - lost
    keep = status != ""
    out = pd.DataFrame({"practice_code": codes.index, "practice_name": codes["practice_name"].to_numpy(), "in_place": codes["in_place"].to_numpy(),
                        "status": status, "list_before": before, "gain": np.where(status == "new", gain, gain_displaced),
                        "drawn_to_new": drawn, "list_after": after})[keep]  # fmt: skip
    out["change"] = out["list_after"] - out["list_before"]
    out["change_pct"] = 100 * out["change"] / out["list_before"].where(out["list_before"] > 0)
    for c in ("list_before", "gain", "drawn_to_new", "list_after", "change"):
        out[c] = out[c].round().astype(np.int64)
    out["in_place"] = out["in_place"].astype(bool)
    return out.sort_values(["gain", "change"], ascending=[False, True]).reset_index(drop=True)


def _after(model: PreparedModel, moves: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return every registration of the scope after the moves: LSOA position, practice key, patients."""
    k = model.n_practices + 1 + len(model.other_codes)
    lsoa = np.concatenate([model.entry_lsoa, moves["lsoa"].to_numpy(), moves["lsoa"].to_numpy()])
    key = np.concatenate([model.entry_key, moves["from"].to_numpy(), moves["to"].to_numpy()])
    w = np.concatenate([model.entry_patients, -moves["patients"].to_numpy(), moves["patients"].to_numpy()])
    flat, inverse = np.unique(lsoa * k + key, return_inverse=True)
    sums = np.bincount(inverse, weights=w).round().astype(np.int64)
    keep = sums > 0
    return flat[keep] // k, flat[keep] % k, sums[keep]


def _containment(model: PreparedModel, moves: pd.DataFrame, r: _Resolved, grouping: Grouping) -> pd.DataFrame:
    """Return both containment measures per neighbourhood before and after (percent), with the change in points.

    The moves are applied to the place's flow base (over LSOAs for a plan built from them); a
    practice the base does not hold (the new one, or one beyond the place that receives patients
    living beyond it) is added to it.
    """
    base, lsoa_row, col = model.base_for(grouping)
    col = col.copy()
    keys = np.unique(np.r_[moves["from"].to_numpy(), moves["to"].to_numpy()])
    missing = keys[col[keys] < 0]
    col[missing] = len(base.practices) + np.arange(len(missing))
    pr = model.data.practices
    names = [r.new["practice_name"].iloc[0] if k == model.n_practices else pr["practice_name"].iloc[k] for k in missing]
    wards = [r.new["ward_code"].iloc[0] if k == model.n_practices else pr["ward_code"].iloc[k] for k in missing]
    if grouping.units == "lsoa":  # the premises' row of a base over LSOAs is its LSOA
        wards = [_lsoa_at(model.place, r.new) if k == model.n_practices else np.nan for k in missing]
    codes = [NEW_CODE if k == model.n_practices else pr.index[k] for k in missing]
    new = pd.DataFrame({"ward": wards, "name": names}, index=codes)
    rows = lsoa_row[moves["lsoa"].to_numpy()]
    ok = rows >= 0
    after = with_moves(base, rows[ok], col[moves["from"].to_numpy()][ok], col[moves["to"].to_numpy()][ok], moves["patients"].to_numpy()[ok],
                       new_practices=new)  # fmt: skip
    nb, na = model.neighbourhoods_before(grouping), compute_flows(after, grouping).neighbourhoods
    out = pd.DataFrame(index=nb.index)
    for m in ("resident_containment", "list_containment"):
        out[f"{m}_before"], out[f"{m}_after"] = 100 * nb[m], 100 * na[m].reindex(nb.index)
        out[f"{m}_change"] = out[f"{m}_after"] - out[f"{m}_before"]
    out["registered_list_before"], out["registered_list_after"] = nb["registered_list"], na["registered_list"].reindex(nb.index)
    out.attrs.update(
        {"practice_by": nb.attrs.get("practice_by", grouping.practice_rule) + (f" unless assigned explicitly ({len(grouping.practice_to_neighbourhood)})"
                                                                              if grouping.practice_to_neighbourhood else ""),
         "list_base": nb.attrs.get("list_base"), "moves_left_out": int((~ok).sum())}
    )
    return out.reset_index()


def _lsoa_at(place: Place, new: pd.DataFrame) -> object:
    """Return the LSOA of the place the new practice stands in (NaN when none holds it)."""
    hit = place.lsoas.sindex.query(gpd.points_from_xy(new["x"], new["y"])[0], predicate="within")
    return place.lsoas.index[hit[0]] if len(hit) else np.nan


def _row(group: str, before: dict, after: dict) -> dict:
    return {"group": group, "patients": int(round(before["patients"])), "mean_before": before["mean"], "mean_after": after["mean"],
            "mean_change": after["mean"] - before["mean"], "p90_before": before["p90"], "p90_after": after["p90"],
            "p90_change": after["p90"] - before["p90"]}  # fmt: skip


def _located(
    model: PreparedModel, full: np.ndarray, lsoa: np.ndarray, key: np.ndarray, w: np.ndarray
) -> tuple[_Sorted, np.ndarray, np.ndarray]:
    """Return the travel times (sorted once), patients and origins of the registrations whose LSOA and practice are located."""
    o = model.lsoa_origin[lsoa]
    ok = (o >= 0) & (key <= model.n_practices)
    return _Sorted(full[o[ok], key[ok]]), w[ok].astype(np.float64), o[ok]


def _travel_tables(model: PreparedModel, moves: pd.DataFrame, sc: _Scenario, after: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return travel time before and after for groups of patients, and by IMD quintile of residence."""
    d = model.data
    inside = d.origins["in_place"].to_numpy().astype(float)
    age = np.nan_to_num(d.origins["age65_share"].to_numpy(float))
    imd = d.origins["imd_quintile"].to_numpy(float)
    full = np.column_stack([d.minutes, sc.new_minutes])
    mv = moves[moves["origin"] >= 0]
    mo, w = mv["origin"].to_numpy(), mv["patients"].to_numpy(float)
    mb, ma = _Sorted(mv["minutes_before"].to_numpy()), _Sorted(mv["minutes_after"].to_numpy())
    tb, wb, ob = model.before
    ta, wa, oa = _located(model, full, *after)
    name = model.place.name
    travel = pd.DataFrame([
        _row("patients who move", mb.stats(w), ma.stats(w)),
        _row(f"residents of {name} who move", mb.stats(w * inside[mo]), ma.stats(w * inside[mo])),
        _row("of them aged 65+ (estimated)", mb.stats(w * inside[mo] * age[mo]), ma.stats(w * inside[mo] * age[mo])),
        _row(f"all residents of {name} registered", tb.stats(wb * inside[ob]), ta.stats(wa * inside[oa])),
        _row("of them aged 65+ (estimated)", tb.stats(wb * inside[ob] * age[ob]), ta.stats(wa * inside[oa] * age[oa])),
    ])  # fmt: skip
    eq = []
    for q in range(1, 6):
        movers = _row(str(q), mb.stats(w * (imd[mo] == q)), ma.stats(w * (imd[mo] == q)))
        everyone = _row(str(q), tb.stats(wb * (imd[ob] == q)), ta.stats(wa * (imd[oa] == q)))
        eq.append({"imd_quintile": q, "movers": movers["patients"], "movers_mean_before": movers["mean_before"],
                   "movers_mean_after": movers["mean_after"], "movers_mean_change": movers["mean_change"],
                   "movers_p90_before": movers["p90_before"], "movers_p90_after": movers["p90_after"],
                   "residents": everyone["patients"], "residents_mean_change": everyone["mean_change"],
                   "residents_p90_change": everyone["p90_change"]})  # fmt: skip
    return travel, pd.DataFrame(eq)


def _boundary(model: PreparedModel, codes: pd.DataFrame, moves: pd.DataFrame, after: tuple) -> pd.DataFrame:
    """Return patients crossing the local authority boundary: among those who move, and the place's residents overall."""
    d = model.data
    olad, plad = d.origins["lad_code"].to_numpy(dtype=object), codes["lad_code"].to_numpy(dtype=object)
    inside, pin = (
        d.origins["in_place"].to_numpy(),
        np.r_[codes["in_place"].fillna(False).to_numpy(bool), np.zeros(len(model.other_codes), bool)],
    )
    mv = moves[moves["origin"] >= 0]
    o, f, t, w = mv["origin"].to_numpy(), mv["from"].to_numpy(), mv["to"].to_numpy(), mv["patients"].to_numpy(float)
    known = pd.notna(olad[o]) & pd.notna(plad[f]) & pd.notna(plad[t])

    def across(lsoa: np.ndarray, key: np.ndarray, n: np.ndarray) -> tuple[float, float]:
        og = model.lsoa_origin[lsoa]
        ok = og >= 0
        og, key, n = og[ok], key[ok], n[ok].astype(float)
        return float(n[inside[og] & ~pin[key]].sum()), float(n[~inside[og] & pin[key]].sum())

    (res_out_b, in_from_b), (res_out_a, in_from_a) = across(model.entry_lsoa, model.entry_key, model.entry_patients), across(*after)
    name = model.place.name
    out = pd.DataFrame([
        ("patients who move, registered across a local authority boundary", w[known & (olad[o] != plad[f])].sum(), w[known & (olad[o] != plad[t])].sum()),
        (f"residents of {name} registered with practices outside it", res_out_b, res_out_a),
        (f"patients living outside {name} registered with its practices", in_from_b, in_from_a),
    ], columns=["measure", "before", "after"])  # fmt: skip
    out[["before", "after"]] = out[["before", "after"]].round().astype(np.int64)
    out["change"] = out["after"] - out["before"]
    return out


def what_if(model: PreparedModel, spec: WhatIf, grouping: Grouping) -> WhatIfResult:
    """Apply a scenario: move the displaced patients, let a new practice draw up to its capacity, measure what changes.

    Parameters
    ----------
    model
        The calibrated model, prepared (:func:`prepare`).
    spec
        What closes, merges and opens.
    grouping
        The neighbourhoods whose containment is measured before and after.

    Raises
    ------
    PlacekitError
        For an unknown, closed or outside practice, closing every practice, a new practice
        outside the place or without a whole-number capacity (see :func:`resolve`).
    """
    r = resolve(model, spec)
    codes = _codes(model, r)
    e_new, new_minutes = _new_attraction(model, r.new)
    sc = _with_fill(model, _Scenario(r, _column_scale(model, r), e_new, new_minutes))
    parts = [_displaced_moves(model, sc)]
    if r.new is not None:
        parts.append(_drawn_moves(model, sc, parts[0]))
    moves = _with_minutes(model, pd.concat(parts, ignore_index=True), sc)
    after = _after(model, moves)
    travel, equity = _travel_tables(model, moves, sc, after)
    closing = sc.closed_mask[np.minimum(model.entry_key, model.n_practices)]
    shown = moves.assign(lsoa_code=model.lsoa_codes[moves["lsoa"].to_numpy()], **{"from": codes.index.to_numpy()[moves["from"].to_numpy()],
                         "to": codes.index.to_numpy()[moves["to"].to_numpy()]}).drop(columns=["lsoa", "origin"])  # fmt: skip
    return WhatIfResult(spec, int(model.entry_patients[closing].sum()), int(moves.loc[moves["kind"] == "displaced", "patients"].sum()),
                        int(moves.loc[moves["kind"] == "drawn", "patients"].sum()), sc.fill if r.new is not None else None,
                        shown[["lsoa_code", "from", "to", "patients", "kind", "minutes_before", "minutes_after"]],
                        _practice_table(codes, moves, r), travel, equity, _containment(model, moves, r, grouping),
                        _boundary(model, codes, moves, after), r.new, model.data.base, _notes(model, sc, moves))  # fmt: skip


def _notes(model: PreparedModel, sc: _Scenario, moves: pd.DataFrame) -> list[str]:
    """Say how the capacity, the unlocated patients and the travel model shaped the figures."""
    d = model.data
    out = [f"travel times: {d.method}{' (modelled)' if d.modelled else ''}; choice sets: practices within {d.cutoff:g} minutes ({d.mode})",
           f"aged 65+: {d.age_note}"]  # fmt: skip
    if sc.r.new is not None:
        cap = int(sc.r.new["list_size"].iloc[0])
        out.append(f"the new practice would draw {sc.draw:,.0f} patients by the model; its capacity of {cap:,} "
                   + (f"takes {100 * sc.fill:.0f}% of that draw: displaced patients it cannot take choose again among the others, "
                      "patients who would have switched stay" if sc.fill < 1 else "is not reached, so it takes that draw")
                   + f". Only patients in the {d.base} of {model.place.name}'s residents and practices can be drawn "
                   "(neighbours registered next door are not in the data)")  # fmt: skip
    unlocated = int(moves.loc[moves["origin"] < 0, "patients"].sum())
    if unlocated:
        out.append(f"{unlocated:,} displaced patients live in LSOAs that cannot be located (unknown residence, Wales or beyond the boundary "
                   "file): they go where their practice's located patients go, and are left out of the travel figures")  # fmt: skip
    return out
