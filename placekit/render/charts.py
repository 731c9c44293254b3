"""Static charts (matplotlib) for notebooks, reports and the app: flows, catchments, coverage.

matplotlib is imported when a chart is drawn (:func:`pyplot`), not when this module
is, so commands that draw nothing start faster. It uses the non-interactive Agg
backend unless a backend was chosen already (a notebook's inline backend is kept).
"""

from __future__ import annotations

import contextlib
import sys
import textwrap
from types import ModuleType
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from boundaries.flows import OUTSIDE, UNKNOWN
from placekit.render.maps import neighbourhood_colours
from placekit.safe_text import escape_mathtext

if TYPE_CHECKING:  # matplotlib is imported when a chart is drawn (see pyplot)
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["sankey", "choropleth", "small_multiples", "cumulative_curve", "demo_stamp", "pyplot", "plain_text", "plain", "prevalence_dot_chart",
           "condition_small_multiples", "age_structure_chart", "profile_static_map", "ensemble_histograms"]


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


def plain(text: object) -> str:
    """Return `text` with ``$`` escaped, for a label drawn outside :class:`plain_text` (e.g. a tick label set later)."""
    return escape_mathtext(text)


def pyplot() -> ModuleType:
    """Return ``matplotlib.pyplot``, selecting the Agg backend on first use outside notebooks."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and "ipykernel" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def demo_stamp(fig: Figure, demo: bool) -> None:
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
def sankey(matrix: pd.DataFrame, *, title: str = "", min_flow: int = 0, demo: bool = False, ax: Axes | None = None) -> Figure:
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
    ax: Axes | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Figure:
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
) -> Figure:
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
        ax.set_title("\n".join(textwrap.wrap(str((titles or columns)[k]), 30)), fontsize=9)  # long trust names: lines, not overlaps
        ax.set_axis_off()
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, 1))
    fig.colorbar(sm, ax=axes, shrink=0.6, label="share of admissions")
    fig.suptitle(suptitle, fontsize=11, y=1.0, va="bottom")  # above the panels' titles (saved with a tight box, as the app does)
    demo_stamp(fig, demo)
    return fig


@plain_text()
def cumulative_curve(curves: dict[str, pd.Series], *, title: str = "", xlabel: str = "minutes", demo: bool = False,
                     ax: Axes | None = None) -> Figure:  # fmt: skip
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


# --------------------------------------------------------------------------- health need, age structure, profile map
def prevalence_dot_chart(table: pd.DataFrame, unit: str, *, conditions: list[str] | None = None, view: str = "registered",
                         level: str = "neighbourhood", demo: bool = False, ax: Axes | None = None) -> Figure:  # fmt: skip
    """Draw each condition's prevalence as a ratio to the city: every unit of `level` as a grey dot, `unit` in colour, England as a diamond.

    Parameters
    ----------
    table
        Output of :func:`boundaries.health.health_table`.
    view
        ``"registered"`` (the unit's practices) or ``"resident"`` (modelled, the unit's residents).
    """
    if view not in ("registered", "resident"):
        raise ValueError(f'`view` was "{view}" but is expected to be "registered" or "resident".')
    col = "prevalence" if view == "registered" else "resident_prevalence"
    ratio = "ratio_city" if view == "registered" else "resident_ratio_city"
    conds = [c for c in (conditions or list(dict.fromkeys(table["condition"]))) if c in set(table["condition"])]
    units = table[table["level"] == level]
    mine = units[units["name"] == unit].set_index("condition")
    city = table[table["level"] == "city"].set_index("condition")
    fig, ax = (ax.figure, ax) if ax is not None else pyplot().subplots(figsize=(7.2, 0.42 * len(conds) + 1.6))
    y = np.arange(len(conds))[::-1]
    for yi, c in zip(y, conds, strict=True):
        others = units.loc[units["condition"] == c, ratio].to_numpy(dtype=float)
        ax.scatter(others, np.full(len(others), yi), s=18, color="#bbbbbb", zorder=2, lw=0)
        eng = city.at[c, "england_prevalence"] / city.at[c, col]
        ax.scatter([eng], [yi], marker="D", s=28, facecolor="white", edgecolor="#333", zorder=3)
        r = mine.at[c, ratio]
        ax.scatter([r], [yi], s=70, color="#b2182b" if r > 1.1 else "#2166ac" if r < 0.9 else "#555555", zorder=4)
        ax.text(1.02, yi, f"{mine.at[c, col]:.1f}% · city {city.at[c, col]:.1f}%", transform=ax.get_yaxis_transform(), va="center",
                fontsize=7.5, parse_math=False)  # fmt: skip
    ax.axvline(1.0, color="#333", lw=1)
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks([0.5, 0.67, 1, 1.5, 2], labels=["½×", "⅔×", "city", "1.5×", "2×"])
    ax.set_xlim(0.4, 2.5)
    ax.set_yticks(y, labels=[plain(f"{table.loc[table['condition'] == c, 'condition_name'].iloc[0]} ({c})") for c in conds], fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    what = "QOF 2022-23 registers of its practices" if view == "registered" else "modelled QOF 2022-23 registers of its residents"
    ax.set_title(plain(f"{unit}: prevalence against the city ({what})"), fontsize=9, loc="left", wrap=True)
    ax.set_xlabel("prevalence ÷ city prevalence (log scale); grey: other units, ◇ England", fontsize=8)
    fig.tight_layout()
    demo_stamp(fig, demo)
    return fig


def condition_small_multiples(by_imd: pd.DataFrame, table: pd.DataFrame, condition: str, *, demo: bool = False) -> Figure:
    """Draw one small panel per neighbourhood: modelled resident prevalence of `condition` by IMD quintile, with the city line.

    Parameters
    ----------
    by_imd
        Output of :func:`boundaries.health.health_by_imd_units`.
    table
        Output of :func:`boundaries.health.health_table` (for the city and each neighbourhood's overall value).
    """
    d = by_imd[by_imd["condition"] == condition]
    names = list(dict.fromkeys(d["name"]))
    t = table[table["condition"] == condition]
    city = float(t.loc[t["level"] == "city", "resident_prevalence"].iloc[0])
    overall = t[t["level"] == "neighbourhood"].set_index("name")["resident_prevalence"]
    ncol = 4
    nrow = int(np.ceil(len(names) / ncol))
    plt = pyplot()
    fig, axes = plt.subplots(nrow, ncol, figsize=(10, 2.3 * nrow), sharex=True, sharey=True, squeeze=False)
    vmax = float(np.nanmax(d["resident_prevalence"].to_numpy(dtype=float))) * 1.1 if len(d) else 1.0
    for ax, name in zip(axes.flat, names, strict=False):
        g = d[d["name"] == name]
        has = g["resident_list_size"] > 50
        ax.bar(g["imd_quintile"][has], g["resident_prevalence"][has], color=[_IMD5[q - 1] for q in g["imd_quintile"][has]])
        ax.axhline(city, color="#333", lw=1, ls="--")
        ax.set_title("\n".join(textwrap.wrap(plain(f"{name} ({overall.get(name, np.nan):.1f}%)"), 34)), fontsize=7.5)
        ax.set_ylim(0, vmax)
        ax.set_xticks([1, 2, 3, 4, 5])
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.set_axis_off()
    name = t["condition_name"].iloc[0]
    fig.suptitle(plain(f"{name}: modelled prevalence of residents by IMD 2019 quintile of residence (1 = most deprived); "
                       f"dashed line: city {city:.1f}%"), fontsize=9.5)  # fmt: skip
    fig.supxlabel("IMD quintile of the LSOA of residence (quintiles with under 50 people on the base list not drawn)", fontsize=8)
    fig.supylabel("% of the QOF base list (QOF 2022-23, July 2022 registrations)", fontsize=8)
    fig.tight_layout()
    demo_stamp(fig, demo)
    return fig


_IMD5 = ["#a50026", "#f46d43", "#fee08b", "#a6d96a", "#1a9850"]


def age_structure_chart(shares: pd.DataFrame, *, unit: str, base_label: str, demo: bool = False, ax: Axes | None = None) -> Figure:
    """Draw the share of residents in each age band for `unit` (bars) and the city (dots).

    Parameters
    ----------
    shares
        Index: band labels in order; columns ``unit`` and ``city`` (fractions).
    base_label
        The population and year ("Census 2021 usual residents (21 March 2021)").
    """
    fig, ax = (ax.figure, ax) if ax is not None else pyplot().subplots(figsize=(6.4, 0.36 * len(shares) + 1.3))
    y = np.arange(len(shares))[::-1]
    ax.barh(y, 100 * shares["unit"].to_numpy(), color="#4575b4", label=plain(unit))
    ax.scatter(100 * shares["city"].to_numpy(), y, color="black", zorder=3, label="city", s=22)
    ax.set_yticks(y, labels=[plain(b) for b in shares.index], fontsize=8)
    ax.set_xlabel("% of residents", fontsize=8)
    ax.set_title(plain(f"Age structure: {base_label}"), fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    demo_stamp(fig, demo)
    return fig


_ASSET_STYLE = {"library": ("s", "#1b9e77"), "food_bank": ("^", "#d95f02"), "jobcentre": ("P", "#7570b3"), "post_office": ("v", "#e7298a"),
                "place_of_worship": (".", "#666666"), "pharmacy": ("+", "#66a61e"), "dentist": ("x", "#a6761d"), "gp": ("o", "#e6ab02")}  # fmt: skip


def profile_static_map(lsoas: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, *, column: str, legend_label: str, categorical_imd: bool = False,
                       practices: gpd.GeoDataFrame | None = None, assets: gpd.GeoDataFrame | None = None,
                       asset_labels: dict[str, str] | None = None, hubs: gpd.GeoDataFrame | None = None, demo: bool = False) -> Figure:  # fmt: skip
    """Draw a unit's map for a printed profile: LSOAs shaded by `column`, wards outlined, practices, assets by type, hubs, a legend.

    Every layer is in the working CRS (EPSG:27700); names in labels are drawn as typed.
    """
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.lines import Line2D

    plt = pyplot()
    minx, miny, maxx, maxy = lsoas.total_bounds
    fig, ax = plt.subplots(figsize=(7.2, float(np.clip(6.0 * (maxy - miny) / max(maxx - minx, 1.0), 3.2, 8.5)) + 0.9))
    if categorical_imd:
        cmap = ListedColormap(["#a50026", "#d73027", "#f46d43", "#fdae61", "#fee08b", "#d9ef8b", "#a6d96a", "#66bd63", "#1a9850", "#006837"])
        lsoas.plot(column=column, cmap=cmap, norm=BoundaryNorm(np.arange(0.5, 11.5), 10), ax=ax, edgecolor="white", linewidth=0.3)
    else:
        lsoas.plot(column=column, cmap="OrRd", ax=ax, edgecolor="white", linewidth=0.3)
    sm = plt.cm.ScalarMappable(cmap=ax.collections[0].get_cmap(), norm=ax.collections[0].norm)
    bar = fig.colorbar(sm, ax=ax, shrink=0.55, pad=0.01, ticks=list(range(1, 11)) if categorical_imd else None)
    bar.set_label(plain(legend_label), fontsize=8)
    wards.boundary.plot(ax=ax, color="black", linewidth=1.4)
    for _, w in wards.iterrows():
        p = w.geometry.representative_point()
        ax.text(p.x, p.y, plain(w["name"]), fontsize=7, ha="center", va="center", zorder=7,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.75, "lw": 0})  # fmt: skip
    handles = []
    if assets is not None and len(assets):
        for t, g in assets.groupby("asset_type", sort=False):
            marker, colour = _ASSET_STYLE.get(t, ("o", "#999999"))
            ax.scatter(g.geometry.x, g.geometry.y, marker=marker, color=colour, s=16, zorder=4, linewidths=1)
            handles.append(Line2D([], [], ls="", marker=marker, color=colour, label=plain(f"{(asset_labels or {}).get(t, t)} ({len(g)})")))
    if practices is not None and len(practices):
        ax.scatter(practices.geometry.x, practices.geometry.y, s=60, facecolor="#0b3d91", edgecolor="white", zorder=5)
        handles.append(Line2D([], [], ls="", marker="o", markersize=8, markerfacecolor="#0b3d91", markeredgecolor="white",
                              label=f"GP practices ({len(practices)})"))  # fmt: skip
    if hubs is not None and len(hubs):
        ax.scatter(hubs.geometry.x, hubs.geometry.y, s=220, marker="*", color="#6a3d9a", edgecolor="white", zorder=6)
        handles.append(Line2D([], [], ls="", marker="*", markersize=12, color="#6a3d9a", label=f"hubs ({len(hubs)})"))
    handles.append(Line2D([], [], color="black", lw=1.4, label="ward boundary"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.01), ncol=3, fontsize=7, frameon=False)
    ax.set_axis_off()
    ax.set_aspect("equal")
    fig.tight_layout()
    demo_stamp(fig, demo)
    return fig


#: Short titles of the ensemble's figures (:data:`boundaries.planscore.MEASURES`).
_ENSEMBLE_TITLES = {
    "list_containment_mean": "List containment, mean",
    "list_containment_min": "List containment, lowest",
    "list_containment_city": "List containment, city-wide",
    "resident_containment_mean": "Resident containment, mean",
    "resident_containment_min": "Resident containment, lowest",
    "resident_containment_city": "Resident containment, city-wide",
    "pcn_alignment": "PCN alignment (by list)",
    "population_deviation": "Largest gap from average size (lower is better)",
}


@plain_text()
def ensemble_histograms(scores: pd.DataFrame, plan: pd.Series, *, title: str, subtitle: str = "", exact: bool = True,
                        demo: bool = False) -> Figure:  # fmt: skip
    """Draw one histogram per figure of an ensemble of plans, with the ranked plan marked and its percentile.

    Parameters
    ----------
    scores
        One row per plan, a column per figure (:meth:`boundaries.planscore.PlanScorer.score`).
    plan
        The ranked plan's figures.
    exact
        True when `scores` holds every valid plan (the percentiles are exact), else a sample.
    """
    plt = pyplot()
    cols = [c for c in _ENSEMBLE_TITLES if c in scores]
    fig, axes = plt.subplots(2, (len(cols) + 1) // 2, figsize=(15, 6.6), constrained_layout=True)
    for ax, col in zip(np.ravel(axes), cols, strict=False):
        v = 100 * scores[col].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        x = 100 * float(plan[col])
        ax.set_title(_ENSEMBLE_TITLES[col], fontsize=10)
        if not len(v) or not np.isfinite(x):
            ax.text(0.5, 0.5, "not available for this place", ha="center", va="center", transform=ax.transAxes, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        ax.hist(v, bins=min(40, max(5, len(np.unique(v)))), color="#9ecae1", edgecolor="#4f7fa6", linewidth=0.4)
        below = 100 * ((v < x).sum() + 0.5 * (v == x).sum()) / max(len(v), 1)
        ax.axvline(x, color="#d7301f", linewidth=2)
        ax.set_xlabel("%", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.annotate(f"plan {x:.1f}%\n{below:.0f}th percentile", xy=(x, ax.get_ylim()[1] * 0.95), fontsize=8, color="#d7301f",
                    ha="right" if x > np.median(v) else "left", va="top", xytext=(-4 if x > np.median(v) else 4, 0),
                    textcoords="offset points")  # fmt: skip
    for ax in np.ravel(axes)[len(cols):]:
        ax.set_visible(False)
    kind = "every valid plan" if exact else "a sample of valid plans"
    fig.suptitle(f"{title}\n{subtitle} ({len(scores):,} plans: {kind}; the red line is the plan)", fontsize=11)
    demo_stamp(fig, demo)
    return fig
