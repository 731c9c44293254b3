"""Sub-commands ``flows``, ``catchments`` and ``suggest`` of the placekit CLI."""

from __future__ import annotations

__all__ = ["register"]


def _setup(args):
    from boundaries.flows import flow_base_from_place
    from placekit.cli import _load

    place, grouping = _load(args)
    return place, grouping, flow_base_from_place(place)


def cmd_flows(args) -> int:
    from boundaries.flows import compute_flows
    from placekit.cli import _emit

    place, grouping, base = _setup(args)
    f = compute_flows(base, grouping, practice_by=args.practice_by, city=place.name)
    how = "the ward their premises stand in" if args.practice_by == "location" else "where most of their patients live"
    rule = f"practices placed by {how}"
    if args.matrix:
        m = f.matrix.reset_index()
        _emit(m, args.format, demo=place.demo, note=rule)
        return 0
    nb = f.neighbourhoods.reset_index()
    nb.insert(1, "locality", nb["neighbourhood"].map(grouping.neighbourhood_to_locality))
    nb["practice_by"] = args.practice_by
    if args.format == "table":
        show = nb.drop(columns=["practice_by"]).copy()
        show["self_containment"] = (100 * show["self_containment"]).round(1)
        show["practice_share_resident"] = (100 * show["practice_share_resident"]).round(1)
        show = show.rename(columns={"self_containment": "self_contain_%", "practice_share_resident": "list_resident_%"})
        _emit(show, "table", demo=place.demo)
        bt = f.boundary.round(1).astype(object).T.reset_index().rename(columns={"index": "measure"})
        print()
        _emit(bt, "table", demo=False, note=f"{rule}; patients counted once; 'other LA' includes Wales and elsewhere in England.")
    else:
        _emit(nb, args.format, demo=place.demo)
    return 0


def cmd_catchments(args) -> int:
    from boundaries.catchments import place_catchments
    from placekit.cli import _emit, _load

    place, grouping = _load(args)
    r = place_catchments(place, grouping, as_of=args.as_of)
    out = r["summary"].join(r["shares"].drop(columns="unattributed")).reset_index().rename(columns={"unit": "neighbourhood"})
    if args.format == "table":
        show = r["summary"].reset_index().rename(columns={"unit": "neighbourhood"})
        _emit(show.round(3), "table", demo=place.demo, note="shares of admissions (OHID 2019), population-weighted from MSOAs to LSOAs")
        if len(r["changes"]):
            print("\nTrust code changes applied:")
            _emit(r["changes"].drop(columns="note"), "table", demo=False)
    else:
        _emit(out, args.format, demo=place.demo)
    return 0


def cmd_suggest(args) -> int:
    from boundaries.grouping import ward_adjacency
    from boundaries.suggest import suggest_moves
    from geo.place import lsoa_table
    from placekit.cli import _emit

    place, grouping, base = _setup(args)
    wp = lsoa_table(place).groupby("ward_code")["population"].sum()
    s = suggest_moves(
        base,
        grouping,
        ward_adjacency(place.wards),
        wp,
        practice_by=args.practice_by,
        top=args.top,
        ward_names=place.wards["name"].to_dict(),
    )
    if args.format == "table":
        cols = [
            "ward_name",
            "from_neighbourhood",
            "to_neighbourhood",
            "min_before",
            "min_after",
            "mean_before",
            "mean_after",
            "from_sc_after",
            "to_sc_after",
            "band_ok",
        ]
        show = s[cols].copy()
        for c in cols[3:9]:
            show[c] = (100 * show[c]).round(1)
        _emit(show, "table", demo=place.demo, note="self-containment in %; min and mean over neighbourhoods, before and after each move")
    else:
        _emit(s, args.format, demo=place.demo)
    return 0


def register(sub, common) -> None:
    """Add this package's sub-commands to the placekit parser."""
    sp = sub.add_parser("flows", help="cross-boundary GP registration flows per neighbourhood, locality and city")
    common(sp)
    sp.add_argument("--matrix", action="store_true", help="print the residence × registration matrix")
    sp.add_argument("--practice-by", choices=["location", "patients"], default="location", dest="practice_by")
    sp.set_defaults(func=cmd_flows)

    sp = sub.add_parser("catchments", help="hospital trust shares of admissions per neighbourhood")
    common(sp)
    sp.add_argument("--as-of", default=None, dest="as_of", help="organisation structure date for trust codes (default today)")
    sp.set_defaults(func=cmd_catchments)

    sp = sub.add_parser("suggest", help="single-ward moves ranked by their effect on self-containment")
    common(sp)
    sp.add_argument("--practice-by", choices=["location", "patients"], default="location", dest="practice_by")
    sp.add_argument("--top", type=int, default=10)
    sp.set_defaults(func=cmd_suggest)
