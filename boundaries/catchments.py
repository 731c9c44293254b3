"""Hospital catchments apportioned to LSOAs, wards and neighbourhoods: by trust, and by hospital site.

OHID publishes, for each MSOA, the share of its residents' admissions that go to
each acute trust. Each LSOA takes its MSOA's shares, weighted by its residents;
any unit's shares are the population-weighted mean of its LSOAs'.

By site (:func:`site_catchments`): each trust's share is split among the acute sites
it ran in the catchment year (the shipped, dated table ``hospital_sites.csv``), by
travel time from the LSOA — a logit whose time decay is fitted to the OHID trust
shares themselves — or wholly to the nearest site. Each site then takes the trust
that ran it on the date asked for, so the same figures serve any organisation
structure, before a merger as after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from boundaries.grouping import Grouping
from boundaries.lsoa_plans import lsoa_neighbourhoods
from geo.model import Place
from placekit.errors import PlacekitError
from placekit.resources import package_data, trust_successors_file

__all__ = [
    "trust_successors",
    "apply_successors",
    "lsoa_catchments",
    "unit_catchments",
    "catchment_summary",
    "place_catchments",
    "Catchments",
    "hospital_sites",
    "site_owners",
    "trusts_missing_on",
    "fit_time_decay",
    "split_by_site",
    "site_catchments",
    "SiteCatchments",
    "SPLIT_METHODS",
    "SEED_SITES",
    "seeds_view",
]

#: The hospital each locality's teams look to in a place's plan (Manchester's One Team seeds:
#: North to North Manchester General, Central to the MRI, South to Wythenshawe).
SEED_SITES = {"Manchester": {"North": "RW602", "Central": "R0A02", "South": "R0A07"}}

#: How a trust's share is split among its sites.
SPLIT_METHODS = ("logit", "nearest")


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
    gone = trusts_missing_on(place.catchments["trust_code"].unique(), as_of or date.today())
    if gone:
        raise PlacekitError(
            f"--as-of {pd.Timestamp(as_of).date()}: trust(s) {', '.join(f'{t} (first runs a listed site on {d})' for t, d in gone.items())} "
            f"did not exist yet, and trust-level shares cannot be split back between the trusts they were formed from. Use "
            "`catchments --by site`, which splits each trust's share among its hospital sites and gives each site the trust "
            "that ran it on that date, or an --as-of on or after that date."
        )
    cur, changes = apply_successors(place.catchments, msoa_lad, as_of=as_of)
    pop = place.population["population"]
    lsoas = place.lsoas.index
    w = lsoa_catchments(cur, lsoa_msoa.reindex(lsoas), pop)
    nb = lsoa_neighbourhoods(grouping, place.lsoa_ward_code)  # an LSOA's explicit neighbourhood, else its ward's
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


# --------------------------------------------------------------------------- by hospital site
def hospital_sites() -> pd.DataFrame:
    """Return the shipped, dated table of acute hospital sites and the trust running each (``from``/``to`` NaT when open-ended)."""
    with package_data("hospital_sites.csv").open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype=str, keep_default_na=False)
    for c in ("from", "to"):
        df[c] = pd.to_datetime(df[c].replace("", None))
    return df


def site_owners(when: date | str, table: pd.DataFrame | None = None) -> pd.Series:
    """Return the trust running each listed site on `when` (index ``site_code``)."""
    table = hospital_sites() if table is None else table
    t = pd.Timestamp(when)
    on = (table["from"].isna() | (table["from"] <= t)) & (table["to"].isna() | (table["to"] >= t))
    return table.loc[on].drop_duplicates("site_code").set_index("site_code")["trust_code"]


def trusts_missing_on(trusts: Iterable[str], when: date | str, table: pd.DataFrame | None = None) -> dict[str, str]:
    """Return the trusts of `trusts` that run listed sites at some time but none yet on `when`, with the date they start."""
    table = hospital_sites() if table is None else table
    running = set(site_owners(when, table))
    out = {}
    for t in trusts:
        rows = table[table["trust_code"] == t]
        if len(rows) and t not in running and rows["from"].notna().all() and (rows["from"] > pd.Timestamp(when)).all():
            out[t] = str(rows["from"].min().date())
    return out


def fit_time_decay(shares: pd.DataFrame, minutes: pd.DataFrame, weights: pd.Series) -> float:
    """Fit the time decay β (per minute) of a logit, P(trust) ∝ exp(α_trust − β × minutes), to observed trust shares.

    Parameters
    ----------
    shares
        Area × trust: observed shares of admissions (rows renormalised here).
    minutes
        Area × trust: travel time to the trust's nearest site (same labels as `shares`).
    weights
        Residents per area (the log-likelihood is weighted by them).
    """
    from scipy.optimize import minimize

    y = shares.div(shares.sum(axis=1), axis=0).to_numpy()
    t = minutes.reindex_like(shares).to_numpy()
    wt = weights.reindex(shares.index).to_numpy(dtype=float)
    k = y.shape[1]
    if k < 2:
        raise PlacekitError("fitting the time decay needs the shares of at least two trusts with listed sites.")

    def nll(theta):
        beta, alpha = theta[0], np.r_[0.0, theta[1:]]
        u = alpha[None, :] - beta * t
        u -= u.max(axis=1, keepdims=True)
        logp = u - np.log(np.exp(u).sum(axis=1, keepdims=True))
        return -float(wt @ (y * logp).sum(axis=1)) / wt.sum()

    res = minimize(nll, np.r_[0.1, np.zeros(k - 1)], method="L-BFGS-B", bounds=[(0.0, 5.0)] + [(-30, 30)] * (k - 1))
    return float(res.x[0])


def split_by_site(trust_share: pd.DataFrame, minutes: pd.DataFrame, sites_of: dict[str, list[str]], *, method: str = "logit",
                  beta: float = 0.1) -> pd.DataFrame:  # fmt: skip
    """Split each trust's share among its sites: ∝ exp(−β × minutes) (``logit``) or wholly to the nearest (``nearest``).

    Parameters
    ----------
    trust_share
        Area × trust shares.
    minutes
        Area × site travel times.
    sites_of
        Trust → its sites; a trust with none keeps its share under its own code.
    """
    if method not in SPLIT_METHODS:
        raise PlacekitError(f'`method` was "{method}" but is expected to be one of {list(SPLIT_METHODS)}.')
    cols = {}
    for trust in trust_share.columns:
        own = [s for s in sites_of.get(trust, []) if s in minutes.columns]
        if not own:
            cols[trust] = trust_share[trust]
            continue
        m = minutes[own].to_numpy(dtype=float)
        if method == "nearest":
            w = (m == m.min(axis=1, keepdims=True)).astype(float)
        else:
            w = np.exp(-beta * (m - m.min(axis=1, keepdims=True)))
        w /= w.sum(axis=1, keepdims=True)
        for k, site in enumerate(own):
            cols[site] = cols.get(site, 0.0) + trust_share[trust].to_numpy() * w[:, k]
    return pd.DataFrame(cols, index=trust_share.index)


@dataclass(frozen=True)
class SiteCatchments:
    """Each neighbourhood's expected share of admissions per hospital site.

    Attributes
    ----------
    shares
        Neighbourhood × site share (0–1; rows add to 1 with ``unattributed``).
    summary
        Per neighbourhood: dominant site, its share, second site, overlap index (1 − largest
        share), entropy, and the locality.
    records
        Long form: ``neighbourhood``, ``locality``, ``site`` (code), ``site_name``,
        ``trust_code`` (as of the date asked), ``trust_name``, ``share``.
    locality_shares, city_shares, lsoa_shares
        The same shares per locality, for the city and per LSOA.
    sites
        Per site: name, trust then (catchment year) and on the date asked, kind.
    method
        How the shares were made, in words.
    beta
        The time decay used (per minute; None for ``nearest``).
    """

    shares: pd.DataFrame
    summary: pd.DataFrame
    records: pd.DataFrame
    locality_shares: pd.DataFrame
    city_shares: pd.DataFrame
    lsoa_shares: pd.DataFrame
    sites: pd.DataFrame
    method: str
    beta: float | None


def _catchment_date(place: Place) -> pd.Timestamp:
    """Return mid-year of the catchment layer's vintage (OHID 2019 → 2019-07-01)."""
    year = re.search(r"(19|20)\d\d", place.vintages.get("catchments", "") or "")
    return pd.Timestamp(f"{year.group(0) if year else 2019}-07-01")


