"""Typed, documented settings shared by every placekit package.

Each setting can be overridden by an environment variable named in its comment.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "WORKING_CRS",
    "DISPLAY_CRS",
    "DATA_ENV_VAR",
    "PLACE_ENV_VAR",
    "BAND_MIN",
    "BAND_MAX",
    "TARGET_NEIGHBOURHOODS",
    "TARGET_LOCALITIES",
    "cache_dir",
    "data_root",
    "user_dir",
]

#: Projected CRS for every distance and area (British National Grid, metres).
WORKING_CRS: str = "EPSG:27700"
#: Geographic CRS used only when drawing maps.
DISPLAY_CRS: str = "EPSG:4326"
#: Environment variable that names the data root.
DATA_ENV_VAR: str = "PLACEKIT_DATA"
#: Environment variable naming the English authority (code) the app opens on when its address has no ``?place=``.
PLACE_ENV_VAR: str = "PLACEKIT_PLACE"
#: Lower bound of the neighbourhood population band (One Team specification).
BAND_MIN: int = 30_000
#: Upper bound of the neighbourhood population band.
BAND_MAX: int = 50_000
#: Target counts of the place model: neighbourhoods, localities.
TARGET_NEIGHBOURHOODS: int = 12
TARGET_LOCALITIES: int = 3


def data_root(explicit: str | os.PathLike | None = None) -> Path | None:
    """Return the data root from `explicit`, else ``$PLACEKIT_DATA``, else None.

    Parameters
    ----------
    explicit
        A folder given on the command line (``--data DIR``) or by a caller.

    Returns
    -------
    Path or None
        The folder, or None when no data root is configured (the demo place is
        used then).
    """
    value = explicit if explicit not in (None, "") else os.environ.get(DATA_ENV_VAR)
    if value in (None, ""):
        return None
    return Path(value).expanduser().resolve()


def user_dir() -> Path:
    """Return the folder for a user's own files (scenario store); ``$PLACEKIT_HOME``."""
    path = Path(os.environ.get("PLACEKIT_HOME", Path.home() / ".placekit")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Return the cache folder (geocodes, travel-time matrices); ``$PLACEKIT_CACHE``."""
    path = Path(os.environ.get("PLACEKIT_CACHE", user_dir() / "cache")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path
