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
    "UnreadableFileError",
    "InvalidValueError",
    "EmptyLayerError",
    "DataLossError",
    "ScenarioStoreError",
    "InvalidParameterError",
    "StrictWarningError",
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


class UnreadableFileError(DataRootError):
    """A file exists but cannot be read as its format: empty, truncated, a folder, not text, garbage."""


class InvalidValueError(PlacekitError):
    """Values in a column are of the wrong kind: fractions or text for counts, out of range, not finite."""


class EmptyLayerError(PlacekitError):
    """A layer has no rows (or none left after its filters), so every figure from it would be zero."""


class DataLossError(PlacekitError):
    """An input would silently change a headline figure (residents moved outside the city, practices or patients dropped).

    Attributes
    ----------
    problems
        Every loss found, one line each.
    """

    def __init__(self, problems: list[str], *, fix: str) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"the data would change the headline figures without saying so ({len(self.problems)} problem(s)):\n{lines}\n{fix}")


class ScenarioStoreError(PlacekitError):
    """The scenario store file is corrupt, foreign or of a newer schema; it was not modified.

    Attributes
    ----------
    path
        The store's file, when the error is about one (else None).
    reason
        What is wrong with it, in a few words ("is not an SQLite database (…)").
    movable
        True when moving the file aside and starting a new store is a fix (a damaged or foreign
        file; not a store written by a newer placekit, nor a busy one).
    """

    def __init__(self, message: str, *, path: object = None, reason: str = "", movable: bool = False) -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason
        self.movable = movable


class InvalidParameterError(PlacekitError):
    """A parameter (threshold, time limit, count) is out of its allowed range or not a finite number."""


class StrictWarningError(PlacekitError):
    """A loader warning was raised as an error because strict mode is on (``--strict``)."""
