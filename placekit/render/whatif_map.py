"""The what-if map: practices to close or merge, sites where a new practice could open, and the predicted flows as arrows.

Practices and sites are GeoJSON layers whose features carry ``practice_code`` or ``site_id``,
so a click on the map returns which one was picked (``st_folium``'s ``last_active_drawing``).
Flows are arrows from the practice patients leave to the practice they join, width growing
with patients; neighbourhoods are shaded by the change in resident containment.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pyproj import Transformer

from boundaries.grouping import Grouping
from geo.model import Place
from placekit.render.maps import (
    _feature_collection,
    _fm,
    _geojson,
    _html_legend,
    _title,
    base_map,
    display_frame,
    escape_frame,
    neighbourhood_polygons,
)
from placekit.settings import DISPLAY_CRS, WORKING_CRS

if TYPE_CHECKING:
    import folium

__all__ = ["whatif_map", "flow_arrows", "MAX_ARROWS"]

#: Most arrows drawn (the largest flows); the tables hold every one.
MAX_ARROWS = 40
_CHANGE_COLOURS = [("#b2182b", "−2 points or more"), ("#ef8a62", "−0.5 to −2"), ("#f7f7f7", "within ±0.5"), ("#67a9cf", "+0.5 to +2"),
                   ("#2166ac", "+2 points or more")]  # fmt: skip
_TO_DISPLAY = Transformer.from_crs(WORKING_CRS, DISPLAY_CRS, always_xy=True)


def flow_arrows(flows: pd.DataFrame, xy: pd.DataFrame, *, max_arrows: int = MAX_ARROWS) -> dict:
    """Return a GeoJSON FeatureCollection of arrows, one per flow (``from``, ``to``, ``patients``), the largest first.

    `xy` gives ``x``, ``y`` (working CRS) per practice code. Each arrow is a line with a
    head of two short strokes at its end (plain lines: no map plugin, so it draws offline).
    """
    f = flows[flows["from"].isin(xy.index) & flows["to"].isin(xy.index) & (flows["from"] != flows["to"])]
    f = f.sort_values("patients", ascending=False).head(max_arrows)
    top = float(f["patients"].max()) if len(f) else 1.0
    feats = []
    for a, b, n in zip(f["from"], f["to"], f["patients"], strict=True):
        (x0, y0), (x1, y1) = xy.loc[a, ["x", "y"]].to_numpy(float), xy.loc[b, ["x", "y"]].to_numpy(float)
        length = float(np.hypot(x1 - x0, y1 - y0)) or 1.0
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        head = min(250.0, 0.3 * length)
        wings = [(x1 - head * (ux * np.cos(t) - uy * np.sin(t)), y1 - head * (uy * np.cos(t) + ux * np.sin(t))) for t in (0.45, -0.45)]
        lines = [[(x0, y0), (x1, y1)], [wings[0], (x1, y1), wings[1]]]
        coords = [[list(_TO_DISPLAY.transform(x, y)) for x, y in line] for line in lines]
        feats.append({"type": "Feature", "geometry": {"type": "MultiLineString", "coordinates": coords},
                      "properties": {"label": f"{html.escape(str(a))} → {html.escape(str(b))}: {int(n):,} patients",
                                     "weight": 1.5 + 8 * (float(n) / top) ** 0.5}})  # fmt: skip
    return {"type": "FeatureCollection", "features": feats}


def _points(fm, frame: pd.DataFrame, *, key: str, name: str, style: dict, label) -> object:
    """Return one GeoJSON layer of circle markers; each feature carries `key` (its code) and a label."""
    lon, lat = _TO_DISPLAY.transform(frame["x"].to_numpy(float), frame["y"].to_numpy(float))
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
              "properties": {key: str(code), "label": html.escape(label(code, row))}}
             for (code, row), x, y in zip(frame.iterrows(), lon, lat, strict=True)]  # fmt: skip
    return fm.GeoJson({"type": "FeatureCollection", "features": feats}, name=name, marker=fm.CircleMarker(**style),
                      style_function=lambda f: style, tooltip=fm.GeoJsonTooltip(fields=["label"], labels=False))  # fmt: skip


def _shade(fm, place: Place, grouping: Grouping, containment: pd.DataFrame | None, m: folium.Map) -> None:
    """Draw the neighbourhoods, shaded by the change in resident containment when a what-if has run."""
    nbs = neighbourhood_polygons(place, grouping).reset_index()
    cols, aliases = ["neighbourhood"], ["Neighbourhood"]
    if containment is not None:
        ch = containment.set_index("neighbourhood")
        nbs["change"] = nbs["neighbourhood"].map(ch["resident_containment_change"]).round(2)
        nbs["after"] = nbs["neighbourhood"].map(ch["resident_containment_after"]).round(1)
        nbs["colour"] = [_CHANGE_COLOURS[int(np.digitize(v, [-2, -0.5, 0.5, 2]))][0] if pd.notna(v) else "#ffffff" for v in nbs["change"]]
        cols, aliases = (
            ["neighbourhood", "after", "change", "colour"],
            ["Neighbourhood", "Resident containment after, %", "Change, points", ""],
        )
    d = _feature_collection(display_frame(escape_frame(nbs, ["neighbourhood"]), tolerance=20), cols)
    style = (lambda f: {"fillColor": f["properties"]["colour"], "color": "#222", "weight": 1.5, "fillOpacity": 0.5}) if containment is not None \
        else (lambda f: {"color": "#222", "weight": 1.5, "fill": False})  # fmt: skip
    _geojson(fm, d, name="Neighbourhoods", style=style, fields=cols[:3], aliases=aliases[:3]).add_to(m)
    if containment is not None:
        _html_legend(m, fm, "Change in resident<br>containment", _CHANGE_COLOURS)


def whatif_map(place: Place, grouping: Grouping, practices: pd.DataFrame, *, closed: list[str] = (), merged: tuple[str, str] | None = None,
               sites: pd.DataFrame | None = None, new: pd.DataFrame | None = None, flows: pd.DataFrame | None = None,
               containment: pd.DataFrame | None = None, offline: bool = True, title: str = "") -> folium.Map:  # fmt: skip
    """Map a what-if: the place's practices (closed in red, merged in orange), sites to open at, the new practice and the flows.

    Parameters
    ----------
    practices
        Index practice code; ``x``, ``y`` (working CRS), ``practice_name``, ``list_size``, ``in_place``.
    sites
        Index site id; ``x``, ``y``, ``name``, ``site_type``: where a new practice may open (white dots).
    new
        The new practice (index ``NEW``; ``x``, ``y``, ``practice_name``, ``list_size``).
    flows
        ``from``, ``to``, ``patients``: drawn as arrows (the largest :data:`MAX_ARROWS`).
    containment
        Per neighbourhood ``resident_containment_after`` and ``_change`` (points), to shade.
    """
    fm = _fm(offline)
    m = base_map(place.wards, offline=offline)
    _title(m, title or f"{place.label}: what if practices close or open", demo=place.demo, fm=fm)
    _shade(fm, place, grouping, containment, m)
    if sites is not None and len(sites):
        _points(fm, sites, key="site_id", name="Sites to open at", style={"radius": 3.5, "color": "#555", "weight": 1, "fillColor": "#ffffff",
                "fillOpacity": 0.95}, label=lambda c, r: f"{c} {r['name']} ({r['site_type']})").add_to(m)  # fmt: skip
    inside = practices[practices["in_place"]]
    gone = set(closed) | ({merged[1]} if merged else set())
    label = lambda c, r: f"{c} {r['practice_name']}: {int(r['list_size']):,} patients"  # noqa: E731
    for name, sel, fill in (("Practices", ~inside.index.isin(gone | set(merged or ())), "#0b3d91"),
                            ("Practices merged (premises kept)", inside.index.isin([merged[0]] if merged else []), "#ff7f00"),
                            ("Practices closed", inside.index.isin(list(gone)), "#d7191c")):  # fmt: skip
        part = inside[sel]
        if len(part):
            radius = 5 if name == "Practices" else 8
            _points(fm, part, key="practice_code", name=name, style={"radius": radius, "color": "#ffffff", "weight": 1.5, "fillColor": fill,
                    "fillOpacity": 0.95}, label=label).add_to(m)  # fmt: skip
    if flows is not None and len(flows):
        beyond = practices[~practices["in_place"] & practices.index.isin(set(flows["from"]) | set(flows["to"]))]
        if len(beyond):
            _points(fm, beyond, key="beyond_code", name="Practices beyond the place", style={"radius": 4, "color": "#ffffff", "weight": 1,
                    "fillColor": "#777777", "fillOpacity": 0.95}, label=label).add_to(m)  # fmt: skip
        xy = pd.concat([practices[["x", "y"]], new[["x", "y"]]]) if new is not None else practices[["x", "y"]]
        fm.GeoJson(flow_arrows(flows, xy), name="Predicted flows",
                   style_function=lambda f: {"color": "#6a3d9a", "weight": f["properties"]["weight"], "opacity": 0.75},
                   tooltip=fm.GeoJsonTooltip(fields=["label"], labels=False)).add_to(m)  # fmt: skip
    if new is not None:
        _points(fm, new, key="practice_code", name="New practice", style={"radius": 11, "color": "#1a9850", "weight": 3, "fillColor": "#ffffff",
                "fillOpacity": 0.9}, label=lambda c, r: f"NEW {r['practice_name']}: up to {int(r['list_size']):,} patients").add_to(m)  # fmt: skip
    fm.LayerControl(collapsed=False).add_to(m)
    return m
