"""Commands ``flows``, ``crossings``, ``practices`` and ``suggest``: who each neighbourhood team serves, and moves that help."""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from boundaries.flows import MEASURES, compute_flows, flow_base_from_place, straddling_practices, who_crosses
from boundaries.grouping import PRACTICE_RULES, ward_adjacency
from boundaries.membership import practice_membership
from boundaries.suggest import OBJECTIVE, suggest_moves
from placekit.cli.common import DEMO_HINT, add_format_option, add_grouping_option, emit, load_place_and_grouping, records
from placekit.errors import PlacekitError
from placekit.settings import BAND_MAX, BAND_MIN

__all__ = ["register", "cmd_flows", "cmd_crossings", "cmd_practices", "cmd_suggest", "MEASURE_NOTE"]

#: One paragraph on the two measures, printed under the flows table (also in the README and on the Flows page).
MEASURE_NOTE = (
    "resident containment = share of a neighbourhood's residents (registered with any practice) registered with its own practices; "
    "list containment = share of the patients registered with its practices who live in its wards (patients living outside the city "
    "stay in the denominator). The 2015 One Team specification's range, 80% (Wythenshawe) to 44% (Withington and Fallowfield), is the "
    "list measure. They differ because a team's list and its residents are different people: a practice near a boundary draws "
    "patients from next door (lowering list containment), and residents registered across the boundary lower resident containment."
)
_FLOW_COLUMNS = ["neighbourhood", "locality", "resident_containment", "list_containment", "contained", "residents_registered",
                 "registered_list", "population", "population_in_band", "list_in_band", "residents_outside_city", "list_outside_city",
                 "list_residence_unknown", "n_practices", "practices"]  # fmt: skip


def _rule(args: argparse.Namespace, grouping) -> str:
    rule = args.practice_by or grouping.practice_rule
    return f"practices placed by {PRACTICE_RULES[rule]} ({rule}) unless assigned explicitly ({len(grouping.practice_to_neighbourhood)})"


