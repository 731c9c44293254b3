"""Rank a plan among every valid alternative: exactly where the plans can be listed, by sampling beyond.

Where the valid plans can be listed (wards: :mod:`boundaries.planspace`) every one is
scored and the plan's percentile on each figure is exact. Where they are too many to list
but the cover states are not, plans are drawn independently and uniformly from the exact
space. Beyond (LSOAs), a ReCom chain (GerryChain, :mod:`boundaries.recom`) samples plans
under the same hard constraints, with its acceptance rate and the effective sample size of
each figure. Every plan is scored by :class:`boundaries.planscore.PlanScorer`.

A plan's percentile on a figure is the share of the ensemble below it, counting ties as
half (mid-rank), 0–100.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from boundaries.baseline import is_pcn_baseline, place_baseline
from boundaries.design import MAX_LISTED, PCN_BASELINE_RELEASE, Constraints, InfeasiblePlanError, constraints_for, infeasibility
from boundaries.grouping import Grouping
from boundaries.planscore import MEASURES, grouping_scores
from boundaries.planspace import NotListableError, plan_space
from boundaries.recom import dask_client, design_extra, run_chains, score_shards, seed_plan
from boundaries.units import Units, plan_units, unit_parts
from geo.model import Place
from geo.national import national_place
from placekit.errors import PlacekitError
from placekit.files import replace_atomically
from placekit.settings import BAND_MAX, BAND_MIN

__all__ = ["Ensemble", "plan_ensemble", "grouping_scores", "percentile_of", "effective_sample_size", "write_ensemble", "HIGHER_IS_BETTER",
           "ensembles_for_places", "national_baseline", "PLACE_COLUMNS"]

#: Figures where a higher value is better (population deviation is the one where lower is better).
HIGHER_IS_BETTER = {m: m != "population_deviation" for m in MEASURES}


def percentile_of(values: np.ndarray, x: float) -> float:
    """Return the percentile (0–100) of `x` among `values`: the share below it, ties counting half."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v) or not np.isfinite(x):
        return float("nan")
    return float(100 * ((v < x).sum() + 0.5 * (v == x).sum()) / len(v))


