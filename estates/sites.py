"""Estates sites of a place: existing premises and candidates, each with its ward and neighbourhood."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from boundaries.grouping import Grouping
from geo.loaders import site_frame
from geo.model import ACTIVE_STATUS, Place
from placekit.errors import DuplicateCodeError, PlacekitError
from placekit.settings import WORKING_CRS

__all__ = ["place_sites", "validate_sites", "locate_sites", "origins"]

SITE_COLUMNS = ["name", "site_type", "postcode", "owner", "floor_area", "capacity", "condition", "is_hub"]


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
        frames.append(site_frame(place.hospitals, name_col="name", site_type="hospital", id_prefix="hospital", owner="trust_code"))
    if not frames:
        raise PlacekitError(f"{place.label} has no sites, practices or hospitals; add a [[sites]] layer to the manifest.")
    allsites = gpd.GeoDataFrame(pd.concat(frames), geometry="geometry", crs=WORKING_CRS)
    allsites.index.name = "site_id"
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
