"""Place manifests: one TOML file naming each layer's file, format, vintage and columns."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from placekit.errors import DataRootError, PlacekitError, UnreadableFileError
from placekit.resources import place_manifest

__all__ = ["LayerSpec", "Manifest", "read_manifest", "default_manifest_path", "FORMATS", "REQUIRED_COLUMNS", "LSOA_VINTAGES"]

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

#: The keys of `columns` each format needs (any one set of the alternatives).
REQUIRED_COLUMNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "ons-boundaries": (("code",),),
    "ons-lookup": (("lsoa", "ward", "ward_name", "lad", "lad_name"), ("lsoa", "msoa", "msoa_name")),
}

#: The LSOA vintages a place may be on.
LSOA_VINTAGES = ("2011", "2021")


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
        """Return the layer's files resolved against the data root `root`.

        Raises
        ------
        DataRootError
            If a file is absolute or climbs out of the data root (``../../etc/passwd``).
            The check is on the written path, so links inside the data root still work.
        """
        out = []
        for f in self.files:
            rel = os.path.normpath(f)
            if os.path.isabs(f) or Path(f).drive or rel == ".." or rel.startswith(".." + os.sep) or rel.startswith("../"):
                raise DataRootError(
                    f"layer {self.name!r}: file {f!r} is outside the data root {root}. Manifest paths must be relative to the data "
                    "root and stay inside it (no leading / and no ..); copy or link the file into the data root."
                )
            out.append(root / rel)
        return out


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
    allow_data_loss: bool = False

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


def _spec(name: str, table: Any, source: str) -> LayerSpec:
    if not isinstance(table, dict):
        raise PlacekitError(f"{source}: layer {name!r} must be a table ([layers.{name}] with file, format, vintage); it is {table!r}.")
    if "file" not in table and "files" not in table:
        raise PlacekitError(f"{source}: layer {name!r} needs `file` (or `files`), relative to the data root.")
    fmt = table.get("format")
    if fmt not in FORMATS:
        raise PlacekitError(f"{source}: layer {name!r} has format {fmt!r}; expected one of {sorted(FORMATS)}.")
    files = tuple(table["files"]) if "files" in table else (table["file"],)
    if not files or not all(isinstance(f, str) and f.strip() for f in files):
        raise PlacekitError(
            f"{source}: layer {name!r}: `file`/`files` must be non-empty text paths relative to the data root; got {files!r}."
        )
    columns = table.get("columns", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise PlacekitError(
            f'{source}: layer {name!r}: `columns` must map placekit names to the file\'s column names, e.g. {{ code = "WD13CD" }}.'
        )
    alternatives = REQUIRED_COLUMNS.get(fmt)
    if alternatives and not any(set(a) <= set(columns) for a in alternatives):
        need = " or ".join(str(list(a)) for a in alternatives)
        raise PlacekitError(
            f"{source}: layer {name!r} (format {fmt}) needs `columns` with the keys {need}; it has {sorted(columns)}. "
            'Name the file\'s columns, e.g. columns = { code = "WD13CD", name = "WD13NM" }.'
        )
    if fmt in ("csv-points", "vector-points") and not isinstance(table.get("type"), str):
        raise PlacekitError(f"{source}: site layer {name!r} needs `type` (gp, library, pharmacy, ...).")
    known = {"file", "files", "format", "vintage", "columns", "type"}
    return LayerSpec(
        name=name,
        files=files,
        format=fmt,
        vintage=str(table.get("vintage", "")),
        columns=dict(columns),
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
        raise PlacekitError(f"place manifest {path.name} is not valid TOML: {exc}. Fix the line it names.") from exc
    except (UnicodeDecodeError, OSError) as exc:
        raise UnreadableFileError(f"place manifest {path} cannot be read as UTF-8 text ({exc}); a manifest is a TOML text file.") from exc
    source = f"place manifest {path.name}"
    place = doc.get("place")
    if not isinstance(place, dict) or not isinstance(place.get("name"), str) or not place["name"].strip():
        raise PlacekitError(f"{source} needs a [place] table with at least `name` (text).")
    _check_place_table(place, source)
    if not isinstance(doc.get("layers", {}), dict) or not isinstance(doc.get("sites", []), list):
        raise PlacekitError(f"{source}: [layers.NAME] must be tables and [[sites]] an array of tables.")
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
        extra={k: v for k, v in place.items() if k not in {"name", "lad_code", "lsoa_vintage", "ward_set", "allow_data_loss"}},
        allow_data_loss=bool(place.get("allow_data_loss", False)),
    )


def _check_place_table(place: dict[str, Any], source: str) -> None:
    """Refuse [place] values of the wrong type or out of range, naming the key and what is allowed."""
    vintage = str(place.get("lsoa_vintage", "2011"))
    if vintage not in LSOA_VINTAGES:
        raise PlacekitError(f"{source}: [place] lsoa_vintage is {vintage!r}; it must be one of {list(LSOA_VINTAGES)}.")
    if not isinstance(place.get("allow_data_loss", False), bool):
        raise PlacekitError(f"{source}: [place] allow_data_loss must be true or false, not {place['allow_data_loss']!r}.")
    for key in ("lad_code", "ward_set"):
        if not isinstance(place.get(key, ""), str):
            raise PlacekitError(f"{source}: [place] {key} must be text, not {place[key]!r}.")
    commissioner = place.get("commissioner")
    if commissioner is not None and not (
        isinstance(commissioner, str) or (isinstance(commissioner, list) and all(isinstance(c, str) for c in commissioner))
    ):
        raise PlacekitError(f"{source}: [place] commissioner must be a code or a list of codes, not {commissioner!r}.")
