"""Design and ensemble benchmarks, each beside the obvious alternative measured in the same run.

1. Manchester wards: list and score every valid plan for each K from 11 to 18 on both bases
   (target: under 10 s in all), beside plain backtracking over the same blocks (an exact
   cover search that does not merge cover states), which must find the same counts.
2. Scoring: plans per second with placekit's engine (target ≥ 5,000) beside GerryChain's
   own updaters computing the same figures on the same ReCom chain, timed where they run (a ``Tally`` of lists and
   residents per part and an updater summing the contained patients of each part); the
   figures are checked equal.
3. LSOAs, 12 neighbourhoods, Census 2021: one design (target under 120 s) beside the exact
   ward-level design of the nearest feasible K; an ensemble of N ReCom plans on one core
   (target: 10,000 in under 10 minutes) and on a local Dask cluster of 2 workers, with the
   speed-up.

Run: PLACEKIT_DATA=../shared/data .venv/bin/python benchmarks/bench_design.py [--quick]
(--quick: plain backtracking on one base only, 200 chain steps, a 2,000-flip design, a 200-plan ensemble on one core, no Dask cluster.)
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from boundaries.design import design_plan  # noqa: E402
from boundaries.ensemble import plan_ensemble  # noqa: E402
from boundaries.grouping import baseline_grouping  # noqa: E402
from boundaries.planscore import PlanScorer  # noqa: E402
from boundaries.planspace import connected_blocks, plan_space  # noqa: E402
from boundaries.recom import design_extra, seed_plan  # noqa: E402
from boundaries.units import plan_units  # noqa: E402
from geo.place import load_place  # noqa: E402


def backtrack_counts(pop: np.ndarray, nbrs: list, lo: float, hi: float) -> dict[int, int]:
    """Count exact covers by plain backtracking (lowest uncovered unit first, no merged states): the obvious alternative."""
    blocks = connected_blocks(pop, nbrs, lo, hi)
    n = len(pop)
    by_low: dict[int, list[int]] = {}
    for b in blocks:
        by_low.setdefault(min(b), []).append(sum(1 << i for i in b))
    full, counts = (1 << n) - 1, {}

    def rec(covered: int, k: int) -> None:
        if covered == full:
            counts[k] = counts.get(k, 0) + 1
            return
        low = (~covered & (covered + 1)).bit_length() - 1
        for m in by_low.get(low, []):
            if not m & covered:
                rec(covered | m, k + 1)

    rec(0, 0)
    return dict(sorted(counts.items()))


def ward_listing(place, quick: bool) -> None:
    print("1. Manchester wards, 30,000-50,000: every valid plan listed and scored, K = 11..18, both bases")
    total = 0.0
    for base in ("census2021", "mid2015"):
        u = plan_units(place, kind="ward", population=base)
        scorer = PlanScorer(u)
        t = time.perf_counter()
        space = plan_space(u.population, u.neighbours, 30_000, 50_000)
        line = []
        for k in range(11, 19):
            plans = space.plans(k)
            if len(plans):
                scores = scorer.score(plans.astype(np.int64), k)
                assert scores["list_containment_city"].notna().all()
            line.append(f"K={k}: {len(plans):,}")
        took = time.perf_counter() - t
        total += took
        print(f"   {u.population_label}: {'; '.join(line)} — {took:.3f} s listed and scored ({space.states} cover states)")
        if quick and base == "mid2015":
            continue
        t = time.perf_counter()
        plain = backtrack_counts(u.population, u.neighbours, 30_000, 50_000)
        plain_s = time.perf_counter() - t
        print(f"      alternative, plain backtracking (counts only, no scoring): {plain_s:.3f} s; same counts: {plain == space.totals}")
    print(f"   all K 11-18 on both bases: {total:.3f} s (target < 10 s)")


def scoring_speed(place, steps: int) -> None:
    gc = design_extra("gerrychain")
    u = plan_units(place, kind="lsoa", population="census2021")
    scorer = PlanScorer(u)
    pu, pq, w, residents, lists = scorer._pairs
    pairs_of: dict[int, list[tuple[int, float]]] = {}
    for a, b, x in zip(pu, pq, w, strict=True):
        pairs_of.setdefault(int(a), []).append((int(b), float(x)))
    start = seed_plan(u, 12, (30_000, 50_000), free=np.ones(u.n, dtype=bool), group=None, rng=random.Random(0))

    def contained(p) -> dict:  # a GerryChain updater: contained patients of each part
        a = p.assignment
        return {part: sum(x for node in nodes for q, x in pairs_of.get(node, ()) if a[q] == part) for part, nodes in p.parts.items()}

    def run(with_updaters: bool):
        nx = design_extra("networkx")
        g = nx.Graph()
        for i in range(u.n):
            g.add_node(i, population=float(u.population[i]), lists=float(lists[i]), residents=float(residents[i]))
        g.add_edges_from((int(a), int(b)) for a, b in u.edges)
        graph = gc.Graph.from_networkx(g)
        ups = {"population": gc.updaters.Tally("population", alias="population")}
        if with_updaters:
            ups |= {"lists": gc.updaters.Tally("lists", alias="lists"), "residents": gc.updaters.Tally("residents", alias="residents"),
                    "contained": contained}  # fmt: skip
        part = gc.Partition(graph, {i: int(start[i]) for i in range(u.n)}, ups)
        prop = functools.partial(gc.proposals.recom, pop_col="population", pop_target=40_000, epsilon=0.25 * 0.999999)
        chain = gc.MarkovChain(prop, [], gc.accept.always_accept, part, steps, rng=1)
        labels, figures, in_updaters = [], [], 0.0
        t = time.perf_counter()
        for state in chain:
            labels.append([state.assignment[i] for i in range(u.n)])
            if with_updaters:  # GerryChain's updaters run lazily, when a figure is first read: time those reads alone
                t1 = time.perf_counter()
                c, l, _ = state["contained"], state["lists"], state["residents"]
                figures.append(sum(c.values()) / sum(l.values()))
                in_updaters += time.perf_counter() - t1
        return time.perf_counter() - t, np.array(labels), figures, in_updaters

    bare, labels, _, _ = run(False)
    _, labels2, figures, updaters = run(True)
    t = time.perf_counter()
    scores = scorer.score(labels.astype(np.int64), 12)
    ours = time.perf_counter() - t
    same = np.array_equal(labels, labels2) and np.allclose(scores["list_containment_city"].to_numpy(), figures)
    gc_rate = steps / updaters
    print(f"\n2. Scoring {steps:,} plans of one ReCom chain (282 LSOAs, 12 neighbourhoods), every figure:")
    print(f"   placekit engine (batched matrix product): {ours:.3f} s = {steps / ours:,.0f} plans/s (target >= 5,000)")
    print(f"   GerryChain updaters (Tally of lists and residents + a contained-per-part updater): {updaters:.3f} s in the "
          f"updaters (the chain's own steps: {bare:.3f} s) = {gc_rate:,.0f} plans/s; same plans and city-wide list containment: {same}")  # fmt: skip


def lsoa_design_and_ensemble(place, quick: bool) -> None:
    g = baseline_grouping(place)
    print("\n3. LSOAs (282), 12 neighbourhoods, Census 2021 residents")
    t = time.perf_counter()
    ward = design_plan(place, g, k=13)
    ward_s = time.perf_counter() - t
    t = time.perf_counter()
    lsoa = design_plan(place, g, k=12, units="lsoa", proposals=2_000 if quick else 200_000)
    lsoa_s = time.perf_counter() - t
    print(f"   LSOA design: {lsoa_s:.1f} s (target < 120 s), list containment city-wide {100 * lsoa.scores['list_containment_city']:.1f}% "
          f"({lsoa.method})")  # fmt: skip
    print(f"   alternative, exact ward design of 13 (12 is impossible with wards): {ward_s:.2f} s, "
          f"{100 * ward.scores['list_containment_city']:.1f}% ({ward.method})")  # fmt: skip
    n = 200 if quick else 10_000
    t = time.perf_counter()
    one = plan_ensemble(place, g, k=12, units="lsoa", plans=n, seed=0)
    one_s = time.perf_counter() - t
    print(f"   ensemble of {n:,} ReCom plans, one core: {one_s:.1f} s (target 10,000 in < 600 s); acceptance "
          f"{100 * one.acceptance:.0f}%, effective sample size (lowest figure) {min(one.ess.values()):,.0f}")  # fmt: skip
    if quick:
        print("   (--quick: no 2-worker run; tests/boundaries/test_design.py runs a local Dask cluster)")
        return
    t = time.perf_counter()
    two = plan_ensemble(place, g, k=12, units="lsoa", plans=n, seed=0, workers=2)
    two_s = time.perf_counter() - t
    print(f"   the same on a local Dask cluster of 2 workers (2 chains): {two_s:.1f} s, speed-up x{one_s / two_s:.2f} "
          f"(cluster start included); effective sample size {min(two.ess.values()):,.0f}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    place = load_place(None)
    ward_listing(place, args.quick)
    scoring_speed(place, 200 if args.quick else 2_000)
    lsoa_design_and_ensemble(place, args.quick)


if __name__ == "__main__":
    main()
