"""What if, on the Hubs and coverage page: close or merge practices, open a new one, see where the patients would go.

The registration model is fitted once per place and travel mode (:func:`model`, cached);
each change of the what-if reruns only :func:`estates.whatif.what_if` (well under a second).
Practices to close and the site of a new practice can be picked on the map. The what-if is
kept in ``st.session_state`` (``wi_close``, ``wi_merge_a``, ``wi_merge_b``, ``wi_open``,
``wi_at``, ``wi_capacity``) and saved with a scenario in the store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import streamlit_folium
from pyproj import Transformer

from estates.registration import calibrate, choice_data
from estates.whatif import NEW_CODE, PreparedModel, WhatIf, WhatIfResult, prepare, what_if
from placekit.errors import PlacekitError
from placekit.render.whatif_map import whatif_map
from placekit.safe_text import name_case
from placekit.settings import DISPLAY_CRS, WORKING_CRS
from placekit.ui import common

__all__ = ["whatif_section", "model", "spec_from_state", "apply_doc"]

_NONE = "—"
_FROM_DISPLAY = Transformer.from_crs(DISPLAY_CRS, WORKING_CRS, always_xy=True)
_DEFAULT_CAPACITY = 6000


@st.cache_resource(show_spinner="Fitting the registration model…", max_entries=4)
def _model(root: str, mode: str) -> PreparedModel:
    place = common.place()
    return prepare(calibrate(choice_data(place, mode=mode), folds=5), place)


def model(mode: str) -> PreparedModel:
    """Return the registration model of the place for `mode`, fitted once per process."""
    return _model(common.root_key(), mode)


def spec_from_state() -> WhatIf:
    """Return the what-if the page's controls describe."""
    ss = st.session_state
    a, b = ss.get("wi_merge_a", _NONE), ss.get("wi_merge_b", _NONE)
    merge = (a, b) if _NONE not in (a, b) else None
    opening = bool(ss.get("wi_open")) and bool(str(ss.get("wi_at") or "").strip())
    return WhatIf(close=tuple(ss.get("wi_close", [])), merge=merge, open_name=(ss.get("wi_name") or "New practice") if opening else None,
                  open_at=str(ss.wi_at).strip() if opening else None, capacity=int(ss.get("wi_capacity", _DEFAULT_CAPACITY)) if opening else None)  # fmt: skip


def apply_doc(doc: dict, codes: pd.Index) -> list[str]:
    """Set the controls from a saved what-if (:meth:`WhatIf.to_doc`); return the codes it names that are not practices here."""
    spec = WhatIf.from_doc(doc)
    ss = st.session_state
    ss.wi_close = [c for c in spec.close if c in codes]
    ss.wi_merge_a, ss.wi_merge_b = spec.merge if spec.merge and all(c in codes for c in spec.merge) else (_NONE, _NONE)
    ss.wi_open = spec.open_at is not None
    ss.wi_name, ss.wi_at, ss.wi_capacity = spec.open_name or "New practice", spec.open_at or "", spec.capacity or _DEFAULT_CAPACITY
    return [c for c in [*spec.close, *(spec.merge or ())] if c not in codes]


def _nearest(points: pd.DataFrame, click: dict, tolerance_m: float) -> str | None:
    """Return the id of the point (``x``, ``y`` in the working CRS) nearest a click (lat/lng), or None beyond `tolerance_m`."""
    if points is None or not len(points) or not click:
        return None
    x, y = _FROM_DISPLAY.transform(click["lng"], click["lat"])
    d = np.hypot(points["x"].to_numpy(float) - x, points["y"].to_numpy(float) - y)
    return str(points.index[int(d.argmin())]) if d.min() <= tolerance_m else None


