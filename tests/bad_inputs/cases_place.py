"""Bad manifests and layers that only show when the whole place is loaded: vintages, data losses, paths."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import box, mapping, shape

from boundaries.flows import compute_flows, flow_base_from_place
from boundaries.grouping import baseline_grouping
from geo.loaders import read_lsoa11_lsoa21_lookup
from geo.place import load_place
from geo.registrations import convert_lsoa_vintage, read_registrations
from placekit.errors import (
    DataLossError,
    DataRootError,
    PlacekitError,
    UnknownCodeError,
    UnreadableFileError,
    VintageMismatchError,
)
from tests.bad_inputs.framework import Case, data_root_with, manifest_with, real_root

REG = "gp-registrations-lsoa/gp-reg-pat-prac-lsoa_2022-07_greater_manchester_practices.csv"
RES = "gp-registrations-lsoa/gp-reg-pat-prac-lsoa_2022-07_greater_manchester_resident_lsoas.csv"
LOOKUP = "lsoa11-lsoa21-lookup/lsoa11_to_lsoa21_best_fit_lookup_england_wales_v2.csv"
PRACTICES = "gp-practices-epraccur/epraccur_greater_manchester_QOP_2023-12_with_header.csv"
WARDS = "manchester-wards-2013/manchester_wards_2013_E08000003.geojson"
POPULATION = "imd2019-and-population-lsoa/iod2019_population_denominators_mid2015_greater_manchester.csv"
LSOA_WARD = "lsoa11-ward-lookup/lsoa11_to_ward2017_greater_manchester.csv"
# An orphan 2021 LSOA (the other part of a split 2011 LSOA: no best-fit row) and its 2011 parent, both in Manchester.
ORPHAN_2021 = "E01034107"


def headline(place) -> dict:
    """Return the figures a board paper would quote: residents registered, population, practices, lowest resident containment."""
    reg = place.registrations
    f = compute_flows(flow_base_from_place(place), baseline_grouping(place), city=place.name)
    return {
        "residents_registered": int(reg.loc[reg["lsoa_code"].isin(place.lsoas.index), "patients"].sum()),
        "population": int(place.population.reindex(place.lsoas.index)["population"].sum()),
        "practices_in_place": len(place.practices_in_place),
        "min_resident_containment": round(f.minimum("resident_containment"), 4),
        "outside_city": int(f.neighbourhoods["residents_outside_city"].sum()),
    }


@cache
def reference() -> dict:
    """Return the headline figures of the real place, unchanged."""
    return headline(load_place(real_root(), with_sites=False))


def _load(changes: dict, *, manifest: Callable[[Path], Path] | None = None, allow: bool | None = None):
    def run(tmp: Path):
        root = data_root_with(tmp, changes)
        return load_place(root, manifest=manifest(tmp) if manifest else None, with_sites=False, allow_data_loss=allow)

    return run


def _figures(changes: dict, **kw) -> Callable[[Path], tuple[dict, list[str]]]:
    load = _load(changes, **kw)

    def run(tmp: Path):
        place = load(tmp)
        return headline(place), [str(n) for n in place.notes]

    return run


# --------------------------------------------------------------------------- file makers
def _to_2021(src: Path, dst: Path, *, orphan: bool = False) -> None:
    """Write the registrations file on 2021 LSOAs (through the ONS best fit), as NHS Digital publishes from 2023."""
    reg = read_registrations(src)
    lookup = read_lsoa11_lsoa21_lookup(real_root() / LOOKUP).reset_index()
    out = convert_lsoa_vintage(reg, lookup, from_col="lsoa11_code", to_col="lsoa21_code", to_vintage="2021")
    if orphan:  # a real 2021 file also has patients in the parts of split LSOAs that the best fit does not name
        parent21 = _split_partner()
        moved = out["lsoa_code"] == parent21
        out.loc[moved, "lsoa_code"] = ORPHAN_2021
    cols = {"practice_code": "PRACTICE_CODE", "practice_name": "PRACTICE_NAME", "lsoa_code": "LSOA_CODE", "patients": "NUMBER_OF_PATIENTS"}
    out.rename(columns=cols)[[c for c in cols.values() if c in out.rename(columns=cols)]].to_csv(dst, index=False)


@cache
def _split_partner() -> str:
    """Return the 2021 LSOA that the best fit names for the 2011 parent of :data:`ORPHAN_2021` (found by overlap)."""
    root = real_root()
    b21 = gpd.read_file(root / "manchester-lsoa-2021-boundaries/manchester_lsoa_2021_E08000003.geojson").to_crs(27700)
    b11 = gpd.read_file(root / "manchester-lsoa-2011-boundaries/manchester_lsoa_2011_E08000003.geojson").to_crs(27700)
    orphan = b21[b21["LSOA21CD"] == ORPHAN_2021].geometry.iloc[0]
    parent = b11.loc[b11.geometry.intersection(orphan).area.idxmax(), "LSOA11CD"]
    lookup = pd.read_csv(root / LOOKUP, dtype=str, encoding="utf-8-sig")
    return lookup.loc[lookup["LSOA11CD"] == parent, "LSOA21CD"].iloc[0]


def _edit_csv(edit: Callable[[pd.DataFrame], pd.DataFrame], **read) -> Callable[[Path, Path], None]:
    def write(src: Path, dst: Path) -> None:
        edit(pd.read_csv(src, dtype=str, keep_default_na=False, **read)).to_csv(dst, index=False)

    return write


@cache
def _manchester_practices(n: int) -> list[str]:
    """Return the `n` Manchester practices with the most residents of the place."""
    place = load_place(real_root(), with_sites=False)
    reg = place.registrations
    res = reg[reg["lsoa_code"].isin(place.lsoas.index)].groupby("practice_code")["patients"].sum()
    ours = place.practices_in_place.index
    return list(res.reindex(ours).sort_values(ascending=False).index[:n])


def _postcodes_unreadable(n: int) -> Callable[[Path, Path], None]:
    def edit(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[df["ORGANISATION_CODE"].isin(_manchester_practices(n)), "POSTCODE"] = "ZZ99 9ZZ"
        return df

    return _edit_csv(edit)


def _ward_shrunk(src: Path, dst: Path) -> None:
    """Shrink the ward holding the most practices to a 100 m square at its centre: its practices fall in no ward."""
    doc = json.loads(src.read_text())
    place = load_place(real_root(), with_sites=False)
    ward = place.practices_in_place["ward_code"].value_counts().index[0]
    for f in doc["features"]:
        if f["properties"]["WD13CD"] == ward:
            c = shape(f["geometry"]).centroid
            f["geometry"] = mapping(box(c.x - 0.0007, c.y - 0.0005, c.x + 0.0007, c.y + 0.0005))
    dst.write_text(json.dumps(doc))


def _code_typo(new: str) -> Callable[[Path, Path], None]:
    """Replace a Manchester LSOA code by `new` in every row (a typo made by find-and-replace)."""

    def write(src: Path, dst: Path) -> None:
        df = pd.read_csv(src, dtype=str)
        df.loc[df["LSOA_CODE"] == "E01005061", "LSOA_CODE"] = new
        df.to_csv(dst, index=False)

    return write


def _mixed_in_file(src: Path, dst: Path) -> None:
    """Convert half the rows to 2021 codes: one file then holds retired 2011 codes and new 2021 codes."""
    _to_2021(src, dst)
    conv = pd.read_csv(dst, dtype=str)
    orig = pd.read_csv(src, dtype=str)
    pd.concat([orig.iloc[: len(orig) // 2], conv.iloc[len(conv) // 2 :]]).drop_duplicates(["PRACTICE_CODE", "LSOA_CODE"]).to_csv(
        dst, index=False
    )


# --------------------------------------------------------------------------- checks
def _same_figures(result) -> bool:
    figures, _ = result
    return figures == reference()


def _kept_residents(result) -> bool:
    """The conversion keeps every resident and the lowest resident containment within 0.1 point, and says what it did."""
    figures, notes = result
    ref = reference()
    return (
        figures["residents_registered"] == ref["residents_registered"]
        and abs(figures["min_resident_containment"] - ref["min_resident_containment"]) <= 0.001
        and any("converted to 2011 LSOAs" in n for n in notes)
    )


def _loss_listed(result) -> bool:
    _, notes = result
    return sum("accepted data loss" in n for n in notes) == 6


def _cases_vintage() -> list[Case]:
    to21 = lambda s, d: _to_2021(s, d)  # noqa: E731
    orphan = lambda s, d: _to_2021(s, d, orphan=True)  # noqa: E731
    no_lookup = lambda tmp: manifest_with(tmp, [("[layers.lsoa11_lsoa21]", "[unused.lsoa11_lsoa21]")])  # noqa: E731
    no_b21 = lambda tmp: manifest_with(tmp, [("[layers.lsoas_2021]", "[unused.lsoas_2021]")])  # noqa: E731
    return [
        Case(
            "place/registrations on 2021 LSOAs (both files)",
            "place",
            _figures({REG: to21, RES: to21}),
            None,
            check=_kept_residents,
            realdata=True,
        ),
        Case(
            "place/2021 registrations with split-part patients",
            "place",
            _figures({REG: orphan, RES: orphan}),
            None,
            check=_kept_residents,
            realdata=True,
        ),
        Case(
            "place/split-part patients without 2021 boundaries",
            "place",
            _load({REG: orphan, RES: orphan}, manifest=no_b21),
            VintageMismatchError,
            (ORPHAN_2021, "lsoas_2021"),
            realdata=True,
        ),
        Case(
            "place/2021 registrations without the lookup",
            "place",
            _load({REG: to21, RES: to21}, manifest=no_lookup),
            VintageMismatchError,
            ("2021", "lsoa11_lsoa21"),
            realdata=True,
        ),
        Case(
            "place/one file 2011, the other 2021",
            "place",
            _load({RES: to21}),
            VintageMismatchError,
            ("different LSOA vintages",),
            realdata=True,
        ),
        Case(
            "place/one file mixing 2011 and 2021 codes",
            "place",
            _load({REG: _mixed_in_file}),
            VintageMismatchError,
            ("mixes LSOA vintages",),
            realdata=True,
        ),
        Case(
            "place/2021 LSOA boundaries against the 2011 lookup",
            "place",
            _load(
                {},
                manifest=lambda tmp: manifest_with(
                    tmp,
                    [
                        (
                            "manchester-lsoa-2011-boundaries/manchester_lsoa_2011_E08000003",
                            "manchester-lsoa-2021-boundaries/manchester_lsoa_2021_E08000003",
                        ),
                        ('columns = { code = "LSOA11CD", name = "LSOA11NM" }', 'columns = { code = "LSOA21CD", name = "LSOA21NM" }'),
                    ],
                ),
            ),
            VintageMismatchError,
            ("2021",),
            realdata=True,
        ),
        Case(
            "place/2018 wards lookup with the 2004-2018 wards",
            "place",
            _load(
                {},
                manifest=lambda tmp: manifest_with(
                    tmp,
                    [
                        ("lsoa11_to_ward2017_greater_manchester.csv", "lsoa11_to_ward2019_greater_manchester.csv"),
                        (
                            'ward = "WD17CD", ward_name = "WD17NM", lad = "LAD17CD", lad_name = "LAD17NM"',
                            'ward = "WD19CD", ward_name = "WD19NM", lad = "LAD19CD", lad_name = "LAD19NM"',
                        ),
                    ],
                ),
            ),
            VintageMismatchError,
            ("ward vintages",),
            realdata=True,
        ),
    ]


def _cases_losses() -> list[Case]:
    return [
        Case(
            "place/six practice postcodes unreadable",
            "place",
            _load({PRACTICES: _postcodes_unreadable(6)}),
            DataLossError,
            ("ZZ99 9ZZ", "not found", "outside the city", "--allow-data-loss", "allow_data_loss"),
            realdata=True,
        ),
        Case(
            "place/six postcodes unreadable, loss accepted",
            "place",
            _figures({PRACTICES: _postcodes_unreadable(6)}, allow=True),
            None,
            check=_loss_listed,
            realdata=True,
        ),
        Case(
            "place/a ward no longer covers its practices",
            "place",
            _load({WARDS: _ward_shrunk}),
            DataLossError,
            ("lies in no ward",),
            realdata=True,
        ),
        Case(
            "place/the largest practice missing from the list",
            "place",
            _load({PRACTICES: _edit_csv(lambda df: df[df["ORGANISATION_CODE"] != _manchester_practices(1)[0]])}),
            DataLossError,
            ("not in the practice list",),
            realdata=True,
        ),
        Case(
            "place/registrations on an LSOA code that does not exist (2011 range)",
            "place",
            _load({REG: _code_typo("E01000004"), RES: _code_typo("E01000004")}),
            DataLossError,
            ("E01000004", "not ONS"),
            realdata=True,
        ),
        Case(
            "place/registrations on an LSOA code beyond both ONS sets",
            "place",
            _load({REG: _code_typo("E01999999"), RES: _code_typo("E01999999")}),
            VintageMismatchError,
            ("E01999999", "mixes"),
            realdata=True,
        ),
        Case(
            "place/population file lacks five LSOAs",
            "place",
            _load(
                {
                    POPULATION: _edit_csv(
                        lambda df: df[~df["LSOA code (2011)"].isin(["E01005061", "E01005062", "E01005063", "E01005064", "E01005065"])]
                    )
                }
            ),
            UnknownCodeError,
            ("population", "E01005061"),
            realdata=True,
        ),
        Case(
            "place/zero-byte LSOA→ward lookup",
            "place",
            _load({LSOA_WARD: b""}),
            UnreadableFileError,
            ("empty", "lsoa11_to_ward2017"),
            realdata=True,
        ),
        Case("place/lookup replaced by a folder", "place", _load({LSOA_WARD: "<DIR>"}), UnreadableFileError, ("folder",), realdata=True),
        Case("place/registrations file missing", "place", _load({REG: None}), DataRootError, ("does not exist",), realdata=True),
        Case(
            "place/an unchanged copy loads the same figures",
            "place",
            _figures({REG: lambda s, d: d.write_bytes(s.read_bytes())}),
            None,
            check=_same_figures,
            realdata=True,
        ),
    ]


def _manifest_case(cid: str, edit: Callable[[Path], Path], expect, words) -> Case:
    return Case(
        f"manifest/{cid}",
        "manifest",
        lambda tmp: load_place(real_root(), manifest=edit(tmp), with_sites=False),
        expect,
        words,
        realdata=True,
    )


def _text_manifest(text: str | bytes) -> Callable[[Path], Path]:
    def write(tmp: Path) -> Path:
        p = tmp / "place.toml"
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
        return p

    return write


def _cases_manifest() -> list[Case]:
    m = manifest_with
    return [
        _manifest_case(
            "wards without code column",
            lambda t: m(t, [('columns = { code = "WD13CD", name = "WD13NM" }', 'columns = { name = "WD13NM" }')]),
            PlacekitError,
            ("code", "columns", "wards"),
        ),
        _manifest_case(
            "path climbs out of the data root",
            lambda t: m(t, [('"lsoa11-ward-lookup/lsoa11_to_ward2017_greater_manchester.csv"', '"../../../../etc/passwd"')]),
            DataRootError,
            ("outside the data root", "passwd"),
        ),
        _manifest_case(
            "absolute path",
            lambda t: m(t, [('"lsoa11-ward-lookup/lsoa11_to_ward2017_greater_manchester.csv"', '"/etc/passwd"')]),
            DataRootError,
            ("outside the data root",),
        ),
        _manifest_case(
            "unknown format", lambda t: m(t, [('format = "iod2019-file6"', 'format = "excel"')]), PlacekitError, ("format", "excel")
        ),
        _manifest_case(
            "required layer missing", lambda t: m(t, [("[layers.population]", "[unused.population]")]), PlacekitError, ("population",)
        ),
        _manifest_case("not TOML", _text_manifest("[place\nname = "), PlacekitError, ("not valid TOML",)),
        _manifest_case("binary file", _text_manifest(b"\xff\xfe\x00\x01" * 50), PlacekitError, ("UTF-8",)),
        _manifest_case("no place name", _text_manifest("[place]\nlad_code = 'E08000003'\n"), PlacekitError, ("name",)),
        _manifest_case(
            "lsoa_vintage 2019",
            lambda t: m(t, [('lsoa_vintage = "2011"', 'lsoa_vintage = "2019"')]),
            PlacekitError,
            ("lsoa_vintage", "2019"),
        ),
        _manifest_case(
            "allow_data_loss as text",
            lambda t: m(t, [('ward_set = "2004-2018"', 'ward_set = "2004-2018"\nallow_data_loss = "yes"')]),
            PlacekitError,
            ("allow_data_loss",),
        ),
        _manifest_case("site layer without type", lambda t: m(t, [('type = "library"\n', "")]), PlacekitError, ("type",)),
        _manifest_case(
            "empty files list", lambda t: m(t, append='\n[layers.extra]\nfiles = []\nformat = "ods-etr"\n'), PlacekitError, ("files",)
        ),
        _manifest_case(
            "columns not a table",
            lambda t: m(t, [('columns = { code = "WD13CD", name = "WD13NM" }', 'columns = "WD13CD"')]),
            PlacekitError,
            ("columns",),
        ),
        _manifest_case("layer is a number", lambda t: m(t, append="\n[layers]\nextra2 = 5\n"), PlacekitError, ("extra2",)),
        _manifest_case("manifest is a folder", lambda t: (t / "m.toml").mkdir() or t / "m.toml", DataRootError, ("not a file",)),
        Case(
            "manifest/data root is a file",
            "manifest",
            lambda tmp: load_place((tmp / "f").write_text("x") and tmp / "f"),
            DataRootError,
            ("not a folder",),
            realdata=True,
        ),
    ]


CASES: list[Case] = _cases_vintage() + _cases_losses() + _cases_manifest()
