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

if TYPE_CHECKING:
    from geo.manifest import Manifest

__all__ = ["Place", "LayerStatus", "practice_wards", "ACTIVE_STATUS"]

#: ODS status code of an open practice.
ACTIVE_STATUS = "A"

#: How a layer was made: an official file, derived by a stated method, or synthetic.
LayerStatus = str  # "real" | "modelled" | "demo"


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
        Residents per LSOA with broad age bands (``population``, ``age_0_15``,
        ``age_16_59``, ``age_60_plus``).
    imd
        IoD2019 ranks and deciles per LSOA.
    practices
        GP practices (ODS) with ``ward_code`` of their premises (NaN outside the place).
    registrations
        Patients per practice × LSOA of residence (``practice_code``, ``lsoa_code``,
        ``sex``, ``patients``).
    lsoa11_lsoa21
        ONS best-fit LSOA 2011 → 2021 lookup (index ``lsoa11_code``; ``lsoa21_code``, ...).
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
    lad_code: str = ""
    lsoa_vintage: str = "2011"
    ward_set: str = ""
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

    def replace(self, **changes) -> Place:
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
        ``population``, ``age_0_15``, ``age_16_59``, ``age_60_plus``, ``imd_rank``,
        ``imd_decile``, ``imd_quintile`` (1 = most deprived; when the place has IMD) and
        ``area_km2``. The LSOA→ward assignment is the best-fit lookup, so every LSOA
        counts once.
        """
        df = pd.DataFrame({"ward_code": self.lsoa_ward_code})
        if self.lsoa_msoa is not None:
            df["msoa_code"] = self.lsoa_msoa["msoa_code"].reindex(df.index)
        df = df.join(self.population[["population", "age_0_15", "age_16_59", "age_60_plus"]])
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
