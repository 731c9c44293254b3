"""Groupings (scenarios): each ward → a neighbourhood, each neighbourhood → a locality.

A grouping is a plain mapping, saved as a CSV or JSON file a person can read and
edit. Reading a file checks it whole and lists every problem at once.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo.demo import demo_neighbourhoods
from geo.model import Place
from placekit.errors import InvalidGroupingError, ScenarioFileError
from placekit.resources import baseline_grouping_file
from placekit.settings import BAND_MAX, BAND_MIN, TARGET_LOCALITIES, TARGET_NEIGHBOURHOODS

__all__ = [
    "Grouping",
    "grouping_from_records",
    "read_grouping",
    "grouping_to_csv",
    "grouping_to_json",
    "grouping_from_text",
    "write_grouping",
    "baseline_grouping",
    "ward_adjacency",
    "neighbourhood_parts",
    "soft_checks",
    "translate_grouping",
    "MAX_GROUPING_BYTES",
]

#: Largest grouping file accepted (a 300-ward grouping is about 20 kB).
MAX_GROUPING_BYTES = 1_000_000


@dataclass(frozen=True)
class Grouping:
    """Wards grouped into neighbourhoods, neighbourhoods into localities.

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
    """

    ward_to_neighbourhood: Mapping[str, str]
    neighbourhood_to_locality: Mapping[str, str]
    name: str = ""
    ward_set: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ward_to_neighbourhood", dict(self.ward_to_neighbourhood))
        object.__setattr__(self, "neighbourhood_to_locality", dict(self.neighbourhood_to_locality))
        object.__setattr__(self, "meta", dict(self.meta))
        problems = _problems(
            [(w, n, self.neighbourhood_to_locality.get(n, "")) for w, n in self.ward_to_neighbourhood.items()],
            extra_neighbourhoods=self.neighbourhood_to_locality.keys(),
        )
        if problems:
            raise InvalidGroupingError(problems, source=f"grouping {self.name!r}")

    # views ------------------------------------------------------------------
    @property
    def wards(self) -> pd.Series:
        """Return ward code → neighbourhood as a Series (index ``ward_code``)."""
        s = pd.Series(self.ward_to_neighbourhood, name="neighbourhood", dtype=object)
        s.index.name = "ward_code"
        return s

    @property
    def ward_locality(self) -> pd.Series:
        """Return ward code → locality."""
        return self.wards.map(self.neighbourhood_to_locality).rename("locality")

    @property
    def neighbourhoods(self) -> list[str]:
        """Return neighbourhood names in first-seen order."""
        return list(dict.fromkeys(self.ward_to_neighbourhood.values()))

    @property
    def localities(self) -> list[str]:
        """Return locality names in first-seen order."""
        return list(dict.fromkeys(self.neighbourhood_to_locality[n] for n in self.neighbourhoods))

    def counts(self) -> tuple[int, int, int]:
        """Return (neighbourhoods, localities, 1): the N:M:1 of the grouping."""
        return len(self.neighbourhoods), len(self.localities), 1

    # edits ------------------------------------------------------------------
    def move(self, ward: str, neighbourhood: str, *, locality: str | None = None) -> Grouping:
        """Return a copy with `ward` moved to `neighbourhood` (created in `locality` if new).

        A neighbourhood left with no ward is dropped.
        """
        if ward not in self.ward_to_neighbourhood:
            raise InvalidGroupingError([f"unknown ward {ward!r}: it is not in this grouping"], source="move")
        if neighbourhood not in self.neighbourhood_to_locality and locality is None:
            raise InvalidGroupingError([f"neighbourhood {neighbourhood!r} is new: give the locality it belongs to"], source="move")
        w2n = dict(self.ward_to_neighbourhood)
        w2n[ward] = neighbourhood
        n2l = dict(self.neighbourhood_to_locality)
        if locality is not None:
            n2l[neighbourhood] = locality
        used = set(w2n.values())
        n2l = {n: l for n, l in n2l.items() if n in used}
        return Grouping(w2n, n2l, name=self.name, ward_set=self.ward_set, meta=self.meta)

    def with_localities(self, neighbourhood_to_locality: Mapping[str, str]) -> Grouping:
        """Return a copy with neighbourhoods reassigned to localities."""
        n2l = dict(self.neighbourhood_to_locality) | dict(neighbourhood_to_locality)
        return Grouping(self.ward_to_neighbourhood, n2l, name=self.name, ward_set=self.ward_set, meta=self.meta)

    def renamed(self, name: str) -> Grouping:
        """Return a copy called `name`."""
        return Grouping(self.ward_to_neighbourhood, self.neighbourhood_to_locality, name=name, ward_set=self.ward_set, meta=self.meta)

    def to_frame(self, ward_names: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Return one row per ward: ``ward_code``, ``ward_name``, ``neighbourhood``, ``locality``."""
        df = pd.DataFrame({"ward_code": list(self.ward_to_neighbourhood), "neighbourhood": list(self.ward_to_neighbourhood.values())})
        df.insert(1, "ward_name", df["ward_code"].map(dict(ward_names or {})).astype(object).fillna(""))
        df["locality"] = df["neighbourhood"].map(self.neighbourhood_to_locality)
        return df


