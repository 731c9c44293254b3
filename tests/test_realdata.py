"""Real Manchester data from the data root (skipped with a reason when PLACEKIT_DATA is unset)."""

from __future__ import annotations

import pandas as pd
import pytest

from boundaries.grouping import baseline_grouping, soft_checks, translate_grouping, ward_adjacency
from boundaries.profiles import profile
from geo.place import load_place
from placekit.errors import PlacekitError, VintageMismatchError

pytestmark = pytest.mark.realdata


def test_place_layers(real_place):
    p = real_place
    assert len(p.wards) == 32 and p.wards.crs.to_epsg() == 27700
    assert len(p.lsoas) == 282
    assert p.population.loc[p.lsoas.index, "population"].sum() == 529_282
    assert p.vintages["lsoas"] == "2011" and "WD13" in p.vintages["wards"]
    assert p.registrations.attrs["lsoa_vintage"] == "2011"


def test_every_practice_geocoded_or_reported(real_place):
    prac = real_place.practices
    failed = prac.index[~prac["geocoded"]]
    reported = set(prac.attrs.get("geocode_failures", []))
    assert set(failed) == reported
    # The 83 practices of the city (registrations of Manchester CCG) all stand in a Manchester ward.
    in_city = prac[prac["ward_code"].notna() & (prac["status"] == "A")]
    assert len(in_city) == 83


def test_baseline_is_12_3_1_and_city_equals_its_lsoas(real_place):
    g = baseline_grouping(real_place)
    assert g.counts() == (12, 3, 1)
    pr = profile(real_place, g)
    assert (pr["level"] == "neighbourhood").sum() == 12 and (pr["level"] == "locality").sum() == 3
    city = pr[pr["level"] == "city"].iloc[0]
    assert city["population"] == 529_282 and city["lsoas"] == 282
    assert city["practices"] == 83 and city["registered_list"] == 701_068
    assert "best-fit" in pr.attrs["note"]


def test_baseline_soft_checks_show_band_and_the_detached_city_centre(real_place):
    g = baseline_grouping(real_place)
    wp = real_place.ward_population
    f = soft_checks(g, wp, ward_adjacency(real_place.wards), ward_names=real_place.wards["name"].to_dict())
    assert any("Wythenshawe (Brooklands) and Northenden has 29,452" in x for x in f)
    assert any(x.startswith("contiguity: Miles Platting") and "City Centre" in x for x in f)


def test_translate_baseline_to_2018_wards(real_data_root, real_place):
    new = load_place(real_data_root, ward_set="2018", with_sites=False)
    assert set(new.wards.index) == set(new.lsoa_ward.loc[new.lsoas.index, "ward_code"])
    g, report = translate_grouping(
        baseline_grouping(real_place),
        real_place.lsoa_ward["ward_code"],
        new.lsoa_ward["ward_code"],
        real_place.population["population"],
        new_ward_set="2018+",
        ward_names=new.wards["name"].to_dict(),
    )
    assert set(g.ward_to_neighbourhood) == set(new.wards.index)
    assert report["residents"].sum() == 529_282
    assert report["split"].any()


def test_2018_wards_with_2017_lookup_is_a_vintage_mismatch(real_data_root):
    from dataclasses import replace

    from geo.manifest import read_manifest

    man = read_manifest()
    layers = dict(man.layers)
    layers["wards"] = man.layers["wards_2018"]
    with pytest.raises(VintageMismatchError, match="different ward vintages"):
        load_place(real_data_root, manifest=replace(man, layers=layers), with_sites=False)


def test_2021_lsoa_boundaries_with_2011_lookup_is_refused(real_data_root):
    from dataclasses import replace

    from geo.manifest import read_manifest

    man = read_manifest()
    layers = dict(man.layers)
    spec = man.layers["lsoas_2021"]
    layers["lsoas"] = replace(spec, name="lsoas", vintage="2011")
    with pytest.raises(VintageMismatchError, match="2021"):
        load_place(real_data_root, manifest=replace(man, layers=layers), with_sites=False)


def test_skipping_unused_layers_changes_no_profile_figure(real_place, real_data_root):
    from placekit.cli.places import CENSUS_LAYERS, PROFILE_SKIPS

    lean = load_place(real_data_root, with_sites=False, skip=PROFILE_SKIPS + CENSUS_LAYERS)
    assert lean.qof is None and lean.assets is None and lean.census is None and real_place.qof is not None
    full, fast = profile(real_place, baseline_grouping(real_place)), profile(lean, baseline_grouping(lean))
    assert full.drop(columns=["wards", "practice_codes", "ward_names"]).equals(fast.drop(columns=["wards", "practice_codes", "ward_names"]))
    with pytest.raises(PlacekitError, match="only optional layers"):
        load_place(real_data_root, skip=("wards",))



def test_health_and_assets_read_only_their_layers_and_give_the_same_figures(real_place, real_data_root):
    from boundaries.assets import asset_table
    from boundaries.health import health_table
    from placekit.cli.health import ASSET_SKIPS, HEALTH_SKIPS

    g = baseline_grouping(real_place)
    lean = load_place(real_data_root, with_sites=False, skip=HEALTH_SKIPS)
    assert lean.assets is None and lean.census is None and lean.qof is not None
    pd.testing.assert_frame_equal(health_table(real_place, g), health_table(lean, baseline_grouping(lean)))
    lean = load_place(real_data_root, skip=ASSET_SKIPS)
    assert lean.qof is None and lean.assets is not None
    for base in ("mid2015", "census2021"):
        pd.testing.assert_frame_equal(asset_table(real_place, g, population=base), asset_table(lean, baseline_grouping(lean), population=base))
