"""The working session around the grouping: what it was edited from, the draft that keeps it, links, selection, locks, colours.

- **Origin**: the saved scenario (or the baseline) the working grouping started from, so the
  sidebar can say "edited from …" or give the saved name.
- **Drafts**: after every run that changed the grouping, the hubs or the undo/redo history, the
  work is saved as a draft in the scenario store under a key carried in the URL (``?draft=…``),
  with its undo and redo history; a reload of the tab finds it and restores both, and says so.
  When nothing is unsaved (the work was saved, or moved back to its origin), the draft and its
  history are dropped.
- **Links**: ``?scenario=NAME`` opens a saved scenario; a missing one is reported.
- **Selection**: a kind (``"ward"``, ``"lsoa"`` or ``"practice"``) and codes; a selection holds one
  kind at a time (picking a unit of the other kind starts a new selection). Assigning moves every
  selected unit in one step (one undo step): wards change neighbourhood, practices are assigned
  explicitly, LSOAs are assigned explicitly (the grouping becomes a plan built from LSOAs).
- **Plans built from LSOAs**: a ward assigned in such a plan takes every LSOA fitted to it with it;
  an edit keeps the plan in the form :mod:`boundaries.lsoa_plans` describes (each ward touched in the
  neighbourhood holding most of its residents, only the LSOAs elsewhere listed), so a plan whose
  LSOAs all follow their wards again is a plan of whole wards. Locks, moved units and "unsaved" are
  judged on the LSOAs whenever either grouping compared is built from LSOAs.
- **Locks**: a locked neighbourhood neither loses nor gains wards, nor practices: every edit (ward or
  practice move, release, a change of the practice rule, a suggestion, the bulk table) is refused
  when it would change a locked team's wards or practices, e.g. a ward move that, under the
  ``patients`` rule, would take a practice out of a locked team.
- **Colours**: fixed per neighbourhood for the whole session.
"""

from __future__ import annotations

import itertools
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import quote

import pandas as pd
import streamlit as st

from boundaries.grouping import PRACTICE_RULES, Grouping, grouping_from_records
from boundaries.lsoa_plans import assign_units
from boundaries.suggest import apply_suggestion
from placekit.errors import PlacekitError
from placekit.render.maps import colour_difference, extra_colour
from placekit.ui import common, guard
from placekit.ui.maps import PALETTE

__all__ = [
    "Selection",
    "Origin",
    "start",
    "sync_url",
    "draft_key",
    "autosave",
    "draft_problem",
    "flush_drafts",
    "origin",
    "set_origin",
    "moved_from_origin",
    "moved_practices",
    "same_grouping",
    "working_label",
    "selection",
    "set_selection",
    "on_map_select",
    "locked",
    "lock_problem",
    "undo_step",
    "move_units",
    "assign_selection",
    "release_selection",
    "set_practice_rule",
    "apply_move",
    "change",
    "grouping_from_table",
    "colours",
    "share_link",
    "lsoa_mode",
    "moved_lsoas",
    "ward_held",
]

KINDS = ("ward", "practice", "lsoa")
_KIND_WORDS = {"ward": "wards", "practice": "practices", "lsoa": "LSOAs"}

# Drafts are written by one background thread, in order, so an edit does not wait for the disk (~40 ms a write).
_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="placekit-draft")
_PENDING: list[Future] = []


@dataclass(frozen=True)
class Selection:
    """What is selected: a kind of unit and their codes (in the order picked)."""

    kind: str = "ward"
    codes: tuple[str, ...] = ()


