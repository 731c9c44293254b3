"""The bad-input suite: every input is a clear error (typed, with its key words) or a correct accept.

Cases come from :mod:`tests.bad_inputs.catalogue`; each builds its input from copies of
the real files (or by hand) in ``tmp_path``. ``benchmarks/bench_bad_inputs.py`` runs the
same list and prints the counts.
"""

from __future__ import annotations

import pytest

from tests.bad_inputs.catalogue import CASES
from tests.bad_inputs.framework import ACCEPT, CLEAR, judge, real_root


def _param(case):
    marks = [pytest.mark.realdata] if case.realdata else []
    if case.xfail:
        marks.append(pytest.mark.xfail(strict=True, reason=case.xfail))
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input(case, tmp_path):
    if case.realdata and real_root() is None:
        pytest.skip("PLACEKIT_DATA is not set: this case copies and breaks real files")
    outcome = judge(case, tmp_path)
    assert outcome.kind in (CLEAR, ACCEPT), f"{case.id}: {outcome.kind}: {outcome.detail}"
    assert (outcome.kind == CLEAR) == (case.expect is not None)


def test_catalogue_covers_every_class():
    groups = {c.group for c in CASES}
    assert {"grouping", "layers", "place", "manifest", "store", "uploads", "network", "siting", "cli", "exports"} <= groups
    assert len(CASES) >= 200
