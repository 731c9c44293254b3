"""The ``placekit`` command: a parser assembled from every command module, and the error handling."""

from __future__ import annotations

import argparse
import sys
import warnings

from cli import app, estates, flows, health, hospitals, places
from placekit import __version__
from placekit.errors import PlacekitError

__all__ = ["main", "build_parser", "COMMAND_MODULES"]

#: The modules whose ``register`` adds sub-commands, in help order.
COMMAND_MODULES = (places, health, flows, hospitals, estates, app)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``placekit`` command."""
    p = argparse.ArgumentParser(prog="placekit", description="Plan neighbourhood health and care by place.")
    p.add_argument("--version", action="version", version=f"placekit {__version__}")
    p.add_argument("--data", help="data root (default: $PLACEKIT_DATA; the demo place when neither is set)")
    p.add_argument("--place", help="place manifest TOML (default: the shipped Manchester manifest)")
    sub = p.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return p


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
