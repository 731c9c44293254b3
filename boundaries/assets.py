"""Community assets per neighbourhood: counts by type, rates per 10,000 residents, and the disparity between neighbourhoods."""

from __future__ import annotations

import numpy as np
import pandas as pd

from boundaries.grouping import Grouping
from boundaries.profiles import population_label, require_cover, ward_population
from geo.assets import ASSET_TYPES
from geo.model import Place

__all__ = ["asset_table", "asset_disparity", "asset_sources"]


def asset_sources(place: Place) -> dict[str, str]:
    """Return the source and date of each asset type the place has (community assets layer, estates sites)."""
    out = {}
    if place.assets is not None:
        out |= dict(place.assets.attrs.get("vintages", {}))
    if place.sites is not None and place.manifest is not None:
        out |= {s.options.get("type"): f"{s.vintage} ({s.files[0].split('/')[-1]})" for s in place.manifest.sites}
    return {t: out[t] for t in ASSET_TYPES if t in out}


def asset_table(place: Place, grouping: Grouping, *, population: str = "census2021") -> pd.DataFrame:
    """Count community assets per neighbourhood, locality and city, by type, with the rate per 10,000 residents.

    Parameters
    ----------
    population
        Resident base of the rates: ``"census2021"`` (default) or ``"mid2015"``.

    Returns
    -------
    pandas.DataFrame
        One row per unit × asset type: ``level``, ``name``, ``locality``, ``asset_type``,
        ``asset_label``, ``count`` (assets standing in the unit's wards), ``residents`` (on
        the base), ``per_10k``. ``attrs['population_label']`` names the base and year;
        ``attrs['sources']`` the source and date of each type.
    """
    require_cover(grouping, place.wards.index, source=f"grouping {grouping.name!r} for {place.label}")
    types = [t for t in ASSET_TYPES if t in set(place.assets_in_place["asset_type"])]
    a = place.assets_in_place
    counts = pd.crosstab(a["ward_code"], a["asset_type"]).reindex(index=place.wards.index, columns=types, fill_value=0)
    pop = ward_population(place, population)
    units = {"neighbourhood": grouping.wards, "locality": grouping.ward_locality, "city": pd.Series(place.name, index=grouping.wards.index)}
    frames = []
    for level, key in units.items():
        k = key.reindex(place.wards.index)
        c = counts.groupby(k).sum()
        p = pop.groupby(k).sum()
        order = grouping.neighbourhoods if level == "neighbourhood" else grouping.localities if level == "locality" else [place.name]
        long = c.reindex(order).stack().rename("count").reset_index()
        long.columns = ["name", "asset_type", "count"]
        long.insert(0, "level", level)
        long["residents"] = long["name"].map(p).to_numpy()
        frames.append(long)
    out = pd.concat(frames, ignore_index=True)
    out.insert(2, "locality", out["name"].map(grouping.neighbourhood_to_locality).where(out["level"] == "neighbourhood", out["name"]))
    out.loc[out["level"] == "city", "locality"] = ""
    out.insert(4, "asset_label", out["asset_type"].map(ASSET_TYPES))
    out["per_10k"] = 1e4 * out["count"] / out["residents"].where(out["residents"] > 0)
    out.attrs.update({"population_label": population_label(place, population), "sources": asset_sources(place), "demo": place.demo})
    return out


def asset_disparity(table: pd.DataFrame) -> pd.DataFrame:
    """Return, per asset type, the neighbourhoods with the highest and lowest rate per 10,000 residents and their ratio.

    Returns
    -------
    pandas.DataFrame
        Index ``asset_type``: ``asset_label``, ``city_per_10k``, ``highest``,
        ``highest_per_10k``, ``lowest``, ``lowest_per_10k``, ``ratio`` (highest ÷ lowest;
        infinite when the lowest has none), ``none`` (neighbourhoods with none).
    """
    nb = table[table["level"] == "neighbourhood"]
    city = table[table["level"] == "city"].set_index("asset_type")["per_10k"]
    rows = []
    for t, g in nb.groupby("asset_type", sort=False):
        g = g.sort_values("per_10k")
        hi, lo = g.iloc[-1], g.iloc[0]
        with np.errstate(divide="ignore"):
            ratio = float(np.float64(hi["per_10k"]) / np.float64(lo["per_10k"])) if lo["per_10k"] > 0 else np.inf
        rows.append({"asset_type": t, "asset_label": hi["asset_label"], "city_per_10k": city.get(t, np.nan), "highest": hi["name"],
                     "highest_per_10k": hi["per_10k"], "lowest": lo["name"], "lowest_per_10k": lo["per_10k"], "ratio": ratio,
                     "none": int((g["count"] == 0).sum())})  # fmt: skip
    return pd.DataFrame(rows).set_index("asset_type")
