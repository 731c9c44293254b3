"""Designing and ranking plans: the exact plan space on hand-built graphs (counts known by hand, brute force), scoring, design, ensembles."""

from __future__ import annotations

import functools
import random
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from boundaries.design import InfeasiblePlanError, constraints_for, design_plan, parse_band, plan_grouping
from boundaries.ensemble import effective_sample_size, ensembles_for_places, grouping_scores, percentile_of, plan_ensemble
from boundaries.flows import compute_flows
from boundaries.grouping import Grouping, grouping_from_text, grouping_to_csv, grouping_to_json
from boundaries.planscore import PlanScorer
from boundaries.planspace import NotListableError, connected_blocks, plan_space
from boundaries.search import anneal, is_valid_plan
from boundaries.units import grouping_labels, plan_units, unit_soft_checks
from placekit.errors import PlacekitError


def grid(rows: int, cols: int) -> list[np.ndarray]:
    """Rook neighbours of a rows × cols grid, unit r*cols+c."""
    out = []
    for r in range(rows):
        for c in range(cols):
            nb = [(r + dr) * cols + c + dc for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)) if 0 <= r + dr < rows and 0 <= c + dc < cols]
            out.append(np.array(nb))
    return out


def _connected(units: tuple[int, ...], nbrs: list[np.ndarray]) -> bool:
    todo, seen = [units[0]], {units[0]}
    while todo:
        x = todo.pop()
        for y in nbrs[x]:
            if int(y) in units and int(y) not in seen:
                seen.add(int(y))
                todo.append(int(y))
    return len(seen) == len(units)


def _partitions(items: list[int]):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _partitions(rest):
        for i in range(len(part)):
            yield part[:i] + [[first, *part[i]]] + part[i + 1 :]
        yield [[first], *part]


def brute_force(pop: np.ndarray, nbrs: list[np.ndarray], lo: float, hi: float) -> dict[int, set[frozenset]]:
    """Every valid plan by listing every set partition (Bell number many) and checking it."""
    out: dict[int, set[frozenset]] = {}
    for part in _partitions(list(range(len(pop)))):
        blocks = [tuple(sorted(b)) for b in part]
        if all(lo <= pop[list(b)].sum() <= hi and _connected(b, nbrs) for b in blocks):
            out.setdefault(len(blocks), set()).add(frozenset(blocks))
    return out


def _as_plans(labels: np.ndarray) -> set[frozenset]:
    return {frozenset(tuple(np.flatnonzero(row == lab)) for lab in np.unique(row)) for row in labels}


# --------------------------------------------------------------------------- the plan space, counted by hand
def test_domino_tilings_of_a_2x3_grid_are_three():
    """Six units of 10 in a 2 × 3 grid, band exactly 20: the plans are the 3 domino tilings (known by hand)."""
    space = plan_space(np.full(6, 10.0), grid(2, 3), 20, 20)
    assert space.totals == {3: 3}
    assert len(space.blocks) == 7  # the grid's 7 edges
    assert _as_plans(space.plans(3)) == {
        frozenset({(0, 1), (2, 5), (3, 4)}),
        frozenset({(0, 3), (1, 2), (4, 5)}),
        frozenset({(0, 3), (1, 4), (2, 5)}),
    }


def test_two_connected_triples_of_a_2x3_grid_are_three():
    """Band 30 on the same grid: two rows, or two L-shapes either way: 3 plans; nothing else fits."""
    space = plan_space(np.full(6, 10.0), grid(2, 3), 30, 30)
    assert space.totals == {2: 3}
    assert frozenset({(0, 1, 2), (3, 4, 5)}) in _as_plans(space.plans(2))


