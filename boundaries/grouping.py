"""Groupings (scenarios): each ward → a neighbourhood, each neighbourhood → a locality, each practice → a team.

A grouping is a plain mapping, saved as a CSV or JSON file a person can read and
edit. Council services follow the wards; a neighbourhood team serves the registered
lists of its practices. Every practice of the place belongs to one neighbourhood: by
a default rule (:data:`PRACTICE_RULES`), or by an explicit assignment that overrides
the rule practice by practice. A plan built from LSOAs keeps the same shape: each
ward goes to a neighbourhood, and LSOAs assigned explicitly override the neighbourhood
of their (best-fit) ward, LSOA by LSOA. Reading a file checks it whole and lists
every problem at once.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo.demo import demo_neighbourhoods
from geo.model import Place
from placekit.errors import InvalidGroupingError, ScenarioFileError
from placekit.files import write_text_atomically
from placekit.resources import baseline_grouping_file
from placekit.safe_text import RepeatedKeyError, first_control_character, loads_json_unique, neutralise_frame, restore_cell
from placekit.settings import BAND_MAX, BAND_MIN, TARGET_LOCALITIES, TARGET_NEIGHBOURHOODS

__all__ = [
    "Grouping",
    "PRACTICE_RULES",
    "grouping_from_records",
    "read_grouping",
    "grouping_to_csv",
    "grouping_to_json",
    "grouping_to_doc",
    "grouping_from_doc",
    "grouping_from_text",
    "write_grouping",
    "baseline_grouping",
    "practice_roll",
    "practice_problems",
    "ward_adjacency",
    "neighbourhood_parts",
    "soft_checks",
    "translate_grouping",
    "MAX_GROUPING_BYTES",
]

#: Largest grouping file accepted (a 300-ward grouping is about 20 kB).
MAX_GROUPING_BYTES = 1_000_000

#: Default rules placing a practice in a neighbourhood, with what each means.
PRACTICE_RULES: dict[str, str] = {
    "premises": "the neighbourhood of the ward its premises stand in",
    "pcn": "where most of its primary care network's practices have their premises",
    "patients": "the neighbourhood where most of its patients living in the city live",
}


def _to_neighbourhood(mapping: Mapping[str, str], index_name: str) -> pd.Series:
    """Return code → neighbourhood as a Series named ``neighbourhood``, its index named `index_name`."""
    s = pd.Series(mapping, name="neighbourhood", dtype=object)
    s.index.name = index_name
    return s


def _explicit_frame(mapping: Mapping[str, str], kind: str, names: Mapping[str, str] | None) -> pd.DataFrame:
    """Return one row per explicit assignment in `mapping`: ``<kind>_code``, ``<kind>_name`` (blank when unknown), ``neighbourhood``."""
    codes = list(mapping)
    return pd.DataFrame({f"{kind}_code": codes, f"{kind}_name": [str((names or {}).get(c, "") or "") for c in codes],
                         "neighbourhood": [mapping[c] for c in codes]})  # fmt: skip


@dataclass(frozen=True)
class Grouping:
    """Wards grouped into neighbourhoods, neighbourhoods into localities, practices into teams.

    Attributes
    ----------
    ward_to_neighbourhood
        ward code → neighbourhood name.
    neighbourhood_to_locality
        neighbourhood name → locality name; one entry per neighbourhood in use.
    name
        A label for people ("Manchester One Team baseline (2015)").
    ward_set
        Which ward vintage the codes belong to (``"2004-2018"``, ``"2018+"``).
    meta
        Any other ``# key: value`` lines of the file, kept for a lossless round trip.
    practice_rule
        How a practice not assigned explicitly finds its neighbourhood: a key of
        :data:`PRACTICE_RULES` (``premises``, ``pcn``, ``patients``).
    practice_to_neighbourhood
        Explicit assignments, practice code → neighbourhood, overriding the rule.
    lsoa_to_neighbourhood
        Explicit LSOA assignments, LSOA code → neighbourhood, overriding the neighbourhood of
        the LSOA's best-fit ward (a plan built from LSOAs). Empty for a plan of whole wards.
    """

    ward_to_neighbourhood: Mapping[str, str]
    neighbourhood_to_locality: Mapping[str, str]
    name: str = ""
    ward_set: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)
    practice_rule: str = "premises"
    practice_to_neighbourhood: Mapping[str, str] = field(default_factory=dict)
    lsoa_to_neighbourhood: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ward_to_neighbourhood", dict(self.ward_to_neighbourhood))
        object.__setattr__(self, "neighbourhood_to_locality", dict(self.neighbourhood_to_locality))
        object.__setattr__(self, "meta", dict(self.meta))
        object.__setattr__(self, "practice_to_neighbourhood", dict(self.practice_to_neighbourhood))
        object.__setattr__(self, "lsoa_to_neighbourhood", dict(self.lsoa_to_neighbourhood))
        if _plainly_valid(self.ward_to_neighbourhood, self.neighbourhood_to_locality, self.practice_to_neighbourhood, self.practice_rule,
                          self.lsoa_to_neighbourhood):  # fmt: skip
            return  # the common case, checked with set operations: a move in a 3,000-ward city stays cheap
        problems = _problems(
            [(w, n, self.neighbourhood_to_locality.get(n, "")) for w, n in self.ward_to_neighbourhood.items()],
            extra_neighbourhoods=self.neighbourhood_to_locality.keys(),
            practices=self.practice_to_neighbourhood.items(),
            lsoa_records=self.lsoa_to_neighbourhood.items(),
        )
        problems += _rule_problems(self.practice_rule)
        if problems:
            raise InvalidGroupingError(problems, source=f"grouping {self.name!r}")

    # views ------------------------------------------------------------------
    @property
    def wards(self) -> pd.Series:
        """Return ward code → neighbourhood as a Series (index ``ward_code``)."""
        return _to_neighbourhood(self.ward_to_neighbourhood, "ward_code")

    @property
    def ward_locality(self) -> pd.Series:
        """Return ward code → locality."""
        return self.wards.map(self.neighbourhood_to_locality).rename("locality")

    @property
    def neighbourhoods(self) -> list[str]:
        """Return neighbourhood names in first-seen order (wards first, then neighbourhoods made only of LSOAs)."""
        return list(dict.fromkeys([*self.ward_to_neighbourhood.values(), *self.lsoa_to_neighbourhood.values()]))

    @property
    def lsoas(self) -> pd.Series:
        """Return the explicit LSOA assignments, LSOA code → neighbourhood (index ``lsoa_code``); empty for a plan of whole wards."""
        return _to_neighbourhood(self.lsoa_to_neighbourhood, "lsoa_code")

    @property
    def units(self) -> str:
        """Return ``"lsoa"`` when LSOAs are assigned explicitly (a plan built from LSOAs), else ``"ward"``."""
        return "lsoa" if self.lsoa_to_neighbourhood else "ward"

    @property
    def localities(self) -> list[str]:
        """Return locality names in first-seen order."""
        return list(dict.fromkeys(self.neighbourhood_to_locality[n] for n in self.neighbourhoods))

    @property
    def practices(self) -> pd.Series:
        """Return the explicit assignments, practice code → neighbourhood (index ``practice_code``)."""
        s = pd.Series(self.practice_to_neighbourhood, name="neighbourhood", dtype=object)
        s.index.name = "practice_code"
        return s

    def counts(self) -> tuple[int, int, int]:
        """Return (neighbourhoods, localities, 1): the N:M:1 of the grouping."""
        return len(self.neighbourhoods), len(self.localities), 1

    # edits ------------------------------------------------------------------
    def move(self, ward: str, neighbourhood: str, *, locality: str | None = None) -> Grouping:
        """Return a copy with `ward` moved to `neighbourhood` (created in `locality` if new).

        A neighbourhood left with no ward is dropped; if practices are assigned to it
        explicitly the move is refused (assign or release them first).
        """
        return self.assign_wards([ward], neighbourhood, locality=locality)

    def assign_wards(self, wards: Iterable[str], neighbourhood: str, *, locality: str | None = None) -> Grouping:
        """Return a copy with every ward of `wards` in `neighbourhood` (created in `locality` if new); see :meth:`move`."""
        wards = list(wards)
        unknown = [w for w in wards if w not in self.ward_to_neighbourhood]
        if unknown:
            raise InvalidGroupingError([f"unknown ward(s) {unknown}: not in this grouping; use ward codes of the place"], source="move")
        if neighbourhood not in self.neighbourhood_to_locality and locality is None:
            raise InvalidGroupingError([f"neighbourhood {neighbourhood!r} is new: give the locality it belongs to"], source="move")
        w2n = dict(self.ward_to_neighbourhood) | dict.fromkeys(wards, neighbourhood)
        n2l = dict(self.neighbourhood_to_locality) | ({neighbourhood: locality} if locality is not None else {})
        used = set(w2n.values()) | set(self.lsoa_to_neighbourhood.values())
        stranded = sorted({n for n in self.practice_to_neighbourhood.values() if n not in used})
        if stranded:
            codes = sorted(p for p, n in self.practice_to_neighbourhood.items() if n in stranded)
            raise InvalidGroupingError(
                [
                    f"moving {wards} leaves neighbourhood(s) {stranded} with practices {codes} but no ward: assign or release those practices first"
                ],
                source="move",
            )
        return dataclasses.replace(self, ward_to_neighbourhood=w2n, neighbourhood_to_locality={n: l for n, l in n2l.items() if n in used})

    def assign_practices(self, codes: Iterable[str], neighbourhood: str) -> Grouping:
        """Return a copy with the practices `codes` assigned explicitly to `neighbourhood` (overriding the rule).

        Whether the codes are practices of the place is checked against the place
        (:func:`practice_problems`, or when the figures are computed), not here.
        """
        codes = [str(c).strip() for c in codes]
        if neighbourhood not in self.neighbourhood_to_locality:
            raise InvalidGroupingError(
                [f"neighbourhood {neighbourhood!r} is not in this grouping: assign practices to one of {self.neighbourhoods}"],
                source="assign practices",
            )
        return dataclasses.replace(
            self, practice_to_neighbourhood=dict(self.practice_to_neighbourhood) | dict.fromkeys(codes, neighbourhood)
        )

    def release_practices(self, codes: Iterable[str]) -> Grouping:
        """Return a copy in which the practices `codes` follow the rule again (no explicit assignment)."""
        drop = {str(c).strip() for c in codes}
        return dataclasses.replace(
            self, practice_to_neighbourhood={p: n for p, n in self.practice_to_neighbourhood.items() if p not in drop}
        )

    def assign_lsoas(self, codes: Iterable[str], neighbourhood: str) -> Grouping:
        """Return a copy with the LSOAs `codes` assigned explicitly to `neighbourhood` (overriding their ward's neighbourhood).

        Whether the codes are LSOAs of the place is checked against the place (when read
        with ``lsoas=``, or when the figures are computed), not here.
        """
        codes = [str(c).strip() for c in codes]
        if neighbourhood not in self.neighbourhood_to_locality:
            raise InvalidGroupingError(
                [f"neighbourhood {neighbourhood!r} is not in this grouping: assign LSOAs to one of {self.neighbourhoods}"], source="assign LSOAs"
            )
        return dataclasses.replace(self, lsoa_to_neighbourhood=dict(self.lsoa_to_neighbourhood) | dict.fromkeys(codes, neighbourhood))

    def release_lsoas(self, codes: Iterable[str] | None = None) -> Grouping:
        """Return a copy in which the LSOAs `codes` (all when None) follow their ward's neighbourhood again.

        A neighbourhood left with neither a ward nor an LSOA is dropped; if practices are
        assigned to it explicitly the release is refused (see :meth:`move`).
        """
        drop = None if codes is None else {str(c).strip() for c in codes}
        l2n = {} if drop is None else {l: n for l, n in self.lsoa_to_neighbourhood.items() if l not in drop}
        used = set(self.ward_to_neighbourhood.values()) | set(l2n.values())
        stranded = sorted({n for n in self.practice_to_neighbourhood.values() if n not in used})
        if stranded:
            raise InvalidGroupingError([f"releasing those LSOAs leaves neighbourhood(s) {stranded} with practices but no ward or LSOA: "
                                        "assign or release those practices first"], source="release LSOAs")  # fmt: skip
        n2l = {n: l for n, l in self.neighbourhood_to_locality.items() if n in used}
        return dataclasses.replace(self, lsoa_to_neighbourhood=l2n, neighbourhood_to_locality=n2l)

    def with_practice_rule(self, rule: str) -> Grouping:
        """Return a copy whose practices not assigned explicitly follow `rule` (a key of :data:`PRACTICE_RULES`)."""
        return dataclasses.replace(self, practice_rule=rule)

    def with_localities(self, neighbourhood_to_locality: Mapping[str, str]) -> Grouping:
        """Return a copy with neighbourhoods reassigned to localities."""
        return dataclasses.replace(self, neighbourhood_to_locality=dict(self.neighbourhood_to_locality) | dict(neighbourhood_to_locality))

    def renamed(self, name: str) -> Grouping:
        """Return a copy called `name`."""
        return dataclasses.replace(self, name=name)

    def to_frame(self, ward_names: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Return one row per ward: ``ward_code``, ``ward_name``, ``neighbourhood``, ``locality``."""
        df = pd.DataFrame({"ward_code": list(self.ward_to_neighbourhood), "neighbourhood": list(self.ward_to_neighbourhood.values())})
        df.insert(1, "ward_name", df["ward_code"].map(dict(ward_names or {})).astype(object).fillna(""))
        df["locality"] = df["neighbourhood"].map(self.neighbourhood_to_locality)
        return df

    def lsoas_frame(self, lsoa_names: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Return one row per explicit LSOA assignment: ``lsoa_code``, ``lsoa_name``, ``neighbourhood``."""
        return _explicit_frame(self.lsoa_to_neighbourhood, "lsoa", lsoa_names)

    def practices_frame(self, practice_names: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Return one row per explicit practice assignment: ``practice_code``, ``practice_name``, ``neighbourhood``."""
        return _explicit_frame(self.practice_to_neighbourhood, "practice", practice_names)


# --------------------------------------------------------------------------- validation
def _clean(texts: Iterable[object]) -> bool:
    return all(isinstance(t, str) and t and t == t.strip() for t in texts)


def _plainly_valid(w2n: Mapping[str, str], n2l: Mapping[str, str], p2n: Mapping[str, str], rule: str, l2n: Mapping[str, str]) -> bool:
    """Return True when a grouping certainly has no problem; False sends it to the detailed check (:func:`_problems`)."""
    used = set(w2n.values()) | set(l2n.values())
    return (rule in PRACTICE_RULES and _clean(w2n) and _clean(used) and set(n2l) == used and _clean(n2l.values())
            and _clean(p2n) and set(p2n.values()) <= used and _clean(l2n))  # fmt: skip


def _rule_problems(rule: object) -> list[str]:
    if rule in PRACTICE_RULES:
        return []
    return [f"practice_rule {rule!r} is not a rule; use one of {list(PRACTICE_RULES)}"]


def _ward_problems(
    records: Iterable[tuple[str, str, str]], extra_neighbourhoods: Iterable[str], with_lsoas: set[str] = frozenset()
) -> tuple[list[str], dict[str, list[str]], set[str]]:
    """Check ward rows; return the problems, the neighbourhoods of each ward and the neighbourhoods that have a ward or an LSOA."""
    problems: list[str] = []
    ward_nbs: dict[str, list[str]] = defaultdict(list)
    nb_locs: dict[str, set[str]] = defaultdict(set)
    nb_wards: dict[str, int] = defaultdict(int)
    for i, (w, n, loc) in enumerate(records, start=1):
        w, n, loc = (str(x).strip() if x is not None else "" for x in (w, n, loc))
        if not n:
            problems.append(f"row {i}: ward {w or '(blank)'} has no neighbourhood")
            continue
        if not loc:
            problems.append(f"row {i}: neighbourhood {n!r} has no locality")
        else:
            nb_locs[n].add(loc)
        if not w:
            nb_wards.setdefault(n, 0)
            continue
        ward_nbs[w].append(n)
        nb_wards[n] += 1
    for n in extra_neighbourhoods:
        nb_wards.setdefault(n, 0)
    for w, ns in ward_nbs.items():
        if len(set(ns)) > 1:
            problems.append(f"ward {w} is in {len(set(ns))} neighbourhoods: {sorted(set(ns))}")
        elif len(ns) > 1:
            problems.append(f"ward {w} is listed {len(ns)} times")
    for n, locs in nb_locs.items():
        if len(locs) > 1:
            problems.append(f"neighbourhood {n!r} is in {len(locs)} localities: {sorted(locs)}")
    problems += [f"neighbourhood {n!r} is empty: it has no ward" + (" or LSOA" if with_lsoas else "")
                 for n, k in nb_wards.items() if k == 0 and n not in with_lsoas]  # fmt: skip
    return problems, ward_nbs, {n for n, k in nb_wards.items() if k > 0 or n in with_lsoas}


def _lsoa_problems(lsoa_records: Iterable[tuple[str, str]], lsoas: Iterable[str] | None) -> tuple[list[str], set[str]]:
    """Check explicit LSOA rows: blank codes or neighbourhoods, an LSOA twice, unknown codes; return the problems and the neighbourhoods named."""
    problems: list[str] = []
    nbs: dict[str, list[str]] = defaultdict(list)
    for c, n in lsoa_records:
        c, n = (str(x).strip() if x is not None else "" for x in (c, n))
        if not c or not n:
            problems.append(f"an LSOA row ({c or 'no code'}, {n or 'no neighbourhood'}) is incomplete: give the LSOA code and its neighbourhood, "
                            "or delete the row to let the LSOA follow its ward")  # fmt: skip
            continue
        nbs[c].append(n)
    for c, ns in nbs.items():
        if len(set(ns)) > 1:
            problems.append(f"LSOA {c} is in {len(set(ns))} neighbourhoods {sorted(set(ns))}: keep one")
        elif len(ns) > 1:
            problems.append(f"LSOA {c} is listed {len(ns)} times under {ns[0]!r}: keep one")
    if lsoas is not None:
        unknown = sorted(set(nbs) - set(lsoas))
        if unknown:
            problems.append(f"{len(unknown)} unknown LSOA(s), not LSOAs of the place: {unknown[:10]}; use the place's LSOA codes "
                            "(the same vintage as its boundaries)")  # fmt: skip
    return problems, {ns[0] for ns in nbs.values()}


def _assignment_problems(practices: Iterable[tuple[str, str]], with_wards: set[str]) -> list[str]:
    """Check explicit practice rows: blank codes, a practice in two neighbourhoods, neighbourhoods without a ward."""
    problems: list[str] = []
    prac_nbs: dict[str, list[str]] = defaultdict(list)
    for p, n in practices:
        p, n = (str(x).strip() if x is not None else "" for x in (p, n))
        if not p:
            problems.append(f"a practice row for neighbourhood {n!r} has no practice code: fill it in or delete the row")
            continue
        if not n:
            problems.append(f"practice {p} has no neighbourhood: name one, or delete the row to let the practice follow the rule")
            continue
        prac_nbs[p].append(n)
    for p, ns in prac_nbs.items():
        if len(set(ns)) > 1:
            problems.append(f"practice {p} is in {len(set(ns))} neighbourhoods {sorted(set(ns))}: a practice belongs to one team; keep one")
        elif len(ns) > 1:
            problems.append(f"practice {p} is listed {len(ns)} times under {ns[0]!r}: keep one")
        if ns[0] not in with_wards and len(set(ns)) == 1:
            problems.append(
                f"practice {p} is assigned to neighbourhood {ns[0]!r}, which has no ward: assign it to a neighbourhood of the grouping"
            )
    return problems


def _problems(
    records: Iterable[tuple[str, str, str]],
    *,
    wards: Iterable[str] | None = None,
    extra_neighbourhoods: Iterable[str] = (),
    practices: Iterable[tuple[str, str]] = (),
    lsoa_records: Iterable[tuple[str, str]] = (),
    lsoas: Iterable[str] | None = None,
) -> list[str]:
    problems, lsoa_nbs = _lsoa_problems(lsoa_records, lsoas)
    ward_problems, ward_nbs, with_wards = _ward_problems(records, extra_neighbourhoods, lsoa_nbs)
    problems = ward_problems + problems
    declared = {str(n).strip() for _, n, _ in records} | {str(n).strip() for n in extra_neighbourhoods}
    problems += [f"LSOAs are assigned to neighbourhood {n!r}, which is not in the grouping: give it a locality (a ward row or "
                 "a neighbourhood entry) or assign those LSOAs to a neighbourhood of the grouping" for n in sorted(lsoa_nbs - declared)]  # fmt: skip
    problems += _assignment_problems(practices, with_wards)
    if wards is not None:
        wards = list(wards)
        known = set(wards)
        unknown = sorted(set(ward_nbs) - known)
        missing = [w for w in wards if w not in ward_nbs]
        if unknown:
            problems.append(f"{len(unknown)} unknown ward(s), not wards of the place: {unknown}")
        if missing:
            problems.append(f"{len(missing)} ward(s) missing, in no neighbourhood: {missing}")
    return problems


def practice_roll(place: Place) -> pd.DataFrame:
    """Return every practice code the place knows, with whether it can belong to one of its teams.

    A practice can be assigned when its premises stand in the place and it is in use
    (open in the ODS list, or holding patients in the registrations extract: the rule
    of :attr:`geo.model.Place.practices_in_place`).

    Returns
    -------
    pandas.DataFrame
        Index ``practice_code``; ``practice_name``, ``ward_code`` (premises), ``status``:
        ``"in place"`` (can be assigned), ``"closed"`` (premises in the place, closed in
        the ODS list and no patients in the registrations) or ``"outside"`` (premises
        outside the place, or not located); ``detail`` says why in words.
        ``attrs['place']`` is the place's label.
    """
    names = pd.Series(dtype=object)
    frames = [place.practices["practice_name"]] if place.practices is not None else []
    if place.pcn_map is not None:
        frames.append(place.pcn_map["practice_name"])
    if place.registrations is not None and "practice_name" in place.registrations:
        reg_names = place.registrations.drop_duplicates("practice_code").set_index("practice_code")["practice_name"]
        frames.append(reg_names)
    for f in frames:
        names = names.combine_first(f.astype(object)) if len(names) else f.astype(object)
    names = names[~names.index.duplicated()]
    in_place = place.practices_in_place.index
    ward = place.practices["ward_code"].reindex(names.index) if place.practices is not None else pd.Series(np.nan, index=names.index)
    status = pd.Series("outside", index=names.index, dtype=object)
    status[ward.notna().to_numpy()] = "closed"
    status[names.index.isin(in_place)] = "in place"
    out = pd.DataFrame({"practice_name": names.fillna("").astype(str), "ward_code": ward, "status": status})
    out["detail"] = _roll_detail(out, place)
    out.index.name = "practice_code"
    out.attrs["place"] = place.label
    return out


def _roll_detail(roll: pd.DataFrame, place: Place) -> pd.Series:
    """Say, for each practice of the roll, why it can or cannot be assigned."""
    ods = place.practices if place.practices is not None else pd.DataFrame(columns=["status", "close_date"])
    detail = pd.Series(f"premises in {place.name}", index=roll.index, dtype=object)
    closed = roll.index[roll["status"] == "closed"]
    for p in closed:
        when = ods.at[p, "close_date"] if p in ods.index else pd.NaT
        detail[p] = (
            f"ODS status {ods.at[p, 'status'] if p in ods.index else '?'}"
            + (f", closed {when:%Y-%m-%d}" if pd.notna(when) else "")
            + (", no patients in the registrations")
        )
    outside = roll.index[roll["status"] == "outside"]
    detail[outside] = [
        f"premises outside {place.name}" if p in ods.index else "not in the place's practice list (premises elsewhere)" for p in outside
    ]
    return detail


def practice_problems(grouping: Grouping, roll: pd.DataFrame) -> list[str]:
    """Return one sentence per explicit practice assignment that the place refuses, with its fix.

    Parameters
    ----------
    roll
        The place's practices, as returned by :func:`practice_roll`.

    Returns
    -------
    list of str
        Unknown practice codes, closed practices and practices outside the place; empty
        when every explicit assignment names a practice of the place in use.
    """
    return _roll_problems(grouping.practice_to_neighbourhood.items(), roll)


def _roll_problems(assignments: Iterable[tuple[str, str]], roll: pd.DataFrame) -> list[str]:
    where = roll.attrs.get("place", "the place")
    out = []
    for p, n in dict((str(p).strip(), str(n).strip()) for p, n in assignments if p and str(p).strip()).items():
        if p not in roll.index:
            out.append(
                f"practice {p} (assigned to {n!r}) is not a practice known to {where}: check the code (ODS practice code, e.g. P84001) or remove it"
            )
        elif roll.at[p, "status"] == "closed":
            out.append(f"practice {p} {roll.at[p, 'practice_name']} (assigned to {n!r}) is closed ({roll.at[p, 'detail']}): remove it")
        elif roll.at[p, "status"] == "outside":
            out.append(
                f"practice {p} {roll.at[p, 'practice_name']} (assigned to {n!r}) is outside {where} ({roll.at[p, 'detail']}): "
                "only the place's own practices belong to its teams; remove it"
            )
    return out


def grouping_from_records(
    records: Iterable[tuple[str, str, str]],
    *,
    wards: Iterable[str] | None = None,
    name: str = "",
    ward_set: str = "",
    meta: Mapping[str, str] | None = None,
    source: str = "grouping",
    practice_rule: str = "premises",
    practices: Iterable[tuple[str, str]] = (),
    roll: pd.DataFrame | None = None,
    lsoa_records: Iterable[tuple[str, str]] = (),
    lsoas: Iterable[str] | None = None,
) -> Grouping:
    """Build a grouping from (ward, neighbourhood, locality) rows, checking everything.

    Parameters
    ----------
    records
        One row per ward. A row with a blank ward declares an (empty) neighbourhood.
    wards
        Every ward code of the place: wards not listed are "missing", codes not in it "unknown".
    practice_rule
        The default rule for practices (a key of :data:`PRACTICE_RULES`).
    practices
        Explicit (practice code, neighbourhood) rows, overriding the rule.
    roll
        The place's practices (:func:`practice_roll`), to refuse unknown, closed and outside practices.
    lsoa_records
        Explicit (LSOA code, neighbourhood) rows, overriding the neighbourhood of the LSOA's ward.
    lsoas
        Every LSOA code of the place, to report unknown LSOAs.

    Raises
    ------
    InvalidGroupingError
        Listing every problem: unknown ward, ward missing, ward in two neighbourhoods,
        neighbourhood in two localities, empty neighbourhood, blank names, a practice in
        two neighbourhoods or in one without a ward, and with `roll` an unknown, closed
        or outside practice; an LSOA in two neighbourhoods, in one not in the grouping,
        and with `lsoas` an unknown LSOA.
    """
    records = [tuple(r) for r in records]
    practices = [tuple(p) for p in practices]
    lsoa_records = [tuple(r) for r in lsoa_records]
    problems = _problems(records, wards=wards, practices=practices, lsoa_records=lsoa_records, lsoas=lsoas) + _rule_problems(practice_rule)
    problems += _roll_problems(practices, roll) if roll is not None else []
    if problems:
        raise InvalidGroupingError(problems, source=source)
    w2n = {str(w).strip(): str(n).strip() for w, n, _ in records if str(w).strip()}
    n2l = {str(n).strip(): str(l).strip() for _, n, l in records}
    p2n = {str(p).strip(): str(n).strip() for p, n in practices}
    l2n = {str(c).strip(): str(n).strip() for c, n in lsoa_records}
    return Grouping(w2n, n2l, name=name, ward_set=ward_set, meta=meta or {}, practice_rule=practice_rule, practice_to_neighbourhood=p2n,
                    lsoa_to_neighbourhood=l2n)  # fmt: skip


# --------------------------------------------------------------------------- files
_META_KEYS = ("name", "ward_set", "practice_rule")
_PRACTICE_HEADER = "practice_code"
_LSOA_HEADER = "lsoa_code"


def grouping_to_csv(
    grouping: Grouping, ward_names: Mapping[str, str] | None = None, *, practice_names: Mapping[str, str] | None = None
) -> str:
    """Return the grouping as CSV text.

    ``# key: value`` lines (name, ward_set, practice_rule when not ``premises``, meta),
    then one row per ward (``ward_code,ward_name,neighbourhood,locality``); when
    practices are assigned explicitly, a blank line and a second table,
    ``practice_code,practice_name,neighbourhood``; when LSOAs are assigned explicitly (a
    plan built from LSOAs), a blank line and a table ``lsoa_code,lsoa_name,neighbourhood``.
    """
    buf = io.StringIO()
    rule = grouping.practice_rule if grouping.practice_rule != "premises" else ""
    for key, value in [("name", grouping.name), ("ward_set", grouping.ward_set), ("practice_rule", rule), *grouping.meta.items()]:
        if value:
            buf.write(f"# {key}: {str(value).replace(chr(10), ' ')}\n")
    # Names a spreadsheet would run as formulas (=, +, -, @, …) are written with a leading ' and read back exactly.
    neutralise_frame(grouping.to_frame(ward_names)).to_csv(buf, index=False, lineterminator="\n")
    if grouping.practice_to_neighbourhood:
        buf.write("\n")
        neutralise_frame(grouping.practices_frame(practice_names)).to_csv(buf, index=False, lineterminator="\n")
    if grouping.lsoa_to_neighbourhood:
        buf.write("\n")
        neutralise_frame(grouping.lsoas_frame()).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def grouping_to_json(grouping: Grouping, ward_names: Mapping[str, str] | None = None) -> str:
    """Return the grouping as JSON: the practice rule, then neighbourhoods with their locality, wards and explicit practices."""
    return json.dumps(grouping_to_doc(grouping, ward_names), indent=2, ensure_ascii=False) + "\n"


def grouping_to_doc(grouping: Grouping, ward_names: Mapping[str, str] | None = None) -> dict:
    """Return the JSON document of :func:`grouping_to_json` as a dict (to nest it in a larger JSON document)."""
    nbs = {}
    for n in grouping.neighbourhoods:
        wards = [w for w, x in grouping.ward_to_neighbourhood.items() if x == n]
        entry: dict[str, object] = {"locality": grouping.neighbourhood_to_locality[n], "wards": wards}
        if ward_names:
            entry["ward_names"] = [ward_names.get(w, "") for w in wards]
        practices = [p for p, x in grouping.practice_to_neighbourhood.items() if x == n]
        if practices:
            entry["practices"] = practices
        lsoas = [c for c, x in grouping.lsoa_to_neighbourhood.items() if x == n]
        if lsoas:
            entry["lsoas"] = lsoas
        nbs[n] = entry
    doc = {
        "name": grouping.name,
        "ward_set": grouping.ward_set,
        "practice_rule": grouping.practice_rule,
        "meta": grouping.meta,
        "neighbourhoods": nbs,
    }
    return doc


def _text_field(doc: dict, key: str, source: str, default: str = "") -> str:
    value = doc.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ScenarioFileError(f'{source}: "{key}" must be a text string; it is {type(value).__name__} {value!r:.40}. Write it in quotes.')
    return value


def _code_list(entry: dict, key: str, n: str, source: str) -> list[str]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScenarioFileError(f'{source}: neighbourhood {n!r}: "{key}" must be a list of codes in quotes, e.g. ["E05000650", ...].')
    return value


def _parse_json(text: str, source: str) -> dict:
    """Parse grouping JSON into the keyword arguments of :func:`grouping_from_records`."""
    try:
        doc = loads_json_unique(text)
    except RepeatedKeyError as exc:
        raise ScenarioFileError(
            f"{source}: {exc}. JSON keeps only the last of the two, so the first would be lost without a word; "
            f"keep one {exc.key!r} (merge the two if both hold wards), then load the file again."
        ) from exc
    except json.JSONDecodeError as exc:
        raise ScenarioFileError(f"{source} is not valid JSON ({exc}). Fix the file or export it again from placekit.") from exc
    except RecursionError as exc:
        raise ScenarioFileError(f"{source} nests JSON too deeply to be a grouping. Export the grouping again from placekit.") from exc
    return _parse_doc(doc, source)


def _parse_doc(doc: Any, source: str) -> dict:
    """Parse a grouping JSON document (already decoded) into the keyword arguments of :func:`grouping_from_records`."""
    if not isinstance(doc, dict) or not isinstance(doc.get("neighbourhoods"), dict):
        raise ScenarioFileError(
            f'{source} must be a JSON object with a "neighbourhoods" object: {{"name": {{"locality": ..., "wards": [...], "practices": [...]}}}}.'
        )
    meta = doc.get("meta") or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str | int | float) for v in meta.values()):
        raise ScenarioFileError(
            f'{source}: "meta" must be an object of text values, e.g. {{"author": "..."}}; it is {meta!r:.60}. Fix or delete it.'
        )
    records, practices, lsoas = [], [], []
    for n, entry in doc["neighbourhoods"].items():
        if not isinstance(entry, dict):
            raise ScenarioFileError(f'{source}: neighbourhood {n!r} must be {{"locality": "...", "wards": ["ward code", ...]}}.')
        loc = _text_field(entry, "locality", f"{source}: neighbourhood {n!r}")
        records += [(w, n, loc) for w in _code_list(entry, "wards", n, source)] or [("", n, loc)]
        practices += [(p, n) for p in _code_list(entry, "practices", n, source)]
        lsoas += [(c, n) for c in _code_list(entry, "lsoas", n, source)]
    return {
        "records": records,
        "practices": practices,
        "lsoa_records": lsoas,
        "name": _text_field(doc, "name", source),
        "ward_set": _text_field(doc, "ward_set", source),
        "practice_rule": _text_field(doc, "practice_rule", source, "premises") or "premises",
        "meta": {str(k): str(v) for k, v in meta.items()},
    }


