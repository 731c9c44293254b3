"""A place for any English local authority, cut from England's national files (:mod:`geo.england`).

:func:`open_place` is what the command line and the app call with ``--place``: a ``.toml``
path loads a manifest as before (:func:`geo.place.load_place`); anything else names an
English local authority by code or name (:func:`resolve_authority`) and
:func:`national_place` builds it, or reads it from its cache under ``$PLACEKIT_HOME`` (keyed
by the national files' paths, sizes and modification times, so a changed file rebuilds it).

A place from the national files is on **2021 LSOAs** with **Census 2021 residents**
(``Place.population_base == "census2021"``) and the **May 2025 wards**; each LSOA reaches a
ward by a modelled best fit (:func:`geo.england.best_fit_wards`), the July 2022 registrations
are carried to 2021 LSOAs, and IMD 2019 reaches each 2021 LSOA from its 2011 parent.
"""

from __future__ import annotations

import dataclasses
import difflib
import pickle
import re
from collections import OrderedDict
from collections.abc import Collection
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo._fast import isin_text
from geo.england import (
    BEST_FIT_METHOD,
    BEST_FIT_VINTAGE,
    NATIONAL_FILES,
    EnglandIndex,
    EnglandTables,
    best_fit_wards,
    cached_best_fit,
    england_index,
    england_tables,
    input_key,
    national_path,
    read_areas_of,
    write_atomic,
)
from geo.manifest import Manifest
from geo.model import Place
from geo.place import DATA_LOSS_FIX, MIN_RESIDENTS_OF_MISSING_PRACTICE, LoadNote, load_place
from placekit.errors import DataLossError, DataRootError, PlacekitError, UnknownCodeError
from placekit.settings import cache_dir, data_root

__all__ = [
    "open_place",
    "national_place",
    "build_place",
    "resolve_authority",
    "is_manifest",
    "NATIONAL_SCHEMA",
    "HOSPITAL_RADIUS_M",
    "ENGLAND_ONLY",
]

#: Version of a cached national place's layout; a new version rebuilds every cached place.
NATIONAL_SCHEMA = 1
#: Hospital sites within this distance of the place (metres) join its hospitals layer (sites just over the border serve it too).
HOSPITAL_RADIUS_M = 15_000
#: Why a Welsh, Scottish or Northern Irish authority cannot be built.
ENGLAND_ONLY = (
    "placekit builds places from national files for England only, because the registrations file is England's (NHS Digital's GP "
    "registrations by LSOA cover practices in England)"
)
_OTHER_NATION = re.compile(r"^[WSN]\d{8}$")


def is_manifest(place: str | Path | Manifest | None) -> bool:
    """Return True when `place` names a manifest (a ``.toml`` path or a Manifest), not an authority."""
    if place is None or isinstance(place, Manifest):
        return True
    text = str(place)
    return text.lower().endswith(".toml") or ("/" in text and Path(text).is_file())


def _norm(text: str) -> str:
    text = str(text).casefold().replace("&", " and ")
    return re.sub(r"[^0-9a-z]+", " ", text).strip()


def _suggestions(text: str, index: EnglandIndex) -> list[str]:
    """Return up to 6 authorities whose names are closest to `text` (difflib), or contain it."""
    names = {_norm(n): f"{n} ({c})" for c, n in index.authorities["name"].items()}
    names |= {_norm(n): f"{n} ({c}, now {index.successors.at[c, 'lad_code']})" for c, n in index.successors["old_name"].items()}
    want = _norm(text)
    close = difflib.get_close_matches(want, list(names), n=6, cutoff=0.55)
    inside = [k for k in names if want and want in k and k not in close]
    return [names[k] for k in [*close, *inside][:6]]


