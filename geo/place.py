"""Load a place: read every layer its manifest names, check them against each other, and join them.

The chain is :func:`load_place` → :func:`read_layers` (one loader per format, see
:data:`LOADERS`) → :func:`check_layers` (vintages and coverage across layers) →
:class:`~geo.model.Place`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo import loaders
from geo._validate import lsoa_vintage_of, require_known
from geo.assets import assets_layer
from geo.census import census_layer
from geo.demo import demo_place
from geo.health import QOFAnomalyWarning, practice_ages_layer, qof_layer
from geo.manifest import LayerSpec, Manifest, read_manifest
from geo.model import ACTIVE_STATUS, Place, practice_wards
from geo.registrations import UNKNOWN_LSOA, combine_registrations, convert_registrations, read_registrations
from placekit.errors import DataLossError, DataRootError, PlacekitError, VintageMismatchError
from placekit.settings import data_root as resolve_root

__all__ = [
    "Place",
    "LoadNote",
    "load_place",
    "read_layer",
    "read_layers",
    "check_layers",
    "data_losses",
    "LOADERS",
    "OPTIONAL_LAYERS",
    "MIN_RESIDENTS_OF_MISSING_PRACTICE",
    "DATA_LOSS_FIX",
    "practice_wards",
]

#: A practice absent from the practice list but holding at least this many residents of the place is taken to
#: stand in the place (practices elsewhere hold a few dozen: 75 at most in Manchester's July 2022 files).
MIN_RESIDENTS_OF_MISSING_PRACTICE = 500

#: How to fix or accept a data loss; the last sentence of every :class:`~placekit.errors.DataLossError`.
DATA_LOSS_FIX = (
    "Fix the files as each line says. To accept figures without them, pass --allow-data-loss to placekit "
    "(load_place(..., allow_data_loss=True)) or set allow_data_loss = true in the [place] table of the manifest; "
    "the losses are then listed as warnings."
)


def _note(text: str, layer: str, level: str) -> LoadNote:
    return LoadNote(text, layer=layer, level=level)


class LoadNote(str):
    """One thing the loader reported: the text, the layer it is about and its level.

    A ``str``, so code that prints notes keeps working; ``layer`` is the manifest layer
    (``practices``, ``registrations``, ``wards``, ...) and ``level`` is ``"warning"``
    (something may be wrong with the figures; ``--strict`` refuses it) or ``"info"``
    (a documented rule was applied).
    """

    layer: str
    level: str

    def __new__(cls, text: str, *, layer: str = "", level: str = "warning") -> LoadNote:
        obj = super().__new__(cls, text)
        obj.layer = layer
        obj.level = level
        return obj

    def __reduce__(self):
        return (_note, (str(self), self.layer, self.level))


#: Layers a manifest may add beyond the four required ones (wards, lsoas, lsoa_ward, population).
OPTIONAL_LAYERS = ("imd", "msoas", "lsoa_msoa", "practices", "list_sizes", "pcn_map", "registrations", "hospitals", "catchments", "trusts",
                   "lsoa11_lsoa21", "lsoas_2021", "census", "qof", "practice_ages", "assets")  # fmt: skip
_INDEX_NAMES = {"wards": "ward_code", "lsoas": "lsoa_code", "msoas": "msoa_code"}
# Notes that change no figure: a practice closed since the extract still counts for it; a QOF register larger
# than its list is kept in the layer but refused by any figure it would enter (boundaries.health).
_INFO = (loaders.ClosedPracticeWarning, QOFAnomalyWarning)
_FOR_DEVELOPERS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def _areas(spec: LayerSpec, paths: list[Path]) -> gpd.GeoDataFrame:
    c = spec.columns
    return loaders.read_areas(paths[0], code_col=c["code"], name_col=c.get("name"), layer=spec.name, vintage=spec.vintage,
                              index_name=_INDEX_NAMES[spec.name.split("_")[0]], crs=spec.options.get("crs"))  # fmt: skip


def _lookup(spec: LayerSpec, paths: list[Path]) -> pd.DataFrame:
    c = spec.columns
    if "ward" in c:
        return loaders.read_lsoa_ward_lookup(paths[0], lsoa_col=c["lsoa"], ward_col=c["ward"], ward_name_col=c["ward_name"],
                                             lad_col=c["lad"], lad_name_col=c["lad_name"], vintage=spec.vintage)  # fmt: skip
    return loaders.read_lsoa_msoa_lookup(paths[0], lsoa_col=c["lsoa"], msoa_col=c["msoa"], msoa_name_col=c["msoa_name"])


def _registrations(spec: LayerSpec, paths: list[Path]) -> pd.DataFrame:
    frames = [read_registrations(f) for f in paths]
    return combine_registrations(frames) if len(frames) > 1 else frames[0]


def _sites(spec: LayerSpec, paths: list[Path]) -> gpd.GeoDataFrame:
    o = spec.options
    return loaders.read_sites(paths[0], site_type=o["type"], id_col=o.get("id_col"), columns=spec.columns, vintage=spec.vintage,
                              id_prefix=o.get("type"))  # fmt: skip


def _simple(reader: Callable[..., Any]) -> Callable[[LayerSpec, list[Path]], Any]:
    return lambda spec, paths: reader(paths[0], vintage=spec.vintage)


#: The loader of each manifest format: (layer spec, resolved files) → frame.
LOADERS: dict[str, Callable[[LayerSpec, list[Path]], Any]] = {
    "ons-boundaries": _areas,
    "ons-lookup": _lookup,
    "ons-lsoa11-lsoa21": _simple(loaders.read_lsoa11_lsoa21_lookup),
    "iod2019-file6": _simple(loaders.read_population),
    "iod2019-file1": _simple(loaders.read_imd),
    "iod2019-file2": _simple(loaders.read_imd),
    "ods-epraccur": _simple(loaders.read_practices),
    "nhsd-gp-reg-pat-prac-all": _simple(loaders.read_list_sizes),
    "nhsd-gp-reg-pat-prac-map": _simple(loaders.read_pcn_map),
    "nhsd-gp-reg-pat-prac-lsoa": _registrations,
    "nhs-choices-hospital": _simple(loaders.read_hospitals),
    "ods-etr": _simple(loaders.read_trusts),
    "ohid-trust-catchment": _simple(loaders.read_catchments),
    "csv-points": _sites,
    "vector-points": _sites,
    "nhse-qof-prevalence": qof_layer,
    "hocl-gp-age-groups": practice_ages_layer,
    "ons-census2021-age6": census_layer,
    "community-assets": assets_layer,
}


def read_layer(spec: LayerSpec, root: Path) -> Any:
    """Read one layer of a manifest from the data root `root` with the loader of its format."""
    if spec.format not in LOADERS:  # read_manifest refuses unknown formats; a hand-built spec may not
        raise DataRootError(f"layer {spec.name!r}: no loader for format {spec.format!r}; use one of {sorted(LOADERS)}.")
    return LOADERS[spec.format](spec, spec.paths(root))


def _read_noted(spec: LayerSpec, root: Path, notes: list[str], layer: str | None = None) -> Any:
    """Read one layer, turning every warning its loader raises into a note about that layer."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_layer(spec, root)
    for w in caught:
        if issubclass(w.category, _FOR_DEVELOPERS):
            continue
        level = "info" if issubclass(w.category, _INFO) else "warning"
        notes.append(LoadNote(str(w.message), layer=layer or spec.name, level=level))
    return frame


