"""The ``placekit`` command line, assembled from the public functions of the packages below it.

:mod:`placekit.cli.main` builds the parser from each command module's ``register``:
:mod:`placekit.cli.places` (profile, validate, map), :mod:`placekit.cli.england` (places, england), :mod:`placekit.cli.flows` (flows, suggest),
:mod:`placekit.cli.hospitals` (catchments), :mod:`placekit.cli.estates` (coverage, hubs, site-hubs) and
:mod:`placekit.cli.app` (app).
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["run"]


def run() -> None:
    """Run the ``placekit`` command (the console script): Ctrl-C ends it quietly even while it is starting.

    The command's modules take a second or two to import (pandas, geopandas); a Ctrl-C
    then would print a traceback, so the import happens here, inside the handler.
    """
    try:
        main = importlib.import_module("placekit.cli.main").main  # imported here, not at the top, so that Ctrl-C during it is caught
    except KeyboardInterrupt:
        print("placekit: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    raise SystemExit(main())
