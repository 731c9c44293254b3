"""A place: all its layers loaded, validated against each other, and joined."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo import loaders
from geo._validate import GeometryRepairWarning, lsoa_vintage_of, require_known
from geo.manifest import LayerSpec, Manifest, read_manifest
from geo.registrations import combine_registrations, read_registrations
from placekit.errors import DataRootError, VintageMismatchError
from placekit.settings import data_root as resolve_root

__all__ = ["Place", "load_place", "practice_wards", "lsoa_table"]


@dataclass
class Place:
    """Every layer of a place, indexed by official codes, geometry in EPSG:27700.

    Attributes
    ----------
    status
        Per layer: ``"real"`` (an official file), ``"modelled"`` (derived by a stated
        method) or ``"demo"`` (synthetic, made by placekit).
    notes
        Things the loader reported (repairs, drops, closed practices, failed geocodes).
    """

    name: str
    wards: gpd.GeoDataFrame
    lsoas: gpd.GeoDataFrame
    lsoa_ward: pd.DataFrame
    population: pd.DataFrame
    imd: pd.DataFrame | None = None
    msoas: gpd.GeoDataFrame | None = None
    lsoa_msoa: pd.DataFrame | None = None
    practices: gpd.GeoDataFrame | None = None
    list_sizes: pd.DataFrame | None = None
    pcn_map: pd.DataFrame | None = None
    registrations: pd.DataFrame | None = None
    hospitals: gpd.GeoDataFrame | None = None
    catchments: pd.DataFrame | None = None
    trusts: pd.DataFrame | None = None
    sites: gpd.GeoDataFrame | None = None
    lad_code: str = ""
    lsoa_vintage: str = "2011"
    ward_set: str = ""
    demo: bool = False
    data_root: Path | None = None
    manifest: Manifest | None = None
    status: dict[str, str] = field(default_factory=dict)
    vintages: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """Return the place's name, marked ``(demo data)`` when it is the embedded demo."""
        return f"{self.name} (demo data)" if self.demo else self.name

    def lsoa_to_ward(self) -> pd.Series:
        """Return the best-fit ward of each of the place's LSOAs."""
        return self.lsoa_ward.loc[self.lsoas.index, "ward_code"]


def lsoa_table(place: Place) -> pd.DataFrame:
    """Return one row per LSOA of the place: ward, MSOA, population, age bands, IMD, area.

    The LSOA→ward assignment is the best-fit lookup, so every LSOA counts once.
    """
    df = pd.DataFrame(index=place.lsoas.index)
    df["ward_code"] = place.lsoa_ward["ward_code"].reindex(df.index)
    if place.lsoa_msoa is not None:
        df["msoa_code"] = place.lsoa_msoa["msoa_code"].reindex(df.index)
    df = df.join(place.population[["population", "age_0_15", "age_16_59", "age_60_plus"]])
    if place.imd is not None:
        df = df.join(place.imd[["imd_rank", "imd_decile"]])
    df["area_km2"] = place.lsoas.geometry.area.values / 1e6
    return df


