"""Command ``catchments``: hospital shares of each neighbourhood's admissions."""

from __future__ import annotations

import argparse

from boundaries.catchments import place_catchments
from cli.common import add_format_option, add_grouping_option, emit, load_place_and_grouping

__all__ = ["register", "cmd_catchments"]


def cmd_catchments(args: argparse.Namespace) -> int:
    """Print each neighbourhood's hospital trust shares of admissions."""
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
    sp = sub.add_parser("catchments", help="hospital trust shares of admissions per neighbourhood")
    add_grouping_option(sp)
    add_format_option(sp)
    sp.add_argument("--as-of", default=None, dest="as_of", help="organisation structure date for trust codes (default today)")
    sp.set_defaults(func=cmd_catchments)
