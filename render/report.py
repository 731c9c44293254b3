"""One-page neighbourhood profiles as HTML and PDF (matplotlib; no browser needed)."""

from __future__ import annotations

import base64
import html
import io
import textwrap

import geopandas as gpd
import pandas as pd

from boundaries.flows import Flows
from boundaries.grouping import Grouping
from geo.model import Place
from render.charts import plain_text, pyplot

__all__ = ["profile_figure", "profile_html", "profile_pdf"]


def _key_figures(row: pd.Series, flows: Flows | None, neighbourhood: str) -> list[tuple[str, str]]:
    """Return (label, value) pairs for the profile's key figures."""

    def opt(col: str, fmt: str) -> str:
        return fmt.format(row[col]) if col in row and pd.notna(row[col]) else "n/a"

    figs = [
        ("Wards", ", ".join(row["ward_names"])),
        ("Residents (mid-2015)", f"{row['population']:,.0f}"),
        ("Aged 60+", f"{row['age_60_plus']:,.0f} ({row['share_60_plus']:.0%})"),
        ("Area", f"{row['area_km2']:.1f} km²; {row['density_per_km2']:,.0f} per km²"),
        ("IMD mean decile", opt("imd_mean_decile", "{:.1f}")),
        ("In England's most deprived 10%", opt("share_most_deprived_decile", "{:.0%}")),
        ("GP practices located here", f"{row.get('practices', 0):.0f}, registered patients {row.get('registered_list', 0):,.0f}"),
    ]
    if flows is not None:
        nf = flows.neighbourhoods.loc[neighbourhood]
        figs.append(("Self-containment", f"{nf['self_containment']:.1%} of residents registered here"))
        figs.append(("Registered outside the city", f"{nf['residents_outside_city']:,.0f}"))
    return figs


def _profile_map(ax, place: Place, wards: list[str], hubs: list[str] | None, sites: gpd.GeoDataFrame | None) -> None:
    """Draw the neighbourhood's LSOAs by IMD decile, its wards, practices and hubs on `ax`."""
    lsoas = place.lsoas[place.lsoa_ward_code.isin(wards).to_numpy()]
    if place.imd is not None:
        lsoas.assign(imd=place.imd["imd_decile"].reindex(lsoas.index)).plot(
            column="imd", cmap="RdYlGn", vmin=1, vmax=10, ax=ax, legend=True, legend_kwds={"shrink": 0.6, "label": "IMD decile (1 = most deprived)"}
        )
    else:
        lsoas.plot(ax=ax, color="#ddd")
    place.wards.loc[wards].boundary.plot(ax=ax, color="black", linewidth=1.2)
    pr = place.practices_in_place
    pr = pr[pr["ward_code"].isin(wards)]
    if len(pr):
        pr.plot(ax=ax, color="#0b3d91", markersize=18, label="GP practices")
    if hubs and sites is not None:
        hs = sites.loc[[h for h in hubs if h in sites.index]]
        hs = hs[hs["ward_code"].isin(wards)] if "ward_code" in hs else hs
        if len(hs):
            hs.plot(ax=ax, color="#6a3d9a", markersize=60, marker="*", label="hubs")
    ax.set_axis_off()
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left", fontsize=7)


@plain_text()  # neighbourhood and ward names are drawn as typed, never as mathtext
def profile_figure(place: Place, grouping: Grouping, neighbourhood: str, profile: pd.DataFrame, flows: Flows | None = None,
                   hubs: list[str] | None = None, sites: gpd.GeoDataFrame | None = None):  # fmt: skip
    """Draw an A4 page: map (wards, LSOAs by IMD decile, practices, hubs), key figures, age bars, flows in and out."""
    plt = pyplot()
    row = profile[(profile["level"] == "neighbourhood") & (profile["name"] == neighbourhood)].iloc[0]
    fig = plt.figure(figsize=(8.27, 11.69))
    fig.suptitle(f"{neighbourhood}\n{row['locality']} locality — {place.label}", fontsize=13, weight="bold")
    _profile_map(fig.add_axes([0.05, 0.45, 0.55, 0.45]), place, list(row["wards"]), hubs, sites)
    figs = _key_figures(row, flows, neighbourhood)
    y = 0.9
    for k, v in figs:
        fig.text(0.63, y, k, fontsize=8, weight="bold")
        fig.text(0.63, y - 0.018, "\n".join(_wrap(v, 40)), fontsize=8, va="top")
        y -= 0.018 * (1 + len(_wrap(v, 40))) + 0.012
    ax2 = fig.add_axes([0.08, 0.25, 0.38, 0.14])
    bands = ["0-15", "16-59", "60+"]
    vals = [row["age_0_15"], row["age_16_59"], row["age_60_plus"]]
    city = profile[profile["level"] == "city"].iloc[0]
    cvals = [city["age_0_15"] / city["population"], city["age_16_59"] / city["population"], city["age_60_plus"] / city["population"]]
    ax2.barh(bands, [v / row["population"] for v in vals], color="#1f78b4", label=neighbourhood[:25])
    ax2.scatter(cvals, bands, color="black", zorder=3, label="city")
    ax2.set_xlabel("share of residents")
    ax2.set_title("Age structure", fontsize=9)
    ax2.legend(fontsize=6)
    if flows is not None:
        m = flows.matrix
        out_ = m.loc[neighbourhood].drop(neighbourhood).sort_values(ascending=False).head(5)
        in_ = m[neighbourhood].drop(neighbourhood).sort_values(ascending=False).head(5)
        ax3 = fig.add_axes([0.58, 0.05, 0.38, 0.33])
        ax3.axis("off")
        lines = ["Residents registered elsewhere (top 5):"] + [f"  {k[:34]}: {v:,}" for k, v in out_.items()]
        lines += ["", "Its practices' patients from elsewhere (top 5):"] + [f"  {k[:34]}: {v:,}" for k, v in in_.items()]
        ax3.text(0, 1, "\n".join(lines), fontsize=7, va="top", family="monospace")
    fig.text(
        0.05,
        0.02,
        "Sources: ONS boundaries and lookups; MHCLG IoD2019; NHS Digital GP registrations (Jul 2022); ODS. "
        + ("DEMO DATA." if place.demo else ""),
        fontsize=6,
        color="#b00020" if place.demo else "#555",
    )
    return fig


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(str(text), width) or [""]


def profile_pdf(*args, **kwargs) -> bytes:
    """Return the one-page profile as PDF bytes."""
    from matplotlib.backends.backend_pdf import PdfPages

    plt = pyplot()
    fig = profile_figure(*args, **kwargs)
    buf = io.BytesIO()
    with PdfPages(buf) as pdf:
        pdf.savefig(fig)
    plt.close(fig)
    return buf.getvalue()


def profile_html(*args, **kwargs) -> str:
    """Return the one-page profile as a standalone HTML page (the page embedded as a PNG)."""
    plt = pyplot()
    fig = profile_figure(*args, **kwargs)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    title = html.escape(str(args[2] if len(args) > 2 else kwargs.get("neighbourhood", "profile")))
    img = base64.b64encode(buf.getvalue()).decode()
    return f'<!doctype html><meta charset="utf-8"><title>{title}</title><body style="margin:0"><img alt="{title}" style="max-width:100%" src="data:image/png;base64,{img}"></body>'