def _parse_csv(text: str, source: str) -> dict:
    """Parse grouping CSV (meta lines, the ward table, optionally the practice and LSOA tables) into keyword arguments."""
    lines = text.splitlines()
    meta: dict[str, str] = {}
    body_start = 0
    for i, line in enumerate(lines):
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            meta[key.strip()] = value.strip()
            body_start = i + 1
        elif line.strip():
            break
    body = lines[body_start:]
    heads = [i for i, line in enumerate(body) if i and line.strip().lower().startswith((_PRACTICE_HEADER, _LSOA_HEADER))]
    cuts = [*heads, len(body)]
    reader = csv.DictReader(io.StringIO("\n".join(body[: cuts[0]])))
    cols = [c.strip() for c in (reader.fieldnames or [])]
    if not {"ward_code", "neighbourhood", "locality"} <= set(cols):
        raise ScenarioFileError(
            f"{source} needs columns ward_code, neighbourhood, locality (ward_name optional); it has {cols}. "
            "Export a grouping from placekit to see the layout."
        )
    records = [tuple(restore_cell(r.get(k, "")) for k in ("ward_code", "neighbourhood", "locality")) for r in reader]
    tables: dict[str, list[tuple[str, str]]] = {_PRACTICE_HEADER: [], _LSOA_HEADER: []}
    for start, stop in zip(cuts[:-1], cuts[1:], strict=True):
        sub = csv.DictReader(io.StringIO("\n".join(body[start:stop])))
        scols = [c.strip() for c in (sub.fieldnames or [])]
        key = _PRACTICE_HEADER if scols and scols[0].lower() == _PRACTICE_HEADER else _LSOA_HEADER
        what = "practice" if key == _PRACTICE_HEADER else "LSOA"
        if "neighbourhood" not in scols or key not in scols:
            raise ScenarioFileError(f"{source}: the {what} table needs columns {key}, neighbourhood ({what.lower()}_name optional); it has {scols}.")
        tables[key] += [(restore_cell(r.get(key, "")), restore_cell(r.get("neighbourhood", ""))) for r in sub]
    practices = tables[_PRACTICE_HEADER]
    return {
        "records": records,
        "practices": practices,
        "lsoa_records": tables[_LSOA_HEADER],
        "name": meta.pop("name", ""),
        "ward_set": meta.pop("ward_set", ""),
        "practice_rule": meta.pop("practice_rule", "") or "premises",
        "meta": meta,
    }


