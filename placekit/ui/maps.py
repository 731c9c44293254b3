"""Maps drawn by the app.

The Redraw ward map is a small SVG component drawn in the page itself (``ward_map.js``):
no iframe, no tiles, no script from elsewhere, so it draws offline and a click lands on
the ward under the pointer whatever the scroll position. The ward shapes are prepared
once per place (coverage-simplified, so neighbours still share their edges) and are a
few kilobytes; each rerun sends only colours, the selection, the outlines and labels.
Practices are drawn as dots over the wards (area in proportion to their registered
patients), filled with their team's colour; their positions are prepared once per place.
Neighbourhood outlines and label points are cached by their set of wards, in a bounded
cache, so a reassignment dissolves only the neighbourhoods that changed.

A plan built from LSOAs (or a ward plan with the LSOA layer switched on) is drawn from the
place's LSOAs: their shapes (:func:`lsoa_shapes`, in the same map units as the wards) are
filled with their neighbourhood's colour, the ward boundaries are drawn over them as thin
lines, and the neighbourhood outlines are dissolved from the LSOAs. The map then offers a
third kind of selection, LSOAs; a ward picked on it stands for every LSOA fitted to it.
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
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

__all__ = ["WardShapes", "ward_shapes", "lsoa_shapes", "PracticePoints", "practice_points", "neighbourhood_shape", "map_layers", "ward_map", "site_points",
           "PALETTE",
           "OUTLINE_CACHE_SIZE"]  # fmt: skip

#: Qualitative colours: Paul Tol's colour-blind-safe "muted" scheme, five of his "light" ones, then ten more chosen so
#: that any two of the 24 differ by at least 12 (CIE94), for plans of many neighbourhoods; past 24, ``extra_colour``.
#: Labels name every neighbourhood on the map, so colour is never the only cue.
PALETTE = ["#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933", "#AA4499",
           "#EE8866", "#BBCC33", "#FFAABB", "#77AADD", "#DDDDDD",
           "#555555", "#6B6ECF", "#CC3311", "#74C476", "#E377C2", "#8C6D31", "#4477AA", "#C49C94", "#004488", "#2CA02C"]  # fmt: skip

#: How many neighbourhood outlines (one per distinct set of wards) are kept.
OUTLINE_CACHE_SIZE = 256

_UNIT = 10.0  # metres per map unit: 10 m is finer than a screen pixel at city scale
_SIMPLIFY = 25.0  # metres

#: Radius of the largest practice's dot, and the smallest any dot gets (screen pixels, whatever the zoom).
DOT_MAX_PX, DOT_MIN_PX = 8.0, 2.5
#: Practices whose premises are closer than this (metres) share a building: their dots are set side by side.
SHARED_PREMISES_M = 30.0

_HTML = """<div class="pk-map" data-version="0" data-selected="" data-kind="ward">
<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Ward map"></svg>
<div class="tools"><span class="kind" title="What the lasso picks (a click picks what is under the pointer)">
<button class="k-ward on" data-kind="ward">Wards</button><button class="k-lsoa" data-kind="lsoa" hidden>LSOAs</button>
<button class="k-practice" data-kind="practice">Practices</button></span>
<button class="lasso-btn" title="Draw round wards or practices to add them (or hold Shift and drag)">Lasso</button>
<button class="zin-btn" title="Zoom in">+</button><button class="zout-btn" title="Zoom out">−</button>
<button class="fit-btn" title="Show the whole place">Fit</button><button class="clear-btn" aria-label="Clear selection" title="Clear selection">Clear</button></div>
<div class="status" aria-live="polite"></div></div>"""

_CSS = """
.pk-map{position:relative;width:100%;border:1px solid #d0d0d0;border-radius:6px;background:#f6f6f3;user-select:none;touch-action:none;overflow:hidden}
.pk-map svg{width:100%;height:100%;display:block;cursor:pointer}
path.ward{stroke:#fff;stroke-width:.8;vector-effect:non-scaling-stroke;fill-opacity:.8}
path.ward:hover{fill-opacity:1;stroke:#333}
path.ward.locked{fill-opacity:.35;cursor:not-allowed}
path.ward.moved{stroke:#b00020;stroke-width:1.6;stroke-dasharray:5 3}
.pk-map.lsoa-mode path.ward{fill:none!important;stroke:#333;stroke-width:.9;pointer-events:none}
.pk-map.lsoa-mode path.ward.moved{stroke:#333;stroke-width:.9;stroke-dasharray:none}
path.lsoa{stroke:#fff;stroke-width:.4;vector-effect:non-scaling-stroke;fill-opacity:.8}
path.lsoa:hover{fill-opacity:1;stroke:#333}
path.lsoa.locked{fill-opacity:.35;cursor:not-allowed}
path.lsoa.moved{stroke:#b00020;stroke-width:1.3;stroke-dasharray:4 2}
path.outline{fill:none;stroke:#222;stroke-width:2.2;vector-effect:non-scaling-stroke;pointer-events:none}
path.sel{fill:#fff;fill-opacity:.6;stroke:#000;stroke-width:3.5;vector-effect:non-scaling-stroke;pointer-events:none}
circle.practice{stroke:#1a1a1a;stroke-width:1;vector-effect:non-scaling-stroke;fill-opacity:.95}
circle.practice:hover{stroke-width:2.5}
circle.practice.moved{stroke:#b00020;stroke-width:2;stroke-dasharray:3 2}
circle.practice.locked{fill-opacity:.35;stroke-opacity:.5;cursor:not-allowed}
circle.practice.is-sel{stroke:#000;stroke-width:4;stroke-dasharray:none}
text.label{font:600 11px system-ui,sans-serif;text-anchor:middle;paint-order:stroke;stroke:#fff;stroke-width:3px;fill:#111;pointer-events:none}
text.label .fig{font-weight:400}
text.label.warn .fig{fill:#b00020;font-weight:600}
polyline.lasso{fill:rgba(0,0,0,.06);stroke:#000;stroke-dasharray:4 3;pointer-events:none}
.tools{position:absolute;top:6px;right:6px;display:flex;gap:4px}
.tools button{font:12px system-ui,sans-serif;padding:2px 8px;border:1px solid #999;border-radius:4px;background:#fff;cursor:pointer}
.tools button.on{background:#222;color:#fff}
.tools .kind{display:flex;margin-right:4px}
.tools .kind button{border-radius:0}
.tools .kind button:first-child{border-radius:4px 0 0 4px}
.tools .kind button:last-child{border-radius:0 4px 4px 0}
.tools .kind button+button{border-left:none}
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


def _shapes(areas: gpd.GeoDataFrame, bounds: np.ndarray) -> WardShapes:
    """Return drawable shapes of `areas` (coverage-simplified) in the map units of a place whose extent is `bounds`."""
    geoms = shapely.coverage_simplify(areas.geometry.values, _SIMPLIFY)
    geoms = dict(zip(areas.index, shapely.make_valid(geoms), strict=True))
    b = bounds
    shell = WardShapes("", {}, {}, {}, (b[2] - b[0]) / _UNIT, (b[3] - b[1]) / _UNIT, geoms, (b[0], b[3]))
    paths = {c: shell.path(g) for c, g in geoms.items()}
    points = {c: shell.point(areas.geometry[c]) for c in geoms}
    names = {c: str(n) for c, n in (areas["name"] if "name" in areas else pd.Series(areas.index, index=areas.index)).items()}
    digest = hashlib.sha1(repr(sorted(paths.items())).encode()).hexdigest()[:12]
    return WardShapes(digest, paths, points, names, shell.width, shell.height, geoms, shell.origin)


@st.cache_resource(show_spinner=False, max_entries=4)
def _ward_shapes(root: str, _wards: gpd.GeoDataFrame) -> WardShapes:
    return _shapes(_wards, _wards.total_bounds)


def ward_shapes(root: str, wards: gpd.GeoDataFrame) -> WardShapes:
    """Return the drawable ward shapes of the place at data root `root` (cached per root)."""
    return _ward_shapes(root, wards)


@st.cache_resource(show_spinner=False, max_entries=4)
def _lsoa_shapes(root: str, wards_id: str, _lsoas: gpd.GeoDataFrame, _wards: gpd.GeoDataFrame) -> WardShapes:
    return _shapes(_lsoas, _wards.total_bounds)


def lsoa_shapes(root: str, lsoas: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> WardShapes:
    """Return the drawable LSOA shapes of the place at `root`, in the map units of its ward shapes (cached per root)."""
    return _lsoa_shapes(root, ward_shapes(root, wards).id, lsoas, wards)


@dataclass(frozen=True, eq=False)
class PracticePoints:
    """Practices of one place, ready to draw as dots: positions in the map units of :class:`WardShapes`.

    Attributes
    ----------
    id
        A hash of the points (the component rebuilds its dots only when it changes).
    codes, xy, radius, names
        Practice codes (largest list first, so small dots are drawn over big ones), ``[x, y]``
        per practice, dot radius in screen pixels (area in proportion to the list), names.
    offset
        ``[dx, dy]`` in screen pixels: practices sharing premises (within :data:`SHARED_PREMISES_M`)
        are set round their common point, so each dot can be clicked at any zoom.
    """

    id: str
    codes: list[str]
    xy: list[list[float]]
    radius: list[float]
    names: list[str]
    offset: list[list[float]]

    def __hash__(self) -> int:
        return hash(self.id)

    def __eq__(self, other) -> bool:
        return isinstance(other, PracticePoints) and self.id == other.id


@st.cache_resource(show_spinner=False, max_entries=4)
def _practice_points(root: str, shapes_id: str, _shapes: WardShapes, _practices: pd.DataFrame) -> PracticePoints:
    shapes = _shapes
    df = _practices.dropna(subset=["x", "y"]).sort_values("list_size", ascending=False, kind="stable")
    x = (df["x"].to_numpy() - shapes.origin[0]) / _UNIT
    y = (shapes.origin[1] - df["y"].to_numpy()) / _UNIT
    size = df["list_size"].to_numpy(dtype=float)
    radius = np.clip(DOT_MAX_PX * np.sqrt(size / max(size.max(initial=0), 1)), DOT_MIN_PX, DOT_MAX_PX)
    codes = [str(c) for c in df.index]
    xy = [[round(float(a), 1), round(float(b), 1)] for a, b in zip(x, y, strict=True)]
    names = [str(n) for n in df["practice_name"]]
    offset = _side_by_side(np.column_stack([x, y]) * _UNIT, radius)
    digest = hashlib.sha1(repr((shapes.id, codes, xy, radius.round(2).tolist(), offset)).encode()).hexdigest()[:12]
    return PracticePoints(digest, codes, xy, [round(float(r), 2) for r in radius], names, offset)


def _side_by_side(xy_m: np.ndarray, radius: np.ndarray) -> list[list[float]]:
    """Return screen-pixel offsets that set dots of practices sharing premises round their common point (others: [0, 0])."""
    out = np.zeros((len(xy_m), 2))
    if len(xy_m) > 1:
        pairs = cKDTree(xy_m).query_pairs(SHARED_PREMISES_M, output_type="ndarray")
        _, group = connected_components(coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(xy_m),) * 2),
                                        directed=False)  # fmt: skip
        for g in np.unique(group):
            members = np.flatnonzero(group == g)
            if len(members) < 2:
                continue
            angle = 2 * np.pi * np.arange(len(members)) / len(members) - np.pi / 2
            reach = radius[members].max()
            out[members] = np.column_stack([np.cos(angle), np.sin(angle)]) * reach
    return [[round(float(a), 1), round(float(b), 1)] for a, b in out]


def practice_points(root: str, shapes: WardShapes, practices: pd.DataFrame) -> PracticePoints:
    """Return the drawable practice dots of the place at data root `root` (cached per root and shapes).

    Parameters
    ----------
    practices
        Index practice code; ``practice_name``, ``list_size`` (registered patients), ``x``, ``y``
        (premises in the working CRS); practices without a position are left out.
    """
    return _practice_points(root, shapes.id, shapes, practices)


@lru_cache(maxsize=OUTLINE_CACHE_SIZE)
def _outline(shapes: WardShapes, wards: frozenset[str]) -> tuple[str, list[float]]:
    u = shapely.union_all([shapes.geoms[w] for w in wards])
    return shapes.path(u), shapes.point(u)


def neighbourhood_shape(shapes: WardShapes, wards: frozenset[str]) -> tuple[str, list[float]]:
    """Return the outline (SVG path) and label point of the neighbourhood made of `wards` (bounded cache)."""
    return _outline(shapes, wards)


def map_layers(
    shapes: WardShapes,
    ward_to_neighbourhood: Mapping[str, str],
    *,
    colours: Mapping[str, str],
    labels: Sequence[dict],
    tips: Mapping[str, str],
    moved: Sequence[str] = (),
    practice_teams: Mapping[str, str] | None = None,
    practice_tips: Mapping[str, str] | None = None,
    practices_moved: Sequence[str] = (),
    lsoa_to_neighbourhood: Mapping[str, str] | None = None,
) -> dict:
    """Return what the map draws of one grouping: each unit's neighbourhood, colour, tooltip and moved mark, outlines and labels.

    Parameters
    ----------
    shapes
        The shapes the outlines are dissolved from: the wards, or the LSOAs when `lsoa_to_neighbourhood` is given.
    colours
        Neighbourhood → fill colour.
    labels
        ``{"wards": frozenset, "lines": [str, ...], "full": [str, ...], "warn": bool}`` per neighbourhood:
        ``wards`` the codes of `shapes` it is made of, ``lines`` at the whole-place view, ``full`` once zoomed in.
    tips
        Ward code (LSOA code, with `lsoa_to_neighbourhood`) → tooltip text after its name.
    moved
        Wards (LSOAs, with `lsoa_to_neighbourhood`) drawn as moved from the origin.
    practice_teams, practice_tips, practices_moved
        Each practice's team (its dot takes the team's colour), its tooltip, and the practices drawn as moved.
    lsoa_to_neighbourhood
        Every LSOA's neighbourhood: the map is drawn from the LSOAs (a plan built from LSOAs, or the LSOA layer on).
    """
    teams = practice_teams or {}
    outlines, labs = _outlines_and_labels(shapes, labels)
    lsoas = dict(lsoa_to_neighbourhood) if lsoa_to_neighbourhood is not None else None
    return {
        "nb": dict(ward_to_neighbourhood),
        "fill": {w: colours.get(n, "#cccccc") for w, n in ward_to_neighbourhood.items()} if lsoas is None else {},
        "lnb": lsoas or {},
        "lfill": {c: colours.get(n, "#cccccc") for c, n in lsoas.items()} if lsoas is not None else {},
        "tips": dict(tips),
        "moved": list(moved),
        "pteam": dict(teams),
        "pfill": {p: colours.get(n, "#cccccc") for p, n in teams.items()},
        "ptips": dict(practice_tips or {}),
        "pmoved": list(practices_moved),
        "outlines": outlines,
        "labels": labs,
    }


def ward_map(
    shapes: WardShapes,
    layers: Mapping,
    *,
    selected: Sequence[str],
    selection_seq: int,
    locked: Sequence[str] = (),
    selected_kind: str = "ward",
    practices: PracticePoints | None = None,
    practices_locked: Sequence[str] = (),
    prepared: Mapping | None = None,
    run: int = 0,
    height: int = 540,
    key: str = "ward_map",
    on_select=None,
    lsoas: WardShapes | None = None,
    lsoa_ward: Mapping[str, str] | None = None,
    lsoas_locked: Sequence[str] = (),
    area_kind: str = "ward",
):
    """Draw the ward map with the practices as dots; return the component's result (``.select``: ``{seq, kind, codes}``).

    Parameters
    ----------
    layers
        What to draw of the working grouping, from :func:`map_layers`.
    selection_seq
        The last selection number from the map that Python has applied.
    selected_kind
        What `selected` holds: ``"ward"`` or ``"practice"`` (a selection holds one kind).
    practices, practices_locked
        The practice dots, and the practices of locked teams (not selectable).
    prepared
        The Assign the page has prepared for the current selection: ``{"target", "kind", "sel",
        "layers"`` (from :func:`map_layers`, after the move) ``, "table"`` (the neighbourhood table's
        HTML after the move) ``}``. A click on the page's Assign button draws it at once when the
        selection and the chosen target are still the ones it was prepared for; the server's run
        then draws the same again, or the truth if the assignment was refused.
    run
        A number that changes on every run, so the map redraws from the server's data even when
        nothing else changed (it undoes a prepared Assign that the server refused).
    lsoas, lsoa_ward, lsoas_locked
        The LSOA layer (:func:`lsoa_shapes`, with `layers` made with ``lsoa_to_neighbourhood``): LSOA shapes,
        each LSOA's best-fit ward (a ward picked on the map stands for its LSOAs) and the LSOAs of locked
        neighbourhoods. None: the map is drawn from the wards.
    area_kind
        What a click on the map's area picks at first when the LSOA layer is on (``"ward"`` or ``"lsoa"``);
        the map's Wards/LSOAs switch changes it.
    """
    # length: the docstring names every layer the component takes; the body is one dict
    data = {
        "geom": _geom_data(shapes),
        **layers,
        "sel": list(selected),
        "sel_seq": int(selection_seq),
        "locked": list(locked),
        "sel_kind": selected_kind,
        "pts": _points_data(practices),
        "plocked": list(practices_locked),
        "prepared": dict(prepared) if prepared else None,
        "run": int(run),
        "height": int(height),
        "lgeom": _lsoa_data(lsoas, lsoa_ward),
        "llocked": list(lsoas_locked),
        "area_kind": area_kind,
        "version": hash((tuple(sorted(layers["nb"].items())), tuple(sorted(layers["pteam"].items())), selected_kind, tuple(selected),
                         tuple(locked), tuple(sorted(layers.get("lnb", {}).items())))) & 0xFFFFFFF,
    }  # fmt: skip
    return _component(key=key, data=data, height=height, on_select_change=on_select or (lambda: None))


def _outlines_and_labels(shapes: WardShapes, labels: Sequence[dict]) -> tuple[list[str], list[dict]]:
    outlines, labs = [], []
    for lab in labels:
        path, (x, y) = neighbourhood_shape(shapes, lab["wards"])
        outlines.append(path)
        labs.append({"x": x, "y": y, "lines": list(lab["lines"]), "full": list(lab.get("full", lab["lines"])), "warn": bool(lab["warn"])})
    return outlines, labs


def _geom_data(shapes: WardShapes) -> dict:
    return {"id": shapes.id, "paths": shapes.paths, "points": shapes.points, "names": shapes.names, "width": shapes.width,
            "height": shapes.height}  # fmt: skip


def _lsoa_data(shapes: WardShapes | None, lsoa_ward: Mapping[str, str] | None) -> dict | None:
    if shapes is None:
        return None
    return {"id": shapes.id, "paths": shapes.paths, "points": shapes.points, "names": shapes.names, "ward": dict(lsoa_ward or {})}


def _points_data(points: PracticePoints | None) -> dict:
    if points is None:
        return {"id": "", "codes": [], "xy": [], "r": [], "names": [], "off": []}
    return {"id": points.id, "codes": points.codes, "xy": points.xy, "r": points.radius, "names": points.names, "off": points.offset}


def site_points(sites: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return site ids with their display coordinates, to match a click to a site."""
    s = sites.to_crs("EPSG:4326")
    return pd.DataFrame({"lat": s.geometry.y, "lng": s.geometry.x}, index=sites.index)