def _clicked(out: dict | None, model_: PreparedModel, sites: pd.DataFrame | None) -> bool:
    """Keep a new map click for the next run (a practice toggles in the closures; a site is where the new practice opens); True when kept.

    The click is read from the feature clicked (its ``practice_code`` or ``site_id``); a click
    that lands on a neighbourhood instead counts for the practice (or, when sites are shown, the
    site) within 80 m. Widgets' values can only change before they are drawn, so the click is
    applied by :func:`_apply_pending` at the top of the next run.
    """
    ss = st.session_state
    out = out or {}
    feat = out.get("last_active_drawing") or {}
    props = feat.get("properties") or {}
    key = (str(props), str(feat.get("geometry")), str(out.get("last_clicked")))
    if not (props or out.get("last_clicked")) or key == ss.get("_wi_last_click"):
        return False
    ss._wi_last_click = key
    code, site = props.get("practice_code"), props.get("site_id")
    if not code and not site:
        site = _nearest(sites, out.get("last_clicked"), 80.0)
        code = None if site else _nearest(model_.data.practices[model_.data.practices["in_place"]], out.get("last_clicked"), 80.0)
    if code and code != NEW_CODE and code in model_.data.practices.index:
        ss._wi_pending = {"toggle": code}
        return True
    if site:
        ss._wi_pending = {"site": site}
        return True
    return False


def _apply_pending(model_: PreparedModel) -> None:
    """Apply what a map click or a loaded scenario asked for in the last run, before the controls are drawn."""
    ss = st.session_state
    for k, v in {"wi_close": [], "wi_merge_a": _NONE, "wi_merge_b": _NONE, "wi_open": False, "wi_name": "New practice", "wi_at": "",
                 "wi_capacity": _DEFAULT_CAPACITY}.items():  # fmt: skip
        ss.setdefault(k, v)
    pending = ss.pop("_wi_pending", None)
    if not pending:
        return
    if "toggle" in pending:
        code = pending["toggle"]
        ss.wi_close = [c for c in ss.wi_close if c != code] if code in ss.wi_close else [*ss.wi_close, code]
    elif "site" in pending:
        ss.wi_open, ss.wi_at = True, pending["site"]
    elif "doc" in pending:
        try:
            missing = apply_doc(pending["doc"], model_.data.practices.index)
            ss.wi_message = f"Loaded the what-if of {pending['name']!r}" + (f"; not practices here: {missing}" if missing else "")
        except PlacekitError as exc:
            ss.wi_message = f"Could not load the what-if of {pending['name']!r}: {exc}"


def _controls(model_: PreparedModel) -> None:
    """Draw the controls: practices to close, a merger, a new practice."""
    pr = model_.data.practices
    inside = pr[pr["in_place"]].sort_values("practice_name")
    label = {c: f"{name_case(r['practice_name'])} ({c}, {int(r['list_size']):,})" for c, r in inside.iterrows()}
    ss = st.session_state
    ss.wi_close = [c for c in ss.get("wi_close", []) if c in label]
    c1, c2, c3 = st.columns([3, 2, 2])
    c1.multiselect("Practices to close", list(label), key="wi_close", format_func=label.get,
                   help="Or click a practice on the map. Every patient of a closed practice is moved by the model.")  # fmt: skip
    options = [_NONE, *label]
    c2.selectbox("Merge into (premises kept)", options, key="wi_merge_a", format_func=lambda c: label.get(c, c))
    c2.selectbox("… the list of", options, key="wi_merge_b", format_func=lambda c: label.get(c, c))
    c3.checkbox("Open a new practice", key="wi_open")
    if ss.get("wi_open"):
        c3.text_input("Name", key="wi_name")
        c3.text_input("At (postcode or site id; or click a site)", key="wi_at")
        c3.number_input("Capacity (patients)", min_value=1, max_value=1_000_000, step=500, key="wi_capacity")


