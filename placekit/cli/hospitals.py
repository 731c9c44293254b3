"""Command ``catchments``: hospital shares of each neighbourhood's admissions, by trust or by hospital site."""

from __future__ import annotations

import argparse
import sys

from boundaries.catchments import SEED_SITES, SPLIT_METHODS, place_catchments, seeds_view
from estates.hospitals import hospital_site_catchments
from placekit.cli.common import add_format_option, add_grouping_option, emit, load_place_and_grouping

__all__ = ["register", "cmd_catchments"]


def _by_site(args: argparse.Namespace) -> int:
    place, grouping = load_place_and_grouping(args, with_sites=False)
    r = hospital_site_catchments(place, grouping, as_of=args.as_of, method=args.method, network=args.network)
    if args.format != "table":
        print(f"method: {r.method}", file=sys.stderr)
        emit(r.records.assign(method=r.method), args.format, demo=place.demo)
        return 0
    emit(r.summary.reset_index().rename(columns={"unit": "neighbourhood"}).round(3), "table", demo=place.demo, note=r.method)
    seeds = SEED_SITES.get(place.name)
    if seeds:
        print("\nThe plan's hospital for each locality (share of the neighbourhood's attributed admissions):")
        emit(seeds_view(r, seeds).reset_index().round(3), "table", demo=False)
    return 0


def cmd_catchments(args: argparse.Namespace) -> int:
    """Print each neighbourhood's hospital shares of admissions, by trust (default) or by site."""
    if args.by == "site":
        return _by_site(args)
    place, grouping = load_place_and_grouping(args, with_sites=False)
    r = place_catchments(place, grouping, as_of=args.as_of)
    if args.format != "table":
        out = r.summary.join(r.shares.drop(columns="unattributed")).reset_index().rename(columns={"unit": "neighbourhood"})
        emit(out, args.format, demo=place.demo)
        return 0
    show = r.summary.reset_index().rename(columns={"unit": "neighbourhood"})
    emit(show.round(3), "table", demo=place.demo, note="shares of admissions (OHID 2019), population-weighted from MSOAs to LSOAs")
    if len(r.changes):
        print("\nTrust code changes applied:")
        emit(r.changes.drop(columns="note"), "table", demo=False)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``catchments`` to the placekit parser."""
    sp = sub.add_parser("catchments", help="hospital shares of admissions per neighbourhood, by trust or by site")
    add_grouping_option(sp)
    add_format_option(sp)
    sp.add_argument("--as-of", default=None, dest="as_of", help="organisation structure date for trust codes (default today)")
    sp.add_argument("--by", choices=["trust", "site"], default="trust", help="shares per trust (OHID) or per acute hospital site")
    sp.add_argument("--method", choices=list(SPLIT_METHODS), default="logit",
                    help="--by site: split a trust's share among its sites by a fitted time-decay logit, or all to the nearest")  # fmt: skip
    sp.add_argument("--network", default=None, help="--by site: road network file for drive times (default: the calibrated drive model)")
    sp.set_defaults(func=cmd_catchments)
