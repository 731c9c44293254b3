"""Commands ``design`` and ``ensemble``: propose the best valid neighbourhoods, and rank a plan among every valid alternative."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from boundaries.design import DesignResult, InfeasiblePlanError, design_plan, parse_band
from boundaries.ensemble import Ensemble, ensembles_for_places, national_baseline, plan_ensemble, write_ensemble
from boundaries.grouping import grouping_to_doc, write_grouping
from boundaries.planscore import MEASURES, OBJECTIVES, STATISTICS
from boundaries.profiles import POPULATION_BASES
from boundaries.recom import dask_client
from boundaries.units import UNIT_KINDS
from geo.england import EnglandIndex, england_index
from geo.national import resolve_authority
from placekit.cli.common import add_format_option, add_grouping_option, emit, load_place_and_grouping, records
from placekit.errors import DataRootError, PlacekitError
from placekit.render.charts import ensemble_histograms
from placekit.settings import data_root

__all__ = ["register", "cmd_design", "cmd_ensemble", "cmd_all_england", "band_arg", "split_names", "DESIGN_SKIPS"]

#: Layers a design or an ensemble never reads (health, assets, hospitals and their catchments).
DESIGN_SKIPS = ("qof", "practice_ages", "assets", "hospitals", "catchments", "trusts")



def band_arg(text: str) -> tuple[int, int]:
    """Parse ``--band`` for argparse (``30000-50000``), with a one-line error."""
    try:
        return parse_band(text)
    except PlacekitError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def split_names(values: list[str] | None, known: list[str]) -> list[str]:
    """Return the neighbourhood names of ``--lock`` (repeatable; comma-separated, names that hold commas kept whole).

    Raises
    ------
    PlacekitError
        Naming the text that matches no neighbourhood, with the names there are.
    """
    out: list[str] = []
    for value in values or []:
        parts, buf = [p for p in value.split(",")], ""
        for p in parts:
            buf = f"{buf},{p}" if buf else p
            if buf.strip() in known:
                out.append(buf.strip())
                buf = ""
        if buf.strip():
            raise PlacekitError(f"--lock {buf.strip()!r} is not a neighbourhood of the start grouping; use names from: {'; '.join(known)}.")
    return list(dict.fromkeys(out))


def _pct(x: float) -> str:
    return "–" if x is None or pd.isna(x) else f"{100 * x:.1f}%"


def _design_doc(r: DesignResult, ward_names: dict) -> dict:
    return {
        "feasible": True, "exact": r.exact, "method": r.method, "plans": r.plans, "units": r.units, "population_base": r.population_label,
        "objective": {"column": r.column, "start": float(r.start_scores[r.column]), "result": float(r.scores[r.column])},
        "scores": {"start": {m: float(r.start_scores[m]) for m in MEASURES}, "result": {m: float(r.scores[m]) for m in MEASURES}},
        "neighbourhoods": records(r.table), "moved": records(r.moved), "seconds": round(r.seconds, 3), "stopped": r.stopped,
        "notes": r.notes, "feasible_neighbourhoods": {str(k): v for k, v in r.counts.items()},
        "grouping": grouping_to_doc(r.grouping, ward_names),
    }  # fmt: skip


def _print_design(r: DesignResult, demo: bool) -> None:
    print(f"{r.method}; searched {r.seconds:.2f} s" + (f" — stopped by {r.stopped}: the best plan found, not a proven optimum" if r.stopped else ""))
    print(f"objective {r.column}: start {_pct(r.start_scores[r.column])} → result {_pct(r.scores[r.column])}")
    rows = [(m, _pct(r.start_scores[m]), _pct(r.scores[m])) for m in MEASURES]
    print(pd.DataFrame(rows, columns=["figure", "start", "result"]).to_string(index=False))
    print()
    show = r.table.copy()
    for c in ("list_containment", "resident_containment"):
        show[c] = (100 * show[c]).round(1)
    emit(show.rename(columns={"list_containment": "list_cont_%", "resident_containment": "resident_cont_%"}), "table", demo=demo,
         note=f"population = {r.population_label}; every neighbourhood is contiguous and inside the band.")  # fmt: skip
    print(f"\nmoved: {len(r.moved)} {r.units}(s)" + (":" if len(r.moved) else ""))
    for _, m in r.moved.head(40).iterrows():
        print(f"  {m['name'] or m['code']} ({m['code']}): {m['from']} → {m['to']}")
    if len(r.moved) > 40:
        print(f"  … and {len(r.moved) - 40} more (--format json lists them all)")
    for n in r.notes:
        print(f"note: {n}")


def _infeasible(exc: InfeasiblePlanError, fmt: str) -> int:
    if fmt == "json":
        print(json.dumps({"feasible": False, "reason": str(exc), "alternatives": exc.alternatives}, indent=2, default=str))
    raise exc


def cmd_design(args: argparse.Namespace) -> int:
    """Propose the best valid grouping; exit 2 with the reason and what works when none exists."""
    place, start = load_place_and_grouping(args, with_sites=False, skip=DESIGN_SKIPS)
    lock = split_names(args.lock, start.neighbourhoods)
    try:
        r = design_plan(place, start, k=args.neighbourhoods, band=args.band, population=args.population, objective=args.objective,
                        measure=args.measure, units=args.units, lock=lock, keep_localities=args.keep_localities,
                        localities=args.localities, seed=args.seed, time_limit=args.time_limit)  # fmt: skip
    except InfeasiblePlanError as exc:
        return _infeasible(exc, args.format)
    names = place.wards["name"].to_dict()
    if args.out:
        path = write_grouping(r.grouping, args.out, ward_names=names)
        print(f"wrote {path}", file=sys.stderr)
    if r.stopped:
        print(f"placekit: warning: the search was stopped by its {r.stopped}: this is the best plan found, not a proven optimum",
              file=sys.stderr)  # fmt: skip
    if args.format == "json":
        print(json.dumps(_design_doc(r, names), indent=2, ensure_ascii=False, default=str))
    elif args.format == "csv":
        emit(r.table, "csv", demo=place.demo)
    else:
        _print_design(r, place.demo)
    return 0


def _print_ensemble(e: Ensemble, demo: bool) -> None:
    s = e.summary()
    print(f"{s['plans']:,} plans of {e.k} neighbourhoods ({e.units}s, {e.population_label}, band {e.band[0]:,.0f}–{e.band[1]:,.0f}): {e.method}; "
          f"{'percentiles exact' if e.exact else 'percentiles estimated from a sample'}; {e.seconds:.2f} s on {e.workers} worker(s)")  # fmt: skip
    if e.acceptance is not None:
        low = min(e.ess.values()) if e.ess else float("nan")
        print(f"chain acceptance rate {100 * e.acceptance:.1f}%; effective sample size {low:,.0f} (lowest over the figures)")
    rows = [{"figure": m, "plan": _pct(v["plan"]), "percentile": "–" if v["percentile"] is None else f"{v['percentile']:.1f}",
             "min": _pct(v["min"]), "median": _pct(v["median"]), "max": _pct(v["max"]),
             "better": "higher" if v["higher_is_better"] else "lower"} for m, v in s["measures"].items()]  # fmt: skip
    emit(pd.DataFrame(rows), "table", demo=demo, note="percentile = share of the plans below the plan's value (ties count half), 0–100.")
    print(f"\nplans beating {e.plan_name!r} on both containment measures at once: "
          + ", ".join(f"{n:,} ({stat})" for stat, n in s["beat_on_both"].items()))  # fmt: skip
    for n in e.notes:
        print(f"note: {n}")


def cmd_ensemble(args: argparse.Namespace) -> int:
    """Score every valid plan (or a sample) and rank the grouping among them; optional Parquet and histogram PNG."""
    if args.all_england:
        return cmd_all_england(args)
    if args.only:
        raise PlacekitError("--only restricts --all-england to some authorities; with one place, use --place CODE.")
    place, grouping = load_place_and_grouping(args, with_sites=False, skip=DESIGN_SKIPS)
    try:
        e = plan_ensemble(place, grouping, k=args.neighbourhoods, population=args.population, band=args.band,
                          keep_localities=args.keep_localities, plans=args.plans, units=args.units, seed=args.seed,
                          workers=args.workers, scheduler=args.scheduler)  # fmt: skip
    except InfeasiblePlanError as exc:
        return _infeasible(exc, args.format)
    if args.out:
        print(f"wrote {write_ensemble(e, args.out)}", file=sys.stderr)
    if args.plot:
        fig = ensemble_histograms(e.scores, e.plan, title=f"How does {grouping.name or 'this plan'} compare?",
                                  subtitle=f"{place.label}: {e.k} neighbourhoods of {e.units}s, {e.population_label}", exact=e.exact,
                                  demo=place.demo)  # fmt: skip
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=110)
        print(f"wrote {args.plot}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(e.summary(), indent=2, ensure_ascii=False))
    elif args.format == "csv":
        emit(pd.DataFrame([{"measure": m, **v} for m, v in e.summary()["measures"].items()]), "csv", demo=place.demo)
    else:
        _print_ensemble(e, place.demo)
    return 0


def _all_england_codes(args: argparse.Namespace, index: EnglandIndex) -> list[str]:
    """Return the authorities of ``--all-england`` (all, or those ``--only`` names by code or name), refusing options that need one place."""
    for option, value in (("--grouping", args.grouping), ("--place", args.place), ("--neighbourhoods", args.neighbourhoods),
                          ("--plot", args.plot)):  # fmt: skip
        if value:
            raise PlacekitError(f"{option} does not go with --all-england, which ranks each authority's PCN baseline among plans of as "
                                "many neighbourhoods; restrict the authorities with --only CODE,CODE.")  # fmt: skip
    if not args.out or Path(args.out).suffix.lower() == ".parquet":
        raise PlacekitError("--all-england writes one <code>.parquet per authority into a folder: give it with --out DIR (e.g. --out ensembles).")
    if not args.only:
        return list(index.authorities.index)
    codes = []
    for item in (x.strip() for x in args.only.split(",")):
        if item:
            code, notes = resolve_authority(item, index)
            for n in notes:
                print(f"placekit: note: --only {item}: {n}", file=sys.stderr)
            codes.append(code)
    return list(dict.fromkeys(codes))


def cmd_all_england(args: argparse.Namespace) -> int:
    """Rank each English authority's PCN baseline among its valid plans: one Parquet each in ``--out DIR``, resumable, on Dask workers."""
    root = data_root(args.data)
    if root is None:
        raise DataRootError("--all-england builds every authority from England's national files: set --data DIR or PLACEKIT_DATA.")
    index = england_index(root)
    codes = _all_england_codes(args, index)
    names = index.authorities["name"]
    options = {"population": args.population, "band": args.band, "keep_localities": args.keep_localities, "plans": args.plans,
               "units": args.units, "seed": args.seed}  # fmt: skip
    loaders = {c: functools.partial(national_baseline, root, c, allow_data_loss=bool(args.allow_data_loss)) for c in codes}
    use_cluster = bool(args.scheduler) or (args.workers or 1) > 1
    client, cluster = dask_client(args.workers, args.scheduler) if use_cluster else (None, None)
    where = f"{len(client.scheduler_info()['workers'])} Dask worker(s)" if client is not None else "this process"
    print(f"placekit: ensemble --all-england: {len(codes)} authorities on {where}, into {args.out}/ (a file already written "
          "is not redone)", file=sys.stderr)  # fmt: skip
    try:
        with tqdm(total=len(codes), desc="authorities", unit="", file=sys.stderr, mininterval=0.5) as bar:
            def tell(row: dict) -> None:
                what = f"{row['plans']:,} plans{' (exact)' if row['exact'] else ''}" if row["plans"] else row["detail"][:160]
                bar.write(f"placekit: {row['code']} {names.get(row['code'], '')}: {row['status']}, {what}, {row['seconds']:.1f} s", file=sys.stderr)
                bar.update(1)

            table = ensembles_for_places(loaders, args.out, client=client, progress=tell, **options)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    table["name"] = table["code"].map(names)
    done = table["status"].isin(["done", "skipped"])
    emit(table, args.format, demo=False, note=f"{int(done.sum())} of {len(table)} authorities ranked ({int((table['status'] == 'skipped').sum())} "
         f"from an earlier run); refused: no valid plan of the PCN baseline's number of neighbourhoods, or bad data (detail). Per "
         f"authority: {args.out}/<code>.parquet (every plan's figures, the summary in its metadata); this table: {args.out}/ensembles.csv.")  # fmt: skip
    return 0


