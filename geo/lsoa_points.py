"""Where LSOAs beyond a place lie: one point and the local authority of each, from the England boundaries file.

A place holds the boundaries of its own LSOAs only, but its practices register people
from next door. The registration model (:mod:`estates.registration`) locates those
patients at their LSOA's point: for 2011 LSOAs the ONS centroid (``BNG_E``, ``BNG_N``),
for 2021 LSOAs a point inside the polygon, both from ``england-boundaries`` (ONS
generalised clipped boundaries, EPSG:27700). Without the file the caller says so and
falls back to its own rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

__all__ = ["ENGLAND_LSOA_FILES", "england_lsoa_file", "read_lsoa_points", "LSOA_POINTS_SOURCE"]

#: The England LSOA boundary files under the data root, by LSOA vintage.
ENGLAND_LSOA_FILES = {"2011": "england-boundaries/lsoa_2011_england.parquet", "2021": "england-boundaries/lsoa_2021_england.parquet"}
#: What the points are, for notes.
LSOA_POINTS_SOURCE = "ONS LSOA boundaries for England (generalised, clipped): the 2011 centroid, or a point inside each 2021 LSOA"


def england_lsoa_file(root: str | Path | None, vintage: str) -> Path | None:
    """Return the England LSOA file of `vintage` under data root `root`, or None when it is not there."""
    if root is None or vintage not in ENGLAND_LSOA_FILES:
        return None
    path = Path(root) / ENGLAND_LSOA_FILES[vintage]
    return path if path.is_file() else None


def read_lsoa_points(path: str | Path, codes: Iterable[str], *, vintage: str) -> pd.DataFrame:
    """Return ``x``, ``y`` (EPSG:27700) and ``lad_code`` of each of `codes` found in the England LSOA file.

    Parameters
    ----------
    path
        ``lsoa_2011_england.parquet`` or ``lsoa_2021_england.parquet``.
    codes
        LSOA codes wanted; codes not in the file are left out.
    vintage
        ``"2011"`` (centroid columns) or ``"2021"`` (a point inside the polygon).

    Returns
    -------
    pandas.DataFrame
        Index ``lsoa_code``.
    """
    code_col = f"LSOA{vintage[-2:]}CD"
    wanted = sorted(set(codes))
    if not wanted:
        return pd.DataFrame({"x": [], "y": [], "lad_code": []}, index=pd.Index([], name="lsoa_code"))
    filters = [(code_col, "in", wanted)]
    if vintage == "2011":
        t = pq.read_table(path, columns=[code_col, "BNG_E", "BNG_N", "LADCD_ACTIVE"], filters=filters).to_pandas()
        x, y = t["BNG_E"].to_numpy(float), t["BNG_N"].to_numpy(float)
    else:
        t = gpd.read_parquet(path, columns=[code_col, "LADCD_ACTIVE", "geometry"], filters=filters)
        pts = t.geometry.representative_point()
        x, y = pts.x.to_numpy(), pts.y.to_numpy()
    out = pd.DataFrame(
        {"x": x, "y": y, "lad_code": t["LADCD_ACTIVE"].astype(str).to_numpy()}, index=pd.Index(t[code_col], name="lsoa_code")
    )
    out = out[~out.index.duplicated()]
    return out[np.isfinite(out["x"]) & np.isfinite(out["y"])]
