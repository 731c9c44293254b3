"""What every command shares: the common options, loading the place and grouping, and printing a table."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Collection
from typing import TextIO

import pandas as pd
from tabulate import tabulate

from boundaries.baseline import is_pcn_baseline, place_baseline
from boundaries.grouping import Grouping, practice_roll, read_grouping
from geo.model import Place
from geo.national import open_place
from placekit.errors import StrictWarningError
from placekit.safe_text import neutralise_frame

__all__ = [
    "add_grouping_option",
    "add_format_option",
    "add_level_option",
    "load_place_from_args",
    "load_place_and_grouping",
    "report_notes",
    "records",
    "emit",
    "DEMO_HINT",
]

DEMO_HINT = "no data root set: use --data DIR or PLACEKIT_DATA"


def add_grouping_option(sp: argparse.ArgumentParser) -> None:
    """Add ``--grouping FILE`` (default: the place's baseline)."""
    sp.add_argument("--grouping", help="grouping file (.csv or .json); default: the place's baseline")


def add_format_option(sp: argparse.ArgumentParser) -> None:
    """Add ``--format table|csv|json``."""
    sp.add_argument("--format", choices=["table", "csv", "json"], default="table")


def add_level_option(sp: argparse.ArgumentParser) -> None:
    """Add ``--level neighbourhood|locality|city|all`` (which rows of a profile-like table to print)."""
    sp.add_argument("--level", choices=["neighbourhood", "locality", "city", "all"], default="neighbourhood")


def report_notes(place: Place, *, strict: bool = False, err: TextIO | None = None) -> None:
    """Print every note of the loader on stderr (``placekit: warning: ...``); with `strict`, refuse warnings.

    Raises
    ------
    StrictWarningError
        When `strict` and a note is a warning (not an ``info`` note such as closed practices).
    """
    err = err or sys.stderr
    if place.demo:
        return  # the demo place is labelled "demo data" in every output already
    levels = [getattr(n, "level", "warning") for n in place.notes]
    for n, level in zip(place.notes, levels, strict=True):
        print(f"placekit: {'warning' if level == 'warning' else 'note'}: {n}", file=err)
    if strict and "warning" in levels:
        raise StrictWarningError(
            f"--strict: the loader reported {levels.count('warning')} warning(s) (printed above); fix the inputs they name, "
            "or run without --strict."
        )


def load_place_from_args(args: argparse.Namespace, *, with_sites: bool = True, skip: Collection[str] = ()) -> Place:
    """Load the place of ``--data``/``--place`` (``--allow-data-loss`` passed on), printing the loader's notes on stderr.

    ``--place`` is a manifest (``.toml``) or an English local authority's code or name, built from
    the national files (:func:`geo.national.open_place`). `skip` names optional layers the command
    does not use (not read, so neither their time nor their notes).
    """
    allow = True if getattr(args, "allow_data_loss", False) else None
    place = open_place(args.data, args.place, with_sites=with_sites, allow_data_loss=allow, skip=skip)
    report_notes(place, strict=getattr(args, "strict", False))
    return place


def load_place_and_grouping(args: argparse.Namespace, *, with_sites: bool = True, skip: Collection[str] = ()) -> tuple[Place, Grouping]:
    """Load the place named by ``--data``/``--place`` and the grouping of ``--grouping`` (or the baseline)."""
    place = load_place_from_args(args, with_sites=with_sites, skip=skip)
    if getattr(args, "grouping", None):
        return place, read_grouping(args.grouping, wards=place.wards.index, roll=practice_roll(place), lsoas=place.lsoas.index)
    grouping = place_baseline(place)
    if is_pcn_baseline(grouping):
        left = grouping.meta.get("pcns_without_wards")
        print(f"placekit: note: grouping: {grouping.name} — {grouping.meta['method']}." + (f" PCNs with no ward: {left}." if left else "")
              + " Pass --grouping FILE for another grouping.", file=sys.stderr)  # fmt: skip
    return place, grouping


def records(df: pd.DataFrame) -> list[dict]:
    """Return the rows of `df` as JSON-ready dicts (NaN → None, numpy scalars → Python)."""
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


def _flatten_lists(df: pd.DataFrame) -> pd.DataFrame:
    flat = df.copy()
    for c in flat.columns:
        if flat[c].map(lambda v: isinstance(v, list)).any():
            flat[c] = flat[c].map(lambda v: ";".join(map(str, v)) if isinstance(v, list) else v)
    return flat


def emit(df: pd.DataFrame, fmt: str, *, demo: bool, note: str = "", out: TextIO | None = None) -> None:
    """Print `df` as a table, CSV or JSON on `out` (stdout); demo data is labelled in every format.

    JSON keeps stdout pure (the demo label goes to stderr); CSV starts with a ``# demo data``
    line and its text cells are neutralised against spreadsheet formulas
    (:func:`placekit.safe_text.neutralise_frame`); a table is headed by a banner and followed by `note`.
    """
    out = out or sys.stdout
    if fmt == "json":
        print(json.dumps(records(df), indent=2, ensure_ascii=False, default=str), file=out)
        if demo:
            print(f"# demo data: {DEMO_HINT}", file=sys.stderr)
    elif fmt == "csv":
        if demo:
            print("# demo data", file=out)
        neutralise_frame(_flatten_lists(df)).to_csv(out, index=False, lineterminator="\n")
    else:
        if demo:
            print(f"*** DEMO DATA *** ({DEMO_HINT})", file=out)
        print(tabulate(df, headers="keys", tablefmt="simple", showindex=False, floatfmt=",.2f", intfmt=","), file=out)
        if note:
            print(f"\nNote: {note}", file=out)