def grouping_from_text(
    text: str,
    *,
    fmt: str,
    wards: Iterable[str] | None = None,
    roll: pd.DataFrame | None = None,
    source: str = "grouping file",
    lsoas: Iterable[str] | None = None,
) -> Grouping:
    """Parse grouping text in `fmt` (``"csv"`` or ``"json"``); see :func:`read_grouping`."""
    if len(text.encode("utf-8", errors="replace")) > MAX_GROUPING_BYTES:
        raise ScenarioFileError(
            f"{source} is larger than {MAX_GROUPING_BYTES // 1000} kB; a grouping file is a few kB. Check you chose the right file."
        )
    if fmt not in ("json", "csv"):
        raise ScenarioFileError(f"{source}: format {fmt!r} is not supported; use .csv or .json.")
    bad = first_control_character(text)
    if bad:
        raise ScenarioFileError(
            f"{source}, line {bad[0]}: holds the control character {bad[1]}, which a grouping file never contains (it is binary, "
            "or the text was damaged on its way). Remove it, or export the grouping again from placekit."
        )
    parts = _parse_json(text, source) if fmt == "json" else _parse_csv(text, source)
    _refuse_control_in_names(parts, source)
    return grouping_from_records(parts.pop("records"), wards=wards, roll=roll, source=source, lsoas=lsoas, **parts)