def resolve_authority(text: str, index: EnglandIndex) -> tuple[str, list[str]]:
    """Return the code of the English local authority `text` names (code or name, any case) and notes on how it was read.

    An authority replaced since 2022 (the Cumbria, North Yorkshire and Somerset districts in
    2023) resolves to its successor, with a note saying so.

    Raises
    ------
    UnknownCodeError
        A Welsh, Scottish or Northern Irish authority (England only, and why); or no authority
        of that code or name, with the closest names.
    """
    raw = str(text).strip()
    code = raw.upper()
    names = index.authorities["name"]
    if code in index.authorities.index:
        return code, []
    by_name = {_norm(n): c for c, n in names.items()}
    old_by_name = {_norm(n): c for c, n in index.successors["old_name"].items()}
    old = code if code in index.successors.index else old_by_name.get(_norm(raw)) if _norm(raw) not in by_name else None
    if old is not None:
        new = index.successors.at[old, "lad_code"]
        return new, [f"{index.successors.at[old, 'note']}; building {names[new]} ({new})."]
    if _norm(raw) in by_name:
        return by_name[_norm(raw)], []
    wales = {_norm(n): c for c, n in index.other_nations["name"].items()}
    if _OTHER_NATION.match(code) or _norm(raw) in wales:
        c = code if _OTHER_NATION.match(code) else wales[_norm(raw)]
        named = index.other_nations["name"].get(c)
        raise UnknownCodeError(f"--place {raw!r}{f' ({named}, {c})' if named else ''} is not in England: {ENGLAND_ONLY}.")
    near = _suggestions(raw, index)
    raise UnknownCodeError(
        f"--place {raw!r} is not the code or name of an English local authority"
        + (f"; the closest are: {', '.join(near)}" if near else "")
        + ". Run `placekit places` to list all 296 (a path to a manifest must end in .toml)."
    )


# --------------------------------------------------------------------------- building one place
def _best_fit(tables: EnglandTables, lsoas: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, code: str) -> pd.Series:
    """Return the modelled best-fit ward of each LSOA of the place (England's cached table when it exists, else computed here)."""
    cached = cached_best_fit(tables)
    if cached is not None and isin_text(lsoas.index, cached.index).all():
        return cached["ward_code"].reindex(lsoas.index)
    return best_fit_wards(lsoas.assign(lad_code=code), wards.assign(lad_code=code))["ward_code"]


