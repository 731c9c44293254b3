"""Community assets: food banks, Jobcentres, post offices, places of worship (one layer, one file per type).

Points stay points; building polygons (OS OpenMap Local) are joined into sites, since one
church or post office can be several buildings: polygons within ``merge_within`` metres of
each other become one site, placed at a point inside its largest building. Libraries,
pharmacies, dentists and GP sites come from the estates ``[[sites]]`` of the manifest and
are counted beside these by :mod:`boundaries.assets`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo._validate import require_columns, require_crs
from geo.loaders import GeocodeWarning
from geo.manifest import LayerSpec
from geo.postcodes import POSTCODE_SOURCE, geocode_postcodes
from placekit.errors import DataRootError, PlacekitError
from placekit.settings import WORKING_CRS

__all__ = ["read_assets", "assets_layer", "ASSET_TYPES", "merge_buildings"]

#: Asset types counted in profiles, in display order, with their plural labels.
ASSET_TYPES: dict[str, str] = {
    "library": "Libraries",
    "food_bank": "Food banks",
    "jobcentre": "Jobcentres",
    "post_office": "Post offices",
    "place_of_worship": "Places of worship",
    "pharmacy": "Pharmacies",
    "dentist": "Dentists",
    "gp": "GP sites",
}


def merge_buildings(polygons: gpd.GeoSeries, *, within: float) -> tuple[np.ndarray, gpd.GeoSeries]:
    """Group building polygons lying within `within` metres of each other into sites.

    Returns
    -------
    labels, points
        The site number of each polygon, and one point per site (a point inside its
        largest polygon), in the polygons' CRS.
    """
    geoms = polygons.to_numpy()
    buffered = shapely.buffer(geoms, within / 2) if within > 0 else geoms
    tree = shapely.STRtree(buffered)
    left, right = tree.query(buffered, predicate="intersects")
    n = len(geoms)
    _, labels = connected_components(coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n)), directed=False)
    area = shapely.area(geoms)
    order = np.lexsort((-area, labels))  # per site, the largest building first
    first = order[np.r_[True, labels[order][1:] != labels[order][:-1]]]
    points = gpd.GeoSeries(shapely.point_on_surface(geoms[first]), crs=polygons.crs)
    return labels, points.set_axis(labels[first]).sort_index()


def _frame(path: Path, source: str) -> gpd.GeoDataFrame:
    """Read a vector file, or a CSV with ``lon``/``lat`` or a postcode, as a GeoDataFrame in the working CRS."""
    if path.suffix.lower() in (".geojson", ".json", ".gpkg", ".shp"):
        return require_crs(gpd.read_file(path, engine="pyogrio"), source=source)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    lower = {c.lower(): c for c in df.columns}
    if "lon" in lower and "lat" in lower:
        x, y = (pd.to_numeric(df[lower[k]], errors="coerce") for k in ("lon", "lat"))
        return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(x, y), crs="EPSG:4326").to_crs(WORKING_CRS)
    if "postcode" not in lower:
        raise PlacekitError(f"{source} has neither lon/lat columns nor a postcode column; it has {list(df.columns)[:12]}.")
    geo = geocode_postcodes(df[lower["postcode"]])
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(geo["easting"], geo["northing"]), crs=WORKING_CRS)
    failed = df.index[~geo["geocoded"].to_numpy()]
    if len(failed):
        warnings.warn(f"{source}: {len(failed)} postcode(s) not found in the {POSTCODE_SOURCE}: "
                      f"{list(df.loc[failed, lower['postcode']][:10])}; those assets are left out.", GeocodeWarning, stacklevel=3)  # fmt: skip
    return gdf[geo["geocoded"].to_numpy()]


def read_assets(
    path: str | Path, *, asset_type: str, name_col: str | None = None, merge_within: float = 10.0, vintage: str = ""
) -> gpd.GeoDataFrame:
    """Read one file of community assets of one type.

    Parameters
    ----------
    path
        GeoJSON/GeoPackage/Shapefile of points or building polygons, or a CSV with
        ``lon``/``lat`` (WGS84) or a ``postcode``.
    asset_type
        One of :data:`ASSET_TYPES` (``food_bank``, ``jobcentre``, ...).
    name_col
        Column holding each asset's name; None names them by type.
    merge_within
        Polygons closer than this (metres) are one site.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``asset_id`` (``<type>-<n>``); ``name``, ``asset_type``, ``buildings``
        (polygons joined, 1 for a point); points in EPSG:27700.
    """
    if asset_type not in ASSET_TYPES:
        raise PlacekitError(f'`asset_type` was "{asset_type}" but is expected to be one of {list(ASSET_TYPES)}.')
    path = Path(path)
    if not path.exists():
        raise DataRootError(f"{asset_type} assets file {path} does not exist. Check the data root and the place manifest.")
    source = f"{asset_type} assets {path.name}"
    gdf = _frame(path, source)
    if name_col:
        require_columns(gdf, [name_col], source=source)
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    names = gdf[name_col].astype(str).str.strip() if name_col else pd.Series(ASSET_TYPES[asset_type][:-1], index=gdf.index)
    polygonal = gdf.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if polygonal.any():
        labels, points = merge_buildings(gdf.geometry[polygonal].reset_index(drop=True), within=merge_within)
        poly_names = names[polygonal].reset_index(drop=True).groupby(labels).agg(lambda s: _best_name(s, asset_type))
        parts = pd.Series(labels).value_counts().sort_index()
        poly = gpd.GeoDataFrame({"name": poly_names.to_numpy(), "buildings": parts.to_numpy()}, geometry=points.to_numpy(), crs=gdf.crs)
    else:
        poly = gpd.GeoDataFrame({"name": [], "buildings": []}, geometry=gpd.GeoSeries([], crs=gdf.crs))
    pts = gpd.GeoDataFrame({"name": names[~polygonal].to_numpy(), "buildings": 1}, geometry=gdf.geometry[~polygonal].to_numpy(), crs=gdf.crs)
    out = gpd.GeoDataFrame(pd.concat([pts, poly], ignore_index=True), geometry="geometry", crs=gdf.crs)
    out.insert(1, "asset_type", asset_type)
    out["buildings"] = out["buildings"].astype("int64")
    out.index = pd.Index([f"{asset_type}-{i:04d}" for i in range(len(out))], name="asset_id")
    out.attrs.update({"layer": f"assets:{asset_type}", "source": str(path), "vintage": vintage, "status": "real",
                      "polygons": int(polygonal.sum()), "merge_within_m": merge_within})  # fmt: skip
    return out


def _best_name(names: pd.Series, asset_type: str) -> str:
    known = [n for n in names if n and n.lower() not in ("unknown", "nan", "none")]
    return known[0] if known else ASSET_TYPES[asset_type][:-1]


def assets_layer(spec: LayerSpec, paths: Sequence[Path]) -> gpd.GeoDataFrame:
    """Read a manifest's ``assets`` layer: one file per type, with options ``types``, ``names`` and ``vintages`` (lists, one per file)."""
    o = spec.options
    types = list(o.get("types", []))
    if len(types) != len(paths):
        raise PlacekitError(f"layer {spec.name!r}: `types` must give one asset type per file ({len(paths)} files, {len(types)} types); "
                            f"allowed types {list(ASSET_TYPES)}.")  # fmt: skip
    names = list(o.get("names", [None] * len(paths)))
    vintages = list(o.get("vintages", [spec.vintage] * len(paths)))
    frames = [read_assets(p, asset_type=t, name_col=n or None, merge_within=float(o.get("merge_within", 10.0)), vintage=v)
              for p, t, n, v in zip(paths, types, names, vintages, strict=False)]  # fmt: skip
    out = gpd.GeoDataFrame(pd.concat(frames), geometry="geometry", crs=WORKING_CRS)
    out.attrs.update({"layer": "assets", "vintage": spec.vintage, "status": "real",
                      "vintages": {t: v for t, v in zip(types, vintages, strict=False)}})  # fmt: skip
    return out
