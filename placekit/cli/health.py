"""Commands ``health`` and ``assets``: QOF health need and community assets per neighbourhood, locality and city."""

from __future__ import annotations

import argparse

import pandas as pd

from boundaries.assets import asset_disparity, asset_table
from boundaries.health import health_base, health_by_imd, health_table
from boundaries.profiles import POPULATION_BASES
from placekit.cli.common import add_format_option, add_grouping_option, add_level_option, emit, load_place_and_grouping
from placekit.errors import PlacekitError

__all__ = ["register", "cmd_health", "cmd_assets", "HEALTH_SKIPS", "ASSET_SKIPS"]

#: Layers the health tables never read (assets, practice ages, the Census 2021 base), and those the asset table never reads.
HEALTH_SKIPS = ("assets", "practice_ages", "census", "lsoas_2021", "lsoa11_lsoa21")
ASSET_SKIPS = ("qof", "practice_ages")

_TABLE_COLUMNS = ["name", "condition", "list_base", "register", "list_size", "prevalence", "city_prevalence", "england_prevalence",
                  "ratio_city", "resident_register", "resident_prevalence", "resident_ratio_city"]  # fmt: skip


def _level(df: pd.DataFrame, level: str) -> pd.DataFrame:
    out = df if level == "all" else df[df["level"] == level]
    return out.rename(columns={"name": "neighbourhood"}) if level == "neighbourhood" else out


def cmd_health(args: argparse.Namespace) -> int:
    """Print QOF registers and prevalence per unit and condition: registered view, modelled resident view, city and England."""
    place, grouping = load_place_and_grouping(args, with_sites=False, skip=HEALTH_SKIPS)
    base = health_base(place)
    if args.imd:
        out = health_by_imd(base)
        note = "Modelled resident view for the whole place by IMD 2019 quintile of residence (1 = most deprived)."
    else:
        out = health_table(place, grouping, base=base)
        note = out.attrs["assumption"] + " " + " ".join(out.attrs["notes"])
    if args.condition:
        wanted = [c.strip().upper() for c in args.condition.split(",")]
        unknown = sorted(set(wanted) - set(base.conditions))
        if unknown:
            raise PlacekitError(f"--condition names unknown QOF group code(s) {unknown}; known: {', '.join(base.conditions)}.")
        out = out[out["condition"].isin(wanted)]
    if not args.imd:
        out = _level(out, args.level)
    if args.format == "table":
        show = out if args.imd else out[[c if c in out else "neighbourhood" for c in _TABLE_COLUMNS]]
        emit(show.round(2), "table", demo=place.demo, note=f"{base.vintage}. {note}")
    else:
        emit(out, args.format, demo=place.demo)
    return 0


def cmd_assets(args: argparse.Namespace) -> int:
    """Print community assets per unit and type, with the rate per 10,000 residents and the disparity between neighbourhoods."""
    place, grouping = load_place_and_grouping(args, skip=ASSET_SKIPS)
    table = asset_table(place, grouping, population=args.population)
    if table.empty:
        raise PlacekitError(f"{place.label} has no community assets (food banks, Jobcentres, post offices, places of worship, libraries): "
                            "add an [layers.assets] layer or [[sites]] of those types to a place manifest.")  # fmt: skip
    if args.disparity:
        out = asset_disparity(table).reset_index()
        emit(out.round(2) if args.format == "table" else out, args.format, demo=place.demo,
             note=f"Rates per 10,000 {table.attrs['population_label']}; ratio = highest ÷ lowest neighbourhood.")  # fmt: skip
        return 0
    out = _level(table, args.level)
    if args.format == "table":
        key = "neighbourhood" if args.level == "neighbourhood" else "name"
        wide = out.pivot_table(index=key, columns="asset_label", values="count", aggfunc="sum", sort=False)
        rate = out.pivot_table(index=key, columns="asset_label", values="per_10k", aggfunc="sum", sort=False)
        cells = wide.astype(int).astype(str) + " (" + rate.round(1).astype(str) + ")"
        sources = "; ".join(f"{k}: {v}" for k, v in table.attrs["sources"].items())
        emit(cells.reset_index(), "table", demo=place.demo,
             note=f"count (per 10,000 {table.attrs['population_label']}). Sources: {sources}.")  # fmt: skip
    else:
        emit(out, args.format, demo=place.demo)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``health`` and ``assets`` to the placekit parser."""
    sp = sub.add_parser("health", help="QOF health need per neighbourhood: registered and modelled resident views, city and England")
    add_grouping_option(sp)
    add_format_option(sp)
    add_level_option(sp)
    sp.add_argument("--condition", help="comma-separated QOF group codes (e.g. DM,HYP); default: all 21")
    sp.add_argument("--imd", action="store_true", help="the modelled resident view of the whole place by IMD quintile of residence")
    sp.set_defaults(func=cmd_health)

    sp = sub.add_parser("assets", help="community assets per neighbourhood: counts by type, per 10,000 residents, disparity")
    add_grouping_option(sp)
    add_format_option(sp)
    add_level_option(sp)
    sp.add_argument("--population", choices=list(POPULATION_BASES), default="census2021", help="resident base of the rates")
    sp.add_argument("--disparity", action="store_true", help="per type: the highest and lowest neighbourhood rate and their ratio")
    sp.set_defaults(func=cmd_assets)