def _refuse_control_in_names(parts: dict, source: str) -> None:
    """Refuse a code or name holding a control character (written in JSON as an escape such as ``\\u0000``)."""
    texts = [str(x) for r in parts["records"] for x in r] + [str(x) for p in parts["practices"] for x in p]
    texts += [str(x) for r in parts.get("lsoa_records", ()) for x in r]
    texts += [parts["name"], parts["ward_set"], *parts["meta"], *parts["meta"].values()]
    if first_control_character("\n".join(texts)) is None:
        return  # the common case: one search over all the names
    for t in texts:
        bad = first_control_character(t)
        if bad:
            raise ScenarioFileError(f"{source}: the name or code {t!r} holds the control character {bad[1]}; remove it and load the file again.")


def grouping_from_doc(
    doc: Any,
    *,
    wards: Iterable[str] | None = None,
    roll: pd.DataFrame | None = None,
    source: str = "grouping",
    lsoas: Iterable[str] | None = None,
) -> Grouping:
    """Return the grouping of a decoded JSON document (as :func:`grouping_to_doc` makes), checked as :func:`grouping_from_text` checks."""
    parts = _parse_doc(doc, source)
    _refuse_control_in_names(parts, source)
    return grouping_from_records(parts.pop("records"), wards=wards, roll=roll, source=source, lsoas=lsoas, **parts)


