"""Plans drawn elsewhere: neighbourhood polygons or an assignment table turned into a ward grouping.

Two kinds of file come in:

- **polygons** (GeoPackage, GeoJSON, Shapefile or a zipped Shapefile, in any CRS the file
  declares): each ward goes to the polygon holding most of its area (``by="area"``) or of
  its residents (``by="residents"``: each LSOA's mid-2015 residents spread evenly over the
  part of it inside its best-fit ward, so a ward keeps exactly the residents the place
  gives it);
- an **assignment table** (CSV, ``unit_id,district`` as Districtr exports it): unit ids
  are ward codes or LSOA codes (2011, or 2021 when the place has Census 2021); with LSOAs,
  each ward goes to the district holding most of its residents (mid-2015 for 2011 LSOAs,
  Census 2021 for 2021 LSOAs). A grouping is made of wards today, so LSOA plans come back as
  ward plans, with every ward the LSOAs split reported.

Every ward split between neighbourhoods is reported with the shares, and every ward lying
mostly in none of them (the part outside every polygon larger than its largest piece) is either refused (the default: a grouping covers every ward, and guessing
would change the figures without a word) or, with ``outside="nearest"``, given to the
nearest neighbourhood and reported. Pieces under :data:`SLIVER` of a ward are taken as
digitising noise (a boundary traced along a ward's edge, or moved by reprojection), not as
a split.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from boundaries.grouping import MAX_GROUPING_BYTES, Grouping, grouping_from_records
from geo._validate import read_guarded, require_file, require_plain_text
from geo.model import Place
from placekit.errors import CRSError, InvalidGroupingError, PlacekitError, ScenarioFileError, UnreadableFileError
from placekit.safe_text import first_control_character, restore_cell
from placekit.settings import WORKING_CRS

__all__ = [
    "SLIVER",
    "BY",
    "OUTSIDE",
    "UNASSIGNED_LOCALITY",
    "PlanImport",
    "read_plan_polygons",
    "grouping_from_polygons",
    "read_assignment_table",
    "grouping_from_assignments",
    "import_plan",
    "TABLE_SUFFIXES",
    "POLYGON_SUFFIXES",
]

#: Share of a ward (by area or residents) below which a piece is digitising noise, not a split.
SLIVER = 0.005
#: How a ward is assigned: to the polygon holding most of its area, or of its residents.
BY = ("area", "residents")
#: What happens to a ward in no neighbourhood: refused (default), or given to the nearest one.
OUTSIDE = ("refuse", "nearest")
#: Locality of every neighbourhood when the file names none.
UNASSIGNED_LOCALITY = "Unassigned"
TABLE_SUFFIXES = (".csv", ".txt")
POLYGON_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".zip")
_NAME_FIELDS = ("name", "neighbourhood", "neighborhood", "nbhd", "district")
_UNIT_COLUMNS = ("unit_id", "id", "geoid", "code", "ward_code", "lsoa_code")
_DISTRICT_COLUMNS = ("district", "assignment", "neighbourhood", "neighborhood")


@dataclass(frozen=True)
class PlanImport:
    """A grouping made from a plan drawn elsewhere, and what was decided on the way.

    Attributes
    ----------
    grouping
        The ward grouping (every ward of the place in one neighbourhood).
    wards
        One row per ward: ``ward_code``, ``ward_name``, ``neighbourhood`` (assigned),
        ``share`` (of the ward, by the measure, in that neighbourhood), ``others`` (the other
        neighbourhoods holding at least :data:`SLIVER` of it, with their shares),
        ``outside_share`` (in no neighbourhood) and ``status``: ``whole``, ``split``,
        ``partly outside``, ``outside: nearest``.
    notes
        Sentences for people: the measure and its base, splits, wards outside, neighbourhoods
        dropped, localities defaulted, practice assignments restored.
    """

    grouping: Grouping
    wards: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def problems(self) -> pd.DataFrame:
        """Return the wards that were split or lay (partly) outside every neighbourhood."""
        return self.wards[self.wards["status"] != "whole"]


# --------------------------------------------------------------------------- reading polygons
def _vector_path(path: Path) -> str:
    """Return what pyogrio opens for `path`: a zipped Shapefile is read inside its archive, in whatever folder it sits."""
    if path.suffix.lower() != ".zip":
        return str(path)
    try:
        with zipfile.ZipFile(path) as z:
            shps = [n for n in z.namelist() if n.lower().endswith(".shp") and not n.startswith("__MACOSX/")]
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnreadableFileError(f"plan file {path.name} is not a readable .zip archive ({exc}); zip the Shapefile's parts again.") from exc
    if len(shps) != 1:
        raise PlacekitError(f"plan file {path.name} holds {len(shps)} Shapefiles {shps[:5]}: zip one Shapefile (its .shp, .shx, .dbf and "
                            ".prj) per file.")  # fmt: skip
    return f"/vsizip/{path}/{shps[0]}"


def _pick_layer(path: Path, layer: str | None) -> str | None:
    what = f"plan file {path.name}"
    layers = read_guarded(lambda: pyogrio.list_layers(_vector_path(path)), path, "plan", "a vector file (GeoPackage, GeoJSON, Shapefile)")
    # Mixed Polygon and MultiPolygon features make a layer of "Unknown" type; its features are checked once read.
    polygonal = [str(n) for n, g in layers if "polygon" in str(g).lower() or str(g).lower() in ("unknown", "none", "geometry")]
    names = [str(n) for n, _ in layers]
    if layer is not None:
        if layer not in names:
            raise PlacekitError(f"{what} has no layer {layer!r}; its layers are {names}. Pass one of them with --layer.")
        return layer
    if len(polygonal) == 1:
        return polygonal[0]
    if "neighbourhoods" in polygonal:
        return "neighbourhoods"  # a placekit export
    if not polygonal:
        raise PlacekitError(f"{what} has no polygon layer (its layers: {names}); neighbourhoods must be drawn as polygons.")
    raise PlacekitError(f"{what} has {len(polygonal)} polygon layers {polygonal}: choose the neighbourhoods with --layer NAME.")


def read_plan_polygons(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read neighbourhood polygons from a GeoPackage, GeoJSON or (zipped) Shapefile, in the working CRS.

    Raises
    ------
    CRSError
        When the file declares no CRS (a Shapefile without its ``.prj``, a GeoJSON written without one is EPSG:4326 by RFC 7946).
    PlacekitError
        When the file cannot be read, has no polygon layer, several and no `layer`, or no features.
    """
    path = require_file(path, "plan")
    if path.suffix.lower() not in POLYGON_SUFFIXES:
        raise PlacekitError(f"plan file {path.name}: use a GeoPackage, GeoJSON or Shapefile of polygons, or a CSV assignment table.")
    require_plain_text(path, "plan")  # a GeoJSON repeating a property, or holding control characters, is refused here
    chosen = _pick_layer(path, layer)
    what = f"plan file {path.name}" + (f", layer {chosen!r}" if chosen else "")
    gdf = read_guarded(lambda: gpd.read_file(_vector_path(path), layer=chosen, engine="pyogrio"), path, "plan", "a vector file")
    if gdf.crs is None:
        raise CRSError(
            f"{what} declares no CRS, so its coordinates cannot be placed. Save it with one (in QGIS: Layer ▸ Set CRS, then Export; "
            "a Shapefile needs its .prj beside it, or inside the .zip); British files are EPSG:27700 or EPSG:4326."
        )
    if gdf.empty:
        raise PlacekitError(f"{what} has no features: draw the neighbourhoods as polygons first.")
    kinds = set(gdf.geometry.dropna().geom_type)
    if not kinds or not kinds <= {"Polygon", "MultiPolygon"}:
        raise PlacekitError(f"{what} holds {sorted(kinds) or 'no geometry'}, not polygons: neighbourhoods must be drawn as polygons.")
    gdf = gdf.to_crs(WORKING_CRS)
    gdf = gdf.set_geometry(shapely.make_valid(gdf.geometry.to_numpy()))
    gdf.attrs["source"] = what
    return gdf


