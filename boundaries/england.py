"""The England table: every English local authority's practices, residents, containment and PCN baseline, from the national tables.

Each authority's row is what ``placekit --place CODE flows`` computes for the place built from
the national files, without building it: the authority's slice of England's registrations
(its residents, and every patient of its practices) goes through the same flow engine
(:func:`boundaries.flowbase.flow_base`, :func:`boundaries.flows.compute_flows`) with the
same PCN baseline (:func:`boundaries.baseline.pcn_baseline_from_base`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from boundaries.baseline import pcn_baseline_from_base
from boundaries.flowbase import flow_base
from boundaries.flows import compute_flows
from geo.england import EnglandTables
from placekit.settings import BAND_MAX, BAND_MIN

__all__ = ["england_table", "authority_row", "ENGLAND_COLUMNS"]

#: Columns of :func:`england_table`, with what each counts and its year.
ENGLAND_COLUMNS = {
    "lad_code": "local authority code (2025)",
    "name": "local authority",
    "kind": "London borough, metropolitan district, unitary authority or non-metropolitan district",
    "region": "region",
    "practices": "GP practices with premises there, in use (open in ODS Dec 2023 or holding patients in July 2022)",
    "pcns": "primary care networks of those practices (January 2022 map)",
    "residents": "usual residents, Census 2021",
    "registered_list": "patients registered with its practices, July 2022",
    "list_resident_pct": "% of its practices' patients who live in the authority (list containment), July 2022",
    "residents_registered": "its residents registered with any practice, July 2022",
    "residents_registered_here_pct": "% of its registered residents registered with its own practices (resident containment)",
    "pcn_neighbourhoods": "neighbourhoods of the PCN baseline (PCNs holding most registered residents of at least one ward)",
    "pcn_resident_containment_min": "PCN baseline: lowest resident containment of a neighbourhood (%)",
    "pcn_resident_containment_median": "PCN baseline: median resident containment (%)",
    "pcn_list_containment_min": "PCN baseline: lowest list containment of a neighbourhood (%)",
    "pcn_list_containment_median": "PCN baseline: median list containment (%)",
    "pcns_outside_band": f"PCNs whose practices' list in the authority is outside {BAND_MIN:,}-{BAND_MAX:,} (July 2022)",
    "wards": "wards (May 2025)",
    "wards_without_lsoa": "wards the modelled LSOA best fit leaves with no LSOA (kept with 0 residents)",
}


def _slices(tables: EnglandTables, codes: list[str]) -> tuple[dict[str, np.ndarray], pd.Series]:
    """Return, per authority of `codes`, the rows of England's registrations it needs (its residents', and its practices' patients)."""
    reg = tables.registrations
    pr = tables.practices
    used = pr[pr["in_use"] & pr["ward_code"].notna()]
    # The codes of each row's residence and practice, factorised once: the groupings below work on integers.
    lad_of_lsoa = reg["lsoa_code"].map(tables.lsoas["lad_code"]).to_numpy(dtype=object)
    lad_of_practice = reg["practice_code"].map(used["lad_code"]).to_numpy(dtype=object)
    want = set(codes)
    rows = {}
    for lads in (lad_of_lsoa, lad_of_practice):
        keep = np.flatnonzero(pd.Series(lads).isin(want).to_numpy())
        for c, idx in pd.Series(keep).groupby(lads[keep]).indices.items():
            rows[c] = np.union1d(rows.get(c, np.empty(0, np.int64)), keep[idx])
    return {c: rows.get(c, np.empty(0, np.int64)) for c in codes}, used["ward_code"]


def _pcn_names(tables: EnglandTables) -> dict[str, str]:
    return tables.pcn_map.drop_duplicates("pcn_code").set_index("pcn_code")["pcn_name"].to_dict()


