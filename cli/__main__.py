"""``python -m cli``: the placekit command."""

from cli import run

__all__: list[str] = []

run()
