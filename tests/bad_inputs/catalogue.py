"""Every bad input of the suite, in one list (the tests and ``benchmarks/bench_bad_inputs.py`` both run it)."""

from __future__ import annotations

from tests.bad_inputs import cases_layers, cases_misc, cases_place, cases_store, cases_strict, cases_whatif
from tests.bad_inputs.framework import Case

CASES: list[Case] = cases_layers.CASES + cases_place.CASES + cases_store.CASES + cases_misc.CASES + cases_strict.CASES + cases_whatif.CASES

_ids = [c.id for c in CASES]
if len(_ids) != len(set(_ids)):
    raise AssertionError(f"duplicate case ids: {sorted({i for i in _ids if _ids.count(i) > 1})}")