@dataclass
class Origin:
    """Where the working grouping came from: a saved scenario's name, or the baseline (``saved=False``)."""

    name: str
    grouping: Grouping
    hubs: list[str] | None = None  # None: the hubs were not part of it (the session's default hubs)
    saved: bool = False
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- start of a session
def start() -> None:
    """Set up the session once: restore the tab's draft, or open ``?scenario=``, or start on the baseline."""
    ss = st.session_state
    if "origin" in ss:
        return
    qp = st.query_params
    ss.draft_key = qp.get("draft") or uuid.uuid4().hex[:12]
    base = common.static()["baseline"]
    wards = list(common.place().wards.index)
    here = common.place().key
    problem = common.store_problem()  # a damaged store: start on the baseline, say why a link cannot be followed
    store = None if problem else common.store()
    ss.origin = Origin(base.name or "baseline", base)
    ss.start_notes = []
    link = qp.get("scenario")
    if link and store is None:
        ss.start_notes.append(("error", f"The link asks for scenario {link!r}, but the scenario store cannot be read, so saved "
                                        f"scenarios cannot be opened (see Data status). Showing {ss.origin.name} instead."))  # fmt: skip
    elif link:
        try:
            s = store.load(link, wards=wards, place=here, lsoas=common.place().lsoas.index)
            common.practice_teams(s["grouping"])  # refuses explicit practices that are not the place's, and unknown LSOAs
            ss.origin = Origin(link, s["grouping"], list(s["hubs"]) or None, saved=True)
        except PlacekitError as exc:
            ss.start_notes.append(("error", f"The link asks for scenario {link!r}, but {exc} Showing {ss.origin.name} instead."))
    g, hubs = ss.origin.grouping, ss.origin.hubs
    try:
        flush_drafts()  # a reload may come before the last write of the same tab has finished
        draft = store.load_draft(draft_key(), wards=wards, place=here) if store is not None else None
        if draft is not None:
            common.practice_teams(draft["grouping"])
    except PlacekitError as exc:
        draft = None
        ss.start_notes.append(("error", f"Your autosaved work could not be restored: {exc}"))
    undo, redo = [], []
    if draft is not None:
        g, hubs, undo, redo = draft["grouping"], draft["hubs"] or hubs, draft["undo"], draft["redo"]
        if draft["based_on"] and draft["based_on"] != ss.origin.name:
            _reopen_origin(draft["based_on"], wards)
        steps = f" Undo and redo go on where you left them ({len(undo)} step(s) back, {len(redo)} forward)." if undo or redo else ""
        ss.start_notes.append(("info", f"Restored your unsaved work, autosaved {draft['saved_at'].replace('T', ' ')[:16]} UTC: "
                                       f"{_moved_words(g)} (from {ss.origin.name}).{steps}"))  # fmt: skip
        if draft["history_problem"]:
            ss.start_notes.append(("warning", f"Your work was restored, but {draft['history_problem']}."))
    ss.grouping = g
    ss.undo_stack, ss.redo_stack = list(undo), list(redo)
    ss.scenario_name = ss.origin.name if ss.origin.saved else ""
    ss.last_change_ms = None
    if hubs:
        ss.hubs = list(hubs)
    ss._saved_state = _state()


def _reopen_origin(name: str, wards: list[str]) -> None:
    """Make the saved scenario `name` the origin (a restored draft was edited from it), if it still exists."""
    ss = st.session_state
    try:
        s = common.store().load(name, wards=wards, place=common.place().key, lsoas=common.place().lsoas.index)
        ss.origin = Origin(name, s["grouping"], list(s["hubs"]) or None, saved=True)
    except PlacekitError:
        ss.origin = Origin(name, ss.origin.grouping, saved=False, notes=[f"scenario {name!r} is no longer in the store"])


def draft_key() -> str:
    """Return the store key of this tab's draft for the session's place: the tab's key (``?draft=``), and the place's code after it.

    The manifest place keeps the bare key (drafts saved before there was a place picker are its own), so one tab keeps a
    draft per place: back on a place, its work is restored.
    """
    spec = common.place_spec()
    return f"{st.session_state.draft_key}:{spec}" if spec else st.session_state.draft_key


def sync_url() -> None:
    """Keep ``?draft=`` (and ``?scenario=`` for a saved origin) in the address bar, whatever page is open."""
    ss = st.session_state
    qp = st.query_params
    if qp.get("draft") != ss.draft_key:
        qp["draft"] = ss.draft_key
    want = ss.origin.name if ss.origin.saved else None
    if want and qp.get("scenario") != want:
        qp["scenario"] = want
    elif not want and "scenario" in qp and not ss.get("start_notes"):
        del qp["scenario"]


def same_grouping(a: Grouping, b: Grouping) -> bool:
    """Tell whether two groupings put every ward and practice in the same place (same rule, same explicit practices; names aside)."""
    return (
        a.ward_to_neighbourhood == b.ward_to_neighbourhood
        and a.neighbourhood_to_locality == b.neighbourhood_to_locality
        and a.practice_rule == b.practice_rule
        and a.practice_to_neighbourhood == b.practice_to_neighbourhood
        and a.lsoa_to_neighbourhood == b.lsoa_to_neighbourhood
    )