def read_layers(man: Manifest, root: Path, *, suffix: str = "", with_sites: bool = True, skip: Collection[str] = ()) -> Layers:
    """Read every layer `man` names; every loader warning (repairs, failed geocodes, dropped rows) becomes a note.

    Registrations on another LSOA vintage than the place are converted through the
    ``lsoa11_lsoa21`` lookup (:func:`geo.registrations.convert_registrations`) or refused.

    Parameters
    ----------
    suffix
        ``"_2018"`` to read the ``wards_2018`` and ``lsoa_ward_2018`` layers in place of
        ``wards`` and ``lsoa_ward``.
    skip
        Optional layers not to read (see :func:`load_place`).
    """
    unknown = sorted(set(skip) - set(OPTIONAL_LAYERS))
    if unknown:
        raise PlacekitError(f"skip={unknown}: only optional layers can be skipped ({', '.join(OPTIONAL_LAYERS)}).")
    notes: list[str] = []
    required = {k: _read_noted(man.layer(k + (suffix if k in ("wards", "lsoa_ward") else "")), root, notes, k)
                for k in ("wards", "lsoas", "lsoa_ward", "population")}  # fmt: skip
    optional = {k: _read_noted(man.layers[k], root, notes) for k in OPTIONAL_LAYERS
                if k in man.layers and k != "registrations" and k not in skip}  # fmt: skip
    if "registrations" in man.layers and "registrations" not in skip:
        optional["registrations"] = _place_registrations(man, root, required, optional, notes)
    optional = {k: optional[k] for k in OPTIONAL_LAYERS if k in optional}
    sites = None
    if with_sites and man.sites:
        frames = [_read_noted(s, root, notes, "sites") for s in man.sites]
        sites = gpd.GeoDataFrame(pd.concat(frames), geometry="geometry", crs=frames[0].crs)
    return Layers(required, optional, sites, notes)


