"""Maps written as standalone HTML: the flow map's legend and title, on the hand-built place."""

from __future__ import annotations

import re

from boundaries.flowbase import flow_base_from_place
from boundaries.flows import compute_flows
from placekit.render.maps import flow_map, standalone_html


def test_flow_map_legend_is_plain_html_in_a_corner_and_loads_nothing(tiny_place, tiny_grouping):
    f = compute_flows(flow_base_from_place(tiny_place), tiny_grouping, city=tiny_place.name)
    text = standalone_html(flow_map(tiny_place, tiny_grouping, f.matrix, f.neighbourhoods, min_patients=1))
    assert "Resident containment<br>(share registered in<br>their neighbourhood)" in text
    lo, hi = f.neighbourhoods["resident_containment"].min(), f.neighbourhoods["resident_containment"].max()
    assert f"{100 * lo:.0f}%</div>" in text and f"{100 * hi:.0f}%</div>" in text  # the scale's ends, as percentages
    assert "d3js.org" not in text and "cdn.jsdelivr.net/npm/d3" not in text  # no branca colour scale fetching d3
    assert not re.search(r"<script[^>]+src=\"https?://", text)  # nothing fetched from the network
    assert "max-width:calc(100% - 300px)" in text  # the title wraps before the layer control
