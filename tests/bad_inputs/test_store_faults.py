"""The scenario store under faults: SIGKILL during saves loses nothing; two writers never overwrite each other."""

from __future__ import annotations

import pytest

from tests.bad_inputs.store_faults import kill_test, race_test


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_kill_9_during_saves_loses_nothing(tmp_path):
    r = kill_test(tmp_path / "s.sqlite", kills=8, seed=1)
    assert r.committed > 0, "the saver committed nothing before being killed: the test measured nothing"
    assert (r.lost, r.unreadable_store, r.rolling_broken) == (0, 0, 0), r


def test_two_writers_never_overwrite(tmp_path):
    r = race_test(tmp_path / "s.sqlite", names=150)
    assert (r.won_by_both, r.won_by_neither, r.overwritten) == (0, 0, 0), r


def test_the_race_catches_check_then_replace(tmp_path):
    """The old two-step save, raced the same way, overwrites names: the race test can fail."""
    r = race_test(tmp_path / "s.sqlite", names=300, how="check-then-replace")
    assert r.overwritten > 0, r
