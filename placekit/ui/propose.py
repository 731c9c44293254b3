"""Redraw's "Propose neighbourhoods" panel (a design run in the background, with progress and Stop) and "How does this plan compare?".

A proposal (of whole wards, or built from LSOAs) becomes the working grouping in one undoable
step, with what moved; an infeasible request is explained in the panel with what works. A plan
built from LSOAs is drawn, edited and measured on its LSOAs, and can be downloaded too.
"""

from __future__ import annotations

import threading
import time

import pandas as pd
import streamlit as st

from boundaries.design import DesignResult, InfeasiblePlanError, design_plan
from boundaries.ensemble import plan_ensemble
from boundaries.grouping import grouping_to_json
from boundaries.planscore import MEASURES, OBJECTIVES, STATISTICS
from boundaries.profiles import population_bases
from boundaries.units import plan_units
from placekit.errors import PlacekitError
from placekit.render.charts import ensemble_histograms
from placekit.settings import BAND_MAX, BAND_MIN
from placekit.ui import common, working

__all__ = ["propose_panel", "compare_panel"]

_BASE_NAMES = {"census2021": "Census 2021 residents", "mid2015": "mid-2015 residents"}
_UNIT_NAMES = {"ward": "whole wards (every valid plan listed: proven best)", "lsoa": "LSOAs (local search: the best found)"}


@st.cache_resource(show_spinner="Gathering the units (boundaries shared, residents, registrations)…")
def _units(root: str, kind: str, base: str):
    return plan_units(common.place(), kind=kind, population=base)


def _run(job: dict, place, start, params: dict, units) -> None:
    """Run one design in a background thread; only the `job` dict is touched (never Streamlit)."""
    try:
        job["result"] = design_plan(place, start, unit_set=units, stop=job["stop"].is_set,
                                    progress=lambda share, best: job.update(progress=(share, best)), **params)  # fmt: skip
    except InfeasiblePlanError as exc:
        job["infeasible"] = (str(exc), exc.alternatives)
    except PlacekitError as exc:
        job["error"] = str(exc)
    except Exception as exc:  # a bug: say so in the panel rather than lose the thread silently
        job["error"] = f"internal error ({type(exc).__name__}: {exc}); please report it"
    finally:
        job["done"] = time.monotonic()


def _start(params: dict, kind: str, base: str) -> None:
    ss = st.session_state
    try:
        units = _units(common.root_key(), kind, base)
    except PlacekitError as exc:
        ss.propose_job = {"error": str(exc), "done": time.monotonic(), "params": params}
        return
    held = sorted(working.locked())
    job = {"stop": threading.Event(), "progress": (0.0, float("nan")), "started": time.monotonic(), "params": params, "held": held}
    args = (job, common.place(), common.grouping(), params | {"lock": held, "units": kind, "population": base}, units)
    job["thread"] = threading.Thread(target=_run, args=args, daemon=True)
    ss.propose_job = job
    job["thread"].start()


def _base_index(bases: list[str]) -> int:
    """Return the position of the page's chosen resident base among the place's own (its first when it lacks that base)."""
    chosen = common.population_base()
    return bases.index(chosen) if chosen in bases else 0


def _inputs(g) -> tuple[dict, str, str]:
    c1, c2, c3, c4 = st.columns(4)
    k = c1.number_input("Neighbourhoods", min_value=1, max_value=200, value=len(g.neighbourhoods), step=1, key="pp_k")
    lo = c2.number_input("Band: at least", min_value=0, value=BAND_MIN, step=1000, key="pp_lo")
    hi = c3.number_input("Band: at most", min_value=1, value=BAND_MAX, step=1000, key="pp_hi")
    bases = population_bases(common.place())  # a place from the national files has Census 2021 residents only
    base = c4.selectbox("Residents", bases, format_func=_BASE_NAMES.get, index=_base_index(bases), key="pp_base")
    d1, d2, d3 = st.columns([3, 2, 3])
    objective = d1.selectbox("Maximise", list(OBJECTIVES), format_func=lambda o: o.replace("_", " "), key="pp_obj")
    measure = d2.selectbox("Summed as", list(STATISTICS), index=list(STATISTICS).index("city"), format_func=lambda m: {"city": "city-wide (by list)", "mean": "mean",
                           "min": "lowest"}[m], key="pp_measure", help="City-wide weighs each neighbourhood by its list, so parking "
                           "practices whose patients scatter in one neighbourhood cannot raise it; mean and lowest are offered too.")  # fmt: skip
    kind = d3.radio("Built from", list(_UNIT_NAMES), format_func=_UNIT_NAMES.get, key="pp_units")
    e1, e2, e3 = st.columns(3)
    keep = e1.checkbox("Each inside one of its locality", key="pp_keep")
    seed = e2.number_input("Seed", min_value=0, value=0, step=1, key="pp_seed")
    limit = e3.number_input("Time limit (s, 0 = none)", min_value=0, value=60, step=10, key="pp_limit")
    params = {"k": int(k), "band": (float(lo), float(hi)), "objective": objective, "measure": measure, "keep_localities": keep,
              "seed": int(seed), "time_limit": float(limit) or None}  # fmt: skip
    return params, kind, base