# --------------------------------------------------------------------------- validation
def _problems(
    records: Iterable[tuple[str, str, str]], *, wards: Iterable[str] | None = None, extra_neighbourhoods: Iterable[str] = ()
) -> list[str]:
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
    for n, k in nb_wards.items():
        if k == 0:
            problems.append(f"neighbourhood {n!r} is empty: it has no ward")
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


def grouping_from_records(
    records: Iterable[tuple[str, str, str]],
    *,
    wards: Iterable[str] | None = None,
    name: str = "",
    ward_set: str = "",
    meta: Mapping[str, str] | None = None,
    source: str = "grouping",
) -> Grouping:
    """Build a grouping from (ward, neighbourhood, locality) rows, checking everything.

    Parameters
    ----------
    records
        One row per ward. A row with a blank ward declares an (empty) neighbourhood.
    wards
        Every ward code of the place: wards not listed are "missing", codes not in it "unknown".

    Raises
    ------
    InvalidGroupingError
        Listing every problem: unknown ward, ward missing, ward in two neighbourhoods,
        neighbourhood in two localities, empty neighbourhood, blank names.
    """
    records = [tuple(r) for r in records]
    problems = _problems(records, wards=wards)
    if problems:
        raise InvalidGroupingError(problems, source=source)
    w2n = {str(w).strip(): str(n).strip() for w, n, _ in records if str(w).strip()}
    n2l = {str(n).strip(): str(l).strip() for _, n, l in records}
    return Grouping(w2n, n2l, name=name, ward_set=ward_set, meta=meta or {})


# --------------------------------------------------------------------------- files
_META_KEYS = ("name", "ward_set")