def _common(sp: argparse.ArgumentParser) -> None:
    add_grouping_option(sp)
    add_format_option(sp)
    sp.add_argument("--population", choices=list(POPULATION_BASES), default="census2021", help="resident base of the band (default census2021)")
    sp.add_argument("--band", type=band_arg, default=(30_000, 50_000), help="residents per neighbourhood, e.g. 30000-50000 (the default)")
    sp.add_argument("--keep-localities", action="store_true", dest="keep_localities",
                    help="each neighbourhood inside one locality of the start grouping")  # fmt: skip
    sp.add_argument("--units", choices=list(UNIT_KINDS), default="ward", help="building blocks: whole wards (listed exactly) or LSOAs")
    sp.add_argument("--seed", type=int, default=0, help="seed of the search or the sample (same seed, same result)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``design`` and ``ensemble`` to the placekit parser."""
    sp = sub.add_parser("design", help="propose the best valid neighbourhoods (exact at ward level)")
    _common(sp)
    sp.add_argument("--neighbourhoods", type=int, required=True, help="number of neighbourhoods, locked ones included")
    sp.add_argument("--localities", type=int, default=None, help="group the result into this many contiguous localities (default: as the start)")
    sp.add_argument("--objective", choices=list(OBJECTIVES), default="list_containment")
    sp.add_argument("--measure", choices=list(STATISTICS), default="city",
                    help="how the objective sums over neighbourhoods: city (list-weighted, the default: cannot be gamed by parking "
                    "scattered practices in one neighbourhood), mean (unweighted) or min (the lowest)")  # fmt: skip
    sp.add_argument("--lock", action="append", help="start neighbourhood(s) to keep as they are: 'Name,Name' (repeatable)")
    sp.add_argument("--time-limit", type=float, default=None, dest="time_limit", help="seconds; the best plan found by then is returned")
    sp.add_argument("--out", help="write the proposed grouping (.json or .csv): validate, flows, the app and the store read it")
    sp.set_defaults(func=cmd_design)

    sp = sub.add_parser("ensemble", help="rank a grouping among every valid plan (sampled where they are too many)")
    _common(sp)
    sp.add_argument("--neighbourhoods", type=int, default=None, help="number of neighbourhoods (default: the grouping's)")
    sp.add_argument("--plans", type=int, default=10_000, help="plans to sample where they cannot all be listed (default 10000)")
    sp.add_argument("--workers", type=int, default=None, help="run the chains or shards on a local Dask cluster of N processes")
    sp.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler (e.g. tcp://host:8786)")
    sp.add_argument("--out", help="write every plan's figures (and unit labels) to FILE.parquet (with --all-england: a folder)")
    sp.add_argument("--plot", help="write the histograms, the plan marked, to FILE.png")
    sp.add_argument("--all-england", action="store_true", dest="all_england",
                    help="rank each English local authority's PCN baseline among its valid plans: one <code>.parquet per authority in "
                    "--out DIR, resumable (a file already written is not redone); with --workers N or --scheduler, across a Dask cluster")  # fmt: skip
    sp.add_argument("--only", default=None, help="with --all-england: only these authorities, codes or names, comma-separated")
    sp.set_defaults(func=cmd_ensemble)
