"""Redraw: click a ward, move it to another neighbourhood; bulk edits; undo/redo; scenarios."""

import time

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from boundaries.grouping import grouping_from_records, grouping_to_csv, grouping_to_json
from placekit.errors import PlacekitError
from ui import common
from ui.maps import ward_map

place = common.place()
g = common.grouping()
names = common.static()["ward_names"]
base = common.static()["baseline"]
ss = st.session_state

st.title("Redraw neighbourhoods")
common.page_notes("redraw")  # loader warnings about this page's layers


def _map(gkey: tuple, selected: str | None):
    """Build the ward map of the working grouping with the selected ward outlined."""
    moved = {w for w, n in gkey if base.ward_to_neighbourhood.get(w) != n}
    return ward_map(place, g, selected=selected, moved=moved)


left, right = st.columns([1, 1])

with left:
    # The map depends on the grouping only: a map whose HTML changes between reruns loses its click value.
    m = _map(tuple(sorted(g.ward_to_neighbourhood.items())), None)
    out = st_folium(
        m,
        key=f"redraw_map_{hash(tuple(sorted(g.ward_to_neighbourhood.items())))}",
        height=620,
        use_container_width=True,
        returned_objects=["last_object_clicked", "last_clicked"],
    )
    click = (out or {}).get("last_object_clicked") or (out or {}).get("last_clicked")
    if common.env_flag("PLACEKIT_DEBUG"):
        ss._runs = ss.get("_runs", 0) + 1
        st.caption(f"map returned: {out} run {ss._runs}")
    if click and click != ss.get("_last_click"):
        ss._last_click = click
        code = common.ward_at(click["lat"], click["lng"])
        if code and code != ss.get("ward_pick"):
            ss.ward_pick = code  # the Ward box follows the map
            st.rerun()
    st.caption("Click a ward to select it (the Ward box follows). Red outlines: wards moved from the baseline.")

with right:
    wards = sorted(g.ward_to_neighbourhood, key=lambda w: names.get(w, w))
    if ss.get("ward_pick") not in wards:
        ss.ward_pick = wards[0]
    ward = st.selectbox("Ward", wards, format_func=lambda w: f"{names.get(w, w)} ({w})", key="ward_pick")
    current = g.ward_to_neighbourhood[ward]
    st.write(f"In **{common.esc(current)}** ({common.esc(g.neighbourhood_to_locality[current])})")
    options = g.neighbourhoods + ["➕ New neighbourhood…"]
    if ss.get("_target_for") != ward:  # a new ward starts on its own neighbourhood
        ss.target_pick, ss._target_for = current, ward
    target = st.selectbox("Move to", options, key="target_pick")
    new_name, new_loc = None, None
    if target == options[-1]:
        new_name = st.text_input("New neighbourhood name", key="new_nb")
        new_loc = st.selectbox("Its locality", g.localities, key="new_loc")
    c1, c2, c3 = st.columns(3)

    def _assign() -> None:
        # Runs before the next script run, so a reassignment costs one run, not two.
        try:
            t0 = time.perf_counter()
            dest = new_name.strip() if new_name else target
            if not dest or dest == options[-1]:
                raise PlacekitError("type a name for the new neighbourhood")
            common.set_grouping(g.move(ward, dest, locality=new_loc if new_name else None))
            ss.last_change_ms = (time.perf_counter() - t0) * 1000
            ss.assign_error = None
        except PlacekitError as exc:
            ss.assign_error = str(exc)

    c1.button("Assign", type="primary", key="assign", on_click=_assign)
    c2.button("↶ Undo", disabled=not ss.undo_stack, key="undo_btn", on_click=common.undo)
    c3.button("↷ Redo", disabled=not ss.redo_stack, key="redo_btn", on_click=common.redo)
    if ss.get("assign_error"):
        st.error(ss.assign_error)

    fig = common.figures(g)
    common.badges(fig, g)
    base_fig = common.baseline_figures()
    t = fig["table"].copy()
    changed = [
        n
        for n in t.index
        if n not in base_fig["table"].index
        or set(w for w, x in g.ward_to_neighbourhood.items() if x == n) != set(w for w, x in base.ward_to_neighbourhood.items() if x == n)
    ]
    st.subheader("Changed neighbourhoods" if changed else "Neighbourhoods (no change from the baseline)")
    show = t.loc[changed] if changed else t
    disp = pd.DataFrame(
        {
            "locality": show["locality"],
            "population": show["population"].astype(int),
            "baseline population": base_fig["table"]["population"].reindex(show.index),
            "self-containment %": (100 * show.get("self_containment", pd.Series(dtype=float))).round(1),
            "baseline self-containment %": (
                100 * base_fig["table"].get("self_containment", pd.Series(dtype=float)).reindex(show.index)
            ).round(1),
            "residents registered outside city": show.get("residents_outside_city"),
            **{c.replace("_", " ") + " %": (100 * show[c]).round(1) for c in show.columns if c.startswith("within_")},
            "in band": show["in_band"],
            "pieces": show["parts"],
        }
    )
    st.dataframe(disp, width="stretch")
    if fig["flows"] is not None:
        st.metric(
            "Lowest self-containment",
            f"{100 * fig['flows'].min_self_containment:.1f}%",
            delta=f"{100 * (fig['flows'].min_self_containment - base_fig['flows'].min_self_containment):+.1f} pts vs baseline",
        )
        st.metric(
            "City residents registered in their own neighbourhood",
            f"{100 * fig['flows'].mean_self_containment:.1f}%",
            delta=f"{100 * (fig['flows'].mean_self_containment - base_fig['flows'].mean_self_containment):+.1f} pts vs baseline",
        )
    st.caption(f"Figures recomputed in {fig['ms']:.1f} ms.")

