"""Command ``scenarios``: list, show, save, export, import and delete the scenarios the app saves.

The store is the app's: ``$PLACEKIT_HOME/scenarios.sqlite`` (``--store FILE`` for another),
so scenarios can be scripted, backed up and tested.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from boundaries.grouping import Grouping, read_grouping, write_grouping
from boundaries.store import ScenarioStore, default_store_path
from geo.demo import demo_place
from geo.manifest import read_manifest
from geo.national import is_manifest, national_place
from geo.place import read_layer
from placekit.cli.common import add_format_option, emit
from placekit.errors import PlacekitError, ScenarioFileError
from placekit.settings import data_root

__all__ = ["register", "cmd_list", "cmd_show", "cmd_save", "cmd_export", "cmd_import", "cmd_delete", "place_wards"]


def _store(args: argparse.Namespace) -> ScenarioStore:
    return ScenarioStore(Path(args.store) if args.store else default_store_path())


def place_wards(args: argparse.Namespace) -> tuple[str, pd.Index]:
    """Return the place's key (as the app stores it) and its ward codes, reading only the wards layer (a national place: its cache)."""
    root = data_root(args.data)
    if root is None:
        place = demo_place()
        return place.label, place.wards.index
    if not root.is_dir():
        raise PlacekitError(f"data root {root} is not a folder; set --data DIR or PLACEKIT_DATA to the folder holding the place's files.")
    if not is_manifest(args.place):  # an English authority: the key and wards of its place from the national files
        place = national_place(root, args.place)
        return place.key, place.wards.index
    man = read_manifest(args.place)
    return man.name, read_layer(man.layer("wards"), root).index


def _warn_skipped(listing: pd.DataFrame) -> None:
    for p in listing.attrs.get("skipped", []):
        print(f"placekit: warning: scenario {p['name']!r} is damaged and was left out ({p['reason']}); "
              f"delete it with `placekit scenarios delete {p['name']!r}`.", file=sys.stderr)  # fmt: skip


def cmd_list(args: argparse.Namespace) -> int:
    """Print the stored scenarios, newest first; damaged rows are named on stderr."""
    listing = _store(args).list(args.for_place)
    _warn_skipped(listing)
    emit(listing, args.format, demo=False)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print one scenario: its wards, neighbourhoods and localities (and, as JSON, its hubs and note)."""
    s = _store(args).load(args.name)
    g: Grouping = s["grouping"]
    if args.format == "json":
        doc = {k: s[k] for k in ("name", "place", "saved_at", "created_at", "note", "hubs", "whatif")}
        doc["neighbourhoods"] = {n: {"locality": g.neighbourhood_to_locality[n], "wards": [w for w, x in g.ward_to_neighbourhood.items() if x == n]}
                                 for n in g.neighbourhoods}  # fmt: skip
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    frame = g.to_frame().drop(columns="ward_name")
    if args.format == "table":
        n, m, _ = g.counts()
        print(f"{s['name']} — {s['place']}; {len(g.ward_to_neighbourhood)} wards in {n} neighbourhoods and {m} localities; "
              f"saved {s['saved_at']}; hubs: {', '.join(s['hubs']) or 'none'}" + (f"\nnote: {s['note']}" if s["note"] else "")
              + (f"\nwhat-if: {json.dumps(s['whatif'], ensure_ascii=False)}" if s.get("whatif") else ""))  # fmt: skip
    emit(frame, args.format, demo=False)
    return 0


def cmd_save(args: argparse.Namespace) -> int:
    """Check a grouping file against the place's wards and save it as a scenario."""
    label, wards = place_wards(args)
    g = read_grouping(args.file, wards=wards)
    name = args.name or g.name or Path(args.file).stem
    hubs = [h.strip() for h in (args.hubs or "").split(",") if h.strip()]
    _store(args).save(name, g.renamed(name), place=label, hubs=hubs, note=args.note or "", overwrite=args.overwrite)
    n, m, _ = g.counts()
    print(f"saved {name!r} ({label}: {len(g.ward_to_neighbourhood)} wards, {n} neighbourhoods, {m} localities)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write one scenario as a grouping file (.csv or .json), or with ``--all`` the whole store as JSON."""
    out = Path(args.out)
    if args.all:
        n = _store(args).export_all(out)
        print(f"wrote {n} scenario(s) to {out}")
        return 0
    if not args.name:
        raise PlacekitError("name the scenario to export (placekit scenarios export NAME --out FILE), or pass --all for the whole store.")
    if out.suffix.lower() not in (".csv", ".json"):
        raise ScenarioFileError(f"cannot write {out.name}: a scenario exports as a grouping file; use a .csv or .json name.")
    s = _store(args).load(args.name)
    write_grouping(s["grouping"], out)
    print(
        f"wrote {args.name!r} to {out}"
        + (f" (its hubs {', '.join(s['hubs'])} are kept in whole-store exports: --all)" if s["hubs"] else "")
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Add every scenario of a whole-store export; refuse the file if a name exists (unless ``--overwrite``)."""
    n = _store(args).import_all(args.file, overwrite=args.overwrite)
    print(f"imported {n} scenario(s) from {args.file}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete one scenario."""
    _store(args).delete(args.name)
    print(f"deleted {args.name!r}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``scenarios`` (list, show, save, export, import, delete) to the placekit parser."""
    sp = sub.add_parser("scenarios", help="list, show, save, export, import and delete the app's saved scenarios")
    sp.add_argument("--store", default=None, help="scenario store file (default: $PLACEKIT_HOME/scenarios.sqlite, the app's)")
    ss = sp.add_subparsers(dest="scenarios_command", required=True)

    c = ss.add_parser("list", help="the stored scenarios, newest first")
    add_format_option(c)
    c.add_argument("--for-place", dest="for_place", default=None, help="only the scenarios of this place (as the app labels it)")
    c.set_defaults(func=cmd_list)

    c = ss.add_parser("show", help="one scenario's wards, neighbourhoods and localities")
    c.add_argument("name")
    add_format_option(c)
    c.set_defaults(func=cmd_show)

    c = ss.add_parser("save", help="check a grouping file against the place's wards and save it")
    c.add_argument("file", help="grouping file (.csv or .json)")
    c.add_argument("--name", default=None, help="scenario name (default: the file's name line, else its file name)")
    c.add_argument("--overwrite", action="store_true", help="replace a scenario of that name")
    c.add_argument("--hubs", default=None, help="hub site ids, comma-separated")
    c.add_argument("--note", default=None, help="a note saved with the scenario")
    c.set_defaults(func=cmd_save)

    c = ss.add_parser("export", help="write a scenario as a grouping file, or the whole store as JSON (--all)")
    c.add_argument("name", nargs="?", default=None)
    c.add_argument("--out", required=True, help="output file (.csv or .json; with --all, a .json file)")
    c.add_argument("--all", action="store_true", help="export every scenario (with hubs and notes) to one JSON file")
    c.set_defaults(func=cmd_export)

    c = ss.add_parser("import", help="add the scenarios of a whole-store export (nothing is changed if one is refused)")
    c.add_argument("file")
    c.add_argument("--overwrite", action="store_true", help="replace scenarios of the same names")
    c.set_defaults(func=cmd_import)

    c = ss.add_parser("delete", help="delete one scenario")
    c.add_argument("name")
    c.set_defaults(func=cmd_delete)
