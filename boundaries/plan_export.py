"""A plan as GIS layers: neighbourhood and locality polygons with their figures, wards, practices and hubs.

:func:`plan_layers` builds, for one place and grouping, the layers a GIS user opens:

- ``neighbourhoods``: polygons dissolved from the wards, with every figure of
  :func:`boundaries.flows.neighbourhood_flows`, :func:`boundaries.profiles.profile` (on
  mid-2015 residents and, when the place has the census layer, Census 2021 residents) and
  :func:`boundaries.health.health_table` (registered and modelled resident views, per QOF
  condition, when the place has QOF);
- ``localities``: the same profile and health figures per locality, and the localities'
  boundary table (:func:`boundaries.flows.boundary_table`);
- ``wards``: each ward with its neighbourhood, locality and residents;
- ``practices``: points at each practice's premises with its team, how it was decided, its
  registered list and how much of it lives in the team's wards;
- ``hubs``: the scenario's chosen hub sites, when it has any.

Column names are short (at most 10 characters, as shapefile-era tools require) and stable:
:data:`FIELDS` lists every one with its meaning and base, and the README prints the same
table (a test keeps them equal). The ``fields`` table of a GeoPackage states each name with
its meaning and base in words (e.g. "Census 2021 usual residents (21 March 2021)"), the
``reference`` table holds the city's and England's QOF prevalence per condition, and
``about`` says which place, grouping, vintages and placekit made the file.

:func:`write_plan` writes them: a GeoPackage (every layer, EPSG:27700), GeoJSON (one layer,
EPSG:4326 as RFC 7946 requires) or CSV (one layer's attributes, no geometry).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from boundaries.flowbase import flow_base_from_place
from boundaries.flows import compute_flows, straddling_practices
from boundaries.grouping import Grouping
from boundaries.health import health_table
from boundaries.lsoa_plans import lsoa_neighbourhoods, neighbourhood_areas
from boundaries.membership import practice_membership
from boundaries.profiles import population_label, profile
from geo.model import Place
from placekit import __version__
from placekit.errors import PlacekitError
from placekit.files import replace_atomically
from placekit.safe_text import neutralise_frame
from placekit.settings import DISPLAY_CRS, WORKING_CRS

__all__ = [
    "FIELDS",
    "HEALTH_FIELDS",
    "LAYERS",
    "FORMATS",
    "PlanLayers",
    "plan_layers",
    "write_plan",
    "health_field",
    "field_table",
]

#: Layers of a plan, in the order a GeoPackage lists them.
LAYERS = ("neighbourhoods", "localities", "wards", "practices", "hubs")
#: Export formats and the file suffixes each accepts.
FORMATS = {"gpkg": (".gpkg",), "geojson": (".geojson", ".json"), "csv": (".csv",)}

# Bases a field can have; each is stated in words, with its year, in the `fields` table. `_OWN` is the place's own residents
# (mid-2015 for a manifest place, Census 2021 for one built from the national files); mid-2015 fields exist only on a place that has them.
_MID2015, _CENSUS, _OWN, _REG, _QOF, _IMD, _NONE = "mid2015", "census2021", "own", "registrations", "qof", "imd", ""

#: Every fixed field of each layer: short name → (source column, meaning, base key). Stable: a test
#: and the README's table hold the same list, so a renamed field cannot pass unnoticed.
FIELDS: dict[str, dict[str, tuple[str, str, str]]] = {
    "neighbourhoods": {
        "name": ("name", "neighbourhood name", _NONE),
        "locality": ("locality", "locality of the neighbourhood", _NONE),
        "wards": ("wards", "ward codes, separated by ;", _NONE),
        "res_cont": ("resident_containment", "resident containment: share (0-1) of its residents registered with any practice "
                     "who are registered with its team's practices", _REG),
        "list_cont": ("list_containment", "list containment: share (0-1) of its team's patients who live in its wards", _REG),
        "contained": ("contained", "its residents registered with its team's practices", _REG),
        "res_reg": ("residents_registered", "its residents registered with any practice", _REG),
        "reg_list": ("registered_list", "patients registered with its team's practices, wherever they live", _REG),
        "pop_band": ("population_in_band", "1 when its residents are within the 30,000-50,000 band", _OWN),
        "list_band": ("list_in_band", "1 when its team's registered list is within the 30,000-50,000 band", _REG),
        "res_outcty": ("residents_outside_city", "its residents registered with practices outside the city", _REG),
        "lst_outcty": ("list_outside_city", "its team's patients living outside the city", _REG),
        "lst_unknwn": ("list_residence_unknown", "its team's patients whose residence is unknown", _REG),
        "n_prac": ("n_practices", "practices of its team", _NONE),
        "practices": ("practices", "practice codes of its team, separated by ;", _NONE),
    },
    "localities": {
        "name": ("name", "locality name", _NONE),
        "wards": ("wards", "ward codes, separated by ;", _NONE),
        "gp_reg": ("gp_registered", "patients registered with the locality's practices", _REG),
        "gp_rcity": ("gp_registered_resident_in_city", "of those, living in the city", _REG),
        "gp_rcityp": ("gp_registered_resident_in_city_pct", "of those, % living in the city", _REG),
        "gp_roth": ("gp_registered_resident_other_la", "of those, living in another local authority", _REG),
        "gp_rothp": ("gp_registered_resident_other_la_pct", "of those, % living in another local authority", _REG),
        "gp_runkn": ("gp_registered_residence_unknown", "of those, residence unknown", _REG),
        "gp_runit": ("gp_registered_resident_in_unit", "of those, living in the locality", _REG),
        "gp_runitp": ("gp_registered_resident_in_unit_pct", "of those, % living in the locality", _REG),
        "res_reg": ("residents_registered", "the locality's residents registered with any practice", _REG),
        "res_rcity": ("residents_registered_in_city", "of those, registered with a practice of the city", _REG),
        "res_rcityp": ("residents_registered_in_city_pct", "of those, % registered with a practice of the city", _REG),
        "res_rout": ("residents_registered_outside_city", "of those, registered outside the city", _REG),
        "res_routp": ("residents_registered_outside_city_pct", "of those, % registered outside the city", _REG),
        "res_runit": ("residents_registered_in_unit", "of those, registered with a practice of the locality", _REG),
        "res_runitp": ("residents_registered_in_unit_pct", "of those, % registered with a practice of the locality", _REG),
    },
    # Profile figures, on both polygon layers (mid-2015 residents when the place has them; Census 2021 when it has those).
    "profile": {
        "lsoas": ("lsoas", "LSOAs (best-fit to its wards)", _NONE),
        "pop15": ("population", "residents", _MID2015),
        "age0_15": ("age_0_15", "residents aged 0-15", _MID2015),
        "age16_59": ("age_16_59", "residents aged 16-59", _MID2015),
        "age60p": ("age_60_plus", "residents aged 60 and over", _MID2015),
        "sh60p": ("share_60_plus", "share (0-1) of residents aged 60 and over", _MID2015),
        "area_km2": ("area_km2", "area of its LSOAs, km2", _NONE),
        "dens15": ("density_per_km2", "residents per km2", _MID2015),
        "imd_dec": ("imd_mean_decile", "mean IMD decile of its LSOAs weighted by residents (1 = most deprived)", _IMD),
        "imd_d1sh": ("share_most_deprived_decile", "share (0-1) of residents in England's most deprived 10% of LSOAs", _IMD),
        "prem_prac": ("practices", "practices whose premises stand in its wards", _NONE),
        "prem_list": ("registered_list", "patients registered with the practices whose premises stand in its wards", _REG),
        "pop21": ("census:population", "residents", _CENSUS),
        "c21_0_15": ("census:age_0_15", "residents aged 0-15", _CENSUS),
        "c21_16_24": ("census:age_16_24", "residents aged 16-24", _CENSUS),
        "c21_25_34": ("census:age_25_34", "residents aged 25-34", _CENSUS),
        "c21_35_49": ("census:age_35_49", "residents aged 35-49", _CENSUS),
        "c21_50_64": ("census:age_50_64", "residents aged 50-64", _CENSUS),
        "c21_65p": ("census:age_65_plus", "residents aged 65 and over", _CENSUS),
        "c21_16_64": ("census:age_16_64", "residents aged 16-64", _CENSUS),
        "c21_sh65p": ("census:share_65_plus", "share (0-1) of residents aged 65 and over", _CENSUS),
        "dens21": ("census:density_per_km2", "residents per km2", _CENSUS),
    },
    "wards": {
        "code": ("ward_code", "ward code", _NONE),
        "name": ("ward_name", "ward name", _NONE),
        "nbhd": ("neighbourhood", "neighbourhood of the ward", _NONE),
        "locality": ("locality", "locality of the ward", _NONE),
        "pop15": ("pop15", "residents (its best-fit LSOAs)", _MID2015),
        "pop21": ("pop21", "residents", _CENSUS),
    },
    "practices": {
        "code": ("practice_code", "ODS practice code", _NONE),
        "name": ("practice_name", "practice name", _NONE),
        "pcn": ("pcn_code", "primary care network code", _NONE),
        "team": ("neighbourhood", "neighbourhood team of the practice", _NONE),
        "decided": ("decided_by", "how its team was decided: explicit, or the grouping's rule (premises, pcn, patients)", _NONE),
        "prem_ward": ("premises_ward", "ward code of its premises", _NONE),
        "prem_nbhd": ("premises_neighbourhood", "neighbourhood of its premises", _NONE),
        "reg_list": ("list", "registered patients", _REG),
        "in_team": ("in_own", "of its patients, those living in its team's wards", _REG),
        "own_share": ("own_share", "list containment of the practice: share (0-1) of its patients living in its team's wards", _REG),
        "second": ("second_neighbourhood", "the neighbourhood where most of its other patients live", _REG),
        "sec_share": ("second_share", "share (0-1) of its patients living there", _REG),
        "out_city": ("outside_city", "of its patients, those living outside the city", _REG),
        "unknown": ("unknown", "of its patients, those whose residence is unknown", _REG),
    },
    "hubs": {
        "site_id": ("site_id", "site id (the estates layer's, as the scenario names it)", _NONE),
        "name": ("name", "site name", _NONE),
        "type": ("site_type", "site type", _NONE),
        "ward": ("ward_code", "ward code of the site", _NONE),
        "nbhd": ("neighbourhood", "neighbourhood of the site", _NONE),
    },
}

#: Health figures per QOF condition: suffix → (column of :func:`boundaries.health.health_table`, meaning).
#: The field is ``<condition code, at most 4 characters>_<suffix>``, e.g. ``DM_prev``, ``COPD_rrcty``.
HEALTH_FIELDS: dict[str, tuple[str, str]] = {
    "reg": ("register", "QOF register of its team's practices"),
    "list": ("list_size", "list of its team's practices, of the ages QOF uses for the condition"),
    "prev": ("prevalence", "registered view: prevalence, % of that list"),
    "rcty": ("ratio_city", "registered view: prevalence ÷ the city's"),
    "reng": ("ratio_england", "registered view: prevalence ÷ England's"),
    "rreg": ("resident_register", "resident view (modelled): register of its residents"),
    "rlist": ("resident_list_size", "resident view (modelled): its residents registered, of the ages QOF uses"),
    "rprev": ("resident_prevalence", "resident view (modelled): prevalence, %"),
    "rrcty": ("resident_ratio_city", "resident view (modelled): prevalence ÷ the city's"),
    "rreng": ("resident_ratio_england", "resident view (modelled): prevalence ÷ England's"),
}
_MAX_FIELD = 10
_POLYGONS = ("neighbourhoods", "localities", "wards")


def health_field(condition: str, suffix: str) -> str:
    """Return the field name of a health figure: the condition code (cut to 4 characters), ``_`` and the suffix."""
    return f"{condition[:4]}_{suffix}"


@dataclass(frozen=True)
class PlanLayers:
    """The layers of a plan and the tables describing them.

    Attributes
    ----------
    layers
        Layer name → GeoDataFrame in the working CRS (EPSG:27700), columns named as :data:`FIELDS`.
    fields
        One row per (layer, field): ``layer``, ``field``, ``meaning``, ``base`` (in words, with its year).
    reference
        One row per QOF condition: ``cond``, ``cond_name``, ``list_base``, the city's and England's prevalence.
    about
        ``key``, ``value`` rows: place, grouping, practice rule, vintages, placekit version, time.
    descriptions
        Layer name → one sentence naming what it holds and its bases.
    """

    layers: dict[str, gpd.GeoDataFrame]
    fields: pd.DataFrame
    reference: pd.DataFrame
    about: pd.DataFrame
    descriptions: dict[str, str]


#: What ``about`` says of Census 2021 and QOF figures for a plan built from LSOAs.
_BY_WARD = "not counted for a plan built from LSOAs (they reach the place through its wards)"


def _bases(place: Place, flows) -> dict[str, str]:
    """Return each base key in words, with its year."""
    return {
        _MID2015: population_label(place, "mid2015") if place.population_base == "mid2015" else "",
        _CENSUS: population_label(place, "census2021") if place.census is not None else "",
        _OWN: population_label(place),
        _REG: flows.bases["registered_list"],
        _QOF: place.vintages.get("qof", "QOF"),
        _IMD: f"IMD 2019 ({place.vintages.get('imd', 'IoD2019')}), weighted by {population_label(place)}",
        _NONE: "",
    }


def _joined(values: pd.Series) -> pd.Series:
    return values.map(lambda v: ";".join(map(str, v)) if isinstance(v, list | tuple | np.ndarray) else ("" if v is None else v))


def _profile_fields(place: Place, grouping: Grouping, level: str) -> pd.DataFrame:
    """Return the profile figures of every unit of `level`, with short names.

    The mid-2015 fields only on a place that has mid-2015 residents; the Census 2021 ones when the place has them (a place
    built from the national files is on Census 2021 alone). Area, IMD and practices come from the place's own base.
    """
    spec = FIELDS["profile"]
    has_mid = place.population_base == "mid2015"
    mid = profile(place, grouping).query("level == @level").set_index("name")
    out = pd.DataFrame({f: mid[src] for f, (src, _, base) in spec.items() if not src.startswith("census:") and (has_mid or base != _MID2015)},
                       index=mid.index)  # fmt: skip
    if place.census is not None and (grouping.units == "ward" or not has_mid):  # a plan of LSOAs has Census 2021 ages on a Census 2021 place
        c21 = mid if not has_mid else profile(place, grouping, population="census2021").query("level == @level").set_index("name")
        for f, (src, _, _) in spec.items():
            if src.startswith("census:"):
                out[f] = c21[src.split(":", 1)[1]].reindex(out.index)
    out.insert(0, "wards", _joined(mid["wards"]))
    return out


def _health_fields(place: Place, grouping: Grouping, level: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the health figures of every unit of `level` (one column per condition × figure) and the reference table."""
    h = health_table(place, grouping)
    conditions = list(dict.fromkeys(h["condition"].astype(str)))
    names = [health_field(c, s) for c in conditions for s in HEALTH_FIELDS]
    if len(set(names)) != len(names) or max(map(len, names)) > _MAX_FIELD:
        raise PlacekitError(f"QOF condition codes {conditions} do not make distinct field names of 10 characters or fewer.")
    part = h[h["level"] == level]
    wide = {}
    for c in conditions:
        rows = part[part["condition"] == c]
        rows = rows.set_index(rows["name"].astype(str))
        for s, (src, _) in HEALTH_FIELDS.items():
            wide[health_field(c, s)] = rows[src].astype(float)
    city = h[h["level"] == "city"].set_index("condition")
    ref = pd.DataFrame({
        "cond": conditions, "cond_name": [str(city.at[c, "condition_name"]) for c in conditions],
        "list_base": [str(city.at[c, "list_base"]) for c in conditions],
        "city_prev": [float(city.at[c, "prevalence"]) for c in conditions],
        "city_rprev": [float(city.at[c, "resident_prevalence"]) for c in conditions],
        "eng_prev": [float(city.at[c, "england_prevalence"]) for c in conditions],
    })  # fmt: skip
    return pd.DataFrame(wide), ref