def practice_wards(practices: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> pd.Series:
    """Return the ward each practice's premises stand in (NaN outside the place or unlocated)."""
    located = practices[practices.geometry.notna() & ~practices.geometry.is_empty]
    joined = gpd.sjoin(located[[located.geometry.name]], wards[[wards.geometry.name]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]
    return joined["ward_code"].reindex(practices.index).rename("ward_code")


def _load_layer(spec: LayerSpec, root: Path):
    p = spec.paths(root)
    c = spec.columns
    fmt = spec.format
    if fmt == "ons-boundaries":
        return loaders.read_areas(
            p[0],
            code_col=c["code"],
            name_col=c.get("name"),
            layer=spec.name,
            vintage=spec.vintage,
            index_name={"wards": "ward_code", "lsoas": "lsoa_code", "msoas": "msoa_code"}[spec.name.split("_")[0]],
            crs=spec.options.get("crs"),
        )
    if fmt == "ons-lookup" and "ward" in c:
        return loaders.read_lsoa_ward_lookup(
            p[0],
            lsoa_col=c["lsoa"],
            ward_col=c["ward"],
            ward_name_col=c["ward_name"],
            lad_col=c["lad"],
            lad_name_col=c["lad_name"],
            vintage=spec.vintage,
        )
    if fmt == "ons-lookup":
        return loaders.read_lsoa_msoa_lookup(p[0], lsoa_col=c["lsoa"], msoa_col=c["msoa"], msoa_name_col=c["msoa_name"])
    if fmt == "iod2019-file6":
        return loaders.read_population(p[0], vintage=spec.vintage)
    if fmt in ("iod2019-file1", "iod2019-file2"):
        return loaders.read_imd(p[0], vintage=spec.vintage)
    if fmt == "ods-epraccur":
        return loaders.read_practices(p[0], vintage=spec.vintage)
    if fmt == "nhsd-gp-reg-pat-prac-all":
        return loaders.read_list_sizes(p[0], vintage=spec.vintage)
    if fmt == "nhsd-gp-reg-pat-prac-map":
        return loaders.read_pcn_map(p[0], vintage=spec.vintage)
    if fmt == "nhsd-gp-reg-pat-prac-lsoa":
        frames = [read_registrations(f) for f in p]
        return combine_registrations(frames) if len(frames) > 1 else frames[0]
    if fmt == "nhs-choices-hospital":
        return loaders.read_hospitals(p[0], vintage=spec.vintage)
    if fmt == "ods-etr":
        return loaders.read_trusts(p[0], vintage=spec.vintage)
    if fmt == "ohid-trust-catchment":
        return loaders.read_catchments(p[0], vintage=spec.vintage)
    if fmt in ("csv-points", "vector-points"):
        o = spec.options
        return loaders.read_sites(
            p[0], site_type=o["type"], id_col=o.get("id_col"), columns=c, vintage=spec.vintage, id_prefix=o.get("type")
        )
    raise DataRootError(f"layer {spec.name!r}: no loader for format {fmt!r}")  # guarded by read_manifest


def load_place(
    data: str | Path | None = None,
    *,
    manifest: str | Path | Manifest | None = None,
    ward_set: str | None = None,
    with_sites: bool = True,
) -> Place:
    """Load a place from its manifest and data root, or the embedded demo place.

    Parameters
    ----------
    data
        Data root; when None, ``$PLACEKIT_DATA``; when neither is set the demo place
        (built by :func:`geo.demo.demo_place`) is returned, labelled ``demo``.
    manifest
        Manifest path or object; the shipped Manchester manifest when None.
    ward_set
        ``"2018"`` to use the 2018+ wards (layers ``wards_2018`` and ``lsoa_ward_2018``).
    with_sites
        Also read the estates sites listed under ``[[sites]]``.

    Raises
    ------
    VintageMismatchError
        When layers of different vintages would be joined (e.g. 2021 LSOAs against a
        2011 lookup, or 2018 wards against a 2017 lookup).
    """
    root = resolve_root(data)
    if root is None:
        from geo.demo import demo_place

        return demo_place()
    if not root.is_dir():
        raise DataRootError(f"data root {root} is not a folder; set --data DIR or PLACEKIT_DATA to the folder holding the place's files.")
    man = manifest if isinstance(manifest, Manifest) else read_manifest(manifest)
    notes: list[str] = []
    suffix = f"_{ward_set}" if ward_set else ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wards = _load_layer(man.layer("wards" + suffix), root)
        lsoas = _load_layer(man.layer("lsoas"), root)
        lookup = _load_layer(man.layer("lsoa_ward" + suffix), root)
        population = _load_layer(man.layer("population"), root)
        opt = {
            k: _load_layer(man.layers[k], root) if k in man.layers else None
            for k in (
                "imd",
                "msoas",
                "lsoa_msoa",
                "practices",
                "list_sizes",
                "pcn_map",
                "registrations",
                "hospitals",
                "catchments",
                "trusts",
            )
        }
        sites = None
        if with_sites and man.sites:
            frames = [_load_layer(s, root) for s in man.sites]
            sites = pd.concat(frames)
            sites = gpd.GeoDataFrame(sites, geometry="geometry", crs=frames[0].crs)
    ours = (loaders.GeocodeWarning, loaders.ClosedPracticeWarning, GeometryRepairWarning)
    notes += [str(w.message) for w in caught if issubclass(w.category, ours)]

    # Cross-layer vintage checks.
    lsoa_v = lsoa_vintage_of(lsoas.index)
    look_v = lsoa_vintage_of(lookup.index)
    if lsoa_v and look_v and lsoa_v != look_v:
        raise VintageMismatchError(
            f"LSOA boundaries ({man.layer('lsoas').files[0]}) are {lsoa_v} LSOAs but the LSOA→ward lookup "
            f"({man.layer('lsoa_ward' + suffix).files[0]}) is on {look_v} LSOAs. Use a lookup of the same vintage."
        )
    require_known(
        lsoas.index,
        lookup.index,
        source=f"LSOA boundaries vs lookup {Path(man.layer('lsoa_ward' + suffix).files[0]).name}",
        what="LSOA",
        fix="Use a lookup covering every LSOA of the place, of the same LSOA vintage.",
    )
    place_wards = set(lookup.loc[lsoas.index, "ward_code"])
    if not place_wards <= set(wards.index):
        stray = sorted(place_wards - set(wards.index))
        raise VintageMismatchError(
            f"the LSOA→ward lookup ({lookup.attrs.get('vintage')}) names ward(s) {stray[:6]} absent from the ward "
            f"boundaries ({wards.attrs.get('vintage')}). The two layers are of different ward vintages; pick a lookup "
            "and boundaries of the same year (for Manchester: WD17 lookup with the 2004–2018 wards, WD19 with the 2018+ wards)."
        )
    require_known(
        lsoas.index,
        population.index,
        source=f"population {Path(man.layer('population').files[0]).name}",
        what="LSOA",
        fix="The population file must cover every LSOA of the place.",
    )
    practices = opt["practices"]
    if practices is not None:
        practices = practices.copy()
        practices["ward_code"] = practice_wards(practices, wards)
        reg = opt["registrations"]
        if reg is not None:
            used = reg["practice_code"].unique()
            closed = loaders.closed_practices(practices, used)
            if len(closed):
                notes.append(
                    f"{len(closed)} practice(s) in the registrations file are not active in the ODS list "
                    f"({man.layer('practices').vintage}): " + ", ".join(f"{c} ({r.status})" for c, r in closed.iterrows())
                )
    status = {k: "real" for k in ["wards", "lsoas", "lsoa_ward", "population"] + [k for k, v in opt.items() if v is not None]}
    if sites is not None:
        status["sites"] = "real"
    vintages = {
        k: str(v.attrs.get("vintage", ""))
        for k, v in {
            "wards": wards,
            "lsoas": lsoas,
            "lsoa_ward": lookup,
            "population": population,
            **{k: v for k, v in opt.items() if v is not None},
        }.items()
    }
    if opt["registrations"] is not None:
        vintages["registrations"] = f"{man.layer('registrations').vintage} (LSOA {opt['registrations'].attrs.get('lsoa_vintage')})"
    return Place(
        name=man.name,
        wards=wards,
        lsoas=lsoas,
        lsoa_ward=lookup,
        population=population,
        practices=practices,
        sites=sites,
        lad_code=man.lad_code,
        lsoa_vintage=man.lsoa_vintage,
        ward_set="2018+" if ward_set == "2018" else man.ward_set,
        demo=False,
        data_root=root,
        manifest=man,
        status=status,
        vintages=vintages,
        notes=notes,
        **{k: v for k, v in opt.items() if k != "practices"},
    )
