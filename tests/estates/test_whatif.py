"""The registration model on the tiny hand-built place: choice sets, calibration, and what-ifs that conserve every patient."""

from __future__ import annotations

import numpy as np
import pytest

from boundaries.grouping import Grouping
from estates.registration import calibrate, choice_data
from estates.whatif import NEW_CODE, WhatIf, parse_capacity, parse_codes, prepare, what_if
from placekit.errors import PlacekitError
from tests.conftest import _tiny_place

INSIDE_POSTCODE = "M15 4AJ"  # ONS grid reference 382649, 395651: in the tiny place's ward 3
OUTSIDE_POSTCODE = "M13 9WL"  # 384979, 396212: east of it


@pytest.fixture(scope="module")
def tiny_model():
    place = _tiny_place()
    cal = calibrate(choice_data(place, mode="walk"), folds=2)
    return place, cal, prepare(cal, place)


def _patients(place, code):
    return int(place.registrations.loc[place.registrations["practice_code"] == code, "patients"].sum())


def test_choice_data_and_calibration(tiny_model):
    place, cal, _ = tiny_model
    d = cal.data
    assert d.n_place == 12 and list(d.practices.index) == ["P00001", "P00002", "P00003", "P00099"]
    assert d.practices["in_place"].tolist() == [True, True, True, False]
    # Every resident registration is either fitted or counted as beyond the cutoff / unlocated.
    cov = d.coverage
    assert cov["residents_registered"] == cov["in_choice_sets"] + cov["beyond_cutoff"] + cov["at_unlocated_practices"]
    assert cov["residents_registered"] == int(
        place.registrations.loc[place.registrations["lsoa_code"].isin(place.lsoas.index), "patients"].sum()
    )
    # The practices carry no authority code here: the boundary term cannot be fitted and says so.
    assert "crosses_boundary" not in cal.params and any("crosses_boundary" in n for n in cal.notes)
    assert set(cal.measures["model"]) == {"model", "nearest practice", "size only"}
    assert "pseudo-R²" in cal.describe()


def test_closing_a_practice_moves_every_patient_by_the_model(tiny_model):
    place, _, model = tiny_model
    res = what_if(model, WhatIf(close=("P00001",)), _grouping())
    total = _patients(place, "P00001")  # includes 55 living beyond the place, in an LSOA that cannot be located
    assert res.closed_list == res.displaced == total
    assert res.moves["patients"].sum() == total and (res.moves["to"] != "P00001").all()
    assert res.practices["change"].sum() == 0
    closed = res.practices.set_index("practice_code").loc["P00001"]
    assert closed["status"] == "closed" and closed["list_after"] == 0
    assert res.drawn == 0 and res.capacity_fill is None
    # Each located LSOA's displaced patients split in the model's proportions among the open practices (within one patient).
    a = model.attraction
    d = model.data
    for lsoa, group in res.moves[res.moves["lsoa_code"].isin(place.lsoas.index)].groupby("lsoa_code"):
        o = d.origins.index.get_loc(lsoa)
        open_ = [d.practices.index.get_loc(c) for c in ("P00002", "P00003", "P00099")]
        expected = group["patients"].sum() * a[o, open_] / a[o, open_].sum()
        got = group.set_index("to")["patients"].reindex(["P00002", "P00003", "P00099"], fill_value=0).to_numpy()
        assert np.all(np.abs(got - expected) < 1.0)
    assert set(res.containment.columns) >= {"neighbourhood", "resident_containment_before", "list_containment_after"}


