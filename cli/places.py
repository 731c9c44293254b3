"""Commands ``profile``, ``validate`` and ``map``: a place's neighbourhoods, a grouping file's checks, a map."""

from __future__ import annotations

import argparse
from pathlib import Path

from boundaries.grouping import read_grouping, soft_checks, ward_adjacency
from boundaries.profiles import profile, round_profile
from cli.common import add_format_option, add_grouping_option, emit, load_place_and_grouping, load_place_from_args
from render.maps import place_map, save_map

__all__ = ["register", "cmd_profile", "cmd_validate", "cmd_map"]


def cmd_profile(args: argparse.Namespace) -> int:
    """Print the profile of each neighbourhood, locality and the city."""
    place, grouping = load_place_and_grouping(args, with_sites=False)
    pr = round_profile(profile(place, grouping))
    if args.level != "all":
        pr = pr[pr["level"] == args.level]
    if args.format == "table":
        show = pr.drop(columns=["wards", "practice_codes", "ward_names"])
        show = show.rename(columns={"share_most_deprived_decile": "most_deprived_10%", "density_per_km2": "per_km2"})
        emit(show, "table", demo=place.demo, note=pr.attrs.get("note", ""))
    else:
        emit(pr.rename(columns={"name": "neighbourhood"}) if args.level == "neighbourhood" else pr, args.format, demo=place.demo)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Check a grouping file: hard errors end with status 2, soft findings are printed as warnings."""
    place = load_place_from_args(args, with_sites=False)
    grouping = read_grouping(args.grouping_file, wards=place.wards.index)
    findings = soft_checks(grouping, place.ward_population, ward_adjacency(place.wards), ward_names=place.wards["name"].to_dict())
    n, m, _ = grouping.counts()
    print(
        f"{args.grouping_file}: valid grouping of {len(grouping.ward_to_neighbourhood)} wards into {n} neighbourhoods and {m} localities"
        + (" (demo data)" if place.demo else "")
    )
    for f in findings:
        print(f"  warning: {f}")
    if not findings:
        print("  meets the population band, contiguity and 12:3:1 checks")
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    """Write a standalone HTML map of a grouping that draws offline."""
    place, grouping = load_place_and_grouping(args, with_sites=False)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_map(place_map(place, grouping, profile(place, grouping), offline=True, tiles=args.tiles), out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB){' — demo data' if place.demo else ''}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``profile``, ``validate`` and ``map`` to the placekit parser."""
    sp = sub.add_parser("profile", help="profile each neighbourhood, locality and the city")
    add_grouping_option(sp)
    add_format_option(sp)
    sp.add_argument("--level", choices=["neighbourhood", "locality", "city", "all"], default="neighbourhood")
    sp.set_defaults(func=cmd_profile)

    sp = sub.add_parser("validate", help="check a grouping file: hard errors and soft warnings")
    sp.add_argument("grouping_file")
    sp.set_defaults(func=cmd_validate)

    sp = sub.add_parser("map", help="write a standalone HTML map of a grouping")
    add_grouping_option(sp)
    sp.add_argument("--out", required=True, help="output .html file")
    sp.add_argument("--tiles", default=None, help="folium tiles name (needs internet); default: plain background")
    sp.set_defaults(func=cmd_map)