def _place_registrations(man: Manifest, root: Path, required: dict[str, Any], optional: dict[str, Any], notes: list[str]) -> pd.DataFrame:
    """Read each registrations file, carry it to the place's LSOA vintage (or refuse), then combine them."""
    spec = man.layer("registrations")
    frames, found, lsoas21 = [], [], None
    for path in spec.paths(root):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = read_registrations(path)
        notes += [LoadNote(str(w.message), layer="registrations") for w in caught if not issubclass(w.category, _FOR_DEVELOPERS)]
        found.append(frame.attrs.get("lsoa_vintage"))
        if found[-1] not in (None, man.lsoa_vintage):
            if lsoas21 is None and "lsoas_2021" in man.layers and man.lsoa_vintage == "2011":
                lsoas21 = _read_noted(man.layers["lsoas_2021"], root, notes)
            if optional.get("lsoa11_lsoa21") is None and "lsoa11_lsoa21" in man.layers:  # skipped by the caller, but needed here
                optional["lsoa11_lsoa21"] = _read_noted(man.layers["lsoa11_lsoa21"], root, notes)
            frame, note = convert_registrations(frame, to_vintage=man.lsoa_vintage, lookup=optional.get("lsoa11_lsoa21"),
                                                lsoas11=required["lsoas"], lsoas21=lsoas21, population=required["population"],
                                                source=f"registrations file {path.name}")  # fmt: skip
            notes.append(LoadNote(note, layer="registrations"))
            frame.attrs["modelled"] = True
        frames.append(frame)
    if len(frames) == 1:
        return frames[0]
    try:
        return combine_registrations(frames)
    except PlacekitError as exc:
        if len(set(found)) > 1:
            raise VintageMismatchError(
                f"the registrations files of the manifest are on different LSOA vintages ({', '.join(f'{p.name}: {v}' for p, v in zip(spec.paths(root), found, strict=True))}); "
                f"after converting them to {man.lsoa_vintage} LSOAs they disagree ({exc}). Load files of one vintage."
            ) from exc
        raise


@dataclass
class Layers:
    """The frames read from a manifest, before they are checked against each other."""

    required: dict[str, Any]
    optional: dict[str, Any]
    sites: gpd.GeoDataFrame | None
    notes: list[str] = field(default_factory=list)


def check_layers(layers: Layers, man: Manifest, *, suffix: str = "") -> None:
    """Refuse layers that do not fit together: LSOA vintages, lookup coverage, ward vintages, population coverage.

    Raises
    ------
    VintageMismatchError
        When the LSOA boundaries and the lookup are of different LSOA vintages, or the
        lookup names wards the ward boundaries lack (a ward-vintage mismatch).
    UnknownCodeError
        When the lookup or the population file does not cover every LSOA of the place.
    """
    wards, lsoas, lookup, population = (layers.required[k] for k in ("wards", "lsoas", "lsoa_ward", "population"))
    lookup_file = man.layer("lsoa_ward" + suffix).files[0]
    lsoa_v, look_v = lsoa_vintage_of(lsoas.index), lsoa_vintage_of(lookup.index)
    if lsoa_v and look_v and lsoa_v != look_v:
        raise VintageMismatchError(
            f"LSOA boundaries ({man.layer('lsoas').files[0]}) are {lsoa_v} LSOAs but the LSOA→ward lookup "
            f"({lookup_file}) is on {look_v} LSOAs. Use a lookup of the same vintage."
        )
    require_known(lsoas.index, lookup.index, source=f"LSOA boundaries vs lookup {Path(lookup_file).name}", what="LSOA",
                  fix="Use a lookup covering every LSOA of the place, of the same LSOA vintage.")  # fmt: skip
    stray = sorted(set(lookup.loc[lsoas.index, "ward_code"]) - set(wards.index))
    if stray:
        raise VintageMismatchError(
            f"the LSOA→ward lookup ({lookup.attrs.get('vintage')}) names ward(s) {stray[:6]} absent from the ward "
            f"boundaries ({wards.attrs.get('vintage')}). The two layers are of different ward vintages; pick a lookup "
            "and boundaries of the same year (for Manchester: WD17 lookup with the 2004–2018 wards, WD19 with the 2018+ wards)."
        )
    require_known(lsoas.index, population.index, source=f"population {Path(man.layer('population').files[0]).name}", what="LSOA",
                  fix="The population file must cover every LSOA of the place.")  # fmt: skip