def _dissolve(place: Place, key: pd.Series) -> gpd.GeoSeries:
    """Return the wards' polygons dissolved by `key` (ward code → unit name), in the working CRS."""
    wards = place.wards[["geometry"]].assign(unit=key.reindex(place.wards.index).to_numpy())
    return wards.dissolve("unit", sort=False).geometry


def _areas(place: Place, grouping: Grouping, level: str) -> gpd.GeoSeries:
    """Return the polygons of each neighbourhood or locality: dissolved from the wards, or from the LSOAs of a plan built from them."""
    if grouping.units == "ward":
        return _dissolve(place, grouping.wards if level == "neighbourhood" else grouping.ward_locality)
    nbs = neighbourhood_areas(grouping, place.wards, place.lsoas, place.lsoa_ward_code)
    return nbs.geometry if level == "neighbourhood" else nbs.dissolve("locality", sort=False).geometry


def _polygon_layer(geom: gpd.GeoSeries, table: pd.DataFrame, order: list[str]) -> gpd.GeoDataFrame:
    geom = geom.reindex(order)
    table = table.reindex(order)
    table.insert(0, "name", order)
    return gpd.GeoDataFrame(table.reset_index(drop=True), geometry=geom.to_numpy(), crs=WORKING_CRS)


def _neighbourhoods(place: Place, grouping: Grouping, flows, health: pd.DataFrame | None) -> gpd.GeoDataFrame:
    nb = flows.neighbourhoods
    spec = FIELDS["neighbourhoods"]
    own = pd.DataFrame({f: nb[src] for f, (src, _, _) in spec.items() if src in nb}, index=nb.index)
    own["practices"] = _joined(own["practices"])
    for f in ("pop_band", "list_band"):
        own[f] = own[f].astype("Int64")
    prof = _profile_fields(place, grouping, "neighbourhood")
    table = own.join(prof, how="left")
    table = table[[c for c in spec if c in table and c != "name"] + [c for c in prof if c != "wards"]]
    if health is not None:
        table = table.join(health)
    return _polygon_layer(_areas(place, grouping, "neighbourhood"), table, grouping.neighbourhoods)