def test_no_plan_and_a_path_graph():
    """A path of 4 units of 10: band 20 has one plan (two pairs); band 30 none; band 10–40 every composition of 4 (8 plans)."""
    path = [np.array([1]), np.array([0, 2]), np.array([1, 3]), np.array([2])]
    assert plan_space(np.full(4, 10.0), path, 20, 20).totals == {2: 1}
    assert plan_space(np.full(4, 10.0), path, 30, 30).totals == {}
    assert sum(plan_space(np.full(4, 10.0), path, 10, 40).totals.values()) == 8  # compositions of 4: 2^3
    assert plan_space(np.full(4, 10.0), path, 10, 40).totals == {1: 1, 2: 3, 3: 3, 4: 1}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_enumeration_matches_brute_force_on_a_3x3_grid(seed):
    """Every set partition of 9 units (21,147) checked by hand against the cover states: the same plans for every count."""
    rng = np.random.default_rng(seed)
    pop = rng.integers(5, 20, size=9).astype(float)
    nbrs = grid(3, 3)
    lo, hi = 20, 40
    expected = brute_force(pop, nbrs, lo, hi)
    space = plan_space(pop, nbrs, lo, hi)
    assert space.totals == {k: len(v) for k, v in sorted(expected.items())}
    for k, plans in expected.items():
        assert _as_plans(space.plans(k)) == plans


def test_free_units_and_groups():
    """Units not free are left out; a group keeps each block inside one group."""
    pop = np.full(6, 10.0)
    free = np.array([True, True, True, False, False, False])
    assert plan_space(pop, grid(2, 3), 10, 20, free=free).totals == {2: 2, 3: 1}  # a path of 3 free units
    group = np.array([0, 0, 1, 0, 0, 1])
    space = plan_space(pop, grid(2, 3), 20, 20, group=group)
    assert _as_plans(space.plans(3)) == {frozenset({(0, 1), (2, 5), (3, 4)}), frozenset({(0, 3), (1, 4), (2, 5)})}


def test_sampling_is_uniform_and_seeded():
    space = plan_space(np.full(6, 10.0), grid(2, 3), 20, 20)
    a = space.sample(3, 3000, random.Random(7))
    assert np.array_equal(a, space.sample(3, 3000, random.Random(7)))
    freq = Counter(map(frozenset, (_as_plans(r[None]) for r in a)))
    assert len(freq) == 3 and all(800 < n < 1200 for n in freq.values())  # 1,000 each expected


def test_best_sum_and_best_min_match_brute_force():
    rng = np.random.default_rng(3)
    pop = rng.integers(5, 20, size=9).astype(float)
    space = plan_space(pop, grid(3, 3), 20, 40)
    value = rng.random(len(space.blocks))
    for k in space.totals:
        plans = space.plans(k)
        blocks = {b: i for i, b in enumerate(space.blocks)}
        sums = [sum(value[blocks[b]] for b in next(iter(_as_plans(p[None])))) for p in plans]
        mins = [min(value[blocks[b]] for b in next(iter(_as_plans(p[None])))) for p in plans]
        total, path = space.best_sum(k, value)
        assert total[0] == pytest.approx(max(sums))
        level, _, path = space.best_min(k, value, np.ones(len(value)))
        assert level == pytest.approx(max(mins))


def test_too_many_blocks_is_not_listable():
    with pytest.raises(NotListableError, match="too large to list"):
        connected_blocks(np.ones(100), grid(10, 10), 1, 30, max_blocks=1000)


def test_parse_band():
    assert parse_band("30000-50000") == (30000, 50000)
    assert parse_band("30,000–50,000") == (30000, 50000)
    for bad in ["abc", "50000-30000", "30000", "-5-10", "1e4-5e4"]:
        with pytest.raises(PlacekitError, match="not a band"):
            parse_band(bad)


# --------------------------------------------------------------------------- on the tiny place (6 wards, 12 LSOAs)
BAND = (4000, 4500)  # tiny place: wards of 2,000–2,300 residents, so a neighbourhood is exactly two wards


@pytest.fixture
def tiny_units(tiny_place):
    return plan_units(tiny_place, kind="ward", population="mid2015")


def _all_tilings(units):
    space = plan_space(units.population, units.neighbours, *BAND)
    return space.plans(3).astype(np.int64)


