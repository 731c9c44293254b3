"""Suggestions: ward and practice moves, each checked against a full recompute; the stated ranking holds."""

from __future__ import annotations

import numpy as np
import pytest

from boundaries.flows import compute_flows, flow_base_from_place
from boundaries.grouping import Grouping, baseline_grouping, neighbourhood_parts, ward_adjacency
from boundaries.suggest import EFFECTS, apply_suggestion, suggest_moves
from placekit.errors import PlacekitError

WARDS = [f"E0590000{i}" for i in range(1, 7)]


@pytest.mark.parametrize("measure", ["resident_containment", "list_containment"])
def test_every_suggestion_matches_a_full_recompute(tiny_place, tiny_grouping, measure):
    base = flow_base_from_place(tiny_place)
    adj = ward_adjacency(tiny_place.wards)
    s = suggest_moves(base, tiny_grouping, adj, measure=measure, band=(0, 10**9), top=0, min_share=0.0)
    assert set(s["kind"]) == {"ward", "practice"}
    assert s.attrs["band_base"] == ("population" if measure == "resident_containment" else "registered_list")
    for _, r in s.iterrows():
        g = apply_suggestion(tiny_grouping, r)
        f = compute_flows(base, g)
        assert f.minimum(measure) == pytest.approx(r["min_after"]) and f.mean(measure) == pytest.approx(r["mean_after"])
        nb = f.neighbourhoods
        assert nb.at[r["to_neighbourhood"], measure] == pytest.approx(r["to_after"])
        assert nb.at[r["from_neighbourhood"], "registered_list"] == r["list_from_after"]
        assert nb.at[r["to_neighbourhood"], "population"] == r["population_to_after"]
        parts = neighbourhood_parts(g, adj)
        assert r["contiguity_kept"] == (len(parts[r["from_neighbourhood"]]) == 1 and len(parts[r["to_neighbourhood"]]) == 1)
        if r["kind"] == "practice":
            assert g.practice_to_neighbourhood == {r["unit"]: r["to_neighbourhood"]}


def test_a_move_that_lowers_the_minimum_never_ranks_above_one_that_raises_it(tiny_place):
    base, adj = flow_base_from_place(tiny_place), ward_adjacency(tiny_place.wards)
    rng = np.random.default_rng(3)
    seen = set()
    for _ in range(25):  # random groupings of the six wards, so that every kind of effect turns up
        idx = rng.integers(0, 3, size=6)
        g = Grouping({w: f"N{i}" for w, i in zip(WARDS, idx, strict=True)}, {f"N{i}": "L" for i in set(idx)})
        s = suggest_moves(base, g, adj, top=0, min_share=0.0, band=(4000, 9000))
        if s.empty:
            continue
        seen |= set(s["effect"])
        assert s["effect"].map(EFFECTS.index).is_monotonic_increasing
        assert s["rank"].tolist() == list(range(1, len(s) + 1))
        for _, group in s.groupby("effect"):  # within an effect: moves keeping band and contiguity first, then by score
            kept = group["band_kept"] & group["contiguity_kept"]
            assert kept.is_monotonic_decreasing
            for _, sub in group.groupby(kept):
                assert sub["score"].is_monotonic_decreasing
        assert "raise the lowest containment first" in s.attrs["objective"]
    assert seen == set(EFFECTS)


def test_bad_options(tiny_place, tiny_grouping):
    base, adj = flow_base_from_place(tiny_place), ward_adjacency(tiny_place.wards)
    with pytest.raises(PlacekitError, match="measure"):
        suggest_moves(base, tiny_grouping, adj, measure="self_containment")
    with pytest.raises(PlacekitError, match="band_base"):
        suggest_moves(base, tiny_grouping, adj, band_base="households")
    with pytest.raises(PlacekitError, match="kind"):
        apply_suggestion(tiny_grouping, {"kind": "lsoa", "unit": "x", "to_neighbourhood": "A"})


@pytest.mark.realdata
def test_real_suggestions_levenshulme_and_northenden(real_place):
    """The issue's example: Northenden → Wythenshawe raises the lowest team; Levenshulme → Ardwick lowers it (52.9% → 48.5%)."""
    base = flow_base_from_place(real_place)
    s = suggest_moves(
        base, baseline_grouping(real_place), ward_adjacency(real_place.wards), ward_names=real_place.wards["name"].to_dict(), top=0
    )
    wards = s[s["kind"] == "ward"].set_index(["unit_name", "to_neighbourhood"])
    north = wards.loc[("Northenden", "Wythenshawe (Baguley, Sharston, Woodhouse Park)")]
    leven = wards.loc[("Levenshulme", "Ardwick and Longsight")]
    assert round(leven["min_before"], 3) == 0.529 and round(leven["min_after"], 3) == 0.485 and leven["effect"] == "lowers the lowest"
    assert north["min_after"] > north["min_before"] and north["mean_after"] > north["mean_before"]
    assert north["rank"] < leven["rank"]
    assert s.iloc[0]["effect"] == "raises the lowest" and s.iloc[0]["band_kept"] and s.iloc[0]["contiguity_kept"]
    assert {"ward", "practice"} <= set(s["kind"])
