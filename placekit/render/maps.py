"""Maps (folium). The only module that reprojects to EPSG:4326, and only to draw.

Standalone HTML maps are built with ``offlinefolium`` (Leaflet inlined), so they draw
with no internet; maps for the app use plain ``folium`` with assets the app serves.
Every user-supplied string is HTML-escaped before it reaches a tooltip or popup.
folium and branca are imported when a map is drawn, not when this module is, so a
command that draws nothing does not pay for them.
"""

from __future__ import annotations

import colorsys
import html
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from boundaries.flows import OUTSIDE, UNKNOWN
from boundaries.grouping import Grouping
from boundaries.lsoa_plans import neighbourhood_areas
from geo.model import Place
from placekit.settings import DISPLAY_CRS

if TYPE_CHECKING:
    import folium

__all__ = [
    "display_frame",
    "escape_frame",
    "neighbourhood_colours",
    "extra_colour",
    "colour_difference",
    "base_map",
    "neighbourhood_polygons",
    "fit_on_resize",
    "place_map",
    "flow_map",
    "hubs_map",
    "site_catchment_map",
    "neighbourhood_map",
    "profile_map",
    "ASSET_COLOURS",
    "standalone_html",
    "save_map",
    "PALETTE",
    "LOCALITY_COLOURS",
]

#: Qualitative colours for neighbourhoods: 24 distinct (CIE94 colour difference at least 9 between any two), the first eight
#: colour-blind aware (ColorBrewer Dark2), then Paired and Tableau colours; past 24, :func:`extra_colour`.
PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
           "#1f78b4", "#b2df8a", "#fb9a99", "#cab2d6", "#ff7f00", "#6a3d9a", "#b15928", "#a6cee3",
           "#e7cb94", "#663333", "#bbbbbb", "#d6616b", "#004488", "#ce6dbd", "#17becf", "#637939"]  # fmt: skip
#: Dark outline colours for localities (past 12, :func:`extra_colour`).
LOCALITY_COLOURS = ["#08306b", "#7f2704", "#00441b", "#3f007d", "#67000d", "#252525",
                    "#005a5a", "#6a5d00", "#8c0050", "#1f4e9c", "#5b3a1a", "#3a5f0b"]  # fmt: skip
_IMD_COLOURS = ["#a50026", "#d73027", "#f46d43", "#fdae61", "#fee08b", "#d9ef8b", "#a6d96a", "#66bd63", "#1a9850", "#006837"]
_TIME_BANDS = [0, 5, 10, 15, 20, 30, 45, 1e9]
_TIME_COLOURS = ["#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027", "#7f0000"]
_TIME_LABELS = ["<5", "5–10", "10–15", "15–20", "20–30", "30–45", "45+"]


def _fm(offline: bool) -> ModuleType:
    """Return the folium module to build with: ``offlinefolium`` (assets inlined) or plain ``folium``."""
    if offline:
        import offlinefolium as fm
    else:
        import folium as fm
    return fm


def _colormap() -> ModuleType:
    import branca.colormap as cm

    return cm


def escape_frame(df: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Return a copy with the string `columns` HTML-escaped (for tooltips and popups)."""
    out = df.copy()
    for c in columns:
        if c in out:
            out[c] = out[c].map(lambda v: html.escape(str(v)) if v is not None and not (isinstance(v, float) and np.isnan(v)) else "")
    return out


def display_frame(gdf: gpd.GeoDataFrame, *, tolerance: float = 15.0) -> gpd.GeoDataFrame:
    """Return `gdf` simplified by `tolerance` metres (working CRS) and reprojected for display."""
    g = gdf.copy()
    if tolerance and g.geom_type.isin(["Polygon", "MultiPolygon"]).any():
        g["geometry"] = g.geometry.simplify(tolerance, preserve_topology=True)
    return g.to_crs(DISPLAY_CRS)


def neighbourhood_colours(neighbourhoods: Iterable[str]) -> dict[str, str]:
    """Return a distinct colour for each neighbourhood, stable in the order given (:data:`PALETTE`, then :func:`extra_colour`)."""
    return {n: PALETTE[i] if i < len(PALETTE) else extra_colour(i - len(PALETTE)) for i, n in enumerate(neighbourhoods)}


def colour_difference(a: str, b: str) -> float:
    """Return how different two ``#rrggbb`` colours look: the CIE76 distance in CIELAB (about 2 is just noticeable)."""

    def lab(h: str) -> np.ndarray:
        rgb = np.array([int(h[i : i + 2], 16) / 255 for i in (1, 3, 5)])
        rgb = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
        xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb / [0.95047, 1.0, 1.08883]
        f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
        return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])

    return float(np.linalg.norm(lab(a) - lab(b)))


def extra_colour(i: int) -> str:
    """Return the `i`-th colour past a palette: hues a golden angle apart, in two lightnesses, so none repeats (for 24+ neighbourhoods)."""
    h, light = (i * 137.508 + 15) % 360 / 360, (0.42, 0.68)[i % 2]
    r, g, b = colorsys.hls_to_rgb(h, light, 0.55)
    return f"#{round(255 * r):02x}{round(255 * g):02x}{round(255 * b):02x}"


def _title(m: folium.Map, text: str, *, demo: bool, fm: ModuleType) -> None:
    badge = (
        '<span style="background:#b00020;color:white;padding:2px 6px;border-radius:3px;margin-left:6px">DEMO DATA</span>' if demo else ""
    )
    box = (
        # Wraps before the layer control in the top-right corner, so both stay readable in a half-width map at 1366x768.
        f'<div style="position:fixed;top:8px;left:50px;max-width:calc(100% - 300px);z-index:9999;background:white;padding:6px 10px;'
        f'border:1px solid #999;border-radius:4px;font:14px sans-serif">{html.escape(text)}{badge}</div>'
    )
    m.get_root().html.add_child(fm.Element(box))