def _localities(place: Place, grouping: Grouping, flows, health: pd.DataFrame | None) -> gpd.GeoDataFrame:
    bt = flows.boundary
    bt = bt[bt["level"] == "locality"]
    spec = FIELDS["localities"]
    own = pd.DataFrame({f: bt[src] for f, (src, _, _) in spec.items() if src in bt}, index=bt.index)
    prof = _profile_fields(place, grouping, "locality")
    table = prof[["wards"]].join(own).join(prof.drop(columns="wards"))
    if health is not None:
        table = table.join(health)
    return _polygon_layer(_areas(place, grouping, "locality"), table, grouping.localities)


def _wards(place: Place, grouping: Grouping) -> gpd.GeoDataFrame:
    codes = place.wards.index
    out = pd.DataFrame({
        "code": codes, "name": place.wards["name"].astype(str).to_numpy(), "nbhd": grouping.wards.reindex(codes).to_numpy(),
        "locality": grouping.ward_locality.reindex(codes).to_numpy(),
    })  # fmt: skip
    if place.population_base == "mid2015":
        out["pop15"] = place.ward_population.reindex(codes).round().astype("int64").to_numpy()
    if place.census is not None:
        out["pop21"] = place.ward_census["population"].reindex(codes).round().astype("int64").to_numpy()
    return gpd.GeoDataFrame(out, geometry=place.wards.geometry.to_numpy(), crs=WORKING_CRS)


