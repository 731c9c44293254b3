"""The working session around the grouping: what it was edited from, the draft that keeps it, links, selection, locks, colours.

- **Origin**: the saved scenario (or the baseline) the working grouping started from, so the
  sidebar can say "edited from …" or give the saved name.
- **Drafts**: after every run that changed the grouping or the hubs, the work is saved as a
  draft in the scenario store under a key carried in the URL (``?draft=…``); a reload of the
  tab finds it and restores it, and says so.
- **Links**: ``?scenario=NAME`` opens a saved scenario; a missing one is reported.
- **Selection**: a kind (``"ward"`` now, ``"practice"`` once practices have membership) and
  codes; assigning moves every selected unit in one step (one undo step).
- **Locks**: a locked neighbourhood neither loses nor gains wards.
- **Colours**: fixed per neighbourhood for the whole session.
"""

from __future__ import annotations

import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import quote

import streamlit as st

from boundaries.grouping import Grouping
from placekit.errors import PlacekitError
from ui import common
from ui.maps import PALETTE

__all__ = [
    "Selection",
    "Origin",
    "start",
    "sync_url",
    "autosave",
    "flush_drafts",
    "origin",
    "set_origin",
    "moved_from_origin",
    "same_grouping",
    "working_label",
    "selection",
    "set_selection",
    "on_map_select",
    "locked",
    "move_units",
    "assign_selection",
    "colours",
    "share_link",
]

KINDS = ("ward",)  # "practice" joins when practices carry neighbourhood membership

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
    store = common.store()
    ss.origin = Origin(base.name or "baseline", base)
    ss.start_notes = []
    link = qp.get("scenario")
    if link:
        try:
            s = store.load(link, wards=wards)
            ss.origin = Origin(link, s["grouping"], list(s["hubs"]) or None, saved=True)
        except PlacekitError as exc:
            ss.start_notes.append(("error", f"The link asks for scenario {link!r}, but {exc} Showing {ss.origin.name} instead."))
    g, hubs = ss.origin.grouping, ss.origin.hubs
    flush_drafts()  # a reload may come before the last write of the same tab has finished
    try:
        draft = store.load_draft(ss.draft_key, wards=wards)
    except PlacekitError as exc:
        draft = None
        ss.start_notes.append(("error", f"Your autosaved work could not be restored: {exc}"))
    if draft is not None:
        g, hubs = draft["grouping"], draft["hubs"] or hubs
        if draft["based_on"] and draft["based_on"] != ss.origin.name:
            _reopen_origin(draft["based_on"], wards)
        n = len(moved_from_origin(g))
        ss.start_notes.append(("info", f"Restored your unsaved work, autosaved {draft['saved_at'].replace('T', ' ')[:16]} UTC: "
                                       f"{n} ward(s) moved from {ss.origin.name}."))  # fmt: skip
    ss.grouping = g
    ss.undo_stack, ss.redo_stack = [], []
    ss.scenario_name = ss.origin.name if ss.origin.saved else ""
    ss.last_change_ms = None
    if hubs:
        ss.hubs = list(hubs)
    ss._saved_state = _state()


def _reopen_origin(name: str, wards: list[str]) -> None:
    """Make the saved scenario `name` the origin (a restored draft was edited from it), if it still exists."""
    ss = st.session_state
    try:
        s = common.store().load(name, wards=wards)
        ss.origin = Origin(name, s["grouping"], list(s["hubs"]) or None, saved=True)
    except PlacekitError:
        ss.origin = Origin(name, ss.origin.grouping, saved=False, notes=[f"scenario {name!r} is no longer in the store"])


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
    """Tell whether two groupings put every ward in the same neighbourhood and locality (names aside)."""
    return a.ward_to_neighbourhood == b.ward_to_neighbourhood and a.neighbourhood_to_locality == b.neighbourhood_to_locality


def _state() -> tuple:
    ss = st.session_state
    return ss.grouping, tuple(ss.get("hubs") or ())


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
    store = common.store()
    if _unsaved():
        job = _WRITER.submit(
            store.save_draft, ss.draft_key, ss.grouping, place=common.place().label, hubs=state[1], based_on=ss.origin.name
        )
    else:
        job = _WRITER.submit(store.delete_draft, ss.draft_key)
    _PENDING[:] = [f for f in _PENDING if not f.done()] + [job]
    ss._saved_state = state


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
    """Return the wards whose neighbourhood differs from the origin's."""
    o = st.session_state.origin.grouping.ward_to_neighbourhood
    return [w for w, n in g.ward_to_neighbourhood.items() if o.get(w) != n]


