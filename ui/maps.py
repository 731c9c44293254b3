"""Maps drawn by the app.

The Redraw ward map is a small SVG component drawn in the page itself (``ward_map.js``):
no iframe, no tiles, no script from elsewhere, so it draws offline and a click lands on
the ward under the pointer whatever the scroll position. The ward shapes are prepared
once per place (coverage-simplified, so neighbours still share their edges) and are a
few kilobytes; each rerun sends only colours, the selection, the outlines and labels.
Neighbourhood outlines and label points are cached by their set of wards, in a bounded
cache, so a reassignment dissolves only the neighbourhoods that changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st

__all__ = ["WardShapes", "ward_shapes", "neighbourhood_shape", "ward_map", "site_points", "PALETTE", "OUTLINE_CACHE_SIZE"]

#: Colour-blind-safe qualitative colours: Paul Tol's "muted" scheme, then three of his "light" scheme.
#: Labels name every neighbourhood on the map, so colour is never the only cue.
PALETTE = ["#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933", "#AA4499",
           "#EE8866", "#BBCC33", "#FFAABB", "#77AADD", "#DDDDDD"]  # fmt: skip

#: How many neighbourhood outlines (one per distinct set of wards) are kept.
OUTLINE_CACHE_SIZE = 256

_UNIT = 10.0  # metres per map unit: 10 m is finer than a screen pixel at city scale
_SIMPLIFY = 25.0  # metres

_HTML = """<div class="pk-map" data-version="0" data-selected="">
<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Ward map"></svg>
<div class="tools"><button class="lasso-btn" title="Draw round wards to add them (or hold Shift and drag)">Lasso</button>
<button class="zin-btn" title="Zoom in">+</button><button class="zout-btn" title="Zoom out">−</button>
<button class="fit-btn" title="Show the whole place">Fit</button><button class="clear-btn">Clear selection</button></div>
<div class="status" aria-live="polite"></div></div>"""

_CSS = """
.pk-map{position:relative;width:100%;border:1px solid #d0d0d0;border-radius:6px;background:#f6f6f3;user-select:none;touch-action:none;overflow:hidden}
.pk-map svg{width:100%;height:100%;display:block;cursor:pointer}
path.ward{stroke:#fff;stroke-width:.8;vector-effect:non-scaling-stroke;fill-opacity:.8}
path.ward:hover{fill-opacity:1;stroke:#333}
path.ward.locked{fill-opacity:.35;cursor:not-allowed}
path.ward.moved{stroke:#b00020;stroke-width:1.6;stroke-dasharray:5 3}
path.outline{fill:none;stroke:#222;stroke-width:2.2;vector-effect:non-scaling-stroke;pointer-events:none}
path.sel{fill:#fff;fill-opacity:.6;stroke:#000;stroke-width:3.5;vector-effect:non-scaling-stroke;pointer-events:none}
text.label{font:600 11px system-ui,sans-serif;text-anchor:middle;paint-order:stroke;stroke:#fff;stroke-width:3px;fill:#111;pointer-events:none}
text.label .fig{font-weight:400}
text.label.warn .fig{fill:#b00020;font-weight:600}
polyline.lasso{fill:rgba(0,0,0,.06);stroke:#000;stroke-dasharray:4 3;pointer-events:none}
.tools{position:absolute;top:6px;right:6px;display:flex;gap:4px}
.tools button{font:12px system-ui,sans-serif;padding:2px 8px;border:1px solid #999;border-radius:4px;background:#fff;cursor:pointer}
.tools button.on{background:#222;color:#fff}
.status{position:absolute;left:6px;bottom:6px;font:12px system-ui,sans-serif;background:rgba(255,255,255,.9);padding:0 4px}
"""

_component = st.components.v2.component(
    "placekit_ward_map", html=_HTML, css=_CSS, js=(Path(__file__).resolve().parent / "ward_map.js").read_text(encoding="utf-8")
)


@dataclass(frozen=True, eq=False)
class WardShapes:
    """Ward shapes of one place, ready to draw: SVG paths in map units (10 m, y down).

    Attributes
    ----------
    id
        A hash of the shapes (the component rebuilds its paths only when it changes).
    paths, points, names
        Ward code → SVG path, label point ``[x, y]``, ward name.
    width, height
        The place's extent in map units.
    geoms
        Ward code → simplified shape in the working CRS (for outlines).
    origin
        ``(min x, max y)`` of the place in the working CRS.
    """

    id: str
    paths: dict[str, str]
    points: dict[str, list[float]]
    names: dict[str, str]
    width: float
    height: float
    geoms: dict[str, object]
    origin: tuple[float, float]

    def __hash__(self) -> int:  # cached by the shapes' hash, not by their (unhashable) dicts
        return hash(self.id)

    def __eq__(self, other) -> bool:
        return isinstance(other, WardShapes) and self.id == other.id

    def to_xy(self, geom) -> np.ndarray:
        """Return the coordinates of a shape's rings in map units."""
        c = shapely.get_coordinates(geom)
        return np.column_stack([(c[:, 0] - self.origin[0]) / _UNIT, (self.origin[1] - c[:, 1]) / _UNIT])

    def path(self, geom) -> str:
        """Return an SVG path (``M x y x y … Z`` per ring) of a polygon or multipolygon."""
        out = []
        for poly in shapely.get_parts(geom):
            for ring in [poly.exterior, *poly.interiors]:
                xy = np.round(self.to_xy(ring)[:-1]).astype(int)
                out.append("M" + " ".join(f"{x} {y}" for x, y in xy) + "Z")
        return "".join(out)

    def point(self, geom) -> list[float]:
        """Return a label point of a shape in map units (inside its largest part)."""
        parts = shapely.get_parts(geom)
        big = parts[int(np.argmax(shapely.area(parts)))]
        return [round(float(v), 1) for v in self.to_xy(shapely.point_on_surface(big))[0]]


@st.cache_resource(show_spinner=False, max_entries=4)
def _ward_shapes(root: str, _wards: gpd.GeoDataFrame) -> WardShapes:
    geoms = shapely.coverage_simplify(_wards.geometry.values, _SIMPLIFY)
    geoms = dict(zip(_wards.index, shapely.make_valid(geoms), strict=True))
    b = _wards.total_bounds
    shell = WardShapes("", {}, {}, {}, (b[2] - b[0]) / _UNIT, (b[3] - b[1]) / _UNIT, geoms, (b[0], b[3]))
    paths = {c: shell.path(g) for c, g in geoms.items()}
    points = {c: shell.point(_wards.geometry[c]) for c in geoms}
    names = {c: str(n) for c, n in _wards["name"].items()}
    digest = hashlib.sha1(repr(sorted(paths.items())).encode()).hexdigest()[:12]
    return WardShapes(digest, paths, points, names, shell.width, shell.height, geoms, shell.origin)


def ward_shapes(root: str, wards: gpd.GeoDataFrame) -> WardShapes:
    """Return the drawable ward shapes of the place at data root `root` (cached per root)."""
    return _ward_shapes(root, wards)


@lru_cache(maxsize=OUTLINE_CACHE_SIZE)
def _outline(shapes: WardShapes, wards: frozenset[str]) -> tuple[str, list[float]]:
    u = shapely.union_all([shapes.geoms[w] for w in wards])
    return shapes.path(u), shapes.point(u)


def neighbourhood_shape(shapes: WardShapes, wards: frozenset[str]) -> tuple[str, list[float]]:
    """Return the outline (SVG path) and label point of the neighbourhood made of `wards` (bounded cache)."""
    return _outline(shapes, wards)


def ward_map(
    shapes: WardShapes,
    ward_to_neighbourhood: Mapping[str, str],
    *,
    colours: Mapping[str, str],
    labels: Sequence[dict],
    tips: Mapping[str, str],
    selected: Sequence[str],
    selection_seq: int,
    locked: Sequence[str] = (),
    moved: Sequence[str] = (),
    height: int = 540,
    key: str = "ward_map",
    on_select=None,
):
    """Draw the ward map; return the component's result (``.select`` holds a click's ``{seq, codes}``).

    Parameters
    ----------
    colours
        Neighbourhood → fill colour.
    labels
        ``{"wards": frozenset, "lines": [str, ...], "full": [str, ...], "warn": bool}`` per neighbourhood:
        ``lines`` at the whole-place view, ``full`` once zoomed in.
    tips
        Ward code → tooltip text after the ward's name.
    selection_seq
        The last selection number from the map that Python has applied.
    """
    outlines, labs = [], []
    for lab in labels:
        path, (x, y) = neighbourhood_shape(shapes, lab["wards"])
        outlines.append(path)
        labs.append({"x": x, "y": y, "lines": list(lab["lines"]), "full": list(lab.get("full", lab["lines"])), "warn": bool(lab["warn"])})
    data = {
        "geom": {
            "id": shapes.id,
            "paths": shapes.paths,
            "points": shapes.points,
            "names": shapes.names,
            "width": shapes.width,
            "height": shapes.height,
        },  # fmt: skip
        "nb": dict(ward_to_neighbourhood),
        "fill": {w: colours.get(n, "#cccccc") for w, n in ward_to_neighbourhood.items()},
        "tips": dict(tips),
        "sel": list(selected),
        "sel_seq": int(selection_seq),
        "locked": list(locked),
        "moved": list(moved),
        "outlines": outlines,
        "labels": labs,
        "height": int(height),
        "version": hash((tuple(sorted(ward_to_neighbourhood.items())), tuple(selected), tuple(locked))) & 0xFFFFFFF,
    }
    return _component(key=key, data=data, height=height, on_select_change=on_select or (lambda: None))


def site_points(sites: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return site ids with their display coordinates, to match a click to a site."""
    s = sites.to_crs("EPSG:4326")
    return pd.DataFrame({"lat": s.geometry.y, "lng": s.geometry.x}, index=sites.index)