def _field(gdf: pd.DataFrame, wanted: str | None, defaults: Iterable[str], *, what: str, option: str) -> str | None:
    """Return the column of `gdf` named `wanted` (or the first default present, ignoring case); None when optional and absent."""
    cols = {str(c).lower(): c for c in gdf.columns if c != getattr(gdf, "_geometry_column_name", None)}
    if wanted is not None:
        if wanted in gdf.columns:
            return wanted
        if wanted.lower() in cols:
            return cols[wanted.lower()]
        raise PlacekitError(f"{what} has no field {wanted!r}; its fields are {list(cols.values())}. Pass one of them with {option}.")
    return next((cols[d] for d in defaults if d in cols), None)


def _names(values: pd.Series, *, what: str, field_name: str) -> pd.Series:
    text = values.astype(object).where(values.notna(), "").map(lambda v: restore_cell(str(v).strip()))
    blank = np.flatnonzero((text == "").to_numpy())
    if len(blank):
        raise PlacekitError(f"{what}: field {field_name!r} is blank in feature(s) {[int(i) + 1 for i in blank[:10]]}; name every one.")
    for v in text:
        bad = first_control_character(v)
        if bad:
            raise PlacekitError(f"{what}: the name {v!r} in field {field_name!r} holds the control character {bad[1]}; remove it.")
    return text