def _state() -> tuple:
    """What a draft holds: the grouping, the hubs and the undo/redo history (a step undone changes the stacks, not only the grouping).

    The stacks are held as tuples of their groupings: compared item by item, unchanged items by identity (cheap), and held
    alive, so a later grouping cannot take the place of a freed one unnoticed.
    """
    ss = st.session_state
    return ss.grouping, tuple(ss.get("hubs") or ()), tuple(ss.get("undo_stack", ())), tuple(ss.get("redo_stack", ()))


def _unsaved() -> bool:
    ss = st.session_state
    o = ss.origin
    if not same_grouping(ss.grouping, o.grouping):
        return True
    hubs = ss.get("hubs")
    if hubs is None:
        return False
    if o.hubs is None:  # the session's default hubs appeared: they are the origin's, not an edit
        o.hubs = list(hubs)
        return False
    return list(hubs) != list(o.hubs)


def autosave() -> None:
    """Save the work as the tab's draft when the grouping or hubs changed; drop the draft when nothing is unsaved."""
    ss = st.session_state
    if "origin" not in ss:
        return
    state = _state()
    if state == ss.get("_saved_state"):
        return
    if common.store_problem() is not None:  # the store cannot be written: the work stays in the session (the sidebar says so)
        return
    store = common.store()
    if _unsaved():
        job = _WRITER.submit(store.save_draft, draft_key(), ss.grouping, place=common.place().key, hubs=state[1],
                             based_on=ss.origin.name, undo=list(ss.undo_stack), redo=list(ss.redo_stack))  # fmt: skip
    else:
        job = _WRITER.submit(store.delete_draft, draft_key())
    _PENDING[:] = [f for f in _PENDING if not f.done()] + [job]
    ss._draft_jobs = [*ss.get("_draft_jobs", []), job]  # this tab's writes, so a failure is told to this tab only
    ss._saved_state = state


def draft_problem() -> str | None:
    """Return why this tab's last draft write failed (the store damaged or unwritable since it was opened), or None.

    Draft writes run in the background; each run looks at those that finished. A failure is logged,
    and the work is written again on the next run (the state is marked unsaved); a later write
    that succeeds clears the problem.
    """
    ss = st.session_state
    jobs = ss.get("_draft_jobs", [])
    for job in [f for f in jobs if f.done()]:
        exc = job.exception()
        if exc is None:
            ss.pop("_draft_error", None)
        else:
            ref, _ = guard.log_error(exc, where="autosave")
            ss._draft_error = f"{exc} (reference {ref} in the app's log)" if not isinstance(exc, PlacekitError) else str(exc)
            ss._saved_state = None
    ss._draft_jobs = [f for f in jobs if not f.done()]
    return ss.get("_draft_error")


def flush_drafts(timeout: float = 30) -> None:
    """Wait until every draft write queued so far is on disk (raises what a write raised)."""
    for f in list(_PENDING):
        f.result(timeout=timeout)


# --------------------------------------------------------------------------- origin and names
def origin() -> Origin:
    """Return what the working grouping was started from."""
    start()
    return st.session_state.origin


def set_origin(name: str, g: Grouping, hubs: list[str] | None, *, saved: bool) -> None:
    """Record that the working grouping now is (or was loaded from) `name`."""
    st.session_state.origin = Origin(name, g, list(hubs) if hubs else None, saved=saved)


def moved_from_origin(g: Grouping) -> list[str]:
    """Return the wards whose neighbourhood differs from the origin's (for plans built from LSOAs, see :func:`moved_lsoas`)."""
    o = st.session_state.origin.grouping.ward_to_neighbourhood
    return [w for w, n in g.ward_to_neighbourhood.items() if o.get(w) != n]


def moved_lsoas(g: Grouping) -> list[str]:
    """Return the LSOAs whose neighbourhood differs from the origin's (each LSOA in its explicit neighbourhood, else its ward's)."""
    o = st.session_state.origin.grouping
    if g.units == "ward" and o.units == "ward" and g.ward_to_neighbourhood == o.ward_to_neighbourhood:
        return []
    now, before = common.lsoa_labels(g), common.lsoa_labels(o)
    return now.index[now.ne(before)].tolist()


