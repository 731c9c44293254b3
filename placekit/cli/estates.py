"""Commands ``coverage``, ``hubs`` and ``site-hubs``: time to the nearest hub, hub-and-spoke, hub siting."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from estates.access import Access, build_access, evaluate_hubs, initial_hubs, site_hubs
from estates.sites import CandidateFilter, add_estates_file
from placekit.cli.common import add_format_option, add_grouping_option, emit, load_place_and_grouping
from placekit.errors import PlacekitError

__all__ = ["register", "read_hub_list", "cmd_coverage", "cmd_hubs", "cmd_site_hubs"]


def read_hub_list(value: str | None) -> list[str] | None:
    """Return hub ids from a comma-separated list or a file (one id per line, or a CSV with ``site_id``)."""
    if not value:
        return None
    path = Path(value)
    if path.exists():
        if path.suffix == ".csv":
            df = pd.read_csv(path, dtype=str)
            if "site_id" not in df:
                raise PlacekitError(f"hub file {path.name} needs a site_id column.")
            return df["site_id"].str.strip().tolist()
        text = path.read_text(encoding="utf-8")
        return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [h.strip() for h in value.split(",") if h.strip()]


def _access(args: argparse.Namespace) -> Access:
    place, grouping = load_place_and_grouping(args)
    if args.estates:
        place = add_estates_file(place, args.estates)
    a = build_access(place, grouping, mode=args.mode, network=args.network, progress=True)
    for n in a.notes:
        print(n, file=sys.stderr)
    return a


def _split(value: str | None) -> tuple[str, ...] | None:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else None


def _hubs(args: argparse.Namespace, access: Access) -> tuple[list[str], str]:
    given = read_hub_list(args.hubs)
    if given:
        return given, "hubs given on the command line"
    return initial_hubs(access)


def cmd_coverage(args: argparse.Namespace) -> int:
    """Print time to the nearest hub per neighbourhood, then by IMD quintile."""
    a = _access(args)
    hubs, source = _hubs(args, a)
    ev = evaluate_hubs(a, hubs, threshold=args.threshold)
    cov = ev.coverage.by_unit.reset_index().rename(columns={"index": "neighbourhood"})
    note = f"{source}; travel times: {ev.method}{' (modelled)' if ev.modelled else ''}; threshold {ev.threshold:g} min"
    if args.format != "table":
        cov["threshold_minutes"] = ev.threshold
        cov["method"] = ev.method
        emit(cov, args.format, demo=a.place.demo)
        return 0
    show = cov.copy()
    for c in ("share_within", "age60_share_within"):
        show[c] = (100 * show[c]).round(1)
    emit(show.round(1), "table", demo=a.place.demo)
    if ev.coverage.by_imd is not None:
        print("\nBy IMD quintile (1 = most deprived):")
        emit(ev.coverage.by_imd.round(2).reset_index().rename(columns={"index": "imd_quintile"}), "table", demo=False, note=note)
    return 0


def cmd_hubs(args: argparse.Namespace) -> int:
    """Print each hub with its spokes and the residents it serves."""
    a = _access(args)
    hubs, source = _hubs(args, a)
    ev = evaluate_hubs(a, hubs, threshold=args.threshold, within_unit=args.within_neighbourhood)
    rep = ev.report.reset_index()
    if args.format != "table":
        emit(rep, args.format, demo=a.place.demo)
        return 0
    emit(rep.round(1), "table", demo=a.place.demo, note=f"{source}; {ev.method}")
    for c in ev.checks:
        print(f"warning: {c}")
    return 0


def cmd_site_hubs(args: argparse.Namespace) -> int:
    """Choose p hubs by p-median or maximal covering and print them with the solver's figures.

    stdout carries only the requested format; the solver's summary (and any time-limit
    warning) goes to stderr for csv and json.
    """
    a = _access(args)
    rule = CandidateFilter(types=_split(args.candidates), min_floor_area=args.min_floor_area, min_weekly_hours=args.min_weekly_hours)
    res = site_hubs(a, p=args.p if args.p is not None else len(a.grouping.neighbourhoods), objective=args.objective, method=args.method, threshold=args.threshold,
                    fixed=tuple(read_hub_list(args.fixed) or ()), one_per_neighbourhood=not args.no_neighbourhood_rule,
                    candidates=rule, penalty={} if args.no_condition_penalty else None, time_limit=args.time_limit)  # fmt: skip
    ev = evaluate_hubs(a, res.hubs, threshold=args.threshold)
    rep = ev.report.reset_index()
    bound = f", bound {res.bound:,.1f}, gap {100 * res.gap:.3f}%" if res.bound is not None and res.gap is not None else ""
    summary = f"{res.solver}: objective {res.objective:,.1f}{bound}, {res.seconds:.2f} s, {res.status}; {res.candidates}"
    stopped = (
        f"warning: the time limit ({args.time_limit:g} s) stopped the search before it proved optimality: the answer is within "
        f"{100 * res.gap:.3f}% of the best possible (bound {res.bound:,.1f}); raise --time-limit to prove it."
        if res.status == "Time limit reached" else ""
    )  # fmt: skip
    if args.format == "table":
        emit(rep.round(1), "table", demo=a.place.demo, note=summary + f"; {ev.method}")
        if stopped:
            print(stopped)
        return 0
    print(summary, file=sys.stderr)
    if stopped:
        print(stopped, file=sys.stderr)
    rep = rep.assign(objective=res.objective, bound=res.bound, gap=res.gap, solver=res.solver, status=res.status, seconds=res.seconds)
    emit(rep, args.format, demo=a.place.demo)
    return 0


def _access_options(sp: argparse.ArgumentParser) -> None:
    add_grouping_option(sp)
    add_format_option(sp)
    sp.add_argument("--mode", choices=["walk", "drive"], default="walk")
    sp.add_argument("--network", default=None, help="road network file (.osm, .osm.pbf, .graphml); default: straight-line model")
    sp.add_argument("--threshold", type=float, default=None, help="minutes (default 15 walk, 10 drive)")
    sp.add_argument("--estates", default=None, help="your estates file (CSV or GeoJSON: name, type, role, tenure, floor_area, "
                    "condition, weekly_hours, lon/lat or postcode), added to the place's sites")  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``coverage``, ``hubs`` and ``site-hubs`` to the placekit parser."""
    sp = sub.add_parser("coverage", help="time to the nearest hub per neighbourhood, by deprivation and for 60+")
    _access_options(sp)
    sp.add_argument("--hubs", help="hub site ids (comma list or file); default: flagged hubs, else one proposed per neighbourhood")
    sp.set_defaults(func=cmd_coverage)

    sp = sub.add_parser("hubs", help="assign every site to a hub and report each hub")
    _access_options(sp)
    sp.add_argument("--hubs", help="hub site ids (comma list or file)")
    sp.add_argument("--within-neighbourhood", action="store_true", dest="within_neighbourhood",
                    help="join spokes to a hub of their own neighbourhood")  # fmt: skip
    sp.set_defaults(func=cmd_hubs)

    sp = sub.add_parser("site-hubs", help="choose p hubs (p-median or maximal covering)")
    _access_options(sp)
    sp.add_argument("-p", type=int, default=None, help="number of hubs (default: one per neighbourhood of the grouping)")
    sp.add_argument("--objective", choices=["pmedian", "mclp"], default="pmedian")
    sp.add_argument("--method", choices=["heuristic", "exact"], default="heuristic")
    sp.add_argument("--fixed", help="sites that must be hubs (comma list or file)")
    sp.add_argument("--no-neighbourhood-rule", action="store_true", dest="no_neighbourhood_rule",
                    help="drop the one-hub-per-neighbourhood rule")  # fmt: skip
    sp.add_argument("--time-limit", type=float, default=120, dest="time_limit")
    sp.add_argument("--candidates", default=None, help="site types that may become hubs, comma-separated (e.g. gp,library,pharmacy); "
                    "default: types that can house a health and care centre")  # fmt: skip
    sp.add_argument("--min-floor-area", type=float, default=None, dest="min_floor_area", help="drop candidates under this floor area (m²)")
    sp.add_argument("--min-weekly-hours", type=float, default=None, dest="min_weekly_hours", help="drop candidates open fewer hours a week")
    sp.add_argument("--no-condition-penalty", action="store_true", dest="no_condition_penalty",
                    help="ignore site condition (default: C adds 2 min, D 5 min to every trip to the site)")  # fmt: skip
    sp.set_defaults(func=cmd_site_hubs)
