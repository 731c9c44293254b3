"""Load a place: read every layer its manifest names, check them against each other, and join them.

The chain is :func:`load_place` → :func:`read_layers` (one loader per format, see
:data:`LOADERS`) → :func:`check_layers` (vintages and coverage across layers) →
:class:`~geo.model.Place`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo import loaders
from geo._validate import GeometryRepairWarning, lsoa_vintage_of, require_known
from geo.assets import assets_layer
from geo.census import census_layer
from geo.demo import demo_place
from geo.health import QOFAnomalyWarning, practice_ages_layer, qof_layer
from geo.manifest import LayerSpec, Manifest, read_manifest
from geo.model import Place, practice_wards
from geo.registrations import combine_registrations, read_registrations
from placekit.errors import DataRootError, VintageMismatchError
from placekit.settings import data_root as resolve_root

__all__ = ["Place", "load_place", "read_layer", "read_layers", "check_layers", "LOADERS", "OPTIONAL_LAYERS", "practice_wards"]

#: Layers a manifest may add beyond the four required ones (wards, lsoas, lsoa_ward, population).
OPTIONAL_LAYERS = ("imd", "msoas", "lsoa_msoa", "practices", "list_sizes", "pcn_map", "registrations", "hospitals", "catchments", "trusts",
                   "lsoa11_lsoa21", "lsoas_2021", "census", "qof", "practice_ages", "assets")  # fmt: skip
_INDEX_NAMES = {"wards": "ward_code", "lsoas": "lsoa_code", "msoas": "msoa_code"}
_REPORTED = (loaders.GeocodeWarning, loaders.ClosedPracticeWarning, GeometryRepairWarning, QOFAnomalyWarning)


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


@dataclass
class Layers:
    """The frames read from a manifest, before they are checked against each other."""

    required: dict[str, Any]
    optional: dict[str, Any]
    sites: gpd.GeoDataFrame | None
    notes: list[str] = field(default_factory=list)


def read_layers(man: Manifest, root: Path, *, suffix: str = "", with_sites: bool = True) -> Layers:
    """Read every layer `man` names; loader warnings (repairs, failed geocodes) become notes.

    Parameters
    ----------
    suffix
        ``"_2018"`` to read the ``wards_2018`` and ``lsoa_ward_2018`` layers in place of
        ``wards`` and ``lsoa_ward``.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        required = {k: read_layer(man.layer(k + (suffix if k in ("wards", "lsoa_ward") else "")), root)
                    for k in ("wards", "lsoas", "lsoa_ward", "population")}  # fmt: skip
        optional = {k: read_layer(man.layers[k], root) for k in OPTIONAL_LAYERS if k in man.layers}
        sites = None
        if with_sites and man.sites:
            frames = [read_layer(s, root) for s in man.sites]
            sites = gpd.GeoDataFrame(pd.concat(frames), geometry="geometry", crs=frames[0].crs)
    notes = [str(w.message) for w in caught if issubclass(w.category, _REPORTED)]
    return Layers(required, optional, sites, notes)


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
            layers.notes.append(
                f"{len(closed)} practice(s) in the registrations file are not active in the ODS list "
                f"({man.layer('practices').vintage}): " + ", ".join(f"{c} ({r.status})" for c, r in closed.iterrows())
            )
    return practices


def _vintages(layers: Layers, man: Manifest) -> dict[str, str]:
    frames = layers.required | {k: v for k, v in layers.optional.items() if v is not None}
    out = {k: str(v.attrs.get("vintage", "")) for k, v in frames.items()}
    reg = layers.optional.get("registrations")
    if reg is not None:
        out["registrations"] = f"{man.layer('registrations').vintage} (LSOA {reg.attrs.get('lsoa_vintage')})"
    return out


def load_place(
    data: str | Path | None = None, *, manifest: str | Path | Manifest | None = None, ward_set: str | None = None, with_sites: bool = True
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
        return demo_place()
    if not root.is_dir():
        raise DataRootError(f"data root {root} is not a folder; set --data DIR or PLACEKIT_DATA to the folder holding the place's files.")
    man = manifest if isinstance(manifest, Manifest) else read_manifest(manifest)
    suffix = f"_{ward_set}" if ward_set else ""
    layers = read_layers(man, root, suffix=suffix, with_sites=with_sites)
    check_layers(layers, man, suffix=suffix)
    practices = _locate_practices(layers, man)
    status = {k: "real" for k in [*layers.required, *layers.optional]} | ({"sites": "real"} if layers.sites is not None else {})
    optional = {k: v for k, v in layers.optional.items() if k != "practices"}
    return Place(name=man.name, **layers.required, practices=practices, sites=layers.sites, **optional, lad_code=man.lad_code,
                 lsoa_vintage=man.lsoa_vintage, ward_set="2018+" if ward_set == "2018" else man.ward_set, demo=False, data_root=root,
                 manifest=man, status=status, vintages=_vintages(layers, man), notes=layers.notes)  # fmt: skip