def _gains(res: WhatIfResult) -> None:
    """Show where the patients go: one row per practice that closes, gains or loses, largest gain first."""
    st.markdown(f"**Where the patients go** ({common.esc(res.base)}; largest gains first)")
    pr = res.practices.assign(practice_name=res.practices["practice_name"].map(name_case), change_pct=res.practices["change_pct"].round(1))
    cols = ["practice_code", "practice_name", "status", "gain", "list_before", "list_after", "change_pct"]
    if res.new_practice is not None:
        cols.insert(4, "drawn_to_new")
    st.dataframe(pr[cols].rename(columns={"practice_code": "code", "practice_name": "practice", "list_before": "list before",
                                          "list_after": "list after", "change_pct": "change %", "drawn_to_new": "to new"}),
                 hide_index=True, width="stretch", height=520)  # fmt: skip


def _tables(res: WhatIfResult) -> None:
    """Show the before/after tables: travel, the authority boundary, equity by IMD quintile, containment."""
    t1, t2 = st.columns([3, 2])
    t1.markdown("**Travel time to the practice, minutes** (before → after)")
    t1.dataframe(res.travel.set_index("group").round(1), width="stretch")
    t2.markdown("**The local authority boundary**")
    t2.dataframe(res.boundary.set_index("measure"), width="stretch")
    e1, e2 = st.columns([3, 2])
    e1.markdown("**Equity: patients who move, by IMD 2019 quintile of residence** (1 = most deprived)")
    eq = res.equity.set_index("imd_quintile")
    e1.dataframe(eq.round(1).rename(columns=lambda c: c.replace("movers_", "").replace("residents_", "all residents: ").replace("_", " ")),
                 width="stretch")  # fmt: skip
    chart = eq[["movers_mean_before", "movers_mean_after"]].rename(columns={"movers_mean_before": "mean minutes before",
                                                                           "movers_mean_after": "mean minutes after"})  # fmt: skip
    chart.index = [f"Q{q} ({int(n):,})" for q, n in eq["movers"].items()]  # quintile (patients who move)
    with e2:
        st.bar_chart(chart.dropna(how="all"), horizontal=True, stack=False, height=260)
    st.markdown(f"**Containment per neighbourhood, % of {common.esc(res.base)}** (before → after; practices by "
                f"{common.esc(res.containment.attrs.get('practice_by') or 'premises')})")  # fmt: skip
    cont = res.containment.set_index("neighbourhood")[["resident_containment_before", "resident_containment_after",
                                                       "resident_containment_change", "list_containment_before",
                                                       "list_containment_after", "list_containment_change"]]  # fmt: skip
    st.dataframe(cont.round(2).rename(columns=lambda c: c.replace("_containment_", " ").replace("_", " ")), width="stretch")


def _save(res: WhatIfResult, grouping, hubs: list[str]) -> None:
    """Save the working grouping, hubs and this what-if as a scenario; load one saved with a what-if."""
    place = common.place()
    s1, s2 = st.columns(2)
    name = s1.text_input("Save with the scenario, named", value=f"{grouping.name} + what-if", key="wi_save_name")
    if s1.button("Save the what-if", key="wi_save"):
        try:
            common.store().save(
                name, grouping.renamed(name), place=place.label, hubs=hubs, whatif=res.spec.to_doc(), note=res.spec.describe()
            )
            st.session_state.wi_message = f"Saved as {name!r}: the grouping, {len(hubs)} hubs and the what-if ({res.spec.describe()})."
        except PlacekitError as exc:
            st.session_state.wi_message = None
            s1.error(f"Not saved: {common.esc(exc)}")
    if st.session_state.get("wi_message"):
        s1.success(common.esc(st.session_state.wi_message))
    _load_saved(s2)


def _load_saved(col) -> None:
    saved = common.saved_scenarios()
    names = []
    for n in saved["name"]:
        try:
            if common.store().load(n).get("whatif"):
                names.append(n)
        except PlacekitError:
            continue
    if not names:
        col.caption("Scenarios saved with a what-if appear here, to load again.")
        return
    pick = col.selectbox("Saved what-ifs", names, key="wi_saved")
    if col.button("Load it", key="wi_load"):
        try:
            st.session_state._wi_pending = {"doc": common.store().load(pick)["whatif"], "name": pick}
        except PlacekitError as exc:
            st.session_state.wi_message = f"Could not load {pick!r}: {exc}"
        st.rerun()