# --------------------------------------------------------------------------- shares
def _area_shares(wards: gpd.GeoDataFrame, polygons: gpd.GeoSeries, names: pd.Series) -> pd.DataFrame:
    """Return (ward, neighbourhood) → share of the ward's area."""
    w, p = polygons.sindex.query(wards.geometry.to_numpy(), predicate="intersects")
    inter = shapely.area(shapely.intersection(wards.geometry.to_numpy()[w], polygons.to_numpy()[p]))
    area = shapely.area(wards.geometry.to_numpy())[w]
    df = pd.DataFrame({"ward_code": wards.index[w], "neighbourhood": names.to_numpy()[p], "share": inter / area})
    return df.groupby(["ward_code", "neighbourhood"], sort=False, as_index=False)["share"].sum()


def _resident_shares(place: Place, polygons: gpd.GeoSeries, names: pd.Series) -> pd.DataFrame:
    """Return (ward, neighbourhood) → share of the ward's mid-2015 residents (each LSOA spread over its part inside its ward)."""
    t = place.lsoa_table[["ward_code", "population"]].dropna(subset=["ward_code"])
    lsoa_geom = place.lsoas.geometry.reindex(t.index).to_numpy()
    ward_geom = place.wards.geometry.reindex(t["ward_code"]).to_numpy()
    piece = shapely.intersection(lsoa_geom, ward_geom)
    empty = shapely.area(piece) <= 0
    piece[empty] = lsoa_geom[empty]  # an LSOA best-fit to a ward it does not touch: its own shape
    i, p = polygons.sindex.query(piece, predicate="intersects")
    frac = shapely.area(shapely.intersection(piece[i], polygons.to_numpy()[p])) / shapely.area(piece[i])
    people = t["population"].to_numpy(dtype=float)
    df = pd.DataFrame({"ward_code": t["ward_code"].to_numpy()[i], "neighbourhood": names.to_numpy()[p], "people": people[i] * frac})
    df = df.groupby(["ward_code", "neighbourhood"], sort=False, as_index=False)["people"].sum()
    total = t.groupby("ward_code")["population"].sum()
    df["share"] = df["people"] / df["ward_code"].map(total).replace(0, np.nan)
    if df["share"].isna().any():  # a ward with no residents is placed by area
        no_people = df.loc[df["share"].isna(), "ward_code"].unique()
        by_area = _area_shares(place.wards.loc[no_people], polygons, names)
        df = pd.concat([df.dropna(subset=["share"]), by_area], ignore_index=True)
    return df[["ward_code", "neighbourhood", "share"]]


