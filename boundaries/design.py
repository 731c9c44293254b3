"""Propose neighbourhoods: the best valid grouping of a place's wards (exactly) or LSOAs (by local search).

Hard constraints, on every plan proposed: each neighbourhood contiguous (units sharing a
boundary), inside the population band on the stated base, inside one locality where asked
(``keep_localities``), locked neighbourhoods unchanged, practices placed by the start
grouping's rule.

Where the valid plans can be listed (:mod:`boundaries.planspace`: Manchester's wards in a
few milliseconds), every one is scored and the result is the proven optimum ("optimal
among N valid plans"); when they are too many to list but the objective adds up over
neighbourhoods, dynamic programming over the same cover states finds the optimum without
listing them. Beyond (LSOAs, or rules whose practice membership depends on the whole
plan), a local search (:func:`boundaries.search.anneal`) improves a valid start plan:
the best ward plan when one exists with the same number of neighbourhoods, else
GerryChain's recursive tree partition; it gives no bound. A request no valid plan meets
is refused (:class:`InfeasiblePlanError`) with the reason in terms of the units' sizes and
contiguity and the alternatives that work, computed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from boundaries.baseline import is_pcn_baseline
from boundaries.grouping import Grouping
from boundaries.planscore import PlanScorer, check_objective, grouping_scores, objective_column
from boundaries.planspace import NotListableError, PlanSpace, SearchStopped, connected_blocks, plan_space
from boundaries.recom import seed_plan
from boundaries.search import anneal, is_valid_plan
from boundaries.units import Units, grouping_labels, lsoa_population, plan_units, unit_parts
from geo.model import Place
from placekit.errors import InfeasibleError, PlacekitError
from placekit.settings import BAND_MAX, BAND_MIN

__all__ = [
    "InfeasiblePlanError",
    "DesignResult",
    "Constraints",
    "MAX_LISTED",
    "SEARCH_PROPOSALS",
    "constraints_for",
    "design_plan",
    "design_units",
    "feasible_counts",
    "infeasibility",
    "plan_grouping",
    "parse_band",
    "PCN_BASELINE_RELEASE",
]

#: Most plans listed and scored one by one; beyond, the optimum comes from dynamic programming or a search.
MAX_LISTED = 1_000_000
#: What plans redrawn from a PCN baseline do with its practices, as a design's and an ensemble's notes say it. Its pins tie each
#: practice to its PCN's neighbourhood by name; once the wards move they say nothing about the PCN. Keeping PCNs whole instead
#: (the pcn rule) was measured and refused: it leaves whole neighbourhoods with no practice (Kingston upon Thames, 4 and 5
#: neighbourhoods; Manchester, 13: resident containment 0% there) and costs 5-10 points of list containment.
PCN_BASELINE_RELEASE = (
    "practices follow the premises rule, so a PCN can be split (keeping every PCN whole instead leaves some neighbourhoods with "
    "no practice at all)"
)
#: Flips a local search proposes by default (a fixed budget keeps a seed's plan the same on any machine).
SEARCH_PROPOSALS = 200_000


class InfeasiblePlanError(InfeasibleError):
    """No valid plan meets the request; ``alternatives`` holds what does work, computed."""

    def __init__(self, message: str, *, alternatives: dict | None = None) -> None:
        super().__init__(message)
        self.alternatives = alternatives or {}


def parse_band(text: str) -> tuple[int, int]:
    """Return the band of ``"30000-50000"`` (also ``30,000–50,000``) as (low, high).

    Raises
    ------
    PlacekitError
        When it is not two whole numbers, low below high, both above 0.
    """
    raw = str(text).replace(",", "").replace("–", "-").replace(" ", "")
    lo, sep, hi = raw.partition("-")
    if not sep or not lo.isdigit() or not hi.isdigit() or not 0 < int(lo) < int(hi):
        raise PlacekitError(f"--band {text!r} is not a band: give two whole numbers of residents, low then high, e.g. --band 30000-50000.")
    return int(lo), int(hi)


@dataclass(frozen=True, eq=False)
class Constraints:
    """The hard constraints of a design or an ensemble over `units`, from a start grouping.

    Attributes
    ----------
    k
        Number of neighbourhoods of the plans (locked ones included).
    band
        Residents per neighbourhood, low and high (the units' base).
    locked
        Names of the start grouping's neighbourhoods kept as they are.
    free
        Units not in a locked neighbourhood.
    fixed
        Per unit, the label a locked unit keeps (k_free .. k-1), -1 for free units.
    group
        Per unit, its locality's position when neighbourhoods nest in localities, else None.
    group_names
        Locality names, by position.
    pinned
        Per practice of the flow base, a unit whose neighbourhood the practice follows
        (explicit assignments to locked neighbourhoods), -1 otherwise.
    """

    units: Units
    k: int
    band: tuple[float, float]
    locked: tuple[str, ...]
    free: np.ndarray
    fixed: np.ndarray
    group: np.ndarray | None
    group_names: tuple[str, ...]
    pinned: np.ndarray
    rule: str

    @property
    def k_free(self) -> int:
        """Return the number of neighbourhoods to draw from the free units."""
        return self.k - len(self.locked)

    def scorer(self) -> PlanScorer:
        """Return the scorer of plans under these constraints (the start's rule, practices pinned to locked neighbourhoods)."""
        return PlanScorer(self.units, rule=self.rule, pinned=self.pinned)

    def full(self, labels: np.ndarray) -> np.ndarray:
        """Return plans of the free units (labels 0..k_free-1, -1 elsewhere) with the locked units' labels filled in."""
        return np.where(labels >= 0, labels, self.fixed)


def _lock_positions(start: Grouping, labels: np.ndarray, names: list[str], lock: Sequence[str], units: Units) -> list[int]:
    unknown = [n for n in lock if n not in names]
    if unknown:
        raise PlacekitError(f"--lock names neighbourhood(s) {unknown} that the start grouping {start.name!r} does not have; "
                            f"lock some of {names}.")  # fmt: skip
    return [names.index(n) for n in lock]


def _check_locks(units: Units, labels: np.ndarray, names: list[str], lock_pos: list[int], band: tuple[float, float]) -> None:
    parts = unit_parts(labels, units)
    problems = []
    for p in lock_pos:
        pop = units.population[labels == p].sum()
        if not band[0] <= pop <= band[1]:
            problems.append(f"locked neighbourhood {names[p]!r} has {pop:,.0f} {units.population_label}, outside "
                            f"{band[0]:,.0f}–{band[1]:,.0f}")  # fmt: skip
        if parts[p] != 1:
            problems.append(f"locked neighbourhood {names[p]!r} is in {parts[p]} separate parts")
    if problems:
        raise InfeasiblePlanError("a locked neighbourhood breaks a hard constraint, so no valid plan can keep it: "
                                  + "; ".join(problems) + ". Unlock it (drop it from --lock) or widen the band.")  # fmt: skip


def _pins(units: Units, start: Grouping, labels: np.ndarray, names: list[str], lock_pos: list[int]) -> np.ndarray:
    """Pin practices assigned explicitly to a locked neighbourhood to one of its units."""
    base = units.base
    pinned = np.full(len(base.practices), -1, dtype=np.int64)
    locked = {names[p]: int(np.flatnonzero(labels == p)[0]) for p in lock_pos}
    for code, nb in start.practice_to_neighbourhood.items():
        if nb in locked and code in base.practice_position:
            pinned[base.practice_position[code]] = locked[nb]
    return pinned


def constraints_for(
    units: Units,
    start: Grouping,
    k: int,
    *,
    band: tuple[float, float] = (BAND_MIN, BAND_MAX),
    lock: Sequence[str] = (),
    keep_localities: bool = False,
) -> Constraints:
    """Return the hard constraints of plans of `k` neighbourhoods of `units`, from the `start` grouping.

    Raises
    ------
    PlacekitError
        `k` below 1 or below the number of locks, a lock the start does not have.
    InfeasiblePlanError
        A locked neighbourhood outside the band or not contiguous (it is named).
    """
    if int(k) != k or k < 1:
        raise PlacekitError(f"--neighbourhoods {k!r} is not allowed: give a whole number of at least 1, e.g. --neighbourhoods 13.")
    labels, names = grouping_labels(start, units)
    lock_pos = _lock_positions(start, labels, names, list(dict.fromkeys(lock)), units)
    if len(lock_pos) > k:
        raise PlacekitError(f"--lock keeps {len(lock_pos)} neighbourhoods, more than the {k} asked for; lock fewer or ask for more.")
    _check_locks(units, labels, names, lock_pos, band)
    k_free = k - len(lock_pos)
    fixed = np.full(units.n, -1, dtype=np.int64)
    for i, p in enumerate(lock_pos):
        fixed[labels == p] = k_free + i
    group, gnames = None, ()
    if keep_localities:
        loc = [start.neighbourhood_to_locality[names[p]] for p in labels]
        codes, uniq = pd.factorize(pd.Series(loc))
        group, gnames = codes.astype(np.int64), tuple(uniq)
    return Constraints(units=units, k=int(k), band=(float(band[0]), float(band[1])), locked=tuple(names[p] for p in lock_pos),
                       free=fixed < 0, fixed=fixed, group=group, group_names=gnames, pinned=_pins(units, start, labels, names, lock_pos),
                       rule=start.practice_rule)  # fmt: skip


def feasible_counts(units: Units, band: tuple[float, float], *, free: np.ndarray | None = None, group: np.ndarray | None = None) -> dict[int, int]:
    """Return {number of neighbourhoods: number of valid plans} of the (free) units, exactly (raises NotListableError when too many)."""
    return plan_space(units.population, units.neighbours, band[0], band[1], free=free, group=group).totals


def _space(c: Constraints, band: tuple[float, float] | None = None, population: np.ndarray | None = None, **kw) -> PlanSpace:
    pop = c.units.population if population is None else population
    b = c.band if band is None else band
    return plan_space(pop, c.units.neighbours, b[0], b[1], free=c.free, group=c.group, **kw)


@dataclass(frozen=True)
class DesignResult:
    """A proposed grouping and how it was found.

    Attributes
    ----------
    grouping
        The proposed grouping (a plan of LSOAs lists its LSOAs, :attr:`Grouping.lsoa_to_neighbourhood`).
    exact
        True when it is the proven optimum among every valid plan.
    method
        How it was found, in words.
    plans
        How many valid plans there are (exact methods), else None.
    column
        The score column maximised (e.g. ``list_containment_city``).
    start_scores, scores
        Every figure of :data:`boundaries.planscore.MEASURES` for the start grouping and the result.
    table
        One row per neighbourhood of the result: locality, units, residents (the base),
        registered list, contained, list and resident containment.
    moved
        One row per unit whose neighbourhood changed: code, name, from, to.
    seconds
        Time searched.
    stopped
        Why the search stopped early ("time limit", "stop requested"), "" when it ran its course.
    notes
        What the user should know (practices released, a start plan for the search, ...).
    """

    grouping: Grouping
    exact: bool
    method: str
    plans: int | None
    column: str
    start_scores: pd.Series
    scores: pd.Series
    table: pd.DataFrame
    moved: pd.DataFrame
    seconds: float
    stopped: str = ""
    units: str = "ward"
    population_label: str = ""
    counts: dict[int, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    labels: np.ndarray | None = None


def _rank_key(scores: pd.DataFrame, column: str) -> np.ndarray:
    """Return the row of the best plan: highest `column`, ties by city-wide list containment, then the lowest neighbourhood."""
    cols = [column, "list_containment_city", "list_containment_min", "resident_containment_city"]
    order = np.lexsort(tuple(-scores[c].fillna(-np.inf).to_numpy() for c in reversed(cols)))
    return order


def _best_listed(c: Constraints, space: PlanSpace, column: str, deadline: float | None) -> tuple[np.ndarray, int]:
    plans = c.full(space.plans(c.k_free, limit=MAX_LISTED, deadline=deadline).astype(np.int64))
    scores = c.scorer().score(plans, c.k)
    return plans[_rank_key(scores, column)[0]], len(plans)


def _best_dp(c: Constraints, space: PlanSpace, objective: str, measure: str) -> np.ndarray | None:
    """Return the optimum by dynamic programming over the cover states (premises rule: every figure adds up over neighbourhoods)."""
    if c.rule != "premises":
        return None
    v = c.scorer().block_values(space.blocks)
    denom = v["registered_list"] if objective == "list_containment" else v["residents_registered"]
    if (denom <= 0).any():
        return None  # a neighbourhood with no practice has no list containment: the mean would not add up
    ratio = (v["contained"] / denom).to_numpy()
    contained = v["contained"].to_numpy()
    if objective == "pcn_alignment":
        got = space.best_sum(c.k_free, np.c_[v["pcn_list"].to_numpy(), contained])
        path = got[1] if got else None
    elif measure == "city":
        got = space.best_sum(c.k_free, contained)
        path = got[1] if got else None
    elif measure == "mean":
        got = space.best_sum(c.k_free, np.c_[ratio, contained])
        path = got[1] if got else None
    else:
        got = space.best_min(c.k_free, ratio, contained)
        path = got[2] if got else None
    return None if path is None else c.full(space.labels(path))


def _start_plan(c: Constraints, rng: random.Random, place_units: Callable[[], Units] | None) -> tuple[np.ndarray, str]:
    """Return a valid start plan for the search: the best ward plan with the same count when there is one, else GerryChain's."""
    if c.units.kind == "lsoa" and place_units is not None and not c.locked and c.group is None:
        wards = place_units()
        try:
            space = plan_space(wards.population, wards.neighbours, c.band[0], c.band[1])
            if space.count(c.k):
                best, _ = _best_listed(constraints_for(wards, _identity_start(wards), c.k, band=c.band), space, "list_containment_city", None)
                lab = best[pd.Index(wards.codes).get_indexer(c.units.ward)]
                if not is_valid_plan(lab, c.units, c.k, c.band):
                    return lab, "the best plan of whole wards (list containment, city-wide)"
        except NotListableError:
            pass
    lab = seed_plan(c.units, c.k_free, c.band, free=c.free, group=c.group, rng=rng)
    return c.full(lab), "GerryChain's recursive tree partition (seeded)"


def _identity_start(units: Units) -> Grouping:
    return Grouping({w: "all" for w in units.codes}, {"all": "all"})


def _search(c: Constraints, column: str, *, seed: int, time_limit: float | None, proposals: int, stop, progress,
            place_units) -> tuple[np.ndarray, str, str, list[str]]:  # fmt: skip
    rng = random.Random(seed)
    start, how = _start_plan(c, rng, place_units)
    res = anneal(c.scorer(), start, c.k, c.band, column, movable=c.free, group=c.group, rng=rng, seconds=time_limit or 0,
                 max_proposals=proposals, stop=stop, progress=progress)  # fmt: skip
    method = (f"local search: simulated annealing over single-{c.units.kind} flips, {res.proposals:,} flips proposed, "
              f"{res.accepted:,} taken, seed {seed}; no optimality bound")  # fmt: skip
    return res.labels, method, res.stopped, [f"search started from {how}"]


def design_units(place: Place, kind: str, population: str) -> Units:
    """Return the units of a design (:func:`boundaries.units.plan_units`), named for the CLI and the app."""
    return plan_units(place, kind=kind, population=population)


def design_plan(
    place: Place,
    start: Grouping,
    *,
    k: int,
    band: tuple[float, float] = (BAND_MIN, BAND_MAX),
    population: str = "census2021",
    objective: str = "list_containment",
    measure: str = "city",
    units: str = "ward",
    lock: Sequence[str] = (),
    keep_localities: bool = False,
    localities: int | None = None,
    seed: int = 0,
    time_limit: float | None = None,
    proposals: int = SEARCH_PROPOSALS,
    stop: Callable[[], bool] | None = None,
    progress: Callable[[float, float], None] | None = None,
    unit_set: Units | None = None,
) -> DesignResult:
    """Propose the best valid grouping of `place` into `k` neighbourhoods (see the module's docstring).

    Parameters
    ----------
    start
        The grouping to start from: its localities (``keep_localities``), locked
        neighbourhoods, practice rule, and the names the result keeps where it matches.
    band
        Residents per neighbourhood on `population` (``census2021`` or ``mid2015``).
    objective, measure
        What to maximise (:data:`boundaries.planscore.OBJECTIVES`) and how it is summed
        over neighbourhoods (``mean``, ``min``, ``city``: the list-weighted share, which
        parking scattered practices in one neighbourhood cannot game).
    units
        ``ward`` (listed exactly where possible) or ``lsoa`` (local search).
    lock
        Names of `start`'s neighbourhoods kept as they are.
    localities
        Group the result's neighbourhoods into this many contiguous localities of balanced
        population (default: as many as `start` has); ignored with `keep_localities`.
    seed, time_limit, proposals
        The local search's seed, time limit (seconds; it then returns the best plan found and
        says so) and budget of flips; an exact listing stops at `time_limit` too.
    unit_set
        The units, when already built (the app keeps them).

    Raises
    ------
    InfeasiblePlanError
        When no valid plan meets the request: the reason and the alternatives (:func:`infeasibility`).
    """
    # length: one pipeline (constraints → exact listing, dynamic programming or search → grouping and figures), read top to bottom
    check_objective(objective, measure)
    t0 = time.monotonic()
    deadline = t0 + time_limit if time_limit else None
    u = unit_set if unit_set is not None else plan_units(place, kind=units, population=population)
    c = constraints_for(u, start, k, band=band, lock=lock, keep_localities=keep_localities)
    column = objective_column(objective, measure)
    notes: list[str] = []
    exact, plans, stopped, counts = False, None, "", {}
    best = None
    if u.kind == "ward":
        try:
            space = _space(c, stop=(lambda: deadline is not None and time.monotonic() > deadline) if deadline else stop)
            counts = space.totals
            if space.count(c.k_free) == 0:
                raise infeasibility(c, space, place=place, start=start)
            plans = space.count(c.k_free)
            if plans <= MAX_LISTED:
                best, _ = _best_listed(c, space, column, deadline)
                method = f"exact: every valid plan listed and scored (optimal among {plans:,} valid plans)"
            else:
                best = _best_dp(c, space, objective, measure)
                method = f"exact: dynamic programming over {space.states:,} cover states (optimal among {plans:,} valid plans)"
            exact = best is not None
        except (NotListableError, SearchStopped) as exc:
            notes.append(f"the plans could not all be listed ({exc}); searched instead")
            stopped = "time limit" if isinstance(exc, SearchStopped) else ""
    if best is None:
        left = None if deadline is None else max(0.5, deadline - time.monotonic())
        best, method, stopped2, more = _search(c, column, seed=seed, time_limit=left, proposals=proposals, stop=stop, progress=progress,
                                               place_units=lambda: plan_units(place, kind="ward", population=population))  # fmt: skip
        stopped, notes = stopped or stopped2, notes + more
    grouping, moved, gnotes = plan_grouping(c, best, start, localities=localities, name=f"Proposed: {k} neighbourhoods ({column})")
    if u.kind == "lsoa":
        notes.append("figures measured on LSOAs, before and after: a practice belongs to the neighbourhood of the LSOA its premises "
                     "stand in, so the start's figures differ a little from its figures on wards")  # fmt: skip
    start_scores = grouping_scores(u, start)
    scorer = c.scorer()
    result = scorer.score(best[None], c.k).iloc[0]
    if is_pcn_baseline(start):
        notes.append(f"PCN alignment (list-weighted share of practices whose whole PCN is in one neighbourhood): "
                     f"{start_scores['pcn_alignment']:.0%} in the PCN baseline, {result['pcn_alignment']:.0%} in this plan")  # fmt: skip
    return DesignResult(grouping=grouping, exact=exact, method=method, plans=plans, column=column, start_scores=start_scores,
                        scores=result, table=_table(c, best, grouping), moved=moved,
                        seconds=time.monotonic() - t0, stopped=stopped, units=u.kind, population_label=u.population_label,
                        counts=counts, notes=notes + gnotes, labels=best)  # fmt: skip


def _table(c: Constraints, labels: np.ndarray, grouping: Grouping) -> pd.DataFrame:
    contained, residents, lists, _ = c.scorer().counts(labels[None], c.k)
    pop = np.bincount(labels, weights=c.units.population, minlength=c.k)
    names = _label_names(c, labels, grouping)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame({
            "neighbourhood": names,
            "locality": [grouping.neighbourhood_to_locality[n] for n in names],
            c.units.plural: np.bincount(labels, minlength=c.k),
            "population": pop.round().astype(np.int64),
            "registered_list": lists[0].round().astype(np.int64),
            "contained": contained[0].round().astype(np.int64),
            "list_containment": np.where(lists[0] > 0, contained[0] / lists[0], np.nan),
            "resident_containment": np.where(residents[0] > 0, contained[0] / residents[0], np.nan),
        })  # fmt: skip
    out.attrs.update({"population_base": c.units.population_label})
    return out


def _label_names(c: Constraints, labels: np.ndarray, grouping: Grouping) -> list[str]:
    """Return the grouping's neighbourhood name of each label 0..k-1 (through any unit carrying it)."""
    first = [int(np.flatnonzero(labels == lab)[0]) for lab in range(c.k)]
    g_labels, g_names = grouping_labels(grouping, c.units)
    return [g_names[g_labels[i]] for i in first]


# --------------------------------------------------------------------------- the result as a grouping
def _names(c: Constraints, labels: np.ndarray, start: Grouping) -> list[str]:
    """Name each new neighbourhood after the start neighbourhood it shares most residents with (one each), else after its wards."""
    s_labels, s_names = grouping_labels(start, c.units)
    share = np.zeros((c.k, len(s_names)))
    np.add.at(share, (labels, s_labels), c.units.population)
    rows, cols = linear_sum_assignment(-share)
    out: list[str | None] = [None] * c.k
    for r, col in zip(rows, cols, strict=True):
        if share[r, col] > 0.5 * share[r].sum():
            out[r] = s_names[col]
    for i, lab in enumerate(range(c.k_free, c.k)):  # locked neighbourhoods keep their names
        out[lab] = c.locked[i]
    taken = {n for n in out if n}
    for lab in range(c.k):
        if out[lab] is None:
            out[lab] = _fresh_name(c, labels == lab, taken)
            taken.add(out[lab])
    return [str(n) for n in out]


def _fresh_name(c: Constraints, mask: np.ndarray, taken: set[str]) -> str:
    wards = pd.Series(c.units.population[mask], index=c.units.ward.to_numpy()[mask]).groupby(level=0).sum().sort_values(ascending=False)
    names = c.units.ward_names if c.units.ward_names is not None else c.units.names
    name = " & ".join(str(names.get(w, w)) for w in wards.index[:2])
    n, out = 2, name
    while out in taken:
        out, n = f"{name} ({n})", n + 1
    return out


def plan_grouping(
    c: Constraints, labels: np.ndarray, start: Grouping, *, localities: int | None = None, name: str = "Proposed plan"
) -> tuple[Grouping, pd.DataFrame, list[str]]:
    """Return a plan (unit labels 0..k-1) as a grouping, the units that moved and notes.

    Neighbourhoods keep the name of the start neighbourhood holding most of their residents
    (one each, locked ones their own); localities are the start's when they nest
    (``keep_localities``), else the neighbourhoods grouped into `localities` (default: as
    many as the start has) contiguous localities of balanced population. A plan of LSOAs
    puts each ward in the neighbourhood holding most of its residents and lists the other
    LSOAs explicitly. Practices follow the start's rule; explicit practice assignments are
    kept for locked neighbourhoods only (the others are released, and said so).
    """
    names = _names(c, labels, start)
    nb_of_unit = np.array(names, dtype=object)[labels]
    n2l, notes = _localities(c, labels, names, start, localities)
    if c.units.kind == "ward":
        w2n, l2n = dict(zip(c.units.codes, nb_of_unit, strict=True)), {}
    else:
        frame = pd.DataFrame({"ward": c.units.ward.to_numpy(), "nb": nb_of_unit, "pop": c.units.population + 1e-9})
        major = frame.groupby(["ward", "nb"])["pop"].sum().sort_values(ascending=False).reset_index().drop_duplicates("ward")
        w2n = dict(zip(major["ward"], major["nb"], strict=True))
        l2n = {code: nb for code, nb, w in zip(c.units.codes, nb_of_unit, frame["ward"], strict=True) if w2n.get(w) != nb}
    kept = {p: n for p, n in start.practice_to_neighbourhood.items() if n in c.locked}
    released = sorted(set(start.practice_to_neighbourhood) - set(kept))
    if released and is_pcn_baseline(start):
        notes.append(f"{len(released)} explicit practice assignment(s) of the PCN baseline released: {PCN_BASELINE_RELEASE}; "
                     "the pcn_alignment objective (--objective pcn_alignment) keeps PCNs together as far as the units allow")  # fmt: skip
    elif released:
        notes.append(f"{len(released)} explicit practice assignment(s) of the start released (their practices follow the "
                     f"{start.practice_rule} rule): {', '.join(released[:10])}")  # fmt: skip
    meta = {"designed_from": start.name or "start grouping", "units": c.units.kind, "band": f"{c.band[0]:.0f}-{c.band[1]:.0f}",
            "population_base": c.units.population_label}  # fmt: skip
    grouping = Grouping(w2n, n2l, name=name, ward_set=start.ward_set, meta=meta, practice_rule=start.practice_rule,
                        practice_to_neighbourhood=kept, lsoa_to_neighbourhood=l2n)  # fmt: skip
    s_labels, s_names = grouping_labels(start, c.units)
    was = np.array(s_names, dtype=object)[s_labels]
    moved_mask = was != nb_of_unit
    moved = pd.DataFrame({"code": c.units.codes[moved_mask], "name": c.units.names.reindex(c.units.codes[moved_mask]).to_numpy(),
                          "from": was[moved_mask], "to": nb_of_unit[moved_mask]})  # fmt: skip
    return grouping, moved, notes


def _localities(c: Constraints, labels: np.ndarray, names: list[str], start: Grouping, m: int | None) -> tuple[dict[str, str], list[str]]:
    """Return neighbourhood → locality: the start's when nested, else `m` contiguous balanced localities named after the start's."""
    if c.group is not None:
        return {names[lab]: c.group_names[int(c.group[np.flatnonzero(labels == lab)[0]])] for lab in range(c.k)}, []
    s_labels, s_names = grouping_labels(start, c.units)
    s_loc = pd.factorize(pd.Series([start.neighbourhood_to_locality[s_names[x]] for x in s_labels]))
    m = m or len(s_loc[1])
    pop = np.bincount(labels, weights=c.units.population, minlength=c.k)
    e = c.units.edges
    pairs = {(int(min(a, b)), int(max(a, b))) for a, b in zip(labels[e[:, 0]], labels[e[:, 1]], strict=True) if a != b}
    nbrs = [np.array(sorted({b for a, b in pairs if a == i} | {a for a, b in pairs if b == i}), dtype=np.int64) for i in range(c.k)]
    overlap = np.zeros((c.k, len(s_loc[1])))
    np.add.at(overlap, (labels, s_loc[0]), c.units.population)
    try:
        space = plan_space(pop, nbrs, 0, pop.sum(), max_blocks=50_000, max_states=100_000)
        blocks_dev = np.array([abs(pop[list(b)].sum() - pop.sum() / m) for b in space.blocks])
        kept = np.array([overlap[list(b)].max(axis=0).max() for b in space.blocks])
        got = space.best_min(m, -blocks_dev, kept) if space.count(m) else None
    except NotListableError:
        got = None
    if got is None:
        loc = overlap.argmax(axis=1)
        return {names[lab]: str(s_loc[1][loc[lab]]) for lab in range(c.k)}, [
            f"localities: no {m} contiguous localities found; each neighbourhood takes the start locality holding most of its residents"]
    groups = [space.blocks[b] for b in got[2]]
    gshare = np.array([overlap[list(g)].sum(axis=0) for g in groups])
    rows, cols = linear_sum_assignment(-gshare)
    gname = {r: str(s_loc[1][col]) for r, col in zip(rows, cols, strict=True)}
    out = {}
    for gi, g in enumerate(groups):
        for lab in g:
            out[names[lab]] = gname.get(gi, f"Locality {gi + 1}")
    return out, []


# --------------------------------------------------------------------------- infeasible requests
def infeasibility(c: Constraints, space: PlanSpace, *, place: Place | None = None, start: Grouping | None = None) -> InfeasiblePlanError:
    """Explain why no valid plan has `c.k` neighbourhoods, with the alternatives that work, computed.

    The reason is given in the units' sizes and contiguity (how many units a neighbourhood
    in the band can have, what that means for `k`); the alternatives are the numbers of
    neighbourhoods that work on this base, whether `k` works on the other base, the
    narrowest widening of the band that admits `k`, and whether `--units lsoa` can hold it.
    """
    # length: builds one message from several computed alternatives, each a few lines
    u = c.units
    lo, hi = c.band
    ks = {kk + len(c.locked): n for kk, n in space.totals.items()}
    sizes = sorted({len(b) for b in space.blocks})
    free_n = int(c.free.sum())
    reason = [f"no valid plan puts {free_n} {u.plural} into {c.k_free} contiguous neighbourhoods of {lo:,.0f}–{hi:,.0f} "
              f"{u.population_label}" + (f" (besides the {len(c.locked)} locked)" if c.locked else "")]  # fmt: skip
    pops = u.population[c.free]
    if sizes:
        reason.append(f"{u.plural} run from {pops.min():,.0f} to {pops.max():,.0f} residents, so a neighbourhood inside the band is "
                      f"{sizes[0]}–{sizes[-1]} contiguous {u.plural} ({len(space.blocks):,} such sets)")  # fmt: skip
        if len(sizes) == 2 and sizes[1] == sizes[0] + 1:
            big = free_n - sizes[0] * c.k_free
            if 0 <= big <= c.k_free:
                reason.append(f"{c.k_free} neighbourhoods would need {big} of {sizes[1]} {u.plural} and {c.k_free - big} of {sizes[0]}, "
                              "and no such sets cover every unit without overlap")  # fmt: skip
    covered = np.zeros(u.n, dtype=bool)
    for b in space.blocks:
        covered[list(b)] = True
    orphans = np.flatnonzero(c.free & ~covered)
    if len(orphans):
        reason.append(f"{len(orphans)} {u.plural} belong to no contiguous set inside the band: {', '.join(u.label(i) for i in orphans[:6])}")
    alternatives: dict[str, object] = {"feasible_neighbourhoods": ks}
    if ks:
        reason.append("valid plans exist for " + ", ".join(f"{kk} ({n:,} plans)" for kk, n in ks.items()) + " neighbourhoods")
    else:
        reason.append("no number of neighbourhoods works on this base")
    alternatives.update(_other_base(c, place, start))
    alternatives.update(_widened(c))
    alternatives.update(_lsoa_room(c, place))
    alternatives.update(_lock_culprits(c, place, start))
    msg = "; ".join(reason) + ". What works: " + _alternatives_text(c, alternatives)
    return InfeasiblePlanError(msg, alternatives=alternatives)


def _other_base(c: Constraints, place: Place | None, start: Grouping | None) -> dict:
    if place is None or start is None:
        return {}
    other = "mid2015" if c.units.population_base == "census2021" else "census2021"
    try:
        ou = plan_units(place, kind=c.units.kind, population=other)
        oc = constraints_for(ou, start, c.k, band=c.band, lock=c.locked, keep_localities=c.group is not None)
        got = _space(oc).totals
    except (PlacekitError, NotListableError):
        return {}
    return {"other_base": {"population": other, "label": ou.population_label, "plans": got.get(oc.k_free, 0),
                           "feasible_neighbourhoods": {kk + len(c.locked): n for kk, n in got.items()}}}  # fmt: skip


def _admits(c: Constraints, band: tuple[float, float]) -> bool:
    try:
        return _space(c, band=band, max_blocks=50_000, max_states=100_000).count(c.k_free) > 0
    except NotListableError:
        return False


def _widened(c: Constraints) -> dict:
    """Return the lowest high (low kept) and the highest low (high kept) that admit `k`, within half the band's size, exactly.

    Bisection narrows each to 100 residents; the exact value is then the population of one
    of the connected sets in that last interval, tried in order.
    """
    lo, hi = c.band
    out = {}
    if _admits(c, (lo, hi * 1.5)):
        a, b = hi, hi * 1.5  # a fails, b works
        while b - a > 100:
            mid = (a + b) / 2
            a, b = (a, mid) if _admits(c, (lo, mid)) else (mid, b)
        exact = next((p for p in _set_sizes(c, a, b) if _admits(c, (lo, p))), b)
        out["band_high"] = [int(lo), int(np.ceil(exact))]
    if _admits(c, (lo * 0.5, hi)):
        a, b = lo, lo * 0.5  # a fails, b works
        while a - b > 100:
            mid = (a + b) / 2
            a, b = (a, mid) if _admits(c, (mid, hi)) else (mid, b)
        exact = next((p for p in reversed(_set_sizes(c, b, a)) if _admits(c, (p, hi))), b)
        out["band_low"] = [int(np.floor(exact)), int(hi)]
    return out


def _set_sizes(c: Constraints, a: float, b: float) -> list[float]:
    """Return the distinct populations of the connected sets of free units between `a` and `b`, ascending."""
    try:
        blocks = connected_blocks(c.units.population, c.units.neighbours, a, b, free=c.free, group=c.group, max_blocks=50_000)
    except NotListableError:
        return []
    return sorted({float(c.units.population[list(x)].sum()) for x in blocks if a <= c.units.population[list(x)].sum() <= b})


def _lsoa_room(c: Constraints, place: Place | None) -> dict:
    if c.units.kind != "ward" or place is None:
        return {}
    total = c.units.population[c.free].sum()
    fits = c.k_free * c.band[0] <= total <= c.k_free * c.band[1]
    try:
        lp = lsoa_population(place, c.units.population_base)
    except PlacekitError:
        return {}
    return {"units_lsoa": {"fits": bool(fits), "average": float(total / max(c.k_free, 1)), "lsoas": len(lp),
                           "lsoa_residents": [float(lp.quantile(0.05)), float(lp.quantile(0.95))]}}  # fmt: skip


def _lock_culprits(c: Constraints, place: Place | None, start: Grouping | None) -> dict:
    if not c.locked or start is None:
        return {}
    out = []
    for name in c.locked:
        rest = [n for n in c.locked if n != name]
        try:
            cc = constraints_for(c.units, start, c.k, band=c.band, lock=rest, keep_localities=c.group is not None)
            if _space(cc).count(cc.k_free):
                out.append(name)
        except (PlacekitError, NotListableError):
            continue
    return {"locks_in_the_way": out} if out else {}


def _alternatives_text(c: Constraints, alt: dict) -> str:
    bits = []
    ks = alt.get("feasible_neighbourhoods") or {}
    if ks:
        near = min(ks, key=lambda kk: (abs(kk - c.k), kk))
        bits.append(f"--neighbourhoods {near} ({ks[near]:,} valid plans)")
    ob = alt.get("other_base")
    if ob and ob.get("plans"):
        bits.append(f"--population {ob['population']} ({ob['plans']:,} valid plans with {c.k} on {ob['label']})")
    elif ob:
        bits.append(f"not --population {ob['population']} (no valid plan with {c.k} on {ob['label']} either)")
    if "band_high" in alt:
        bits.append(f"--band {alt['band_high'][0]}-{alt['band_high'][1]} (the lowest top of the band that admits {c.k})")
    if "band_low" in alt:
        bits.append(f"--band {alt['band_low'][0]}-{alt['band_low'][1]} (the highest bottom that admits {c.k})")
    room = alt.get("units_lsoa")
    if room and room["fits"]:
        lo, hi = room["lsoa_residents"]
        bits.append(f"--units lsoa ({c.k_free} neighbourhoods of {room['average']:,.0f} residents on average fit the band, built from "
                    f"{room['lsoas']} LSOAs of mostly {lo:,.0f}–{hi:,.0f} residents)")  # fmt: skip
    if alt.get("locks_in_the_way"):
        bits.append("unlocking " + " or ".join(repr(n) for n in alt["locks_in_the_way"]) + " (that lock is what rules it out)")
    return "; ".join(bits) + "." if bits else "nothing nearby: change the number of neighbourhoods or the band."
