"""placekit: plan neighbourhood health and care by place.

This package is the ground floor every other package stands on: settings
(:mod:`placekit.settings`), errors (:mod:`placekit.errors`) and the data files
shipped with the project (:mod:`placekit.resources`). The domain code lives in
the sibling packages, lowest first: :mod:`geo` (load and validate a place),
:mod:`boundaries` (groupings, profiles, flows), :mod:`estates` (sites, travel
times, hubs), :mod:`placekit.render` (maps, charts, reports), :mod:`placekit.cli` and :mod:`placekit.ui`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__: str = version("placekit")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
