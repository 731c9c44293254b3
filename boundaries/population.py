"""Who lives in a unit and who is registered there: residents on two bases beside registered patients living there.

Every column names its population and its year: mid-2015 residents (ONS, 2011 LSOAs),
Census 2021 usual residents (21 March 2021, 2021 LSOAs carried to wards), registered
patients living in the unit (NHS Digital, July 2022, by LSOA of residence, any practice),
and practice lists by age (April 2020) for the share aged 65+ of the unit's practices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from boundaries.grouping import Grouping
from boundaries.health import practice_units
from boundaries.profiles import require_cover
from geo.model import Place

__all__ = ["population_table", "ward_registered_residents", "POPULATION_COLUMNS"]

#: Columns of :func:`population_table`, with the population and year each counts.
POPULATION_COLUMNS = {
    "residents_mid2015": "residents, mid-2015 (ONS; IoD2019 denominators)",
    "residents_census2021": "usual residents, Census 2021 (21 March 2021)",
    "registered_residents_2022": "registered patients living here, any practice (NHS Digital, July 2022)",
    "difference": "registered patients living here (July 2022) − Census 2021 residents",
    "registered_per_resident": "registered patients living here (July 2022) ÷ Census 2021 residents",
    "share_65_plus_residents": "share aged 65+ of Census 2021 residents",
    "share_65_plus_lists": "share aged 65+ of the unit's practices' lists (April 2020)",
}


def ward_registered_residents(place: Place) -> pd.Series:
    """Return registered patients (July 2022, any practice) living in each ward, through the best-fit LSOA→ward lookup."""
    reg = place.registrations
    ward = reg["lsoa_code"].map(place.lsoa_ward_code)
    return reg["patients"].groupby(ward.to_numpy()).sum().reindex(place.wards.index, fill_value=0).rename("registered_residents")


def population_table(place: Place, grouping: Grouping) -> pd.DataFrame:
    """Return residents (mid-2015, Census 2021) beside registered patients living in each unit (July 2022) and the 65+ shares.

    Returns
    -------
    pandas.DataFrame
        One row per neighbourhood, locality and the city: ``level``, ``name``, ``locality``
        and the columns of :data:`POPULATION_COLUMNS` (those a layer is missing for are
        NaN). A positive ``difference`` means more registered than counted residents
        (list inflation: people who moved away or died and are still registered, students
        registered twice); a negative one, residents not registered with any practice.
    """
    require_cover(grouping, place.wards.index, source=f"grouping {grouping.name!r} for {place.label}")
    mid2015 = place.ward_population.astype(float) if place.population_base == "mid2015" else np.nan  # a national place has none
    wards = pd.DataFrame({"residents_mid2015": mid2015}, index=place.wards.index)
    wards["residents_census2021"] = place.ward_census["population"].astype(float) if place.census is not None else np.nan
    wards["registered_residents_2022"] = ward_registered_residents(place).astype(float) if place.registrations is not None else np.nan
    ages = _list_ages(place, grouping)
    units = {"neighbourhood": grouping.wards, "locality": grouping.ward_locality, "city": pd.Series(place.name, index=grouping.wards.index)}
    rows = []
    for level, key in units.items():
        s = wards.groupby(key.reindex(wards.index)).sum(min_count=1)
        a = ages.groupby(ages[level]).sum() if ages is not None else None
        s["share_65_plus_lists"] = a["age_65_plus"] / a["total"] if a is not None else np.nan
        s.insert(0, "level", level)
        rows.append(s.reindex(grouping.neighbourhoods if level == "neighbourhood" else grouping.localities if level == "locality"
                              else [place.name]).rename_axis("name").reset_index())  # fmt: skip
    out = pd.concat(rows, ignore_index=True)
    out.insert(2, "locality", out["name"].map(grouping.neighbourhood_to_locality).where(out["level"] == "neighbourhood", out["name"]))
    out.loc[out["level"] == "city", "locality"] = ""
    out["difference"] = out["registered_residents_2022"] - out["residents_census2021"]
    out["registered_per_resident"] = out["registered_residents_2022"] / out["residents_census2021"]
    c65 = _census_65(place, grouping)
    out["share_65_plus_residents"] = [c65.get((lv, n), np.nan) for lv, n in zip(out["level"], out["name"], strict=True)]
    out.attrs.update({"columns": POPULATION_COLUMNS, "demo": place.demo, "grouping": grouping.name})
    return out[["level", "name", "locality", *POPULATION_COLUMNS]]


def _list_ages(place: Place, grouping: Grouping) -> pd.DataFrame | None:
    """Return the April 2020 age groups of the place's practices with their neighbourhood, locality and city."""
    if place.practice_ages is None or place.practices is None:
        return None
    units = practice_units(place, grouping).dropna()
    ages = place.practice_ages.reindex(units.index)[["total", "age_65_plus"]].dropna()
    ages["neighbourhood"] = units.reindex(ages.index)
    ages["locality"] = ages["neighbourhood"].map(grouping.neighbourhood_to_locality)
    ages["city"] = place.name
    return ages


def _census_65(place: Place, grouping: Grouping) -> dict[tuple[str, str], float]:
    if place.census is None:
        return {}
    wc = place.ward_census
    out = {}
    for level, key in (("neighbourhood", grouping.wards), ("locality", grouping.ward_locality),
                       ("city", pd.Series(place.name, index=grouping.wards.index))):  # fmt: skip
        g = wc.groupby(key.reindex(wc.index)).sum()
        out |= {(level, n): v for n, v in (g["age_65_plus"] / g["population"]).items()}
    return out
