"""Sub-commands ``coverage``, ``hubs`` and ``site-hubs`` of the placekit CLI."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from placekit.errors import PlacekitError

__all__ = ["register", "read_hub_list"]


def read_hub_list(value: str | None) -> list[str] | None:
    """Return hub ids from a comma-separated list or a file (one id per line, or a CSV with ``site_id``)."""
    if not value:
        return None
    path = Path(value)
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".csv":
            df = pd.read_csv(path, dtype=str)
            if "site_id" not in df:
                raise PlacekitError(f"hub file {path.name} needs a site_id column.")
            return df["site_id"].str.strip().tolist()
        return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [h.strip() for h in value.split(",") if h.strip()]


def _access(args):
    from estates.access import build_access
    from placekit.cli import _load

    place, grouping = _load(args)
    return build_access(place, grouping, mode=args.mode, network=args.network, progress=True)


def _hubs(args, access):
    from estates.access import initial_hubs

    given = read_hub_list(args.hubs)
    if given:
        return given, "hubs given on the command line"
    return initial_hubs(access, p=12)


def cmd_coverage(args) -> int:
    from estates.access import evaluate_hubs
    from placekit.cli import _emit

    a = _access(args)
    hubs, source = _hubs(args, a)
    ev = evaluate_hubs(a, hubs, threshold=args.threshold)
    cov = ev["coverage"]["by_unit"].reset_index().rename(columns={"index": "neighbourhood"})
    note = f"{source}; travel times: {ev['method']}{' (modelled)' if ev['modelled'] else ''}; threshold {ev['threshold']:g} min"
    if args.format == "table":
        show = cov.copy()
        for c in ("share_within", "age60_share_within"):
            show[c] = (100 * show[c]).round(1)
        _emit(show.round(1), "table", demo=a.place.demo)
        print("\nBy IMD quintile (1 = most deprived):")
        _emit(ev["coverage"]["by_imd"].round(2).reset_index().rename(columns={"index": "imd_quintile"}), "table", demo=False, note=note)
    else:
        cov["threshold_minutes"] = ev["threshold"]
        cov["method"] = ev["method"]
        _emit(cov, args.format, demo=a.place.demo)
    return 0


def cmd_hubs(args) -> int:
    from estates.access import evaluate_hubs
    from placekit.cli import _emit

    a = _access(args)
    hubs, source = _hubs(args, a)
    ev = evaluate_hubs(a, hubs, threshold=args.threshold, within_unit=args.within_neighbourhood)
    rep = ev["report"].reset_index()
    if args.format == "table":
        _emit(rep.round(1), "table", demo=a.place.demo, note=f"{source}; {ev['method']}")
        for c in ev["checks"]:
            print(f"warning: {c}")
    else:
        _emit(rep, args.format, demo=a.place.demo)
    return 0


def cmd_site_hubs(args) -> int:
    from estates.access import evaluate_hubs, site_hubs
    from placekit.cli import _emit

    a = _access(args)
    fixed = tuple(read_hub_list(args.fixed) or ())
    res = site_hubs(
        a,
        p=args.p,
        objective=args.objective,
        method=args.method,
        threshold=args.threshold,
        fixed=fixed,
        one_per_neighbourhood=not args.no_neighbourhood_rule,
        time_limit=args.time_limit,
    )
    ev = evaluate_hubs(a, res.hubs, threshold=args.threshold)
    rep = ev["report"].reset_index()
    summary = (
        f"{res.solver}: objective {res.objective:,.1f}"
        + (f", bound {res.bound:,.1f}, gap {100 * res.gap:.3f}%" if res.bound is not None and res.gap is not None else "")
        + f", {res.seconds:.2f} s, {res.status}"
    )
    if args.format == "table":
        _emit(rep.round(1), "table", demo=a.place.demo, note=summary + f"; {ev['method']}")
    else:
        rep["objective"], rep["bound"], rep["gap"], rep["solver"], rep["seconds"] = (
            res.objective,
            res.bound,
            res.gap,
            res.solver,
            res.seconds,
        )
        _emit(rep, args.format, demo=a.place.demo)
    return 0


def register(sub, common) -> None:
    """Add the estates sub-commands to the placekit parser."""

    def access_args(sp):
        common(sp)
        sp.add_argument("--mode", choices=["walk", "drive"], default="walk")
        sp.add_argument("--network", default=None, help="road network file (.osm, .osm.pbf, .graphml); default: straight-line model")
        sp.add_argument("--threshold", type=float, default=None, help="minutes (default 15 walk, 10 drive)")

    sp = sub.add_parser("coverage", help="time to the nearest hub per neighbourhood, by deprivation and for 60+")
    access_args(sp)
    sp.add_argument("--hubs", help="hub site ids (comma list or file); default: flagged hubs, else a 12-hub proposal")
    sp.set_defaults(func=cmd_coverage)

    sp = sub.add_parser("hubs", help="assign every site to a hub and report each hub")
    access_args(sp)
    sp.add_argument("--hubs", help="hub site ids (comma list or file)")
    sp.add_argument(
        "--within-neighbourhood", action="store_true", dest="within_neighbourhood", help="join spokes to a hub of their own neighbourhood"
    )
    sp.set_defaults(func=cmd_hubs)

    sp = sub.add_parser("site-hubs", help="choose p hubs (p-median or maximal covering)")
    access_args(sp)
    sp.add_argument("-p", type=int, default=12)
    sp.add_argument("--objective", choices=["pmedian", "mclp"], default="pmedian")
    sp.add_argument("--method", choices=["heuristic", "exact"], default="heuristic")
    sp.add_argument("--fixed", help="sites that must be hubs (comma list or file)")
    sp.add_argument(
        "--no-neighbourhood-rule", action="store_true", dest="no_neighbourhood_rule", help="drop the one-hub-per-neighbourhood rule"
    )
    sp.add_argument("--time-limit", type=float, default=120, dest="time_limit")
    sp.set_defaults(func=cmd_site_hubs)
