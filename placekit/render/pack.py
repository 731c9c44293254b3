"""The profile pack of a neighbourhood or a locality: one content model, written as HTML and printed to PDF.

:func:`build_pack` gathers every figure (map, key figures with their year and source, age
structure, health need beside the city and England, both containment measures and who
crosses, community assets) into a :class:`ProfilePack` of sections, tables and figures.
:func:`pack_html` writes it as one standalone, accessible HTML page (real text and tables,
readable on a phone); :func:`pack_pdf` prints that same page to PDF with WeasyPrint, with
the scenario's name and the date on every page. Every user-supplied string is escaped.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import re
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from boundaries.assets import asset_disparity, asset_table
from boundaries.flows import OUTSIDE, UNKNOWN, FlowBase, compute_flows, flow_base_from_place
from boundaries.grouping import Grouping
from boundaries.health import MAIN_CONDITIONS, RESIDENT_ASSUMPTION, HealthBase, health_base, health_by_imd, health_table
from boundaries.population import population_table
from boundaries.profiles import population_label, profile
from estates.access import Access, evaluate_hubs
from geo.assets import ASSET_TYPES
from geo.census import AGE6_LABELS
from geo.model import Place
from placekit.errors import PlacekitError
from placekit.render.charts import age_structure_chart, prevalence_dot_chart, profile_static_map, pyplot

__all__ = [
    "PackTable",
    "PackFigure",
    "PackSection",
    "ProfilePack",
    "build_pack",
    "pack_html",
    "pack_pdf",
    "locality_grouping",
    "pack_filename",
    "PdfUnavailableError",
    "INDICATORS",
]

#: Map shadings a pack can use besides a QOF condition code (modelled resident prevalence by LSOA).
INDICATORS = {"imd": "IMD 2019 decile (1 = most deprived 10% in England)"}


class PdfUnavailableError(PlacekitError):
    """The PDF printer (WeasyPrint and the Pango library) is not installed."""


@dataclass
class PackTable:
    """A table of text: `columns` headers, `rows` of already formatted cells; `numeric` marks right-aligned columns."""

    caption: str
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool] = field(default_factory=list)
    note: str = ""


@dataclass
class PackFigure:
    """A chart or map as SVG, with its alternative text and caption."""

    svg: bytes
    alt: str
    caption: str


@dataclass
class PackSection:
    """A section of the pack: a heading, paragraphs, then tables and figures in order."""

    id: str
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    blocks: list[PackTable | PackFigure] = field(default_factory=list)


@dataclass
class ProfilePack:
    """The content of a profile pack, independent of HTML or PDF."""

    title: str
    level: str
    locality: str
    place: str
    scenario: str
    date: str
    demo: bool
    sections: list[PackSection]


# --------------------------------------------------------------------------- helpers
def locality_grouping(grouping: Grouping) -> Grouping:
    """Return the grouping whose units are the localities of `grouping` (each ward → its locality)."""
    w2l = {w: grouping.neighbourhood_to_locality[n] for w, n in grouping.ward_to_neighbourhood.items()}
    return Grouping(w2l, {lo: lo for lo in set(w2l.values())}, name=grouping.name, ward_set=grouping.ward_set)


def pack_filename(name: str, suffix: str) -> str:
    """Return a file name for the pack of unit `name` (the whole name, made safe for file systems)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "unit"
    return f"profile-{slug}{suffix}"