def _locate_practices(layers: Layers, man: Manifest) -> gpd.GeoDataFrame | None:
    """Add each practice's ward; note the practices in the registrations that ODS no longer lists as open."""
    practices = layers.optional.get("practices")
    if practices is None:
        return None
    practices = practices.copy()
    practices["ward_code"] = practice_wards(practices, layers.required["wards"])
    reg = layers.optional.get("registrations")
    if reg is not None:
        closed = loaders.closed_practices(practices, reg["practice_code"].unique())
        if len(closed):
            text = (
                f"{len(closed)} practice(s) in the registrations file are not active in the ODS list "
                f"({man.layer('practices').vintage}): "
                + ", ".join(f"{c} ({r.status})" for c, r in closed.iterrows())
                + "; they count for the registrations' figures (a practice that closed after the extract still held those patients)."
            )
            layers.notes.append(LoadNote(text, layer="practices", level="info"))
    return practices


def _residents_by_practice(layers: Layers) -> pd.Series:
    """Return the place's residents registered at each practice (0 without registrations)."""
    reg = layers.optional.get("registrations")
    if reg is None:
        return pd.Series(dtype="int64")
    res = reg[reg["lsoa_code"].isin(layers.required["lsoas"].index)]
    return res.groupby("practice_code")["patients"].sum()


def data_losses(layers: Layers, man: Manifest, practices: gpd.GeoDataFrame | None) -> list[str]:
    """Return every input that would silently change a headline figure, one line each (empty when none).

    - a practice of the place (its commissioner is the manifest's ``commissioner``, or its
      postcode lies in the place's local authority) that lies in no ward: unlocated
      postcode, or a ward boundary that no longer covers it (e.g. a repaired
      self-intersecting ward). Its patients would count as registered outside the city.
      Without a ``commissioner`` in the manifest, any unlocated practice holding residents
      of the place counts;
    - a practice absent from the practice list holding at least
      :data:`MIN_RESIDENTS_OF_MISSING_PRACTICE` residents of the place;
    - registrations on LSOA codes that exist in neither the 2011 nor the 2021 ONS set
      (when the ``lsoa11_lsoa21`` lookup is loaded): their patients would be dropped from
      the place's residents.
    """
    out: list[str] = []
    residents = _residents_by_practice(layers)
    reg = layers.optional.get("registrations")
    if practices is not None:
        out += _practices_lost(practices, man, residents, reg)
        listed = residents[~residents.index.isin(practices.index) & (residents >= MIN_RESIDENTS_OF_MISSING_PRACTICE)]
        for code, n in listed.items():
            out.append(
                f"practice {code} holds {int(n):,} residents of {man.name} in the registrations but is not in the practice list "
                f"({Path(man.layer('practices').files[0]).name}); its patients would count as registered outside the city. "
                "Use a practice list that includes it."
            )
    lookup = layers.optional.get("lsoa11_lsoa21")
    if reg is not None and lookup is not None:
        # Python sets of the unique codes: pandas' isin against 35,000 arrow strings takes ~0.4 s, this ~15 ms.
        known = {*lookup.index.tolist(), *lookup["lsoa21_code"].tolist(), *UNKNOWN_LSOA, *layers.required["lsoas"].index.tolist()}
        unknown = [c for c in reg["lsoa_code"].unique().tolist() if c not in known and not c.startswith("W")]
        odd = reg[reg["lsoa_code"].isin(unknown)]
        if len(odd):
            codes = sorted(odd["lsoa_code"].unique())
            out.append(
                f"{len(codes)} LSOA code(s) in the registrations are not ONS 2011 or 2021 LSOAs (e.g. {codes[:5]}); their "
                f"{int(odd['patients'].sum()):,} patients would be dropped from the place's residents. Fix those rows."
            )
    return out


