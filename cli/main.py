"""The ``placekit`` command line: profile, validate and map a place's groupings."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import pandas as pd

from placekit.errors import PlacekitError

__all__ = ["main"]


def _load(args):
    from boundaries.grouping import baseline_grouping, read_grouping
    from geo.place import load_place

    place = load_place(args.data, manifest=args.place)
    if getattr(args, "grouping", None):
        grouping = read_grouping(args.grouping, wards=place.wards.index)
    else:
        grouping = baseline_grouping(place)
    return place, grouping


def _records(df: pd.DataFrame) -> list[dict]:
    out = []
    for rec in df.to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, float) and pd.isna(v):
                v = None
            elif hasattr(v, "item"):
                v = v.item()
            clean[k] = v
        out.append(clean)
    return out


def _emit(df: pd.DataFrame, fmt: str, *, demo: bool, note: str = "", out=None) -> None:
    out = out or sys.stdout
    label = "demo data" if demo else ""
    if fmt == "json":
        print(json.dumps(_records(df), indent=2, ensure_ascii=False, default=str), file=out)
        if demo:
            print("# demo data: no data root set (use --data DIR or PLACEKIT_DATA)", file=sys.stderr)
    elif fmt == "csv":
        if demo:
            print("# demo data", file=out)
        flat = df.copy()
        for c in flat.columns:
            if flat[c].map(lambda v: isinstance(v, list)).any():
                flat[c] = flat[c].map(lambda v: ";".join(map(str, v)) if isinstance(v, list) else v)
        flat.to_csv(out, index=False, lineterminator="\n")
    else:
        from tabulate import tabulate

        if label:
            print(f"*** {label.upper()} *** (no data root set: use --data DIR or PLACEKIT_DATA)", file=out)
        print(tabulate(df, headers="keys", tablefmt="simple", showindex=False, floatfmt=",.2f", intfmt=","), file=out)
        if note:
            print(f"\nNote: {note}", file=out)


def cmd_profile(args) -> int:
    from boundaries.profiles import profile, round_profile

    place, grouping = _load(args)
    pr = round_profile(profile(place, grouping))
    if args.level != "all":
        pr = pr[pr["level"] == args.level]
    if args.format == "table":
        show = pr.drop(columns=["wards", "practice_codes", "ward_names"])
        show = show.rename(columns={"share_most_deprived_decile": "most_deprived_10%", "density_per_km2": "per_km2"})
        _emit(show, "table", demo=place.demo, note=pr.attrs.get("note", "") if hasattr(pr, "attrs") else "")
    else:
        pr = pr.rename(columns={"name": "neighbourhood"}) if args.level == "neighbourhood" else pr
        _emit(pr, args.format, demo=place.demo)
    return 0


def cmd_validate(args) -> int:
    from boundaries.grouping import read_grouping, soft_checks, ward_adjacency
    from geo.place import load_place, lsoa_table

    place = load_place(args.data, manifest=args.place, with_sites=False)
    grouping = read_grouping(args.grouping_file, wards=place.wards.index)
    wp = lsoa_table(place).groupby("ward_code")["population"].sum()
    findings = soft_checks(grouping, wp, ward_adjacency(place.wards), ward_names=place.wards["name"].to_dict())
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


def cmd_map(args) -> int:
    from boundaries.profiles import profile
    from placekit.render import place_map, save_map

    place, grouping = _load(args)
    m = place_map(place, grouping, profile(place, grouping), offline=True, tiles=args.tiles)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_map(m, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB){' — demo data' if place.demo else ''}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``placekit`` command."""
    p = argparse.ArgumentParser(prog="placekit", description="Plan neighbourhood health and care by place.")
    p.add_argument("--data", help="data root (default: $PLACEKIT_DATA; the demo place when neither is set)")
    p.add_argument("--place", help="place manifest TOML (default: the shipped Manchester manifest)")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp, *, grouping=True, fmt=True):
        if grouping:
            sp.add_argument("--grouping", help="grouping file (.csv or .json); default: the place's baseline")
        if fmt:
            sp.add_argument("--format", choices=["table", "csv", "json"], default="table")

    sp = sub.add_parser("profile", help="profile each neighbourhood, locality and the city")
    common(sp)
    sp.add_argument("--level", choices=["neighbourhood", "locality", "city", "all"], default="neighbourhood")
    sp.set_defaults(func=cmd_profile)

    sp = sub.add_parser("validate", help="check a grouping file: hard errors and soft warnings")
    sp.add_argument("grouping_file")
    sp.set_defaults(func=cmd_validate)

    sp = sub.add_parser("map", help="write a standalone HTML map of a grouping")
    common(sp, fmt=False)
    sp.add_argument("--out", required=True, help="output .html file")
    sp.add_argument("--tiles", default=None, help="folium tiles name (needs internet); default: plain background")
    sp.set_defaults(func=cmd_map)

    for register in _extensions():
        register(sub, common)
    return p


def _extensions():
    """Return the sub-command registrars of the other packages (flows, estates)."""
    regs = []
    try:
        from boundaries.cli import register as reg_b

        regs.append(reg_b)
    except ImportError:
        pass
    try:
        from estates.cli import register as reg_e

        regs.append(reg_e)
    except ImportError:
        pass
    return regs


def main(argv: list[str] | None = None) -> int:
    """Run the ``placekit`` command; return its exit status (2 on bad input)."""
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            return args.func(args)
    except PlacekitError as exc:
        print(f"placekit: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
