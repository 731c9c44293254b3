"""Static charts (matplotlib) for notebooks, reports and the app: flows, catchments, coverage.

matplotlib is imported when a chart is drawn (:func:`pyplot`), not when this module
is, so commands that draw nothing start faster. It uses the non-interactive Agg
backend unless a backend was chosen already (a notebook's inline backend is kept).
"""

from __future__ import annotations

import contextlib
import sys
from types import ModuleType

import geopandas as gpd
import numpy as np
import pandas as pd

from boundaries.flows import OUTSIDE, UNKNOWN
from placekit.safe_text import escape_mathtext
from render.maps import neighbourhood_colours

__all__ = ["sankey", "choropleth", "small_multiples", "cumulative_curve", "demo_stamp", "pyplot", "plain_text", "plain"]


class plain_text(contextlib.ContextDecorator):  # noqa: N801 (used as a decorator, like contextlib's)
    """Draw every text made inside as typed: no mathtext (``$...$``) and no LaTeX.

    Names of neighbourhoods and wards are user text; matplotlib would otherwise parse
    ``$x$`` as math and fail on ``$…`` (an unbalanced or unknown expression). Use it as a
    decorator on a function that draws a figure, or as ``with plain_text(): ...``. Texts
    keep the setting after the block, so saving the figure later is safe too.
    """

    def _recreate_cm(self):
        return type(self)()

    def __enter__(self):
        import matplotlib

        self._rc = matplotlib.rc_context({"text.parse_math": False, "text.usetex": False})
        self._rc.__enter__()
        return self

    def __exit__(self, *exc):
        return self._rc.__exit__(*exc)


def plain(text) -> str:
    """Return `text` with ``$`` escaped, for a label drawn outside :class:`plain_text` (e.g. a tick label set later)."""
    return escape_mathtext(text)