def test_merge_and_open_with_capacity(tiny_model):
    place, _, model = tiny_model
    res = what_if(model, WhatIf(merge=("P00002", "P00003")), _grouping())
    assert res.closed_list == res.displaced == _patients(place, "P00003")
    status = res.practices.set_index("practice_code")["status"]
    assert status["P00003"] == "merged into P00002" and status["P00002"] == "merged (premises kept)"
    small = what_if(model, WhatIf(open_name="Hub", open_at=INSIDE_POSTCODE, capacity=100), _grouping())
    new = small.practices.set_index("practice_code").loc[NEW_CODE]
    assert new["list_after"] == 100 and small.capacity_fill < 1  # the draw is larger than the capacity: it fills exactly
    assert small.practices["change"].sum() == 0 and small.drawn == 100
    both = what_if(model, WhatIf(close=("P00001",), open_name="Hub", open_at=INSIDE_POSTCODE, capacity=100), _grouping())
    new = both.practices.set_index("practice_code").loc[NEW_CODE]
    assert new["list_after"] == 100 and both.displaced == both.closed_list and both.practices["change"].sum() == 0
    big = what_if(model, WhatIf(close=("P00001",), open_name="Hub", open_at=INSIDE_POSTCODE, capacity=50_000), _grouping())
    assert big.capacity_fill == 1 and big.displaced == _patients(place, "P00001") and big.practices["change"].sum() == 0


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (WhatIf(close=("Q99999",)), "Q99999"),
        (WhatIf(close=("P00001", "P00002", "P00003")), "every practice"),
        (WhatIf(close=("P00099",)), "outside"),
        (WhatIf(merge=("P00001", "P00001")), "twice"),
        (WhatIf(open_name="Hub", open_at=OUTSIDE_POSTCODE, capacity=100), "outside"),
        (WhatIf(open_name="Hub", open_at="ZZ9 9ZZ", capacity=100), "ZZ9 9ZZ"),
        (WhatIf(open_name="Hub", open_at="the moon", capacity=100), "the moon"),
        (WhatIf(), "nothing to do"),
    ],
)
def test_bad_scenarios_are_refused(tiny_model, spec, words):
    with pytest.raises(PlacekitError, match=words):
        what_if(tiny_model[2], spec, _grouping())


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "abc", "inf", "", "2000000", True])
def test_capacity_must_be_a_positive_whole_number(value):
    with pytest.raises(PlacekitError, match="capacity"):
        parse_capacity(value)


def test_capacity_and_codes_parse():
    assert parse_capacity("6,000") == 6000 and parse_capacity(" 12 ") == 12
    assert parse_codes(" p84005, P84010,,p84005") == ("P84005", "P84010")
    spec = WhatIf(close=("A1",), merge=("B1", "B2"), open_name="Hub", open_at="M15 4AJ", capacity=10)
    assert WhatIf.from_doc(spec.to_doc()) == spec
    with pytest.raises(PlacekitError, match="capacity"):
        WhatIf.from_doc({"open": {"name": "x", "at": "M1", "capacity": -1}})


def _grouping() -> Grouping:
    w = [f"E0590000{i}" for i in range(1, 7)]
    return Grouping(
        {w[0]: "A", w[1]: "A", w[2]: "B", w[3]: "C", w[4]: "C", w[5]: "B"}, {"A": "West", "B": "East", "C": "West"}, name="tiny"
    )


def test_containment_of_a_plan_built_from_lsoas_is_measured_on_lsoas(tiny_model):
    from boundaries.flows import compute_flows, flow_base_from_place

    place, _, model = tiny_model
    g = _grouping().assign_lsoas(["E01000004"], "B")  # ward 2's east half goes to B
    res = what_if(model, WhatIf(close=("P00001",)), g)
    c = res.containment.set_index("neighbourhood")
    want = compute_flows(flow_base_from_place(place, units="lsoa"), g).neighbourhoods
    assert np.allclose(c["resident_containment_before"], 100 * want["resident_containment"].reindex(c.index))
    assert c.loc["A", "registered_list_after"] == 0  # A's only practice closed; its patients went to B's and C's
    ward = what_if(model, WhatIf(close=("P00001",)), _grouping()).containment.set_index("neighbourhood")
    assert c["registered_list_after"].sum() == ward["registered_list_after"].sum()  # the same moves, whatever the units
    assert not np.allclose(c["resident_containment_before"], ward["resident_containment_before"].reindex(c.index))