def _on_lsoas(*groupings: Grouping) -> bool:
    return any(x.units == "lsoa" for x in groupings)


def moved_practices(g: Grouping) -> dict[str, str]:
    """Return the practices whose team differs from the origin's: practice code → the origin's team.

    A practice changes team when it is assigned explicitly, when the rule changes, or when
    the ward of its premises (``premises`` rule) moves. When either grouping is built from LSOAs,
    both are measured on the LSOAs (practices by the LSOA of their premises).
    """
    o = st.session_state.origin.grouping
    lsoas = _on_lsoas(g, o)
    now = common.practice_teams(g, on_lsoas=lsoas)
    before = common.practice_teams(o, on_lsoas=lsoas).reindex(now.index)
    return before[now.ne(before)].to_dict()


def _moved_words(g: Grouping) -> str:
    """Say what moved from the origin: "2 ward(s) moved, 3 practice(s) in another team" (LSOAs for a plan built from them)."""
    lsoas = _on_lsoas(g, st.session_state.origin.grouping)
    w, p = len(moved_lsoas(g) if lsoas else moved_from_origin(g)), len(moved_practices(g))
    return f"{w} {'LSOA' if lsoas else 'ward'}(s) moved" + (f", {p} practice(s) in another team" if p else "")


def working_label(g: Grouping) -> str:
    """Name the working grouping truthfully: the saved name, or "unsaved, edited from …" saying what changed."""
    o = origin()
    hubs_changed = o.hubs is not None and list(st.session_state.get("hubs") or []) != list(o.hubs)
    kind = "saved scenario" if o.saved else ("baseline" if o.name == (common.static()["baseline"].name or "baseline") else "not saved")
    lsoas = _on_lsoas(g, o.grouping)
    changes = (("LSOAs moved" if lsoas else "wards moved", bool(moved_lsoas(g) if lsoas else moved_from_origin(g))),
               ("practices reassigned", _practices_edited(g, o.grouping)), ("hubs changed", hubs_changed))  # fmt: skip
    what = " and ".join(w for w, on in changes if on)
    if not what and same_grouping(g, o.grouping):
        return f"{o.name} ({kind})"
    return f"unsaved, edited from {o.name} ({what or 'localities changed'})"


def _practices_edited(g: Grouping, o: Grouping) -> bool:
    """Tell whether the practice rule or the explicit practice assignments differ."""
    return (g.practice_rule, g.practice_to_neighbourhood) != (o.practice_rule, o.practice_to_neighbourhood)


def share_link() -> str | None:
    """Return the query string that opens the working grouping for a colleague, or None when it is not saved."""
    o = origin()
    if not o.saved or not same_grouping(st.session_state.grouping, o.grouping):
        return None
    return f"?scenario={quote(o.name)}"


# --------------------------------------------------------------------------- selection and locks
def selection() -> Selection:
    """Return the current selection."""
    return st.session_state.get("selection") or Selection()


def lsoa_mode(g: Grouping) -> bool:
    """Tell whether Redraw shows and edits LSOAs: a plan built from LSOAs, or the LSOA layer switched on."""
    return g.units == "lsoa" or bool(st.session_state.get("lsoa_layer"))


def _teams(kind: str, g: Grouping) -> dict[str, str]:
    """Return unit code → neighbourhood for the units of `kind` (wards, LSOAs, or the place's practices)."""
    if kind == "lsoa":
        return common.lsoa_labels(g).dropna().to_dict()
    return g.ward_to_neighbourhood if kind == "ward" else common.practice_teams(g).to_dict()


def ward_held(g: Grouping, held) -> set[str]:
    """Return the wards that cannot move because of a lock: in a locked neighbourhood, or (a plan of LSOAs) with an LSOA in one."""
    out = {w for w, n in g.ward_to_neighbourhood.items() if n in held}
    if g.units == "lsoa" and held:
        labels = common.lsoa_labels(g)
        out |= set(common.lsoa_static()["lsoa_ward"][labels.isin(held)].dropna())
    return out