def pyplot() -> ModuleType:
    """Return ``matplotlib.pyplot``, selecting the Agg backend on first use outside notebooks."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and "ipykernel" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def demo_stamp(fig, demo: bool) -> None:
    """Write "DEMO DATA" across a figure made from the demo place."""
    if demo:
        fig.text(0.5, 0.5, "DEMO DATA", fontsize=48, color="#b00020", alpha=0.25, ha="center", va="center", rotation=30)


def _band(x0: float, x1: float, y_left: float, y_right: float, v: float):
    """Return the path of one Sankey band of height `v` from (x0, y_left) to (x1, y_right)."""
    from matplotlib.path import Path as MPath

    verts = [(x0, y_left), (0.5, y_left), (0.5, y_right), (x1, y_right), (x1, y_right + v), (0.5, y_right + v), (0.5, y_left + v),
             (x0, y_left + v), (x0, y_left)]  # fmt: skip
    c4 = MPath.CURVE4
    return MPath(verts, [MPath.MOVETO, c4, c4, c4, MPath.LINETO, c4, c4, c4, MPath.CLOSEPOLY])


def _stack(sizes: np.ndarray, gap: float) -> np.ndarray:
    """Return the start of each block when blocks of `sizes` are stacked with `gap` between them."""
    return np.concatenate([[0.0], np.cumsum(sizes + gap)[:-1]])


@plain_text()
def sankey(matrix: pd.DataFrame, *, title: str = "", min_flow: int = 0, demo: bool = False, ax=None):
    """Draw a two-column Sankey: neighbourhood of residence (left) → of registration (right).

    Band widths are patients; flows under `min_flow` are left out (their total is printed).
    """
    from matplotlib.patches import PathPatch

    plt = pyplot()
    rows, cols = list(matrix.index), list(matrix.columns)
    colours = neighbourhood_colours([c for c in cols if c in rows and c not in (OUTSIDE, UNKNOWN)])
    grey = "#999999"
    m = matrix.to_numpy(dtype=float)
    hidden = m[m < min_flow].sum()
    m = np.where(m >= min_flow, m, 0)
    gap = m.sum() * 0.012
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(11, 9))
    left_y, right_y = _stack(m.sum(axis=1), gap), _stack(m.sum(axis=0), gap)
    lo, ro = left_y.copy(), right_y.copy()
    for i, j in zip(*np.nonzero(m > 0), strict=True):
        alpha = 0.55 if rows[i] != cols[j] else 0.25
        ax.add_patch(PathPatch(_band(0.0, 1.0, lo[i], ro[j], m[i, j]), facecolor=colours.get(rows[i], grey), alpha=alpha, lw=0))
        lo[i] += m[i, j]
        ro[j] += m[i, j]
    for names, ys, sums, x, ha in ((rows, left_y, m.sum(axis=1), 0.0, "right"), (cols, right_y, m.sum(axis=0), 1.0, "left")):
        for n, y, s in zip(names, ys, sums, strict=True):
            if s > 0:
                ax.add_patch(plt.Rectangle((x - 0.015 if ha == "right" else x, y), 0.015, s, color=colours.get(n, grey)))
                ax.text(x - 0.025 if ha == "right" else x + 0.03, y + s / 2, f"{n} ({s:,.0f})", ha=ha, va="center", fontsize=7)
    ax.set_xlim(-0.9, 1.9)
    ax.set_ylim(max(left_y[-1] + m.sum(axis=1)[-1], right_y[-1] + m.sum(axis=0)[-1]) + gap, -gap)
    ax.axis("off")
    ax.text(0.0, -gap * 0.5, "lives in", ha="center", fontsize=9, weight="bold")
    ax.text(1.0, -gap * 0.5, "registered with", ha="center", fontsize=9, weight="bold")
    note = f"; flows under {min_flow:,} patients hidden ({hidden:,.0f} in all)" if min_flow else ""
    ax.set_title(f"{title}\nband width = patients; pale bands stay in their neighbourhood{note}", fontsize=10)
    demo_stamp(fig, demo)
    return fig


@plain_text()
def choropleth(
    gdf: gpd.GeoDataFrame,
    column: str,
    *,
    title: str = "",
    cmap: str = "viridis",
    fmt: str = "{:.0%}",
    labels: bool = True,
    demo: bool = False,
    ax=None,
    vmin=None,
    vmax=None,
):
    """Draw `gdf` shaded by `column`, labelled with its values (EPSG:27700, metres)."""
    fig, ax = (ax.figure, ax) if ax is not None else pyplot().subplots(figsize=(7, 9))
    gdf.plot(
        column=column, cmap=cmap, legend=True, ax=ax, edgecolor="white", linewidth=0.6, vmin=vmin, vmax=vmax, legend_kwds={"shrink": 0.5}
    )
    if labels:
        for _, r in gdf.iterrows():
            p = r.geometry.representative_point()
            if pd.notna(r[column]):
                ax.annotate(
                    fmt.format(r[column]),
                    (p.x, p.y),
                    ha="center",
                    fontsize=7,
                    color="black",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.7, "lw": 0},
                )
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
    demo_stamp(fig, demo)
    return fig


@plain_text()
def small_multiples(
    gdf: gpd.GeoDataFrame,
    columns: list[str],
    *,
    titles: list[str] | None = None,
    suptitle: str = "",
    cmap: str = "Blues",
    demo: bool = False,
):
    """Draw one map per column on a shared 0–1 scale (e.g. each trust's share of admissions)."""
    n = len(columns)
    ncol = min(n, 4)
    nrow = int(np.ceil(n / ncol))
    plt = pyplot()
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 4.6 * nrow), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.set_axis_off()
            continue
        gdf.plot(column=columns[k], cmap=cmap, vmin=0, vmax=1, ax=ax, edgecolor="none")
        ax.set_title((titles or columns)[k], fontsize=9)
        ax.set_axis_off()
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, 1))
    fig.colorbar(sm, ax=axes, shrink=0.6, label="share of admissions")
    fig.suptitle(suptitle, fontsize=11)
    demo_stamp(fig, demo)
    return fig


@plain_text()
def cumulative_curve(curves: dict[str, pd.Series], *, title: str = "", xlabel: str = "minutes", demo: bool = False, ax=None):
    """Draw share of residents within t minutes, one line per named curve (e.g. before/after)."""
    fig, ax = (ax.figure, ax) if ax is not None else pyplot().subplots(figsize=(7, 4.5))
    for name, s in curves.items():
        ax.plot(s.index, 100 * s.to_numpy(), label=name, lw=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("% of residents within")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title, fontsize=10)
    demo_stamp(fig, demo)
    return fig
