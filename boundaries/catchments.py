"""Hospital trust catchments apportioned to LSOAs, wards and neighbourhoods.

OHID publishes, for each MSOA, the share of its residents' admissions that go to
each acute trust. Each LSOA takes its MSOA's shares, weighted by its residents;
any unit's shares are the population-weighted mean of its LSOAs'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from boundaries.grouping import Grouping
from geo.model import Place
from placekit.errors import PlacekitError
from placekit.resources import trust_successors_file

__all__ = ["trust_successors", "apply_successors", "lsoa_catchments", "unit_catchments", "catchment_summary", "place_catchments", "Catchments"]


def trust_successors() -> pd.DataFrame:
    """Return the shipped, dated table of trust code changes (old → new, from a date, optional LA scope)."""
    with trust_successors_file().open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype=str, keep_default_na=False)
    df["effective"] = pd.to_datetime(df["effective"])
    return df


def apply_successors(
    catchments: pd.DataFrame, msoa_lad: pd.Series, *, as_of: date | str | None = None, table: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replace trust codes that changed on or before `as_of`, and report what moved.

    Parameters
    ----------
    catchments
        Columns ``msoa_code``, ``trust_code``, ``proportion``.
    msoa_lad
        Local-authority code of each MSOA, for changes scoped to one authority.
    as_of
        Date of the organisation structure wanted (default: today).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Catchments with current codes (shares of merged trusts added up), and a report:
        one row per change applied with the MSOAs and admission share it moved.
    """
    table = trust_successors() if table is None else table
    when = pd.Timestamp(as_of or date.today())
    out = catchments.copy()
    lad = out["msoa_code"].map(msoa_lad)
    report = []
    for _, ch in table[table["effective"] <= when].iterrows():
        hit = out["trust_code"] == ch["old_code"]
        if ch["scope_lad"]:
            hit &= lad == ch["scope_lad"]
        if hit.any():
            moved = out.loc[hit].groupby("msoa_code")["proportion"].sum()
            report.append(
                {
                    "old_code": ch["old_code"],
                    "new_code": ch["new_code"],
                    "effective": ch["effective"].date(),
                    "scope": ch["scope_lad"] or "everywhere",
                    "msoas": len(moved),
                    "mean_msoa_share": float(moved.mean()),
                    "note": ch["note"],
                }
            )
            out.loc[hit, "trust_code"] = ch["new_code"]
    out = out.groupby(["msoa_code", "trust_code"], as_index=False, sort=False)["proportion"].sum()
    return out, pd.DataFrame(report)


def lsoa_catchments(catchments: pd.DataFrame, lsoa_msoa: pd.Series, population: pd.Series) -> pd.DataFrame:
    """Return an LSOA × trust table of expected admission weights (residents × MSOA share).

    Raises
    ------
    PlacekitError
        If an LSOA's MSOA has no catchment rows (vintage or coverage mismatch).
    """
    wide = catchments.pivot_table(index="msoa_code", columns="trust_code", values="proportion", aggfunc="sum", fill_value=0.0)
    missing = sorted(set(lsoa_msoa.dropna()) - set(wide.index))
    if missing:
        raise PlacekitError(
            f"trust catchments have no rows for MSOA(s) {missing[:8]}; the catchment file must cover the place's MSOAs "
            "(2011 MSOAs for the OHID 2019 file)."
        )
    shares = wide.reindex(lsoa_msoa.to_numpy()).to_numpy()
    weights = shares * population.reindex(lsoa_msoa.index).fillna(0).to_numpy()[:, None]
    return pd.DataFrame(weights, index=lsoa_msoa.index, columns=wide.columns)


def unit_catchments(lsoa_weights: pd.DataFrame, lsoa_unit: pd.Series, population: pd.Series) -> pd.DataFrame:
    """Return each unit's share of admissions by trust (population-weighted), plus ``unattributed``."""
    pop = population.reindex(lsoa_weights.index).fillna(0)
    num = lsoa_weights.groupby(lsoa_unit.reindex(lsoa_weights.index), sort=False).sum()
    den = pop.groupby(lsoa_unit.reindex(lsoa_weights.index), sort=False).sum()
    shares = num.div(den, axis=0)
    shares["unattributed"] = (1 - shares.sum(axis=1)).clip(lower=0)
    shares.index.name = "unit"
    return shares


def catchment_summary(shares: pd.DataFrame, trust_names: pd.Series | None = None) -> pd.DataFrame:
    """Return the dominant trust, its share, the overlap index (1 − largest share) and entropy per unit.

    Shares are renormalised over attributed admissions first. Entropy is in bits:
    0 when one trust takes every admission, log2(k) when k trusts share them equally.
    """
    att = shares.drop(columns=["unattributed"], errors="ignore")
    p = att.div(att.sum(axis=1), axis=0)
    top = p.idxmax(axis=1)
    top_share = p.max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -(p * np.log2(p.where(p > 0))).sum(axis=1)
    second = p.apply(lambda r: r.drop(r.idxmax()).idxmax() if len(r) > 1 else None, axis=1)
    out = pd.DataFrame(
        {
            "dominant_trust": top,
            "dominant_name": top.map(trust_names) if trust_names is not None else "",
            "dominant_share": top_share,
            "second_trust": second,
            "overlap_index": 1 - top_share,
            "entropy_bits": ent,
            "unattributed": shares.get("unattributed", 0.0),
        }
    )
    return out


@dataclass(frozen=True)
class Catchments:
    """Hospital trust shares of admissions for one grouping of a place.

    Attributes
    ----------
    shares
        Neighbourhood × trust: share of admissions (rows add to 1 with ``unattributed``).
    summary
        Per neighbourhood: dominant trust, its share, second trust, overlap index, entropy.
    locality_shares, city_shares
        The same shares per locality and for the city.
    lsoa_shares
        LSOA × trust shares.
    changes
        Trust code changes applied (old → new, date, scope, MSOAs moved).
    """

    shares: pd.DataFrame
    summary: pd.DataFrame
    locality_shares: pd.DataFrame
    city_shares: pd.DataFrame
    lsoa_shares: pd.DataFrame
    changes: pd.DataFrame


def place_catchments(place: Place, grouping: Grouping, *, as_of: date | str | None = None) -> Catchments:
    """Run the whole chain for a place: successors, LSOA weights, neighbourhood shares and summary."""
    if place.catchments is None or place.lsoa_msoa is None:
        raise PlacekitError(f"{place.label} has no trust catchment or LSOA→MSOA layer; add them to the manifest.")
    lsoa_msoa = place.lsoa_msoa["msoa_code"]
    msoa_lad = place.lsoa_ward["lad_code"].groupby(lsoa_msoa.reindex(place.lsoa_ward.index)).first()
    cur, changes = apply_successors(place.catchments, msoa_lad, as_of=as_of)
    pop = place.population["population"]
    lsoas = place.lsoas.index
    w = lsoa_catchments(cur, lsoa_msoa.reindex(lsoas), pop)
    nb = place.lsoa_ward_code.map(grouping.ward_to_neighbourhood)
    shares = unit_catchments(w, nb, pop)
    names = place.trusts["trust_name"] if place.trusts is not None else None
    return Catchments(
        shares=shares,
        summary=catchment_summary(shares, names),
        locality_shares=unit_catchments(w, nb.map(grouping.neighbourhood_to_locality), pop),
        city_shares=unit_catchments(w, pd.Series(place.name, index=lsoas), pop),
        lsoa_shares=w.div(pop.reindex(lsoas), axis=0),
        changes=changes,
    )