def set_selection(codes, *, kind: str = "ward", seq: int | None = None) -> None:
    """Replace the selection with units of one `kind` (keeping only known, unlocked ones); `seq` is the map's number for it."""
    if kind not in KINDS:
        raise PlacekitError(f"cannot select {kind!r}: selectable kinds are {KINDS}")
    ss = st.session_state
    g = common.grouping()
    teams = _teams(kind, g)
    held = locked()
    stuck = ward_held(g, held) if kind == "ward" else set()
    keep = tuple(dict.fromkeys(c for c in codes if c in teams and teams[c] not in held and c not in stuck))
    ss.selection = Selection(kind, keep)
    if seq is not None:
        ss.selection_seq = max(int(seq), ss.get("selection_seq", 0))


@guard.callback("Redraw")
def on_map_select(key: str = "ward_map") -> None:
    """Apply a selection sent by the map (callback: runs before the script)."""
    event = (st.session_state.get(key) or {}).get("select")
    if isinstance(event, dict):
        kind = event.get("kind") if event.get("kind") in KINDS else "ward"
        set_selection(event.get("codes") or [], kind=kind, seq=event.get("seq"))


def locked() -> set[str]:
    """Return the locked neighbourhoods (present in the working grouping)."""
    g = common.grouping()
    return {n for n in st.session_state.get("locked_nbs", []) if n in g.neighbourhood_to_locality}


def lock_problem(old: Grouping, new: Grouping, held) -> str | None:
    """Say how `new` breaks a lock (a locked neighbourhood gains or loses a ward, an LSOA or a practice), or return None.

    When either grouping is built from LSOAs, what counts is the LSOAs (a ward's nominal
    neighbourhood may follow its residents without any LSOA moving) and practices measured on them.
    """
    if not held:
        return None
    lsoas = _on_lsoas(old, new)
    if lsoas:
        la, lb = common.lsoa_labels(old), common.lsoa_labels(new)
        hit = la.ne(lb) & (la.isin(held) | lb.isin(held))
        pairs = list(zip(la[hit], lb[hit], strict=True))
        lnames = common.lsoa_static()["lsoa_names"]
        what = [f"LSOA {lnames.get(c, c)} ({c})" for c in la.index[hit]]
    else:
        w_old = old.ward_to_neighbourhood
        wards = [w for w, n in new.ward_to_neighbourhood.items() if n != w_old.get(w) and (n in held or w_old.get(w) in held)]
        pairs = [(w_old.get(w), new.ward_to_neighbourhood[w]) for w in wards]
        names = common.static()["ward_names"]
        what = [names.get(w, w) for w in wards]
    a, b = common.practice_teams(old, on_lsoas=lsoas), common.practice_teams(new, on_lsoas=lsoas)
    practices = [p for p in a.index if a[p] != b.get(p) and (a[p] in held or b.get(p) in held)]
    if not what and not practices:
        return None
    info = common.practices()["display_name"]
    what = what[:12] + ([f"and {len(what) - 12} more"] if len(what) > 12 else [])
    what += [f"practice {p} {info.get(p, '')} ({a[p]} → {b.get(p)})".replace("  ", " ") for p in practices]
    teams = sorted({n for n in [*(x for pair in pairs for x in pair), *(a[p] for p in practices), *(b.get(p) for p in practices)]
                    if n in held})  # fmt: skip
    why = (f" (practices not assigned explicitly follow the {new.practice_rule!r} rule: {PRACTICE_RULES[new.practice_rule]})"
           if practices and any(p not in new.practice_to_neighbourhood for p in practices) else "")  # fmt: skip
    return f"this would change locked neighbourhood(s) {', '.join(teams)}: {'; '.join(what)}{why}. Unlock them first."


def change(new: Grouping, *, held=None) -> None:
    """Make `new` the working grouping as one undo step, unless it breaks a lock (then raise, changing nothing)."""
    g = common.grouping()
    problem = lock_problem(g, new, locked() if held is None else held)
    if problem:
        raise PlacekitError(problem)
    common.set_grouping(new)


def undo_step(direction: str) -> None:
    """Undo (`direction` ``"undo"``) or redo (``"redo"``) one step, unless it would change a locked neighbourhood.

    Raises
    ------
    PlacekitError
        When the step would move a ward or a practice into or out of a locked neighbourhood
        (nothing changes; unlock it, then undo again).
    """
    ss = st.session_state
    stack = ss.get("undo_stack" if direction == "undo" else "redo_stack")
    if not stack:
        return
    problem = lock_problem(common.grouping(), stack[-1], locked())
    if problem:
        raise PlacekitError(f"{direction.capitalize()} refused: {problem}")
    (common.undo if direction == "undo" else common.redo)()