def _html_legend(m: folium.Map, fm: ModuleType, title: str, rows: Iterable[tuple[str, str]]) -> None:
    """Add a small legend in the bottom-right corner: `title` (HTML) over one colour swatch and label per row.

    Plain HTML, not branca's colour scale, which loads d3 from a CDN (a blank map offline) and
    spans the top of a narrow map.
    """
    body = "".join(f'<div><span style="background:{c};width:14px;height:10px;display:inline-block;margin-right:4px"></span>{lab}</div>'
                   for c, lab in rows)  # fmt: skip
    m.get_root().html.add_child(fm.Element(
        '<div style="position:fixed;bottom:30px;right:10px;z-index:9999;background:white;padding:6px;border:1px solid #999;'
        f'font:12px sans-serif"><b>{title}</b>{body}</div>'))  # fmt: skip


# Wait for the Leaflet map object, then refit it to its bounds whenever its box changes size (until the user moves it).
_FIT_JS = """(function wait(n) { var map = window[__MAP__];
  if (!map || !map.getContainer) { if (n < 200) setTimeout(function () { wait(n + 1); }, 50); return; }
  var box = map.getContainer(), last = '', user = false;
  map.on('dragstart', function () { user = true; });
  box.addEventListener('wheel', function () { user = true; });
  new ResizeObserver(function () { var k = box.clientWidth + 'x' + box.clientHeight;
    if (user || !box.clientWidth || !box.clientHeight || k === last) return;
    last = k; map.invalidateSize(); map.fitBounds(__BOUNDS__); }).observe(box);
})(0);"""


def fit_on_resize(m: folium.Map, bounds: list[list[float]], *, offline: bool = True) -> None:
    """Fit `m` to `bounds` (``[[south, west], [north, east]]``) again whenever its box changes size.

    Leaflet fits a map to the size of its box when the page loads. A map in a hidden tab
    (size 0: it opens at world zoom) or in a frame still being laid out (the bottom is cut
    off) is fitted to the wrong size; refitting on resize fixes both. Stops once the user
    has dragged or zoomed the map.
    """
    fm = _fm(offline)
    bounds_js = json.dumps([[float(v) for v in pair] for pair in bounds])
    js = _FIT_JS.replace("__MAP__", json.dumps(m.get_name())).replace("__BOUNDS__", bounds_js)
    m.get_root().script.add_child(fm.Element(js))


def base_map(bounds_gdf: gpd.GeoDataFrame, *, offline: bool = True, tiles: str | None = None) -> folium.Map:
    """Return an empty map fitted to `bounds_gdf` (and refitted when its box is resized), plain background unless `tiles` is given."""
    fm = _fm(offline)
    b = bounds_gdf.to_crs(DISPLAY_CRS).total_bounds
    m = fm.Map(location=[(b[1] + b[3]) / 2, (b[0] + b[2]) / 2], zoom_start=11, tiles=tiles, control_scale=True, prefer_canvas=True)
    bounds = [[b[1], b[0]], [b[3], b[2]]]
    m.fit_bounds(bounds)
    fit_on_resize(m, bounds, offline=offline)
    return m


def _points_layer(fm, points: gpd.GeoDataFrame, *, name: str, tooltip: Callable[[Any, pd.Series], str], radius=6,
                  fill_color: str = "#0b3d91", color: str = "#ffffff", weight: float = 2, fill_opacity: float = 1.0):  # fmt: skip
    """Return a feature group with a circle per point; `tooltip(id, row)` gives raw text (escaped here), `radius` a number or `radius(id)`."""
    fg = fm.FeatureGroup(name=name)
    for code, row in display_frame(points).iterrows():
        fm.CircleMarker([row.geometry.y, row.geometry.x], radius=radius(code) if callable(radius) else radius, color=color, weight=weight,
                        fill_color=fill_color, fill=True, fill_opacity=fill_opacity, tooltip=html.escape(tooltip(code, row))).add_to(fg)  # fmt: skip
    return fg


def _geojson(fm, frame: gpd.GeoDataFrame, *, name: str, style: Callable[[dict], dict], fields: list[str], aliases: list[str], **kw):
    """Return a GeoJson layer of `frame` (already escaped and in the display CRS) with a tooltip."""
    return fm.GeoJson(frame, name=name, style_function=style, tooltip=fm.GeoJsonTooltip(fields=fields, aliases=aliases), **kw)


# --------------------------------------------------------------------------- the place map
def _density_layer(fm, place: Place, m: folium.Map) -> None:
    """Shade LSOAs by residents per km²."""
    lt = place.lsoa_table
    cols = ["population", "area_km2"] + (["imd_decile"] if "imd_decile" in lt else [])
    lsoas = place.lsoas[["name", "geometry"]].join(lt[cols])
    lsoas["density"] = (lsoas["population"] / lsoas["area_km2"]).round(0)
    vmax = float(np.nanpercentile(lsoas["density"], 98))
    pop_year = place.vintages.get("population", "")
    cmap = _colormap().LinearColormap(["#fff7ec", "#fdbb84", "#d7301f", "#7f0000"], vmin=0, vmax=vmax,
                                      caption=f"Residents per km² (LSOA; {pop_year})")  # fmt: skip
    disp = display_frame(escape_frame(lsoas, ["name"]), tolerance=10)
    fields = ["lsoa_code", "name", "population", "density"] + (["imd_decile"] if "imd_decile" in disp else [])
    aliases = ["LSOA", "Name", "Residents", "Per km²"] + (["IMD decile"] if "imd_decile" in disp else [])
    style = lambda f: {"fillColor": cmap(min(f["properties"]["density"] or 0, vmax)), "color": "#999", "weight": 0.3, "fillOpacity": 0.6}  # noqa: E731
    _geojson(fm, disp.reset_index(), name="Population density (LSOA)", style=style, fields=fields, aliases=aliases).add_to(m)
    cmap.add_to(m)


