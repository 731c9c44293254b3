"""ReCom chains (GerryChain) over plans too many to list, and running chains or shards on a Dask cluster.

GerryChain, Dask and distributed come with placekit's ``design`` extra
(``pip install 'placekit[design]'``); they are imported only when a chain or a cluster is
asked for, with an error naming the extra when they are missing.

ReCom merges two neighbouring neighbourhoods and splits the merged area along a random
spanning tree, at an edge leaving both parts inside the band: with a population target of
the band's midpoint and a tolerance of half its width, GerryChain's balance test *is* the
band. Units of locked neighbourhoods are left out of the graph; where neighbourhoods nest in
localities a proposal that straddles two is rejected (the chain stays where it is). On
coarse units (Manchester's wards) the spanning-tree cuts rarely land inside the band and the
chain stalls: there the plans are listed exactly instead (:mod:`boundaries.planspace`).
"""

from __future__ import annotations

import importlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from types import ModuleType
from typing import Any

import numpy as np

from boundaries.planscore import PlanScorer
from boundaries.planspace import PlanSpace
from boundaries.units import Units
from placekit.errors import InfeasibleError, PlacekitError

__all__ = [
    "design_extra",
    "seed_plan",
    "split_groups",
    "ChainResult",
    "recom_chain",
    "run_chains",
    "score_shards",
    "dask_client",
]