def move_units(g: Grouping, sel: Selection, target: str, *, locality: str | None = None, held=frozenset()) -> Grouping:
    """Return `g` with every selected unit moved to `target` (made in `locality` if new), refusing locked neighbourhoods.

    Wards change neighbourhood; practices are assigned to `target` explicitly (overriding the rule).
    """
    if not sel.codes:
        raise PlacekitError("nothing is selected: click wards, LSOAs or practices on the map (or pick them in the lists) first.")
    if sel.kind not in KINDS:
        raise PlacekitError(f"cannot move {sel.kind!r}: movable kinds are {KINDS}")
    what = _KIND_WORDS[sel.kind]
    if target in held:
        raise PlacekitError(f"{target} is locked: unlock it to add {what} to it.")
    teams = _teams(sel.kind, g)
    unknown = [c for c in sel.codes if c not in teams]
    if unknown:
        raise PlacekitError(f"unknown {what} {unknown}: they are not in this grouping.")
    stuck = [c for c in sel.codes if teams[c] in held or (sel.kind == "ward" and c in ward_held(g, held))]
    if stuck:
        names = {"ward": common.static()["ward_names"], "practice": common.practices()["display_name"]}.get(sel.kind)
        names = names if names is not None else common.lsoa_static()["lsoa_names"]
        raise PlacekitError(f"{', '.join(str(names.get(c, c)) for c in stuck)} in a locked neighbourhood: unlock it first.")
    if target not in g.neighbourhood_to_locality:
        if sel.kind == "practice":
            raise PlacekitError(f"{target!r} has no ward yet: a team serves wards, so make the neighbourhood by assigning wards to it first.")
        if not locality:
            raise PlacekitError(f"{target!r} is a new neighbourhood: choose its locality.")
    new_loc = locality if target not in g.neighbourhood_to_locality else None
    if sel.kind == "practice":
        ng = g.assign_practices(sel.codes, target)
    elif sel.kind == "lsoa" or g.units == "lsoa":  # an LSOA, or a ward with every LSOA fitted to it
        codes = {"wards": sel.codes} if sel.kind == "ward" else {"lsoas": sel.codes}
        ng = assign_units(g, target, common.lsoa_static()["lsoa_ward"], common.lsoa_residents(), locality=new_loc, **codes)
    else:
        ng = g.assign_wards(sel.codes, target, locality=new_loc)
    problem = lock_problem(g, ng, held)
    if problem:
        raise PlacekitError(problem)
    return ng


def assign_selection(target: str, *, locality: str | None = None, prepared: Grouping | None = None) -> int:
    """Move the selection to `target` as one undoable step, clear the selection; return how many changed neighbourhood.

    `prepared` is what :func:`move_units` returned for this grouping, selection, target and locks
    (made ahead, so the figures the page computed for it are reused); None computes it here.
    """
    g = common.grouping()
    sel = selection()
    ng = prepared if prepared is not None else move_units(g, sel, target.strip(), locality=locality, held=frozenset(locked()))
    if sel.kind == "ward" and _on_lsoas(g, ng):  # a ward changed when any LSOA fitted to it did
        changed = common.lsoa_labels(g).ne(common.lsoa_labels(ng))
        wards = set(common.lsoa_static()["lsoa_ward"][changed])
        n = sum(1 for c in sel.codes if c in wards or g.ward_to_neighbourhood[c] != ng.ward_to_neighbourhood[c])
    else:
        before, after = _teams(sel.kind, g), _teams(sel.kind, ng)
        n = sum(1 for c in sel.codes if before[c] != after[c])
    common.set_grouping(ng)
    set_selection((), kind=sel.kind)
    return n


def release_selection() -> list[str]:
    """Let the selected practices that are assigned explicitly follow the rule again (one undo step); return them."""
    g = common.grouping()
    sel = selection()
    if sel.kind != "practice" or not sel.codes:
        raise PlacekitError("select practices first (on the map or in the practice list): only practices follow a rule.")
    explicit = [p for p in sel.codes if p in g.practice_to_neighbourhood]
    if not explicit:
        raise PlacekitError(f"none of the selected practices is assigned explicitly: they follow the {g.practice_rule!r} rule already.")
    change(g.release_practices(explicit))
    set_selection((), kind="practice")
    return explicit


