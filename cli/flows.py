"""Commands ``flows`` and ``suggest``: GP registration flows across boundaries, and moves that reduce them."""

from __future__ import annotations

import argparse

from boundaries.flows import compute_flows, flow_base_from_place
from boundaries.grouping import ward_adjacency
from boundaries.suggest import suggest_moves
from cli.common import add_format_option, add_grouping_option, emit, load_place_and_grouping

__all__ = ["register", "cmd_flows", "cmd_suggest"]

_RULES = {"location": "the ward their premises stand in", "patients": "where most of their patients live"}


def cmd_flows(args: argparse.Namespace) -> int:
    """Print flows per neighbourhood (or the whole matrix), then the localities' and city's boundary table."""
    place, grouping = load_place_and_grouping(args, with_sites=False)
    f = compute_flows(flow_base_from_place(place), grouping, practice_by=args.practice_by, city=place.name)
    rule = f"practices placed by {_RULES[args.practice_by]}"
    if args.matrix:
        emit(f.matrix.reset_index(), args.format, demo=place.demo, note=rule)
        return 0
    nb = f.neighbourhoods.reset_index()
    nb.insert(1, "locality", nb["neighbourhood"].map(grouping.neighbourhood_to_locality))
    nb["practice_by"] = args.practice_by
    if args.format != "table":
        emit(nb, args.format, demo=place.demo)
        return 0
    show = nb.drop(columns=["practice_by"])
    show["self_containment"] = (100 * show["self_containment"]).round(1)
    show["practice_share_resident"] = (100 * show["practice_share_resident"]).round(1)
    emit(show.rename(columns={"self_containment": "self_contain_%", "practice_share_resident": "list_resident_%"}), "table", demo=place.demo)
    print()
    bt = f.boundary.round(1).astype(object).T.reset_index().rename(columns={"index": "measure"})
    emit(bt, "table", demo=False, note=f"{rule}; patients counted once; 'other LA' includes Wales and elsewhere in England.")
    return 0


_SUGGEST_COLUMNS = ["ward_name", "from_neighbourhood", "to_neighbourhood", "min_before", "min_after", "mean_before", "mean_after",
                    "from_sc_after", "to_sc_after", "band_ok"]  # fmt: skip


def cmd_suggest(args: argparse.Namespace) -> int:
    """Print single-ward moves ranked by their effect on self-containment."""
    place, grouping = load_place_and_grouping(args, with_sites=False)
    s = suggest_moves(flow_base_from_place(place), grouping, ward_adjacency(place.wards), place.ward_population,
                      practice_by=args.practice_by, top=args.top, ward_names=place.wards["name"].to_dict())  # fmt: skip
    if args.format != "table":
        emit(s, args.format, demo=place.demo)
        return 0
    show = s[_SUGGEST_COLUMNS].copy()
    for c in _SUGGEST_COLUMNS[3:9]:
        show[c] = (100 * show[c]).round(1)
    emit(show, "table", demo=place.demo, note="self-containment in %; min and mean over neighbourhoods, before and after each move")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``flows`` and ``suggest`` to the placekit parser."""
    sp = sub.add_parser("flows", help="cross-boundary GP registration flows per neighbourhood, locality and city")
    add_grouping_option(sp)
    add_format_option(sp)
    sp.add_argument("--matrix", action="store_true", help="print the residence × registration matrix")
    sp.add_argument("--practice-by", choices=list(_RULES), default="location", dest="practice_by")
    sp.set_defaults(func=cmd_flows)

    sp = sub.add_parser("suggest", help="single-ward moves ranked by their effect on self-containment")
    add_grouping_option(sp)
    add_format_option(sp)
    sp.add_argument("--practice-by", choices=list(_RULES), default="location", dest="practice_by")
    sp.add_argument("--top", type=int, default=10)
    sp.set_defaults(func=cmd_suggest)