def _pct(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    out = df.copy()
    for c in cols:
        out[c] = (100 * out[c]).round(1)
    return out


def cmd_flows(args: argparse.Namespace) -> int:
    """Print both measures per neighbourhood (or the whole matrix), then the localities' and city's boundary table."""
    place, grouping = load_place_and_grouping(args, with_sites=False)
    f = compute_flows(flow_base_from_place(place, units=grouping.units), grouping, practice_by=args.practice_by, city=place.name)
    if args.matrix:
        emit(f.matrix.reset_index(), args.format, demo=place.demo, note=_rule(args, grouping))
        return 0
    if args.level in ("locality", "city"):
        return _boundary_level(f, args, place)
    nb = f.neighbourhoods.reset_index()[_FLOW_COLUMNS]
    if args.format != "table":
        emit(nb.assign(practice_by=f.practice_by, population_base=f.bases["population"], list_base=f.bases["registered_list"]), args.format,
             demo=place.demo)  # fmt: skip
        return 0
    show = _pct(nb.drop(columns=["practices", "list_outside_city", "list_residence_unknown"]), ["resident_containment", "list_containment"])
    show = show.rename(
        columns={"resident_containment": "resident_cont_%", "list_containment": "list_cont_%", "population_in_band": "pop_in_band"}
    )
    emit(show, "table", demo=place.demo, note=f"{_rule(args, grouping)}. population = {f.bases['population']}; residents_registered, "
         f"registered_list = {f.bases['registered_list']}; band {BAND_MIN:,}–{BAND_MAX:,} on both.\n{MEASURE_NOTE}")  # fmt: skip
    print()
    bt = f.boundary.round(1).astype(object).T.reset_index().rename(columns={"index": "measure"})
    emit(bt, "table", demo=False, note="patients counted once; 'other LA' includes Wales and elsewhere in England.")
    return 0


def _boundary_level(f, args: argparse.Namespace, place) -> int:
    """Print the boundary table's locality rows or its city column; ``--level city --format json`` is one JSON object."""
    bt = f.boundary[f.boundary["level"] == args.level].reset_index()
    bt = bt.assign(list_base=f.bases["registered_list"], place=place.label)
    if args.level == "city" and args.format == "json":
        print(json.dumps(records(bt)[0], indent=2, ensure_ascii=False, default=str))
        if place.demo:
            print(f"# demo data: {DEMO_HINT}", file=sys.stderr)
        return 0
    if args.format != "table":
        emit(bt, args.format, demo=place.demo)
        return 0
    emit(bt.drop(columns=["level", "list_base", "place"]).round(1).astype(object).T.reset_index().rename(columns={"index": "measure"}),
         "table", demo=place.demo, note=f"{f.bases['registered_list']}; patients counted once; 'other LA' includes Wales and elsewhere in England.")  # fmt: skip
    return 0


def cmd_crossings(args: argparse.Namespace) -> int:
    """Print, per neighbourhood, where its practices' patients live and where its residents are registered; then its split practices."""
    place, grouping = load_place_and_grouping(args, with_sites=False)
    f = compute_flows(flow_base_from_place(place, units=grouping.units), grouping, practice_by=args.practice_by, city=place.name)
    wc = who_crosses(f)
    sp = straddling_practices(f).reset_index()
    if args.neighbourhood:
        if args.neighbourhood not in f.units:
            raise PlacekitError(f"--neighbourhood {args.neighbourhood!r} is not in the grouping; use one of {f.units}.")
        wc, sp = wc[wc["neighbourhood"] == args.neighbourhood], sp[sp["neighbourhood"] == args.neighbourhood]
    wc = wc[wc["patients"] >= args.min_patients]
    if args.format != "table":
        emit(wc, args.format, demo=place.demo)
        return 0
    emit(_pct(wc, ["share"]).rename(columns={"share": "share_%"}), "table", demo=place.demo,
         note=f"{_rule(args, grouping)}; {f.bases['registered_list']}; flows under {args.min_patients} patients not shown. 'list by residence': "
         "patients of its practices by where they live; 'residents by practice': its residents by where their practice is.")  # fmt: skip
    print()
    cols = ["practice_code", "practice_name", "neighbourhood", "list", "own_share", "second_neighbourhood", "second_share", "outside_city"]
    emit(_pct(sp[sp["own_share"] < args.straddle][cols], ["own_share", "second_share"]), "table", demo=False,
         note=f"straddling practices: under {args.straddle:.0%} of the list in the practice's own neighbourhood")  # fmt: skip
    return 0


def cmd_practices(args: argparse.Namespace) -> int:
    """Print each practice of the place with its team, how it was decided and how its list splits."""
    place, grouping = load_place_and_grouping(args, with_sites=False)
    base = flow_base_from_place(place, units=grouping.units)
    m = practice_membership(base, grouping, practice_by=args.practice_by)
    split = straddling_practices(compute_flows(base, grouping, practice_by=args.practice_by))
    out = m.join(split[["own_share", "second_neighbourhood", "second_share", "outside_city"]]).reset_index()
    if base.row_ward is not None:  # a plan of LSOAs: premises by LSOA, named by its ward
        out["premises_ward"] = out["premises_ward"].map(base.row_ward)
    out["premises_ward"] = out["premises_ward"].map(place.wards["name"])
    if args.format != "table":
        emit(out, args.format, demo=place.demo)
        return 0
    emit(_pct(out.drop(columns=["pcn_code"]), ["own_share", "second_share"]), "table", demo=place.demo,
         note=f"{_rule(args, grouping)}; list_size and shares: {base.list_base}")  # fmt: skip
    return 0


_SUGGEST_COLUMNS = ["rank", "kind", "unit_name", "from_neighbourhood", "to_neighbourhood", "effect", "min_before", "min_after", "mean_after",
                    "from_after", "to_after", "population_from_after", "population_to_after", "list_from_after", "list_to_after", "band_kept",
                    "contiguity_kept"]  # fmt: skip


def cmd_suggest(args: argparse.Namespace) -> int:
    """Print single ward and practice moves ranked by their effect on the chosen containment measure."""
    place, grouping = load_place_and_grouping(args, with_sites=False)
    base = flow_base_from_place(place)
    s = suggest_moves(base, grouping, ward_adjacency(place.wards), measure=args.measure, kinds=tuple(args.kinds.split(",")),
                      practice_by=args.practice_by, band_base=args.band_base, top=args.top, ward_names=place.wards["name"].to_dict())  # fmt: skip
    if args.format != "table":
        emit(s.assign(measure=args.measure), args.format, demo=place.demo)
        return 0
    show = _pct(s[_SUGGEST_COLUMNS], ["min_before", "min_after", "mean_after", "from_after", "to_after"])
    if s.empty:
        print(f"no single move to suggest: the grouping has {len(grouping.neighbourhoods)} neighbourhood(s) and no ward or practice can "
              "change neighbourhood without emptying one" + (" (demo data)" if place.demo else "") + ".")  # fmt: skip
        return 0
    bands = {"population": base.population_base, "registered_list": base.list_base}
    emit(show, "table", demo=place.demo, note=f"{args.measure.replace('_', ' ')} in %; min and mean (city-wide) before and after each move. "
         f"Ranked: {OBJECTIVE}. Band {BAND_MIN:,}–{BAND_MAX:,} checked on {bands[s.attrs['band_base']]}; population = {base.population_base}, "
         f"list = {base.list_base}. Apply a ward move by editing the grouping file; a practice move adds the practice under the neighbourhood.")  # fmt: skip
    return 0


def _common(sp: argparse.ArgumentParser) -> None:
    add_grouping_option(sp)
    add_format_option(sp)
    sp.add_argument("--practice-by", choices=list(PRACTICE_RULES), default=None, dest="practice_by",
                    help="place practices not assigned explicitly by this rule (default: the grouping's rule, premises unless set)")  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``flows``, ``crossings``, ``practices`` and ``suggest`` to the placekit parser."""
    sp = sub.add_parser("flows", help="resident and list containment per neighbourhood; the localities' and city's boundary table")
    _common(sp)
    sp.add_argument("--matrix", action="store_true", help="print the residence × registration matrix")
    sp.add_argument("--level", choices=["neighbourhood", "locality", "city"], default="neighbourhood",
                    help="neighbourhoods' measures (default), or the boundary table's localities or city column (city + --format json: one "
                    "JSON object)")  # fmt: skip
    sp.set_defaults(func=cmd_flows)

    sp = sub.add_parser("crossings", help="who crosses: per neighbourhood, where its patients live and its residents are registered")
    _common(sp)
    sp.add_argument("--neighbourhood", help="only this neighbourhood")
    sp.add_argument("--min-patients", type=int, default=50, dest="min_patients", help="hide smaller flows (default 50)")
    sp.add_argument("--straddle", type=float, default=0.6, help="list practices with less than this share in their own neighbourhood")
    sp.set_defaults(func=cmd_crossings)

    sp = sub.add_parser("practices", help="each practice's team, how it was decided, and how its list splits")
    _common(sp)
    sp.set_defaults(func=cmd_practices)

    sp = sub.add_parser("suggest", help="single ward and practice moves ranked by their effect on containment")
    _common(sp)
    sp.add_argument("--measure", choices=list(MEASURES), default="resident_containment")
    sp.add_argument("--kinds", default="ward,practice", help="moves to consider: ward, practice or ward,practice")
    sp.add_argument("--band-base", choices=["population", "registered_list"], default=None, dest="band_base",
                    help="team size checked against the band (default: the measure's base)")  # fmt: skip
    sp.add_argument("--top", type=int, default=10)
    sp.set_defaults(func=cmd_suggest)
