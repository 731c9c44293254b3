"""Place manifests: one TOML file naming each layer's file, format, vintage and columns."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from placekit.errors import DataRootError, PlacekitError
from placekit.resources import place_manifest

__all__ = ["LayerSpec", "Manifest", "read_manifest", "default_manifest_path", "FORMATS"]

#: Formats a layer may declare, with the loader that reads each.
FORMATS = {
    "ons-boundaries": "geo.loaders.read_areas",
    "ons-lookup": "geo.loaders.read_lsoa_ward_lookup / read_lsoa_msoa_lookup",
    "ons-lsoa11-lsoa21": "geo.loaders.read_lsoa11_lsoa21_lookup",
    "iod2019-file6": "geo.loaders.read_population",
    "iod2019-file1": "geo.loaders.read_imd",
    "iod2019-file2": "geo.loaders.read_imd",
    "ods-epraccur": "geo.loaders.read_practices",
    "nhsd-gp-reg-pat-prac-all": "geo.loaders.read_list_sizes",
    "nhsd-gp-reg-pat-prac-map": "geo.loaders.read_pcn_map",
    "nhsd-gp-reg-pat-prac-lsoa": "geo.registrations.read_registrations",
    "nhs-choices-hospital": "geo.loaders.read_hospitals",
    "ohid-trust-catchment": "geo.loaders.read_catchments",
    "ods-etr": "geo.loaders.read_trusts",
    "csv-points": "geo.loaders.read_sites",
    "vector-points": "geo.loaders.read_sites",
    "nhse-qof-prevalence": "geo.health.read_qof",
    "hocl-gp-age-groups": "geo.health.read_practice_ages",
    "ons-census2021-age6": "geo.census.read_census_age6",
    "community-assets": "geo.assets.read_assets",
}


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a manifest: where its file is and how to read it."""

    name: str
    files: tuple[str, ...]
    format: str
    vintage: str
    columns: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def paths(self, root: Path) -> list[Path]:
        """Return the layer's files resolved against the data root `root`."""
        return [root / f for f in self.files]


@dataclass(frozen=True)
class Manifest:
    """A place: its name, codes, vintages and layers."""

    path: Path | Traversable
    name: str
    lad_code: str
    lsoa_vintage: str
    ward_set: str
    layers: dict[str, LayerSpec]
    sites: tuple[LayerSpec, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    def layer(self, name: str) -> LayerSpec:
        """Return layer `name`, or raise naming the layers the manifest has."""
        if name not in self.layers:
            raise DataRootError(
                f"manifest {self.path.name} has no layer {name!r}; it has {sorted(self.layers)}. Add a [layers.{name}] table."
            )
        return self.layers[name]


def default_manifest_path() -> Traversable:
    """Return the shipped Manchester manifest (a package resource)."""
    return place_manifest("manchester")


def _spec(name: str, table: dict[str, Any], source: str) -> LayerSpec:
    if "file" not in table and "files" not in table:
        raise PlacekitError(f"{source}: layer {name!r} needs `file` (or `files`), relative to the data root.")
    fmt = table.get("format")
    if fmt not in FORMATS:
        raise PlacekitError(f"{source}: layer {name!r} has format {fmt!r}; expected one of {sorted(FORMATS)}.")
    files = tuple(table["files"]) if "files" in table else (table["file"],)
    known = {"file", "files", "format", "vintage", "columns", "type"}
    return LayerSpec(
        name=name,
        files=files,
        format=fmt,
        vintage=str(table.get("vintage", "")),
        columns=dict(table.get("columns", {})),
        options={k: v for k, v in table.items() if k not in known} | ({"type": table["type"]} if "type" in table else {}),
    )


def read_manifest(path: str | Path | Traversable | None = None) -> Manifest:
    """Read and check a place manifest (TOML).

    Parameters
    ----------
    path
        Manifest file; the shipped Manchester manifest when None.
    """
    path = default_manifest_path() if not path else Path(path) if isinstance(path, str) else path
    if not path.is_file():
        raise DataRootError(f"place manifest {path} does not exist or is not a file; pass --place FILE or use the shipped one.")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PlacekitError(f"place manifest {path.name} is not valid TOML: {exc}.") from exc
    source = f"place manifest {path.name}"
    place = doc.get("place")
    if not isinstance(place, dict) or "name" not in place:
        raise PlacekitError(f"{source} needs a [place] table with at least `name`.")
    layers = {k: _spec(k, v, source) for k, v in doc.get("layers", {}).items()}
    sites = tuple(_spec(f"sites[{i}]", t, source) for i, t in enumerate(doc.get("sites", [])))
    for required in ("wards", "lsoas", "lsoa_ward", "population"):
        if required not in layers:
            raise PlacekitError(f"{source} lacks the required layer [layers.{required}].")
    return Manifest(
        path=path,
        name=place["name"],
        lad_code=place.get("lad_code", ""),
        lsoa_vintage=str(place.get("lsoa_vintage", "2011")),
        ward_set=str(place.get("ward_set", "")),
        layers=layers,
        sites=sites,
        extra={k: v for k, v in place.items() if k not in {"name", "lad_code", "lsoa_vintage", "ward_set"}},
    )
