"""Atomic writes: the old file survives a failed write, and no temporary file is left behind."""

from __future__ import annotations

import pytest

from boundaries.grouping import read_grouping, write_grouping
from placekit.files import replace_atomically, write_text_atomically


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "grouping.json"
    write_text_atomically(target, "old")

    def half_then_fail(tmp):
        tmp.write_text("half a fi", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_atomically(target, half_then_fail)
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["grouping.json"]
    write_text_atomically(target, "new")
    assert target.read_text(encoding="utf-8") == "new"


def test_write_grouping_round_trips_through_the_atomic_write(tmp_path, tiny_grouping):
    for name in ("g.json", "g.csv"):
        path = write_grouping(tiny_grouping, tmp_path / name)
        assert read_grouping(path).ward_to_neighbourhood == tiny_grouping.ward_to_neighbourhood
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.csv", "g.json"]