def authority_row(tables: EnglandTables, code: str, rows: np.ndarray, practice_ward: pd.Series, ward_of_lsoa: pd.Series, *,
                  pcn_names: dict[str, str] | None = None) -> dict:  # fmt: skip
    """Return one authority's row of the England table (see :data:`ENGLAND_COLUMNS`); `pcn_names` as England's PCN map gives them."""
    a = tables.authorities.loc[code]
    wards = tables.wards[tables.wards["lad_code"] == code]
    lsoas = tables.lsoas.index[tables.lsoas["lad_code"] == code]
    fit = ward_of_lsoa.reindex(lsoas)  # the authority's LSOAs: every other LSOA lies outside it, as with England's whole table
    pop = tables.census["population"].reindex(lsoas).groupby(fit.to_numpy()).sum()
    pw = practice_ward[practice_ward.isin(wards.index)]
    info = tables.pcn_map[["pcn_code", "ccg_name"]]
    base = flow_base(tables.registrations.iloc[rows], fit, pw, wards=wards.index, practice_info=info,
                     ward_population=pop.reindex(wards.index).fillna(0))  # fmt: skip
    names = pcn_names if pcn_names is not None else _pcn_names(tables)
    g = pcn_baseline_from_base(base, pcn_names=names, place_name=str(a["name"]), ward_points=wards[["x", "y"]].to_numpy())
    f = compute_flows(base, g, city=str(a["name"]))
    city = f.boundary[f.boundary["level"] == "city"].iloc[0]
    nb = f.neighbourhoods
    pcn_lists = pd.Series(base.list_sizes[base.in_place], index=base.practices[base.in_place]).groupby(
        base.practice_pcn[base.in_place].to_numpy()).sum()  # fmt: skip
    return {"lad_code": code, "name": a["name"], "kind": a["kind"], "region": a["region"], "practices": int(base.in_place.sum()),
            "pcns": int(base.practice_pcn[base.in_place].nunique()), "residents": int(a["residents"]),
            "registered_list": int(city["gp_registered"]), "list_resident_pct": city["gp_registered_resident_in_city_pct"],
            "residents_registered": int(city["residents_registered"]),
            "residents_registered_here_pct": city["residents_registered_in_city_pct"], "pcn_neighbourhoods": len(nb),
            "pcn_resident_containment_min": 100 * nb["resident_containment"].min(),
            "pcn_resident_containment_median": 100 * nb["resident_containment"].median(),
            "pcn_list_containment_min": 100 * nb["list_containment"].min(), "pcn_list_containment_median": 100 * nb["list_containment"].median(),
            "pcns_outside_band": int(((pcn_lists < BAND_MIN) | (pcn_lists > BAND_MAX)).sum()), "wards": len(wards),
            "wards_without_lsoa": int((~wards.index.isin(fit.unique())).sum())}  # fmt: skip


def england_table(tables: EnglandTables, best_fit: pd.DataFrame, *, codes: list[str] | None = None,
                  progress: Callable[[str], None] | None = None) -> pd.DataFrame:  # fmt: skip
    """Return one row per English local authority (:data:`ENGLAND_COLUMNS`), each as its place from the national files would give.

    Parameters
    ----------
    best_fit
        England's modelled LSOA → ward best fit (:func:`geo.england.england_best_fit`).
    codes
        Only these authorities (default: all 296).
    progress
        Called with each authority's name when its row is done (a progress bar).
    """
    codes = codes or list(tables.authorities.index)
    rows, practice_ward = _slices(tables, codes)
    ward_of_lsoa = best_fit["ward_code"]
    names = _pcn_names(tables)  # once, not per authority (3 s of the 296)
    out = []
    for code in codes:
        out.append(authority_row(tables, code, rows[code], practice_ward, ward_of_lsoa, pcn_names=names))
        if progress is not None:
            progress(str(tables.authorities.at[code, "name"]))
    df = pd.DataFrame(out, columns=list(ENGLAND_COLUMNS))
    df.attrs.update({"columns": ENGLAND_COLUMNS, "best_fit": "modelled", "registrations": "July 2022", "residents": "Census 2021"})
    return df