def grouping_to_csv(grouping: Grouping, ward_names: Mapping[str, str] | None = None) -> str:
    """Return the grouping as CSV text: ``# key: value`` lines, then one row per ward."""
    buf = io.StringIO()
    for key, value in [("name", grouping.name), ("ward_set", grouping.ward_set), *grouping.meta.items()]:
        if value:
            buf.write(f"# {key}: {str(value).replace(chr(10), ' ')}\n")
    grouping.to_frame(ward_names).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def grouping_to_json(grouping: Grouping, ward_names: Mapping[str, str] | None = None) -> str:
    """Return the grouping as JSON: neighbourhoods with their locality and wards."""
    nbs = {}
    for n in grouping.neighbourhoods:
        wards = [w for w, x in grouping.ward_to_neighbourhood.items() if x == n]
        entry = {"locality": grouping.neighbourhood_to_locality[n], "wards": wards}
        if ward_names:
            entry["ward_names"] = [ward_names.get(w, "") for w in wards]
        nbs[n] = entry
    doc = {"name": grouping.name, "ward_set": grouping.ward_set, "meta": grouping.meta, "neighbourhoods": nbs}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def grouping_from_text(text: str, *, fmt: str, wards: Iterable[str] | None = None, source: str = "grouping file") -> Grouping:
    """Parse grouping text in `fmt` (``"csv"`` or ``"json"``); see :func:`read_grouping`."""
    if len(text.encode("utf-8", errors="replace")) > MAX_GROUPING_BYTES:
        raise ScenarioFileError(
            f"{source} is larger than {MAX_GROUPING_BYTES // 1000} kB; a grouping file is a few kB. Check you chose the right file."
        )
    if fmt == "json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioFileError(f"{source} is not valid JSON ({exc}). Fix the file or export it again from placekit.") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("neighbourhoods"), dict):
            raise ScenarioFileError(
                f'{source} must be a JSON object with a "neighbourhoods" object: {{"name": {{"locality": ..., "wards": [...]}}}}.'
            )
        records = []
        for n, entry in doc["neighbourhoods"].items():
            if not isinstance(entry, dict) or not isinstance(entry.get("wards", []), list):
                raise ScenarioFileError(f'{source}: neighbourhood {n!r} must be {{"locality": "...", "wards": ["ward code", ...]}}.')
            ws = entry.get("wards", [])
            loc = str(entry.get("locality", "") or "")
            records += [(str(w), n, loc) for w in ws] or [("", n, loc)]
        meta = {str(k): str(v) for k, v in (doc.get("meta") or {}).items()}
        return grouping_from_records(
            records, wards=wards, name=str(doc.get("name", "") or ""), ward_set=str(doc.get("ward_set", "") or ""), meta=meta, source=source
        )
    if fmt == "csv":
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
        reader = csv.DictReader(io.StringIO("\n".join(lines[body_start:])))
        cols = [c.strip() for c in (reader.fieldnames or [])]
        need = {"ward_code", "neighbourhood", "locality"}
        if not need <= set(cols):
            raise ScenarioFileError(
                f"{source} needs columns ward_code, neighbourhood, locality (ward_name optional); it has {cols}. "
                "Export a grouping from placekit to see the layout."
            )
        records = [(r.get("ward_code", ""), r.get("neighbourhood", ""), r.get("locality", "")) for r in reader]
        name = meta.pop("name", "")
        ward_set = meta.pop("ward_set", "")
        return grouping_from_records(records, wards=wards, name=name, ward_set=ward_set, meta=meta, source=source)
    raise ScenarioFileError(f"{source}: format {fmt!r} is not supported; use .csv or .json.")


def read_grouping(path: str | Path, *, wards: Iterable[str] | None = None) -> Grouping:
    """Read a grouping from a ``.csv`` or ``.json`` file.

    Parameters
    ----------
    path
        The file; its suffix picks the format.
    wards
        Every ward code of the place, to report unknown and missing wards.
    """
    path = Path(path)
    if not path.exists():
        raise ScenarioFileError(f"grouping file {path} does not exist.")
    fmt = path.suffix.lower().lstrip(".")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioFileError(f"grouping file {path.name} is not UTF-8 text; save it as UTF-8 CSV or JSON.") from exc
    return grouping_from_text(text, fmt=fmt, wards=wards, source=f"grouping file {path.name}")


def write_grouping(grouping: Grouping, path: str | Path, *, ward_names: Mapping[str, str] | None = None) -> Path:
    """Write a grouping to `path` (format from the suffix) atomically: a failed write leaves the old file."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    text = grouping_to_json(grouping, ward_names) if fmt == "json" else grouping_to_csv(grouping, ward_names)
    if fmt not in ("csv", "json"):
        raise ScenarioFileError(f"cannot write {path.name}: use a .csv or .json name.")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def baseline_grouping(place: Place | None = None) -> Grouping:
    """Return the baseline grouping of `place`: the 2015 One Team grouping for Manchester.

    For the demo place the deterministic demo grouping (:func:`geo.demo.demo_neighbourhoods`)
    is returned. With a place, the grouping is checked against its wards.
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
) -> list[str]:
    """Report (without refusing) what departs from the place model.

    Checks: neighbourhood population outside `band`; a neighbourhood in more than one
    contiguous part (naming the parts); counts other than 12:3:1.

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
            out.append(f"population: {nb} has {p:,} residents, outside {band[0]:,}–{band[1]:,}")
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
    joins the neighbourhood holding most of its residents.

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
    used = set(pick.values)
    n2l = {n: l for n, l in grouping.neighbourhood_to_locality.items() if n in used}
    new = Grouping(
        pick.to_dict(),
        n2l,
        name=f"{grouping.name} → {new_ward_set} wards",
        ward_set=new_ward_set,
        meta={"translated_from": grouping.ward_set or "?", "method": "LSOA best-fit, majority of residents"},
    )
    return new, flows.reset_index(drop=True)
