"""The data files shipped inside the package, found through :mod:`importlib.resources`.

Works the same from a checkout, an editable install and an installed wheel: no
path is built from ``__file__``.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

__all__ = ["package_data", "place_manifest", "baseline_grouping_file", "trust_successors_file", "read_text"]



def package_data(*parts: str) -> Traversable:
    """Return the shipped resource at ``placekit/data/<parts…>`` (may not exist)."""
    node = files("placekit") / "data"
    for p in parts:
        node = node / p
    return node


def read_text(*parts: str) -> str:
    """Return the text of a shipped resource (UTF-8)."""
    return package_data(*parts).read_text(encoding="utf-8")


def place_manifest(name: str = "manchester") -> Traversable:
    """Return the shipped manifest of place `name` (``places/<name>.toml``)."""
    return package_data("places", f"{name}.toml")


def baseline_grouping_file(name: str = "manchester_2015_one_team.csv") -> Traversable:
    """Return a shipped grouping file (``groupings/<name>``)."""
    return package_data("groupings", name)


def trust_successors_file() -> Traversable:
    """Return the shipped table of trust code changes."""
    return package_data("trust_successors.csv")

