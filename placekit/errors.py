"""Errors raised by placekit. Every message names the input, what was expected, and the fix."""

from __future__ import annotations

__all__ = [
    "PlacekitError",
    "MissingColumnError",
    "UnknownCodeError",
    "DuplicateCodeError",
    "CRSError",
    "VintageMismatchError",
    "InvalidGroupingError",
    "DataRootError",
    "GeocodeError",
    "ScenarioFileError",
    "InfeasibleError",
]


class PlacekitError(ValueError):
    """Base class for every error placekit raises about its inputs."""


class DataRootError(PlacekitError):
    """The data root or a file named in a manifest is missing or unreadable."""


class MissingColumnError(PlacekitError):
    """A table lacks a column that its format requires."""


class UnknownCodeError(PlacekitError):
    """A code (ward, LSOA, practice, site) is not in the reference set."""


class DuplicateCodeError(PlacekitError):
    """A code that must be unique appears more than once."""


class CRSError(PlacekitError):
    """A layer has no CRS, or one that cannot be used."""


class VintageMismatchError(PlacekitError):
    """Two layers use different vintages of the same geography."""


class InvalidGroupingError(PlacekitError):
    """A grouping of wards into neighbourhoods and localities breaks a hard rule.

    Attributes
    ----------
    problems
        Every problem found, one line each.
    """

    def __init__(self, problems: list[str], *, source: str = "grouping") -> None:
        self.problems = list(problems)
        self.source = source
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{source} has {len(self.problems)} problem(s):\n{lines}\n"
            "Fix the file so that every ward of the place appears exactly once and "
            "every neighbourhood belongs to exactly one locality."
        )


class GeocodeError(PlacekitError):
    """Postcodes could not be located."""


class ScenarioFileError(PlacekitError):
    """A scenario file could not be read; nothing was changed."""


class InfeasibleError(PlacekitError):
    """An optimisation problem has no solution under its constraints."""
