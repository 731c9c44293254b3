"""Maps written as standalone HTML: the flow map's legend and title, on the hand-built place."""

from __future__ import annotations

import itertools
import re

from boundaries.flowbase import flow_base_from_place
from boundaries.flows import compute_flows
from placekit.render.maps import PALETTE, colour_difference, flow_map, neighbourhood_colours, standalone_html
from placekit.ui.maps import PALETTE as APP_PALETTE


def test_flow_map_legend_is_plain_html_in_a_corner_and_loads_nothing(tiny_place, tiny_grouping):
    f = compute_flows(flow_base_from_place(tiny_place), tiny_grouping, city=tiny_place.name)
    text = standalone_html(flow_map(tiny_place, tiny_grouping, f.matrix, f.neighbourhoods, min_patients=1))
    assert "Resident containment<br>(share registered in<br>their neighbourhood)" in text
    lo, hi = f.neighbourhoods["resident_containment"].min(), f.neighbourhoods["resident_containment"].max()
    assert f"{100 * lo:.0f}%</div>" in text and f"{100 * hi:.0f}%</div>" in text  # the scale's ends, as percentages
    assert "d3js.org" not in text and "cdn.jsdelivr.net/npm/d3" not in text  # no branca colour scale fetching d3
    assert not re.search(r"<script[^>]+src=\"https?://", text)  # nothing fetched from the network
    assert "max-width:calc(100% - 300px)" in text  # the title wraps before the layer control


def test_plans_of_many_neighbourhoods_get_distinct_colours():
    """24 palette colours, any two at least 15 apart (CIE76; about 2 is just noticeable), then extras that never repeat."""
    for palette in (PALETTE, APP_PALETTE):
        assert len(palette) >= 24 and min(colour_difference(a, b) for a, b in itertools.combinations(palette, 2)) > 15
    colours = list(neighbourhood_colours([f"N{i}" for i in range(40)]).values())
    assert len(set(colours)) == 40 and all(re.fullmatch("#[0-9a-f]{6}", c) for c in colours[24:])
