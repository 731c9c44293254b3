"""Folium maps drawn by the app (assets served locally; plain background unless tiles are chosen).

The ward map is rebuilt on every reassignment, so its pieces are prepared once:
ward shapes as GeoJSON (simplified, in EPSG:4326) and each neighbourhood's outline,
cached by its set of wards, so only neighbourhoods that changed are dissolved again.
"""

from __future__ import annotations

import html
import json

import folium
import geopandas as gpd
import pandas as pd
import shapely

from boundaries.grouping import Grouping
from render.maps import display_frame, neighbourhood_colours

_WARDS: dict = {}
_OUTLINES: dict = {}


def _ward_features(place) -> tuple[list[dict], dict]:
    """Return each ward as a GeoJSON feature (display CRS) and the display geometries, once per place."""
    key = id(place)
    if key not in _WARDS:
        d = display_frame(place.wards[["name", "geometry"]], tolerance=40)
        # About 1 m of precision is plenty on screen and halves the JSON the map carries.
        geoms = dict(zip(d.index, shapely.set_precision(d.geometry.values, 1e-5), strict=True))
        feats = [
            {"type": "Feature", "geometry": json.loads(shapely.to_geojson(g)), "properties": {"ward_code": c, "name": html.escape(str(n))}}
            for (c, g), n in zip(geoms.items(), d["name"], strict=True)
        ]
        _WARDS[key] = (feats, geoms)
    return _WARDS[key]


def _outline(place, wards: frozenset) -> dict:
    key = (id(place), wards)
    if key not in _OUTLINES:
        geoms = _ward_features(place)[1]
        _OUTLINES[key] = json.loads(shapely.to_geojson(shapely.union_all([geoms[w] for w in wards]).buffer(0)))
    return _OUTLINES[key]


def ward_map(place, g: Grouping, *, selected: str | None = None, moved: set[str] | None = None) -> folium.Map:
    """Wards coloured by neighbourhood, thick outlines per neighbourhood, moved wards outlined in red."""
    feats, geoms = _ward_features(place)
    colours = neighbourhood_colours(sorted(g.neighbourhoods))
    moved = moved or set()
    fc = {"type": "FeatureCollection", "features": []}
    for f in feats:
        code = f["properties"]["ward_code"]
        nb = g.ward_to_neighbourhood.get(code, "")
        props = dict(f["properties"], neighbourhood=html.escape(nb), locality=html.escape(g.neighbourhood_to_locality.get(nb, "")),
                     colour=colours.get(nb, "#999"), moved=code in moved, selected=code == selected)  # fmt: skip
        fc["features"].append({"type": "Feature", "geometry": f["geometry"], "properties": props})
    bounds = shapely.bounds(shapely.union_all(list(geoms.values())))
    m = folium.Map(location=[(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2], zoom_start=11, tiles=None, control_scale=True)
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    folium.GeoJson(
        fc,
        name="Wards",
        style_function=lambda f: {
            "fillColor": f["properties"]["colour"],
            "color": "#000" if f["properties"]["selected"] else ("#b00020" if f["properties"]["moved"] else "#555"),
            "weight": 4 if f["properties"]["selected"] or f["properties"]["moved"] else 0.8,
            "fillOpacity": 0.75 if f["properties"]["selected"] else 0.5,
        },
        tooltip=folium.GeoJsonTooltip(fields=["name", "neighbourhood", "locality"], aliases=["Ward", "Neighbourhood", "Locality"]),
    ).add_to(m)
    outlines = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": _outline(place, frozenset(w for w, n in g.ward_to_neighbourhood.items() if n == nb)), "properties": {}}
        for nb in g.neighbourhoods
    ]}  # fmt: skip
    folium.GeoJson(outlines, name="Neighbourhoods", style_function=lambda f: {"color": "#111", "weight": 2.5, "fill": False}).add_to(m)
    return m


def site_points(sites: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return site ids with their display coordinates, to match a click to a site."""
    s = sites.to_crs("EPSG:4326")
    return pd.DataFrame({"lat": s.geometry.y, "lng": s.geometry.x}, index=sites.index)