def _lsoa_ward(tables: EnglandTables, fit: pd.Series, wards: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return the LSOA → ward table of the place: every English 2021 LSOA with its authority; the place's with their ward."""
    t = tables.lsoas
    out = pd.DataFrame({"ward_code": fit.reindex(t.index).to_numpy(dtype=object)}, index=pd.Index(t.index, name="lsoa_code"))
    out["ward_name"] = out["ward_code"].map(wards["name"])
    out["lad_code"] = t["lad_code"].to_numpy()
    out["lad_name"] = t["lad_code"].map(tables.authorities["name"]).to_numpy()
    out.attrs.update({"layer": "lsoa_ward", "vintage": BEST_FIT_VINTAGE, "status": "modelled", "method": BEST_FIT_METHOD})
    return out


def _frames(tables: EnglandTables, code: str, lsoas: pd.Index) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return the place's practice layer and registrations.

    Practices: those whose premises stand in the authority (any ODS status; the place decides
    which are in use), and those elsewhere holding residents of the place (ward NaN).
    Registrations: every row of those practices (their whole lists) and every resident of the place.
    """
    reg = tables.registrations
    resident = isin_text(reg["lsoa_code"], lsoas)
    pr = tables.practices
    own = pr.index[pr["lad_code"].eq(code).fillna(False).to_numpy()]
    holders = pd.Index(reg.loc[resident, "practice_code"].unique()).difference(own)
    keep = pd.Index(own.union(holders.intersection(pr.index)))
    rows = resident | isin_text(reg["practice_code"], keep)
    registrations = reg[rows].reset_index(drop=True)
    registrations.attrs.update(reg.attrs)
    registrations.attrs.update({"lsoa_vintage": "2021", "modelled": True})
    practices = pr.loc[keep].copy()
    practices.loc[~practices.index.isin(own), "ward_code"] = np.nan
    practices = practices.drop(columns=["lad_code", "in_use"])
    practices.attrs.update(pr.attrs)
    return practices, registrations


def _losses(tables: EnglandTables, name: str, code: str, practices: gpd.GeoDataFrame, registrations: pd.DataFrame,
            lsoas: pd.Index) -> list[str]:  # fmt: skip
    """Return every input that would silently change the place's headline figures (as :func:`geo.place.data_losses`)."""
    res = registrations[isin_text(registrations["lsoa_code"], lsoas)].groupby("practice_code")["patients"].sum()
    out = []
    lost = practices[practices["ward_code"].isna() & practices["postcode_lad"].eq(code).fillna(False).astype(bool)]
    for p, r in lost.iterrows():
        out.append(f"practice {p} ({r['practice_name']}) has its postcode {r['postcode']!r} in {name} but lies in no ward of the May 2025 "
                   "boundaries; its patients would count as registered outside the place. Check the ward boundaries file.")  # fmt: skip
    unlocated = practices[~practices["geocoded"].astype(bool)]
    for p in unlocated.index.intersection(res.index):
        out.append(f"practice {p} holds {int(res[p]):,} residents of {name} but its postcode {practices.at[p, 'postcode']!r} was not "
                   "found; they would count as registered outside the place. Fix the postcode in the practice list.")  # fmt: skip
    absent = res[~isin_text(res.index, tables.practices.index) & (res >= MIN_RESIDENTS_OF_MISSING_PRACTICE)]
    for p, n in absent.items():
        out.append(f"practice {p} holds {int(n):,} residents of {name} in the registrations but is not a GP practice of the ODS "
                   "list (epraccur); its patients would count as registered outside the place. Use a practice list that includes it.")  # fmt: skip
    return out


def _hospitals(tables: EnglandTables, wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """Return the hospital sites within :data:`HOSPITAL_RADIUS_M` of the place."""
    h = tables.hospitals
    if h is None:
        return None
    area = shapely.union_all(wards.geometry.to_numpy())
    near = h[shapely.dwithin(h.geometry.to_numpy(), area, HOSPITAL_RADIUS_M)]
    near.attrs.update(h.attrs)
    return near


def _msoa_layers(tables: EnglandTables, lsoas: pd.Index) -> tuple[gpd.GeoDataFrame | None, pd.DataFrame | None, pd.DataFrame | None]:
    """Return the 2011 MSOAs of the place's LSOAs (boundaries, LSOA → MSOA table) and the trust catchments of those MSOAs."""
    t = tables.lsoas.loc[lsoas]
    if t["msoa_code"].isna().all():
        return None, None, None
    lsoa_msoa = t[["msoa_code", "msoa_name"]].copy()
    lsoa_msoa.index.name = "lsoa_code"
    lsoa_msoa.attrs.update({"layer": "lsoa_msoa", "status": "modelled", "vintage": "LSOA 2021 → MSOA 2011 through each LSOA's 2011 "
                            "parent (ONS best fit read backwards; an LSOA name is its MSOA name plus a letter)"})  # fmt: skip
    codes = sorted(lsoa_msoa["msoa_code"].dropna().unique())
    msoas = read_areas_of(national_path(tables.root, "msoas11"), "MSOA11CD", "MSOA11NM", "MSOA11CD", codes)
    msoas.index.name = "msoa_code"
    msoas.attrs.update({"layer": "msoas", "vintage": "2011"})
    c = tables.catchments
    catchments = None
    if c is not None:
        catchments = c[c["msoa_code"].isin(codes)].reset_index(drop=True)
        catchments.attrs.update(c.attrs)
    return msoas, lsoa_msoa, catchments


def _status_vintages(tables: EnglandTables, layers: dict[str, object]) -> tuple[dict[str, str], dict[str, str]]:
    modelled = {"lsoa_ward", "imd", "lsoa_msoa", "registrations"}
    status = {k: ("modelled" if k in modelled else "real") for k, v in layers.items() if v is not None}
    vintages = {"wards": "May 2025 wards (WD25)", "lsoas": "2021", "lsoa_ward": BEST_FIT_VINTAGE, "population": "Census 2021 (21 March 2021)",
                "census": "Census 2021 (21 March 2021)", "imd": "IoD2019, carried to 2021 LSOAs from their 2011 parents (modelled)",
                "msoas": "2011", "lsoa_msoa": "LSOA 2021 → MSOA 2011 (modelled, through 2011 parents)", "practices": "ODS epraccur 2023-12",
                "list_sizes": "2021-01", "pcn_map": "2022-01", "registrations": "2022-07 (LSOA 2021, converted)", "hospitals": "2018-01",
                "catchments": "2019 all admissions (trust codes as of ~Nov 2021)", "trusts": "ODS etr 2022-03", "qof": "QOF 2022-23",
                "practice_ages": "April 2020"}  # fmt: skip
    return status, {k: v for k, v in vintages.items() if k in status}


def _notes(tables: EnglandTables, name: str, code: str, wards: gpd.GeoDataFrame, fit: pd.Series) -> list[str]:
    """Say how the place was built, and name each ward the best fit leaves without an LSOA (kept, with no residents)."""
    notes = [LoadNote(f"{name} ({code}) is built from England's national files: 2021 LSOAs with Census 2021 residents; May 2025 wards, "
                      "each LSOA in one ward by a modelled best fit (largest area overlap; no official lookup exists); July 2022 "
                      "registrations carried to 2021 LSOAs (split LSOAs shared by Census 2021 residents); IMD 2019 from each "
                      "LSOA's 2011 parent.", layer="place", level="info")]  # fmt: skip
    empty = wards.index[~wards.index.isin(fit.dropna().unique())]
    if len(empty):
        listed = ", ".join(f"{wards.at[w, 'name']} ({w})" for w in empty)
        notes.append(LoadNote(f"the modelled best fit gives {len(empty)} ward(s) of {name} no LSOA: {listed}. Each is kept with 0 residents "
                              "(its people count in the wards holding most of their LSOAs' area).", layer="lsoa_ward"))  # fmt: skip
    for key in tables.missing:
        notes.append(LoadNote(f"national file {key} is absent from the data root; the figures that need it are unavailable "
                              "(see `placekit places` for the files a place needs).", layer=key))  # fmt: skip
    return notes


def build_place(tables: EnglandTables, code: str, *, allow_data_loss: bool = False) -> Place:
    """Build the place of the English local authority `code` from England's tables (see the module docstring).

    Raises
    ------
    UnknownCodeError
        When `code` is not one of the 296 authorities.
    DataLossError
        When an input would silently change its headline figures (a practice of the place
        in no ward or not located; a practice missing from the ODS list holding 500 or more of
        its residents), unless `allow_data_loss` (they are then warnings).
    """
    if code not in tables.authorities.index:
        raise UnknownCodeError(f"{code!r} is not one of England's {len(tables.authorities)} local authorities; run `placekit places`.")
    name = str(tables.authorities.at[code, "name"])
    wards = read_areas_of(national_path(tables.root, "wards"), "WD25CD", "WD25NM", "LAD25CD", [code])
    lsoas = read_areas_of(national_path(tables.root, "lsoas21"), "LSOA21CD", "LSOA21NM", "LADCD_ACTIVE", tables.aliases(code))
    wards.index.name, lsoas.index.name = "ward_code", "lsoa_code"
    wards.attrs.update({"layer": "wards", "vintage": "May 2025 wards (WD25)"})
    lsoas.attrs.update({"layer": "lsoas", "vintage": "2021"})
    fit = _best_fit(tables, lsoas, wards, code)
    census = tables.census.reindex(lsoas.index)
    if census["population"].isna().any():
        raise PlacekitError(f"the Census 2021 file has no residents for {int(census['population'].isna().sum())} LSOA(s) of {name}, e.g. "
                            f"{list(lsoas.index[census['population'].isna()][:4])}; use the England and Wales file of 2021 LSOAs.")  # fmt: skip
    census = census.astype("int64")
    census.index.name = "lsoa21_code"
    census.attrs.update(tables.census.attrs)
    practices, registrations = _frames(tables, code, lsoas.index)
    losses = _losses(tables, name, code, practices, registrations, lsoas.index)
    if losses and not allow_data_loss:
        raise DataLossError(losses, fix=DATA_LOSS_FIX.replace(" or set allow_data_loss = true in the [place] table of the manifest", ""))
    msoas, lsoa_msoa, catchments = _msoa_layers(tables, lsoas.index)
    used = practices.index.union(pd.Index(registrations["practice_code"].unique()))
    layers = {"wards": wards, "lsoas": lsoas, "lsoa_ward": _lsoa_ward(tables, fit, wards), "population": census, "census": census,
              "imd": tables.imd.reindex(lsoas.index) if tables.imd is not None else None, "msoas": msoas, "lsoa_msoa": lsoa_msoa,
              "practices": practices, "list_sizes": _subset(tables.list_sizes, used), "pcn_map": _subset(tables.pcn_map, used),
              "registrations": registrations, "hospitals": _hospitals(tables, wards), "catchments": catchments, "trusts": tables.trusts,
              "qof": tables.qof, "practice_ages": tables.practice_ages}  # fmt: skip
    for layer, keys in _SOURCES.items():
        if layers.get(layer) is not None:
            layers[layer].attrs["source"] = " + ".join(_FILE_PATHS[k] for k in keys)
    status, vintages = _status_vintages(tables, layers)
    notes = _notes(tables, name, code, wards, fit) + [LoadNote(f"accepted data loss: {x}", layer="practices") for x in losses]
    return Place(name=name, **layers, lad_code=code, lsoa_vintage="2021", ward_set="May 2025 wards", population_base="census2021",
                 built_from="national", demo=False, data_root=tables.root, status=status, vintages=vintages, notes=notes)  # fmt: skip


#: The national files (keys of :data:`geo.england.NATIONAL_FILES`) each layer of a national place is made from.
_SOURCES = {"wards": ("wards",), "lsoas": ("lsoas21",), "lsoa_ward": ("lsoas21", "wards"), "population": ("census",),
            "imd": ("imd", "lookup", "lsoas11"), "msoas": ("msoas11",), "lsoa_msoa": ("lookup", "lsoas11", "msoas11"),
            "practices": ("practices",), "list_sizes": ("list_sizes",), "pcn_map": ("pcn_map",),
            "registrations": ("registrations", "lookup", "lsoas11", "lsoas21", "census"), "hospitals": ("hospitals",),
            "catchments": ("catchments",), "trusts": ("trusts",), "qof": ("qof", "qof_mapping"), "practice_ages": ("practice_ages",)}  # fmt: skip
_FILE_PATHS = {f.key: f.path for f in NATIONAL_FILES}


def _subset(frame: pd.DataFrame | None, codes: pd.Index) -> pd.DataFrame | None:
    if frame is None:
        return None
    out = frame[frame.index.isin(codes)]
    out.attrs.update(frame.attrs)
    return out


# --------------------------------------------------------------------------- cache and entry points
def _place_path(key: str, code: str, allow_data_loss: bool) -> Path:
    return cache_dir() / "places" / f"{code}-{key}-s{NATIONAL_SCHEMA}{'-loss' if allow_data_loss else ''}.pickle"


def _read_cached(path: Path) -> Place | None:
    if not path.exists():
        return None
    try:
        with path.open("rb") as fh:
            place = pickle.load(fh)  # noqa: S301 - our own cache file under PLACEKIT_HOME
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return None
    return place if isinstance(place, Place) else None


#: The places this process opened last (cache file → place), so a second command in one process (tests, notebooks) skips unpickling.
_RECENT: OrderedDict[Path, Place] = OrderedDict()


def national_place(data: str | Path, place: str, *, allow_data_loss: bool = False) -> Place:
    """Return the place of the English local authority `place` (code or name) from the national files under `data`.

    A built place is cached under ``$PLACEKIT_HOME/cache/places`` keyed by the national files
    (path, size, modification time), so the second call reads it back; a changed file rebuilds it.
    """
    root = Path(data).expanduser().resolve()
    index = england_index(root)
    code, how = resolve_authority(place, index)
    path = _place_path(input_key(root), code, allow_data_loss)
    built = _RECENT.get(path) if path.exists() else None
    built = built if built is not None else _read_cached(path)
    if built is None:
        built = build_place(england_tables(root), code, allow_data_loss=allow_data_loss)
        write_atomic(built, path, lambda obj, p: p.write_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)))
    if built.data_root != root:
        built = dataclasses.replace(built, data_root=root)
    _RECENT[path] = built
    _RECENT.move_to_end(path)
    while len(_RECENT) > 4:
        _RECENT.popitem(last=False)
    return dataclasses.replace(built, notes=[LoadNote(n, layer="place", level="info") for n in how] + list(built.notes)) if how else built


def open_place(
    data: str | Path | None = None,
    place: str | Path | Manifest | None = None,
    *,
    with_sites: bool = True,
    allow_data_loss: bool | None = None,
    skip: Collection[str] = (),
) -> Place:
    """Open the place ``--place`` names: a manifest (``.toml``; the shipped Manchester manifest when None) or an English authority.

    Parameters
    ----------
    data
        Data root (``--data``); ``$PLACEKIT_DATA`` when None. With neither, a manifest place
        is the embedded demo place, and an authority is refused (it needs the national files).
    place
        A manifest path or object, or an authority's code or name (``E08000035``, ``Leeds``).
    with_sites, skip
        As :func:`geo.place.load_place` (a place from the national files is built whole and cached).
    allow_data_loss
        As :func:`geo.place.load_place`.
    """
    if is_manifest(place):
        return load_place(data, manifest=place, with_sites=with_sites, allow_data_loss=allow_data_loss, skip=skip)
    root = data_root(data)
    if root is None:
        raise DataRootError(f"--place {place!r} builds a place from England's national files, which need a data root: set --data DIR or "
                            "PLACEKIT_DATA (without one, placekit runs on its demo place).")  # fmt: skip
    return national_place(root, str(place), allow_data_loss=bool(allow_data_loss))
