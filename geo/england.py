"""England's national files joined into England-wide tables, read once and cached under ``$PLACEKIT_HOME``.

A place for any English local authority is a slice of these tables (:mod:`geo.national`).
:func:`england_tables` reads every national file named in :data:`NATIONAL_FILES` and makes:

- GP registrations (July 2022, 2011 LSOAs) carried to 2021 LSOAs through the ONS best fit,
  each split 2011 LSOA shared among its 2021 parts by their Census 2021 residents
  (:func:`geo.registrations.lsoa11_to_lsoa21_pairs`), every patient kept;
- every GP practice of ``epraccur`` geocoded offline, with the May 2025 ward and authority its
  premises stand in;
- each 2021 LSOA with its authority today, its 2011 parent LSOA (ONS best fit read
  backwards), its 2011 MSOA (an LSOA name is its MSOA name plus a letter) and the IMD 2019
  ranks and deciles of its parent (``modelled``: IMD 2019 is on 2011 LSOAs);
- the 296 authorities, and the authorities replaced since 2022 with their successor.

The tables are cached in one file keyed by each input's path, size and modification time:
a changed input rebuilds them. The LSOA → ward assignment is modelled from the polygons
(:func:`best_fit_wards`; there is no official lookup to the May 2025 wards); England's is
computed once on demand (:func:`england_best_fit`) and cached beside the tables.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import loaders
from geo._fast import isin_text
from geo._validate import valid_geometries
from geo.census import read_census_age6
from geo.health import QOFAnomalyWarning, read_practice_ages, read_qof
from geo.model import ACTIVE_STATUS
from geo.place import LoadNote
from geo.registrations import convert_lsoa_vintage, lsoa11_to_lsoa21_pairs, read_registrations
from placekit import __version__
from placekit.errors import DataRootError, PlacekitError
from placekit.settings import cache_dir

__all__ = [
    "NationalFile",
    "NATIONAL_FILES",
    "EnglandTables",
    "EnglandIndex",
    "england_tables",
    "england_index",
    "authority_names",
    "england_best_fit",
    "cached_best_fit",
    "best_fit_wards",
    "input_key",
    "read_areas_of",
    "authority_kind",
    "present_files",
    "national_path",
    "write_atomic",
    "BEST_FIT_METHOD",
    "BEST_FIT_VINTAGE",
    "ENGLAND_SCHEMA",
    "REGIONS",
]

#: Version of the cached tables' layout; a new version rebuilds every cache.
ENGLAND_SCHEMA = 2  # 2: trust names in title case by words (Guy's, not Guy'S)

#: How an LSOA is assigned to a ward where no official lookup exists (the May 2025 wards).
BEST_FIT_METHOD = (
    "modelled best fit: each 2021 LSOA goes wholly to the ward of its authority holding most of its area, from the ONS "
    "generalised boundaries (no official LSOA→ward lookup exists for the May 2025 wards)"
)
#: The vintage label of that assignment, as outputs state it.
BEST_FIT_VINTAGE = "LSOA 2021 → ward (May 2025), modelled best fit (largest area overlap)"

#: ONS region codes (RGNCD) and names.
REGIONS = {"E12000001": "North East", "E12000002": "North West", "E12000003": "Yorkshire and The Humber",
           "E12000004": "East Midlands", "E12000005": "West Midlands", "E12000006": "East of England", "E12000007": "London",
           "E12000008": "South East", "E12000009": "South West"}  # fmt: skip


@dataclass(frozen=True)
class NationalFile:
    """One national file: its path under the data root, what it is, and where to get it."""

    key: str
    path: str
    what: str
    download: str
    required: bool = True


#: Every national file a place from national files reads (paths relative to the data root, as in the shared data folder).
NATIONAL_FILES: tuple[NationalFile, ...] = (
    NationalFile("wards", "england-boundaries/wards_2025_england.parquet", "ward boundaries, May 2025 (England)",
                 "ONS Open Geography Portal, Wards (May 2025) Boundaries UK BGC: English wards as GeoParquet (EPSG:27700) with "
                 "WD25CD, WD25NM, LAD25CD, LAD25NM, RGNCD"),
    NationalFile("lsoas21", "england-boundaries/lsoa_2021_england.parquet", "LSOA 2021 boundaries (England)",
                 "ONS Open Geography Portal, LSOA (2021) Boundaries EW BGC: English LSOAs as GeoParquet with LSOA21CD, LSOA21NM, "
                 "LADCD_ACTIVE (the authority today)"),
    NationalFile("lsoas11", "england-boundaries/lsoa_2011_england.parquet", "LSOA 2011 boundaries (England)",
                 "ONS Open Geography Portal, LSOA (2011) Boundaries EW BGC: English LSOAs as GeoParquet with LSOA11CD, LSOA11NM"),
    NationalFile("msoas11", "england-boundaries/msoa_2011_england.parquet", "MSOA 2011 boundaries (England)",
                 "ONS Open Geography Portal, MSOA (2011) Boundaries EW BGC as GeoParquet with MSOA11CD, MSOA11NM", required=False),
    NationalFile("registrations", "gp-registrations-lsoa/gp-reg-pat-prac-lsoa_2022-07_england.parquet",
                 "GP registrations by practice × LSOA 2011, July 2022 (England)",
                 "NHS Digital, Patients Registered at a GP Practice, July 2022: gp-reg-pat-prac-lsoa-all.csv (or its parquet)"),
    NationalFile("practices", "gp-practices-epraccur/epraccur_england_2023-12.csv", "GP practices, ODS epraccur (England)",
                 "NHS England Organisation Data Service: epraccur.csv (GP practices), unchanged"),
    NationalFile("pcn_map", "gp-practice-pcn-map/gp-reg-pat-prac-map_2022-01_england.csv", "practice → PCN map, January 2022 (England)",
                 "NHS Digital, Patients Registered at a GP Practice, January 2022: gp-reg-pat-prac-map.csv"),
    NationalFile("lookup", "lsoa11-lsoa21-lookup/lsoa11_to_lsoa21_best_fit_lookup_england_wales_v2.csv",
                 "ONS LSOA 2011 → LSOA 2021 best-fit lookup", "ONS Open Geography Portal, LSOA (2011) to LSOA (2021) to LAD (2022) "
                 "Best Fit Lookup for EW (V2)"),
    NationalFile("census", "census2021-population-lsoa/census2021_usual_residents_lsoa21_age6_england_wales.csv",
                 "Census 2021 usual residents by LSOA 2021 × 6 age bands", "ONS Census 2021, Age (6 categories) by LSOA (custom "
                 "dataset), columns lsoa21_code, lsoa21_name, age_group, usual_residents"),
    NationalFile("imd", "imd2019-and-population-lsoa/File_2_-_IoD2019_Domains_of_Deprivation.csv.gz", "English Indices of Deprivation "
                 "2019, File 2", "MHCLG, English Indices of Deprivation 2019, File 2 (ranks and deciles), as CSV", required=False),
    NationalFile("population11", "imd2019-and-population-lsoa/File_6_-_IoD2019_Population_Denominators.csv.gz",
                 "IoD2019 population denominators (mid-2015)", "MHCLG, English Indices of Deprivation 2019, File 6, as CSV",
                 required=False),
    NationalFile("list_sizes", "gp-practice-list-sizes/gp-reg-pat-prac-all_2021-01_england.csv", "practice list sizes, January 2021",
                 "NHS Digital, Patients Registered at a GP Practice, January 2021: gp-reg-pat-prac-all.csv", required=False),
    NationalFile("qof", "qof-prevalence-2022-23/PREVALENCE_2223.csv", "QOF prevalence 2022-23",
                 "NHS England, QOF 2022-23 raw data: PREVALENCE_2223.csv", required=False),
    NationalFile("qof_mapping", "qof-prevalence-2022-23/MAPPING_NHS_GEOGRAPHIES_2223.csv", "QOF practice geographies 2022-23",
                 "NHS England, QOF 2022-23 raw data: MAPPING_NHS_GEOGRAPHIES_2223.csv", required=False),
    NationalFile("practice_ages", "gp-practice-age-groups/gp_registered_by_age_group_2020-04_england.csv",
                 "registered patients per practice by broad age, April 2020", "House of Commons Library, local health data from QOF: "
                 "gp-by-age.csv (NHS Digital, April 2020)", required=False),
    NationalFile("hospitals", "hospital-sites/nhs_choices_Hospital_2018-01_england.csv", "hospital sites (NHS Choices, January 2018)",
                 "NHS Choices / NHS.UK Hospital.csv", required=False),
    NationalFile("trusts", "hospital-sites/ods_etr_trusts_2022-03_england.csv", "NHS trusts (ODS etr, March 2022)",
                 "NHS England Organisation Data Service: etr.csv", required=False),
    NationalFile("catchments", "hospital-trust-catchments-msoa/trust_catchment_msoa11_2019_all_admissions_england.csv",
                 "OHID acute trust catchments by MSOA 2011, 2019", "OHID, NHS Acute (Hospital) Trust Catchment Populations, 2019, all "
                 "admissions, as msoa_code, trust_code, proportion", required=False),
)  # fmt: skip

_FILES = {f.key: f for f in NATIONAL_FILES}


def national_path(root: Path, key: str) -> Path:
    """Return where the national file `key` (of :data:`NATIONAL_FILES`) stands under the data root `root`."""
    return root / _FILES[key].path


def present_files(root: Path) -> dict[str, Path]:
    """Return the national files found under `root`; refuse a missing required file, naming it and what to download.

    Raises
    ------
    DataRootError
        When a required national file is absent.
    """
    missing = [f for f in NATIONAL_FILES if f.required and not (root / f.path).is_file()]
    if missing:
        lines = "; ".join(f"{f.path} ({f.what}; download: {f.download})" for f in missing)
        raise DataRootError(f"a place from the national files needs {len(missing)} file(s) missing from the data root {root}: {lines}. "
                            "Put each file at that path under the data root (--data DIR or PLACEKIT_DATA).")  # fmt: skip
    return {f.key: root / f.path for f in NATIONAL_FILES if (root / f.path).is_file()}


def input_key(root: Path) -> str:
    """Return a key of the national inputs: each file's path, size and modification time, the schema and placekit's version."""
    parts = [f"schema {ENGLAND_SCHEMA}", f"placekit {__version__}"]
    for f in NATIONAL_FILES:
        p = root / f.path
        try:
            st = p.stat()
            parts.append(f"{f.path}|{st.st_size}|{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{f.path}|absent")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def authority_kind(code: str) -> str:
    """Return the kind of an English local authority from its code prefix (the City of London's own)."""
    if str(code) == "E09000001":
        return "City of London Corporation"
    return {"E06": "unitary authority", "E07": "non-metropolitan district", "E08": "metropolitan district",
            "E09": "London borough"}.get(str(code)[:3], "local authority")  # fmt: skip


@dataclass(frozen=True, eq=False)
class EnglandTables:
    """England-wide tables the places from national files are cut from (see the module docstring).

    Attributes
    ----------
    root, key
        The data root and the key of its national files (:func:`input_key`).
    authorities
        Index ``lad_code`` (296); ``name``, ``kind``, ``region``, ``wards``, ``lsoas``,
        ``practices`` (in use, premises there), ``residents`` (Census 2021).
    successors
        Index ``old_code`` (authorities of 2022 replaced since, and codes the LSOA file still
        uses); ``old_name``, ``lad_code`` (the successor), ``note``.
    other_nations
        Index ``lad_code`` (Welsh authorities in the LSOA lookup); ``name``.
    wards
        Index ``ward_code``; ``name``, ``lad_code``, ``x``, ``y`` (a point inside, EPSG:27700).
    lsoas
        Index ``lsoa_code`` (2021, England); ``name``, ``lad_code``, ``lsoa11_code`` (parent),
        ``msoa_code`` (2011 MSOA of the parent), ``msoa_name``, ``source_lad`` (code in the boundary file).
    practices
        Every GP practice of epraccur (points, EPSG:27700) with ``ward_code`` and ``lad_code``
        of its premises (NaN outside England's wards) and ``in_use``.
    registrations
        Patients per practice × 2021 LSOA (July 2022), converted (``attrs['note']`` says how).
    census, imd
        Census 2021 residents (England's 2021 LSOAs) and IMD 2019 carried to 2021 LSOAs.
    pcn_map, list_sizes, qof, practice_ages, hospitals, trusts, catchments
        The national tables as their loaders return them (None when the optional file is absent).
    vintages, notes
        Per table its vintage; what the readers reported (``LoadNote``).
    missing
        The optional national files absent from the data root (keys of :data:`NATIONAL_FILES`).
    """

    root: Path
    key: str
    authorities: pd.DataFrame
    successors: pd.DataFrame
    other_nations: pd.DataFrame
    wards: pd.DataFrame
    lsoas: pd.DataFrame
    practices: gpd.GeoDataFrame
    registrations: pd.DataFrame
    census: pd.DataFrame
    imd: pd.DataFrame | None
    pcn_map: pd.DataFrame
    list_sizes: pd.DataFrame | None = None
    qof: pd.DataFrame | None = None
    practice_ages: pd.DataFrame | None = None
    hospitals: gpd.GeoDataFrame | None = None
    trusts: pd.DataFrame | None = None
    catchments: pd.DataFrame | None = None
    vintages: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    missing: tuple[str, ...] = ()

    def aliases(self, lad_code: str) -> list[str]:
        """Return the codes under which the boundary files hold the LSOAs of `lad_code` (itself, and any code it replaced there)."""
        return sorted(set(self.lsoas.loc[self.lsoas["lad_code"] == lad_code, "source_lad"]) | {lad_code})


# --------------------------------------------------------------------------- reading
def _noted(read: Callable[[], Any], layer: str, notes: list[str]) -> Any:
    """Call a reader, turning each warning it raises into a note about `layer`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = read()
    for w in caught:
        if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
            continue
        info = issubclass(w.category, (QOFAnomalyWarning, loaders.ClosedPracticeWarning))
        notes.append(LoadNote(str(w.message), layer=layer, level="info" if info else "warning"))
    return out


def _optional(files: dict[str, Path], key: str, read: Callable[[Path], Any], notes: list[str]) -> Any:
    """Read an optional national file, or note that it is absent and what it would add."""
    if key not in files:
        f = _FILES[key]
        notes.append(LoadNote(f"{f.what} ({f.path}) is not in the data root: the figures that need it are unavailable. Download: "
                              f"{f.download}.", layer=key))  # fmt: skip
        return None
    return _noted(lambda: read(files[key]), key, notes)


def _read_boundaries(path: Path, columns: list[str], what: str) -> gpd.GeoDataFrame:
    """Read a national GeoParquet boundary file, refusing one without the columns it needs."""
    try:
        gdf = gpd.read_parquet(path, columns=[*columns, "geometry"])
    except (OSError, ValueError, KeyError) as exc:
        raise DataRootError(f"{what} file {path} cannot be read as GeoParquet with columns {columns} ({type(exc).__name__}: "
                            f"{str(exc)[:160]}). Use the file described in {_FILES_BY_PATH.get(path.name, 'SOURCE.md')}.") from exc  # fmt: skip
    return gdf.to_crs(27700) if gdf.crs is not None and gdf.crs.to_epsg() != 27700 else gdf


_FILES_BY_PATH = {Path(f.path).name: f.download for f in NATIONAL_FILES}


def read_areas_of(path: Path, code_col: str, name_col: str, filter_col: str, values: list[str]) -> gpd.GeoDataFrame:
    """Read the areas whose `filter_col` is among `values` from a national GeoParquet (index `code_col`; ``name``; EPSG:27700).

    Only those rows are read (a pyarrow filter), so one authority's LSOAs take a fraction of a second.
    """
    cols = list(dict.fromkeys([code_col, name_col, filter_col, "geometry"]))
    gdf = gpd.read_parquet(path, columns=cols, filters=[(filter_col, "in", list(values))])
    gdf = gdf[gdf[code_col].notna()]
    out = gpd.GeoDataFrame({"name": gdf[name_col].astype(str).to_numpy()}, geometry=valid_geometries(gdf.geometry.to_numpy()),
                           index=pd.Index(gdf[code_col].astype(str).to_numpy()), crs=gdf.crs)  # fmt: skip
    return out.to_crs(27700) if out.crs is not None and out.crs.to_epsg() != 27700 else out


# --------------------------------------------------------------------------- the LSOA → ward best fit


def best_fit_wards(lsoas: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> pd.DataFrame:
    """Assign each LSOA wholly to the ward of its authority holding most of its area (a modelled best fit).

    Parameters
    ----------
    lsoas
        LSOA polygons (EPSG:27700) with ``lad_code``, the authority each belongs to.
    wards
        Ward polygons (EPSG:27700) with ``lad_code``.

    Returns
    -------
    pandas.DataFrame
        Index the LSOA codes; ``ward_code`` and ``share`` (the share of the LSOA's area in
        that ward). An LSOA overlapping no ward of its authority goes to the ward of its
        authority nearest to it (``share`` 0).
    """
    lg, wg = valid_geometries(lsoas.geometry.to_numpy()), valid_geometries(wards.geometry.to_numpy())
    li, wi = shapely.STRtree(wg).query(lg, predicate="intersects")
    same = lsoas["lad_code"].to_numpy()[li] == wards["lad_code"].to_numpy()[wi]
    li, wi = li[same], wi[same]
    area = shapely.area(shapely.intersection(lg[li], wg[wi]))
    best = pd.DataFrame({"l": li, "w": wi, "a": area}).sort_values(["l", "a", "w"]).drop_duplicates("l", keep="last")
    ward = np.full(len(lsoas), -1, dtype=np.int64)
    share = np.zeros(len(lsoas))
    ward[best["l"].to_numpy()] = best["w"].to_numpy()
    share[best["l"].to_numpy()] = best["a"].to_numpy() / np.maximum(shapely.area(lg[best["l"].to_numpy()]), 1e-9)
    for i in np.flatnonzero(ward < 0):  # no overlap with its own authority's wards (generalised coastlines): the nearest of them
        own = np.flatnonzero(wards["lad_code"].to_numpy() == lsoas["lad_code"].iat[i])
        if len(own):
            ward[i] = own[np.argmin(shapely.distance(wg[own], lg[i]))]
    out = pd.DataFrame({"ward_code": np.where(ward >= 0, wards.index.to_numpy()[np.maximum(ward, 0)], None), "share": share},
                       index=lsoas.index)  # fmt: skip
    out.index.name = "lsoa_code"
    return out


def _best_fit_path(tables: EnglandTables) -> Path:
    return cache_dir() / "england" / f"bestfit-{tables.key}.parquet"


def cached_best_fit(tables: EnglandTables) -> pd.DataFrame | None:
    """Return England's best-fit table if :func:`england_best_fit` has cached it, else None."""
    path = _best_fit_path(tables)
    try:
        return pd.read_parquet(path) if path.exists() else None
    except (OSError, ValueError):
        return None


def england_best_fit(tables: EnglandTables, *, codes: list[str] | None = None, progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Return the modelled best-fit ward of every English 2021 LSOA (:func:`best_fit_wards`), computed once and cached.

    Parameters
    ----------
    codes
        Only the LSOAs of these authorities (computed afresh, not cached); default all of England.
    progress
        Called with the number of LSOAs done after each authority (for a progress bar).
    """
    cached = cached_best_fit(tables)
    if cached is not None:
        return cached if codes is None else cached[cached.index.isin(tables.lsoas.index[tables.lsoas["lad_code"].isin(codes)])]
    lsoas = _read_boundaries(national_path(tables.root, "lsoas21"), ["LSOA21CD"], "LSOA 2021 boundaries").set_index("LSOA21CD")
    lsoas["lad_code"] = tables.lsoas["lad_code"].reindex(lsoas.index).to_numpy()
    wards = _read_boundaries(national_path(tables.root, "wards"), ["WD25CD", "LAD25CD"], "ward boundaries")
    wards = wards[wards["WD25CD"].notna()].set_index("WD25CD").rename(columns={"LAD25CD": "lad_code"})
    if codes is not None:
        lsoas = lsoas[lsoas["lad_code"].isin(codes)]
    parts = []
    for code, sub in lsoas.groupby("lad_code", sort=True):
        parts.append(best_fit_wards(sub, wards[wards["lad_code"] == code]))
        if progress is not None:
            progress(len(sub))
    out = pd.concat(parts)
    out.index.name = "lsoa_code"
    if codes is None:
        write_atomic(out, _best_fit_path(tables), lambda frame, p: frame.to_parquet(p))
    return out


# --------------------------------------------------------------------------- building the tables
def write_atomic(obj: Any, path: Path, writer: Callable[[Any, Path], None]) -> None:
    """Write a cache entry under a unique temporary name, then rename it into place (two processes may race)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        writer(obj, tmp)
        tmp.replace(path)
    except OSError:
        pass  # a cache that cannot be written only costs time on the next run
    finally:
        tmp.unlink(missing_ok=True)


def _lad_aliases(lsoas21: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> dict[str, str]:
    """Map each authority code of the LSOA file that the ward file lacks to the authority whose wards hold most of its LSOAs.

    (Barnsley and Sheffield were recoded in 2024 after a boundary change; the LSOA file keeps the old codes.)
    """
    known = set(wards["LAD25CD"].dropna())
    odd = lsoas21[~lsoas21["LADCD_ACTIVE"].isin(known)]
    if odd.empty:
        return {}
    pts = odd.geometry.representative_point().to_numpy()
    pi, wi = shapely.STRtree(wards.geometry.to_numpy()).query(pts, predicate="within")
    found = pd.DataFrame({"old": odd["LADCD_ACTIVE"].to_numpy()[pi], "new": wards["LAD25CD"].to_numpy()[wi]})
    return found.groupby("old")["new"].agg(lambda s: s.value_counts().index[0]).to_dict()


def _parents(lookup: pd.DataFrame, pairs: pd.DataFrame, pop11: pd.Series | None) -> pd.Series:
    """Return the main 2011 parent of each 2021 LSOA: its best-fit 2011 LSOA (the most populous of a merge), else the one it was split from."""
    named = pd.DataFrame({"lsoa21": lookup["lsoa21_code"].to_numpy(), "lsoa11": lookup.index.to_numpy()})
    named["w"] = pop11.reindex(named["lsoa11"]).fillna(0).to_numpy() if pop11 is not None else 0.0
    main = named.sort_values(["lsoa21", "w", "lsoa11"]).drop_duplicates("lsoa21", keep="last").set_index("lsoa21")["lsoa11"]
    parts = pairs[~isin_text(pairs["lsoa21"], named["lsoa21"])].drop_duplicates("lsoa21").set_index("lsoa21")["lsoa11"]
    return pd.concat([main, parts]).rename("lsoa11_code")


def _lsoa_table(lsoas21: gpd.GeoDataFrame, aliases: dict[str, str], parents: pd.Series, names11: pd.Series,
                msoa_codes: pd.Series | None) -> pd.DataFrame:  # fmt: skip
    """Return the 2021 LSOA table: name, authority today, 2011 parent, its 2011 MSOA (name minus the last letter)."""
    out = pd.DataFrame({"name": lsoas21["LSOA21NM"].to_numpy(), "source_lad": lsoas21["LADCD_ACTIVE"].to_numpy()},
                       index=pd.Index(lsoas21["LSOA21CD"].to_numpy(), name="lsoa_code"))  # fmt: skip
    out["lad_code"] = out["source_lad"].map(lambda c: aliases.get(c, c))
    out["lsoa11_code"] = parents.reindex(out.index).to_numpy()
    msoa_name = out["lsoa11_code"].map(names11).str[:-1]
    out["msoa_name"] = msoa_name.to_numpy()
    out["msoa_code"] = msoa_name.map(msoa_codes).to_numpy() if msoa_codes is not None else None
    return out


def _most_common(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Return, per group of `keys` (sorted), its most common `value`, a tie to the value met first in the group's rows.

    What ``groupby(keys)[value].agg(lambda s: s.value_counts().index[0])`` gives, without a Python call per group.
    """
    t = frame[frame[keys + [value]].notna().all(axis=1)][keys + [value]].reset_index(drop=True)
    t["_pos"] = np.arange(len(t))
    g = t.groupby(keys + [value], sort=False).agg(_n=("_pos", "size"), _first=("_pos", "min")).reset_index()
    g = g.sort_values([*keys, "_n", "_first"], ascending=[True] * len(keys) + [False, True], kind="stable")
    return g.drop_duplicates(keys)[keys + [value]].reset_index(drop=True)


def _successors(lookup: pd.DataFrame, lsoas: pd.DataFrame, names: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the authorities of 2022 (LSOA lookup) replaced since, each with its successor; and the Welsh authorities."""
    lk = lookup[isin_text(lookup["lsoa21_code"], lsoas.index)]
    now = lsoas["lad_code"].reindex(lk["lsoa21_code"]).to_numpy()
    pairs = pd.DataFrame({"old_code": lk["lad_code"].to_numpy(), "old_name": lk["lad_name"].to_numpy(), "lad_code": now})
    best = _most_common(pairs, ["old_code", "old_name"], "lad_code")
    best = best[best["old_code"] != best["lad_code"]].set_index("old_code")
    best["note"] = [
        f"{o} ({c}) is now part of {names.get(n, n)} ({n})" if names.get(n, n) != o else f"{o} ({c}) is now coded {n}"
        for c, o, n in zip(best.index, best["old_name"], best["lad_code"], strict=True)
    ]
    wales = lookup[lookup["lad_code"].str.startswith("W")].drop_duplicates("lad_code").set_index("lad_code")[["lad_name"]]
    return best, wales.rename(columns={"lad_name": "name"})


def _practices(files: dict[str, Path], wards: gpd.GeoDataFrame, used: set[str], notes: list[str]) -> gpd.GeoDataFrame:
    """Read England's GP practices, geocode their postcodes offline, and add the ward and authority of their premises."""
    pr = _noted(lambda: loaders.read_practices(files["practices"], vintage="ODS epraccur 2023-12"), "practices", notes)
    j = gpd.sjoin(pr[[pr.geometry.name]], wards[["WD25CD", "LAD25CD", "geometry"]], how="left", predicate="within")
    j = j[~j.index.duplicated()]
    pr["ward_code"] = j["WD25CD"].reindex(pr.index)
    pr["lad_code"] = j["LAD25CD"].reindex(pr.index)
    pr["in_use"] = pr["status"].eq(ACTIVE_STATUS) | isin_text(pr.index, used)
    return pr


def _authorities(wards: gpd.GeoDataFrame, lsoas: pd.DataFrame, practices: gpd.GeoDataFrame, census: pd.DataFrame) -> pd.DataFrame:
    """Return the 296 authorities: name, kind, region, wards, LSOAs, practices in use with premises there, Census 2021 residents."""
    g = wards.groupby("LAD25CD")
    out = pd.DataFrame({"name": g["LAD25NM"].first(), "region": g["RGNCD"].first().map(REGIONS), "wards": g.size()})
    out.index.name = "lad_code"
    out.insert(1, "kind", [authority_kind(c) for c in out.index])
    out["lsoas"] = lsoas.groupby("lad_code").size().reindex(out.index).fillna(0).astype("int64")
    out["practices"] = practices[practices["in_use"]].groupby("lad_code").size().reindex(out.index).fillna(0).astype("int64")
    res = census["population"].groupby(lsoas["lad_code"].reindex(census.index).to_numpy()).sum()
    out["residents"] = res.reindex(out.index).fillna(0).astype("int64")
    return out.sort_values("name")


def _carry_registrations(reg: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Carry July 2022 registrations from 2011 to 2021 LSOAs through `pairs`; every patient kept (else a placekit bug)."""
    out = convert_lsoa_vintage(reg, pairs, from_col="lsoa11", to_col="lsoa21", weight_col="weight", to_vintage="2021")
    if int(out["patients"].sum()) != int(reg["patients"].sum()):
        raise PlacekitError("carrying registrations to 2021 LSOAs changed the patient total; this is a placekit bug, please report it.")
    split = isin_text(reg["lsoa_code"], pairs.loc[pairs["method"].str.startswith("split"), "lsoa11"])
    out.attrs["note"] = (
        f"GP registrations (July 2022) are on 2011 LSOAs; carried to 2021 LSOAs through the ONS best-fit lookup, each split 2011 "
        f"LSOA shared among its 2021 parts by their Census 2021 residents ({int(reg.loc[split, 'patients'].sum()):,} of "
        f"{int(reg['patients'].sum()):,} patients in England's file live in a split LSOA); every patient kept."
    )
    return out


def _read_core(files: dict[str, Path], notes: list[str]) -> dict[str, Any]:
    """Read the required national files and the boundaries."""
    wards = _read_boundaries(files["wards"], ["WD25CD", "WD25NM", "LAD25CD", "LAD25NM", "RGNCD"], "ward boundaries")
    stray = wards["WD25CD"].isna()
    if stray.any():
        notes.append(LoadNote(f"ward boundaries: {int(stray.sum())} feature(s) without a May 2025 ward code left out (a 2022 ward the "
                              "file keeps beside its successors).", layer="wards", level="info"))  # fmt: skip
    wards = wards[~stray].reset_index(drop=True)
    # Validity is checked where geometry enters an overlay (split_part_parents, best_fit_wards): checking all 66,000 LSOAs here costs seconds.
    lsoas21 = _read_boundaries(files["lsoas21"], ["LSOA21CD", "LSOA21NM", "LADCD_ACTIVE"], "LSOA 2021 boundaries")
    lsoas11 = _read_boundaries(files["lsoas11"], ["LSOA11CD", "LSOA11NM"], "LSOA 2011 boundaries").set_index("LSOA11CD")
    lookup = _noted(lambda: loaders.read_lsoa11_lsoa21_lookup(files["lookup"]), "lsoa11_lsoa21", notes)
    census = _noted(lambda: read_census_age6(files["census"], vintage="Census 2021 (21 March 2021)"), "census", notes)
    reg = _noted(lambda: read_registrations(files["registrations"]), "registrations", notes)
    pcn = _noted(lambda: loaders.read_pcn_map(files["pcn_map"], vintage="2022-01"), "pcn_map", notes)
    return {"wards": wards, "lsoas21": lsoas21, "lsoas11": lsoas11, "lookup": lookup, "census": census, "reg": reg, "pcn": pcn}


def _read_optional(files: dict[str, Path], notes: list[str]) -> dict[str, Any]:
    """Read the optional national files (None, with a note naming the file and its source, when absent)."""
    qof_paths = (files.get("qof"), files.get("qof_mapping"))
    return {
        "imd": _optional(files, "imd", lambda p: loaders.read_imd(p, vintage="IoD2019"), notes),
        "pop11": _optional(files, "population11", lambda p: loaders.read_population(p), notes),
        "list_sizes": _optional(files, "list_sizes", lambda p: loaders.read_list_sizes(p, vintage="2021-01"), notes),
        "qof": _optional(files, "qof", lambda p: read_qof(p, qof_paths[1], vintage="QOF 2022-23", over_list="warn"), notes),
        "practice_ages": _optional(files, "practice_ages", lambda p: read_practice_ages(p, vintage="April 2020"), notes),
        "hospitals": _optional(files, "hospitals", lambda p: loaders.read_hospitals(p, vintage="2018-01"), notes),
        "trusts": _optional(files, "trusts", lambda p: loaders.read_trusts(p, vintage="ODS etr 2022-03"), notes),
        "catchments": _optional(files, "catchments", lambda p: loaders.read_catchments(
            p, vintage="2019 all admissions (trust codes as of ~Nov 2021)"), notes),
        "msoa_codes": (pd.read_parquet(files["msoas11"], columns=["MSOA11CD", "MSOA11NM"]).set_index("MSOA11NM")["MSOA11CD"]
                       if "msoas11" in files else None),
    }  # fmt: skip


def _carry_imd(imd: pd.DataFrame | None, lsoas: pd.DataFrame) -> pd.DataFrame | None:
    """Give each 2021 LSOA the IMD 2019 ranks and deciles of its 2011 parent (modelled; IMD 2019 is on 2011 LSOAs)."""
    if imd is None:
        return None
    out = imd.drop(columns=["lad_code"], errors="ignore").reindex(lsoas["lsoa11_code"].to_numpy())
    out.index = lsoas.index
    out = out[out["imd_rank"].notna()].astype("int64")
    out.attrs.update(imd.attrs)
    out.attrs.update({"status": "modelled", "vintage": "IoD2019 (2011 LSOAs), carried to 2021 LSOAs through each LSOA's 2011 parent"})
    return out


def _build_tables(root: Path, key: str) -> EnglandTables:
    """Read every national file and make the England-wide tables (see the module docstring)."""
    files, notes = present_files(root), []
    core, opt = _read_core(files, notes), _read_optional(files, notes)
    residents21 = core["census"]["population"]
    pairs = lsoa11_to_lsoa21_pairs(core["lookup"], lsoas11=core["lsoas11"], lsoas21=core["lsoas21"].set_index("LSOA21CD"),
                                   residents21=residents21)  # fmt: skip
    pop11 = opt["pop11"]["population"] if opt["pop11"] is not None else None
    lsoas = _lsoa_table(core["lsoas21"], _lad_aliases(core["lsoas21"], core["wards"]), _parents(core["lookup"], pairs, pop11),
                        core["lsoas11"]["LSOA11NM"], opt["msoa_codes"])  # fmt: skip
    reg = _carry_registrations(core["reg"], pairs)
    notes.append(LoadNote(reg.attrs["note"], layer="registrations", level="info"))
    census = core["census"][isin_text(core["census"].index, lsoas.index)]
    census.attrs.update(core["census"].attrs)
    practices = _practices(files, core["wards"], set(core["reg"]["practice_code"].unique()), notes)
    authorities = _authorities(core["wards"], lsoas, practices, census)
    successors, wales = _successors(core["lookup"], lsoas, authorities["name"])
    wards = core["wards"]
    pts = wards.geometry.representative_point()
    ward_table = pd.DataFrame({"name": wards["WD25NM"].to_numpy(), "lad_code": wards["LAD25CD"].to_numpy(), "x": pts.x.to_numpy(),
                               "y": pts.y.to_numpy()}, index=pd.Index(wards["WD25CD"].to_numpy(), name="ward_code"))  # fmt: skip
    vintages = {"registrations": "2022-07 (LSOA 2021, converted)", "practices": "ODS epraccur 2023-12", "pcn_map": "2022-01",
                "census": "Census 2021 (21 March 2021)", "wards": "May 2025 wards (WD25)", "lsoas": "2021"}  # fmt: skip
    return EnglandTables(root=root, key=key, authorities=authorities, successors=successors, other_nations=wales, wards=ward_table,
                         lsoas=lsoas, practices=practices, registrations=reg, census=census, imd=_carry_imd(opt["imd"], lsoas),
                         pcn_map=core["pcn"], list_sizes=opt["list_sizes"], qof=opt["qof"], practice_ages=opt["practice_ages"],
                         hospitals=opt["hospitals"], trusts=opt["trusts"], catchments=opt["catchments"], vintages=vintages,
                         notes=notes, missing=tuple(f.key for f in NATIONAL_FILES if f.key not in files))  # fmt: skip


def _tables_path(key: str) -> Path:
    return cache_dir() / "england" / f"tables-{key}.pickle"


_LOADED: dict[tuple[str, str], EnglandTables] = {}


def england_tables(data: str | Path) -> EnglandTables:
    """Return England's tables for the data root `data`: from this process, from the cache, or built and cached.

    The cache (``$PLACEKIT_HOME/cache/england/``) is keyed by every national file's path,
    size and modification time (:func:`input_key`), so a changed input rebuilds it.

    Raises
    ------
    DataRootError
        When `data` is not a folder, or a required national file is missing (named, with what to download).
    """
    root = Path(data).expanduser().resolve()
    if not root.is_dir():
        raise DataRootError(f"data root {root} is not a folder; set --data DIR or PLACEKIT_DATA to the folder holding the national files.")
    present_files(root)
    key = input_key(root)
    if (str(root), key) in _LOADED:
        return _LOADED[(str(root), key)]
    path = _tables_path(key)
    tables = None
    if path.exists():
        try:
            with path.open("rb") as fh:
                tables = pickle.load(fh)  # noqa: S301 - our own cache file under PLACEKIT_HOME
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            tables = None
    if not isinstance(tables, EnglandTables) or tables.key != key:
        tables = _build_tables(root, key)
        write_atomic(tables, path, lambda obj, p: p.write_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)))
    tables = tables if tables.root == root else _with_root(tables, root)
    _LOADED.clear()  # keep one data root's tables in memory
    _LOADED[(str(root), key)] = tables
    return tables


def _with_root(tables: EnglandTables, root: Path) -> EnglandTables:
    """Return `tables` pointing at `root` (the same files, reached by another path)."""
    return dataclasses.replace(tables, root=root)


@dataclass(frozen=True)
class EnglandIndex:
    """The authorities of England and the codes replaced since 2022: enough to resolve a name without the tables."""

    key: str
    authorities: pd.DataFrame
    successors: pd.DataFrame
    other_nations: pd.DataFrame


def _index_path(key: str) -> Path:
    return cache_dir() / "england" / f"index-{key}.pickle"


def england_index(data: str | Path) -> EnglandIndex:
    """Return England's authorities and successors for the data root `data` (a small cache; the tables only when it is absent)."""
    root = Path(data).expanduser().resolve()
    if not root.is_dir():
        raise DataRootError(f"data root {root} is not a folder; set --data DIR or PLACEKIT_DATA to the folder holding the national files.")
    present_files(root)
    key = input_key(root)
    path = _index_path(key)
    if path.exists():
        try:
            with path.open("rb") as fh:
                idx = pickle.load(fh)  # noqa: S301 - our own cache file under PLACEKIT_HOME
            if isinstance(idx, EnglandIndex) and idx.key == key:
                return idx
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            pass
    t = england_tables(root)
    idx = EnglandIndex(key=t.key, authorities=t.authorities, successors=t.successors, other_nations=t.other_nations)
    write_atomic(idx, path, lambda obj, p: p.write_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)))
    return idx


def authority_names(data: str | Path) -> pd.Series | None:
    """Return England's local authorities (code → name) from the ward boundaries alone, without building the tables; None without the file.

    Cheap (two columns of one file), for a place picker.
    """
    path = Path(data).expanduser() / _FILES["wards"].path
    if not path.is_file():
        return None
    try:
        w = pd.read_parquet(path, columns=["LAD25CD", "LAD25NM"]).dropna().drop_duplicates("LAD25CD")
    except (OSError, ValueError, KeyError):
        return None
    return w.set_index("LAD25CD")["LAD25NM"].sort_values()