def effective_sample_size(x: np.ndarray) -> float:
    """Return the effective sample size of a chain's trace (Geyer's initial positive sequence of autocorrelations)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n < 4 or np.var(x) == 0:
        return float(n) if n and np.var(x) == 0 else float("nan")
    y = x - x.mean()
    f = np.fft.rfft(y, 2 * n)
    acf = np.fft.irfft(f * np.conj(f))[:n] / (np.arange(n, 0, -1) * np.var(x))
    total = 0.0
    for t in range(0, n - 1, 2):
        pair = acf[t] + acf[t + 1]
        if pair <= 0:
            break
        total += pair
    tau = max(2 * total - 1, 1.0)
    return float(n / tau)


@dataclass(frozen=True)
class Ensemble:
    """Every valid plan scored (or a sample of them), and where one plan ranks.

    Attributes
    ----------
    scores
        One row per plan: every figure of :data:`boundaries.planscore.MEASURES`.
    plan
        The ranked grouping's figures.
    exact
        True when every valid plan is in `scores` (percentiles exact).
    method
        How the plans were found, in words.
    acceptance, ess
        For a chain: the share of proposals that moved, and the effective sample size of
        each figure; None otherwise.
    """

    scores: pd.DataFrame
    plan: pd.Series
    exact: bool
    method: str
    k: int
    units: str
    population_label: str
    band: tuple[float, float]
    seconds: float
    workers: int = 1
    acceptance: float | None = None
    ess: dict[str, float] | None = None
    labels: np.ndarray | None = None
    plan_name: str = ""
    notes: list[str] = field(default_factory=list)
    place_name: str = ""

    def percentile(self, measure: str) -> float:
        """Return the plan's percentile (0–100) on `measure` among the ensemble's plans."""
        return percentile_of(self.scores[measure].to_numpy(), float(self.plan[measure]))

    def beat_on_both(self, stat: str = "mean") -> int:
        """Return how many plans beat the plan on both containment measures at once (their `stat`: mean, min or city)."""
        lc, rc = f"list_containment_{stat}", f"resident_containment_{stat}"
        return int(((self.scores[lc] > self.plan[lc]) & (self.scores[rc] > self.plan[rc])).sum())

    def summary(self) -> dict:
        """Return the JSON summary: plans, exact, and per measure the plan's value, percentile and the ensemble's min, median, max."""
        measures = {}
        for m in MEASURES:
            v = self.scores[m].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            stats = (np.min(v), np.median(v), np.max(v)) if len(v) else (np.nan, np.nan, np.nan)
            measures[m] = {"plan": _num(self.plan[m]), "percentile": _num(self.percentile(m)), "min": _num(stats[0]),
                           "median": _num(stats[1]), "max": _num(stats[2]), "higher_is_better": HIGHER_IS_BETTER[m]}  # fmt: skip
        out = {"plans": int(len(self.scores)), "exact": bool(self.exact), "method": self.method, "neighbourhoods": self.k,
               "units": self.units, "population_base": self.population_label, "band": [int(self.band[0]), int(self.band[1])],
               "plan": self.plan_name, "place": self.place_name, "measures": measures,
               "beat_on_both": {s: self.beat_on_both(s) for s in ("mean", "min", "city")}, "seconds": round(self.seconds, 3),
               "workers": self.workers}  # fmt: skip
        if self.acceptance is not None:
            out["acceptance_rate"] = _num(self.acceptance)
        if self.ess is not None:
            out["effective_sample_size"] = {m: _num(v) for m, v in self.ess.items()}
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def _num(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 6)


def _exact(c: Constraints, space, client) -> tuple[pd.DataFrame, np.ndarray]:
    scorer = c.scorer()
    if client is None:
        plans = c.full(space.plans(c.k_free, limit=MAX_LISTED).astype(np.int64))
        return scorer.score(plans, c.k), plans
    parts = score_shards(space, c.k_free, scorer, c.fixed, client=client)
    scores = pd.concat([p[0] for p in parts if len(p[1])], ignore_index=True)
    return scores, np.vstack([p[1] for p in parts if len(p[1])]).astype(np.int64)


def _one_plan(c: Constraints) -> np.ndarray:
    """Return the only plan with one free neighbourhood (every free unit in it), as a one-row array.

    A chain cannot sample it (ReCom merges and splits two neighbourhoods) and there is nothing to list.

    Raises
    ------
    InfeasiblePlanError
        When the free units are in separate parts, outside the band, or split between localities.
    """
    u = c.units
    plan = c.full(np.where(c.free, 0, -1).astype(np.int64))
    pop = float(u.population[c.free].sum())
    why = []
    if not c.band[0] <= pop <= c.band[1]:
        why.append(f"their {pop:,.0f} {u.population_label} are outside {c.band[0]:,.0f}–{c.band[1]:,.0f}")
    if unit_parts(plan, u)[0] > 1:
        why.append(f"the {u.plural} are in {unit_parts(plan, u)[0]} separate parts")
    if c.group is not None and len(np.unique(c.group[c.free])) > 1:
        why.append("they span more than one locality (--keep-localities)")
    if why:
        raise InfeasiblePlanError(f"no valid plan puts the {int(c.free.sum())} free {u.plural} in one neighbourhood: {'; '.join(why)}.")
    return plan[None]


def _chains(c: Constraints, n: int, seed: int, client, workers: int) -> tuple[pd.DataFrame, np.ndarray, float, dict[str, float]]:
    chains = max(1, workers)
    steps = [n // chains + (1 if i < n % chains else 0) for i in range(chains)]
    starts = [seed_plan(c.units, c.k_free, c.band, free=c.free, group=c.group, rng=random.Random(seed + i)) for i in range(chains)]
    results = run_chains(c.units, starts, c.k_free, c.band, steps, [seed + i for i in range(chains)], group=c.group, client=client)
    labels = np.vstack([c.full(r.labels.astype(np.int64)) for r in results])
    scores = c.scorer().score(labels, c.k)
    accepted = sum(r.accepted for r in results) / max(1, sum(r.proposed for r in results))
    ess = {}
    cuts = np.cumsum([0, *[len(r.labels) for r in results]])
    for m in MEASURES:
        ess[m] = float(sum(effective_sample_size(scores[m].to_numpy()[a:b]) for a, b in zip(cuts[:-1], cuts[1:], strict=True)))
    return scores, labels, accepted, ess


def plan_ensemble(
    place: Place,
    grouping: Grouping,
    *,
    k: int | None = None,
    population: str = "census2021",
    band: tuple[float, float] = (BAND_MIN, BAND_MAX),
    keep_localities: bool = False,
    lock: Sequence[str] = (),
    plans: int = 10_000,
    units: str = "ward",
    seed: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    unit_set: Units | None = None,
    progress: Callable[[str], None] | None = None,
) -> Ensemble:
    """Score every valid plan of `k` neighbourhoods (or a sample of `plans`) and rank `grouping` among them.

    Parameters
    ----------
    grouping
        The plan to rank (its practice rule and explicit assignments count for its own figures;
        the ensemble's plans follow its rule).
    k
        Number of neighbourhoods of the ensemble (default: the grouping's).
    units
        ``ward`` (listed exactly, or sampled uniformly from the exact space) or ``lsoa`` (ReCom).
    workers, scheduler
        Run the shards (exact) or the chains (ReCom, one per worker) on a Dask cluster: a
        local one of `workers` processes, or the scheduler at `scheduler`.

    Raises
    ------
    InfeasiblePlanError
        When no valid plan has `k` neighbourhoods (the reason and what works).
    """
    # length: one pipeline (constraints → listing, uniform sampling or chains, on a cluster or here → the ranked summary)
    t0 = time.monotonic()
    u = unit_set if unit_set is not None else plan_units(place, kind=units, population=population)
    k = k or len(grouping.neighbourhoods)
    c = constraints_for(u, grouping, k, band=band, lock=lock, keep_localities=keep_localities)
    use_cluster = bool(scheduler) or (workers or 1) > 1
    client, cluster = dask_client(workers, scheduler) if use_cluster else (None, None)
    nworkers = len(client.scheduler_info()["workers"]) if client is not None else 1
    acceptance = ess = None
    notes: list[str] = []
    if is_pcn_baseline(grouping):
        notes.append(f"{grouping.name!r} is scored with its PCN teams as they stand; in the plans it is ranked among, {PCN_BASELINE_RELEASE}")
    try:
        space = None
        if u.kind == "ward":
            try:
                space = plan_space(u.population, u.neighbours, c.band[0], c.band[1], free=c.free, group=c.group)
            except NotListableError as exc:
                notes.append(f"the ward plans could not be listed ({exc}); sampled by ReCom instead")
        if space is not None and space.count(c.k_free) == 0:
            raise infeasibility(c, space, place=place, start=grouping)
        if space is None and c.k_free == 1:
            labels = _one_plan(c)
            scores, exact, method = c.scorer().score(labels, c.k), True, "the only plan: every free unit in one neighbourhood"
        elif space is not None and space.count(c.k_free) <= MAX_LISTED:
            scores, labels = _exact(c, space, client)
            exact, method = True, f"every valid plan listed and scored ({len(scores):,} plans)"
        elif space is not None:
            labels = c.full(space.sample(c.k_free, plans, random.Random(seed)).astype(np.int64))
            scores = c.scorer().score(labels, c.k)
            exact = False
            method = f"{plans:,} plans drawn independently and uniformly from all {space.count(c.k_free):,} valid plans (seed {seed})"
        else:
            scores, labels, acceptance, ess = _chains(c, plans, seed, client, nworkers)
            exact = False
            method = f"ReCom chain(s) (GerryChain), {len(scores):,} plans in {max(1, nworkers)} chain(s), seed {seed}"
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    return Ensemble(scores=scores, plan=grouping_scores(u, grouping), exact=exact, method=method, k=k, units=u.kind,
                    population_label=u.population_label, band=c.band, seconds=time.monotonic() - t0, workers=nworkers,
                    acceptance=acceptance, ess=ess, labels=labels, plan_name=grouping.name, notes=notes,
                    place_name=place.label)  # fmt: skip


def write_ensemble(ens: Ensemble, path: str | Path, *, codes: Sequence[str] | None = None) -> Path:
    """Write the ensemble's plans (one row each: every figure, and the plan's unit labels) as Parquet, the summary in its metadata.

    Written atomically: a failed write leaves any old file as it was.
    """
    path = Path(path)
    if path.suffix.lower() != ".parquet":
        raise PlacekitError(f"cannot write {path.name}: the ensemble is written as Parquet; use a .parquet name.")
    df = ens.scores.copy()
    if ens.labels is not None:
        df["labels"] = [",".join(map(str, row)) for row in ens.labels]
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = {b"placekit.ensemble": json.dumps(ens.summary()).encode(), b"placekit.units": json.dumps(list(codes or [])).encode()}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    return replace_atomically(path, lambda tmp: pq.write_table(table, tmp))


def national_baseline(root: str | Path, code: str, *, allow_data_loss: bool = False) -> tuple[Place, Grouping]:
    """Return the English local authority `code` built from the national files under `root`, and its PCN baseline.

    The loader :func:`ensembles_for_places` calls for each authority (``functools.partial(national_baseline, root, code)``
    is picklable, so it runs on a Dask worker; the worker reads the place from ``$PLACEKIT_HOME``'s cache when built before).
    """
    place = national_place(root, code, allow_data_loss=allow_data_loss)
    return place, place_baseline(place)


#: Columns of the table :func:`ensembles_for_places` returns (and writes as ``ensembles.csv`` beside the Parquet files).
PLACE_COLUMNS = ["code", "name", "status", "plans", "exact", "neighbourhoods", "list_containment_city", "list_containment_city_percentile",
                 "resident_containment_city", "resident_containment_city_percentile", "seconds", "detail"]  # fmt: skip


def _row(code: str, status: str, summary: dict | None, seconds: float, detail: str = "", name: str = "") -> dict:
    """Return one place's row of :data:`PLACE_COLUMNS` from its ensemble summary (None when it has none)."""
    m = (summary or {}).get("measures", {})
    lc, rc = m.get("list_containment_city", {}), m.get("resident_containment_city", {})
    return {"code": code, "name": name, "status": status, "plans": (summary or {}).get("plans"), "exact": (summary or {}).get("exact"),
            "neighbourhoods": (summary or {}).get("neighbourhoods"), "list_containment_city": lc.get("plan"),
            "list_containment_city_percentile": lc.get("percentile"), "resident_containment_city": rc.get("plan"),
            "resident_containment_city_percentile": rc.get("percentile"), "seconds": round(seconds, 2), "detail": detail}  # fmt: skip


def _written_summary(path: Path) -> dict | None:
    """Return the ensemble summary a finished place's Parquet file carries, or None when the file cannot be read as one."""
    try:
        meta = pq.read_schema(path).metadata or {}
        return json.loads(meta[b"placekit.ensemble"])
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return None


def _place_task(code: str, loader: Callable[[], tuple[Place, Grouping]], out: Path, options: dict) -> dict:
    """Run one place's ensemble and write it (a task of :func:`ensembles_for_places`; top level so Dask can send it)."""
    t0 = time.monotonic()
    try:
        place, grouping = loader()
        ens = plan_ensemble(place, grouping, **options)
        write_ensemble(ens, out)
        return _row(code, "done", ens.summary(), time.monotonic() - t0, name=place.name)
    except PlacekitError as exc:
        return _row(code, "refused", None, time.monotonic() - t0, detail=str(exc))


def ensembles_for_places(
    loaders: dict[str, Callable[[], tuple[Place, Grouping]]],
    out_dir: str | Path,
    *,
    client: Any = None,
    progress: Callable[[dict], None] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Run one ensemble per place and write ``<code>.parquet`` for each into `out_dir`; resumable.

    Parameters
    ----------
    loaders
        Place code (e.g. an authority's ``E08000003``) → a function returning (place, grouping to
        rank); it must be picklable (a ``functools.partial`` of a module-level function such as
        :func:`national_baseline`) to run on a Dask cluster.
    client
        A Dask client (:func:`boundaries.recom.dask_client`): one place per task across the
        workers, gathered as they finish. None runs them here one after another.
    progress
        Called with each place's row as it is known (skipped ones first, then each as it finishes).
    options
        Passed to :func:`plan_ensemble` (``population``, ``band``, ``units``, ``plans``, ``seed``, ...).

    Returns
    -------
    pandas.DataFrame
        One row per place (:data:`PLACE_COLUMNS`): ``status`` is ``done``, ``skipped`` (its file
        was written by an earlier run: its figures are read back from the file's summary) or
        ``refused`` (no valid plan, or bad data, with ``detail``). Each file is written atomically
        as its place finishes, so a run stopped part-way resumes where it was. The same table is
        written to ``ensembles.csv`` in `out_dir`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, todo = [], []
    tell = progress or (lambda row: None)
    for code, loader in loaders.items():
        path = out_dir / f"{code}.parquet"
        summary = _written_summary(path) if path.exists() else None
        if summary is not None:
            rows.append(_row(code, "skipped", summary, 0.0, detail=f"{path.name} written by an earlier run", name=summary.get("place", "")))
            tell(rows[-1])
        else:
            todo.append((code, loader, path))
    if client is None:
        for code, loader, path in todo:
            rows.append(_place_task(code, loader, path, options))
            tell(rows[-1])
    elif todo:
        futures = client.map(_place_task, *zip(*todo, strict=True), [options] * len(todo), pure=False)
        for future in design_extra("distributed").as_completed(futures):
            rows.append(future.result())
            tell(rows[-1])
    order = {code: i for i, code in enumerate(loaders)}
    table = pd.DataFrame(rows, columns=PLACE_COLUMNS).sort_values("code", key=lambda c: c.map(order), kind="stable").reset_index(drop=True)
    table = table.astype({"plans": "Int64", "neighbourhoods": "Int64", "exact": "boolean"})  # a refused place has none: blank, not NaN
    replace_atomically(out_dir / "ensembles.csv", lambda tmp: table.to_csv(tmp, index=False, lineterminator="\n"))
    return table
