"""Redraw's "Open a plan drawn elsewhere": neighbourhood polygons or an assignment table become the working grouping.

The file goes through :func:`boundaries.plan_import.import_plan`, as ``placekit import-plan``
does: each ward to the polygon (or district) holding most of its area or residents. A placekit
grouping file (the JSON or CSV that ``placekit design --out``, Download and ``scenarios export``
write, a plan built from LSOAs included) is opened as it is. The result replaces the working
grouping as one undo step (locked neighbourhoods are kept: a plan that would change one is
refused), and the report of split and outside wards stays on the page.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from boundaries.grouping import grouping_from_text, practice_roll
from boundaries.plan_import import BY, POLYGON_SUFFIXES, TABLE_SUFFIXES, PlanImport, import_plan
from geo.model import Place
from placekit.errors import PlacekitError
from placekit.safe_text import safe_filename
from placekit.ui import common, guard, working

__all__ = ["UPLOAD_TYPES", "MAX_PLAN_BYTES", "plan_from_upload", "grouping_file", "panel"]

#: File types the uploader takes: polygons (a Shapefile as a .zip of its parts) or a CSV table.
UPLOAD_TYPES = ["gpkg", "geojson", "json", "zip", "csv"]
#: Largest plan file taken (a city's neighbourhoods drawn in detail are a few MB).
MAX_PLAN_BYTES = 50_000_000
_OUTSIDE = {"refuse": "refuse the plan (name them)", "nearest": "give each to the nearest neighbourhood"}


def plan_from_upload(data: bytes, filename: str, place: Place, *, by: str = "area", outside: str = "refuse", name_field: str | None = None,
                     locality_field: str | None = None, layer: str | None = None) -> PlanImport:  # fmt: skip
    """Read an uploaded plan file (its bytes and name) as :func:`boundaries.plan_import.import_plan` reads a path.

    Raises
    ------
    PlacekitError
        For a file of another kind, too large, or any refusal of :func:`import_plan`.
    """
    name = safe_filename(filename, default="plan")
    suffix = Path(name).suffix.lower()
    own = grouping_file(data, name, place)
    if own is not None:
        return own
    if suffix not in POLYGON_SUFFIXES + TABLE_SUFFIXES or suffix == ".shp":
        raise PlacekitError(f"{name}: upload a GeoPackage, a GeoJSON, a Shapefile zipped with its .shx, .dbf and .prj, or a "
                            "unit_id,district CSV.")  # fmt: skip
    if len(data) > MAX_PLAN_BYTES:
        raise PlacekitError(f"{name} is larger than {MAX_PLAN_BYTES // 1_000_000} MB; simplify the polygons or upload the GeoPackage.")
    with tempfile.TemporaryDirectory(prefix="placekit-plan-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return import_plan(path, place, by=by, outside=outside, name_field=name_field or None, locality_field=locality_field or None,
                           layer=layer or None, name=Path(name).stem)  # fmt: skip


def _is_grouping_text(text: str, suffix: str) -> bool:
    """Tell whether a JSON or CSV text is a placekit grouping file (not GeoJSON, not a unit_id,district table)."""
    if suffix == ".json":
        try:
            doc = json.loads(text)
        except ValueError:
            return False
        return isinstance(doc, dict) and "neighbourhoods" in doc and "features" not in doc
    first = next((line for line in text.splitlines() if line.strip() and not line.startswith("#")), "")
    return first.replace(" ", "").lower().startswith("ward_code,")


def grouping_file(data: bytes, filename: str, place: Place) -> PlanImport | None:
    """Read an uploaded placekit grouping file (JSON or CSV, wards and any LSOAs listed) as it is; None for any other file.

    Raises
    ------
    PlacekitError
        A grouping file with problems (every one listed: unknown wards, LSOAs or practices, …).
    """
    suffix = Path(filename).suffix.lower()
    if suffix not in (".json", ".csv"):
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if not _is_grouping_text(text, suffix):
        return None
    g = grouping_from_text(text, fmt=suffix[1:], wards=place.wards.index, roll=practice_roll(place) if place.practices is not None else None,
                           lsoas=place.lsoas.index, source=f"uploaded file {filename}")  # fmt: skip
    kind = f"a plan built from LSOAs ({len(g.lsoa_to_neighbourhood)} LSOAs assigned away from their ward)" if g.units == "lsoa" else "a plan of whole wards"
    wards = pd.DataFrame(columns=["ward_code", "ward_name", "neighbourhood", "share", "others", "outside_share", "status"])
    return PlanImport(g, wards, [f"A placekit grouping file: {kind}, opened as it is."])


@guard.callback("Opening a plan drawn elsewhere")
def _open() -> None:
    """Open the uploaded plan as the working grouping (one undo step); keep its report, or the refusal, for the page."""
    ss = st.session_state
    up = ss.get("plan_upload")
    if up is None:
        return
    try:
        result = plan_from_upload(up.getvalue(), up.name, common.place(), by=ss.get("plan_by", "area"), outside=ss.get("plan_outside", "refuse"),
                                  name_field=ss.get("plan_name_field"), locality_field=ss.get("plan_locality_field"),
                                  layer=ss.get("plan_layer"))  # fmt: skip
        g = result.grouping
        common.practice_teams(g)  # refuses explicit practices that are not the place's (unknown, closed, outside)
        working.change(g)
    except PlacekitError as exc:
        ss.plan_report = {"file": up.name, "error": str(exc)}
        return
    if g.units == "lsoa":
        ss.lsoa_layer = True
    working.set_origin(f"{g.name} (imported)", g, ss.get("hubs"), saved=False)
    working.set_selection(())
    ss.plan_report = {"file": up.name, "notes": result.notes, "problems": result.problems.to_dict("records"),
                      "counts": g.counts()}  # fmt: skip


def _report() -> None:
    rep = st.session_state.get("plan_report")
    if not rep:
        return
    if "error" in rep:
        st.error(common.esc(f"{rep['file']} was not opened; the working grouping is unchanged. {rep['error']}"))
        return
    n, m, _ = rep["counts"]
    st.success(common.esc(f"Opened {rep['file']} as the working grouping: {n} neighbourhoods in {m} localities (Undo goes back)."))
    for note in rep["notes"]:
        st.caption(common.esc(note))
    if rep["problems"]:
        df = pd.DataFrame(rep["problems"])
        df["share"] = (100 * df["share"]).round(1)
        df["outside_share"] = (100 * df["outside_share"]).round(1)
        df = df.drop(columns="ward_code").rename(columns={"ward_name": "ward", "share": "share %", "outside_share": "outside %"})
        st.dataframe(df, hide_index=True, width="stretch")


def panel() -> None:
    """Draw the uploader, its options, the Open button and the last report."""
    ss = st.session_state
    with st.expander("Open a plan drawn elsewhere (GeoPackage, GeoJSON, zipped Shapefile, a unit_id,district CSV, or a placekit grouping)",
                     expanded=bool(ss.get("plan_report"))):  # fmt: skip
        up = st.file_uploader("Plan file", type=UPLOAD_TYPES, key="plan_upload")
        c1, c2 = st.columns(2)
        c1.radio("Each ward goes to the neighbourhood holding most of its", list(BY), key="plan_by", horizontal=True,
                 help="residents: mid-2015 residents of the place's LSOAs, each spread over its part inside its ward")  # fmt: skip
        c2.radio("A ward in no neighbourhood", list(_OUTSIDE), format_func=_OUTSIDE.get, key="plan_outside", horizontal=True)
        c3, c4, c5 = st.columns(3)
        c3.text_input("Name field", key="plan_name_field", placeholder="name, neighbourhood, …")
        c4.text_input("Locality field", key="plan_locality_field", placeholder="locality")
        c5.text_input("Layer", key="plan_layer", placeholder="the only polygon layer")
        st.button("Open as the working grouping", key="plan_open", on_click=_open, disabled=up is None)
        _report()