def _practices_lost(practices: gpd.GeoDataFrame, man: Manifest, residents: pd.Series, reg: pd.DataFrame | None) -> list[str]:
    """Return the practices of the place, in use, that lie in no ward (see :func:`data_losses`)."""
    commissioner = man.extra.get("commissioner")
    wanted = {commissioner} if isinstance(commissioner, str) else set(commissioner or ())
    in_use = practices["status"].eq(ACTIVE_STATUS) | practices.index.isin(reg["practice_code"].unique() if reg is not None else [])
    no_ward = practices["ward_code"].isna() & in_use
    located = practices.get("geocoded", pd.Series(True, index=practices.index)).astype(bool)
    ours = practices["commissioner"].isin(wanted) if wanted else pd.Series(False, index=practices.index)
    if "postcode_lad" in practices:
        ours |= practices["postcode_lad"].eq(man.lad_code).fillna(False).astype(bool) & bool(man.lad_code)
    held = residents.reindex(practices.index).fillna(0)
    lost = no_ward & (ours | (~located & held.gt(0) & (not wanted)))
    out = []
    for code, r in practices[lost].iterrows():
        why = (
            f"its postcode {r['postcode']!r} was not found"
            if not located[code]
            else "it lies in no ward of the place (check the ward boundaries)"
        )
        out.append(
            f"practice {code} ({r.get('practice_name', '')}) of {man.name}: {why}; its {int(held[code]):,} registered residents of "
            f"{man.name} would count as registered outside the city. Fix the postcode or the boundaries in "
            f"{Path(man.layer('practices').files[0]).name if not located[code] else Path(man.layer('wards').files[0]).name}."
        )
    return out


def _vintages(layers: Layers, man: Manifest) -> dict[str, str]:
    frames = layers.required | {k: v for k, v in layers.optional.items() if v is not None}
    out = {k: str(v.attrs.get("vintage", "")) for k, v in frames.items()}
    reg = layers.optional.get("registrations")
    if reg is not None:
        out["registrations"] = f"{man.layer('registrations').vintage} (LSOA {reg.attrs.get('lsoa_vintage')})"
    return out


def _loss_layer(text: str) -> str:
    return "registrations" if "LSOA code" in text else "practices"


def load_place(
    data: str | Path | None = None,
    *,
    manifest: str | Path | Manifest | None = None,
    ward_set: str | None = None,
    with_sites: bool = True,
    allow_data_loss: bool | None = None,
    skip: Collection[str] = (),
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
    allow_data_loss
        Accept inputs that would change headline figures (see :func:`data_losses`) and list
        them as warnings instead of raising; None takes ``allow_data_loss`` from the
        manifest's ``[place]`` table (default false).

    skip
        Optional layers the caller does not need, e.g. ``("qof", "assets")``: not read, None on the place.

    Raises
    ------
    DataLossError
        When an input would move residents outside the city or drop practices or patients,
        unless `allow_data_loss`.
    VintageMismatchError
        When layers of different vintages would be joined (e.g. 2021 LSOAs against a
        2011 lookup, or 2018 wards against a 2017 lookup).
    """
    root = resolve_root(data)
    if root is None:
        return demo_place()
    if not root.is_dir():
        raise DataRootError(f"data root {root} is not a folder; set --data DIR or PLACEKIT_DATA to the folder holding the place's files.")
    man, suffix = manifest if isinstance(manifest, Manifest) else read_manifest(manifest), f"_{ward_set}" if ward_set else ""
    layers = read_layers(man, root, suffix=suffix, with_sites=with_sites, skip=skip)
    check_layers(layers, man, suffix=suffix)
    practices = _locate_practices(layers, man)
    losses = data_losses(layers, man, practices)
    if losses:
        if not (man.allow_data_loss if allow_data_loss is None else allow_data_loss):
            raise DataLossError(losses, fix=DATA_LOSS_FIX)
        layers.notes += [LoadNote(f"accepted data loss: {x}", layer=_loss_layer(x), level="warning") for x in losses]
    status = {k: "real" for k in [*layers.required, *layers.optional]} | ({"sites": "real"} if layers.sites is not None else {})
    if layers.optional.get("registrations") is not None and layers.optional["registrations"].attrs.get("modelled"):
        status["registrations"] = "modelled"  # converted from another LSOA vintage by a stated method
    optional = {k: v for k, v in layers.optional.items() if k != "practices"}
    return Place(name=man.name, **layers.required, practices=practices, sites=layers.sites, **optional, lad_code=man.lad_code,
                 lsoa_vintage=man.lsoa_vintage, ward_set="2018+" if ward_set == "2018" else man.ward_set, demo=False, data_root=root,
                 manifest=man, status=status, vintages=_vintages(layers, man), notes=layers.notes)  # fmt: skip