def _trust_minutes(lsoa_minutes: pd.DataFrame, sites_of: dict[str, list[str]]) -> pd.DataFrame:
    """Return LSOA × trust: minutes to the trust's nearest listed site."""
    return pd.DataFrame({t: lsoa_minutes[s].min(axis=1) for t, s in sites_of.items()}, index=lsoa_minutes.index)


def _site_frame(place: Place, codes: list[str], then: pd.Series, now: pd.Series, table: pd.DataFrame) -> pd.DataFrame:
    names = table.drop_duplicates("site_code").set_index("site_code")
    listed = table.drop_duplicates("trust_code").set_index("trust_code")["trust_name"]
    trust_names = (place.trusts["trust_name"] if place.trusts is not None else pd.Series(dtype=str)).combine_first(listed)
    rows = {}
    for c in codes:
        listed = c in names.index
        rows[c] = {
            "site_name": names.at[c, "site_name"] if listed else f"{trust_names.get(c, c)} (sites not listed)",
            "trust_then": then.get(c, c),
            "trust_code": now.get(c, c) if listed else c,
            "kind": names.at[c, "kind"] if listed else "trust without listed sites",
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out["trust_name"] = out["trust_code"].map(trust_names).fillna("")
    out.index.name = "site"
    return out


def site_catchments(place: Place, grouping: Grouping, lsoa_minutes: pd.DataFrame, *, as_of: date | str | None = None,
                    method: str = "logit", minutes_label: str = "travel time") -> SiteCatchments:  # fmt: skip
    """Return each neighbourhood's expected share of admissions per hospital site.

    Parameters
    ----------
    lsoa_minutes
        LSOA × site code: travel time from each LSOA to each listed site the place's
        hospitals layer holds (e.g. from :func:`estates.hospitals.lsoa_site_minutes`).
    as_of
        The organisation structure wanted: each site is reported under the trust that ran
        it on that date (default today).
    method
        ``logit`` (share ∝ exp(−β × minutes), β fitted to the OHID trust shares of the
        place's LSOAs) or ``nearest`` (the whole of a trust's share to its nearest site).
    """
    if place.catchments is None or place.lsoa_msoa is None:
        raise PlacekitError(f"{place.label} has no trust catchment or LSOA→MSOA layer; add them to the manifest.")
    table = hospital_sites()
    then, now = site_owners(_catchment_date(place), table), site_owners(as_of or date.today(), table)
    sites_of = {t: [s for s in then.index[then == t] if s in lsoa_minutes.columns] for t in set(then)}
    sites_of = {t: s for t, s in sites_of.items() if s}
    pop = place.population["population"].reindex(place.lsoas.index).fillna(0)
    weights = lsoa_catchments(place.catchments, place.lsoa_msoa["msoa_code"].reindex(place.lsoas.index), pop)
    trust_share = weights.div(pop.where(pop > 0), axis=0).fillna(0.0)
    beta = None
    if method == "logit":
        listed = [t for t in trust_share.columns if t in sites_of]
        beta = fit_time_decay(trust_share[listed] + 1e-9, _trust_minutes(lsoa_minutes, {t: sites_of[t] for t in listed}), pop)
    lsoa_sites = split_by_site(trust_share, lsoa_minutes, sites_of, method=method, beta=beta or 0.0)
    info = _site_frame(place, list(lsoa_sites.columns), then, now, table)
    nb = lsoa_neighbourhoods(grouping, place.lsoa_ward_code)  # an LSOA's explicit neighbourhood, else its ward's
    w = lsoa_sites.mul(pop, axis=0)
    shares = unit_catchments(w, nb, pop)
    summary = catchment_summary(shares, info["site_name"]).rename(columns=lambda c: c.replace("trust", "site"))
    summary.insert(0, "locality", summary.index.map(grouping.neighbourhood_to_locality))
    long = shares.drop(columns="unattributed").rename_axis("neighbourhood").reset_index()
    long = long.melt(id_vars="neighbourhood", var_name="site", value_name="share")
    long = long[long["share"] > 0].join(info[["site_name", "trust_code", "trust_name"]], on="site")
    long.insert(1, "locality", long["neighbourhood"].map(grouping.neighbourhood_to_locality))
    how = (f"each trust's share (OHID {_catchment_date(place).year}) split among the acute sites it ran then by {minutes_label}: "
           + (f"share ∝ exp(−{beta:.3f} × minutes), the decay fitted to the trust shares of the place's LSOAs" if beta is not None
              else "all of it to the trust's nearest site"))  # fmt: skip
    return SiteCatchments(
        shares=shares,
        summary=summary,
        records=long.sort_values(["neighbourhood", "share"], ascending=[True, False]).reset_index(drop=True),
        locality_shares=unit_catchments(w, nb.map(grouping.neighbourhood_to_locality), pop),
        city_shares=unit_catchments(w, pd.Series(place.name, index=place.lsoas.index), pop),
        lsoa_shares=lsoa_sites,
        sites=info,
        method=how + f"; sites under the trust running them on {pd.Timestamp(as_of or date.today()).date()}",
        beta=beta,
    )


def seeds_view(sc: SiteCatchments, seeds: dict[str, str]) -> pd.DataFrame:
    """Return, per neighbourhood, the share of admissions its locality's named hospital takes, beside the dominant site.

    Parameters
    ----------
    seeds
        Locality → site code (e.g. :data:`SEED_SITES` ``["Manchester"]``).

    Returns
    -------
    pandas.DataFrame
        Index neighbourhood; ``locality``, ``seed_site``, ``seed_name``, ``seed_share``,
        ``dominant_site``, ``dominant_name``, ``dominant_share``, ``seed_is_dominant``.
    """
    s = sc.summary
    seed = s["locality"].map(seeds)
    att = 1 - sc.shares["unattributed"]  # shares of attributed admissions, as in the summary
    share = [float(sc.shares.at[n, c] / att[n]) if isinstance(c, str) and c in sc.shares.columns else np.nan for n, c in seed.items()]
    out = pd.DataFrame({"locality": s["locality"], "seed_site": seed, "seed_name": seed.map(sc.sites["site_name"]), "seed_share": share,
                        "dominant_site": s["dominant_site"], "dominant_name": s["dominant_name"], "dominant_share": s["dominant_share"]})  # fmt: skip
    out["seed_is_dominant"] = out["seed_site"] == out["dominant_site"]
    out.index.name = "neighbourhood"
    return out.sort_values(["locality", "seed_share"], ascending=[True, False])
