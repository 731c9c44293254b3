"""Hospital-site catchments for a place: travel times from every LSOA to the listed acute sites, then the split.

The travel times are the calibrated straight-line drive model (or a road network),
from each LSOA's demand point to each acute site of the shipped table
(``placekit/data/hospital_sites.csv``) that the place's hospitals layer locates.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd

from boundaries.catchments import SiteCatchments, hospital_sites, site_catchments
from boundaries.grouping import Grouping
from estates import network as nw
from estates.sites import origins
from estates.traveltime import modelled_times
from geo.model import Place
from placekit.errors import PlacekitError

__all__ = ["acute_sites", "lsoa_site_minutes", "hospital_site_catchments"]


def acute_sites(place: Place) -> gpd.GeoDataFrame:
    """Return the listed acute sites that the place's hospitals layer locates (index ``site_code``)."""
    if place.hospitals is None:
        raise PlacekitError(f"{place.label} has no hospitals layer; add one (NHS Choices Hospital.csv) to the manifest.")
    codes = hospital_sites()["site_code"].unique()
    found = place.hospitals.loc[place.hospitals.index.intersection(codes)]
    if found.empty:
        raise PlacekitError(f"none of the acute sites of the shipped, dated site table ({', '.join(codes[:6])}, …: Greater Manchester's "
                            f"trusts) is in {place.label}'s hospitals layer, so its admissions cannot be split by site; use `catchments "
                            "--by trust` (OHID trust shares), or add the place's acute sites to placekit/data/hospital_sites.csv.")  # fmt: skip
    return found


def lsoa_site_minutes(place: Place, *, network: str | Path | nw.RoadNetwork | None = None) -> tuple[pd.DataFrame, str]:
    """Return minutes by car from each LSOA to each located acute site, and how they were made."""
    o, s = origins(place), acute_sites(place)
    if network is None:
        t = modelled_times(o, s, mode="drive")
        lo, hi = t.km_range
        out = float(((t.km < lo) | (t.km > hi)).to_numpy().mean())
        return t.minutes, f"modelled drive time ({t.method}; {out:.0%} of LSOA–site pairs outside the calibrated {lo:.1f}–{hi:.1f} km)"
    net = network if isinstance(network, nw.RoadNetwork) else nw.network_from_graph(nw.graph_from_file(network, mode="drive"))
    nw.check_network_covers(net, o, s, place=place.label)
    return nw.network_matrix(net, o, s), "drive time over the road network"


def hospital_site_catchments(place: Place, grouping: Grouping, *, as_of: date | str | None = None, method: str = "logit",
                             network: str | Path | nw.RoadNetwork | None = None) -> SiteCatchments:  # fmt: skip
    """Return each neighbourhood's expected share of admissions per acute hospital site (see :func:`boundaries.catchments.site_catchments`)."""
    minutes, label = lsoa_site_minutes(place, network=network)
    return site_catchments(place, grouping, minutes, as_of=as_of, method=method, minutes_label=label)
