"""Commands ``model`` and ``whatif``: the registration choice model of a place, and what closing, merging or opening practices does."""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from estates.registration import Calibration, calibrate, choice_data
from estates.whatif import NEW_CODE, WhatIf, WhatIfResult, parse_capacity, parse_codes, prepare, what_if
from placekit.cli.common import (
    DEMO_HINT,
    add_format_option,
    add_grouping_option,
    emit,
    load_place_and_grouping,
    load_place_from_args,
    records,
)
from placekit.errors import PlacekitError
from placekit.safe_text import name_case

__all__ = ["register", "cmd_model", "cmd_whatif", "spec_from_args", "calibration_doc", "whatif_doc", "WHATIF_TABLES"]

#: The tables ``whatif --format csv --table NAME`` can print.
WHATIF_TABLES = ("practices", "moves", "travel", "equity", "containment", "boundary")
_MODEL_TABLES = ("measures", "terms", "practices")
_SHOWN = 15


def _calibration(args: argparse.Namespace, place) -> Calibration:
    data = choice_data(place, mode=args.mode, network=args.network, cutoff=args.cutoff)
    return calibrate(data, folds=args.folds)


def calibration_doc(cal: Calibration) -> dict:
    """Return the calibration as a JSON-ready mapping: fit, terms, measures, per-practice errors, coverage, notes."""
    d = cal.data
    return {
        "place": d.label,
        "base": d.base,
        "mode": d.mode,
        "travel_times": d.method,
        "modelled": d.modelled,
        "cutoff_minutes": d.cutoff,
        "lsoas": d.n_place,
        "practices": int(len(d.practices)),
        "pairs": int(d.fit_sets[1]),
        "coverage": d.coverage,
        "fit": {
            "loglik": cal.fit.loglik,
            "loglik_equal_shares": cal.fit.loglik_null,
            "pseudo_r2": cal.fit.rho2,
            "iterations": cal.fit.iterations,
            "converged": cal.fit.converged,
        },  # fmt: skip
        "terms": records(cal.terms.reset_index()),
        "measures": records(cal.measures),
        "practice_errors": records(cal.practices.reset_index()),
        "seconds": cal.seconds,
        "notes": cal.notes,
    }