_PROFILE_TIPS = (
    ("population", "Residents", "{:,.0f}"),
    ("age_60_plus", "Aged 60+", "{:,.0f}"),
    ("imd_mean_decile", "IMD mean decile", "{:.1f}"),
    ("share_most_deprived_decile", "In most deprived 10%", "{:.0%}"),
    ("practices", "Practices", "{:.0f}"),
    ("registered_list", "Registered patients", "{:,.0f}"),
)


def neighbourhood_polygons(place: Place, grouping: Grouping) -> gpd.GeoDataFrame:
    """Return the neighbourhoods' polygons (index ``neighbourhood``): dissolved from the wards, or from the LSOAs of a plan built from them."""
    if grouping.units == "ward":
        return place.wards.join(grouping.wards).dissolve("neighbourhood")
    return neighbourhood_areas(grouping, place.wards, place.lsoas, place.lsoa_ward_code)


def _neighbourhood_layer(fm, place: Place, grouping: Grouping, profile: pd.DataFrame | None, m: folium.Map) -> None:
    """Outline and tint each neighbourhood, with its profile figures in the tooltip."""
    nbs = neighbourhood_polygons(place, grouping).reset_index()
    nbs["locality"] = nbs["neighbourhood"].map(grouping.neighbourhood_to_locality)
    fields, aliases = ["neighbourhood", "locality"], ["Neighbourhood", "Locality"]
    if profile is not None:
        pr = profile[profile["level"] == "neighbourhood"].set_index("name")
        for col, alias, fmt in _PROFILE_TIPS:
            if col in pr:
                nbs[col] = nbs["neighbourhood"].map(pr[col]).map(lambda v, f=fmt: f.format(v) if pd.notna(v) else "")
                fields.append(col)
                aliases.append(alias)
    disp = display_frame(escape_frame(nbs, ["neighbourhood", "locality"]))
    disp["colour"] = nbs["neighbourhood"].map(neighbourhood_colours(grouping.neighbourhoods)).values
    style = lambda f: {"color": f["properties"]["colour"], "weight": 3, "fillColor": f["properties"]["colour"], "fillOpacity": 0.12}  # noqa: E731
    _geojson(fm, disp, name="Neighbourhoods", style=style, fields=fields, aliases=aliases,
             highlight_function=lambda f: {"weight": 5, "fillOpacity": 0.3}).add_to(m)  # fmt: skip


def _wards_and_localities(fm, place: Place, grouping: Grouping, m: folium.Map) -> None:
    """Draw ward outlines (dashed) and locality outlines (thick)."""
    wards = place.wards.join(grouping.wards).join(grouping.ward_locality)
    w_disp = display_frame(escape_frame(wards.reset_index(), ["name", "neighbourhood"]))
    _geojson(fm, w_disp, name="Wards", style=lambda f: {"color": "#333", "weight": 0.8, "fill": False, "dashArray": "3"},
             fields=["ward_code", "name", "neighbourhood"], aliases=["Ward", "Name", "Neighbourhood"]).add_to(m)  # fmt: skip
    if grouping.units == "lsoa":  # localities are made of neighbourhoods, whatever their units
        nbs = neighbourhood_polygons(place, grouping)
        locs = nbs.assign(locality=nbs.index.map(grouping.neighbourhood_to_locality)).dissolve("locality").reset_index()
    else:
        locs = wards.dissolve("locality").reset_index()
    colour = {l: LOCALITY_COLOURS[i] if i < len(LOCALITY_COLOURS) else extra_colour(i) for i, l in enumerate(grouping.localities)}
    l_disp = display_frame(escape_frame(locs[["locality", "geometry"]], ["locality"]))
    l_disp["colour"] = locs["locality"].map(colour).values
    _geojson(fm, l_disp, name="Localities", style=lambda f: {"color": f["properties"]["colour"], "weight": 5, "fill": False, "opacity": 0.8},
             fields=["locality"], aliases=["Locality"]).add_to(m)  # fmt: skip


def _practices_layer(fm, practices: gpd.GeoDataFrame, *, sized: bool = True):
    """Return the practices as circles sized by registered patients (column ``list_size``)."""
    lists = practices["list_size"] if "list_size" in practices else pd.Series(0.0, index=practices.index)
    radius = (lambda c: 3 + lists.get(c, 0) ** 0.5 / 25) if sized else 6
    return _points_layer(fm, practices[["practice_name", "geometry"]], name="GP practices", radius=radius, color="#0b3d91", weight=1,
                         fill_opacity=0.8, tooltip=lambda c, r: f"{c} {r['practice_name']}: {lists.get(c, 0):,.0f} registered patients")  # fmt: skip