def _apply(job: dict) -> None:
    """Make a proposal the working grouping (one undo step) once, and say what moved."""
    r: DesignResult = job["result"]
    if job.get("applied"):
        return
    job["applied"] = True
    try:
        working.change(r.grouping, held=set(job["held"]))
        working.set_selection(())
        st.session_state.assign_note = f"Proposed plan applied ({len(r.moved)} {r.units}(s) moved); Undo restores the one before."
    except PlacekitError as exc:
        job["error"] = f"the proposal was not applied: {exc}"


def _result(job: dict) -> None:
    r: DesignResult = job["result"]
    msg = f"{r.method}; {r.seconds:.1f} s."
    (st.warning if r.stopped else st.success)(
        (f"Stopped ({r.stopped}): this is the best plan found, not a proven optimum. " if r.stopped else "") + msg
    )
    st.markdown(f"**{r.column.replace('_', ' ')}**: {100 * r.start_scores[r.column]:.1f}% before → **{100 * r.scores[r.column]:.1f}%** "
                f"(residents: {common.esc(r.population_label)})")  # fmt: skip
    figs = pd.DataFrame({"before": 100 * r.start_scores, "proposed": 100 * r.scores}).round(1).rename(index=lambda m: m.replace("_", " "))
    t = r.table.assign(list_containment=(100 * r.table["list_containment"]).round(1),
                       resident_containment=(100 * r.table["resident_containment"]).round(1))  # fmt: skip
    c1, c2 = st.columns([2, 3])
    c1.dataframe(figs, width="stretch")
    c2.dataframe(t, hide_index=True, width="stretch")
    if len(r.moved):
        st.caption(f"What moved ({len(r.moved)} {r.units}(s)): " + "; ".join(
            f"{n or c}: {a} → {b}" for c, n, a, b in r.moved.head(30).itertuples(index=False)) + (" …" if len(r.moved) > 30 else ""))  # fmt: skip
    for n in r.notes:
        st.caption(n)
    if job.get("error"):
        return
    st.caption("It is now the working grouping (one step: Undo above restores the one before).")
    if r.units == "lsoa":
        st.caption(f"A plan built from LSOAs ({len(r.grouping.lsoa_to_neighbourhood)} assigned away from their ward): the map draws its "
                   "LSOAs and every figure is measured on them. `placekit validate` and `placekit flows --grouping FILE` read the file.")  # fmt: skip
        st.download_button("Download the LSOA plan (JSON)", grouping_to_json(r.grouping), file_name="proposed_lsoa_plan.json",
                           mime="application/json", key="pp_dl")  # fmt: skip


def _alternatives(alt: dict, k: int) -> list[str]:
    """Say the computed alternatives of an infeasible request in words (the CLI gives them as options)."""
    out = []
    ks = alt.get("feasible_neighbourhoods") or {}
    if ks:
        out.append("With these wards and this band: " + ", ".join(f"{kk} neighbourhoods ({n:,} valid plans)" for kk, n in ks.items()) + ".")
    ob = alt.get("other_base")
    if ob:
        out.append(f"On {ob['label']}: {ob['plans']:,} valid plans of {k}." if ob["plans"] else f"On {ob['label']}: no valid plan of {k} either.")
    if "band_high" in alt:
        out.append(f"A band of {alt['band_high'][0]:,}–{alt['band_high'][1]:,} (the lowest top that admits {k}).")
    if "band_low" in alt:
        out.append(f"A band of {alt['band_low'][0]:,}–{alt['band_low'][1]:,} (the highest bottom that admits {k}).")
    room = alt.get("units_lsoa")
    if room and room["fits"]:
        out.append(f"Built from LSOAs (choose it above): {k} neighbourhoods of {room['average']:,.0f} residents on average fit the band.")
    if alt.get("locks_in_the_way"):
        out.append("Unlocking " + " or ".join(alt["locks_in_the_way"]) + ".")
    return out or ["Change the number of neighbourhoods or the band."]


def _status() -> None:
    """Show the running job (progress, Stop) or its outcome; applies a finished proposal of wards and reruns the page."""
    ss = st.session_state
    job = ss.get("propose_job")
    if not job:
        return
    if not job.get("done"):
        share, best = job["progress"]
        took = time.monotonic() - job["started"]
        st.progress(min(max(share, 0.0), 1.0), text=f"Searching… {took:.0f} s" + ("" if best != best else f"; best so far {100 * best:.1f}%"))
        st.button("Stop", key="pp_stop", on_click=job["stop"].set, help="Stop the search and keep the best plan found so far.")
        return
    if not job.get("shown"):  # the first run after the search ended: apply a plan of wards, then redraw the whole page once
        job["shown"] = True
        if job.get("result") is not None:
            _apply(job)
        st.rerun(scope="app")
    if job.get("infeasible"):
        reason, alt = job["infeasible"]
        st.warning("No valid plan: " + common.esc(reason.split(". What works:")[0]) + ".")
        st.markdown("**What works instead:**\n" + "\n".join(f"- {common.esc(a)}" for a in _alternatives(alt, job["params"]["k"])))
    elif job.get("error"):
        st.error(job["error"])
    else:
        _result(job)


