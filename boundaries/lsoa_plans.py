"""Plans built from LSOAs: each LSOA's neighbourhood, edits that keep the grouping in one form, and the polygons of a plan.

A plan built from LSOAs (:attr:`boundaries.grouping.Grouping.lsoa_to_neighbourhood`) puts each
ward in a neighbourhood and lists the LSOAs assigned elsewhere than their best-fit ward; every
other LSOA follows its ward. Its figures are measured on the LSOAs. Edits made here keep it in
the form :func:`boundaries.design.plan_grouping` writes: a ward edited goes to the neighbourhood
holding most of its LSOAs' residents and only the LSOAs elsewhere are listed, so a neighbourhood
that keeps wards always keeps residents, and a plan whose LSOAs all follow their wards again is a
plan of whole wards.

- :func:`lsoa_neighbourhoods` — the neighbourhood of every LSOA under any grouping (wards or LSOAs).
- :func:`assign_units` — move wards (with all their LSOAs) and single LSOAs to a neighbourhood.
- :func:`relabel` — the grouping with given LSOA neighbourhoods, the wards touched re-placed.
- :func:`label_parts` — the contiguous parts of each neighbourhood over LSOAs sharing a boundary.
- :func:`moved_units`, :func:`renamed_neighbourhoods` — what differs between two plans, a renamed neighbourhood not counted as moved.
- :func:`neighbourhood_areas` — neighbourhood polygons: dissolved from the wards, or from the LSOAs of a plan of LSOAs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from boundaries.grouping import Grouping
from placekit.errors import InvalidGroupingError

__all__ = ["lsoa_neighbourhoods", "assign_units", "relabel", "neighbourhood_areas", "moved_units", "renamed_neighbourhoods", "label_parts"]


def lsoa_neighbourhoods(grouping: Grouping, lsoa_ward: pd.Series) -> pd.Series:
    """Return the neighbourhood of each LSOA: its explicit assignment, else its best-fit ward's.

    Parameters
    ----------
    lsoa_ward
        Best-fit ward of each LSOA (index LSOA code), e.g. :attr:`geo.model.Place.lsoa_ward_code`.

    Returns
    -------
    pandas.Series
        Index as `lsoa_ward`, name ``neighbourhood``; NaN for an LSOA whose ward the grouping lacks.
    """
    nb = lsoa_ward.map(grouping.ward_to_neighbourhood).astype(object)
    if grouping.lsoa_to_neighbourhood:
        explicit = pd.Series(grouping.lsoa_to_neighbourhood, dtype=object)
        hit = nb.index.isin(explicit.index)
        nb[hit] = explicit.reindex(nb.index[hit]).to_numpy()
    return nb.rename("neighbourhood")


def relabel(grouping: Grouping, labels: pd.Series, lsoa_ward: pd.Series, weights: pd.Series, *, wards: Iterable[str] = (),
            locality: str | None = None) -> Grouping:  # fmt: skip
    """Return `grouping` with the LSOA neighbourhoods `labels`, each ward whose LSOAs changed re-placed.

    A ward whose LSOAs changed (or one of `wards`) goes to the neighbourhood holding most of its
    LSOAs' `weights` (residents; ties: its present neighbourhood, then the most LSOAs); its LSOAs
    elsewhere are listed explicitly. Other wards and LSOAs keep their form. A neighbourhood left
    with neither ward nor LSOA is dropped; a new one needs `locality`.

    Raises
    ------
    InvalidGroupingError
        A new neighbourhood without a locality, or one left empty while practices are assigned to it.
    """
    before = lsoa_neighbourhoods(grouping, lsoa_ward)
    labels = labels.reindex(before.index).fillna(before).astype(object)
    touched = set(lsoa_ward[labels.ne(before)].dropna()) | set(wards)
    w2n = dict(grouping.ward_to_neighbourhood)
    frame = pd.DataFrame({"ward": lsoa_ward.to_numpy(), "nb": labels.to_numpy(), "w": weights.reindex(labels.index).fillna(0).to_numpy()})
    frame = frame[frame["ward"].isin(touched)]
    if len(frame):
        frame["now"] = [w2n.get(w) == n for w, n in zip(frame["ward"], frame["nb"], strict=True)]
        score = frame.groupby(["ward", "nb"]).agg(w=("w", "sum"), now=("now", "max"), k=("w", "size")).reset_index()
        best = score.sort_values(["w", "now", "k", "nb"], ascending=[False, False, False, True]).drop_duplicates("ward")
        w2n |= dict(zip(best["ward"], best["nb"], strict=True))
    l2n = {c: n for c, n in grouping.lsoa_to_neighbourhood.items() if lsoa_ward.get(c) not in touched}
    codes, wards_of = labels.index.to_numpy(), lsoa_ward.to_numpy()
    in_touched = np.isin(wards_of, list(touched))
    l2n |= {c: n for c, n, w in zip(codes[in_touched], labels.to_numpy()[in_touched], wards_of[in_touched], strict=True) if w2n.get(w) != n}
    return _rebuilt(grouping, w2n, l2n, locality)


def _rebuilt(grouping: Grouping, w2n: dict, l2n: dict, locality: str | None) -> Grouping:
    """Return `grouping` with new ward and LSOA assignments, dropping neighbourhoods left empty (refused if practices hold them)."""
    used = set(w2n.values()) | set(l2n.values())
    new = sorted(used - set(grouping.neighbourhood_to_locality))
    if new and locality is None:
        raise InvalidGroupingError([f"neighbourhood {new[0]!r} is new: give the locality it belongs to"], source="move")
    n2l = {n: l for n, l in grouping.neighbourhood_to_locality.items() if n in used} | dict.fromkeys(new, locality)
    stranded = sorted({n for n in grouping.practice_to_neighbourhood.values() if n not in used})
    if stranded:
        codes = sorted(p for p, n in grouping.practice_to_neighbourhood.items() if n in stranded)
        raise InvalidGroupingError([f"this leaves neighbourhood(s) {stranded} with practices {codes} but no ward or LSOA: assign or release "
                                    "those practices first"], source="move")  # fmt: skip
    return dataclasses.replace(grouping, ward_to_neighbourhood=w2n, neighbourhood_to_locality=n2l, lsoa_to_neighbourhood=l2n)


def assign_units(grouping: Grouping, neighbourhood: str, lsoa_ward: pd.Series, weights: pd.Series, *, wards: Iterable[str] = (),
                 lsoas: Iterable[str] = (), locality: str | None = None) -> Grouping:  # fmt: skip
    """Return `grouping` with the `wards` (each with every LSOA whose best-fit ward it is) and the `lsoas` in `neighbourhood`.

    The result keeps the form of a plan of LSOAs (see :func:`relabel`); when every LSOA follows
    its ward again it is a plan of whole wards.

    Parameters
    ----------
    lsoa_ward
        Best-fit ward of each LSOA of the place.
    weights
        Residents per LSOA, to place each ward touched in the neighbourhood holding most of them.
    locality
        The locality of `neighbourhood` when it is new.

    Raises
    ------
    InvalidGroupingError
        Unknown wards or LSOAs, a new neighbourhood without a locality, practices left in an empty neighbourhood.
    """
    wards, lsoas = [str(w) for w in wards], [str(c) for c in lsoas]
    unknown = [w for w in wards if w not in grouping.ward_to_neighbourhood] + [c for c in lsoas if c not in lsoa_ward.index]
    if unknown:
        raise InvalidGroupingError([f"unknown ward(s) or LSOA(s) {unknown}: not in this place; use codes of the place"], source="move")
    if neighbourhood not in grouping.neighbourhood_to_locality and locality is None:
        raise InvalidGroupingError([f"neighbourhood {neighbourhood!r} is new: give the locality it belongs to"], source="move")
    labels = lsoa_neighbourhoods(grouping, lsoa_ward)
    labels[lsoa_ward.isin(wards).to_numpy() | lsoa_ward.index.isin(lsoas)] = neighbourhood
    bare = [w for w in wards if not lsoa_ward.eq(w).any()]  # a ward no LSOA is fitted to (no residents): moved as a ward
    g = dataclasses.replace(grouping, ward_to_neighbourhood=dict(grouping.ward_to_neighbourhood) | dict.fromkeys(bare, neighbourhood))
    return relabel(g, labels, lsoa_ward, weights, wards=wards, locality=locality)


def renamed_neighbourhoods(a: pd.Series, b: pd.Series) -> dict[str, str]:
    """Return the neighbourhoods of plan A that plan B holds under another name: A's name → B's name.

    Parameters
    ----------
    a, b
        Each unit's neighbourhood (ward or LSOA code → name) under the two plans, on the same units.

    A name in both plans is the same neighbourhood. Each other name of A is paired with a name
    found only in B, one to one, by the most units in common (an optimal assignment), where B's holds
    more than half of the A neighbourhood's units; the rest of A's names have no counterpart.
    """
    only_a = sorted(set(a.dropna()) - set(b.dropna()))
    only_b = sorted(set(b.dropna()) - set(a.dropna()))
    if not only_a or not only_b:
        return {}
    both = pd.DataFrame({"a": a, "b": b.reindex(a.index)}).dropna()
    common = pd.crosstab(both["a"], both["b"]).reindex(index=only_a, columns=only_b, fill_value=0).to_numpy()
    rows, cols = linear_sum_assignment(common, maximize=True)
    size = a.value_counts()
    return {only_a[r]: only_b[c] for r, c in zip(rows, cols, strict=True) if 2 * common[r, c] > size[only_a[r]]}


def moved_units(a: Grouping, b: Grouping, lsoa_ward: pd.Series) -> pd.DataFrame:
    """Return the units in another neighbourhood in `b` than in `a`: wards when both are plans of wards, else LSOAs.

    A neighbourhood that `b` only renames (:func:`renamed_neighbourhoods`) does not move its units;
    the pairs are in the result's ``attrs["renamed"]`` (A's name → B's name).

    Returns
    -------
    pandas.DataFrame
        ``code``, ``kind`` (``ward`` or ``lsoa``), ``ward`` (the LSOA's best-fit ward, or the ward), ``in_a``, ``in_b``.
    """
    if a.units == "ward" and b.units == "ward":
        la, lb, kind = pd.Series(a.ward_to_neighbourhood, dtype=object), pd.Series(b.ward_to_neighbourhood, dtype=object), "ward"
        lb = lb.reindex(la.index)
        wards = la.index.to_numpy()
    else:
        la, lb, kind = lsoa_neighbourhoods(a, lsoa_ward), lsoa_neighbourhoods(b, lsoa_ward), "lsoa"
        wards = lsoa_ward.reindex(la.index).to_numpy()
    renamed = renamed_neighbourhoods(la, lb)
    diff = la.replace(renamed).ne(lb).to_numpy()
    out = pd.DataFrame({"code": la.index[diff], "kind": kind, "ward": wards[diff], "in_a": la[diff].to_numpy(), "in_b": lb[diff].to_numpy()})
    out.attrs["renamed"] = renamed
    return out


def neighbourhood_areas(grouping: Grouping, wards: gpd.GeoDataFrame, lsoas: gpd.GeoDataFrame | None = None,
                        lsoa_ward: pd.Series | None = None) -> gpd.GeoDataFrame:  # fmt: skip
    """Return one polygon per neighbourhood: dissolved from its wards, or, for a plan of LSOAs, from its LSOAs.

    Parameters
    ----------
    wards
        The place's ward polygons (index ward code).
    lsoas, lsoa_ward
        The place's LSOA polygons and their best-fit wards; needed for a plan of LSOAs.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``neighbourhood`` (in the grouping's order), columns ``locality`` and ``geometry``, CRS of the input.

    Raises
    ------
    InvalidGroupingError
        A plan of LSOAs without `lsoas` and `lsoa_ward`.
    """
    if grouping.units == "ward":
        parts = gpd.GeoDataFrame({"neighbourhood": wards.index.map(grouping.ward_to_neighbourhood)}, geometry=wards.geometry.values,
                                 crs=wards.crs)  # fmt: skip
    else:
        if lsoas is None or lsoa_ward is None:
            raise InvalidGroupingError([f"the grouping assigns {len(grouping.lsoa_to_neighbourhood)} LSOA(s) explicitly: its polygons are "
                                        "dissolved from the place's LSOAs; pass them"], source=f"grouping {grouping.name!r}")  # fmt: skip
        nb = lsoa_neighbourhoods(grouping, lsoa_ward.reindex(lsoas.index))
        parts = gpd.GeoDataFrame({"neighbourhood": nb.to_numpy()}, geometry=lsoas.geometry.values, crs=lsoas.crs)
    out = parts.dropna(subset=["neighbourhood"]).dissolve("neighbourhood")
    out = out.reindex([n for n in grouping.neighbourhoods if n in out.index])
    out.insert(0, "locality", out.index.map(grouping.neighbourhood_to_locality))
    out.index.name = "neighbourhood"
    return out


def label_parts(labels: pd.Series, adjacency: pd.DataFrame) -> dict[str, list[list[str]]]:
    """Return, per neighbourhood, its contiguous parts (lists of unit codes), as :func:`boundaries.grouping.neighbourhood_parts` does for wards.

    Parameters
    ----------
    labels
        Unit code (e.g. LSOA) → neighbourhood.
    adjacency
        Pairs ``a``, ``b`` of units sharing a boundary (:func:`boundaries.grouping.ward_adjacency` of the units).
    """
    codes = labels.index
    a, b = codes.get_indexer(adjacency["a"]), codes.get_indexer(adjacency["b"])
    lab = labels.to_numpy()
    keep = (a >= 0) & (b >= 0)
    keep[keep] = lab[a[keep]] == lab[b[keep]]
    n = len(codes)
    _, comp = connected_components(coo_matrix((np.ones(int(keep.sum())), (a[keep], b[keep])), shape=(n, n)), directed=False)
    parts: dict[str, dict[int, list[str]]] = {}
    for code, nb, c in zip(codes, lab, comp, strict=True):
        if isinstance(nb, str):
            parts.setdefault(nb, {}).setdefault(int(c), []).append(code)
    return {nb: list(p.values()) for nb, p in parts.items()}