def _practices(place: Place, grouping: Grouping, flows) -> gpd.GeoDataFrame:
    m = practice_membership(flows.base, grouping)
    if grouping.units == "lsoa":  # the base's premises unit is an LSOA: the field names the ward the premises stand in
        m["premises_ward"] = place.practices_in_place["ward_code"].reindex(m.index).astype(object).to_numpy()
    split = straddling_practices(flows).reindex(m.index)
    src = m.join(split.drop(columns=["practice_name", "neighbourhood"]))
    src.insert(0, "practice_code", src.index)
    out = pd.DataFrame({f: src[col].to_numpy() for f, (col, _, _) in FIELDS["practices"].items()})
    for f in ("name", "pcn", "prem_ward", "second"):
        out[f] = out[f].astype(object).where(out[f].notna(), None)
    geom = place.practices.geometry.reindex(m.index).to_numpy()
    return gpd.GeoDataFrame(out, geometry=geom, crs=WORKING_CRS)


def _hubs(place: Place, grouping: Grouping, hubs: list[str]) -> gpd.GeoDataFrame | None:
    if not hubs:
        return None
    sites = place.sites if place.sites is not None else gpd.GeoDataFrame(geometry=gpd.GeoSeries(crs=WORKING_CRS))
    unknown = [h for h in hubs if h not in sites.index]
    if unknown:
        raise PlacekitError(
            f"hub(s) {unknown[:10]} are not sites of {place.label}: the scenario was saved with another estates layer. "
            "Save it again with hubs of this place, or export it without hubs."
        )
    s = sites.loc[hubs]
    at, within = place.wards.sindex.query(s.geometry.to_numpy(), predicate="within")
    ward = pd.Series(place.wards.index[within].to_numpy(), index=s.index[at], dtype=object)
    ward = ward[~ward.index.duplicated()].reindex(s.index)
    nbhd = ward.map(grouping.ward_to_neighbourhood)
    if grouping.units == "lsoa":  # the neighbourhood of the LSOA each hub stands in
        at, within = place.lsoas.sindex.query(s.geometry.to_numpy(), predicate="within")
        lsoa = pd.Series(place.lsoas.index[within].to_numpy(), index=s.index[at], dtype=object)
        lsoa = lsoa[~lsoa.index.duplicated()].reindex(s.index)
        nbhd = lsoa.map(lsoa_neighbourhoods(grouping, place.lsoa_ward_code)).fillna(nbhd)
    out = pd.DataFrame({"site_id": s.index.to_numpy(), "name": s["name"].astype(str).to_numpy(), "type": s["site_type"].astype(str).to_numpy(),
                        "ward": ward.astype(object).to_numpy(), "nbhd": nbhd.astype(object).to_numpy()})  # fmt: skip
    return gpd.GeoDataFrame(out, geometry=s.geometry.to_numpy(), crs=WORKING_CRS)


