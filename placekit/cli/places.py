"""Commands ``profile``, ``validate`` and ``map``: a place's neighbourhoods, a grouping file's checks, a map."""

from __future__ import annotations

import argparse
from pathlib import Path

from boundaries.grouping import read_grouping, soft_checks, ward_adjacency
from boundaries.profiles import POPULATION_BASES, profile, round_profile, ward_population
from boundaries.units import unit_soft_checks
from estates.access import build_access
from placekit.cli.common import (
    add_format_option,
    add_grouping_option,
    add_level_option,
    emit,
    load_place_and_grouping,
    load_place_from_args,
)
from placekit.cli.estates import read_hub_list
from placekit.errors import PlacekitError
from placekit.render.maps import place_map, save_map
from placekit.render.pack import INDICATORS
from placekit.render.report import write_profile

__all__ = ["register", "cmd_profile", "cmd_validate", "cmd_map"]


def _write_pack(args: argparse.Namespace) -> int:
    """Write the profile pack of ``--neighbourhood`` or ``--locality`` to ``--out`` (.pdf or .html)."""
    if bool(args.neighbourhood) == bool(args.locality):
        raise PlacekitError("--out writes one profile pack: give exactly one of --neighbourhood NAME or --locality NAME.")
    place, grouping = load_place_and_grouping(args)
    level, name = ("neighbourhood", args.neighbourhood) if args.neighbourhood else ("locality", args.locality)
    hubs = read_hub_list(args.hubs)
    access = {m: build_access(place, grouping, mode=m) for m in ("walk", "drive")} if hubs else None
    sites = access["walk"].sites if access else None
    out = write_profile(args.out, place, grouping, name, level=level, population=args.population, indicator=args.indicator,
                        hubs=hubs, sites=sites, access=access)  # fmt: skip
    print(f"wrote {out} ({out.stat().st_size / 1e3:,.0f} kB): profile of the {level} {name}{' — demo data' if place.demo else ''}")
    return 0


# Layers the profile table never reads (health need, assets, practice ages), and those only a Census 2021 base needs.
PROFILE_SKIPS = ("qof", "assets", "practice_ages")
CENSUS_LAYERS = ("census", "lsoas_2021", "lsoa11_lsoa21")


def cmd_profile(args: argparse.Namespace) -> int:
    """Print the profile of each neighbourhood, locality and the city, or write one unit's profile pack (``--out``)."""
    if args.out:
        return _write_pack(args)
    if args.neighbourhood or args.locality:
        raise PlacekitError("--neighbourhood/--locality choose the unit of a profile pack: add --out FILE.pdf or FILE.html.")
    base = args.population  # None: the place's own residents (mid-2015 for a manifest place, Census 2021 for one from national files)
    place, grouping = load_place_and_grouping(args, with_sites=False, skip=PROFILE_SKIPS + (CENSUS_LAYERS if base in (None, "mid2015") else ()))
    pr = round_profile(profile(place, grouping, population=base))
    if args.level != "all":
        pr = pr[pr["level"] == args.level]
    if args.format == "table":
        show = pr.drop(columns=["wards", "practice_codes", "ward_names"])
        show = show.rename(columns={"share_most_deprived_decile": "most_deprived_10%", "density_per_km2": "per_km2"})
        emit(show, "table", demo=place.demo, note=f"Residents: {pr.attrs['population_label']}. " + pr.attrs.get("note", ""))
    else:
        emit(pr.rename(columns={"name": "neighbourhood"}) if args.level == "neighbourhood" else pr, args.format, demo=place.demo)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Check a grouping file: hard errors end with status 2, soft findings are printed as warnings."""
    place = load_place_from_args(args, with_sites=False)
    grouping = read_grouping(args.grouping_file, wards=place.wards.index, lsoas=place.lsoas.index)
    if grouping.units == "lsoa":  # a plan built from LSOAs: band and contiguity on the LSOAs themselves
        findings = unit_soft_checks(place, grouping, population=args.population)
    else:
        findings = soft_checks(grouping, ward_population(place, args.population), ward_adjacency(place.wards),
                               ward_names=place.wards["name"].to_dict())  # fmt: skip
    n, m, _ = grouping.counts()
    lsoas = f" and {len(grouping.lsoa_to_neighbourhood)} LSOAs assigned explicitly" if grouping.lsoa_to_neighbourhood else ""
    print(
        f"{args.grouping_file}: valid grouping of {len(grouping.ward_to_neighbourhood)} wards{lsoas} into {n} neighbourhoods and {m} localities"
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
    add_level_option(sp)
    sp.add_argument(
        "--population",
        choices=list(POPULATION_BASES),
        default=None,
        help="resident base: mid-2015 estimates or Census 2021 (default: the place's own residents, mid2015 for a manifest place and "
        "census2021 for one built from national files; census2021 for a pack when the place has it)",
    )
    sp.add_argument("--neighbourhood", help="with --out: the neighbourhood whose profile pack to write (its full name)")
    sp.add_argument("--locality", help="with --out: the locality whose profile pack to write")
    sp.add_argument("--out", help="write the profile pack to FILE.pdf or FILE.html")
    sp.add_argument("--hubs", help="with --out: hub site ids (comma list or file); the pack then shows access to them by walk and drive")
    sp.add_argument("--indicator", default="imd", help=f"map shading of the pack: {', '.join(INDICATORS)} or a QOF code (e.g. DM)")
    sp.set_defaults(func=cmd_profile)

    sp = sub.add_parser("validate", help="check a grouping file: hard errors and soft warnings")
    sp.add_argument("grouping_file")
    sp.add_argument("--population", choices=list(POPULATION_BASES), default=None,
                    help="resident base of the population band check (default: the place's own residents)")  # fmt: skip
    sp.set_defaults(func=cmd_validate)

    sp = sub.add_parser("map", help="write a standalone HTML map of a grouping")
    add_grouping_option(sp)
    sp.add_argument("--out", required=True, help="output .html file")
    sp.add_argument("--tiles", default=None, help="folium tiles name (needs internet); default: plain background")
    sp.set_defaults(func=cmd_map)
