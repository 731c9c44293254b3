"""Commands ``export`` and ``import-plan``: plans out to GIS files, and plans drawn elsewhere back in as groupings."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from boundaries.grouping import Grouping, practice_roll, read_grouping, write_grouping
from boundaries.plan_export import FORMATS, LAYERS, plan_layers, write_plan
from boundaries.plan_import import BY, OUTSIDE, import_plan
from boundaries.store import ScenarioStore, default_store_path
from geo.model import Place
from placekit.cli.common import emit, load_place_from_args
from placekit.errors import PlacekitError

__all__ = ["register", "cmd_export", "cmd_import_plan", "EXPORT_SKIPS"]

#: Layers an export never reads (its figures are those of flows, profile and health).
EXPORT_SKIPS = ("assets", "practice_ages")
_IMPORT_SKIPS = ("qof", "assets", "practice_ages", "catchments", "trusts", "hospitals")


def _plan(args: argparse.Namespace) -> tuple[Place, Grouping, list[str]]:
    """Load the place and the grouping of ``--grouping`` or ``--scenario``, with the hubs to export."""
    if bool(args.grouping) == bool(args.scenario):
        raise PlacekitError("export one plan: give exactly one of --grouping FILE or --scenario NAME.")
    hubs = [h.strip() for h in (args.hubs or "").split(",") if h.strip()]
    stored = None
    if args.scenario:
        stored = ScenarioStore(Path(args.store) if args.store else default_store_path())
        hubs = hubs or None
    place = load_place_from_args(args, with_sites=bool(hubs) or args.scenario is not None, skip=EXPORT_SKIPS)
    if stored is not None:
        s = stored.load(args.scenario, wards=list(place.wards.index))
        grouping = s["grouping"]
        hubs = hubs if hubs is not None else list(s["hubs"])
    else:
        grouping = read_grouping(args.grouping, wards=place.wards.index, roll=practice_roll(place))
    return place, grouping, hubs


def cmd_export(args: argparse.Namespace) -> int:
    """Write a grouping or saved scenario as a GeoPackage (every layer), GeoJSON or CSV (one layer) with its figures."""
    fmt = args.format or next((f for f, sfx in FORMATS.items() if Path(args.out).suffix.lower() in sfx), None)
    if fmt is None:
        raise PlacekitError(f"--out {args.out}: name a .gpkg, .geojson or .csv file, or give --format {'|'.join(FORMATS)}.")
    if Path(args.out).suffix.lower() not in FORMATS[fmt]:  # checked before the place is loaded
        raise PlacekitError(f"--out {Path(args.out).name}: a {fmt} export needs a name ending {' or '.join(FORMATS[fmt])}.")
    place, grouping, hubs = _plan(args)
    plan = plan_layers(place, grouping, hubs=hubs)
    out = write_plan(plan, args.out, fmt=fmt, layer=args.layer)
    if fmt == "gpkg":
        held = ", ".join(f"{n} ({len(g)})" for n, g in plan.layers.items())
        tables = ", ".join(n for n, t in (("fields", plan.fields), ("reference", plan.reference), ("about", plan.about)) if len(t.columns))
        print(f"wrote {out}: layers {held}, tables {tables}; EPSG:27700")  # a plan with no health figures has no reference table
    else:
        layer = args.layer or "neighbourhoods"
        crs = "EPSG:4326 (RFC 7946)" if fmt == "geojson" else "attributes only"
        print(f"wrote {out}: layer {layer} ({len(plan.layers[layer])} features), {crs}")
    about = dict(zip(plan.about["key"], plan.about["value"], strict=True))
    residents = " and ".join(v for v in (about["population_mid2015"], about["population_census2021"]) if not v.startswith("not "))
    print(f"bases of the figures: residents: {residents}; patients: {about['registrations']}; health need: {about['qof']}"
          + (" — demo data" if place.demo else ""))  # fmt: skip
    return 0


def cmd_import_plan(args: argparse.Namespace) -> int:
    """Turn neighbourhood polygons or a ``unit_id,district`` table into a grouping file, reporting every split and outside ward."""
    out = Path(args.out)
    if out.suffix.lower() not in (".json", ".csv"):
        raise PlacekitError(f"--out {out.name}: a plan comes in as a grouping file; name a .json or .csv file.")
    place = load_place_from_args(args, with_sites=False, skip=_IMPORT_SKIPS)
    result = import_plan(args.file, place, layer=args.layer, name_field=args.name_field, locality_field=args.locality_field, by=args.by,
                         outside=args.outside, name=args.name)  # fmt: skip
    for note in result.notes[1:]:
        print(f"placekit: note: {note}", file=sys.stderr)
    problems = result.problems
    if len(problems):
        emit(problems.assign(share=(100 * problems["share"]).round(1), outside_share=(100 * problems["outside_share"]).round(1)),
             args.format, demo=place.demo, note="share and outside_share in % of the ward")  # fmt: skip
    g = result.grouping
    write_grouping(g, out, ward_names=place.wards["name"].to_dict())
    n, m, _ = g.counts()
    print(f"wrote {out}: {len(g.ward_to_neighbourhood)} wards in {n} neighbourhoods and {m} localities ({result.notes[0]})"
          + (" — demo data" if place.demo else ""))  # fmt: skip
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``export`` and ``import-plan`` to the placekit parser."""
    sp = sub.add_parser("export", help="a grouping or saved scenario as a GeoPackage, GeoJSON or CSV with every figure")
    sp.add_argument("--grouping", help="grouping file (.csv or .json)")
    sp.add_argument("--scenario", help="a scenario saved in the store (its hubs are exported too)")
    sp.add_argument("--store", default=None, help="scenario store file (default: $PLACEKIT_HOME/scenarios.sqlite, the app's)")
    sp.add_argument("--format", choices=list(FORMATS), default=None, help="default: from the --out suffix")
    sp.add_argument("--out", required=True, help="output file: .gpkg (every layer), .geojson or .csv (one layer)")
    sp.add_argument("--layer", choices=list(LAYERS), default=None, help="the layer of a GeoJSON or CSV export (default neighbourhoods)")
    sp.add_argument("--hubs", default=None, help="hub site ids, comma-separated (default: the scenario's)")
    sp.set_defaults(func=cmd_export)

    sp = sub.add_parser("import-plan", help="neighbourhood polygons or a unit_id,district table drawn elsewhere → a grouping file")
    sp.add_argument("file", help="GeoPackage, GeoJSON, Shapefile (.shp or .zip) of polygons, or a CSV unit_id,district table")
    sp.add_argument("--layer", default=None, help="the layer of the neighbourhoods (default: the only polygon layer)")
    sp.add_argument("--name-field", dest="name_field", default=None, help="field naming each neighbourhood (default: name, neighbourhood, …)")
    sp.add_argument("--locality-field", dest="locality_field", default=None, help="field naming its locality (default: locality)")
    sp.add_argument("--by", choices=list(BY), default="area", help="assign each ward by most of its area (default) or residents")
    sp.add_argument("--outside", choices=list(OUTSIDE), default="refuse",
                    help="a ward in no neighbourhood: refuse (default) or give it to the nearest one (reported)")  # fmt: skip
    sp.add_argument("--name", default=None, help="name of the grouping (default: the file's name)")
    sp.add_argument("--format", choices=["table", "csv", "json"], default="table", help="format of the split/outside report")
    sp.add_argument("--out", required=True, help="grouping file to write (.json or .csv)")
    sp.set_defaults(func=cmd_import_plan)
