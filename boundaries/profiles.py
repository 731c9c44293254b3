"""Profiles of a grouping: people, area, deprivation and practices per neighbourhood, locality and city."""

from __future__ import annotations

import numpy as np
import pandas as pd

from boundaries.flowbase import practice_lsoas
from boundaries.grouping import Grouping
from boundaries.lsoa_plans import lsoa_neighbourhoods
from geo.model import AGE_BANDS, ONS_BEST_FIT_NOTE, Place
from placekit.errors import InvalidGroupingError, PlacekitError

__all__ = ["profile", "round_profile", "require_cover", "ward_population", "population_label", "population_bases", "default_population",
           "BEST_FIT_NOTE", "POPULATION_BASES"]

#: The resident populations a profile can be based on: name → what it is.
POPULATION_BASES = {
    "mid2015": "mid-2015 residents (ONS estimates, IoD2019 denominators; 2011 LSOAs)",
    "census2021": "Census 2021 usual residents (21 March 2021; 2021 LSOAs carried to wards)",
}

#: The ONS best-fit rule of a manifest place (a place built from national files says :attr:`geo.model.Place.best_fit_note`).
BEST_FIT_NOTE = ONS_BEST_FIT_NOTE


def _summarise(lsoa: pd.DataFrame, key: pd.Series, practices: pd.DataFrame | None) -> pd.DataFrame:
    g = lsoa.groupby(key, sort=False)
    bands = [c for c in AGE_BANDS if c in lsoa]
    out = pd.DataFrame({"lsoas": g.size(), "population": g["population"].sum(), **{b: g[b].sum() for b in bands},
                        "area_km2": g["area_km2"].sum()})  # fmt: skip
    out["density_per_km2"] = out["population"] / out["area_km2"]
    old = "age_60_plus" if "age_60_plus" in out else "age_65_plus"
    out[f"share_{old[4:]}"] = out[old] / out["population"]
    if "imd_decile" in lsoa:
        w = lsoa["population"]
        out["imd_mean_decile"] = (lsoa["imd_decile"] * w).groupby(key).sum() / w.groupby(key).sum()
        out["share_most_deprived_decile"] = (w * (lsoa["imd_decile"] == 1)).groupby(key).sum() / w.groupby(key).sum()
    if practices is not None:
        pg = practices.groupby(practices["unit"], sort=False)
        out["practices"] = pg.size().reindex(out.index).fillna(0).astype(int)
        out["practice_codes"] = pg.apply(lambda d: sorted(d.index)).reindex(out.index)
        out["registered_list"] = pg["list_size"].sum().reindex(out.index).fillna(0).astype(int)
        out["practice_codes"] = out["practice_codes"].apply(lambda v: v if isinstance(v, list) else [])
    return out


def _require_base(population: str) -> None:
    if population not in POPULATION_BASES:
        raise PlacekitError(f'`population` was "{population}" but is expected to be one of {list(POPULATION_BASES)}.')


def population_bases(place: Place) -> list[str]:
    """Return the resident bases `place` has, its own first (a place built on Census 2021 residents has no mid-2015 base)."""
    if place.population_base == "census2021":
        return ["census2021"]
    return ["mid2015", *(["census2021"] if place.census is not None else [])]


def default_population(place: Place) -> str:
    """Return the resident base of `place`'s own population layer (``mid2015`` for a manifest place, ``census2021`` for a national one)."""
    return place.population_base


def _resolve_base(place: Place, population: str | None) -> str:
    """Return `population`, or the place's own base when None; refuse a base the place lacks with the fix."""
    base = place.population_base if population is None else population
    _require_base(base)
    if base == "mid2015" and place.population_base != "mid2015":
        raise PlacekitError(f"{place.label} is built on Census 2021 residents (2021 LSOAs) and has no mid-2015 estimates (they are on 2011 "
                            "LSOAs); use --population census2021 (or leave the base unset).")  # fmt: skip
    return base


def population_label(place: Place, population: str | None = None) -> str:
    """Return the name and year of a population base (default: the place's own), as every table and chart states it."""
    population = place.population_base if population is None else population
    _require_base(population)
    if population == "census2021":
        return "Census 2021 usual residents (21 March 2021)"
    return f"residents, {place.vintages.get('population', 'mid-2015')}"