def test_scorer_matches_compute_flows_for_every_rule(tiny_place):
    pcn = pd.DataFrame({"practice_name": ["P one", "P two", "P three"], "pcn_code": ["U1", "U1", "U2"], "pcn_name": "",
                        "ccg_code": "", "ccg_name": ""}, index=pd.Index(["P00001", "P00002", "P00003"], name="practice_code"))  # fmt: skip
    tiny_units = plan_units(tiny_place.replace(pcn_map=pcn), kind="ward", population="mid2015")
    plans = _all_tilings(tiny_units)
    assert len(plans) == 3
    for rule in ("premises", "pcn", "patients"):
        scores = PlanScorer(tiny_units, rule=rule).score(plans, 3)
        for lab, (_, row) in zip(plans, scores.iterrows(), strict=True):
            g = Grouping({c: f"n{v}" for c, v in zip(tiny_units.codes, lab, strict=True)}, {f"n{v}": "L" for v in range(3)},
                         practice_rule=rule)  # fmt: skip
            f = compute_flows(tiny_units.base, g)
            nb = f.neighbourhoods
            assert row["list_containment_city"] == pytest.approx(f.mean("list_containment"))
            assert row["resident_containment_city"] == pytest.approx(f.mean("resident_containment"))
            assert row["list_containment_min"] == pytest.approx(nb["list_containment"].min())
            assert row["resident_containment_mean"] == pytest.approx(nb["resident_containment"].mean())
            members = f.practice_unit[tiny_units.base.in_place]
            whole = members[0] == members[1]  # P00001 and P00002 share a PCN; P00003 is alone in its own
            lists = tiny_units.base.list_sizes[tiny_units.base.in_place]
            assert row["pcn_alignment"] == pytest.approx((lists[0] + lists[1]) * whole / lists.sum() + lists[2] / lists.sum())


def test_design_is_the_best_of_every_valid_plan(tiny_place, tiny_grouping, tiny_units):
    for measure in ("city", "mean", "min"):
        r = design_plan(tiny_place, tiny_grouping, k=3, band=BAND, population="mid2015", measure=measure)
        scores = PlanScorer(tiny_units).score(_all_tilings(tiny_units), 3)
        assert r.exact and r.plans == 3 and "optimal among 3 valid plans" in r.method
        assert r.scores[r.column] == pytest.approx(scores[r.column].max())
        labels, names = grouping_labels(r.grouping, tiny_units)
        assert is_valid_plan(labels, tiny_units, 3, BAND) == []
        assert r.table["population"].between(*BAND).all()
    assert set(r.grouping.neighbourhood_to_locality.values()) <= {"West", "East"}  # named after the start's localities


def test_design_lock_keeps_the_neighbourhood_and_the_rest_is_optimal(tiny_place, tiny_grouping):
    r = design_plan(tiny_place, tiny_grouping, k=3, band=BAND, population="mid2015", lock=["B"])
    b = sorted(w for w, n in tiny_grouping.ward_to_neighbourhood.items() if n == "B")
    assert sorted(w for w, n in r.grouping.ward_to_neighbourhood.items() if n == "B") == b
    assert r.plans == 2  # by hand: B is the east column; W1, W2, W4, W5 pair up in rows or in columns
    assert r.exact and r.moved["from"].ne("B").all()


def test_design_infeasible_says_why_and_what_works(tiny_place, tiny_grouping):
    with pytest.raises(InfeasiblePlanError) as info:
        design_plan(tiny_place, tiny_grouping, k=2, band=BAND, population="mid2015")
    msg = str(info.value)
    assert "no valid plan puts 6 wards into 2 contiguous neighbourhoods" in msg
    assert "a neighbourhood inside the band is 2–2 contiguous wards" in msg
    assert "--neighbourhoods 3 (3 valid plans)" in msg
    alt = info.value.alternatives
    assert alt["feasible_neighbourhoods"] == {3: 3}
    assert alt["band_high"] == [4000, 6500]  # by hand: every split into two contiguous triples has one of 6,500 residents


def test_lock_errors_name_the_neighbourhood(tiny_place, tiny_grouping):
    with pytest.raises(PlacekitError, match="does not have"):
        design_plan(tiny_place, tiny_grouping, k=3, band=BAND, population="mid2015", lock=["Nowhere"])
    with pytest.raises(InfeasiblePlanError, match="locked neighbourhood 'A' has 4,200"):
        design_plan(tiny_place, tiny_grouping, k=3, band=(4300, 4500), population="mid2015", lock=["A"])