def propose_panel() -> None:
    """Draw the Propose panel: constraints, Propose, then progress with Stop, then the result (see the module's docstring)."""
    ss = st.session_state
    with st.expander("Propose neighbourhoods", expanded=bool(ss.get("propose_job"))):
        g = common.grouping()
        params, kind, base = _inputs(g)
        held = sorted(working.locked())
        st.caption(("Locked (kept as they are): " + ", ".join(held) + ". " if held else "")
                   + "Hard constraints on every plan: contiguous, inside the band, locked neighbourhoods unchanged; practices follow "
                   f"the grouping's rule ({g.practice_rule}).")  # fmt: skip
        running = bool(ss.get("propose_job")) and not ss.propose_job.get("done")
        if st.button("Propose", type="primary", key="pp_go", disabled=running):
            _start(params, kind, base)
            running = True
        (st.fragment(run_every=1.0)(_status) if running else _status)()


def _rank(g, base: str, lo: float, hi: float, kind: str, plans: int) -> None:
    ss = st.session_state
    try:
        e = plan_ensemble(common.place(), g, population=base, band=(lo, hi), units=kind, plans=plans,
                          unit_set=_units(common.root_key(), kind, base))  # fmt: skip
        fig = ensemble_histograms(e.scores, e.plan, title=f"How does {g.name or 'the working grouping'} compare?",
                                  subtitle=f"{common.place().label}: {e.k} neighbourhoods of {kind}s, {e.population_label}", exact=e.exact,
                                  demo=common.place().demo)  # fmt: skip
        ss.compare_result = {"grouping": g, "summary": e.summary(), "fig": fig}
    except InfeasiblePlanError as exc:
        ss.compare_result = {"grouping": g, "infeasible": str(exc)}
    except PlacekitError as exc:
        ss.compare_result = {"grouping": g, "error": str(exc)}


def compare_panel() -> None:
    """Draw "How does this plan compare?": the working grouping's percentile on each figure among every valid plan, with histograms."""
    ss = st.session_state
    with st.expander("How does this plan compare?", expanded=bool(ss.get("compare_result"))):
        g = common.grouping()
        c1, c2, c3, c4 = st.columns(4)
        bases = population_bases(common.place())
        base = c1.selectbox("Residents", bases, format_func=_BASE_NAMES.get, key="cmp_base", index=_base_index(bases))
        lo = c2.number_input("Band: at least", min_value=0, value=BAND_MIN, step=1000, key="cmp_lo")
        hi = c3.number_input("Band: at most", min_value=1, value=BAND_MAX, step=1000, key="cmp_hi")
        kind = c4.radio("Plans of", ["ward", "lsoa"], format_func={"ward": "whole wards (all of them)", "lsoa": "LSOAs (ReCom sample)"}.get,
                        key="cmp_units")  # fmt: skip
        plans = st.number_input("Plans to sample (LSOAs)", min_value=50, max_value=20_000, value=1_000, step=250, key="cmp_plans")
        if st.button("Rank the working grouping", key="cmp_go"):
            with st.spinner("Scoring the valid plans…"):
                _rank(g, base, float(lo), float(hi), kind, int(plans))
        res = ss.get("compare_result")
        if not res:
            return
        if res["grouping"] is not g and res["grouping"] != g:
            st.caption("Ranked before the latest change: rank again for the working grouping as it is now.")
        if "infeasible" in res:
            st.warning(f"No valid plan to compare with: {common.esc(res['infeasible'])}")
            return
        if "error" in res:
            st.error(res["error"])
            return
        s = res["summary"]
        st.markdown(f"**{s['plans']:,} plans** of {s['neighbourhoods']} neighbourhoods ({common.esc(s['method'])}); "
                    + ("percentiles exact." if s["exact"] else "percentiles estimated from the sample.")
                    + f" Plans beating it on both containment measures at once: {s['beat_on_both']['city']:,} (city-wide), "
                    f"{s['beat_on_both']['mean']:,} (mean), {s['beat_on_both']['min']:,} (lowest).")  # fmt: skip
        rows = [{"figure": m.replace("_", " "), "this plan %": _p(v["plan"]),
                 "percentile": None if v["percentile"] is None else round(v["percentile"], 1), "min %": _p(v["min"]),
                 "median %": _p(v["median"]), "max %": _p(v["max"]), "better": "higher" if v["higher_is_better"] else "lower"}
                for m, v in s["measures"].items() if m in MEASURES]  # fmt: skip
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        for n in s.get("notes", []):
            st.caption(n)
        st.pyplot(res["fig"], width="stretch")


def _p(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 1)