def ward_population(place: Place, population: str | None = None) -> pd.Series:
    """Return residents per ward on the chosen base (``mid2015`` or ``census2021``; None: the place's own), indexed like the wards.

    Raises
    ------
    PlacekitError
        When the base is unknown, ``census2021`` is asked of a place without a census layer, or
        ``mid2015`` of a place built on Census 2021 residents.
    """
    population = _resolve_base(place, population)
    if population == place.population_base:
        return place.ward_population
    if place.census is None:
        raise PlacekitError(f"{place.label} has no Census 2021 layer; add [layers.census] to the manifest or use --population mid2015.")
    return place.ward_census["population"].rename("population")


def _census_columns(place: Place, grouping: Grouping, out: pd.DataFrame) -> pd.DataFrame:
    """Replace the mid-2015 residents and age bands of `out` by Census 2021 ones, unit by unit."""
    wc = place.ward_census
    units = {"neighbourhood": grouping.wards, "locality": grouping.ward_locality,
             "city": pd.Series(place.name, index=grouping.wards.index)}  # fmt: skip
    parts = [wc.groupby(units[lv].reindex(wc.index)).sum().assign(level=lv) for lv in units]
    by_unit = pd.concat(parts).reset_index(names="name").set_index(["level", "name"])
    key = pd.MultiIndex.from_arrays([out["level"], out["name"]])
    out = out.drop(columns=["population", "age_16_59", "age_60_plus", "share_60_plus", "share_65_plus"], errors="ignore")
    for c in by_unit.columns:
        out[c] = by_unit[c].reindex(key).to_numpy()
    out["density_per_km2"] = out["population"] / out["area_km2"]
    return _census_order(out)


def _census_order(out: pd.DataFrame) -> pd.DataFrame:
    """Add ``age_16_64`` and ``share_65_plus`` to a table with the six Census 2021 bands, and put the bands first."""
    out["age_16_64"] = out[["age_16_24", "age_25_34", "age_35_49", "age_50_64"]].sum(axis=1)
    out["share_65_plus"] = out["age_65_plus"] / out["population"]
    six = [c for c in AGE_BANDS if c in ("age_0_15", "age_16_24", "age_25_34", "age_35_49", "age_50_64", "age_65_plus")]
    first = ["level", "name", "locality", "wards", "ward_names", "lsoas", "population", *six, "age_16_64", "share_65_plus"]
    return out[[c for c in first if c in out] + [c for c in out if c not in first]]