def place_map(place: Place, grouping: Grouping, profile: pd.DataFrame | None = None, *, offline: bool = True, tiles: str | None = None,
              title: str | None = None) -> folium.Map:  # fmt: skip
    """Draw a place under a grouping: density choropleth, wards, neighbourhoods, localities, practices, hospitals.

    Parameters
    ----------
    profile
        Output of :func:`boundaries.profiles.profile`, for the neighbourhood tooltips.
    offline
        Inline Leaflet in the page (standalone file) rather than link to it.
    tiles
        A folium tile name; None draws on a plain background (works offline).
    """
    fm = _fm(offline)
    m = base_map(place.wards, offline=offline, tiles=tiles)
    _title(m, title or f"{place.label}: {grouping.name or 'grouping'}", demo=place.demo, fm=fm)
    _density_layer(fm, place, m)
    _neighbourhood_layer(fm, place, grouping, profile, m)
    _wards_and_localities(fm, place, grouping, m)
    if place.practices is not None:
        _practices_layer(fm, place.practices_in_place).add_to(m)
    if place.hospitals is not None:
        _points_layer(fm, place.hospitals[["name", "geometry"]], name="Hospitals", radius=7, fill_color="#b00020", fill_opacity=0.95,
                      tooltip=lambda c, r: f"{c} {r['name']}").add_to(m)  # fmt: skip
    fm.LayerControl(collapsed=False).add_to(m)
    return m


# --------------------------------------------------------------------------- files
def standalone_html(m: folium.Map) -> str:
    """Return the map as one HTML page with every script and stylesheet inlined.

    ``offlinefolium`` inlines Leaflet; elements from ``branca`` (colour-map legends)
    still link d3 from a CDN, so those links are replaced by the copies that
    ``folium-offline`` ships. The page then draws with no internet.
    """
    from offlinefolium import elements

    res = elements._res
    text = m.get_root().render()
    text = re.sub(r'<script src="([^"]+)"></script>', lambda g: f"<script>{res[g[1]]}</script>" if g[1] in res else g[0], text)
    return re.sub(r'<link rel="stylesheet" href="([^"]+)"\s*/?>', lambda g: f"<style>{res[g[1]]}</style>" if g[1] in res else g[0], text)


def save_map(m: folium.Map, path: str | Path) -> Path:
    """Write `m` as a standalone HTML file that draws offline; return the path."""
    path = Path(path)
    path.write_text(standalone_html(m), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- flows
def _shade_by_containment(fm, nbs: gpd.GeoDataFrame, nb_flows: pd.DataFrame, m: folium.Map) -> None:
    sc = nb_flows["resident_containment"]
    cmap = _colormap().LinearColormap(["#d73027", "#fee08b", "#1a9850"], vmin=float(sc.min()), vmax=float(sc.max()))
    shade = nbs.join(sc).reset_index()
    shade["sc_pct"] = (100 * shade["resident_containment"]).round(1)
    style = lambda f: {"fillColor": cmap(f["properties"]["resident_containment"]), "color": "#333", "weight": 1.5, "fillOpacity": 0.55}  # noqa: E731
    _geojson(fm, display_frame(escape_frame(shade, ["neighbourhood"])), name="Resident containment", style=style,
             fields=["neighbourhood", "sc_pct"], aliases=["Neighbourhood", "Resident containment %"]).add_to(m)  # fmt: skip
    lo, hi = float(sc.min()), float(sc.max())
    steps = [lo + (hi - lo) * k / 4 for k in range(5)] if hi > lo else [lo]
    _html_legend(m, fm, "Resident containment<br>(share registered in<br>their neighbourhood)", [(cmap(v), f"{100 * v:.0f}%") for v in steps])


def _flow_lines(fm, matrix: pd.DataFrame, pts: gpd.GeoSeries, min_patients: int):
    """Return a feature group with a bent line per flow of at least `min_patients`, width growing with patients."""
    inner = matrix.loc[[r for r in matrix.index if r in pts.index], [c for c in matrix.columns if c in pts.index]]
    vmax = float(inner.to_numpy().max()) or 1.0
    fg = fm.FeatureGroup(name="Flows")
    for r in inner.index:
        for c in inner.columns:
            v = inner.at[r, c]
            if r == c or v < min_patients:
                continue
            a, b = pts[r], pts[c]
            # Bend each line a little to the right of its direction, so A→B and B→A do not overlap.
            mx, my = (a.x + b.x) / 2 - (b.y - a.y) * 0.12, (a.y + b.y) / 2 + (b.x - a.x) * 0.12
            fm.PolyLine([[a.y, a.x], [my, mx], [b.y, b.x]], weight=1 + 9 * (v / vmax) ** 0.5, color="#08519c", opacity=0.7,
                        tooltip=f"{html.escape(r)} → {html.escape(c)}: {v:,.0f} patients").add_to(fg)  # fmt: skip
    return fg


def flow_map(place: Place, grouping: Grouping, matrix: pd.DataFrame, nb_flows: pd.DataFrame | None = None, *, min_patients: int = 300,
             offline: bool = True, tiles: str | None = None) -> folium.Map:  # fmt: skip
    """Map flows between neighbourhoods: a line from where patients live to their practices' neighbourhood.

    Line width grows with patients; flows under `min_patients` are not drawn.
    Neighbourhoods are shaded by resident containment when `nb_flows` is given.
    """
    fm = _fm(offline)
    m = base_map(place.wards, offline=offline, tiles=tiles)
    rule = matrix.attrs.get("practice_by", "premises")
    _title(m, f"{place.label}: GP registration flows between neighbourhoods ({rule})", demo=place.demo, fm=fm)
    nbs = neighbourhood_polygons(place, grouping)
    if nb_flows is not None:
        _shade_by_containment(fm, nbs, nb_flows, m)
    pts = gpd.GeoSeries(nbs.geometry.representative_point(), crs=place.wards.crs).to_crs(DISPLAY_CRS)
    _flow_lines(fm, matrix.drop(index=[UNKNOWN, OUTSIDE], columns=[OUTSIDE], errors="ignore"), pts, min_patients).add_to(m)
    for n, p in pts.items():
        fm.CircleMarker([p.y, p.x], radius=4, color="#000", fill=True, fill_opacity=1, tooltip=html.escape(str(n))).add_to(m)
    fm.LayerControl(collapsed=False).add_to(m)
    return m


# --------------------------------------------------------------------------- hubs
def _feature_collection(frame: gpd.GeoDataFrame, columns: list[str]) -> dict:
    """Return `frame` (display CRS, values already escaped) as a GeoJSON dict, built with shapely in one call (fast)."""
    geoms = shapely.to_geojson(frame.geometry.values)
    props = frame[columns].astype(object).where(frame[columns].notna(), None).to_dict("records")
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": json.loads(g), "properties": p} for g, p in zip(geoms, props, strict=True)]}  # fmt: skip


def _minutes_layer(fm, place: Place, people: pd.DataFrame, threshold: float | None, m: folium.Map) -> None:
    """Shade LSOAs by minutes to their nearest hub, with a legend."""
    lsoas = place.lsoas[["name", "geometry"]].join(people)
    lsoas["colour"] = [_TIME_COLOURS[b] for b in np.digitize(lsoas["minutes"].to_numpy(), _TIME_BANDS[1:-1])]
    lsoas["minutes_r"] = lsoas["minutes"].round(1)
    d = display_frame(escape_frame(lsoas.reset_index(), ["name", "hub"]), tolerance=10)
    d = _feature_collection(d, ["lsoa_code", "minutes_r", "hub", "colour"])
    _geojson(fm, d, name="Minutes to nearest hub",
             style=lambda f: {"fillColor": f["properties"]["colour"], "color": "#999", "weight": 0.3, "fillOpacity": 0.65},
             fields=["lsoa_code", "minutes_r", "hub"], aliases=["LSOA", "Minutes to nearest hub", "Hub"]).add_to(m)  # fmt: skip
    extra = f"<br><span style='font-weight:normal'>threshold {threshold:g} min</span>" if threshold else ""
    _html_legend(m, fm, "Minutes to nearest hub" + extra, [(c, f"{lab} min") for c, lab in zip(_TIME_COLOURS, _TIME_LABELS, strict=True)])


def _spoke_lines(fm, sites: gpd.GeoDataFrame, spokes: pd.DataFrame):
    """Return one GeoJSON layer with a line from each spoke to its hub (one element, however many spokes)."""
    s = sites.to_crs(DISPLAY_CRS)
    xy = dict(zip(s.index, zip(s.geometry.x, s.geometry.y, strict=True), strict=True))
    names = s["name"].astype(str).map(html.escape).to_dict()
    keep = spokes[spokes.index.isin(s.index) & spokes["hub"].isin(s.index)]
    feats = [
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [xy[sid], xy[hub]]},
         "properties": {"label": f"{names[sid]} → {names[hub]}: {t:.1f} min"}}
        for sid, hub, t in zip(keep.index, keep["hub"], keep["minutes"], strict=True)
    ]  # fmt: skip
    return fm.GeoJson({"type": "FeatureCollection", "features": feats}, name="Spoke links",
                      style_function=lambda f: {"color": "#555", "weight": 1, "opacity": 0.5},
                      tooltip=fm.GeoJsonTooltip(fields=["label"], labels=False))  # fmt: skip


