"""The estates chain on the demo place and on real data."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from boundaries.grouping import baseline_grouping
from estates.access import build_access, evaluate_hubs, initial_hubs, site_hubs
from estates.sites import place_sites, validate_sites
from geo.demo import demo_place
from placekit.errors import DuplicateCodeError, PlacekitError


def test_demo_chain():
    place = demo_place()
    g = baseline_grouping(place)
    a = build_access(place, g, mode="walk")
    assert a.modelled and a.od.shape[0] == 282
    hubs, source = initial_hubs(a)
    assert len(hubs) == 12 and "proposed" in source
    ev = evaluate_hubs(a, hubs)
    assert ev.checks == []
    by = ev.coverage.by_unit
    assert by.loc[place.name, "residents"] == place.population["population"].sum()
    assert 0 <= by.loc[place.name, "share_within"] <= 1
    fewer = evaluate_hubs(a, hubs[:6])
    assert fewer.coverage.by_unit.loc[place.name, "mean_minutes"] >= by.loc[place.name, "mean_minutes"]
    assert any("at least 12" in c for c in fewer.checks)


def test_site_validation():
    s = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[Point(0, 0), None], index=["x", "y"], crs="EPSG:27700")
    with pytest.raises(PlacekitError, match="no location"):
        validate_sites(s)
    d = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[Point(0, 0), Point(1, 1)], index=["x", "x"], crs="EPSG:27700")
    with pytest.raises(DuplicateCodeError, match="duplicate site ids"):
        validate_sites(d)


def test_a_site_id_in_two_layers_is_refused_not_dropped():
    """Two sites sharing an id (here a sites layer repeating one of its rows) stop the chain with the id named."""
    place = demo_place()
    doubled = pd.concat([place.sites, place.sites.iloc[[0]]])
    with pytest.raises(DuplicateCodeError, match=place.sites.index[0]):
        place_sites(place.replace(sites=doubled))


@pytest.mark.realdata
def test_real_chain(real_place):
    g = baseline_grouping(real_place)
    a = build_access(real_place, g, mode="walk")
    assert len(a.sites) > 350 and set(a.sites["site_type"]) >= {"gp_practice", "library", "pharmacy", "hospital"}
    res = site_hubs(a, p=12)
    assert len(res.hubs) == 12 and set(a.site_unit[res.hubs]) == set(g.neighbourhoods)
    ev = evaluate_hubs(a, res.hubs)
    assert ev.coverage.by_unit.loc["Manchester", "residents"] == 529_282
    assert set(ev.coverage.by_imd.index) <= {1, 2, 3, 4, 5}
    assert isinstance(ev.report, pd.DataFrame) and ev.report["residents_served"].sum() == 529_282
