"""The place: every layer of a place, typed, with the tables derived from them computed once.

:class:`Place` is frozen: a layer is changed by making a new place
(:meth:`Place.replace`), so the derived tables (:attr:`Place.lsoa_table`,
:attr:`Place.ward_population`, :attr:`Place.practices_in_place`, ...) can be
computed on first use and kept.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from geo.assets import ASSET_TYPES
from geo.census import lsoa21_wards
from placekit.errors import PlacekitError

if TYPE_CHECKING:
    from geo.manifest import Manifest

__all__ = ["Place", "LayerStatus", "practice_wards", "ACTIVE_STATUS", "ONS_BEST_FIT_NOTE", "MODELLED_BEST_FIT_NOTE", "AGE_BANDS"]

#: ODS status code of an open practice.
ACTIVE_STATUS = "A"

#: How a layer was made: an official file, derived by a stated method, or synthetic.
LayerStatus = str  # "real" | "modelled" | "demo"

#: How LSOAs reach wards with an ONS best-fit lookup (a manifest place).
ONS_BEST_FIT_NOTE = (
    "LSOAs follow the ONS best-fit LSOA→ward lookup: an LSOA that straddles a ward boundary "
    "counts wholly in the ward holding its population-weighted centre, so no LSOA is lost or counted twice."
)
#: How LSOAs reach wards in a place built from the national files (no official lookup to 2025 wards exists).
MODELLED_BEST_FIT_NOTE = (
    "LSOAs follow a modelled best fit to the wards: each LSOA counts wholly in the ward holding most of its area "
    "(ONS generalised boundaries; no official LSOA→ward lookup exists for these wards), so no LSOA is lost or counted twice."
)
#: Age-band columns a population layer may hold: mid-2015 (IoD2019 denominators) or Census 2021 (six bands).
AGE_BANDS = ("age_0_15", "age_16_59", "age_60_plus", "age_16_24", "age_25_34", "age_35_49", "age_50_64", "age_65_plus")


def practice_wards(practices: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> pd.Series:
    """Return the ward each practice's premises stand in (NaN outside the place or unlocated).

    Parameters
    ----------
    practices
        Points indexed by practice code, in the working CRS.
    wards
        Ward polygons indexed by ``ward_code``, in the same CRS.
    """
    located = practices[practices.geometry.notna() & ~practices.geometry.is_empty]
    joined = gpd.sjoin(located[[located.geometry.name]], wards[[wards.geometry.name]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]
    return joined["ward_code"].reindex(practices.index).rename("ward_code")


@dataclass(frozen=True, eq=False)
class Place:
    """Every layer of a place, indexed by official codes, geometry in EPSG:27700.

    Attributes
    ----------
    name
        The place's name ("Manchester").
    wards, lsoas, msoas
        Boundaries indexed by ``ward_code``, ``lsoa_code``, ``msoa_code``; column ``name``.
    lsoa_ward
        Best-fit LSOA → ward lookup (index ``lsoa_code``; ``ward_code``, ``ward_name``,
        ``lad_code``, ``lad_name``); may cover LSOAs beyond the place.
    population
        Residents per LSOA with broad age bands: mid-2015 (``population``, ``age_0_15``,
        ``age_16_59``, ``age_60_plus``), or for a place on Census 2021 residents
        (:attr:`population_base` ``"census2021"``) the six Census 2021 bands.
    imd
        IoD2019 ranks and deciles per LSOA.
    practices
        GP practices (ODS) with ``ward_code`` of their premises (NaN outside the place).
    registrations
        Patients per practice × LSOA of residence (``practice_code``, ``lsoa_code``,
        ``sex``, ``patients``).
    lsoa11_lsoa21
        ONS best-fit LSOA 2011 → 2021 lookup (index ``lsoa11_code``; ``lsoa21_code``, ...).
    lsoas_2021
        2021 LSOA boundaries (index ``lsoa_code``), to place 2021 LSOAs the lookup misses.
    census
        Census 2021 residents per 2021 LSOA (index ``lsoa21_code``; ``population`` and six
        age bands ``age_0_15`` … ``age_65_plus``).
    qof
        QOF registers and list sizes per practice (:func:`geo.health.read_qof`; England).
    practice_ages
        Registered patients per practice by broad age group (:func:`geo.health.read_practice_ages`).
    assets
        Community assets (:func:`geo.assets.read_assets`): food banks, Jobcentres, post
        offices, places of worship, as points.
    population_base
        Which residents `population` counts: ``"mid2015"`` (ONS mid-2015 estimates on 2011
        LSOAs) or ``"census2021"`` (Census 2021 on 2021 LSOAs; then `census` is the same table).
    built_from
        ``"manifest"`` (a TOML manifest), ``"national"`` (built for one local authority from
        the national files, :mod:`geo.national`) or ``"demo"``.
    status
        Per layer: ``"real"`` (an official file), ``"modelled"`` (derived by a stated
        method) or ``"demo"`` (synthetic, made by placekit).
    vintages
        Per layer, the vintage it is of ("mid-2015", "2022-07", ...).
    notes
        What the loader reported (repairs, drops, closed practices, failed geocodes).
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
    lsoa11_lsoa21: pd.DataFrame | None = None
    lsoas_2021: gpd.GeoDataFrame | None = None
    census: pd.DataFrame | None = None
    qof: pd.DataFrame | None = None
    practice_ages: pd.DataFrame | None = None
    assets: gpd.GeoDataFrame | None = None
    lad_code: str = ""
    lsoa_vintage: str = "2011"
    ward_set: str = ""
    population_base: str = "mid2015"
    built_from: str = "manifest"
    demo: bool = False
    data_root: Path | None = None
    manifest: Manifest | None = None
    status: dict[str, LayerStatus] = field(default_factory=dict)
    vintages: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ labels
    @property
    def label(self) -> str:
        """Return the place's name, marked ``(demo data)`` when it is the embedded demo."""
        return f"{self.name} (demo data)" if self.demo else self.name

    @property
    def key(self) -> str:
        """Return the name the scenario store files the place's scenarios and drafts under.

        A manifest place (and the demo) keeps its label, as stores written before national places
        have it; a place built from national files is "<name> (<code>)", so national Manchester
        (2018 wards) is not the manifest's Manchester (2004–2018 wards).
        """
        return f"{self.name} ({self.lad_code})" if self.built_from == "national" else self.label

    @property
    def best_fit_note(self) -> str:
        """Return how the place's LSOAs reach its wards: the ONS best-fit lookup, or a modelled best fit."""
        return MODELLED_BEST_FIT_NOTE if self.status.get("lsoa_ward") == "modelled" else ONS_BEST_FIT_NOTE

    def replace(self, **changes: object) -> Place:
        """Return a copy with some layers replaced (derived tables are computed afresh)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ derived tables
    @cached_property
    def lsoa_ward_code(self) -> pd.Series:
        """Return the best-fit ward of each of the place's LSOAs (index ``lsoa_code``)."""
        return self.lsoa_ward["ward_code"].reindex(self.lsoas.index).rename("ward_code")

    def lsoa_to_ward(self) -> pd.Series:
        """Return the best-fit ward of each of the place's LSOAs (same as :attr:`lsoa_ward_code`)."""
        return self.lsoa_ward_code

    @cached_property
    def lsoa_table(self) -> pd.DataFrame:
        """Return one row per LSOA of the place: ward, MSOA, residents and age bands, IMD, area.

        Columns: ``ward_code``, ``msoa_code`` (when the place has an LSOA→MSOA lookup),
        ``population`` and the age bands of the population layer (:data:`AGE_BANDS`:
        ``age_0_15``, ``age_16_59``, ``age_60_plus`` for mid-2015; the six Census 2021
        bands for a place on Census 2021 residents), ``imd_rank``,
        ``imd_decile``, ``imd_quintile`` (1 = most deprived; when the place has IMD) and
        ``area_km2``. The LSOA→ward assignment is the best-fit lookup, so every LSOA
        counts once.
        """
        df = pd.DataFrame({"ward_code": self.lsoa_ward_code})
        if self.lsoa_msoa is not None:
            df["msoa_code"] = self.lsoa_msoa["msoa_code"].reindex(df.index)
        df = df.join(self.population[["population", *(c for c in AGE_BANDS if c in self.population)]])
        if self.imd is not None:
            df = df.join(self.imd[["imd_rank", "imd_decile"]])
            quintile = (df["imd_decile"] + 1) // 2
            df["imd_quintile"] = quintile.astype("int64") if quintile.notna().all() else quintile
        df["area_km2"] = self.lsoas.geometry.area.to_numpy() / 1e6
        return df

    @cached_property
    def ward_population(self) -> pd.Series:
        """Return residents per ward (sum of its best-fit LSOAs), indexed like :attr:`wards`."""
        t = self.lsoa_table
        return t.groupby("ward_code")["population"].sum().reindex(self.wards.index, fill_value=0).rename("population")

    @cached_property
    def practice_lists(self) -> pd.Series:
        """Return each practice's registered list: its registrations total, else the list-size file."""
        out = pd.Series(dtype="float64")
        if self.registrations is not None:
            out = self.registrations.groupby("practice_code")["patients"].sum().astype("float64")
        if self.list_sizes is not None:
            out = out.combine_first(self.list_sizes["list_size"].astype("float64"))
        out.index.name = "practice_code"
        return out.rename("list_size")

    @cached_property
    def practices_in_place(self) -> gpd.GeoDataFrame:
        """Return the practices whose premises stand in the place and that are in use.

        In use: open in the ODS list (status ``A``) or holding patients in the
        registrations file, so a practice that closed after the registrations extract
        still counts for the figures of that extract. Adds ``list_size``
        (:attr:`practice_lists`, 0 when unknown).
        """
        if self.practices is None:
            return gpd.GeoDataFrame({"ward_code": pd.Series(dtype=object)}, geometry=gpd.GeoSeries(dtype="geometry"))
        pr = self.practices
        used = pr.index.isin(self.registrations["practice_code"].unique()) if self.registrations is not None else False
        keep = pr["ward_code"].notna() & (pr["status"].eq(ACTIVE_STATUS) | used)
        out = pr[keep].copy()
        out["list_size"] = self.practice_lists.reindex(out.index).fillna(0)
        return out

    @cached_property
    def lsoa21_ward(self) -> pd.Series:
        """Return the ward of each Census 2021 LSOA of the place (index ``lsoa21_code``; see :data:`geo.census.BRIDGE_METHOD`).

        Raises
        ------
        PlacekitError
            When the place has no census layer or no LSOA 2011→2021 lookup.
        """
        if self.census is not None and self.lsoa_vintage == "2021":
            out = self.lsoa_ward_code.reindex(self.census.index).rename("ward_code")
            out.index.name = "lsoa21_code"
            out.attrs.update({"method": "The place is on 2021 LSOAs: each Census 2021 LSOA counts in its ward. " + self.best_fit_note,
                              "by_lookup": len(out), "by_boundaries": 0})  # fmt: skip
            return out
        if self.census is None or self.lsoa11_lsoa21 is None:
            raise PlacekitError(f"{self.label} has no Census 2021 layer or no LSOA 2011→2021 lookup; add [layers.census] and "
                                "[layers.lsoa11_lsoa21] to the manifest.")  # fmt: skip
        return lsoa21_wards(self.census.index, self.lsoa11_lsoa21, self.lsoa_ward_code, self.population["population"],
                            wards=self.wards, lsoas21=self.lsoas_2021)  # fmt: skip

    @cached_property
    def ward_census(self) -> pd.DataFrame:
        """Return Census 2021 residents per ward: ``population`` and the six age bands (index like :attr:`wards`)."""
        out = self.census.groupby(self.lsoa21_ward).sum().reindex(self.wards.index, fill_value=0)
        out.index.name = "ward_code"
        out.attrs.update({"vintage": self.vintages.get("census", "Census 2021"), "method": self.lsoa21_ward.attrs["method"]})
        return out

    @cached_property
    def assets_in_place(self) -> gpd.GeoDataFrame:
        """Return the community assets and the estates sites of the counted types that stand in the place.

        Columns ``name``, ``asset_type`` (a key of :data:`geo.assets.ASSET_TYPES`), ``ward_code``;
        points in the working CRS, indexed by asset or site id. Empty when the place has neither layer.
        """
        parts = []
        if self.assets is not None:
            parts.append(self.assets[["name", "asset_type", "geometry"]])
        if self.sites is not None:
            s = self.sites[self.sites["site_type"].isin(ASSET_TYPES)]
            parts.append(gpd.GeoDataFrame({"name": s["name"], "asset_type": s["site_type"]}, geometry=s.geometry, crs=s.crs))
        if not parts:
            return gpd.GeoDataFrame({"name": [], "asset_type": [], "ward_code": []}, geometry=gpd.GeoSeries([], crs=self.wards.crs))
        allp = gpd.GeoDataFrame(pd.concat(parts), geometry="geometry", crs=self.wards.crs)
        allp["ward_code"] = practice_wards(allp, self.wards).to_numpy()
        return allp[allp["ward_code"].notna()]