# --------------------------------------------------------------------------- shares → grouping
def _decide(shares: pd.DataFrame, place: Place, outside: str, *, what: str, nearest) -> pd.DataFrame:
    """Return one row per ward of the place: its neighbourhood, share, the others holding a piece, outside share, status."""
    if outside not in OUTSIDE:
        raise PlacekitError(f'`outside` was "{outside}" but is expected to be one of {list(OUTSIDE)}.')
    s = shares[shares["share"] >= SLIVER].sort_values(["ward_code", "share"], ascending=[True, False], kind="stable")
    top = s.drop_duplicates("ward_code").set_index("ward_code")
    rest = s[s.duplicated("ward_code")]
    others: dict[str, list[str]] = {}
    for w, n, v in zip(rest["ward_code"], rest["neighbourhood"], rest["share"], strict=True):
        others.setdefault(w, []).append(f"{n} {100 * v:.1f}%")
    covered = shares.groupby("ward_code")["share"].sum().clip(upper=1)
    codes = place.wards.index
    out = pd.DataFrame({"ward_code": codes, "ward_name": place.wards["name"].astype(str).to_numpy()})
    out["neighbourhood"] = top["neighbourhood"].reindex(codes).to_numpy()
    out["share"] = top["share"].reindex(codes).to_numpy()
    out["others"] = ["; ".join(others.get(c, [])) for c in codes]
    out["outside_share"] = (1 - covered.reindex(codes).fillna(0)).clip(lower=0).round(6).to_numpy()
    out["status"] = np.where(out["others"] != "", "split", np.where(out["outside_share"] >= SLIVER, "partly outside", "whole"))
    lost = (out["neighbourhood"].isna() | (out["outside_share"] > out["share"].fillna(0))).to_numpy()  # most of it in no polygon
    if lost.any():
        listed = ", ".join(f"{c} {n}" for c, n in zip(out.loc[lost, "ward_code"], out.loc[lost, "ward_name"], strict=True))
        if outside == "refuse":
            raise InvalidGroupingError(
                [f"{int(lost.sum())} ward(s) lie in no neighbourhood of the plan: {listed}. Extend the neighbourhoods to cover them, or "
                 "pass --outside nearest to give each to the nearest neighbourhood (reported)"], source=what)  # fmt: skip
        out.loc[lost, "neighbourhood"] = nearest(out.loc[lost, "ward_code"])
        out.loc[lost, ["share", "status"]] = [0.0, "outside: nearest"]
    return out


def _build(decided: pd.DataFrame, localities: dict[str, str], *, name: str, what: str, place: Place, practice_rule: str = "premises",
           practices: Iterable[tuple[str, str]] = ()) -> Grouping:  # fmt: skip
    records = [(w, n, localities.get(n, UNASSIGNED_LOCALITY)) for w, n in zip(decided["ward_code"], decided["neighbourhood"], strict=True)]
    return grouping_from_records(records, wards=place.wards.index, name=name, ward_set=place.ward_set, source=what,
                                 practice_rule=practice_rule, practices=practices,
                                 meta={"imported_from": what.removeprefix("plan file ")})  # fmt: skip


def _notes(decided: pd.DataFrame, measure: str, dropped: list[str], defaulted: bool, what: str) -> list[str]:
    out = [f"{what}: each ward went to the neighbourhood holding most of its {measure}; pieces under {SLIVER:.1%} of a ward are "
           "taken as digitising noise."]  # fmt: skip
    for status, words in (("split", "split between neighbourhoods"), ("partly outside", "partly outside every neighbourhood"),
                          ("outside: nearest", "outside every neighbourhood, given to the nearest")):  # fmt: skip
        rows = decided[decided["status"] == status]
        if len(rows):
            out.append(f"{len(rows)} ward(s) {words}: " + "; ".join(
                f"{r.ward_name} ({r.ward_code}) → {r.neighbourhood} {100 * r.share:.1f}%" + (f", {r.others}" if r.others else "")
                + (f", outside {100 * r.outside_share:.1f}%" if r.outside_share >= SLIVER else "") for r in rows.itertuples()))  # fmt: skip
    if dropped:
        out.append(f"{len(dropped)} neighbourhood(s) of the file hold most of no ward and are left out: {', '.join(dropped)}.")
    if defaulted:
        out.append(f"the file names no locality: every neighbourhood is in locality {UNASSIGNED_LOCALITY!r}; set them on Redraw's table "
                   "or pass the locality field.")  # fmt: skip
    return out