def set_practice_rule(rule: str) -> int:
    """Make `rule` the working grouping's practice rule (one undo step); return how many practices change team."""
    g = common.grouping()
    if rule not in PRACTICE_RULES:
        raise PlacekitError(f'the practice rule was "{rule}" but is expected to be one of {list(PRACTICE_RULES)}.')
    if rule == g.practice_rule:
        return 0
    ng = g.with_practice_rule(rule)
    before, after = common.practice_teams(g), common.practice_teams(ng)
    change(ng)
    return int((before != after.reindex(before.index)).sum())


def apply_move(move) -> Grouping:
    """Apply one suggested move (a row of :func:`boundaries.suggest.suggest_moves`) as one undo step; return the new grouping."""
    ng = apply_suggestion(common.grouping(), move)
    change(ng)
    return ng


def grouping_from_table(g: Grouping, table: pd.DataFrame, *, wards: list[str]) -> Grouping:
    """Return the grouping of an edited ward table (``ward_code``, ``neighbourhood``, ``locality``), keeping the rest of `g`.

    The name, ward set, meta, practice rule, explicit practice and LSOA assignments carry over; an
    explicit practice or LSOA whose neighbourhood is gone from the table follows its wards when
    they all went to one neighbourhood (it was renamed or merged). Raises what
    :func:`boundaries.grouping.grouping_from_records` raises, listing every problem.
    """
    records = list(table[["ward_code", "neighbourhood", "locality"]].itertuples(index=False, name=None))
    new_w2n = {str(w).strip(): str(n).strip() for w, n, _ in records}

    def follow(n: str) -> str:
        went = {new_w2n.get(w) for w, x in g.ward_to_neighbourhood.items() if x == n}
        return next(iter(went)) if n not in new_w2n.values() and len(went) == 1 else n

    practices = {p: follow(n) for p, n in g.practice_to_neighbourhood.items()}
    lsoas = {c: follow(n) for c, n in g.lsoa_to_neighbourhood.items()}
    return grouping_from_records(records, wards=wards, name=g.name, ward_set=g.ward_set, meta=g.meta, practice_rule=g.practice_rule,
                                 practices=practices.items(), lsoa_records=lsoas.items(), source="the table")  # fmt: skip


# --------------------------------------------------------------------------- colours
def colours(g: Grouping) -> dict[str, str]:
    """Return a colour per neighbourhood, fixed for the session: a new neighbourhood takes a free colour, none shift."""
    ss = st.session_state
    fixed: dict[str, str] = ss.setdefault("nb_colours", {})
    if not fixed:
        for i, n in enumerate(common.static()["baseline"].neighbourhoods):
            fixed[n] = PALETTE[i] if i < len(PALETTE) else extra_colour(i - len(PALETTE))
    in_use = {fixed[n] for n in g.neighbourhoods if n in fixed}
    new = [n for n in g.neighbourhoods if n not in fixed]
    touching = _touching(g) if new else {}
    for n in new:  # of the next few free colours, the one least like its neighbours' (palette order breaks ties)
        free = list(itertools.islice((c for c in itertools.chain(PALETTE, map(extra_colour, itertools.count())) if c not in in_use), 6))
        near = [fixed[m] for m in touching.get(n, ()) if m in fixed and m in g.neighbourhood_to_locality]
        fixed[n] = max(free, key=lambda c: min((colour_difference(c, x) for x in near), default=float("inf")))
        in_use.add(fixed[n])
    return {n: fixed[n] for n in g.neighbourhoods}


def _touching(g: Grouping) -> dict[str, set[str]]:
    """Return, for each neighbourhood of `g`, the neighbourhoods that share a boundary with it."""
    out: dict[str, set[str]] = {}
    w2n = g.ward_to_neighbourhood
    for a, b in zip(common.static()["adjacency"]["a"], common.static()["adjacency"]["b"], strict=True):
        na, nb = w2n.get(a), w2n.get(b)
        if na and nb and na != nb:
            out.setdefault(na, set()).add(nb)
            out.setdefault(nb, set()).add(na)
    return out
