"""placekit app: redraw neighbourhoods, move hubs, compare scenarios, view local profiles.

Run with ``./dev app`` (or ``streamlit run app.py``; ``placekit app`` from an install).
A thin entry point: the app lives in the ``ui`` package, over ``geo``,
``boundaries``, ``estates`` and ``render``.
"""

from pathlib import Path

from placekit.ui.main import run

run(app_folder=Path(__file__).resolve().parent)