def _site_points(fm, sites: gpd.GeoDataFrame, ids: list[str], *, name: str, prefix: str, radius: float, fill: str, colour: str = "#ffffff",
                 weight: float = 1, fill_opacity: float = 0.95):  # fmt: skip
    """Return one GeoJSON layer of circle markers for `ids`; each feature carries ``site_id`` (a click returns it) and a label."""
    pts = sites.loc[[i for i in ids if i in sites.index]].to_crs(DISPLAY_CRS)
    feats = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [g.x, g.y]},
         "properties": {"site_id": str(i), "label": html.escape(f"{prefix}{i} {n} ({t})")}}
        for i, g, n, t in zip(pts.index, pts.geometry, pts["name"], pts["site_type"], strict=True)
    ]  # fmt: skip
    style = {"radius": radius, "color": colour, "weight": weight, "fillColor": fill, "fillOpacity": fill_opacity}
    return fm.GeoJson({"type": "FeatureCollection", "features": feats}, name=name, marker=fm.CircleMarker(**style),
                      style_function=lambda f: style, tooltip=fm.GeoJsonTooltip(fields=["label"], labels=False))  # fmt: skip


def hubs_map(place: Place, grouping: Grouping, sites: gpd.GeoDataFrame, hubs: list[str], spokes: pd.DataFrame,
             people: pd.DataFrame | None = None, *, threshold: float | None = None, offline: bool = True, tiles: str | None = None,
             title: str = "", modelled: bool = False, proposed: list[str] | None = None,
             candidates: list[str] | None = None) -> folium.Map:  # fmt: skip
    """Map hubs, their spokes (lines to their hub) and residents' time to the nearest hub (LSOA bands).

    Sites are drawn as a few GeoJSON layers, not one element each, so the map builds and
    draws quickly whatever the number of sites; each point's feature carries its
    ``site_id``, which a click returns (``st_folium``'s ``last_active_drawing``).

    Parameters
    ----------
    proposed
        Hubs an optimiser proposes: drawn as orange rings (kept hubs show both).
    candidates
        Sites that may become hubs and are not spokes: drawn as white dots, so every
        clickable site is on the map.
    """
    fm = _fm(offline)
    m = base_map(place.wards, offline=offline, tiles=tiles)
    _title(m, (title or f"{place.label}: {len(hubs)} hubs") + (" (modelled travel times)" if modelled else ""), demo=place.demo, fm=fm)
    if people is not None:
        _minutes_layer(fm, place, people, threshold, m)
    nbs = neighbourhood_polygons(place, grouping).reset_index()
    _geojson(fm, _feature_collection(display_frame(escape_frame(nbs, ["neighbourhood"])), ["neighbourhood"]), name="Neighbourhoods",
             style=lambda f: {"color": "#222", "weight": 2, "fill": False}, fields=["neighbourhood"], aliases=["Neighbourhood"]).add_to(m)  # fmt: skip
    _spoke_lines(fm, sites, spokes).add_to(m)
    _site_points(fm, sites, list(spokes.index), name="Spokes", prefix="", radius=3, fill="#555", colour="#555").add_to(m)
    loose = [c for c in (candidates or []) if c in sites.index and c not in spokes.index and c not in hubs]
    if loose:
        _site_points(fm, sites, loose, name="Other sites", prefix="", radius=3.5, fill="#ffffff", colour="#555").add_to(m)
    _site_points(fm, sites, hubs, name="Hubs", prefix="HUB ", radius=9, fill="#6a3d9a", weight=2).add_to(m)
    if proposed:
        _site_points(fm, sites, proposed, name="Proposed hubs", prefix="PROPOSED ", radius=13, fill="#ff7f00", colour="#ff7f00",
                     weight=3, fill_opacity=0.0).add_to(m)  # fmt: skip
    fm.LayerControl(collapsed=False).add_to(m)
    return m