def profile(place: Place, grouping: Grouping, *, population: str | None = None) -> pd.DataFrame:
    """Profile every neighbourhood, locality and the city under `grouping`.

    Parameters
    ----------
    place
        A loaded place.
    grouping
        Must cover every ward of the place. A plan built from LSOAs is profiled on its LSOAs
        (practices by the LSOA of their premises; ``wards`` lists the wards its LSOAs are
        fitted to), on the place's own resident base.
    population
        The resident base: ``"mid2015"`` (bands 0–15, 16–59, 60+) or ``"census2021"``
        (Census 2021, bands 0–15, 16–24, 25–34, 35–49, 50–64, 65+, with ``age_16_64`` and
        ``share_65_plus`` in place of ``age_16_59``, ``age_60_plus`` and ``share_60_plus``);
        None: the place's own base (:attr:`geo.model.Place.population_base`). IMD figures are
        weighted by the residents of the place's own base.

    Returns
    -------
    pandas.DataFrame
        One row per unit with ``level`` (neighbourhood, locality, city), ``name``,
        ``locality``, ``wards`` (codes), ``ward_names``, ``lsoas``, ``population`` and age
        bands, ``area_km2``, ``density_per_km2``, ``imd_mean_decile`` (population-weighted),
        ``share_most_deprived_decile`` (residents in England's most deprived 10%),
        ``practices`` (located there), ``practice_codes``, ``registered_list``.
        ``attrs['note']`` states the best-fit rule; ``attrs['demo']`` is True on demo data.

    Raises
    ------
    InvalidGroupingError
        If the grouping misses a ward of the place or names one it lacks.
    PlacekitError
        A plan built from LSOAs on Census 2021 residents of a place whose own base is mid-2015 (its
        Census 2021 age bands reach the place only through wards).
    """
    population = _resolve_base(place, population)
    require_cover(grouping, place.wards.index, source=f"grouping {grouping.name!r} for {place.label}", lsoas=True)
    _lsoa_plan_base(place, grouping, population)
    lsoa = place.lsoa_table
    pr = place.practices_in_place[["ward_code", "list_size"]] if place.practices is not None else None
    out = _order(pd.concat(_level_frames(place, grouping, lsoa, pr), ignore_index=True), grouping)
    total = int(place.population.loc[place.lsoas.index, "population"].sum())
    city_pop = int(out.loc[out["level"] == "city", "population"].iloc[0])
    if city_pop != total:  # an invariant: best-fit means every LSOA counts exactly once
        raise AssertionError(f"city population {city_pop} differs from the sum of its LSOAs {total}")
    vintage = place.vintages.get("population", "")
    bridge = population == "census2021" and place.population_base != "census2021"
    if bridge:
        ward_population(place, population)  # refuses a place without a census layer
        out = _census_columns(place, grouping, out)
        if int(out.loc[out["level"] == "city", "population"].iloc[0]) != int(place.census["population"].sum()):
            raise AssertionError("the Census 2021 city total changed on its way to the wards")
        vintage = place.vintages.get("census", "Census 2021")
    elif population == "census2021":  # the place's own residents are Census 2021's
        out = _census_order(out.drop(columns=["share_65_plus"]))
    out.attrs.update({"note": place.best_fit_note + (" " + place.lsoa21_ward.attrs["method"] if bridge else ""),
                      "demo": place.demo, "grouping": grouping.name, "place": place.label, "population_vintage": vintage,
                      "population_base": population, "population_label": population_label(place, population)})  # fmt: skip
    return out


def _lsoa_plan_base(place: Place, grouping: Grouping, population: str) -> None:
    """Refuse a plan built from LSOAs on a base other than the place's own (Census 2021 ages reach a mid-2015 place's LSOAs via wards)."""
    if grouping.units == "lsoa" and population != place.population_base:
        raise PlacekitError(f"grouping {grouping.name!r} is a plan built from LSOAs, and Census 2021 age bands reach {place.label}'s LSOAs "
                            f"only through its wards; profile it on the place's own base ({place.population_base}).")  # fmt: skip


def require_cover(grouping: Grouping, wards: pd.Index, *, source: str, lsoas: bool = False) -> None:
    """Raise :class:`InvalidGroupingError` unless `grouping` covers exactly the wards `wards`.

    A plan built from LSOAs is refused unless `lsoas` (the caller measures it on its LSOAs): figures
    counted by ward would silently put its split wards' residents in one neighbourhood.
    """
    if grouping.lsoa_to_neighbourhood and not lsoas:
        raise InvalidGroupingError([f"it is a plan built from LSOAs ({len(grouping.lsoa_to_neighbourhood)} LSOAs assigned away from their "
                                    "ward), and these figures are counted by ward, so they would be wrong for it: measure it with "
                                    "`placekit flows`, `validate` or `profile` (which read LSOAs)"], source=source)  # fmt: skip
    missing = sorted(set(wards) - set(grouping.ward_to_neighbourhood))
    unknown = sorted(set(grouping.ward_to_neighbourhood) - set(wards))
    problems = ([f"{len(missing)} ward(s) missing: {missing}"] if missing else []) + (
        [f"{len(unknown)} unknown ward(s): {unknown}"] if unknown else []
    )
    if problems:
        raise InvalidGroupingError(problems, source=source)