def _svg(fig) -> bytes:
    """Return `fig` as SVG with its text kept as text (smaller, faster to print, selectable in the PDF)."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": "DejaVu Sans"}):
        fig.savefig(buf, format="svg")
    pyplot().close(fig)
    return buf.getvalue()


def _n(v, fmt: str = "{:,.0f}") -> str:
    return "n/a" if v is None or (isinstance(v, float) and not np.isfinite(v)) or pd.isna(v) else fmt.format(v)


def _pct(v, nd: int = 1) -> str:
    return _n(v, f"{{:.{nd}%}}")


# --------------------------------------------------------------------------- sections
@dataclass
class _Ctx:
    place: Place
    grouping: Grouping  # the grouping whose units are of the pack's level
    name: str
    level: str
    wards: list[str]
    population: str
    health: pd.DataFrame | None
    hbase: HealthBase | None
    flows: object | None


def _key_figures(c: _Ctx) -> PackSection:
    p = c.place
    pr = profile(p, c.grouping, population=c.population)
    row = pr[(pr["level"] == "neighbourhood") & (pr["name"] == c.name)].iloc[0]
    pt = population_table(p, c.grouping)
    pop = pt[(pt["level"] == "neighbourhood") & (pt["name"] == c.name)].iloc[0]
    cen = p.vintages.get("census", "Census 2021")
    own = "mid-2015" if p.population_base == "mid2015" else "Census 2021"  # the residents IMD is weighted by: the place's own
    rows = [["Wards", ", ".join(row["ward_names"]), "—", "ONS ward boundaries (" + p.vintages.get("wards", "") + ")"],
            ["Residents", _n(pop["residents_census2021"]), "Census 2021 usual residents, 21 March 2021", "ONS Census 2021 (" + cen + ")"],
            ["Residents", _n(pop["residents_mid2015"]), "residents, mid-2015", "ONS mid-2015 estimates (IoD2019 denominators)"],
            ["Registered patients living here", _n(pop["registered_residents_2022"]) + (f" ({pop['difference']:+,.0f} against Census 2021 "
             "residents)" if pd.notna(pop["difference"]) else ""), "GP-registered patients, any practice, July 2022",
             "NHS Digital, Patients Registered at a GP Practice"],
            ["Aged 65+", _pct(pop["share_65_plus_residents"]), "Census 2021 usual residents", "ONS Census 2021"],
            ["Aged 65+ on its practices' lists", _pct(pop["share_65_plus_lists"]), "registered patients, April 2020",
             "NHS Digital via House of Commons Library"],
            ["Area and density", f"{row['area_km2']:.1f} km²; {_n(row['density_per_km2'])} per km²", population_label(p, c.population), "ONS"],
            ["IMD 2019 mean decile", _n(row.get("imd_mean_decile"), "{:.1f}"), f"weighted by {own} residents", "MHCLG IoD2019"],
            ["In England's most deprived 10%", _pct(row.get("share_most_deprived_decile"), 0), f"share of {own} residents", "MHCLG IoD2019"],
            ["GP practices with premises here", f"{_n(row.get('practices', 0))}; {_n(row.get('registered_list', 0))} registered patients",
             "practice lists, July 2022", "ODS epraccur; NHS Digital"]]  # fmt: skip
    if c.flows is not None:
        nf = c.flows.neighbourhoods.loc[c.name]
        rows += [["Resident containment", f"{_pct(nf['resident_containment'])} of {_n(nf['residents_registered'])} registered residents "
                  "use a practice here", "GP-registered patients, July 2022", "NHS Digital"],
                 ["List containment", f"{_pct(nf['list_containment'])} of {_n(nf['registered_list'])} patients of its practices live here",
                  "GP-registered patients, July 2022", "NHS Digital"]]  # fmt: skip
    rows = [r for r in rows if not r[1].startswith("n/a")]  # a layer the place lacks
    return PackSection("key-figures", "Key figures", [p.best_fit_note],
                       [PackTable("Key figures, each with its population, year and source", ["Figure", "Value", "Population and year", "Source"],
                                  rows)])  # fmt: skip


def _age_section(c: _Ctx) -> PackSection:
    p = c.place
    if p.census is None:
        return PackSection("age", "Age structure", ["The place has no Census 2021 layer."])
    pr = profile(p, c.grouping, population="census2021")
    row = pr[(pr["level"] == "neighbourhood") & (pr["name"] == c.name)].iloc[0]
    city = pr[pr["level"] == "city"].iloc[0]
    bands = list(AGE6_LABELS)
    shares = pd.DataFrame({"unit": [row[b] / row["population"] for b in bands], "city": [city[b] / city["population"] for b in bands]},
                          index=[AGE6_LABELS[b] for b in bands])  # fmt: skip
    base = "Census 2021 usual residents (21 March 2021)"
    table = PackTable(f"Residents by age band: {base}", ["Age band", "Residents", "Share", "City share"],
                      [[AGE6_LABELS[b], _n(row[b]), _pct(row[b] / row["population"]), _pct(city[b] / city["population"])] for b in bands],
                      [False, True, True, True])  # fmt: skip
    fig = PackFigure(_svg(age_structure_chart(shares, unit=c.name, base_label=base, demo=p.demo)),
                     f"Bar chart of the share of {c.name}'s residents in six age bands beside the city; the same figures are in the table.",
                     f"Age structure ({base}); bars: this {c.level}, dots: the city.")  # fmt: skip
    return PackSection("age", "Age structure", [p.lsoa21_ward.attrs["method"]], [fig, table])


def _health_rows(h: pd.DataFrame, resident: bool) -> list[list[str]]:
    rows = []
    for _, r in h.iterrows():
        if resident:
            rows.append([f"{r['condition_name']} ({r['condition']})", r["list_base"], _n(r["resident_register"]), _n(r["resident_prevalence"], "{:.2f}%"),
                         _n(r["city_resident_prevalence"], "{:.2f}%"), _n(r["england_prevalence"], "{:.2f}%"),
                         _n(r["resident_ratio_city"], "{:.2f}"), _n(r["resident_ratio_england"], "{:.2f}")])  # fmt: skip
        else:
            rows.append([f"{r['condition_name']} ({r['condition']})", r["list_base"], _n(r["register"]), _n(r["list_size"]),
                         _n(r["prevalence"], "{:.2f}%"), _n(r["city_prevalence"], "{:.2f}%"), _n(r["england_prevalence"], "{:.2f}%"),
                         _n(r["ratio_city"], "{:.2f}"), _n(r["ratio_england"], "{:.2f}")])  # fmt: skip
    return rows


def _health_section(c: _Ctx) -> PackSection:
    if c.health is None:
        return PackSection("health", "Health need", ["The place has no QOF layer, so health need cannot be shown."])
    h = c.health[(c.health["level"] == c.level) & (c.health["name"] == c.name)]
    order = {k: i for i, k in enumerate(MAIN_CONDITIONS)}
    h = h.assign(_o=h["condition"].map(order).fillna(99)).sort_values(["_o", "condition"])
    vint = c.health.attrs.get("vintage", "QOF")
    reg = PackTable(f"Registered view: registers of the practices with premises here, {vint}, as % of QOF's base list for each condition",
                    ["Condition", "Age base", "Register", "List", "Prevalence", "City", "England", "× city", "× England"],
                    _health_rows(h, False), [False, False] + [True] * 7)  # fmt: skip
    res = PackTable(f"Resident view (modelled): registers of the residents of its wards, {vint} spread by July 2022 registrations",
                    ["Condition", "Age base", "Modelled register", "Prevalence", "City residents", "England", "× city", "× England"],
                    _health_rows(h, True), [False, False] + [True] * 6, note=RESIDENT_ASSUMPTION)  # fmt: skip
    dot = PackFigure(_svg(prevalence_dot_chart(c.health, c.name, conditions=MAIN_CONDITIONS, level=c.level, demo=c.place.demo)),
                     f"Dot chart of {c.name}'s prevalence of twelve conditions as a ratio to the city; the figures are in the table below.",
                     "Prevalence against the city, main conditions (registered view); red: 10% or more above the city, blue: 10% or more "
                     "below, grey dots: the other units, diamonds: England.")  # fmt: skip
    blocks: list = [dot, reg, res]
    if c.hbase is not None and c.hbase.lsoa_quintile.any():
        blocks.append(_imd_table(c))
    paras = ["Prevalence is the register as a share of the practice list of the ages QOF counts for that condition (e.g. diabetes: "
             "patients aged 17+). Ratios above 1 mean more of the condition than the city or England; QOF counts diagnosed, recorded "
             "cases, so low ratios can also mean under-diagnosis.", *c.health.attrs.get("notes", [])]  # fmt: skip
    return PackSection("health", "Health need", paras, blocks)


def _imd_table(c: _Ctx) -> PackTable:
    by = health_by_imd(c.hbase, wards=c.wards)
    conds = [k for k in ("DM", "HYP", "COPD", "DEP", "MH", "CHD") if k in set(by["condition"])]
    rows = []
    for q in range(1, 6):
        sub = by[by["imd_quintile"] == q].set_index("condition")
        base_list = sub["resident_list_size"].max()
        if base_list < 1:
            continue
        rows.append([f"{q}" + (" (most deprived)" if q == 1 else " (least deprived)" if q == 5 else ""), _n(base_list)]
                    + [_n(sub.at[k, "resident_prevalence"], "{:.1f}%") for k in conds])  # fmt: skip
    return PackTable("Modelled resident prevalence by IMD 2019 quintile of residence (LSOAs of this unit; QOF 2022-23 spread by July 2022 "
                     "registrations)",
                     ["IMD quintile", "Patients (largest base)"] + conds, rows, [False] + [True] * (1 + len(conds)))  # fmt: skip


def _crossing_rows(s: pd.Series, total: float, own: str) -> list[list[str]]:
    s = s.drop(own, errors="ignore")
    s = s[s > 0].sort_values(ascending=False).head(8)
    return [[str(k), _n(v), _pct(v / total if total else np.nan)] for k, v in s.items()]


def _containment_section(c: _Ctx) -> PackSection:
    if c.flows is None:
        return PackSection("containment", "Containment and who crosses", ["The place has no registrations layer."])
    nf = c.flows.neighbourhoods.loc[c.name]
    m = c.flows.matrix
    paras = [f"Resident containment: {_pct(nf['resident_containment'])} of the {_n(nf['residents_registered'])} GP-registered residents "
             f"of this {c.level} are registered with a practice whose premises stand in it. List containment: "
             f"{_pct(nf['list_containment'])} of the {_n(nf['registered_list'])} patients of its practices live in it. "
             "Both from NHS Digital registrations by LSOA of residence, July 2022."]  # fmt: skip
    out = PackTable("Where its residents are registered, outside it (top 8; GP-registered patients, July 2022)", ["Registered with", "Patients", "Share of its residents"],
                    _crossing_rows(m.loc[c.name], nf["residents_registered"], c.name), [False, True, True])  # fmt: skip
    inn = PackTable("Where its practices' other patients live (top 8; GP-registered patients, July 2022)", ["Living in", "Patients", "Share of its lists"],
                    _crossing_rows(m[c.name], nf["registered_list"], c.name), [False, True, True],
                    note=f"'{OUTSIDE}' is another local authority; '{UNKNOWN}' is a patient with no recorded LSOA.")  # fmt: skip
    return PackSection("containment", "Containment and who crosses", paras, [out, inn])


def _assets_section(c: _Ctx) -> PackSection:
    if not len(c.place.assets_in_place):
        return PackSection("assets", "Community assets", ["The place has no community asset or estates site layer."])
    at = asset_table(c.place, c.grouping, population=c.population)
    mine = at[(at["level"] == "neighbourhood") & (at["name"] == c.name)].set_index("asset_type")
    city = at[at["level"] == "city"].set_index("asset_type")
    nb = at[at["level"] == "neighbourhood"]
    dis = asset_disparity(at)
    src = at.attrs["sources"]
    rows = []
    for t in mine.index:
        rank = int((nb.loc[nb["asset_type"] == t, "per_10k"] > mine.at[t, "per_10k"]).sum()) + 1
        rows.append([ASSET_TYPES[t], _n(mine.at[t, "count"]), _n(mine.at[t, "per_10k"], "{:.2f}"), _n(city.at[t, "per_10k"], "{:.2f}"),
                     f"{rank} of {nb['name'].nunique()}", _n(dis.at[t, "ratio"], "{:.1f}×"), src.get(t, "")])  # fmt: skip
    return PackSection("assets", "Community assets", [
        f"Assets standing in the wards of this {c.level}, per 10,000 {at.attrs['population_label']}. The rank is among the "
        f"{nb['name'].nunique()} units (1 = highest rate); the spread is the highest unit's rate over the lowest's, across the city."],
        [PackTable(f"Community assets by type, per 10,000 {at.attrs['population_label']}",
                   ["Type", "Count", "Per 10,000", "City per 10,000", "Rank", "Spread across units", "Source, date"],
                   rows, [False, True, True, True, True, True, False])])  # fmt: skip


def _map_section(c: _Ctx, indicator: str, hubs: list[str] | None, sites: gpd.GeoDataFrame | None) -> PackSection:
    p = c.place
    lsoas = p.lsoas[p.lsoa_ward_code.isin(c.wards).to_numpy()][["name", "geometry"]].copy()
    if indicator == "imd" and p.imd is not None:
        lsoas["v"], label, cat = p.imd["imd_decile"].reindex(lsoas.index).to_numpy(), INDICATORS["imd"], True
    elif c.hbase is not None and indicator in c.hbase.conditions:
        k = c.hbase.conditions.index(indicator)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = 100 * c.hbase.lsoa_register[:, k] / c.hbase.lsoa_list[:, k]
        lsoas["v"] = pd.Series(v, index=p.lsoas.index).reindex(lsoas.index).to_numpy()
        label, cat = f"modelled {indicator} prevalence of residents, % ({c.hbase.vintage})", False
    else:
        raise PlacekitError(f'`indicator` was "{indicator}" but is expected to be "imd" or a QOF condition code '
                            f"({', '.join(c.hbase.conditions) if c.hbase is not None else 'no QOF layer'}).")  # fmt: skip
    pr = p.practices_in_place
    assets = p.assets_in_place[p.assets_in_place["ward_code"].isin(c.wards)]
    hub_pts = None
    if hubs and sites is not None:
        hub_pts = sites.loc[[h for h in hubs if h in sites.index]]
        hub_pts = hub_pts[hub_pts.geometry.within(p.wards.loc[c.wards].union_all())]
    fig = profile_static_map(lsoas, p.wards.loc[c.wards], column="v", legend_label=label, categorical_imd=cat,
                             practices=pr[pr["ward_code"].isin(c.wards)], assets=assets[assets["asset_type"] != "gp"],
                             asset_labels=ASSET_TYPES, hubs=hub_pts, demo=p.demo)  # fmt: skip
    alt = (f"Map of {c.name}: its wards outlined, its LSOAs shaded by {label}, GP practices, community assets and hubs marked; "
           "the counts are in the tables.")  # fmt: skip
    carried = " (IMD 2019 from each LSOA's 2011 parent)" if p.lsoa_vintage == "2021" and label.startswith("IMD") else ""
    return PackSection("map", "Map", [], [PackFigure(_svg(fig), alt, f"LSOAs ({p.lsoa_vintage}) shaded by {label}{carried}; GP practices (ODS), assets by type, "
                                                     "hubs. GP sites of the CQC list are counted in the assets table, not drawn.")])  # fmt: skip


def _range_cell(row: pd.Series, col: str, fmt: str) -> str:
    v = _n(row[col], fmt)
    if f"{col}_low" not in row:
        return v
    lo, hi = _n(row[f"{col}_low"], fmt), _n(row[f"{col}_high"], fmt)
    return v if lo == hi else f"{v} ({lo}–{hi})"


def _access_section(c: _Ctx, hubs: list[str], access: dict[str, Access]) -> PackSection:
    """Time to the nearest hub for the unit and the city, by mode; modelled drive times as value (low–high) with their calibrated range."""
    rows, paras, hub_rows = [], [], []
    for mode, a in access.items():
        ev = evaluate_hubs(a.with_grouping(c.grouping), [h for h in hubs if h in a.sites.index])
        by = ev.coverage.by_unit
        for unit in (c.name, c.place.name):
            r = by.loc[unit]
            rows.append([mode, unit, _range_cell(r, "mean_minutes", "{:.1f}"), _range_cell(r, "p90_minutes", "{:.1f}"),
                         _range_cell(r, "share_within", "{:.0%}"), f"{ev.threshold:g} min"])  # fmt: skip
        paras.append(f"{mode.capitalize()}: {ev.method}." + (f" How sure: {ev.calibration['text']}." if ev.calibration else ""))
        if not hub_rows:
            mine = ev.report[ev.report["neighbourhood"] == c.name]
            hub_rows = [[str(r["name"]), str(r["type"]), _n(r["capacity"]), str(r["capacity_source"]), _n(r["residents_served"])]
                        for _, r in mine.iterrows()]  # fmt: skip
    tables = [PackTable(f"Time to the nearest of the {len(hubs)} hubs (residents by LSOA: {c.place.vintages.get('population', 'population layer')})",
                        ["Mode", "Area", "Mean minutes", "90th percentile", "Share within", "Threshold"], rows,
                        [False, False, True, True, True, True], note="Modelled drive times read value (low–high): the spread "
                        "between the drive-time forms the road data cannot tell apart at these distances.")]  # fmt: skip
    if hub_rows:
        tables.append(PackTable(f"Hubs in this {c.level}: capacity and residents served", ["Hub", "Type", "Capacity (patients)",
                                "Capacity from", "Residents served (nearest hub)"], hub_rows, [False, False, True, False, True]))  # fmt: skip
    return PackSection("access", "Access to hubs", paras, tables)


def build_pack(place: Place, grouping: Grouping, name: str, *, level: str = "neighbourhood", population: str | None = None,
               indicator: str = "imd", hubs: list[str] | None = None, sites: gpd.GeoDataFrame | None = None,
               flow_base: FlowBase | None = None, hbase: HealthBase | None = None, scenario: str | None = None,
               date: dt.date | None = None, access: dict[str, Access] | None = None) -> ProfilePack:  # fmt: skip
    """Gather the profile pack of neighbourhood (or locality) `name` under `grouping`.

    Parameters
    ----------
    level
        ``"neighbourhood"`` or ``"locality"``.
    population
        Resident base of the key figures and rates (``census2021`` or ``mid2015``); Census
        2021 when the place has it and None is given.
    indicator
        Map shading: ``"imd"`` or a QOF condition code (modelled resident prevalence by LSOA).
    flow_base, hbase
        Precomputed bases (:func:`boundaries.flows.flow_base_from_place`, :func:`boundaries.health.health_base`).
    access
        Travel times by mode (:func:`estates.access.build_access`); with `hubs`, the pack gains
        "Access to hubs": time to the nearest hub, modelled drive times as value (low–high).
    scenario
        Name printed on every page; the grouping's name when None.

    Raises
    ------
    PlacekitError
        When `name` is not a unit of `level`, or `level`/`indicator` is unknown.
    """
    if level not in ("neighbourhood", "locality"):
        raise PlacekitError(f'`level` was "{level}" but is expected to be "neighbourhood" or "locality".')
    units = grouping.neighbourhoods if level == "neighbourhood" else grouping.localities
    if name not in units:
        raise PlacekitError(f"{level} {name!r} is not in grouping {grouping.name!r}; its {level}s are: {units}.")
    ug = grouping if level == "neighbourhood" else locality_grouping(grouping)
    wards = [w for w, n in ug.ward_to_neighbourhood.items() if n == name]
    population = population or ("census2021" if place.census is not None else "mid2015")
    hb = hbase if hbase is not None else (health_base(place) if place.qof is not None else None)
    fb = flow_base if flow_base is not None else (flow_base_from_place(place) if place.registrations is not None else None)
    c = _Ctx(place, ug, name, level, wards, population, health_table(place, grouping, base=hb) if hb is not None else None, hb,
             compute_flows(fb, ug, city=place.name) if fb is not None else None)  # fmt: skip
    sections = [_map_section(c, indicator, hubs, sites), _key_figures(c), _age_section(c), _health_section(c), _containment_section(c),
                _assets_section(c)]  # fmt: skip
    if hubs and access:
        sections.append(_access_section(c, hubs, access))
    sections.append(_sources(place))
    return ProfilePack(title=name, level=level, locality=grouping.neighbourhood_to_locality.get(name, name) if level == "neighbourhood" else "",
                       place=place.label, scenario=scenario or grouping.name or "unsaved grouping",
                       date=(date or dt.date.today()).strftime("%-d %B %Y"), demo=place.demo, sections=sections)  # fmt: skip


def _sources(place: Place) -> PackSection:
    rows = [[k, v] for k, v in sorted(place.vintages.items()) if v]
    return PackSection("sources", "Sources and vintages", ["Every layer of the place, with the vintage it is of. "
                       + ("DEMO DATA: synthetic figures made by placekit, not real." if place.demo else "")],
                       [PackTable("Layers and vintages", ["Layer", "Vintage"], rows)])  # fmt: skip


# --------------------------------------------------------------------------- HTML and PDF
_CSS = """
:root { --ink:#1a1a1a; --mute:#555; --rule:#d0d0d0; --accent:#0b3d91; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: var(--ink); margin: 0; line-height: 1.45;
       overflow-wrap: normal; word-break: normal; hyphens: manual; }