def read_grouping(
    path: str | Path, *, wards: Iterable[str] | None = None, roll: pd.DataFrame | None = None, lsoas: Iterable[str] | None = None
) -> Grouping:
    """Read a grouping from a ``.csv`` or ``.json`` file.

    Parameters
    ----------
    path
        The file; its suffix picks the format.
    wards
        Every ward code of the place, to report unknown and missing wards.
    roll
        The place's practices (:func:`practice_roll`), to report explicit assignments of
        unknown, closed or outside practices.
    lsoas
        Every LSOA code of the place, to report explicit assignments of unknown LSOAs.

    Raises
    ------
    ScenarioFileError
        When the file is missing, a folder, unreadable, not UTF-8 or not a grouping file.
    InvalidGroupingError
        Listing every problem of its contents at once.
    """
    path = Path(path)
    if not path.exists():
        raise ScenarioFileError(f"grouping file {path} does not exist.")
    if path.is_dir():
        raise ScenarioFileError(f"grouping file {path} is a folder, not a file: give the path of a .csv or .json grouping file inside it.")
    fmt = path.suffix.lower().lstrip(".")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioFileError(f"grouping file {path.name} is not UTF-8 text; save it as UTF-8 CSV or JSON.") from exc
    except OSError as exc:
        raise ScenarioFileError(f"grouping file {path} cannot be read ({exc.strerror}); check its permissions.") from exc
    return grouping_from_text(text, fmt=fmt, wards=wards, roll=roll, source=f"grouping file {path.name}", lsoas=lsoas)