def _localities(frame: pd.DataFrame, names: pd.Series, locality_field: str | None, what: str) -> tuple[dict[str, str], bool]:
    """Return neighbourhood → locality (a neighbourhood given two is refused when the grouping is built), and whether defaulted."""
    if locality_field is None:
        return {}, True
    locs = _names(frame[locality_field], what=what, field_name=locality_field)
    pairs = pd.DataFrame({"n": names.to_numpy(), "l": locs.to_numpy()}).drop_duplicates()
    two = pairs[pairs.duplicated("n", keep=False)]
    if len(two):
        raise InvalidGroupingError([f"neighbourhood {n!r} is in {len(d)} localities {sorted(d['l'])} in the file; give it one"
                                    for n, d in two.groupby("n")], source=what)  # fmt: skip
    return dict(zip(pairs["n"], pairs["l"], strict=True)), False


def grouping_from_polygons(
    polygons: gpd.GeoDataFrame,
    place: Place,
    *,
    name_field: str | None = None,
    locality_field: str | None = None,
    by: str = "area",
    outside: str = "refuse",
    name: str = "",
) -> PlanImport:
    """Assign each ward of `place` to the polygon holding most of its area (or residents); see the module docstring.

    Parameters
    ----------
    polygons
        Neighbourhood polygons in the working CRS (:func:`read_plan_polygons`); features with one name are one neighbourhood.
    name_field, locality_field
        The fields naming each polygon's neighbourhood and locality (default: ``name``,
        ``neighbourhood``, ``nbhd`` or ``district``; ``locality``).
    by
        ``"area"`` or ``"residents"`` (mid-2015 residents of the place's LSOAs).
    outside
        ``"refuse"`` (default) or ``"nearest"``: what happens to a ward in no polygon.

    Raises
    ------
    InvalidGroupingError
        When a ward lies in no polygon and `outside` is ``"refuse"``, or the localities disagree.
    """
    what = polygons.attrs.get("source", "plan")
    if by not in BY:
        raise PlacekitError(f'`by` was "{by}" but is expected to be one of {list(BY)}.')
    nf = _field(polygons, name_field, _NAME_FIELDS, what=what, option="--name-field")
    if nf is None:
        raise PlacekitError(f"{what}: no field names the neighbourhoods (looked for {list(_NAME_FIELDS)}); pass --name-field FIELD.")
    lf = _field(polygons, locality_field, ("locality",), what=what, option="--locality-field")
    names = _names(polygons[nf], what=what, field_name=nf)
    localities, defaulted = _localities(polygons, names, lf, what)
    geoms = polygons.geometry.reset_index(drop=True)
    shares = _area_shares(place.wards, geoms, names) if by == "area" else _resident_shares(place, geoms, names)

    def nearest(codes: pd.Series) -> list[str]:
        return [names.iloc[int(np.argmin(shapely.distance(geoms.to_numpy(), place.wards.geometry[c])))] for c in codes]

    decided = _decide(shares, place, outside, what=what, nearest=nearest)
    used = set(decided["neighbourhood"])
    dropped = [n for n in dict.fromkeys(names) if n not in used]
    measure = "area" if by == "area" else f"residents ({place.vintages.get('population', 'mid-2015')}, LSOAs spread over their wards)"
    g = _build(decided, localities, name=name, what=what, place=place)
    return PlanImport(g, decided, _notes(decided, measure, dropped, defaulted, what))


