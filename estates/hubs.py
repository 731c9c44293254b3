"""Hub and spoke: every site joined to a hub, and what each hub serves."""

from __future__ import annotations

import numpy as np
import pandas as pd

from placekit.errors import PlacekitError

__all__ = ["assign_spokes", "hub_report", "hub_checks", "nearest_hub"]


def nearest_hub(minutes: pd.DataFrame, hubs: list[str]) -> pd.DataFrame:
    """Return, for each row of `minutes` (origins × sites), its nearest hub and the time to it."""
    missing = [h for h in hubs if h not in minutes.columns]
    if missing:
        raise PlacekitError(f"hub(s) {missing[:10]} are not sites of the travel-time matrix; pick hubs among its columns.")
    if not hubs:
        raise PlacekitError("no hubs given; choose at least one hub.")
    sub = minutes[hubs].to_numpy(dtype=float)
    k = sub.argmin(axis=1)
    return pd.DataFrame({"hub": np.asarray(hubs)[k], "minutes": sub[np.arange(len(sub)), k]}, index=minutes.index)


def assign_spokes(
    site_minutes: pd.DataFrame, hubs: list[str], *, site_unit: pd.Series | None = None, within_unit: bool = False
) -> pd.DataFrame:
    """Join every non-hub site to a hub: the nearest by travel time, or the nearest in its own unit.

    Parameters
    ----------
    site_minutes
        Sites × sites travel times (minutes), from spoke (row) to hub (column).
    site_unit
        Neighbourhood of each site (needed for `within_unit`).
    within_unit
        Keep spokes with a hub of their own neighbourhood where it has one (else nearest).

    Returns
    -------
    pandas.DataFrame
        One row per spoke: ``hub``, ``minutes``, ``same_unit``.
    """
    hub_set = set(hubs)
    spokes = [s for s in site_minutes.index if s not in hub_set]
    near = nearest_hub(site_minutes.loc[spokes], hubs)
    if within_unit:
        if site_unit is None:
            raise PlacekitError("`within_unit=True` needs `site_unit` (the neighbourhood of each site).")
        hu = site_unit.reindex(hubs)
        for s in spokes:
            own = [h for h in hubs if hu[h] == site_unit.get(s)]
            if own:
                t = site_minutes.loc[s, own]
                near.loc[s, ["hub", "minutes"]] = [t.idxmin(), float(t.min())]
    if site_unit is not None:
        near["same_unit"] = near["hub"].map(site_unit).to_numpy() == site_unit.reindex(near.index).to_numpy()
    return near


def hub_report(
    spokes: pd.DataFrame, people: pd.DataFrame, hubs: list[str], *, population: pd.Series, names: pd.Series | None = None
) -> pd.DataFrame:
    """Return per hub: spokes, residents served (nearest hub), mean and max spoke–hub minutes.

    Parameters
    ----------
    spokes
        Output of :func:`assign_spokes`.
    people
        Output of :func:`nearest_hub` for the demand points.
    population
        Residents per demand point.
    """
    g = spokes.groupby("hub")["minutes"]
    served = population.reindex(people.index).groupby(people["hub"]).sum()
    mean_time = (people["minutes"] * population.reindex(people.index)).groupby(people["hub"]).sum() / served
    out = pd.DataFrame(index=pd.Index(hubs, name="hub"))
    if names is not None:
        out["name"] = names.reindex(hubs)
    out["spokes"] = g.size().reindex(hubs).fillna(0).astype(int)
    out["spoke_mean_minutes"] = g.mean().reindex(hubs)
    out["spoke_max_minutes"] = g.max().reindex(hubs)
    out["residents_served"] = served.reindex(hubs).fillna(0).astype(int)
    out["residents_mean_minutes"] = mean_time.reindex(hubs)
    return out


def hub_checks(hubs: list[str], site_unit: pd.Series, units: list[str], *, minimum: int | None = None) -> list[str]:
    """Report breaches of the hub-and-spoke rules: fewer than `minimum` hubs (default: one per unit), a unit without a hub."""
    out = []
    minimum = len(units) if minimum is None else minimum
    if len(hubs) < minimum:
        out.append(f"{len(hubs)} hubs: the place model asks for at least {minimum}")
    have = set(site_unit.reindex(hubs).dropna())
    for u in units:
        if u not in have:
            out.append(f"no hub in {u}")
    return out
