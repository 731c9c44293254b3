"""Profile exports as HTML and PDF: the profile pack (:mod:`placekit.render.pack`) under the names the app and CLI call.

The old one-page matplotlib image is gone: both exports are the pack, real text and tables,
the PDF printed from the same HTML.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from boundaries.flows import Flows
from boundaries.grouping import Grouping
from geo.model import Place
from placekit.errors import PlacekitError
from placekit.render.pack import build_pack, pack_html, pack_pdf

__all__ = ["profile_html", "profile_pdf", "write_profile"]


def _pack(place: Place, grouping: Grouping, neighbourhood: str, profile: pd.DataFrame | None = None, flows: Flows | None = None,
          hubs: list[str] | None = None, sites: gpd.GeoDataFrame | None = None, **options):  # fmt: skip
    """Build the pack; `profile` and `flows` are accepted for the old call shape and recomputed inside the pack."""
    return build_pack(place, grouping, neighbourhood, hubs=hubs, sites=sites, **options)


def profile_html(place: Place, grouping: Grouping, neighbourhood: str, *args: object, **kwargs: object) -> str:
    """Return the profile pack of `neighbourhood` as one standalone HTML page.

    Options (``level``, ``population``, ``indicator``, ``flow_base``, ``hbase``,
    ``scenario``) pass to :func:`placekit.render.pack.build_pack`.
    """
    return pack_html(_pack(place, grouping, neighbourhood, *args, **kwargs))


def profile_pdf(place: Place, grouping: Grouping, neighbourhood: str, *args: object, **kwargs: object) -> bytes:
    """Return the profile pack of `neighbourhood` as PDF bytes (the HTML of :func:`profile_html`, printed)."""
    return pack_pdf(_pack(place, grouping, neighbourhood, *args, **kwargs))


def write_profile(path: str | Path, place: Place, grouping: Grouping, name: str, **options: object) -> Path:
    """Write the profile pack of `name` to `path`: ``.pdf`` prints it, ``.html`` (or ``.htm``) writes the page.

    Raises
    ------
    PlacekitError
        For another suffix, or an unknown unit (the message lists the units).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".pdf", ".html", ".htm"):
        raise PlacekitError(f"profile output {path.name}: the suffix must be .pdf or .html, not {suffix or 'none'!r}.")
    pack = build_pack(place, grouping, name, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".pdf":
        path.write_bytes(pack_pdf(pack))
    else:
        path.write_text(pack_html(pack), encoding="utf-8")
    return path