# --------------------------------------------------------------------------- hospital-site catchments
def site_catchment_map(place: Place, grouping: Grouping, lsoa_shares: pd.DataFrame, sites: gpd.GeoDataFrame, site: str, *,
                       neighbourhood_shares: pd.DataFrame | None = None, offline: bool = True, tiles: str | None = None,
                       note: str = "") -> folium.Map:  # fmt: skip
    """Map one hospital site's share of each LSOA's admissions, with the acute sites and the neighbourhoods.

    Parameters
    ----------
    lsoa_shares
        LSOA × site: expected share of admissions (:class:`boundaries.catchments.SiteCatchments`).
    sites
        The acute sites located (index site code; ``name``, point geometry).
    neighbourhood_shares
        Neighbourhood × site shares, for the neighbourhood tooltips.
    """
    fm = _fm(offline)
    m = base_map(place.wards, offline=offline, tiles=tiles)
    name = str(sites["name"].get(site, site))
    _title(m, f"{place.label}: share of admissions to {name}" + (f" ({note})" if note else ""), demo=place.demo, fm=fm)
    lsoas = place.lsoas[["name", "geometry"]].join(lsoa_shares[[site]].rename(columns={site: "share"})).fillna({"share": 0.0})
    lsoas["share_pct"] = (100 * lsoas["share"]).round(1)
    cmap = _colormap().LinearColormap(["#f7fbff", "#6baed6", "#08306b"], vmin=0, vmax=1, caption=f"Share of admissions to {name}")
    _geojson(fm, display_frame(escape_frame(lsoas.reset_index(), ["name"]), tolerance=10), name=f"Share to {name}",
             style=lambda f: {"fillColor": cmap(f["properties"]["share"]), "color": "#999", "weight": 0.3, "fillOpacity": 0.75},
             fields=["lsoa_code", "name", "share_pct"], aliases=["LSOA", "Name", f"% to {name}"]).add_to(m)  # fmt: skip
    _html_legend(m, fm, f"Share of admissions<br>to {html.escape(name)}", [(cmap(v), f"{100 * v:.0f}%") for v in (0, 0.25, 0.5, 0.75, 1.0)])
    nbs = neighbourhood_polygons(place, grouping).reset_index()
    fields, aliases = ["neighbourhood"], ["Neighbourhood"]
    if neighbourhood_shares is not None and site in neighbourhood_shares:
        nbs["site_pct"] = nbs["neighbourhood"].map(neighbourhood_shares[site]).mul(100).round(1)
        fields, aliases = fields + ["site_pct"], aliases + [f"% to {name}"]
    _geojson(fm, display_frame(escape_frame(nbs, ["neighbourhood"])), name="Neighbourhoods",
             style=lambda f: {"color": "#222", "weight": 2, "fill": False}, fields=fields, aliases=aliases).add_to(m)  # fmt: skip
    _points_layer(fm, sites[["name", "geometry"]], name="Acute sites", radius=lambda c: 11 if c == site else 6, fill_color="#b00020",
                  tooltip=lambda c, r: f"{c} {r['name']}").add_to(m)  # fmt: skip
    fm.LayerControl(collapsed=False).add_to(m)
    return m


# --------------------------------------------------------------------------- one neighbourhood
def _imd_layer(fm, lsoas: gpd.GeoDataFrame, m: folium.Map) -> None:
    # one step per decile of England, centred on it (bins 0.5–1.5, …), so the ticks read 1 to 10, not the bin edges 1 to 11;
    # a short caption: the legend is narrow
    cmap = _colormap().StepColormap(_IMD_COLOURS, index=[d - 0.5 for d in range(1, 12)], vmin=0.5, vmax=10.5, tick_labels=list(range(1, 11)),
                                    caption="IMD 2019 decile (1 = most deprived)")  # fmt: skip
    cmap.width = 230  # clear of the map's title box (at most the map's width less 300 px) on a laptop-width page; branca's default is 450 px
    d = display_frame(escape_frame(lsoas.reset_index(), ["name"]), tolerance=5)
    _geojson(fm, d, name="LSOAs by IMD decile",
             style=lambda f: {"fillColor": cmap(f["properties"]["imd_decile"]), "color": "#777", "weight": 0.5, "fillOpacity": 0.7},
             fields=["lsoa_code", "name", "imd_decile"], aliases=["LSOA", "Name", "IMD decile"]).add_to(m)  # fmt: skip
    cmap.add_to(m)