# --------------------------------------------------------------------------- assignment tables
def read_assignment_table(path: str | Path, *, locality_field: str | None = None) -> pd.DataFrame:
    """Read a ``unit_id,district`` table (Districtr's export; a ``locality`` column optional) into ``unit_id``, ``district``, ``locality``.

    Raises
    ------
    ScenarioFileError
        When the file is too large, not UTF-8, holds control characters, or lacks the columns.
    """
    path = require_file(path, "plan")
    if path.stat().st_size > MAX_GROUPING_BYTES * 10:
        raise ScenarioFileError(f"plan file {path.name} is larger than {MAX_GROUPING_BYTES * 10 // 1_000_000} MB; an assignment table is smaller.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioFileError(f"plan file {path.name} is not UTF-8 text; save it as UTF-8 CSV.") from exc
    bad = first_control_character(text)
    if bad:
        raise ScenarioFileError(f"plan file {path.name}, line {bad[0]}: holds the control character {bad[1]}; remove it or export the table again.")
    what = f"plan file {path.name}"
    df = read_guarded(lambda: pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False), path, "plan", "CSV")
    df.columns = [str(c).strip() for c in df.columns]
    unit = _field(df, None, _UNIT_COLUMNS, what=what, option="")
    district = _field(df, None, _DISTRICT_COLUMNS, what=what, option="")
    if unit is None or district is None:
        raise ScenarioFileError(f"{what} needs a unit column ({', '.join(_UNIT_COLUMNS)}) and a district column "
                                f"({', '.join(_DISTRICT_COLUMNS)}), as Districtr exports; it has {list(df.columns)}.")  # fmt: skip
    loc = _field(df, locality_field, ("locality",), what=what, option="--locality-field")
    out = pd.DataFrame({"unit_id": df[unit].map(lambda v: restore_cell(v.strip())), "district": df[district].map(lambda v: restore_cell(v.strip())),
                        "locality": df[loc].map(lambda v: restore_cell(v.strip())) if loc else ""})  # fmt: skip
    out.attrs.update({"source": what, "with_locality": loc is not None})
    return out


def _unit_kind(units: pd.Series, place: Place, what: str) -> str:
    """Return ``ward``, ``lsoa`` or ``lsoa21`` from the codes; refuse unknown and mixed codes."""
    sets = {"ward": set(place.wards.index), "lsoa": set(place.lsoas.index)}
    if place.census is not None:
        sets["lsoa21"] = set(place.census.index)
    codes = set(units)
    fits = [k for k, s in sets.items() if codes <= s]
    if fits:
        return fits[0]
    best = max(sets, key=lambda k: len(codes & sets[k]))
    unknown = sorted(codes - sets[best])
    raise ScenarioFileError(f"{what}: {len(unknown)} unit id(s) are not {best.replace('lsoa21', 'LSOA 2021').replace('lsoa', 'LSOA 2011')} "
                            f"codes of {place.label}: {unknown[:10]}. Unit ids must all be ward codes or all LSOA codes of the place.")  # fmt: skip


def _table_shares(table: pd.DataFrame, place: Place, kind: str) -> tuple[pd.DataFrame, str]:
    """Return (ward, district) → share of the ward (whole wards, or residents of its LSOAs), and the measure in words."""
    if kind == "ward":
        return pd.DataFrame({"ward_code": table["unit_id"], "neighbourhood": table["district"], "share": 1.0}), "area (whole wards)"
    if kind == "lsoa":
        ward, people = place.lsoa_ward_code, place.population["population"]
        base = f"residents ({place.vintages.get('population', 'mid-2015')}, 2011 LSOAs)"
    else:
        ward, people = place.lsoa21_ward, place.census["population"]
        base = f"residents ({place.vintages.get('census', 'Census 2021')}, 2021 LSOAs)"
    t = table.assign(ward_code=table["unit_id"].map(ward), people=table["unit_id"].map(people).astype(float))
    got = t.groupby(["ward_code", "district"], sort=False, as_index=False)["people"].sum()
    total = people.groupby(ward).sum()
    got["share"] = got["people"] / got["ward_code"].map(total).replace(0, np.nan)
    return got.rename(columns={"district": "neighbourhood"})[["ward_code", "neighbourhood", "share"]].fillna({"share": 0.0}), base