def whatif_section(grouping, mode: str, hubs: list[str]) -> None:
    """Draw the What if section of the Hubs and coverage page (its own section: the page calls this once)."""
    st.subheader("What if a practice closes or a new one opens")
    if not st.toggle("Model where patients would register", key="wi_on",
                     help="Fits the registration model to the place's registrations (a few seconds, once), then moves patients by it."):  # fmt: skip
        st.caption("Close or merge practices, or open a new one, and see where their patients would go, what it does to travel, "
                   "to equity and to each neighbourhood's containment, and save it with a scenario.")  # fmt: skip
        return
    place = common.place()
    try:
        m = model(mode)
    except PlacekitError as exc:
        st.error(f"The registration model cannot be fitted here: {common.esc(exc)}")
        return
    st.caption(common.esc(m.calibration.describe()) + f". Travel: {common.esc(m.data.method)} ({mode}).")
    _apply_pending(m)
    _controls(m)
    spec = spec_from_state()
    res = None
    if not spec.is_empty:
        try:
            res = what_if(m, spec, grouping)
        except PlacekitError as exc:
            st.error(common.esc(exc))
    if res is not None:
        k = st.columns(4)
        k[0].metric("Patients of closed lists", f"{res.closed_list:,}", help=f"{res.base}")
        k[1].metric(
            "Moved by the model", f"{res.displaced + res.drawn:,}", help="displaced patients, and patients drawn to the new practice"
        )
        moved = res.travel.iloc[0]
        k[2].metric("Mean minutes, those who move", f"{moved['mean_after']:.1f}", f"{moved['mean_change']:+.1f}", delta_color="inverse")
        k[3].metric("Crossing the authority boundary", f"{int(res.boundary['after'].iloc[0]):,}", f"{int(res.boundary['change'].iloc[0]):+,}",
                    delta_color="inverse", help="patients who move and would register in another local authority than they live in")  # fmt: skip
    _map_and_tables(m, res, spec, grouping, place)
    if res is not None:
        for n in res.notes:
            st.caption(":material/info: " + common.esc(n))
        _save(res, grouping, hubs)


def _map_and_tables(m: PreparedModel, res: WhatIfResult | None, spec: WhatIf, grouping, place) -> None:
    left, right = st.columns([3, 2])
    with left:
        pick = st.radio(
            "A click on the map", ["closes (or reopens) a practice", "opens the new practice at a site"], horizontal=True, key="wi_pick"
        )
        sites = None
        if pick.startswith("opens") and m.sites is not None:
            s = m.sites[m.sites["role"].eq("hub_candidate")] if "role" in m.sites else m.sites
            sites = pd.DataFrame({"x": s.geometry.x, "y": s.geometry.y, "name": s["name"], "site_type": s["site_type"]}, index=s.index)
        flows = res.moves.groupby(["from", "to"], as_index=False)["patients"].sum() if res is not None else None
        fmap = whatif_map(place, grouping, m.data.practices, closed=list(spec.close), merged=spec.merge, sites=sites,
                          new=res.new_practice if res is not None else None, flows=flows,
                          containment=res.containment if res is not None else None, offline=False,
                          title=f"{place.label}: {spec.describe()}")  # fmt: skip
        key = f"wi_map_{hash((spec, pick))}"
        out = streamlit_folium.st_folium(
            fmap, key=key, height=560, use_container_width=True, returned_objects=["last_active_drawing", "last_clicked"]
        )
        if _clicked(out, m, sites):
            st.rerun()
        st.caption("Arrows: predicted moves of patients between practices, width by patients (the largest 40). Red: closed; orange: the "
                   "merged practice; green ring: the new practice. Neighbourhoods are shaded by the change in resident containment.")  # fmt: skip
    with right:
        if res is None:
            st.info("Pick practices to close (on the map or in the list), a merger, or a new practice, to see where patients would go.")
        else:
            _gains(res)
    if res is not None:
        _tables(res)
