"""Static charts (matplotlib) for notebooks, reports and the app: flows, catchments, coverage."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import geopandas as gpd  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import PathPatch  # noqa: E402
from matplotlib.path import Path as MPath  # noqa: E402

from placekit.render import neighbourhood_colours  # noqa: E402

__all__ = ["sankey", "choropleth", "small_multiples", "cumulative_curve", "demo_stamp"]


def demo_stamp(fig, demo: bool) -> None:
    """Write "DEMO DATA" across a figure made from the demo place."""
    if demo:
        fig.text(0.5, 0.5, "DEMO DATA", fontsize=48, color="#b00020", alpha=0.25, ha="center", va="center", rotation=30)


def sankey(matrix: pd.DataFrame, *, title: str = "", min_flow: int = 0, demo: bool = False, ax=None):
    """Draw a two-column Sankey: neighbourhood of residence (left) → of registration (right).

    Band widths are patients; flows under `min_flow` are left out (their total is printed).
    """
    rows, cols = list(matrix.index), list(matrix.columns)
    from boundaries.flows import OUTSIDE, UNKNOWN

    colours = neighbourhood_colours([c for c in cols if c in rows and c not in (OUTSIDE, UNKNOWN)])
    grey = "#999999"
    m = matrix.to_numpy(dtype=float)
    hidden = m[m < min_flow].sum()
    m = np.where(m >= min_flow, m, 0)
    total = m.sum()
    gap = total * 0.012
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(11, 9))

    def stack(sizes):
        pos, y = [], 0.0
        for s in sizes:
            pos.append(y)
            y += s + gap
        return np.array(pos)

    left_y, right_y = stack(m.sum(axis=1)), stack(m.sum(axis=0))
    lo, ro = left_y.copy(), right_y.copy()
    x0, x1 = 0.0, 1.0
    for i in range(len(rows)):
        for j in range(len(cols)):
            v = m[i, j]
            if v <= 0:
                continue
            verts = [
                (x0, lo[i]),
                (0.5, lo[i]),
                (0.5, ro[j]),
                (x1, ro[j]),
                (x1, ro[j] + v),
                (0.5, ro[j] + v),
                (0.5, lo[i] + v),
                (x0, lo[i] + v),
                (x0, lo[i]),
            ]
            codes = [
                MPath.MOVETO,
                MPath.CURVE4,
                MPath.CURVE4,
                MPath.CURVE4,
                MPath.LINETO,
                MPath.CURVE4,
                MPath.CURVE4,
                MPath.CURVE4,
                MPath.CLOSEPOLY,
            ]
            ax.add_patch(
                PathPatch(MPath(verts, codes), facecolor=colours.get(rows[i], grey), alpha=0.55 if rows[i] != cols[j] else 0.25, lw=0)
            )
            lo[i] += v
            ro[j] += v
    for names, ys, sums, x, ha in ((rows, left_y, m.sum(axis=1), x0, "right"), (cols, right_y, m.sum(axis=0), x1, "left")):
        for n, y, s in zip(names, ys, sums, strict=True):
            if s <= 0:
                continue
            ax.add_patch(plt.Rectangle((x - 0.015 if ha == "right" else x, y), 0.015, s, color=colours.get(n, grey)))
            ax.text(x - 0.025 if ha == "right" else x + 0.03, y + s / 2, f"{n} ({s:,.0f})", ha=ha, va="center", fontsize=7)
    ax.set_xlim(-0.9, 1.9)
    ax.set_ylim(max(left_y[-1] + m.sum(axis=1)[-1], right_y[-1] + m.sum(axis=0)[-1]) + gap, -gap)
    ax.axis("off")
    ax.text(x0, -gap * 0.5, "lives in", ha="center", fontsize=9, weight="bold")
    ax.text(x1, -gap * 0.5, "registered with", ha="center", fontsize=9, weight="bold")
    note = f"; flows under {min_flow:,} patients hidden ({hidden:,.0f} in all)" if min_flow else ""
    ax.set_title(f"{title}\nband width = patients; pale bands stay in their neighbourhood{note}", fontsize=10)
    demo_stamp(fig, demo)
    return fig


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
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 9))
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


def cumulative_curve(curves: dict[str, pd.Series], *, title: str = "", xlabel: str = "minutes", demo: bool = False, ax=None):
    """Draw share of residents within t minutes, one line per named curve (e.g. before/after)."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4.5))
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