def design_extra(name: str) -> ModuleType:
    """Import `name` (gerrychain, networkx, dask, distributed), which come with placekit's ``design`` extra."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise PlacekitError(
            f"this needs {name.split('.')[0]}, which comes with placekit's design extra: pip install 'placekit[design]' "
            "(in a checkout, ./dev test installs it)."
        ) from exc


def _graph(units: Units, nodes: np.ndarray) -> Any:
    """Return a GerryChain graph of the units `nodes` (positions), with their residents as ``population``."""
    nx = design_extra("networkx")
    gc = design_extra("gerrychain")
    g = nx.Graph()
    keep = set(int(x) for x in nodes)
    for i in sorted(keep):
        g.add_node(i, population=float(units.population[i]))
    for i, j in units.edges:
        if int(i) in keep and int(j) in keep:
            g.add_edge(int(i), int(j))
    return gc.Graph.from_networkx(g)


def split_groups(pops: Sequence[float], k: int, band: tuple[float, float]) -> list[int] | None:
    """Return how many neighbourhoods each group gets (each inside the band on average, adding up to `k`), or None."""
    lo_k = [int(np.ceil(p / band[1])) for p in pops]
    hi_k = [int(np.floor(p / band[0])) if band[0] > 0 else k for p in pops]
    if any(a > b for a, b in zip(lo_k, hi_k, strict=True)) or not sum(lo_k) <= k <= sum(hi_k):
        return None
    out = list(lo_k)
    while sum(out) < k:  # give the next one to the group furthest above its average size
        room = [(p / out[g] if out[g] else np.inf) if out[g] < hi_k[g] else -1 for g, p in enumerate(pops)]
        out[int(np.argmax(room))] += 1
    return out


def seed_plan(
    units: Units, k: int, band: tuple[float, float], *, free: np.ndarray, group: np.ndarray | None, rng: random.Random
) -> np.ndarray:
    """Return a valid plan of the free units into `k` neighbourhoods (labels, -1 elsewhere), by GerryChain's recursive tree partition.

    Raises
    ------
    InfeasibleError
        When the free units' residents cannot make `k` neighbourhoods inside the band, or no partition was found.
    """
    gc_parts = design_extra("gerrychain.partition.initial_partition_generators")
    gc_tree = design_extra("gerrychain.tree")
    labels = np.full(units.n, -1, dtype=np.int64)
    groups = [np.flatnonzero(free)] if group is None else [np.flatnonzero(free & (group == g)) for g in np.unique(group[free])]
    pops = [float(units.population[idx].sum()) for idx in groups]
    ks = [k] if group is None else split_groups(pops, k, band)
    if ks is None or any(not band[0] * kk <= p <= band[1] * kk for kk, p in zip(ks, pops, strict=True)):
        raise InfeasibleError(f"{k} neighbourhoods inside {band[0]:,.0f}–{band[1]:,.0f} cannot hold {sum(pops):,.0f} residents"
                              + (" split by locality" if group is not None else ""))  # fmt: skip
    start = 0
    for idx, kk, p in zip(groups, ks, pops, strict=True):
        target = p / kk
        eps = min(band[1] / target - 1, 1 - band[0] / target) * 0.999
        graph = _graph(units, idx)
        try:
            got = gc_parts.recursive_tree_part(graph, range(kk), target, "population", eps,
                                               bipartition_tree_fn=partial(gc_tree.bipartition_tree, max_attempts=20_000),
                                               rng=rng)  # fmt: skip
        except Exception as exc:  # GerryChain raises its own error types when no balanced cut is found
            raise InfeasibleError(f"GerryChain found no partition of {len(idx)} {units.plural} into {kk} inside the band ({exc})") from exc
        for node, part in got.items():
            labels[int(node)] = start + int(part)
        start += kk
    return labels


@dataclass(frozen=True)
class ChainResult:
    """The plans a ReCom chain visited (one row of unit labels per step) and how it went."""

    labels: np.ndarray
    proposed: int
    accepted: int
    seconds: float
    seed: int


def recom_chain(
    units: Units,
    start: np.ndarray,
    k: int,
    band: tuple[float, float],
    steps: int,
    *,
    seed: int,
    group: np.ndarray | None = None,
    stop: Callable[[], bool] | None = None,
) -> ChainResult:
    """Run a ReCom chain of `steps` plans from `start` (labels of the free units 0..k-1, -1 for locked units).

    Every state kept is valid: contiguous (spanning-tree cuts), inside the band (the
    balance test), nested where `group` is given (rejected otherwise). Returns one row
    of labels per step (the chain's state after each proposal, repeats included).
    """
    gc = design_extra("gerrychain")
    free = np.flatnonzero(start >= 0)
    graph = _graph(units, free)
    target, eps = (band[0] + band[1]) / 2, (band[1] - band[0]) / (band[0] + band[1])
    assignment = {int(i): int(start[i]) for i in free}
    part = gc.Partition(graph, assignment, {"population": gc.updaters.Tally("population", alias="population")})
    constraints = []
    if group is not None:
        grp = {int(i): group[i] for i in free}
        constraints.append(lambda p: all(len({grp[n] for n in nodes}) == 1 for nodes in p.parts.values()))
    proposal = partial(gc.proposals.recom, pop_col="population", pop_target=target, epsilon=eps * 0.999999)
    chain = gc.MarkovChain(proposal, constraints, gc.accept.always_accept, part, steps + 1, rng=seed)
    out = np.full((steps, units.n), -1, dtype=np.int16)
    order = np.asarray(free)
    t0 = time.monotonic()
    accepted, prev = 0, None
    for r, state in enumerate(chain):
        if r == 0:
            prev = state
            continue
        if stop is not None and r % 50 == 0 and stop():
            out = out[: r - 1]
            break
        if state is not prev:
            accepted += 1
        prev = state
        a = state.assignment
        out[r - 1, order] = [a[int(i)] for i in order]
    return ChainResult(out, len(out), accepted, time.monotonic() - t0, seed)


def _chain_task(units: Units, start: np.ndarray, k: int, band: tuple[float, float], steps: int, seed: int, group: Any) -> ChainResult:
    return recom_chain(units, start, k, band, steps, seed=seed, group=group)


def _shard_task(space: PlanSpace, prefix: list[int], k: int, scorer: PlanScorer, fixed: np.ndarray) -> Any:
    plans = space.plans_from(prefix, k)
    full = np.where(plans >= 0, plans, fixed[None, :]) if len(plans) else plans
    return scorer.score(full, k + int(fixed.max()) + 1 if (fixed >= 0).any() else k), full


def dask_client(workers: int | None = None, scheduler: str | None = None) -> tuple[Any, Any]:
    """Return a Dask client (and the local cluster it made, else None): `scheduler` if given, else a local cluster of `workers` processes."""
    dist = design_extra("distributed")
    if scheduler:
        try:
            return dist.Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as exc:
            raise PlacekitError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); check the address (e.g. tcp://host:8786).") from exc
    cluster = dist.LocalCluster(n_workers=int(workers or 1), threads_per_worker=1, processes=True, dashboard_address=None)
    return dist.Client(cluster), cluster


def run_chains(
    units: Units,
    starts: Sequence[np.ndarray],
    k: int,
    band: tuple[float, float],
    steps: Sequence[int],
    seeds: Sequence[int],
    *,
    group: np.ndarray | None = None,
    client: Any = None,
) -> list[ChainResult]:
    """Run one ReCom chain per start (with its steps and seed), on the Dask `client` when given, else here one after another."""
    if client is None:
        return [recom_chain(units, s, k, band, n, seed=sd, group=group) for s, n, sd in zip(starts, steps, seeds, strict=True)]
    futures = client.map(_chain_task, [units] * len(starts), list(starts), [k] * len(starts), [band] * len(starts), list(steps),
                         list(seeds), [group] * len(starts), pure=False)  # fmt: skip
    return client.gather(futures)


def score_shards(space: PlanSpace, k_free: int, scorer: PlanScorer, fixed: np.ndarray, *, client: Any) -> list[Any]:
    """List and score the plans of `space` shard by shard (one shard per first block) on the Dask `client`; return (scores, labels) per shard."""
    shards = space.shard_paths(k_free)
    futures = client.map(_shard_task, [space] * len(shards), shards, [k_free] * len(shards), [scorer] * len(shards),
                         [fixed] * len(shards), pure=False)  # fmt: skip
    return client.gather(futures)