def test_keep_localities_nests_every_neighbourhood(tiny_place, tiny_grouping, tiny_units):
    r = design_plan(tiny_place, tiny_grouping, k=3, band=BAND, population="mid2015", keep_localities=True)
    start_loc = tiny_grouping.ward_locality
    for w, n in r.grouping.ward_to_neighbourhood.items():
        assert r.grouping.neighbourhood_to_locality[n] == start_loc[w]


def test_lsoa_design_search_is_valid_and_seeded(tiny_place, tiny_grouping):
    kw = {"k": 3, "band": BAND, "population": "mid2015", "units": "lsoa", "proposals": 3000}
    a = design_plan(tiny_place, tiny_grouping, seed=4, **kw)
    b = design_plan(tiny_place, tiny_grouping, seed=4, **kw)
    assert not a.exact and "no optimality bound" in a.method
    assert a.grouping == b.grouping  # same seed, same plan
    u = plan_units(tiny_place, kind="lsoa", population="mid2015")
    labels, _ = grouping_labels(a.grouping, u)
    assert is_valid_plan(labels, u, 3, BAND) == []
    assert any("best plan of whole wards" in n for n in a.notes)
    ward_best = design_plan(tiny_place, tiny_grouping, k=3, band=BAND, population="mid2015")
    projected, _ = grouping_labels(ward_best.grouping, u)
    assert a.scores["list_containment_city"] >= PlanScorer(u).score(projected[None], 3).iloc[0]["list_containment_city"] - 1e-12
    assert unit_soft_checks(tiny_place, a.grouping, band=BAND) == ["counts: 3:2:1 instead of 12:3:1"]


def test_gerrychain_start_and_recom_plans_are_valid(tiny_place, tiny_grouping):
    """A lock rules out the ward start, so the search starts from GerryChain's partition; every chain plan is valid."""
    u = plan_units(tiny_place, kind="lsoa", population="mid2015")
    r = design_plan(tiny_place, tiny_grouping, k=3, band=(3000, 5500), population="mid2015", units="lsoa", proposals=500, lock=["C"])
    assert any("GerryChain" in n for n in r.notes)
    e = plan_ensemble(tiny_place, tiny_grouping, k=3, band=(3000, 5500), population="mid2015", units="lsoa", plans=60, seed=2)
    assert not e.exact and len(e.scores) == 60 and 0 <= e.acceptance <= 1
    for row in e.labels:
        assert is_valid_plan(row, u, 3, (3000, 5500)) == []
    e2 = plan_ensemble(tiny_place, tiny_grouping, k=3, band=(3000, 5500), population="mid2015", units="lsoa", plans=60, seed=2)
    assert np.array_equal(e.labels, e2.labels)
    labels, _ = grouping_labels(r.grouping, u)
    assert is_valid_plan(labels, u, 3, (3000, 5500)) == []


def test_anneal_same_seed_same_plan(tiny_place):
    u = plan_units(tiny_place, kind="lsoa", population="mid2015")
    sc = PlanScorer(u)
    start = np.array([0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2])  # the three columns of wards (LSOAs west to east, south row first)
    assert is_valid_plan(start, u, 3, (3000, 5500)) == []
    runs = [anneal(sc, start, 3, (3000, 5500), "list_containment_city", rng=random.Random(9), seconds=0, max_proposals=2000) for _ in range(2)]
    assert np.array_equal(runs[0].labels, runs[1].labels) and runs[0].proposals == 2000


# --------------------------------------------------------------------------- ensembles
def test_exact_ensemble_ranks_the_plan(tiny_place, tiny_grouping, tiny_units):
    e = plan_ensemble(tiny_place, tiny_grouping, k=3, band=BAND, population="mid2015")
    assert e.exact and len(e.scores) == 3
    s = e.summary()
    assert s["plans"] == 3 and s["exact"] is True
    assert s["measures"]["pcn_alignment"]["percentile"] is None  # the tiny place has no practice→PCN map
    for m, v in s["measures"].items():
        if m == "pcn_alignment":
            continue
        assert 0 <= v["percentile"] <= 100
        assert v["min"] <= v["median"] <= v["max"]
        assert v["percentile"] == pytest.approx(percentile_of(e.scores[m].to_numpy(), e.plan[m]))
    assert e.plan["list_containment_city"] == pytest.approx(grouping_scores(tiny_units, tiny_grouping)["list_containment_city"])
    assert e.beat_on_both("city") == int(((e.scores["list_containment_city"] > e.plan["list_containment_city"])
                                           & (e.scores["resident_containment_city"] > e.plan["resident_containment_city"])).sum())  # fmt: skip


