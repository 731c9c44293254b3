"""Estates benchmarks, each beside the obvious alternative in the same run.

1. Travel-time matrix, 282 origins x 500 sites on a ~100,000-node road-like graph:
   placekit (scipy csgraph Dijkstra on the sparse matrix, from the smaller point set)
   against networkx single-source Dijkstra per origin (what a user of osmnx writes).
   No city network ships with the data, so the graph is a synthetic 316 x 316 street grid
   with random link times; networkx is timed on 20 origins and scaled.
2. p-median, p = 12, on 282 x 500: exact (heuristic + Lagrangian + HiGHS) and the swap
   heuristic, against spopt's PMedian with its default solver (CBC through PuLP).
3. The heuristic on an England-sized instance: 35,000 demand points x 1,000 candidates.

Run: python benchmarks/bench_estates.py [--skip-england]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from estates.network import RoadNetwork, network_matrix  # noqa: E402
from estates.siting import SitingProblem, solve_exact, solve_heuristic  # noqa: E402


def grid_network(side: int = 316, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = side * side
    ids = np.arange(n).reshape(side, side)
    u = np.r_[ids[:, :-1].ravel(), ids[:, 1:].ravel(), ids[:-1, :].ravel(), ids[1:, :].ravel()]
    v = np.r_[ids[:, 1:].ravel(), ids[:, :-1].ravel(), ids[1:, :].ravel(), ids[:-1, :].ravel()]
    w = rng.uniform(0.1, 0.6, len(u))  # minutes per ~80 m link
    csr = sparse.csr_matrix((w, (u, v)), shape=(n, n))
    xy = np.column_stack([(ids % side).ravel() * 80.0 + 370_000, (ids // side).ravel() * 80.0 + 385_000])
    return RoadNetwork(csr, xy, np.arange(n), "drive", f"grid{side}"), (u, v, w)


def bench_matrix() -> None:
    net, (u, v, w) = grid_network()
    rng = np.random.default_rng(1)
    o_idx = rng.choice(net.n_nodes, 282, replace=False)
    s_idx = rng.choice(net.n_nodes, 500, replace=False)
    origins = gpd.GeoDataFrame(geometry=gpd.points_from_xy(net.xy[o_idx, 0], net.xy[o_idx, 1]), crs="EPSG:27700")
    sites = gpd.GeoDataFrame(geometry=gpd.points_from_xy(net.xy[s_idx, 0], net.xy[s_idx, 1]), crs="EPSG:27700")
    t = time.perf_counter()
    ours = network_matrix(net, origins, sites).to_numpy()
    t_ours = time.perf_counter() - t
    g = nx.DiGraph()
    g.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist(), strict=True), weight="minutes")
    k = 20
    t = time.perf_counter()
    ref = np.empty((k, len(s_idx)))
    for a, o in enumerate(o_idx[:k]):
        d = nx.single_source_dijkstra_path_length(g, int(o), weight="minutes")
        ref[a] = [d.get(int(s), np.inf) for s in s_idx]
    t_nx = (time.perf_counter() - t) / k * len(o_idx)
    same = np.allclose(ours[:k], ref)
    print(f"1. Matrix 282 x 500 on a {net.n_nodes:,}-node grid ({net.matrix.nnz:,} links)")
    print(f"   placekit scipy Dijkstra      : {t_ours:6.2f} s")
    print(f"   networkx per origin (scaled) : {t_nx:6.1f} s ({t_nx / len(o_idx) * 1000:.0f} ms per origin, {k} timed)")
    print(
        f"   speed-up x{t_nx / t_ours:.0f} (target >= 20x: {'met' if t_nx / t_ours >= 20 else 'MISSED'}); identical times on the timed origins: {same}"
    )


def pmedian_instance(n=282, m=500, seed=0):
    rng = np.random.default_rng(seed)
    # Clustered demand like a city: LSOA centres around a few dense cores.
    cores = rng.uniform(0, 12, (6, 2))
    pts = cores[rng.integers(0, 6, n)] + rng.normal(0, 1.6, (n, 2))
    cand = cores[rng.integers(0, 6, m)] + rng.normal(0, 2.0, (m, 2))
    cost = pd.DataFrame(np.hypot(pts[:, None, 0] - cand[None, :, 0], pts[:, None, 1] - cand[None, :, 1]) * 12.5,
                        index=[f"o{i}" for i in range(n)], columns=[f"c{j}" for j in range(m)])  # fmt: skip
    w = pd.Series(rng.integers(1_000, 3_000, n).astype(float), index=cost.index)
    return cost, w


def bench_pmedian() -> None:
    import pulp
    from spopt.locate import PMedian

    cost, w = pmedian_instance()
    prob = SitingProblem(cost, w, 12)
    ex = solve_exact(prob, time_limit=300)
    he = solve_heuristic(prob)
    t = time.perf_counter()
    sp = PMedian.from_cost_matrix(cost.to_numpy(), w.to_numpy(), p_facilities=12, name="bench")
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    sp.solve(pulp.PULP_CBC_CMD(msg=False))
    t_sp = time.perf_counter() - t
    sp_obj = float(pulp.value(sp.problem.objective))
    print("\n2. p-median, p = 12, 282 x 500 (clustered synthetic city)")
    print(f"   exact   : {ex.seconds:6.2f} s  objective {ex.objective:,.0f}  bound {ex.bound:,.0f}  gap {100 * (ex.gap or 0):.4f}%  ({ex.solver})"
          f"  target < 10 s: {'met' if ex.seconds < 10 else 'MISSED'}")  # fmt: skip
    gap = 100 * (he.objective - ex.objective) / ex.objective
    print(f"   heuristic: {he.seconds * 1000:6.1f} ms objective {he.objective:,.0f}  gap to optimum {gap:.3f}%  target < 100 ms within 1%: "
          f"{'met' if he.seconds < 0.1 and gap <= 1 else 'MISSED'}")  # fmt: skip
    print(f"   spopt PMedian + CBC: {t_sp:6.2f} s solve + {t_build:.2f} s build, objective {sp_obj:,.0f}")


def bench_england() -> None:
    rng = np.random.default_rng(3)
    n, m = 35_000, 1_000
    pts = rng.uniform(0, 600, (n, 2))
    cand = rng.uniform(0, 600, (m, 2))
    tracemalloc.start()
    cost = np.empty((n, m), dtype=np.float32)
    for s in range(0, n, 5000):
        cost[s : s + 5000] = np.hypot(pts[s : s + 5000, None, 0] - cand[None, :, 0], pts[s : s + 5000, None, 1] - cand[None, :, 1])
    df = pd.DataFrame(cost, copy=False)
    w = pd.Series(rng.integers(1_000, 3_000, n).astype(float))
    prob = SitingProblem(df, w, 20)
    base = tracemalloc.get_traced_memory()[0]
    res = solve_heuristic(prob, dtype=np.float32)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"\n3. Heuristic, England-sized: {n:,} x {m:,}, p = 20 (float32)")
    print(
        f"   {res.seconds:6.1f} s, {res.iterations} swap passes, peak memory {peak / 1e9:.2f} GB (cost matrix itself {base / 1e9:.2f} GB)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-england", action="store_true")
    args = ap.parse_args()
    bench_matrix()
    bench_pmedian()
    if not args.skip_england:
        bench_england()


if __name__ == "__main__":
    main()
