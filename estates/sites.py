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
"""

from __future__ import annotations

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


def place_sites(place: Place, grouping: Grouping | None = None, *, types: list[str] | None = None, inside_only: bool = True) -> gpd.GeoDataFrame:
    """Return the sites of a place: its estates layers, its open GP practices (ODS) and its hospitals.

    Sites without a location are left out and listed in ``attrs['unlocated']``.

    Parameters
    ----------
    types
        Keep only these site types (``gp``, ``gp_practice``, ``hospital``, ``library``, ...).
    inside_only
        Keep only sites inside the place's wards.
    """
    frames = []
    if place.sites is not None:
        frames.append(place.sites[[c for c in SITE_COLUMNS if c in place.sites] + ["geometry"]])
    if place.practices is not None and not place.demo:
        pr = place.practices[place.practices["status"] == ACTIVE_STATUS]  # premises open today (ODS), whatever the registrations
        frames.append(site_frame(pr, name_col="practice_name", site_type="gp_practice", id_prefix="ods"))
    if place.hospitals is not None and not place.demo:
        h = site_frame(place.hospitals, name_col="name", site_type="hospital", id_prefix="hospital", owner="trust_code")
        trusts = place.trusts.index if place.trusts is not None else None
        h.loc[[not is_nhs_code(o, trusts) for o in h["owner"]], "site_type"] = "independent_hospital"
        frames.append(h)
    if not frames:
        raise PlacekitError(f"{place.label} has no sites, practices or hospitals; add a [[sites]] layer to the manifest.")
    allsites = gpd.GeoDataFrame(pd.concat(frames), geometry="geometry", crs=WORKING_CRS)
    allsites.index.name = "site_id"
    for col in ("role", "tenure", "weekly_hours"):
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
    out.attrs["unlocated"] = dropped
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
    """

    types: tuple[str, ...] | None = None
    min_floor_area: float | None = None
    min_weekly_hours: float | None = None
    tenures: tuple[str, ...] | None = None


def _at_least(values: pd.Series, least: float | None, what: str, keep: pd.Series, notes: list[str]) -> pd.Series:
    """Return `keep` less the sites whose recorded `values` fall below `least` (counted among those kept so far)."""
    if least is None:
        return keep
    v = pd.to_numeric(values, errors="coerce")
    drop = keep & v.notna() & (v < least)
    notes.append(f"{what} ≥ {least:g}: {int(drop.sum())} excluded, {int((keep & v.isna()).sum())} with none recorded kept")
    return keep & ~drop


def hub_candidates(sites: gpd.GeoDataFrame, rule: CandidateFilter | None = None) -> tuple[list[str], str]:
    """Return the ids of the sites that may become hubs under `rule`, and a sentence saying which and why.

    Raises
    ------
    PlacekitError
        When a type asked for is not among the sites' types.
    """
    rule = rule or CandidateFilter()
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
    keep = _at_least(sites.get("floor_area", none), rule.min_floor_area, "floor area m²", keep, notes)
    keep = _at_least(sites.get("weekly_hours", none), rule.min_weekly_hours, "hours a week", keep, notes)
    if rule.tenures is not None and "tenure" in sites:
        t = sites["tenure"]
        drop = keep & t.notna() & ~t.isin(rule.tenures)
        notes.append(f"tenure in {list(rule.tenures)}: {int(drop.sum())} excluded")
        keep &= ~drop
    ids = list(sites.index[keep])
    counts = sites.loc[ids, "site_type"].value_counts()
    text = f"{len(ids)} hub candidates, {head}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
    return ids, text + "".join(f"; {n}" for n in notes)


def condition_penalty(sites: gpd.GeoDataFrame, penalty: Mapping[str, float] | None = None,
                      ids: Sequence[str] | None = None) -> pd.Series:  # fmt: skip
    """Return minutes added to every trip to each site for its condition grade (0 where none is recorded)."""
    penalty = CONDITION_PENALTY if penalty is None else penalty
    cond = sites["condition"] if "condition" in sites else pd.Series(None, index=sites.index)
    out = cond.astype("string").str.upper().map(lambda c: penalty.get(c, 0.0) if isinstance(c, str) else 0.0).astype(float)
    return out if ids is None else out.reindex(list(ids)).fillna(0.0)