def write_grouping(grouping: Grouping, path: str | Path, *, ward_names: Mapping[str, str] | None = None) -> Path:
    """Write a grouping to `path` (format from the suffix) atomically: a failed write leaves the old file."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("csv", "json"):
        raise ScenarioFileError(f"cannot write {path.name}: use a .csv or .json name.")
    text = grouping_to_json(grouping, ward_names) if fmt == "json" else grouping_to_csv(grouping, ward_names)
    return write_text_atomically(path, text)


def baseline_grouping(place: Place | None = None) -> Grouping:
    """Return the baseline grouping of `place`: the 2015 One Team grouping for Manchester.

    For the demo place the deterministic demo grouping (:func:`geo.demo.demo_neighbourhoods`)
    is returned. With a place, the grouping is checked against its wards. Practices
    follow the ``premises`` rule.
    """
    if place is not None and place.demo:
        ward_to_nb, nb_to_loc = demo_neighbourhoods()
        return Grouping(ward_to_nb, nb_to_loc, name="Demo baseline (demo data)", ward_set="demo")
    wards = list(place.wards.index) if place is not None else None
    text = baseline_grouping_file().read_text(encoding="utf-8-sig")
    return grouping_from_text(text, fmt="csv", wards=wards, source="shipped baseline grouping manchester_2015_one_team.csv")


# --------------------------------------------------------------------------- soft checks
def ward_adjacency(wards: gpd.GeoDataFrame, *, tolerance: float = 1.0, min_shared: float = 10.0) -> pd.DataFrame:
    """Return pairs of wards sharing a boundary of at least `min_shared` metres.

    Wards that meet only at a corner are not adjacent (rook contiguity). `tolerance`
    absorbs slivers between generalised boundaries.

    Returns
    -------
    pandas.DataFrame
        Columns ``a``, ``b`` (ward codes), ``shared_m`` (length of common boundary);
        each unordered pair once.
    """
    geoms = wards.geometry.values
    grown = shapely.buffer(geoms, tolerance)
    left, right = wards.sindex.query(grown, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.length(shapely.intersection(grown[left], shapely.boundary(geoms[right])))
    ok = shared >= min_shared
    return pd.DataFrame({"a": wards.index[left[ok]], "b": wards.index[right[ok]], "shared_m": shared[ok]})


def neighbourhood_parts(grouping: Grouping, adjacency: pd.DataFrame) -> dict[str, list[list[str]]]:
    """Return, per neighbourhood, its contiguous parts (lists of wards); one part = contiguous."""
    s = grouping.wards
    codes = list(s.index)
    pos = {w: i for i, w in enumerate(codes)}
    same = [(pos[a], pos[b]) for a, b in zip(adjacency["a"], adjacency["b"], strict=True) if a in pos and b in pos and s[a] == s[b]]
    n = len(codes)
    rows = np.array([i for i, _ in same], dtype=int)
    cols = np.array([j for _, j in same], dtype=int)
    mat = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, labels = connected_components(mat, directed=False)
    parts: dict[str, dict[int, list[str]]] = defaultdict(dict)
    for w, lab in zip(codes, labels, strict=True):
        parts[s[w]].setdefault(lab, []).append(w)
    return {nb: list(p.values()) for nb, p in parts.items()}


def soft_checks(
    grouping: Grouping,
    ward_population: pd.Series,
    adjacency: pd.DataFrame | None = None,
    *,
    ward_names: Mapping[str, str] | None = None,
    band: tuple[int, int] = (BAND_MIN, BAND_MAX),
    registered_lists: pd.Series | None = None,
    population_base: str = "residents",
    list_base: str = "patients registered with its practices",
) -> list[str]:
    """Report (without refusing) what departs from the place model.

    Checks: team size outside `band` on both bases, resident population (from
    `ward_population`) and, when given, registered list (`registered_lists`, per
    neighbourhood: the patients of its practices, e.g. ``Flows.neighbourhoods["registered_list"]``);
    a neighbourhood in more than one contiguous part (naming the parts); counts other than 12:3:1.

    Parameters
    ----------
    population_base, list_base
        How each base is named in the findings, with its year (e.g. ``"residents (mid-2015)"``,
        ``"patients registered with its practices (July 2022)"``).

    Returns
    -------
    list of str
        One sentence per finding; empty when the grouping meets every soft rule.
    """
    out = []
    names = ward_names or {}
    pop = ward_population.reindex(grouping.wards.index).fillna(0).groupby(grouping.wards).sum()
    for nb in grouping.neighbourhoods:
        p = int(pop.get(nb, 0))
        if not band[0] <= p <= band[1]:
            out.append(f"population: {nb} has {p:,} {population_base}, outside {band[0]:,}–{band[1]:,}")
    for nb, size in (registered_lists if registered_lists is not None else pd.Series(dtype=float)).items():
        if not band[0] <= size <= band[1]:
            out.append(f"registered list: {nb} has {int(size):,} {list_base}, outside {band[0]:,}–{band[1]:,}")
    if adjacency is not None:
        for nb, parts in neighbourhood_parts(grouping, adjacency).items():
            if len(parts) > 1:
                desc = " | ".join(", ".join(names.get(w, w) for w in part) for part in parts)
                out.append(f"contiguity: {nb} is in {len(parts)} separate parts: {desc}")
    n, m, _ = grouping.counts()
    if (n, m) != (TARGET_NEIGHBOURHOODS, TARGET_LOCALITIES):
        out.append(f"counts: {n}:{m}:1 instead of {TARGET_NEIGHBOURHOODS}:{TARGET_LOCALITIES}:1")
    return out


# --------------------------------------------------------------------------- ward vintages
def translate_grouping(
    grouping: Grouping,
    old_lookup: pd.Series,
    new_lookup: pd.Series,
    population: pd.Series,
    *,
    new_ward_set: str,
    ward_names: Mapping[str, str] | None = None,
) -> tuple[Grouping, pd.DataFrame]:
    """Carry a grouping from one ward vintage to another through LSOA populations.

    Each LSOA takes the neighbourhood of its old ward (best-fit lookup); each new ward
    joins the neighbourhood holding most of its residents. The practice rule and the
    explicit practice and LSOA assignments are kept (practices of a neighbourhood that no
    longer has a ward or an LSOA are released, listed in ``meta['practices_released']``).

    Parameters
    ----------
    old_lookup, new_lookup
        LSOA → ward code for the old and the new ward vintage (same LSOA vintage).
    population
        Residents per LSOA.

    Returns
    -------
    (Grouping, pandas.DataFrame)
        The translated grouping, and a report with one row per (new ward, source
        neighbourhood): ``new_ward``, ``new_ward_name``, ``from_neighbourhood``,
        ``residents``, ``share``, ``assigned`` (the neighbourhood chosen), ``split``
        (True when the new ward's residents came from more than one neighbourhood).
    """
    lsoas = old_lookup.index.intersection(new_lookup.index)
    lsoas = lsoas[old_lookup.reindex(lsoas).isin(grouping.ward_to_neighbourhood)]
    df = pd.DataFrame({"old": old_lookup[lsoas], "new": new_lookup[lsoas], "pop": population.reindex(lsoas).fillna(0)})
    df["nb"] = df["old"].map(grouping.ward_to_neighbourhood)
    flows = df.groupby(["new", "nb"])["pop"].sum().rename("residents").reset_index()
    flows["share"] = flows["residents"] / flows.groupby("new")["residents"].transform("sum")
    pick = flows.sort_values(["new", "residents"], ascending=[True, False]).drop_duplicates("new").set_index("new")["nb"]
    flows["assigned"] = flows["new"].map(pick)
    flows["split"] = flows.groupby("new")["nb"].transform("nunique") > 1
    flows = flows.rename(columns={"new": "new_ward", "nb": "from_neighbourhood"})
    flows.insert(1, "new_ward_name", flows["new_ward"].map(dict(ward_names or {})).astype(object).fillna(""))
    # LSOAs assigned explicitly keep their neighbourhood (LSOA codes do not change with the ward vintage)
    used = set(pick.values) | set(grouping.lsoa_to_neighbourhood.values())
    n2l = {n: l for n, l in grouping.neighbourhood_to_locality.items() if n in used}
    kept = {p: n for p, n in grouping.practice_to_neighbourhood.items() if n in used}
    meta = {"translated_from": grouping.ward_set or "?", "method": "LSOA best-fit, majority of residents"}
    if len(kept) < len(grouping.practice_to_neighbourhood):
        meta["practices_released"] = " ".join(sorted(set(grouping.practice_to_neighbourhood) - set(kept)))
    new = Grouping(pick.to_dict(), n2l, name=f"{grouping.name} → {new_ward_set} wards", ward_set=new_ward_set, meta=meta,
                   practice_rule=grouping.practice_rule, practice_to_neighbourhood=kept,
                   lsoa_to_neighbourhood=grouping.lsoa_to_neighbourhood)  # fmt: skip
    return new, flows.reset_index(drop=True)