main { max-width: 62rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
.runhead { font-size: .8rem; color: var(--mute); border-bottom: 1px solid var(--rule); padding: .4rem 1.25rem; }
.demo { background: #b00020; color: white; padding: .1rem .4rem; border-radius: 3px; font-weight: 700; }
h1 { font-size: 1.7rem; margin: .6rem 0 .2rem; } h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; border-bottom: 2px solid var(--accent); }
.sub { color: var(--mute); margin: 0 0 1rem; }
nav ul { padding-left: 1.2rem; columns: 2; }
figure { margin: 1rem 0; } figure img { width: 100%; height: auto; max-width: 46rem; display: block; }
figcaption, .note, caption { font-size: .85rem; color: var(--mute); }
caption { text-align: left; caption-side: top; font-weight: 600; color: var(--ink); padding: .3rem 0; }
.tablewrap { overflow-x: auto; margin: .8rem 0 1.2rem; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; }
th, td { border-bottom: 1px solid var(--rule); padding: .3rem .45rem; vertical-align: top; text-align: left; }
th { background: #f3f5f9; } td.num, th.num { text-align: right; white-space: nowrap; }
@media (max-width: 640px) {
  main { padding: .6rem .7rem 2rem; } h1 { font-size: 1.35rem; } nav ul { columns: 1; }
  table.stack thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.stack tr { display: block; border-bottom: 2px solid var(--rule); padding: .3rem 0; }
  table.stack td { display: flex; justify-content: space-between; gap: 1rem; border: 0; padding: .12rem 0; text-align: right; }
  table.stack td::before { content: attr(data-label); font-weight: 600; text-align: left; flex: 0 0 45%; }
  table.stack td.num { white-space: normal; }
}
@page { size: A4; margin: 20mm 14mm 16mm;
        @top-left { content: element(runhead); width: 100%; }
        @bottom-right { content: "page " counter(page) " of " counter(pages); font: 8pt "DejaVu Sans", sans-serif; color: #555; } }
@media print {
  .runhead { position: running(runhead); border: 0; padding: 0; font-size: 8pt; }
  main { max-width: none; padding: 0; } body { font-size: 9.5pt; } table { font-size: 8pt; page-break-inside: auto; }
  tr, figure, .short { page-break-inside: avoid; } h2 { page-break-after: avoid; } nav { display: none; }
  figure img { max-width: 100%; max-height: 200mm; object-fit: contain; }
}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _table_html(t: PackTable) -> str:
    num = t.numeric + [False] * (len(t.columns) - len(t.numeric))
    head = "".join(f'<th scope="col"{" class=num" if n else ""}>{_e(c)}</th>' for c, n in zip(t.columns, num, strict=True))
    body = "".join(
        "<tr>" + "".join(f'<td data-label="{_e(c)}"{" class=num" if n else ""}>{_e(v)}</td>' for c, n, v in zip(t.columns, num, r, strict=False))
        + "</tr>"
        for r in t.rows
    )
    note = f'<p class="note">{_e(t.note)}</p>' if t.note else ""
    short = " short" if len(t.rows) <= 14 else ""
    return (f'<div class="tablewrap{short}"><table class="stack"><caption>{_e(t.caption)}</caption><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>{note}")  # fmt: skip


def _figure_html(f: PackFigure) -> str:
    data = base64.b64encode(f.svg).decode()
    return f'<figure><img alt="{_e(f.alt)}" src="data:image/svg+xml;base64,{data}"><figcaption>{_e(f.caption)}</figcaption></figure>'


def pack_html(pack: ProfilePack) -> str:
    """Write `pack` as one standalone HTML page: real text and tables, figures as images with alternative text, no script.

    The same page is what :func:`pack_pdf` prints; its running header (scenario, unit,
    date) is repeated at the top of every printed page.
    """
    demo = ' <span class="demo">DEMO DATA</span>' if pack.demo else ""
    what = pack.level + (f", {pack.locality} locality" if pack.locality else "")
    run = f'<div class="runhead">Scenario: {_e(pack.scenario)} · {_e(pack.title)} · {_e(pack.place)} · {_e(pack.date)}{demo}</div>'
    toc = "".join(f'<li><a href="#{s.id}">{_e(s.heading)}</a></li>' for s in pack.sections)
    parts = [f"<h1>{_e(pack.title)}</h1>", f'<p class="sub">Profile of the {_e(what)} — {_e(pack.place)}; scenario '
             f"“{_e(pack.scenario)}”; made {_e(pack.date)}.{demo}</p>", f'<nav aria-label="Contents"><ul>{toc}</ul></nav>']  # fmt: skip
    for s in pack.sections:
        parts.append(f'<section id="{s.id}" aria-labelledby="{s.id}-h"><h2 id="{s.id}-h">{_e(s.heading)}</h2>')
        parts += [f"<p>{_e(p)}</p>" for p in s.paragraphs if p]
        parts += [_table_html(b) if isinstance(b, PackTable) else _figure_html(b) for b in s.blocks]
        parts.append("</section>")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(pack.title)} — profile</title><style>{_CSS}</style></head><body>{run}<main>{''.join(parts)}</main></body></html>")  # fmt: skip


def _weasyprint():
    """Import WeasyPrint, or explain what is missing (it needs Debian's Pango libraries)."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise PdfUnavailableError(
            f"PDF export needs WeasyPrint and the Pango text library ({type(exc).__name__}: {str(exc).splitlines()[0][:160]}). "
            "Install them: `pip install weasyprint` and, on Debian or Ubuntu, `apt-get install libpango-1.0-0 libpangoft2-1.0-0` "
            "(macOS: `brew install pango`). The HTML export works without them."
        ) from exc
    return weasyprint


def pack_pdf(pack: ProfilePack) -> bytes:
    """Print `pack` to PDF (A4) from the HTML of :func:`pack_html`, with the scenario, unit and date on every page.

    Raises
    ------
    PdfUnavailableError
        When WeasyPrint or the Pango library is not installed (the message says how to install them).
    """
    wp = _weasyprint()
    return wp.HTML(string=pack_html(pack)).write_pdf()