def neighbourhood_map(place: Place, grouping: Grouping, neighbourhood: str, *, hubs: list[str] | None = None,
                      sites: gpd.GeoDataFrame | None = None, offline: bool = True, tiles: str | None = None) -> folium.Map:  # fmt: skip
    """Map one neighbourhood: its LSOAs shaded by IMD decile, its wards, practices and hubs."""
    fm = _fm(offline)
    wards_in = [w for w, n in grouping.ward_to_neighbourhood.items() if n == neighbourhood]
    wards = place.wards.loc[wards_in]
    m = base_map(wards, offline=offline, tiles=tiles)
    _title(m, f"{neighbourhood} — {place.label}", demo=place.demo, fm=fm)
    lsoas = place.lsoas[place.lsoa_ward_code.isin(wards_in).to_numpy()][["name", "geometry"]]
    if place.imd is not None:
        _imd_layer(fm, lsoas.join(place.imd[["imd_decile"]]), m)
    _geojson(fm, display_frame(escape_frame(wards.reset_index(), ["name"]), tolerance=5), name="Wards",
             style=lambda f: {"color": "#000", "weight": 2.5, "fill": False}, fields=["name"], aliases=["Ward"]).add_to(m)  # fmt: skip
    if place.practices is not None:
        pr = place.practices_in_place
        _practices_layer(fm, pr[pr["ward_code"].isin(wards_in)], sized=False).add_to(m)
    if hubs and sites is not None:
        hs = sites.loc[[h for h in hubs if h in sites.index]]
        hs = hs[hs["ward_code"].isin(wards_in)] if "ward_code" in hs else hs
        _points_layer(fm, hs[["name", "geometry"]], name="Hubs", radius=10, fill_color="#6a3d9a",
                      tooltip=lambda c, r: f"HUB {c} {r['name']}").add_to(m)  # fmt: skip
    fm.LayerControl(collapsed=False).add_to(m)
    return m


# --------------------------------------------------------------------------- the profile map (health need, assets)
#: Marker colour of each asset type on the profile map (GP sites are left to the practices layer).
ASSET_COLOURS = {"library": "#1b9e77", "food_bank": "#d95f02", "jobcentre": "#7570b3", "post_office": "#e7298a",
                 "place_of_worship": "#666666", "pharmacy": "#66a61e", "dentist": "#a6761d", "gp": "#e6ab02"}  # fmt: skip


def _assets_layers(fm, assets: gpd.GeoDataFrame, labels: dict[str, str], m: folium.Map, *, practices: int = 0) -> None:
    """Add one toggled layer of small circles per asset type, and a legend of the types (and the GP practices) with their counts."""
    rows = [f'<div><span style="background:#0b3d91;width:12px;height:12px;border-radius:6px;display:inline-block;margin-right:4px">'
            f"</span>GP practices ({practices})</div>"] if practices else []
    for t, g in assets.groupby("asset_type", sort=False):
        colour = ASSET_COLOURS.get(t, "#999999")
        label = labels.get(t, t)
        _points_layer(fm, g[["name", "geometry"]], name=f"{label} ({len(g)})", radius=4, fill_color=colour, weight=1,
                      tooltip=lambda c, r, lab=label: f"{lab}: {r['name']}").add_to(m)  # fmt: skip
        rows.append(f'<div><span style="background:{colour};width:10px;height:10px;border-radius:5px;display:inline-block;'
                    f'margin-right:4px"></span>{html.escape(label)} ({len(g)})</div>')  # fmt: skip
    if rows:
        m.get_root().html.add_child(fm.Element(
            '<div style="position:fixed;bottom:30px;left:10px;z-index:9999;background:white;padding:6px;border:1px solid #999;'
            f'font:12px sans-serif"><b>Practices and community assets</b>{"".join(rows)}</div>'))  # fmt: skip


def _indicator_layer(fm, lsoas: gpd.GeoDataFrame, caption: str, m: folium.Map) -> None:
    """Shade LSOAs by column ``value`` (e.g. modelled prevalence), with a colour legend named `caption`."""
    v = lsoas["value"].astype(float)
    cmap = _colormap().LinearColormap(["#fff5eb", "#fd8d3c", "#7f2704"], vmin=float(np.nanmin(v)), vmax=float(np.nanmax(v)), caption=caption)
    d = display_frame(escape_frame(lsoas.assign(value=v.round(2)).reset_index(), ["name"]), tolerance=5)
    _geojson(fm, d, name=caption,
             style=lambda f: {"fillColor": cmap(f["properties"]["value"]) if f["properties"]["value"] is not None else "#ccc",
                              "color": "#777", "weight": 0.5, "fillOpacity": 0.7},
             fields=["lsoa_code", "name", "value"], aliases=["LSOA", "Name", caption]).add_to(m)  # fmt: skip
    cmap.add_to(m)


