"""Map and profiles: the place map, a neighbourhood's or locality's profile (population, health need, assets) and its pack.

A plan built from LSOAs is profiled on its LSOAs, on the place's own resident base (its band check on
the chosen base); the sections counted by ward (registered patients, health need, assets, the pack)
say so rather than show ward figures for it."""

import pandas as pd
import streamlit as st

from boundaries.assets import asset_disparity, asset_table
from boundaries.health import MAIN_CONDITIONS, health_base, health_by_imd_units, health_table
from boundaries.population import POPULATION_COLUMNS, population_table
from boundaries.profiles import POPULATION_BASES, population_bases, population_label, profile, ward_population
from geo.assets import ASSET_TYPES
from placekit.render.charts import condition_small_multiples, prevalence_dot_chart, pyplot
from placekit.render.maps import place_map, profile_map, standalone_html
from placekit.render.pack import PdfUnavailableError, build_pack, locality_grouping, pack_filename, pack_html, pack_pdf
from placekit.settings import BAND_MAX, BAND_MIN
from placekit.ui import common

place = common.place()
g = common.grouping()
st.title("Map and profiles")
common.page_notes("map_profiles")  # loader warnings about this page's layers


@st.cache_resource(show_spinner="Preparing health need…")
def _health_base(root: str):
    return health_base(place) if place.qof is not None else None


@st.cache_data(show_spinner=False, max_entries=16)
def _profile(_g, key, base):
    return profile(place, _g, population=base)


hb = _health_base(common.root_key())
bases = population_bases(place)  # a place from the national files has Census 2021 residents only
c1, c2, c3 = st.columns([2, 2, 3])
base = c1.radio("Population base", bases, index=bases.index(common.population_base()), key="population_base", format_func=lambda b: POPULATION_BASES[b],
                help="Residents used for populations, rates and the 30,000–50,000 band check.")  # fmt: skip
level = c2.radio("Profile of a", ["neighbourhood", "locality"], horizontal=True, key="profile_level")
units = g.neighbourhoods if level == "neighbourhood" else g.localities
nb = c3.selectbox(level.capitalize(), units, key="profile_nb" if level == "neighbourhood" else "profile_loc")
ug = g if level == "neighbourhood" else locality_grouping(g)
by_lsoa = g.units == "lsoa"
gkey = (common.root_key(), tuple(sorted(g.ward_to_neighbourhood.items())), tuple(sorted(g.lsoa_to_neighbourhood.items())), level)
pbase = place.population_base if by_lsoa else base  # Census 2021 age bands reach a mid-2015 place's LSOAs only through wards
if by_lsoa:
    on = f", on {population_label(place, pbase)} (Census 2021 age bands reach these LSOAs only through wards)" if pbase != base else ""
    st.info(f"{common.esc(g.name or 'The working grouping')} is built from LSOAs ({len(g.lsoa_to_neighbourhood)} assigned away from their "
            f"ward): its profile is counted on its LSOAs{on}. Registered patients by age, health need, assets and the profile pack are "
            "counted by ward, so they are not shown for it.", icon=":material/grid_on:")  # fmt: skip
pr = _profile(ug, gkey, pbase)
row = pr[(pr["level"] == "neighbourhood") & (pr["name"] == nb)].iloc[0]
fig = common.figures(g)
flows = fig["flows"]
label = pr.attrs["population_label"]

if by_lsoa:
    pop = common.lsoa_residents().groupby(common.lsoa_labels(g)).sum().reindex(g.neighbourhoods)
else:
    pop = ward_population(place, base).groupby(g.wards).sum().reindex(g.neighbourhoods)
out_band = pop[~pop.between(BAND_MIN, BAND_MAX)]
band_label = population_label(place, base)
(st.success if out_band.empty else st.warning)(
    f"Population band {BAND_MIN:,}–{BAND_MAX:,} ({band_label}): "
    + ("every neighbourhood in the band" if out_band.empty else "outside: " + "; ".join(f"{common.esc(n)} {v:,.0f}" for n, v in out_band.items()))
)  # fmt: skip
old = "share_65_plus" if base == "census2021" else "share_60_plus"
m = st.columns(5)
old = "share_65_plus" if pbase == "census2021" else "share_60_plus"
m[0].metric(f"Residents ({'Census 2021' if pbase == 'census2021' else 'mid-2015'})", f"{row['population']:,.0f}")
m[1].metric("Aged 65+" if pbase == "census2021" else "Aged 60+", f"{row[old]:.0%}")
m[2].metric("IMD mean decile", f"{row['imd_mean_decile']:.1f}" if pd.notna(row.get("imd_mean_decile")) else "n/a")
m[3].metric("Practices", f"{row.get('practices', 0):.0f}")
if flows is not None and level == "neighbourhood":
    m[4].metric("Resident containment (Jul 2022)", f"{flows.neighbourhoods.loc[nb, 'resident_containment']:.1%}")

hubs = st.session_state.get("hubs", [])
sites = common.access("walk", g).sites if hubs else None
indicators = ["imd"] + (hb.conditions if hb is not None else [])
ind = st.selectbox("Shade LSOAs by", indicators, key="profile_indicator",
                   format_func=lambda k: "IMD 2019 decile" if k == "imd" else f"modelled {k} prevalence of residents (QOF 2022-23)")  # fmt: skip