def _pct(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    out = df.copy()
    for c in cols:
        if c in out:
            out[c] = (100 * out[c]).round(1)
    return out


def cmd_model(args: argparse.Namespace) -> int:
    """Fit the registration model to the place's registrations and print its terms and its fit beside the baselines."""
    place = load_place_from_args(args, skip=("qof", "practice_ages", "assets"))
    cal = _calibration(args, place)
    if args.format == "json":
        print(json.dumps(calibration_doc(cal), indent=2, ensure_ascii=False, default=str))
        _notes_to_stderr(cal.notes, demo=place.demo)
        return 0
    if args.format == "csv":
        table = {"measures": cal.measures, "terms": cal.terms.reset_index(), "practices": cal.practices.reset_index()}[args.table]
        emit(table, "csv", demo=place.demo)
        _notes_to_stderr(cal.notes)
        return 0
    d = cal.data
    cov = d.coverage
    if place.demo:
        print(f"*** DEMO DATA *** ({DEMO_HINT})")
    print(f"Registration choice model — {d.label}, {d.base} of its residents ({cov['residents_registered']:,} patients); "
          f"{d.n_place} LSOAs × {len(d.practices)} practices within {d.cutoff:g} min ({d.mode}), {d.fit_sets[1]:,} pairs.")  # fmt: skip
    print(f"In the choice sets: {cov['in_choice_sets']:,}; beyond the cutoff: {cov['beyond_cutoff']:,}; at practices without a "
          f"location: {cov['at_unlocated_practices']:,} (left out of the fit).\n")  # fmt: skip
    terms = cal.terms.reset_index()
    for c in ("coefficient", "se"):
        terms[c] = terms[c].map(lambda v: f"{v:.4g}")
    emit(terms.round(1), "table", demo=False)
    print()
    m = _pct(cal.measures, ["top_choice_share", "misplaced", "median_misplaced", "median_abs_list_error"])
    emit(m.astype(object).where(m.notna(), "—").rename(columns={"top_choice_share": "top_choice_%", "misplaced": "misplaced_%", "median_misplaced": "median_misplaced_%",
                           "median_abs_list_error": "median_abs_list_error_%"}).round(3), "table", demo=False,
         note="top_choice = patients at the practice ranked first at their LSOA (ties share); pseudo_r2 = McFadden's, against equal "
              "shares within each choice set; misplaced = share of a practice's residents put in the wrong LSOA (list-weighted over "
              f"{place.name}'s practices); out of sample, practices are held out in folds and predicted from a model fitted to the others. "
              f"Travel times: {d.method}{' (modelled)' if d.modelled else ''}.")  # fmt: skip
    own = cal.practices[cal.practices["in_place"]].sort_values("misplaced", ascending=False)
    if len(own):
        worst = ", ".join(f"{c} {name_case(r['practice_name'])} {100 * r['misplaced']:.0f}%" for c, r in own.head(5).iterrows())
        print(f"\nEach of {place.name}'s {len(own)} practices, share of its residents put in the wrong LSOA (in sample): median "
              f"{100 * own['misplaced'].median():.0f}%, worst: {worst} (--format json or --table practices lists every one).")  # fmt: skip
    for n in cal.notes:
        print(f"Note: {n}")
    return 0


def _notes_to_stderr(notes: list[str], *, demo: bool = False) -> None:
    if demo:
        print(f"# demo data: {DEMO_HINT}", file=sys.stderr)
    for n in notes:
        print(f"placekit: note: {n}", file=sys.stderr)


def spec_from_args(args: argparse.Namespace) -> WhatIf:
    """Return the what-if of ``--close``, ``--merge``, ``--open``, ``--at`` and ``--capacity`` (checked for form)."""
    merge = parse_codes(args.merge) if args.merge else None
    if merge is not None and len(merge) != 2:
        raise PlacekitError(
            f"--merge {args.merge!r} needs two practice codes, A,B: one list at the premises of A (e.g. --merge P84005,P84010)."
        )
    capacity = parse_capacity(args.capacity) if args.capacity is not None else None
    return WhatIf(close=parse_codes(args.close), merge=merge, open_name=args.open, open_at=args.at, capacity=capacity)


def whatif_doc(res: WhatIfResult, cal: Calibration, place_label: str) -> dict:
    """Return a what-if as a JSON-ready mapping: the scenario, the model fit, and every table."""
    new = None
    if res.new_practice is not None:
        n = res.new_practice.iloc[0]
        new = {"practice_code": NEW_CODE, "name": n["practice_name"], "where": n["where"], "ward_code": n["ward_code"],
               "capacity": int(n["list_size"]), "capacity_fill": res.capacity_fill}  # fmt: skip
    return {
        "place": place_label,
        "base": res.base,
        "scenario": res.spec.to_doc(),
        "description": res.spec.describe(),
        "model": cal.summary(),
        "closed_list": res.closed_list,
        "displaced": res.displaced,
        "drawn_to_new": res.drawn,
        "new_practice": new,
        "practices": records(res.practices),
        "travel": records(res.travel),
        "equity": records(res.equity),
        "containment": records(res.containment),
        "containment_rule": res.containment.attrs.get("practice_by"),
        "boundary": records(res.boundary),
        "flows": records(
            res.moves.groupby(["from", "to", "kind"], as_index=False)["patients"].sum().sort_values("patients", ascending=False)
        ),
        "notes": res.notes,
    }


def _print_whatif(res: WhatIfResult, cal: Calibration, demo: bool) -> None:
    if demo:
        print(f"*** DEMO DATA *** ({DEMO_HINT})")
    print(f"What if: {res.spec.describe()} — {res.base}.")
    print(f"Closed lists: {res.closed_list:,} patients; displaced by the model: {res.displaced:,}"
          + (f"; drawn to the new practice from lists that stay: {res.drawn:,}" if res.new_practice is not None else "") + ".")  # fmt: skip
    print(f"Model: {cal.describe()}.\n")
    pr = res.practices.copy()
    pr["change_pct"] = pr["change_pct"].round(1).astype(object).where(pr["change_pct"].notna(), "—")
    main = pr[(pr["status"] != "gains") | (pr.index < _SHOWN)]
    rest = pr.drop(main.index)
    tail = (
        f"; {len(rest)} more practices gain {rest['gain'].min()}–{rest['gain'].max()} patients each (--format json lists all)"
        if len(rest)
        else ""
    )
    emit(main.astype(object), "table", demo=False, note="gain = displaced patients it takes (the new practice: all it takes); drawn_to_new = "
         "its patients who would switch to the new practice" + tail)  # fmt: skip
    print("\nTravel time to the practice, minutes:")
    emit(res.travel.round(2).astype(object), "table", demo=False)
    print("\nBy IMD 2019 quintile of residence (1 = most deprived), minutes:")
    emit(res.equity.round(2).astype(object), "table", demo=False)
    print(f"\nContainment per neighbourhood, % of {res.base} (practices by {res.containment.attrs.get('practice_by')}):")
    emit(res.containment.round(2).astype(object), "table", demo=False)
    print("\nThe local authority boundary:")
    emit(res.boundary, "table", demo=False)
    for n in res.notes:
        print(f"Note: {n}")


def cmd_whatif(args: argparse.Namespace) -> int:
    """Close, merge or open practices and print where the patients go and what it does to travel, equity and containment."""
    spec = spec_from_args(args)
    place, grouping = load_place_and_grouping(args, skip=("qof", "practice_ages", "assets"))
    cal = _calibration(args, place)
    res = what_if(prepare(cal, place), spec, grouping)
    if args.format == "json":
        print(json.dumps(whatif_doc(res, cal, place.label), indent=2, ensure_ascii=False, default=str))
        _notes_to_stderr(res.notes, demo=place.demo)
    elif args.format == "csv":
        table = getattr(res, args.table)
        emit(table, "csv", demo=place.demo)
        _notes_to_stderr(res.notes)
    else:
        _print_whatif(res, cal, place.demo)
    return 0


def _model_options(sp: argparse.ArgumentParser) -> None:
    add_format_option(sp)
    sp.add_argument("--mode", choices=["walk", "drive"], default="walk", help="travel times of this mode (default walk)")
    sp.add_argument("--network", default=None, help="road network file (.osm, .osm.pbf, .graphml); default: the straight-line model")
    sp.add_argument(
        "--cutoff", type=float, default=None, help="choice sets: practices within this many minutes (default 180 walk, 30 drive)"
    )
    sp.add_argument("--folds", type=int, default=5, help="folds of practices held out for the out-of-sample check (0 skips it)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``model`` and ``whatif`` to the placekit parser."""
    sp = sub.add_parser("model", help="the registration choice model: its terms and fit, beside nearest-practice and size-only baselines")
    _model_options(sp)
    sp.add_argument("--table", choices=_MODEL_TABLES, default="measures", help="which table --format csv prints")
    sp.set_defaults(func=cmd_model)

    sp = sub.add_parser("whatif", help="close, merge or open practices: where patients go; travel, equity and containment")
    _model_options(sp)
    add_grouping_option(sp)
    sp.add_argument("--close", help="practice codes to close, comma-separated")
    sp.add_argument("--merge", help="A,B: one list at the premises of A (B's premises close)")
    sp.add_argument("--open", help="name of a new practice (with --at and --capacity)")
    sp.add_argument("--at", help="where the new practice opens: a postcode in the place or a site id")
    sp.add_argument("--capacity", help="patients the new practice can take (a positive whole number)")
    sp.add_argument("--table", choices=WHATIF_TABLES, default="practices", help="which table --format csv prints")
    sp.set_defaults(func=cmd_whatif)
