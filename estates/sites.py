"""Estates sites of a place: existing premises and candidates, each with its type, role, ward and neighbourhood.

Every site has a ``site_type`` and a ``role``:

* ``hub_candidate`` — premises that can house a health and care centre: GP premises
  (``gp``, ``gp_practice``, ``health_centre``), NHS hospital and community sites
  (``hospital``, ``community_hospital``), libraries and council or community buildings
  (``library``, ``council``, ``community_centre``, ``leisure_centre``);
* ``spoke`` — services that join a hub but do not house one: ``pharmacy``, ``dentist``,
  ``optician``;
* ``asset`` — anything else (independent hospitals, offices, types placekit does not know).

A user's estates file may set the role of each of its sites. Pharmacies, dentists and
other sites become hub candidates only when the user asks for their type
(:func:`hub_candidates` with ``types``).

**GP premises, one site per building** (:func:`gp_premises`, :func:`merge_cqc_locations`):
the ODS practices (``epraccur``) are grouped by postcode into premises, so a health centre
holding four practices is one site with four practice codes and its **capacity** is their
combined registered list. The CQC list of GP locations (the ``gp`` sites layer) is matched
to those premises: an entry at the same postcode, or within :data:`SAME_BUILDING_M` metres,
is the same building and joins it (its name kept in ``other_names``, its id an alias). What
is left is marked in ``premises_status``: ``former`` (the name of a practice that ODS lists at
other premises nearby: it has moved), ``not_nhs`` (no NHS practice at those premises: travel,
private and cosmetic clinics, a fitness centre). Premises whose practices have all closed are
``closed``. Only ``open`` premises are hub candidates unless the user opts the others in
(:class:`CandidateFilter` ``premises``).

**Capacity** (:func:`site_capacity`): the registered list of a GP premises; from an estates
file, ``capacity`` as given, else floor area or clinical rooms at a stated planning ratio
(:class:`PlanningRatios`); unknown otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from boundaries.grouping import Grouping
from geo.estates_sites import ESTATES_COLUMNS, read_estates_file
from geo.loaders import site_frame
from geo.model import ACTIVE_STATUS, Place
from placekit.errors import DuplicateCodeError, PlacekitError
from placekit.settings import WORKING_CRS

__all__ = [
    "place_sites",
    "gp_premises",
    "merge_cqc_locations",
    "names_match",
    "site_capacity",
    "resolve_site_ids",
    "PlanningRatios",
    "SAME_BUILDING_M",
    "PREMISES_STATUS",
    "validate_sites",
    "locate_sites",
    "origins",
    "default_role",
    "is_nhs_code",
    "hub_candidates",
    "CandidateFilter",
    "condition_penalty",
    "add_estates_file",
    "HUB_TYPES",
    "SPOKE_TYPES",
    "CONDITION_PENALTY",
]

SITE_COLUMNS = ["name", "site_type", "postcode", "owner", "floor_area", "capacity", "condition", "is_hub", *ESTATES_COLUMNS[:2], "weekly_hours"]
#: Site types that can house a health and care centre (hub candidates by default).
HUB_TYPES = ("gp", "gp_practice", "health_centre", "hospital", "community_hospital", "library", "council", "community_centre",
             "leisure_centre")  # fmt: skip
#: Site types that join a hub as spokes.
SPOKE_TYPES = ("pharmacy", "dentist", "optician")
#: Two GP locations this close (metres, straight line) are one building.
SAME_BUILDING_M = 25.0
#: A CQC location whose name matches an ODS practice listed at other premises this close (metres) is that practice's former premises.
FORMER_PREMISES_M = 2_000.0
#: What ``premises_status`` says of a GP site; only ``open`` premises are hub candidates unless opted in.
PREMISES_STATUS = {
    "open": "NHS GP premises (ODS) with at least one open practice",
    "closed": "premises whose NHS practices have all closed (ODS)",
    "former": "CQC location of a practice that ODS now lists at other premises",
    "not_nhs": "CQC location with no NHS GP practice (ODS) at those premises: private, travel or other clinic",
}
_NAME_STOP = {"the", "medical", "centre", "center", "practice", "practices", "surgery", "surgeries", "health", "group", "family", "dr",
              "drs", "doctor", "doctors", "and", "partners", "partnership", "of", "clinic", "primary", "care", "limited", "ltd", "rd",
              "road", "manchester", "city", "st", "street", "lane", "md", "mc", "hc", "gp", "nhs", "services"}  # fmt: skip
#: Default condition penalty, in minutes added to every resident's trip to a hub in that condition
#: (six-facet survey grades; A and B are fit for purpose).
CONDITION_PENALTY = {"A": 0.0, "B": 0.0, "C": 2.0, "D": 5.0}


def default_role(site_type: str) -> str:
    """Return the role a site of `site_type` takes unless its file says otherwise."""
    if site_type in HUB_TYPES:
        return "hub_candidate"
    if site_type in SPOKE_TYPES:
        return "spoke"
    return "asset"


def is_nhs_code(code: str, trusts: pd.Index | None = None) -> bool:
    """Return True when an organisation code is an NHS body: listed in `trusts` (ODS), or an ``R``/``T`` trust code.

    Independent providers' ODS codes start with other letters (``N``, ``A``, ``D``, ...).
    """
    code = str(code or "").strip().upper()
    if trusts is not None and code in trusts:
        return True
    return code == "NHS" or (len(code) in (3, 5) and code[0] in "RT")


def validate_sites(sites: gpd.GeoDataFrame, *, source: str = "sites") -> gpd.GeoDataFrame:
    """Check sites have unique ids, a CRS and a location each; return them in the working CRS.

    Raises
    ------
    DuplicateCodeError
        When a site id repeats.
    PlacekitError
        When a site has no location or the frame has no CRS.
    """
    if sites.index.has_duplicates:
        dup = list(sites.index[sites.index.duplicated()].unique()[:10])
        raise DuplicateCodeError(f"{source} has duplicate site ids {dup}; give each site its own id.")
    if sites.crs is None:
        raise PlacekitError(f"{source} has no CRS; set it before use.")
    missing = sites.geometry.isna() | sites.geometry.is_empty
    if missing.any():
        raise PlacekitError(
            f"{source}: {int(missing.sum())} site(s) have no location: {list(sites.index[missing][:10])}. "
            "Give them coordinates or a postcode that geocodes, or drop them."
        )
    return sites.to_crs(WORKING_CRS)


def locate_sites(sites: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, grouping: Grouping | None = None) -> gpd.GeoDataFrame:
    """Add ``ward_code`` and (with a grouping) ``neighbourhood`` and ``locality`` to each site."""
    j = gpd.sjoin(sites[[sites.geometry.name]], wards[[wards.geometry.name]], how="left", predicate="within")
    j = j[~j.index.duplicated()]
    out = sites.copy()
    out["ward_code"] = j["ward_code"].reindex(out.index)
    if grouping is not None:
        out["neighbourhood"] = out["ward_code"].map(grouping.ward_to_neighbourhood)
        out["locality"] = out["neighbourhood"].map(grouping.neighbourhood_to_locality)
    return out


def _pc(values: pd.Series) -> pd.Series:
    """Return postcodes in one spelling: upper case, no spaces."""
    return values.astype("string").str.upper().str.replace(r"\s+", "", regex=True).fillna("")


def _tokens(name: str) -> set[str]:
    words = "".join(ch if ch.isalnum() else " " for ch in str(name).lower()).split()
    return {w for w in words if w not in _NAME_STOP and len(w) > 1}


def names_match(a: str, b: str) -> bool:
    """Return True when two premises names share their distinctive words (at least half of the shorter name's).

    Common words (medical, centre, practice, surgery, group, Dr, and, partners, road, …) are
    ignored, so "Droylsden Road Family Practice" matches "DROYLSDEN RD FAMILY PRACTICE".
    """
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return False
    return len(ta & tb) >= max(1, (min(len(ta), len(tb)) + 1) // 2)


def gp_premises(practices: gpd.GeoDataFrame, lists: pd.Series, *, list_label: str = "registered list") -> gpd.GeoDataFrame:
    """Return one site per GP premises: the ODS practices grouped by postcode.

    Parameters
    ----------
    practices
        ODS practices (index ``practice_code``; ``practice_name``, ``postcode``, ``status``, geometry).
    lists
        Registered patients per practice code (the premises' capacity is their sum).
    list_label
        What `lists` are, with their date (e.g. "registered list, July 2022").

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``site_id`` (``ods-<code>``: the first open practice's code, else the first code);
        ``name`` (the practices' names), ``site_type`` ``gp_practice``, ``postcode``,
        ``practice_codes`` (``;``-joined), ``practices`` (count), ``practices_open``,
        ``registered_list``, ``capacity_source``, ``premises_status`` (``open`` or ``closed``),
        ``role``, ``aliases`` (the ids of the other practices, ``;``-joined) and ``other_names``.
    """
    pr = practices[practices.geometry.notna() & ~practices.geometry.is_empty].copy()
    pr["_pc"] = _pc(pr["postcode"]).where(lambda v: v != "", pd.Series(pr.index, index=pr.index))  # no postcode: its own premises
    pr["_open"] = pr["status"].eq(ACTIVE_STATUS)
    pr["_list"] = lists.reindex(pr.index).to_numpy()
    pr = pr.sort_values(["_pc", "_open", "practice_name"], ascending=[True, False, True])
    codes_all, names_all = pr.index.to_numpy(), pr["practice_name"].astype(str).to_numpy()
    open_all, list_all, pcs_all, geom_all = pr["_open"].to_numpy(), pr["_list"].to_numpy(dtype=float), pr["postcode"].to_numpy(), pr.geometry.values
    starts = np.flatnonzero(np.r_[True, pr["_pc"].to_numpy()[1:] != pr["_pc"].to_numpy()[:-1]])  # plain arrays: one pass, no pandas per group
    rows, geoms, ids = [], [], []
    for s0, s1 in zip(starts, [*starts[1:], len(pr)], strict=True):
        codes = list(codes_all[s0:s1])
        is_open = bool(open_all[s0:s1].any())
        lst = list_all[s0:s1]
        known = [c for c, v in zip(codes, lst, strict=True) if np.isfinite(v)]
        rows.append({
            "name": " / ".join(names_all[s0:s1]), "site_type": "gp_practice", "postcode": pcs_all[s0],
            "practice_codes": ";".join(codes), "practices": len(codes), "practices_open": int(open_all[s0:s1].sum()),
            "registered_list": float(np.nansum(lst)) if known else np.nan,
            "capacity_source": f"{list_label} of {len(known)} practice(s) at these premises ({', '.join(known)})" if known else "",
            "premises_status": "open" if is_open else "closed", "role": "hub_candidate" if is_open else "asset",
            "aliases": ";".join(f"ods-{c}" for c in codes[1:]), "other_names": "", "cqc_locations": 0, "owner": None, "floor_area": None,
            "capacity": None, "condition": None, "is_hub": False, "geocoded": True,
        })  # fmt: skip
        geoms.append(geom_all[s0])
        ids.append(f"ods-{codes[0]}")
    return gpd.GeoDataFrame(rows, geometry=geoms, index=pd.Index(ids, name="site_id"), crs=practices.crs)


def merge_cqc_locations(cqc: gpd.GeoDataFrame, premises: gpd.GeoDataFrame, practices: gpd.GeoDataFrame,
                        *, within_m: float = SAME_BUILDING_M) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict[str, int]]:  # fmt: skip
    """Merge CQC GP locations into the ODS premises they stand in; mark the rest.

    A location at a premises' postcode, or within `within_m` metres of it, is that building:
    it joins the premises (name in ``other_names``, id in ``aliases``). Of the rest, one whose
    name matches an ODS practice listed at other premises within :data:`FORMER_PREMISES_M`
    is ``former`` premises; any other is ``not_nhs``. Both become role ``asset``.

    Returns
    -------
    (premises, left, counts)
        The premises with the merged names, the locations left (with ``premises_status`` and
        ``role``), and how many were merged, ``former`` and ``not_nhs``.
    """
    premises = premises.copy()
    left = cqc.copy()
    if left.empty or premises.empty:
        left["premises_status"] = "not_nhs" if premises.empty else None
        return premises, left, {"merged": 0, "former": 0, "not_nhs": len(left)}
    p_xy = np.c_[premises.geometry.x, premises.geometry.y]
    c_xy = np.c_[left.geometry.x, left.geometry.y]
    near = np.hypot(c_xy[:, None, 0] - p_xy[None, :, 0], c_xy[:, None, 1] - p_xy[None, :, 1])
    by_pc = pd.Series(np.arange(len(premises)), index=_pc(premises["postcode"]).to_numpy())
    by_pc = by_pc[~by_pc.index.duplicated() & (by_pc.index != "")]
    target = _pc(left["postcode"]).map(by_pc).to_numpy(dtype=float)
    close = near.argmin(axis=1)
    target = np.where(np.isnan(target) & (near.min(axis=1) <= within_m), close, target)
    merged = ~np.isnan(target)
    extra_names: dict[int, list[str]] = {}
    extra_ids: dict[int, list[str]] = {}
    for sid, name, j in zip(left.index[merged], left["name"][merged], target[merged].astype(int), strict=True):
        extra_names.setdefault(j, []).append(str(name))
        extra_ids.setdefault(j, []).append(str(sid))
    other, count, aliases = premises["other_names"].to_list(), premises["cqc_locations"].to_list(), premises["aliases"].to_list()
    for j, names in extra_names.items():  # lists, then one assignment per column: no per-cell pandas writes
        other[j], count[j] = "; ".join(dict.fromkeys(names)), len(extra_ids[j])
        aliases[j] = ";".join(x for x in [aliases[j], *extra_ids[j]] if x)
    premises["other_names"], premises["cqc_locations"], premises["aliases"] = other, count, aliases
    left = left[~merged].copy()
    pr = practices[practices.geometry.notna()]
    pr_xy = np.c_[pr.geometry.x, pr.geometry.y]
    status = []
    for name, pt in zip(left["name"], left.geometry, strict=True):
        d = np.hypot(pr_xy[:, 0] - pt.x, pr_xy[:, 1] - pt.y)
        cand = pr["practice_name"][d <= FORMER_PREMISES_M]
        status.append("former" if any(names_match(name, n) for n in cand) else "not_nhs")
    left["premises_status"] = status
    left["role"] = "asset"
    counts = {"merged": int(merged.sum()), "former": status.count("former"), "not_nhs": status.count("not_nhs")}
    return premises, left, counts


@dataclass(frozen=True)
class PlanningRatios:
    """Planning ratios that turn an estates file's floor area or clinical rooms into a capacity (patients).

    Attributes
    ----------
    patients_per_m2
        Registered patients per m² of gross internal floor area. Default 1,750 patients per
        120 m² (≈ 14.6): the NHS planning assumption of one GP per 1,750 patients with 120 m²
        of primary care space each, as used by clinical commissioning groups in
        planning representations.
    patients_per_room
        Registered patients per clinical (consulting or treatment) room. Default 1,750: one
        GP's list per room (assumed).
    """

    patients_per_m2: float = 1750 / 120
    patients_per_room: float = 1750.0

    def describe(self) -> str:
        """Return the ratios in words."""
        return f"{self.patients_per_m2:.1f} patients per m² of floor area, {self.patients_per_room:,.0f} patients per clinical room"


def site_capacity(sites: gpd.GeoDataFrame, planning: PlanningRatios | None = None) -> pd.DataFrame:
    """Return each site's capacity (registered patients it can hold) and where it came from.

    In order: a GP premises' registered list; a ``capacity`` given in the sites layer; floor
    area × ``patients_per_m2``; clinical rooms × ``patients_per_room``; else unknown (NaN,
    source ``unknown``).
    """
    planning = planning or PlanningRatios()
    none = pd.Series(np.nan, index=sites.index)
    cap = pd.Series(np.nan, index=sites.index, dtype=float)
    src = pd.Series("unknown", index=sites.index, dtype=object)
    steps = [
        (pd.to_numeric(sites.get("registered_list", none), errors="coerce"), sites.get("capacity_source", none)),
        (pd.to_numeric(sites.get("capacity", none), errors="coerce"), pd.Series("capacity as given in the sites layer", index=sites.index)),
        (pd.to_numeric(sites.get("floor_area", none), errors="coerce") * planning.patients_per_m2,
         "floor area " + pd.to_numeric(sites.get("floor_area", none), errors="coerce").map("{:,.0f}".format)
         + f" m² × {planning.patients_per_m2:.1f} patients per m² (planning ratio)"),
        (pd.to_numeric(sites.get("clinical_rooms", none), errors="coerce") * planning.patients_per_room,
         pd.to_numeric(sites.get("clinical_rooms", none), errors="coerce").map("{:,.0f}".format)
         + f" clinical rooms × {planning.patients_per_room:,.0f} patients per room (planning ratio)"),
    ]  # fmt: skip
    for value, text in steps:
        take = cap.isna() & value.notna()
        cap[take] = value[take]
        src[take] = text[take]
    return pd.DataFrame({"capacity": cap, "capacity_source": src})


def resolve_site_ids(sites: gpd.GeoDataFrame, ids: Sequence[str]) -> list[str]:
    """Return `ids` with each alias (an ODS practice code, or the old id of a merged site) replaced by its site's id.

    Unknown ids are returned unchanged (callers name them in their errors).
    """
    lookup: dict[str, str] = {}
    for col in ("aliases", "practice_codes"):
        if col in sites:
            for sid, v in sites[col].dropna().items():
                for a in str(v).split(";"):
                    if a:
                        lookup[a] = sid
                        lookup.setdefault(f"ods-{a}" if col == "practice_codes" else a, sid)
    return list(dict.fromkeys(i if i in sites.index else lookup.get(i, i) for i in ids))


def _month(vintage: str) -> str:
    """Return "July 2022" for a vintage such as "2022-07 (LSOA 2011)" (the text itself when it is not of that form)."""
    m = re.match(r"(\d{4})-(\d{2})\b", str(vintage))
    if not m or not 1 <= int(m.group(2)) <= 12:
        return str(vintage) or "date unknown"
    return pd.Timestamp(year=int(m.group(1)), month=int(m.group(2)), day=1).strftime("%B %Y")


def _gp_sites(place: Place) -> tuple[list[gpd.GeoDataFrame], gpd.GeoDataFrame | None, dict[str, int]]:
    """Return the GP premises (ODS) with the place's CQC GP locations merged in, the other layers' sites, and the counts."""
    other = place.sites
    if other is not None and other.index.has_duplicates:  # before any merge hides a repeated id
        dup = list(other.index[other.index.duplicated()].unique()[:10])
        raise DuplicateCodeError(f"sites of {place.label} have duplicate site ids {dup}; give each site its own id.")
    if place.practices is None:
        return [], other, {}
    label = f"registered list, {_month(place.vintages.get('registrations', ''))}"
    premises = gp_premises(place.practices, place.practice_lists, list_label=label)
    counts = {"premises": len(premises), "practices": int(premises["practices"].sum())}
    if other is not None:
        from_user = other["source"].notna() if "source" in other else pd.Series(False, index=other.index)
        is_cqc = other["site_type"].eq("gp") & ~from_user
        premises, left, c = merge_cqc_locations(other[is_cqc], premises, place.practices)
        counts |= c
        other = gpd.GeoDataFrame(pd.concat([other[~is_cqc], left]), geometry="geometry", crs=other.crs) if len(other) else other
    return [premises], other, counts


def _premises_counts(sites: gpd.GeoDataFrame) -> dict[str, int]:
    """Count, among the sites of the place, the GP premises by status and what was merged into them."""
    gp = sites[sites["site_type"].eq("gp_practice") & sites["premises_status"].notna()]
    n = pd.to_numeric(gp.get("practices", pd.Series(dtype=float)), errors="coerce").fillna(1)
    out = {k: int(sites["premises_status"].eq(k).sum()) for k in PREMISES_STATUS}
    return out | {"premises": len(gp), "practices": int(n.sum()), "shared": int((n > 1).sum()),
                  "cqc_merged": int(pd.to_numeric(gp.get("cqc_locations", 0), errors="coerce").fillna(0).sum())}  # fmt: skip


def place_sites(place: Place, grouping: Grouping | None = None, *, types: list[str] | None = None, inside_only: bool = True,
                planning: PlanningRatios | None = None) -> gpd.GeoDataFrame:  # fmt: skip
    """Return the sites of a place: its GP premises (ODS, one per building), its estates layers and its hospitals.

    Sites without a location are left out and listed in ``attrs['unlocated']``; each site's
    capacity and its source are in ``capacity`` and ``capacity_source`` (:func:`site_capacity`);
    ``attrs['premises']`` counts the GP premises, the CQC locations merged into them and
    those marked ``former`` or ``not_nhs``.

    Parameters
    ----------
    types
        Keep only these site types (``gp``, ``gp_practice``, ``hospital``, ``library``, ...).
    inside_only
        Keep only sites inside the place's wards.
    planning
        Ratios for capacities from floor area or clinical rooms (default :class:`PlanningRatios`).
    """
    frames, other, counts = _gp_sites(place)
    if other is not None and len(other):
        frames.append(other[[c for c in [*SITE_COLUMNS, "source", "premises_status", "clinical_rooms"] if c in other] + ["geometry"]])
    if place.hospitals is not None and not place.demo:
        h = site_frame(place.hospitals, name_col="name", site_type="hospital", id_prefix="hospital", owner="trust_code")
        trusts = place.trusts.index if place.trusts is not None else None
        h.loc[[not is_nhs_code(o, trusts) for o in h["owner"]], "site_type"] = "independent_hospital"
        frames.append(h)
    if not frames:
        raise PlacekitError(f"{place.label} has no sites, practices or hospitals; add a [[sites]] layer to the manifest.")
    allsites = gpd.GeoDataFrame(pd.concat(frames), geometry="geometry", crs=WORKING_CRS)
    allsites.index.name = "site_id"
    for col in ("role", "tenure", "weekly_hours", "premises_status"):
        if col not in allsites:
            allsites[col] = None
    allsites["role"] = allsites["role"].where(allsites["role"].notna(), allsites["site_type"].map(default_role))
    unlocated = allsites.geometry.isna() | allsites.geometry.is_empty
    dropped = list(allsites.index[unlocated])
    allsites = allsites[~unlocated]
    if types is not None:
        allsites = allsites[allsites["site_type"].isin(types)]
    out = locate_sites(validate_sites(allsites, source=f"sites of {place.label}"), place.wards, grouping)
    if inside_only:
        out = out[out["ward_code"].notna()]
    cap = site_capacity(out, planning)
    out = out.assign(capacity=cap["capacity"], capacity_source=cap["capacity_source"])
    out.attrs["unlocated"] = dropped
    out.attrs["premises"] = _premises_counts(out) if counts else {}
    return out


def origins(place: Place) -> gpd.GeoDataFrame:
    """Return one demand point per LSOA: a point inside it, its residents, residents 60+, IMD quintile.

    The point is the polygon's representative point (population-weighted centres are not
    in the shipped data); for LSOAs of a few hundred metres this moves people little.
    """
    t = place.lsoa_table
    pts = place.lsoas.geometry.representative_point()
    return gpd.GeoDataFrame(t, geometry=pts.reindex(t.index).values, crs=place.lsoas.crs)


def add_estates_file(place: Place, path: str | Path) -> Place:
    """Return `place` with the sites of a user's estates file added to its sites layer (ids must not clash)."""
    extra = read_estates_file(path, default_role=default_role)
    extra["source"] = f"estates file {Path(path).name}"  # the user's own sites: never matched against the CQC or ODS lists
    sites = extra if place.sites is None else gpd.GeoDataFrame(pd.concat([place.sites, extra]), geometry="geometry", crs=WORKING_CRS)
    clash = sites.index[sites.index.duplicated()].unique()
    if len(clash):
        raise DuplicateCodeError(f"estates file {path}: site id(s) {list(clash[:10])} are already sites of {place.label}; rename them.")
    return place.replace(sites=sites)


@dataclass(frozen=True)
class CandidateFilter:
    """Which sites may become hubs.

    Attributes
    ----------
    types
        Site types allowed (opting in any type, pharmacies and dentists included); None
        keeps the sites whose role is ``hub_candidate``.
    min_floor_area
        Drop sites whose recorded floor area (m²) is below this; sites with no recorded
        area are kept and counted in the note.
    min_weekly_hours
        Drop sites open fewer hours a week than this (no recorded hours: kept).
    tenures
        Keep only these tenures (no recorded tenure: kept).
    premises
        GP premises statuses that may be hubs (:data:`PREMISES_STATUS`): ``open`` by default;
        add ``closed``, ``former`` or ``not_nhs`` to opt those premises in.
    min_capacity
        Drop sites whose capacity (registered patients, :func:`site_capacity`) is known and
        below this.
    unknown_capacity
        With `min_capacity`: ``keep`` (default) or ``drop`` the sites of unknown capacity.
    """

    types: tuple[str, ...] | None = None
    min_floor_area: float | None = None
    min_weekly_hours: float | None = None
    tenures: tuple[str, ...] | None = None
    premises: tuple[str, ...] = ("open",)
    min_capacity: float | None = None
    unknown_capacity: str = "keep"


def _at_least(values: pd.Series, least: float | None, what: str, keep: pd.Series, notes: list[str], *, unknown: str = "keep") -> pd.Series:
    """Return `keep` less the sites whose recorded `values` fall below `least` (and, with `unknown` ``drop``, those with none)."""
    if least is None:
        return keep
    v = pd.to_numeric(values, errors="coerce")
    drop = keep & v.notna() & (v < least)
    none = keep & v.isna()
    if unknown == "drop":
        notes.append(f"{what} ≥ {least:,.0f}: {int(drop.sum())} excluded as smaller, {int(none.sum())} of unknown {what} dropped")
        return keep & ~drop & ~none
    notes.append(f"{what} ≥ {least:,.0f}: {int(drop.sum())} excluded as smaller, {int(none.sum())} of unknown {what} kept")
    return keep & ~drop


def _premises_rule(sites: gpd.GeoDataFrame, keep: pd.Series, rule: CandidateFilter, notes: list[str]) -> pd.Series:
    """Apply the GP premises rule: statuses not opted in are out (whatever their role), opted-in ones are in."""
    unknown = [p for p in rule.premises if p not in PREMISES_STATUS]
    if unknown:
        raise PlacekitError(f"GP premises status(es) {unknown} are not known; choose among {list(PREMISES_STATUS)}.")
    status = sites["premises_status"] if "premises_status" in sites else pd.Series(None, index=sites.index)
    typed = sites["site_type"].isin(rule.types) if rule.types is not None else pd.Series(True, index=sites.index)
    out_ = status.notna() & ~status.isin(rule.premises)
    in_ = status.isin(rule.premises) & typed
    would = typed if rule.types is not None else sites["site_type"].map(default_role).eq("hub_candidate")  # candidates but for this rule
    removed = {k: int((would & status.eq(k)).sum()) for k in PREMISES_STATUS if k not in rule.premises}
    if any(removed.values()):
        notes.append("GP premises left out: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in removed.items() if v)
                     + " (opt them in: --premises, or 'GP premises that may be hubs' in the app)")  # fmt: skip
    return (keep & ~out_) | in_


def _merge_note(sites: gpd.GeoDataFrame) -> str:
    c = sites.attrs.get("premises") or {}
    if not c:
        return ""
    return (f"; one site per building: {c['premises']} GP premises hold {c['practices']} ODS practices ({c['shared']} shared by two or "
            f"more), {c['cqc_merged']} CQC locations merged into them")  # fmt: skip


def hub_candidates(sites: gpd.GeoDataFrame, rule: CandidateFilter | None = None) -> tuple[list[str], str]:
    """Return the ids of the sites that may become hubs under `rule`, and a sentence saying which and why.

    The sentence counts what each rule removed: GP premises not opted in (closed, former,
    not NHS), floor area, weekly hours, tenure and capacity.

    Raises
    ------
    PlacekitError
        When a type asked for is not among the sites' types, or a premises status or
        `unknown_capacity` is not known.
    """
    rule = rule or CandidateFilter()
    if rule.unknown_capacity not in ("keep", "drop"):
        raise PlacekitError(f'`unknown_capacity` was "{rule.unknown_capacity}" but is expected to be "keep" or "drop".')
    known = sorted(sites["site_type"].dropna().unique())
    if rule.types is not None:
        unknown = [t for t in rule.types if t not in known]
        if unknown:
            raise PlacekitError(f"candidate type(s) {unknown} are not site types here; choose among {known}.")
        keep = sites["site_type"].isin(rule.types)
        head = f"types {', '.join(rule.types)} (chosen)"
    else:
        keep = sites["role"].eq("hub_candidate") if "role" in sites else sites["site_type"].map(default_role).eq("hub_candidate")
        head = "sites that can house a health and care centre (role hub_candidate)"
    notes: list[str] = []
    none = pd.Series(np.nan, index=sites.index)
    keep = _premises_rule(sites, keep, rule, notes)
    keep = _at_least(sites.get("floor_area", none), rule.min_floor_area, "floor area m²", keep, notes)
    keep = _at_least(sites.get("weekly_hours", none), rule.min_weekly_hours, "hours a week", keep, notes)
    if rule.tenures is not None and "tenure" in sites:
        t = sites["tenure"]
        drop = keep & t.notna() & ~t.isin(rule.tenures)
        notes.append(f"tenure in {list(rule.tenures)}: {int(drop.sum())} excluded")
        keep &= ~drop
    keep = _at_least(sites.get("capacity", none), rule.min_capacity, "capacity", keep, notes, unknown=rule.unknown_capacity)
    ids = list(sites.index[keep])
    counts = sites.loc[ids, "site_type"].value_counts()
    text = f"{len(ids)} hub candidates, {head}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
    return ids, text + "".join(f"; {n}" for n in notes) + _merge_note(sites)


def condition_penalty(sites: gpd.GeoDataFrame, penalty: Mapping[str, float] | None = None,
                      ids: Sequence[str] | None = None) -> pd.Series:  # fmt: skip
    """Return minutes added to every trip to each site for its condition grade (0 where none is recorded)."""
    penalty = CONDITION_PENALTY if penalty is None else penalty
    cond = sites["condition"] if "condition" in sites else pd.Series(None, index=sites.index)
    out = cond.astype("string").str.upper().map(lambda c: penalty.get(c, 0.0) if isinstance(c, str) else 0.0).astype(float)
    return out if ids is None else out.reindex(list(ids)).fillna(0.0)