left, right = st.columns([3, 2])
with left:
    t1, t2 = st.tabs([level.capitalize(), "City"])
    with t1:
        series = None
        if ind != "imd":
            k = hb.conditions.index(ind)
            series = pd.Series(100 * hb.lsoa_register[:, k] / hb.lsoa_list[:, k], index=place.lsoas.index)
        wards_in = list(row["wards"])
        lsoas_in = list(row["lsoa_codes"]) if by_lsoa else None
        st.iframe(standalone_html(profile_map(place, g, nb, wards=wards_in, indicator=series, indicator_label=f"modelled {ind} prevalence, %",
                                              asset_labels=ASSET_TYPES, hubs=hubs, sites=sites, lsoas=lsoas_in)), height=600)  # fmt: skip
    with t2:
        st.iframe(standalone_html(place_map(place, g, _profile(g, gkey[:3] + ("neighbourhood",), pbase), offline=True)), height=600)
with right:
    st.subheader("Age structure")
    bands = [c for c in pr.columns if c.startswith("age_") and c not in ("age_16_64",)]
    st.bar_chart(pd.DataFrame({label: [row[b] for b in bands]}, index=[b.removeprefix("age_").replace("_", "–") for b in bands]))
    if flows is not None and level == "neighbourhood":
        mtx = flows.matrix
        st.subheader("Who crosses (July 2022)")
        st.dataframe(pd.DataFrame({"residents registered there": mtx.loc[nb].drop(nb),
                                   "its practices' patients from there": mtx[nb].drop(nb, errors="ignore")})
                     .sort_values("residents registered there", ascending=False).head(8), width="stretch")  # fmt: skip

if by_lsoa:
    st.subheader(f"All {level}s")
    st.dataframe(pr.drop(columns=["wards", "practice_codes", "lsoa_codes"], errors="ignore").round(3), hide_index=True, width="stretch")
    st.caption(f"Residents: {label}. Each LSOA in the neighbourhood the plan puts it in; practices by the LSOA of their premises. "
               + pr.attrs.get("note", ""))  # fmt: skip
    st.stop()
st.subheader("Residents and registered patients")
pt = population_table(place, ug)
st.dataframe(pt[pt["level"] != "locality"] if level == "neighbourhood" else pt[pt["level"] != "neighbourhood"], hide_index=True,
             width="stretch", column_config={k: st.column_config.NumberColumn(help=v) for k, v in POPULATION_COLUMNS.items()})  # fmt: skip
st.caption(" · ".join(f"**{k}**: {v}" for k, v in POPULATION_COLUMNS.items()))

st.subheader("Health need (QOF 2022-23)")
if hb is None:
    st.info("This place has no QOF layer: add [layers.qof] to its manifest to see health need.")
else:
    ht = health_table(place, g, base=hb)
    view = st.radio("View", ["registered", "resident"], horizontal=True, key="health_view",
                    format_func=lambda v: "registered (its practices)" if v == "registered" else "resident (modelled, its residents)")  # fmt: skip
    f = prevalence_dot_chart(ht, nb, conditions=MAIN_CONDITIONS, view=view, level=level, demo=place.demo)
    st.pyplot(f)
    pyplot().close(f)
    mine = ht[(ht["level"] == level) & (ht["name"] == nb)].drop(columns=["level", "name", "locality", "list_type"])
    st.dataframe(mine.round(3), hide_index=True, width="stretch")
    st.caption(ht.attrs["assumption"] + " " + " ".join(ht.attrs["notes"]))
    cond = st.selectbox("Condition across the neighbourhoods", hb.conditions, index=hb.conditions.index("DM") if "DM" in hb.conditions else 0,
                        key="health_condition")  # fmt: skip
    f = condition_small_multiples(health_by_imd_units(hb, g), ht, cond, demo=place.demo)
    st.pyplot(f)
    pyplot().close(f)

st.subheader("Community assets")
if len(place.assets_in_place):
    at = asset_table(place, ug, population=base)
    mine = at[(at["level"] == "neighbourhood") & (at["name"] == nb)][["asset_label", "count", "per_10k"]]
    st.dataframe(mine.round(2), hide_index=True, width="stretch")
    st.caption(f"Per 10,000 {at.attrs['population_label']}. Sources: " + "; ".join(f"{k}: {v}" for k, v in at.attrs["sources"].items()))
    st.dataframe(asset_disparity(asset_table(place, g, population=base)).round(2), width="stretch")
else:
    st.info("This place has no community asset or estates site layer.")

st.subheader("Profile pack")
st.caption("HTML (readable on a phone) and PDF (A4, the scenario's name and the date on every page), from the same content.")
if st.button("Make the profile pack", key="make_pack"):
    with st.spinner("Building the pack…"):
        pack = build_pack(place, g, nb, level=level, population=base, indicator=ind, hubs=hubs, sites=sites, hbase=hb,
                          flow_base=common.static()["flow_base"], scenario=st.session_state.get("scenario_name") or g.name,
                          access={m: common.access(m, g) for m in ("walk", "drive")} if hubs else None)  # fmt: skip
        st.session_state.pack = {"key": (gkey, nb, base, ind), "html": pack_html(pack), "name": nb}
        try:
            st.session_state.pack["pdf"] = pack_pdf(pack)
        except PdfUnavailableError as exc:
            st.session_state.pack["pdf_error"] = str(exc)
made = st.session_state.get("pack")
if made and made["key"] == (gkey, nb, base, ind):
    st.download_button("Profile pack (HTML)", made["html"], file_name=pack_filename(nb, ".html"), mime="text/html", key="dl_profile_html")
    if "pdf" in made:
        st.download_button("Profile pack (PDF)", made["pdf"], file_name=pack_filename(nb, ".pdf"), mime="application/pdf", key="dl_profile_pdf")
    else:
        st.error(made.get("pdf_error", "PDF not available"))

st.subheader(f"All {level}s")
st.dataframe(pr.drop(columns=["wards", "practice_codes"], errors="ignore").round(3), hide_index=True, width="stretch")
st.caption(f"Residents: {label}. " + pr.attrs.get("note", ""))