def working_label(g: Grouping) -> str:
    """Name the working grouping truthfully: the saved name, or "unsaved, edited from …"."""
    o = origin()
    moved = moved_from_origin(g)
    hubs_changed = o.hubs is not None and list(st.session_state.get("hubs") or []) != list(o.hubs)
    kind = "saved scenario" if o.saved else ("baseline" if o.name == (common.static()["baseline"].name or "baseline") else "not saved")
    if not moved and not hubs_changed:
        return f"{o.name} ({kind})"
    what = " and ".join(w for w, on in (("wards moved", bool(moved)), ("hubs changed", hubs_changed)) if on)
    return f"unsaved, edited from {o.name} ({what})"


def share_link() -> str | None:
    """Return the query string that opens the working grouping for a colleague, or None when it is not saved."""
    o = origin()
    if not o.saved or moved_from_origin(st.session_state.grouping):
        return None
    return f"?scenario={quote(o.name)}"


# --------------------------------------------------------------------------- selection and locks
def selection() -> Selection:
    """Return the current selection."""
    return st.session_state.get("selection") or Selection()


def set_selection(codes, *, kind: str = "ward", seq: int | None = None) -> None:
    """Replace the selection (keeping only known, unlocked units); `seq` is the map's number for it."""
    if kind not in KINDS:
        raise PlacekitError(f"cannot select {kind!r}: selectable kinds are {KINDS}")
    ss = st.session_state
    g = common.grouping()
    held = locked()
    keep = tuple(dict.fromkeys(c for c in codes if c in g.ward_to_neighbourhood and g.ward_to_neighbourhood[c] not in held))
    ss.selection = Selection(kind, keep)
    if seq is not None:
        ss.selection_seq = max(int(seq), ss.get("selection_seq", 0))


def on_map_select(key: str = "ward_map") -> None:
    """Apply a selection sent by the map (callback: runs before the script)."""
    event = (st.session_state.get(key) or {}).get("select")
    if isinstance(event, dict):
        set_selection(event.get("codes") or [], seq=event.get("seq"))


def locked() -> set[str]:
    """Return the locked neighbourhoods (present in the working grouping)."""
    g = common.grouping()
    return {n for n in st.session_state.get("locked_nbs", []) if n in g.neighbourhood_to_locality}


def move_units(g: Grouping, sel: Selection, target: str, *, locality: str | None = None, held=frozenset()) -> Grouping:
    """Return `g` with every selected unit moved to `target` (made in `locality` if new), refusing locked neighbourhoods."""
    if not sel.codes:
        raise PlacekitError("nothing is selected: click wards on the map (or pick them in the list) first.")
    if sel.kind != "ward":
        raise PlacekitError(f"moving {sel.kind}s is not available yet: only wards can be moved.")
    if target in held:
        raise PlacekitError(f"{target} is locked: unlock it to add wards to it.")
    w2n = dict(g.ward_to_neighbourhood)
    stuck = [w for w in sel.codes if w2n.get(w) in held]
    if stuck:
        names = common.static()["ward_names"]
        raise PlacekitError(f"{', '.join(names.get(w, w) for w in stuck)} in a locked neighbourhood: unlock it first.")
    if target not in g.neighbourhood_to_locality and not locality:
        raise PlacekitError(f"{target!r} is a new neighbourhood: choose its locality.")
    unknown = [w for w in sel.codes if w not in w2n]
    if unknown:
        raise PlacekitError(f"unknown ward(s) {unknown}: they are not in this grouping.")
    for w in sel.codes:
        w2n[w] = target
    n2l = dict(g.neighbourhood_to_locality)
    if locality and target not in n2l:
        n2l[target] = locality
    used = set(w2n.values())
    return Grouping(w2n, {n: l for n, l in n2l.items() if n in used}, name=g.name, ward_set=g.ward_set, meta=g.meta)


def assign_selection(target: str, *, locality: str | None = None) -> int:
    """Move the selection to `target` as one undoable step, clear the selection; return how many moved."""
    g = common.grouping()
    sel = selection()
    ng = move_units(g, sel, target.strip(), locality=locality, held=frozenset(locked()))
    n = sum(1 for w in sel.codes if g.ward_to_neighbourhood[w] != ng.ward_to_neighbourhood[w])
    common.set_grouping(ng)
    set_selection(())
    return n


# --------------------------------------------------------------------------- colours
def colours(g: Grouping) -> dict[str, str]:
    """Return a colour per neighbourhood, fixed for the session: a new neighbourhood takes a free colour, none shift."""
    ss = st.session_state
    fixed: dict[str, str] = ss.setdefault("nb_colours", {})
    if not fixed:
        for i, n in enumerate(common.static()["baseline"].neighbourhoods):
            fixed[n] = PALETTE[i % len(PALETTE)]
    in_use = {fixed[n] for n in g.neighbourhoods if n in fixed}
    for n in g.neighbourhoods:
        if n not in fixed:
            free = [c for c in PALETTE if c not in in_use] or PALETTE
            fixed[n] = free[0]
            in_use.add(fixed[n])
    return {n: fixed[n] for n in g.neighbourhoods}
