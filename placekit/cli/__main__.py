"""``python -m placekit.cli``: the placekit command."""

from placekit.cli import run

__all__: list[str] = []

run()