if st.toggle("Bulk edit (table)", key="bulk_toggle"):
    df = g.to_frame(names)
    edited = st.data_editor(df, key="bulk_editor", hide_index=True, disabled=["ward_code", "ward_name"], width="stretch")
    if st.button("Apply table", key="apply_table"):
        try:
            ng = grouping_from_records(
                edited[["ward_code", "neighbourhood", "locality"]].itertuples(index=False, name=None),
                wards=list(place.wards.index),
                name=g.name,
                ward_set=g.ward_set,
                source="the table",
            )
            common.set_grouping(ng)
            st.rerun()
        except PlacekitError as exc:
            st.error(str(exc))

st.subheader("Scenarios")
store = common.store()
sc1, sc2 = st.columns(2)
with sc1:
    name = st.text_input("Save the working grouping as", value=ss.get("scenario_name") or "", key="save_name")
    overwrite = st.checkbox("Overwrite if it exists", key="save_overwrite")
    if st.button("Save scenario", key="save"):
        try:
            store.save(name, g.renamed(name), place=place.label, hubs=ss.get("hubs", []), overwrite=overwrite)
            ss.scenario_name = name
            st.success(f"Saved {name!r}.")
        except PlacekitError as exc:
            st.error(str(exc))
    up = st.file_uploader("Upload a grouping (CSV or JSON)", type=["csv", "json"], key="upload")
    up_name = st.text_input("Name for the uploaded scenario", key="upload_name")
    if st.button("Import upload", key="import") and up is not None:
        try:
            ng = store.import_file(up_name or up.name, up.getvalue(), up.name, place=place.label, wards=list(place.wards.index))
            st.success(f"Imported {common.esc(up_name or up.name)} with {len(ng.neighbourhoods)} neighbourhoods.")
        except PlacekitError as exc:
            st.error(f"Not imported; nothing was changed. {exc}")
    st.download_button("Download CSV", grouping_to_csv(g, names), file_name="grouping.csv", mime="text/csv", key="dl_csv")
    st.download_button("Download JSON", grouping_to_json(g, names), file_name="grouping.json", mime="application/json", key="dl_json")
with sc2:
    listing = store.list(place.label)
    st.dataframe(listing, hide_index=True, width="stretch")
    if len(listing):
        pick = st.selectbox("Scenario", listing["name"].tolist(), key="scenario_pick")
        b1, b2, b3 = st.columns(3)
        if b1.button("Load", key="load"):
            try:
                s = store.load(pick, wards=list(place.wards.index))
                common.set_grouping(s["grouping"])
                if s["hubs"]:
                    ss.hubs = s["hubs"]
                ss.scenario_name = pick
                st.rerun()
            except PlacekitError as exc:
                st.error(str(exc))
        if b2.button("Delete", key="delete"):
            store.delete(pick)
            st.rerun()
        new = st.text_input("New name (rename or duplicate)", key="rename_to")
        if b3.button("Rename", key="rename"):
            try:
                store.rename(pick, new)
                st.rerun()
            except PlacekitError as exc:
                st.error(str(exc))
        if st.button("Duplicate", key="duplicate"):
            try:
                store.duplicate(pick, new)
                st.rerun()
            except PlacekitError as exc:
                st.error(str(exc))
