"""The baseline grouping of a place: its shipped grouping, or a PCN baseline for a place that has none.

A place built from England's national files (:mod:`geo.national`) has no agreed grouping of
its wards. Its baseline is one neighbourhood per primary care network (PCN, January 2022 map):
each PCN's team is its practices with premises in the place, and each ward goes to the PCN
whose practices hold most of the ward's registered residents (July 2022). The grouping is
named "<place> PCN baseline" and says so in its ``meta``; all its neighbourhoods sit in one
locality, "<place> (all PCNs)" (localities are optional: draw them in the app or a file).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from boundaries.flowbase import FlowBase, flow_base_from_place
from boundaries.grouping import Grouping, baseline_grouping
from geo.model import Place
from placekit.errors import PlacekitError

__all__ = ["PCN_BASELINE", "PCN_BASELINE_METHOD", "pcn_baseline", "pcn_baseline_from_base", "place_baseline", "is_pcn_baseline",
           "pcn_display_name"]  # fmt: skip

#: The flag a PCN baseline carries in its name and ``meta['baseline']``.
PCN_BASELINE = "PCN baseline"
#: How a PCN baseline is made, as its ``meta['method']`` and the outputs say it.
PCN_BASELINE_METHOD = (
    "one neighbourhood per PCN (practice→PCN map, January 2022): its practices with premises in the place; each ward to the PCN "
    "whose practices hold most of the ward's registered residents (July 2022); a ward with none to the PCN of the nearest ward"
)
_SMALL = {"And", "Of", "The", "In", "On", "Upon", "With", "At"}


def pcn_display_name(name: str) -> str:
    """Return a PCN's published name in title case when it is all capitals ("LEEDS CENTRAL PCN" → "Leeds Central PCN")."""
    text = str(name).strip()
    if text != text.upper():
        return text
    words = [w if re.search(r"\d", w) or not re.search(r"[AEIOUY.]", w) else w.capitalize() for w in re.split(r"(\s+|-|/|\(|\))", text)]
    out = "".join(w.lower() if i and w in _SMALL else w for i, w in enumerate(words))  # "LS25/LS26 PCN", "LSMP and the Light PCN"
    return re.sub(r"\b(Pcn|Nhs|Gp|Gps|Uk|Ics|Icb)\b", lambda m: m.group(1).upper(), out)


def _ward_pcn_residents(base: FlowBase, pcn: np.ndarray, n_pcn: int) -> np.ndarray:
    """Return wards × PCNs: residents of each ward registered with each PCN's practices in the place."""
    sel = (base.row < base.n_wards) & base.in_place[base.col] & (pcn[base.col] >= 0)
    flat = base.row[sel] * n_pcn + pcn[base.col[sel]]
    return np.bincount(flat, weights=base.weights[sel], minlength=base.n_wards * n_pcn).reshape(base.n_wards, n_pcn)


def _fill_nearest(best: np.ndarray, points: np.ndarray | None) -> np.ndarray:
    """Give each ward without a PCN (-1) the PCN of the nearest ward that has one."""
    empty = np.flatnonzero(best < 0)
    done = np.flatnonzero(best >= 0)
    if not len(empty) or not len(done):
        return best
    if points is None:
        raise PlacekitError("a ward with no registered residents needs ward positions to join the PCN of its nearest ward.")
    d = np.hypot(points[empty, None, 0] - points[None, done, 0], points[empty, None, 1] - points[None, done, 1])
    best = best.copy()
    best[empty] = best[done[d.argmin(axis=1)]]
    return best


def pcn_baseline_from_base(base: FlowBase, *, pcn_names: Mapping[str, str], place_name: str, ward_points: np.ndarray | None = None,
                           ward_set: str = "") -> Grouping:  # fmt: skip
    """Return the PCN baseline of the place `base` describes (see the module docstring).

    Parameters
    ----------
    base
        The place's flow base (practices in the place, their PCN codes, residents by ward).
    pcn_names
        PCN code → published name (neighbourhoods are named after them).
    ward_points
        ``(n_wards, 2)`` positions of the wards (EPSG:27700), in `base` order, for wards no
        registered resident ties to a PCN (e.g. a ward the best fit leaves without an LSOA).

    Raises
    ------
    PlacekitError
        When no practice of the place is in the practice→PCN map.
    """
    codes = base.practice_pcn.where(base.in_place)
    ranked = sorted(codes.dropna().unique())
    if not ranked:
        raise PlacekitError(f"no practice of {place_name} is in the practice→PCN map, so it has no PCN baseline; pass a grouping file.")
    pos = pd.Series(np.arange(len(ranked)), index=ranked)
    pcn = codes.map(pos).fillna(-1).astype(np.int64).to_numpy()
    by_ward = _ward_pcn_residents(base, pcn, len(ranked))
    best = _fill_nearest(np.where(by_ward.sum(axis=1) > 0, by_ward.argmax(axis=1), -1), ward_points)
    if (best < 0).any():  # no ward has a registered resident of the place's practices at all
        best[best < 0] = int(np.bincount(pcn[pcn >= 0], minlength=len(ranked)).argmax())
    names = _unique_names([pcn_display_name(pcn_names.get(c, c)) for c in ranked], ranked)
    won = sorted(set(best.tolist()))
    w2n = {w: names[b] for w, b in zip(base.wards, best, strict=True)}
    p2n = {p: names[k] for p, k in zip(base.practices, pcn, strict=True) if k in won}
    left = [f"{names[k]} ({ranked[k]}, {int((pcn == k).sum())} practice(s))" for k in range(len(ranked)) if k not in won]
    meta = {"baseline": PCN_BASELINE, "method": PCN_BASELINE_METHOD}
    if left:
        meta["pcns_without_wards"] = "; ".join(left) + ": their practices follow the premises rule"
    return Grouping(w2n, dict.fromkeys((names[k] for k in won), f"{place_name} (all PCNs)"), name=f"{place_name} {PCN_BASELINE}", ward_set=ward_set, meta=meta,
                    practice_rule="premises", practice_to_neighbourhood=p2n)  # fmt: skip


def _unique_names(names: list[str], codes: list[str]) -> list[str]:
    seen = pd.Series(names).duplicated(keep=False).to_numpy()
    return [f"{n} ({c})" if dup else n for n, c, dup in zip(names, codes, seen, strict=True)]


def pcn_baseline(place: Place) -> Grouping:
    """Return the PCN baseline of `place` (see the module docstring)."""
    if place.pcn_map is None:
        raise PlacekitError(f"{place.label} has no practice→PCN map, so it has no PCN baseline; pass a grouping file with --grouping.")
    base = flow_base_from_place(place)
    pts = place.wards.geometry.representative_point().reindex(base.wards)
    names = place.pcn_map.drop_duplicates("pcn_code").set_index("pcn_code")["pcn_name"].to_dict()
    return pcn_baseline_from_base(base, pcn_names=names, place_name=place.name, ward_points=np.column_stack([pts.x, pts.y]),
                                  ward_set=place.ward_set)  # fmt: skip


def place_baseline(place: Place | None = None) -> Grouping:
    """Return the baseline grouping of `place`: the PCN baseline for a place built from national files, else the shipped one."""
    if place is not None and place.built_from == "national":
        return pcn_baseline(place)
    return baseline_grouping(place)


def is_pcn_baseline(grouping: Grouping) -> bool:
    """Return True when `grouping` is (unedited or renamed) a PCN baseline: its ``meta`` says so."""
    return grouping.meta.get("baseline") == PCN_BASELINE
