"""The embedded demo place: deterministic, complete, and labelled."""

from __future__ import annotations

from boundaries.grouping import baseline_grouping
from boundaries.profiles import profile
from geo.demo import demo_place
from geo.place import load_place


def test_demo_place_when_no_data_root(monkeypatch):
    monkeypatch.delenv("PLACEKIT_DATA", raising=False)
    p = load_place()
    assert p.demo and "demo data" in p.label
    assert len(p.lsoas) == 282 and len(p.wards) == 32
    assert p.status["lsoas"] == "real" and p.status["population"] == "demo"
    g = baseline_grouping(p)
    assert g.counts() == (12, 3, 1)
    pr = profile(p, g)
    assert pr.attrs["demo"] is True
    assert pr.loc[pr.level == "city", "population"].item() == p.population["population"].sum()


def test_demo_is_deterministic():
    demo_place.cache_clear()
    a = demo_place()
    demo_place.cache_clear()
    b = demo_place()
    assert a.population.equals(b.population)
    assert a.registrations.equals(b.registrations)
    assert list(a.wards.index) == list(b.wards.index)