def field_table(layers: dict[str, gpd.GeoDataFrame], bases: dict[str, str]) -> pd.DataFrame:
    """Return one row per field of `layers`: ``layer``, ``field``, ``meaning``, ``base`` (the base in words)."""
    rows = []
    for name, layer in layers.items():
        spec = FIELDS[name] | (FIELDS["profile"] if name in ("neighbourhoods", "localities") else {})
        for f in layer.columns:
            if f == layer.geometry.name:
                continue
            if f in spec:
                _, meaning, base = spec[f]
            else:
                cond, _, suffix = f.partition("_")
                meaning, base = f"{cond}: {HEALTH_FIELDS[suffix][1]}", _QOF
                if suffix in ("rreg", "rlist", "rprev", "rrcty", "rreng"):
                    meaning += f"; practices' registers spread by {bases[_REG]}"
            rows.append({"layer": name, "field": f, "meaning": meaning, "base": bases[base]})
    return pd.DataFrame(rows, columns=["layer", "field", "meaning", "base"])


def plan_layers(place: Place, grouping: Grouping, *, hubs: Iterable[str] = (), generated: str | None = None) -> PlanLayers:
    """Return the layers of `grouping` on `place`, with their figures (see the module docstring).

    Parameters
    ----------
    hubs
        Site ids of the scenario's hubs (a ``hubs`` layer is made when there are any).
    generated
        The time written in ``about`` (default: now, UTC).

    Raises
    ------
    PlacekitError
        When the place has no practices or registrations (the flow figures need them), or a
        hub is not a site of the place.
    """
    if place.practices is None or place.registrations is None:
        raise PlacekitError(f"{place.label} has no practices or registrations layer: a plan's figures need both. Add them to the manifest.")
    # length: one table of layers, then the about rows and each layer's description, all read top to bottom
    by_lsoa = grouping.units == "lsoa"  # measured on its LSOAs; Census 2021 ages and QOF need wards, so they are left out
    flows = compute_flows(flow_base_from_place(place, units=grouping.units), grouping, city=place.name)
    bases = _bases(place, flows)
    with_health = place.qof is not None and not by_lsoa
    h_nb, ref = _health_fields(place, grouping, "neighbourhood") if with_health else (None, pd.DataFrame())
    h_loc = _health_fields(place, grouping, "locality")[0] if with_health else None
    layers = {
        "neighbourhoods": _neighbourhoods(place, grouping, flows, h_nb),
        "localities": _localities(place, grouping, flows, h_loc),
        "wards": _wards(place, grouping),
        "practices": _practices(place, grouping, flows),
    }
    hub_layer = _hubs(place, grouping, list(hubs))
    if hub_layer is not None:
        layers["hubs"] = hub_layer
    # a plan of LSOAs counts Census 2021 residents only where they are the place's own base (a place from the national files)
    census_counted = bool(bases[_CENSUS]) and (not by_lsoa or place.population_base != "mid2015")
    census_said = bases[_CENSUS] if census_counted else _BY_WARD if bases[_CENSUS] else "not in this place"
    about = pd.DataFrame({"key": ["place", "grouping", "practice_rule", "ward_set", "crs", "population_mid2015", "population_census2021",
                                  "registrations", "qof", "generated", "placekit", "hubs"],
                          "value": [place.label, grouping.name, grouping.practice_rule, place.ward_set or grouping.ward_set, WORKING_CRS,
                                    bases[_MID2015] or "not in this place", census_said, bases[_REG], bases[_QOF] if with_health else
                                    _BY_WARD if by_lsoa and place.qof is not None else "not in this place",
                                    generated or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), __version__, ";".join(hubs)]})  # fmt: skip
    residents = " and ".join(b for b in (bases[_MID2015], bases[_CENSUS] if census_counted else "") if b)
    figures = f"residents: {residents}; patients: {bases[_REG]}"
    figures += f"; health: {bases[_QOF]}" if with_health else ""
    descriptions = {
        "neighbourhoods": f"Neighbourhoods of {grouping.name or 'the plan'}, {place.label}, dissolved from the "
                          + ("LSOAs (a plan built from LSOAs, measured on them)" if by_lsoa else "wards") + f"; {figures}. "
                          "Each field's meaning and base: the fields table of the GeoPackage export, or the README.",
        "localities": f"Localities of {grouping.name or 'the plan'}, {place.label}; {figures}.",
        "wards": f"Wards of {place.label} ({place.vintages.get('wards', place.ward_set)}) with their neighbourhood and locality"
                 + (" (the neighbourhood holding most of their LSOAs' residents: the plan is built from LSOAs)." if by_lsoa else "."),
        "practices": f"GP practices of {place.label} at their premises, with their team ({grouping.practice_rule} rule unless "
                     f"explicit); patients: {bases[_REG]}.",
        "hubs": f"Hub sites chosen in {grouping.name or 'the plan'}.",
    }  # fmt: skip
    return PlanLayers(layers, field_table(layers, bases), ref, about, descriptions)