def grouping_from_assignments(table: pd.DataFrame, place: Place, *, outside: str = "refuse", name: str = "") -> PlanImport:
    """Turn a ``unit_id,district`` table (:func:`read_assignment_table`) into a ward grouping; see the module docstring.

    Rows with a blank district are unassigned units. Ward codes are taken whole; with LSOA
    codes each ward goes to the district holding most of its residents.
    """
    what = table.attrs.get("source", "plan table")
    listed = table[table["district"] != ""]
    if listed.empty:
        raise ScenarioFileError(f"{what} assigns no unit to a district.")
    twice = listed["unit_id"][listed["unit_id"].duplicated()].unique()
    if len(twice):
        raise InvalidGroupingError([f"unit(s) listed more than once: {sorted(twice)[:10]}; keep one row each"], source=what)
    kind = _unit_kind(listed["unit_id"], place, what)
    shares, measure = _table_shares(listed, place, kind)
    localities, defaulted = ({}, True)
    if table.attrs.get("with_locality"):
        localities, defaulted = _localities(listed.rename(columns={"locality": "_loc"}), listed["district"], "_loc", what)
    adjacency_centroids = place.wards.geometry.representative_point()

    def nearest(codes: pd.Series) -> list[str]:
        placed = shares.sort_values("share", ascending=False).drop_duplicates("ward_code").set_index("ward_code")["neighbourhood"]
        pts = adjacency_centroids.reindex(placed.index)
        return [placed.iloc[int(np.argmin(pts.distance(place.wards.geometry[c]).to_numpy()))] for c in codes]

    decided = _decide(shares, place, outside, what=what, nearest=nearest)
    dropped = [n for n in dict.fromkeys(listed["district"]) if n not in set(decided["neighbourhood"])]
    notes = _notes(decided, measure, dropped, defaulted, what)
    if kind != "ward":
        notes.append("placekit groupings are made of wards for now, so this LSOA plan comes back as a ward plan (the LSOAs each ward "
                     "split are listed above).")  # fmt: skip
    return PlanImport(_build(decided, localities, name=name, what=what, place=place), decided, notes)


def _placekit_practices(path: Path, grouping: Grouping) -> tuple[Grouping, list[str]]:
    """Restore the practice rule and explicit practice assignments of a placekit GeoPackage export (layers ``about``, ``practices``)."""
    layers = {str(n) for n, _ in pyogrio.list_layers(path)}
    if not {"about", "practices"} <= layers:
        return grouping, []
    about = pyogrio.read_dataframe(path, layer="about", read_geometry=False)
    if not {"key", "value"} <= set(about.columns):
        return grouping, []
    rule = dict(zip(about["key"], about["value"], strict=False)).get("practice_rule", "premises")
    prac = pyogrio.read_dataframe(path, layer="practices", read_geometry=False, columns=["code", "team", "decided"])
    explicit = prac[prac["decided"] == "explicit"]
    kept = {str(c): str(t) for c, t in zip(explicit["code"], explicit["team"], strict=True) if t in grouping.neighbourhood_to_locality}
    released = sorted(set(explicit["code"].astype(str)) - set(kept))
    try:
        out = dataclasses.replace(grouping, practice_rule=str(rule), practice_to_neighbourhood=kept)
    except InvalidGroupingError as exc:
        return grouping, [f"the file's practice assignments were not restored ({exc})"]
    notes = [f"placekit export: practice rule {rule!r} and {len(kept)} explicit practice assignment(s) restored from its practices layer"
             ] if kept or rule != "premises" else []
    if released:
        notes.append(f"{len(released)} practice(s) assigned to neighbourhoods no longer in the plan now follow the rule: {', '.join(released)}")
    return out, notes


def import_plan(
    path: str | Path,
    place: Place,
    *,
    layer: str | None = None,
    name_field: str | None = None,
    locality_field: str | None = None,
    by: str = "area",
    outside: str = "refuse",
    name: str | None = None,
) -> PlanImport:
    """Read a plan drawn elsewhere (polygons or an assignment table, by suffix) and return its ward grouping with the report."""
    path = Path(path)
    label = name if name is not None else path.stem
    if path.suffix.lower() in TABLE_SUFFIXES:
        if by != "area" or layer or name_field:
            raise PlacekitError("--by, --layer and --name-field apply to polygons; an assignment table names each unit's district itself.")
        return grouping_from_assignments(read_assignment_table(path, locality_field=locality_field), place, outside=outside, name=label)
    polygons = read_plan_polygons(path, layer=layer)
    out = grouping_from_polygons(polygons, place, name_field=name_field, locality_field=locality_field, by=by, outside=outside, name=label)
    if path.suffix.lower() != ".gpkg":
        return out
    g, notes = _placekit_practices(path, out.grouping)
    return PlanImport(g, out.wards, out.notes + notes)
