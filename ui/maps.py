"""Folium maps drawn by the app (assets served locally; plain background unless tiles are chosen)."""

from __future__ import annotations

import folium
import geopandas as gpd
import pandas as pd

from boundaries.grouping import Grouping
from placekit.render import display_frame, escape_frame, neighbourhood_colours


def ward_map(place, g: Grouping, *, selected: str | None = None, moved: set[str] | None = None, height_note: str = "") -> folium.Map:
    """Wards coloured by neighbourhood, thick outlines per neighbourhood, the selected ward highlighted."""
    wards = place.wards.join(g.wards).join(g.ward_locality)
    colours = neighbourhood_colours(sorted(g.neighbourhoods))
    wards["colour"] = wards["neighbourhood"].map(colours)
    wards["selected"] = wards.index == selected
    wards["moved"] = wards.index.isin(moved or set())
    d = display_frame(escape_frame(wards.reset_index(), ["name", "neighbourhood", "locality"]), tolerance=25)
    b = d.total_bounds
    m = folium.Map(location=[(b[1] + b[3]) / 2, (b[0] + b[2]) / 2], zoom_start=11, tiles=None, control_scale=True)
    m.fit_bounds([[b[1], b[0]], [b[3], b[2]]])
    folium.GeoJson(
        d,
        name="Wards",
        style_function=lambda f: {
            "fillColor": f["properties"]["colour"],
            "color": "#000" if f["properties"]["selected"] else ("#b00020" if f["properties"]["moved"] else "#555"),
            "weight": 4 if f["properties"]["selected"] or f["properties"]["moved"] else 0.8,
            "fillOpacity": 0.75 if f["properties"]["selected"] else 0.5,
        },
        tooltip=folium.GeoJsonTooltip(fields=["name", "neighbourhood", "locality"], aliases=["Ward", "Neighbourhood", "Locality"]),
    ).add_to(m)
    nbs = wards.dissolve("neighbourhood").reset_index()[["neighbourhood", "geometry"]]
    folium.GeoJson(
        display_frame(escape_frame(nbs, ["neighbourhood"]), tolerance=25),
        name="Neighbourhoods",
        style_function=lambda f: {"color": "#111", "weight": 2.5, "fill": False, "interactive": False},
    ).add_to(m)
    return m


def site_points(sites: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return site ids with their display coordinates, to match a click to a site."""
    s = sites.to_crs("EPSG:4326")
    return pd.DataFrame({"lat": s.geometry.y, "lng": s.geometry.x}, index=sites.index)