# --------------------------------------------------------------------------- writing
def _check_target(path: Path, fmt: str, layer: str | None, plan: PlanLayers) -> str:
    if fmt not in FORMATS:
        raise PlacekitError(f"format {fmt!r} is not an export format; use one of {list(FORMATS)}.")
    if path.suffix.lower() not in FORMATS[fmt]:
        raise PlacekitError(f"--out {path.name}: a {fmt} export needs a name ending {' or '.join(FORMATS[fmt])}.")
    if path.is_dir():
        raise PlacekitError(f"--out {path} is a folder: give a file name ending {FORMATS[fmt][0]}.")
    chosen = layer or "neighbourhoods"
    if chosen not in plan.layers:
        raise PlacekitError(f"layer {chosen!r} is not in this plan; choose one of {list(plan.layers)}.")
    if fmt == "gpkg" and layer:
        raise PlacekitError("a GeoPackage holds every layer: drop --layer (it chooses the one layer of a GeoJSON or CSV export).")
    return chosen


def _gdal_frame(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return `gdf` with nullable integers as floats (NULL where missing) and text as object, as GDAL drivers take them."""
    out = gdf.copy()
    for c in out.columns:
        if str(out[c].dtype) == "Int64":
            out[c] = out[c].astype("float64") if out[c].isna().any() else out[c].astype("int64")
    return out


def _write_gpkg(plan: PlanLayers, tmp: Path) -> None:
    for name, gdf in plan.layers.items():
        pyogrio.write_dataframe(_gdal_frame(gdf), tmp, layer=name, driver="GPKG", promote_to_multi=name in _POLYGONS,
                                layer_options={"DESCRIPTION": plan.descriptions[name]})  # fmt: skip
    tables = {"fields": (plan.fields, "Every field of every layer: its meaning and its base (with year)."),
              "reference": (plan.reference, "Per QOF condition: name, age base, the city's and England's prevalence (%)."),
              "about": (plan.about, "Which place, grouping, vintages and placekit made this file.")}  # fmt: skip
    for name, (df, description) in tables.items():
        if len(df.columns):
            pyogrio.write_dataframe(df, tmp, layer=name, driver="GPKG", layer_options={"DESCRIPTION": description})


def write_plan(plan: PlanLayers, path: str | Path, *, fmt: str, layer: str | None = None) -> Path:
    """Write `plan` to `path` atomically (a failed write leaves any old file as it was); return the path.

    Parameters
    ----------
    fmt
        ``gpkg``: every layer in EPSG:27700, with the ``fields``, ``reference`` and ``about``
        tables and a description per layer. ``geojson``: one layer (default
        ``neighbourhoods``) in EPSG:4326 (RFC 7946), its description as the collection's
        ``description``. ``csv``: one layer's attributes, no geometry, text cells
        neutralised against spreadsheet formulas.
    layer
        The layer of a GeoJSON or CSV export (one of :data:`LAYERS` present in the plan).
    """
    path = Path(path)
    chosen = _check_target(path, fmt, layer, plan)
    if fmt == "gpkg":
        return replace_atomically(path, lambda tmp: _with_suffix(tmp, ".gpkg", lambda t: _write_gpkg(plan, t)))
    gdf = plan.layers[chosen]
    if fmt == "csv":
        table = neutralise_frame(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)))
        return replace_atomically(path, lambda tmp: table.to_csv(tmp, index=False, lineterminator="\n"))
    out = _gdal_frame(gdf).to_crs(DISPLAY_CRS)
    options = {"RFC7946": "YES", "DESCRIPTION": plan.descriptions[chosen]}
    write = lambda t: pyogrio.write_dataframe(out, t, driver="GeoJSON", layer=chosen, layer_options=options,  # noqa: E731
                                             promote_to_multi=chosen in _POLYGONS)
    return replace_atomically(path, lambda tmp: _with_suffix(tmp, ".geojson", write))


def _with_suffix(tmp: Path, suffix: str, write) -> None:
    """Write through a temporary name ending `suffix` (GDAL picks options by it), then move it to `tmp`; clean up on failure."""
    named = tmp.with_name(tmp.name + suffix)
    try:
        write(named)
        named.replace(tmp)
    finally:
        for leftover in (named, named.with_name(named.name + "-wal"), named.with_name(named.name + "-shm"), named.with_name(named.name + "-journal")):
            leftover.unlink(missing_ok=True)