def _level_frames(place: Place, grouping: Grouping, lsoa: pd.DataFrame, pr: pd.DataFrame | None) -> list[pd.DataFrame]:
    """Summarise the LSOAs per neighbourhood, per locality and for the city."""
    if grouping.units == "lsoa":
        return _lsoa_level_frames(place, grouping, lsoa, pr)
    nb = lsoa["ward_code"].map(grouping.ward_to_neighbourhood)
    levels = (
        ("neighbourhood", nb, grouping.wards),
        ("locality", nb.map(grouping.neighbourhood_to_locality), grouping.ward_locality),
        ("city", pd.Series(place.name, index=lsoa.index), pd.Series(place.name, index=grouping.wards.index)),
    )
    ward_names = place.wards["name"]
    frames = []
    for level, key, unit_of_ward in levels:
        s = _summarise(lsoa, key, pr.assign(unit=pr["ward_code"].map(unit_of_ward)) if pr is not None else None)
        wards_of = unit_of_ward.groupby(unit_of_ward, sort=False).apply(lambda x: list(x.index))
        s.insert(0, "wards", wards_of.reindex(s.index))
        s.insert(1, "ward_names", s["wards"].apply(lambda ws: [ward_names.get(w, w) for w in ws]))
        s.insert(0, "level", level)
        s.insert(1, "name", s.index)
        locality = {"neighbourhood": s.index.map(grouping.neighbourhood_to_locality), "locality": s.index, "city": ""}[level]
        s.insert(2, "locality", locality)
        frames.append(s)
    return frames


def _lsoa_level_frames(place: Place, grouping: Grouping, lsoa: pd.DataFrame, pr: pd.DataFrame | None) -> list[pd.DataFrame]:
    """Summarise the LSOAs of a plan built from LSOAs: each LSOA in its own neighbourhood, practices by the LSOA of their premises."""
    nb = lsoa_neighbourhoods(grouping, lsoa["ward_code"])
    pr_nb = practice_lsoas(place).reindex(pr.index).map(nb) if pr is not None else None
    to_loc = grouping.neighbourhood_to_locality
    levels = (("neighbourhood", nb, pr_nb), ("locality", nb.map(to_loc), None if pr_nb is None else pr_nb.map(to_loc)),
              ("city", pd.Series(place.name, index=lsoa.index), None if pr_nb is None else pd.Series(place.name, index=pr.index)))  # fmt: skip
    ward_names = place.wards["name"]
    frames = []
    for level, key, pr_unit in levels:
        s = _summarise(lsoa, key, pr.assign(unit=pr_unit) if pr is not None else None)
        wards_of = lsoa["ward_code"].groupby(key, sort=False).apply(lambda x: list(dict.fromkeys(x)))
        lsoas_of = lsoa.index.to_series().groupby(key, sort=False).apply(list)
        s.insert(0, "wards", wards_of.reindex(s.index))
        s.insert(1, "ward_names", s["wards"].apply(lambda ws: [ward_names.get(w, w) for w in ws]))
        s.insert(2, "lsoa_codes", lsoas_of.reindex(s.index))
        s.insert(0, "level", level)
        s.insert(1, "name", s.index)
        s.insert(2, "locality", {"neighbourhood": s.index.map(to_loc), "locality": s.index, "city": ""}[level])
        frames.append(s)
    return frames


def _order(out: pd.DataFrame, grouping: Grouping) -> pd.DataFrame:
    """Sort neighbourhoods, then localities, then the city, each in the grouping's order."""
    order = {n: i for i, n in enumerate(grouping.neighbourhoods + grouping.localities)}
    rank = {"neighbourhood": 0, "locality": 1, "city": 2}
    out["_o"] = [(rank[lv], order.get(n, 0)) for lv, n in zip(out["level"], out["name"], strict=True)]
    return out.sort_values("_o").drop(columns="_o").reset_index(drop=True)


def round_profile(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with display rounding (1 dp for areas and deciles, 3 dp for shares)."""
    out = df.copy()
    for c in ("area_km2", "imd_mean_decile"):
        if c in out:
            out[c] = out[c].round(2)
    for c in ("density_per_km2",):
        if c in out:
            out[c] = out[c].round(0)
    for c in ("share_60_plus", "share_65_plus", "share_most_deprived_decile"):
        if c in out:
            out[c] = out[c].astype(float).round(3)
    return out.replace({np.nan: None})
