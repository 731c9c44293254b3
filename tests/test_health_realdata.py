"""Health need, Census 2021 and assets on Manchester's real data: published totals, conservation, the commands' records."""

from __future__ import annotations

import json

import numpy as np
import pytest

from boundaries.assets import asset_table
from boundaries.grouping import baseline_grouping
from boundaries.health import health_base, health_table
from boundaries.profiles import profile
from placekit.cli.main import main
from tests.boundaries.test_health import _resident_reference

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def manchester(real_place):
    return real_place, baseline_grouping(real_place)


def test_census_2021_total_is_kept_through_the_lsoa_bridge(manchester):
    place, g = manchester
    assert len(place.census) == 295 and int(place.census["population"].sum()) == 551_888
    assert int(place.ward_census["population"].sum()) == 551_888
    assert place.lsoa21_ward.attrs["by_lookup"] + place.lsoa21_ward.attrs["by_boundaries"] == 295
    pr = profile(place, g, population="census2021")
    assert int(pr.loc[pr["level"] == "city", "population"].iloc[0]) == 551_888
    assert int(pr.loc[pr["level"] == "neighbourhood", "population"].sum()) == 551_888


def test_registers_are_conserved_and_match_the_published_manchester_totals(manchester):
    place, g = manchester
    h = health_table(place, g)
    nb = h[h["level"] == "neighbourhood"].groupby("condition")["register"].sum()
    practices = place.qof.loc[place.practices_in_place.index.intersection(place.qof.index)]
    for c in nb.index:
        assert nb[c] == practices[f"register_{c}"].sum()
    assert nb["DM"] == 38_172 and nb["HYP"] == 72_119 and nb["DEP"] == 78_883  # QOF 2022-23 Manchester (SOURCE.md)
    city = h[h["level"] == "city"].set_index("condition")
    assert np.isclose(city.loc["HYP", "england_prevalence"], 100 * 8_996_512 / 62_378_057)
    res = h[h["level"] == "neighbourhood"].groupby("condition")["resident_register"].sum()
    assert np.allclose(res, city["resident_register"].reindex(res.index))


def test_resident_view_matches_the_pandas_merge(manchester):
    place, g = manchester
    base = health_base(place)
    k = base.conditions.index("DM")
    ref = _resident_reference(place.replace(qof=place.qof[["register_DM", "register_HYP", "list_TOTAL"]]))
    assert np.allclose(base.resident_register[:, k], ref["register_DM"].reindex(base.wards).fillna(0))


def test_assets_count_every_type(manchester):
    place, g = manchester
    a = asset_table(place, g)
    city = a[a["level"] == "city"].set_index("asset_type")["count"]
    assert set(city.index) == {"library", "food_bank", "jobcentre", "post_office", "place_of_worship", "pharmacy", "dentist", "gp"}
    assert city["jobcentre"] == 7 and city["food_bank"] == 81 and city["library"] == 23


def test_health_command_records_have_the_issue_fields(real_data_root, capsys):
    assert main(["--data", str(real_data_root), "health", "--format", "json", "--condition", "DM"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert len(recs) == 12
    need = {"neighbourhood", "condition", "register", "list_size", "prevalence", "resident_register", "resident_prevalence"}
    assert need <= set(recs[0]) and recs[0]["condition"] == "DM"
    assert main(["--data", str(real_data_root), "assets", "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("level,neighbourhood,locality,asset_type")
    assert main(["--data", str(real_data_root), "health", "--condition", "XX"]) == 2


def test_profile_command_writes_a_pack(real_data_root, tmp_path, capsys):
    out = tmp_path / "pack.html"
    name = "Miles Platting, Newton Heath, Moston and City Centre"
    assert main(["--data", str(real_data_root), "profile", "--neighbourhood", name, "--out", str(out), "--indicator", "DM"]) == 0
    text = out.read_text(encoding="utf-8")
    assert f"<h1>{name}</h1>" in text and "QOF 2022-23" in text
    capsys.readouterr()
    assert main(["--data", str(real_data_root), "profile", "--population", "census2021", "--format", "csv"]) == 0
    assert "share_65_plus" in capsys.readouterr().out.splitlines()[0]
