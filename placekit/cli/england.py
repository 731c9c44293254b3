"""Commands ``places`` and ``england``: England's local authorities, and one row of figures for each from the national files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from boundaries.england import ENGLAND_COLUMNS, england_table
from geo.england import cached_best_fit, england_best_fit, england_index, england_tables
from placekit.cli.common import add_format_option, emit
from placekit.errors import DataRootError, PlacekitError
from placekit.settings import BAND_MAX, BAND_MIN, data_root

__all__ = ["register", "cmd_places", "cmd_england"]

_PCT = [c for c in ENGLAND_COLUMNS if c.endswith("_pct") or "containment" in c]


def _root(args: argparse.Namespace, what: str) -> Path:
    root = data_root(args.data)
    if root is None:
        raise DataRootError(f"placekit {what} reads England's national files: set --data DIR or PLACEKIT_DATA to the data root.")
    return root


def cmd_places(args: argparse.Namespace) -> int:
    """List England's local authorities: code, name, kind, region, wards, LSOAs, practices with premises there, residents."""
    index = england_index(_root(args, "places"))
    out = index.authorities.reset_index()
    if args.format != "table":
        emit(out, args.format, demo=False)
        return 0
    old = ", ".join(f"{c} {r.old_name} → {r.lad_code}" for c, r in index.successors.iterrows())
    emit(out, "table", demo=False, note=f"{len(out)} local authorities (May 2025 wards; 2021 LSOAs). practices: with premises there, open in "
         "ODS (Dec 2023) or holding patients (July 2022); residents: Census 2021. Use a code or name with --place (e.g. --place "
         f"E08000035 or --place Leeds). Codes and names replaced since 2022 open their successor: {old}.")  # fmt: skip
    return 0


def cmd_england(args: argparse.Namespace) -> int:
    """Print one row per English local authority: practices, PCNs, residents, list, containment both ways, the PCN baseline's spread."""
    root = _root(args, "england")
    tables = england_tables(root)
    codes = None
    if args.only:
        codes = [c.strip().upper() for c in args.only.split(",") if c.strip()]
        unknown = [c for c in codes if c not in tables.authorities.index]
        if unknown:
            raise PlacekitError(f"--only: {unknown} are not codes of England's local authorities; run `placekit places`.")
    fit = cached_best_fit(tables)
    if fit is None:  # once per set of national files (about 20 s for England), then cached
        total = int(tables.lsoas["lad_code"].isin(codes).sum()) if codes else len(tables.lsoas)
        with tqdm(total=total, desc="LSOA → ward best fit", unit=" LSOAs", file=sys.stderr, mininterval=0.5) as bar:
            fit = england_best_fit(tables, codes=codes, progress=bar.update)
    with tqdm(total=len(codes or tables.authorities), desc="authorities", unit="", file=sys.stderr, mininterval=0.5) as bar:
        df = england_table(tables, fit, codes=codes, progress=lambda name: bar.update(1))
    if args.sort:
        if args.sort not in df:
            raise PlacekitError(f"--sort {args.sort!r} is not a column; use one of {list(df.columns)}.")
        df = df.sort_values(args.sort, ascending=not args.descending, kind="stable")
    if args.format != "table":
        emit(df, args.format, demo=False)
        return 0
    show = df.copy()
    show[_PCT] = show[_PCT].round(1)
    emit(show, "table", demo=False, note=_note())
    return 0


def _note() -> str:
    return (f"Registrations July 2022 (carried to 2021 LSOAs), residents Census 2021, PCNs January 2022; wards May 2025, LSOAs in wards by a "
            f"modelled best fit. list_resident_pct: share of the authority's practices' patients living in it; "
            f"residents_registered_here_pct: share of its registered residents registered with its practices. pcn_*: the PCN baseline (one "
            f"neighbourhood per PCN, each ward to the PCN holding most of its registered residents); pcns_outside_band: PCNs whose list in "
            f"the authority is outside {BAND_MIN:,}–{BAND_MAX:,}.")  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``places`` and ``england`` to the placekit parser."""
    sp = sub.add_parser("places", help="list England's local authorities (any of them works with --place CODE_OR_NAME)")
    add_format_option(sp)
    sp.set_defaults(func=cmd_places)

    sp = sub.add_parser("england", help="one row per English local authority: practices, residents, containment, the PCN baseline")
    add_format_option(sp)
    sp.add_argument("--sort", default=None, help="sort by this column (e.g. residents_registered_here_pct)")
    sp.add_argument("--descending", action="store_true", help="with --sort: largest first")
    sp.add_argument("--only", default=None, help="only these authority codes, comma-separated (default: all 296)")
    sp.set_defaults(func=cmd_england)