def profile_map(place: Place, grouping: Grouping, unit: str, *, wards: list[str] | None = None, indicator: pd.Series | None = None,
                indicator_label: str = "", asset_labels: dict[str, str] | None = None, hubs: list[str] | None = None,
                sites: gpd.GeoDataFrame | None = None, offline: bool = True, tiles: str | None = None,
                lsoas: list[str] | None = None) -> folium.Map:  # fmt: skip
    """Map one neighbourhood (or any set of wards) for its profile: LSOAs by IMD or an indicator, wards, practices, assets, hubs.

    Parameters
    ----------
    wards
        The unit's wards; the wards of neighbourhood `unit` in `grouping` when None.
    indicator
        A value per LSOA (index ``lsoa_code``) to shade by, named by `indicator_label`;
        IMD 2019 deciles when None.
    asset_labels
        Display name of each asset type (``geo.assets.ASSET_TYPES``).
    lsoas
        The unit's LSOAs, for a plan built from LSOAs: they are shaded and outlined (the wards
        they are fitted to drawn as thin lines), and practices, assets and hubs are those inside them.
    """
    if lsoas is not None:
        return _lsoa_profile_map(place, unit, lsoas, indicator=indicator, indicator_label=indicator_label, asset_labels=asset_labels,
                                 hubs=hubs, sites=sites, offline=offline, tiles=tiles)  # fmt: skip
    fm = _fm(offline)
    wards_in = wards or [w for w, n in grouping.ward_to_neighbourhood.items() if n == unit]
    m = base_map(place.wards.loc[wards_in], offline=offline, tiles=tiles)
    _title(m, f"{unit} — {place.label}", demo=place.demo, fm=fm)
    lsoas = place.lsoas[place.lsoa_ward_code.isin(wards_in).to_numpy()][["name", "geometry"]]
    if indicator is not None:
        _indicator_layer(fm, lsoas.assign(value=indicator.reindex(lsoas.index).to_numpy()), indicator_label, m)
    elif place.imd is not None:
        _imd_layer(fm, lsoas.join(place.imd[["imd_decile"]]), m)
    _geojson(fm, display_frame(escape_frame(place.wards.loc[wards_in].reset_index(), ["name"]), tolerance=5), name="Wards",
             style=lambda f: {"color": "#000", "weight": 2.5, "fill": False}, fields=["name"], aliases=["Ward"]).add_to(m)  # fmt: skip
    assets = place.assets_in_place
    pr = place.practices_in_place
    pr = pr[pr["ward_code"].isin(wards_in)]
    _assets_layers(fm, assets[assets["ward_code"].isin(wards_in) & (assets["asset_type"] != "gp")], asset_labels or {}, m, practices=len(pr))
    if place.practices is not None:
        _practices_layer(fm, pr, sized=False).add_to(m)
    if hubs and sites is not None:
        hs = sites.loc[[h for h in hubs if h in sites.index]]
        hs = hs[hs.geometry.within(place.wards.loc[wards_in].union_all())]
        _points_layer(fm, hs[["name", "geometry"]], name="Hubs", radius=10, fill_color="#6a3d9a",
                      tooltip=lambda c, r: f"HUB {c} {r['name']}").add_to(m)  # fmt: skip
    fm.LayerControl(collapsed=True).add_to(m)
    return m


def _lsoa_profile_map(place: Place, unit: str, codes: list[str], *, indicator: pd.Series | None, indicator_label: str,
                      asset_labels: dict[str, str] | None, hubs: list[str] | None, sites: gpd.GeoDataFrame | None, offline: bool,
                      tiles: str | None) -> folium.Map:  # fmt: skip
    """Map one neighbourhood of a plan built from LSOAs: its LSOAs shaded and outlined, ward lines, practices, assets and hubs inside."""
    fm = _fm(offline)
    lsoas = place.lsoas.loc[[c for c in codes if c in place.lsoas.index], ["name", "geometry"]]
    area = lsoas.union_all()
    m = base_map(lsoas, offline=offline, tiles=tiles)
    _title(m, f"{unit} — {place.label}", demo=place.demo, fm=fm)
    if indicator is not None:
        _indicator_layer(fm, lsoas.assign(value=indicator.reindex(lsoas.index).to_numpy()), indicator_label, m)
    elif place.imd is not None:
        _imd_layer(fm, lsoas.join(place.imd[["imd_decile"]]), m)
    outline = gpd.GeoDataFrame({"name": [unit]}, geometry=[area], crs=lsoas.crs)
    _geojson(fm, display_frame(escape_frame(outline, ["name"]), tolerance=5), name="Neighbourhood (its LSOAs)",
             style=lambda f: {"color": "#000", "weight": 2.5, "fill": False}, fields=["name"], aliases=["Neighbourhood"]).add_to(m)  # fmt: skip
    wards = place.wards[place.wards.intersects(area)]
    _geojson(fm, display_frame(escape_frame(wards.reset_index(), ["name"]), tolerance=5), name="Wards",
             style=lambda f: {"color": "#555", "weight": 1, "fill": False, "dashArray": "3"}, fields=["name"], aliases=["Ward"]).add_to(m)  # fmt: skip
    inside = lambda gdf: gdf[gdf.geometry.within(area)] if len(gdf) else gdf  # noqa: E731
    assets = inside(place.assets_in_place)
    pr = inside(place.practices_in_place) if place.practices is not None else None
    _assets_layers(fm, assets[assets["asset_type"] != "gp"], asset_labels or {}, m, practices=0 if pr is None else len(pr))
    if pr is not None:
        _practices_layer(fm, pr, sized=False).add_to(m)
    if hubs and sites is not None:
        hs = inside(sites.loc[[h for h in hubs if h in sites.index]])
        _points_layer(fm, hs[["name", "geometry"]], name="Hubs", radius=10, fill_color="#6a3d9a",
                      tooltip=lambda c, r: f"HUB {c} {r['name']}").add_to(m)  # fmt: skip
    fm.LayerControl(collapsed=True).add_to(m)
    return m
