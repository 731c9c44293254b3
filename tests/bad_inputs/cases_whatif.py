"""Bad what-ifs (issue 21): unknown, closed or outside practices, a postcode outside the place, a capacity that is not a
positive whole number, closing every practice; each a clear error naming the value and the fix.

The library cases run on the tiny hand-built place and on Manchester (one model per process,
built once); the command-line cases are refused before any place is loaded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd

from boundaries.grouping import Grouping, baseline_grouping
from estates.registration import calibrate, choice_data
from estates.whatif import WhatIf, prepare, what_if
from geo.place import load_place
from placekit.errors import PlacekitError
from tests.bad_inputs.framework import Case, CliRefused, cli_run, demo_env, real_root
from tests.conftest import _tiny_place

_W = [f"E0590000{i}" for i in range(1, 7)]
_TINY_GROUPING = Grouping({_W[0]: "A", _W[1]: "A", _W[2]: "B", _W[3]: "C", _W[4]: "C", _W[5]: "B"}, {"A": "W", "B": "E", "C": "W"})


@functools.lru_cache(maxsize=1)
def _tiny():
    place = _tiny_place()
    closed = place.practices.iloc[[0]].copy()  # a practice of the place that closed before the registrations: ODS status C, no patients
    closed.index = pd.Index(["P00004"], name="practice_code")
    closed["practice_name"], closed["status"], closed["close_date"] = "P closed", "C", pd.Timestamp("2021-03-31")
    place = place.replace(practices=gpd.GeoDataFrame(pd.concat([place.practices, closed]), crs=place.practices.crs))
    return prepare(calibrate(choice_data(place), folds=0), place)


@functools.lru_cache(maxsize=1)
def _manchester():
    place = load_place(real_root())
    return prepare(calibrate(choice_data(place), folds=0), place), baseline_grouping(place)


def _on_tiny(spec: WhatIf) -> Callable[[Path], object]:
    return lambda tmp: what_if(_tiny(), spec, _TINY_GROUPING)


def _on_manchester(spec: WhatIf) -> Callable[[Path], object]:
    def run(tmp: Path) -> object:
        model, grouping = _manchester()
        return what_if(model, spec, grouping)

    return run


def _demo(args: list[str]) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        with demo_env():
            return cli_run(args)

    return run


def _conserved(res) -> bool:
    return res.displaced == res.closed_list and int(res.practices["change"].sum()) == 0


def _cases() -> list[Case]:
    w = "whatif"
    cases = [
        Case(
            "whatif/unknown practice code",
            w,
            _on_tiny(WhatIf(close=("Q99999",))),
            PlacekitError,
            ("Q99999", "not a practice known", "code"),
        ),
        Case("whatif/closed practice", w, _on_tiny(WhatIf(close=("P00004",))), PlacekitError, ("P00004", "already closed", "2021-03-31")),
        Case("whatif/practice outside the place", w, _on_tiny(WhatIf(close=("P00099",))), PlacekitError, ("P00099", "outside")),
        Case(
            "whatif/closing every practice",
            w,
            _on_tiny(WhatIf(close=("P00001", "P00002", "P00003"))),
            PlacekitError,
            ("every practice", "keep at least one"),
        ),  # fmt: skip
        Case("whatif/merge a practice with itself", w, _on_tiny(WhatIf(merge=("P00001", "P00001"))), PlacekitError, ("P00001", "twice")),
        Case(
            "whatif/merge a practice that is closed too",
            w,
            _on_tiny(WhatIf(close=("P00001",), merge=("P00002", "P00001"))),
            PlacekitError,
            ("--merge", "--close"),
        ),  # fmt: skip
        Case(
            "whatif/postcode outside the place",
            w,
            _on_tiny(WhatIf(open_name="Hub", open_at="M13 9WL", capacity=500)),
            PlacekitError,
            ("M13 9WL", "outside", "inside the place"),
        ),  # fmt: skip
        Case(
            "whatif/postcode not in the directory",
            w,
            _on_tiny(WhatIf(open_name="Hub", open_at="ZZ9 9ZZ", capacity=500)),
            PlacekitError,
            ("ZZ9 9ZZ", "Postcode Directory"),
        ),  # fmt: skip
        Case(
            "whatif/--at neither postcode nor site",
            w,
            _on_tiny(WhatIf(open_name="Hub", open_at="the town hall", capacity=500)),
            PlacekitError,
            ("the town hall", "postcode", "site id"),
        ),  # fmt: skip
        Case("whatif/nothing to do", w, _on_tiny(WhatIf()), PlacekitError, ("nothing to do", "--close")),
        Case("whatif/closing one practice conserves patients", w, _on_tiny(WhatIf(close=("P00002",))), None, check=_conserved),
    ]
    for value in ("0", "-40", "1.5", "1e3", "six thousand", "inf"):
        cases.append(Case(f"whatif/--capacity {value}", w, _demo(["whatif", "--open", "Hub", "--at", "M13 9WL", "--capacity", value]),
                          CliRefused, ("capacity", value, "positive whole number" if value != "0" and value != "-40" else "from 1")))  # fmt: skip
    cases += [
        Case("whatif/--merge with three codes", w, _demo(["whatif", "--merge", "A1,B2,C3"]), CliRefused, ("--merge", "two practice codes")),
        Case("whatif/--folds -1", w, _demo(["model", "--folds", "-1"]), CliRefused, ("--folds",)),
        Case("whatif/--cutoff 0", w, _demo(["model", "--cutoff", "0"]), CliRefused, ("--cutoff",)),
        Case(
            "whatif/Manchester: a closed practice",
            w,
            _on_manchester(WhatIf(close=("P84055",))),
            PlacekitError,
            ("P84055", "already closed", "2021-01-31"),
            realdata=True,
        ),  # fmt: skip
        Case(
            "whatif/Manchester: a Salford practice",
            w,
            _on_manchester(WhatIf(close=("P87004",))),
            PlacekitError,
            ("P87004", "outside Manchester"),
            realdata=True,
        ),  # fmt: skip
        Case(
            "whatif/Manchester: a postcode in Stockport",
            w,
            _on_manchester(WhatIf(open_name="Hub", open_at="SK1 3XE", capacity=5000)),
            PlacekitError,
            ("SK1 3XE", "outside Manchester"),
            realdata=True,
        ),  # fmt: skip
        Case(
            "whatif/Manchester: closing all 83 practices",
            w,
            _close_all_manchester,
            PlacekitError,
            ("every practice of Manchester", "(83)"),
            realdata=True,
        ),  # fmt: skip
    ]
    return cases


def _close_all_manchester(tmp: Path) -> object:
    model, grouping = _manchester()
    inside = model.data.practices.index[model.data.practices["in_place"]]
    return what_if(model, WhatIf(close=tuple(inside)), grouping)


CASES: list[Case] = _cases()