def test_percentile_and_ess():
    assert percentile_of(np.array([1, 2, 3, 4]), 3) == pytest.approx(62.5)
    assert percentile_of(np.array([1, 2, 3, 4]), 9) == 100
    rng = np.random.default_rng(0)
    iid = rng.normal(size=4000)
    assert 3000 < effective_sample_size(iid) < 5000
    walk = np.cumsum(rng.normal(size=4000))
    assert effective_sample_size(walk) < 200


def test_plan_grouping_lists_lsoas_and_round_trips(tiny_place, tiny_grouping):
    u = plan_units(tiny_place, kind="lsoa", population="mid2015")
    c = constraints_for(u, tiny_grouping, 3, band=(3000, 5500))
    labels = np.array([0, 0, 0, 1, 1, 1, 0, 0, 2, 2, 2, 2])  # splits ward 2 (its west LSOA with ward 1, its east one with ward 3)
    assert is_valid_plan(labels, u, 3, (3000, 5500)) == []
    g, moved, _ = plan_grouping(c, labels, tiny_grouping)
    assert g.units == "lsoa" and g.lsoa_to_neighbourhood
    back, _ = grouping_labels(g, u)
    assert len(set(zip(back, labels, strict=True))) == 3  # the same partition
    for text, fmt in ((grouping_to_json(g), "json"), (grouping_to_csv(g), "csv")):
        again = grouping_from_text(text, fmt=fmt, wards=list(tiny_place.wards.index), lsoas=list(tiny_place.lsoas.index))
        assert again.lsoa_to_neighbourhood == g.lsoa_to_neighbourhood and again.ward_to_neighbourhood == g.ward_to_neighbourhood
    assert set(moved.columns) == {"code", "name", "from", "to"}


def test_dask_local_cluster_gives_the_same_ensemble(tiny_place, tiny_grouping):
    """Shards of the exact listing scored on a local Dask cluster of two processes, merged: the same plans and figures."""
    here = plan_ensemble(tiny_place, tiny_grouping, k=3, band=BAND, population="mid2015")
    there = plan_ensemble(tiny_place, tiny_grouping, k=3, band=BAND, population="mid2015", workers=2)
    assert there.workers == 2 and there.exact
    key = lambda e: sorted(map(tuple, np.round(np.nan_to_num(e.scores.to_numpy(), nan=-1), 12)))  # noqa: E731
    assert key(here) == key(there)


def test_domino_tilings_of_a_2x4_grid_are_five():
    """The number of valid plans of a 2 × 4 grid of 10s in pairs is 5 (domino tilings of 2 × 4, a Fibonacci number)."""
    assert plan_space(np.full(8, 10.0), grid(2, 4), 20, 20).totals == {4: 5}


def _tiny_loader(place, grouping):
    return place, grouping


def test_ensembles_for_places_write_one_file_each_and_resume(tiny_place, tiny_grouping, tmp_path):
    """One Parquet per place; a place with no valid plan is refused with the reason; a second run skips what is written."""
    loaders = {"A": functools.partial(_tiny_loader, tiny_place, tiny_grouping), "B": functools.partial(_tiny_loader, tiny_place, tiny_grouping)}
    first = ensembles_for_places(loaders, tmp_path, k=3, band=BAND, population="mid2015")
    assert first["status"].tolist() == ["done", "done"] and (tmp_path / "A.parquet").exists()
    assert pd.read_parquet(tmp_path / "B.parquet").shape[0] == 3
    again = ensembles_for_places(loaders | {"C": loaders["A"]}, tmp_path, k=2, band=BAND, population="mid2015")
    assert again.set_index("code")["status"].to_dict() == {"A": "skipped", "B": "skipped", "C": "refused"}
    assert "no valid plan" in again.set_index("code").at["C", "detail"]
