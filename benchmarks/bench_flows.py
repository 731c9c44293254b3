"""Flow benchmarks, each beside the straightforward pandas merge + pivot_table approach.

1. Manchester: recompute every flow metric after one ward moves (target < 20 ms).
2. England: aggregate the national practice × LSOA file (866k rows) to local authority of
   residence × sub-ICB/CCG of practice (target < 2 s), with peak memory.

Run: PLACEKIT_DATA=../shared/data python benchmarks/bench_flows.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from boundaries.flows import aggregate_registrations, compute_flows, flow_base_from_place  # noqa: E402
from boundaries.grouping import baseline_grouping  # noqa: E402
from geo.place import load_place  # noqa: E402


def timeit(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def pandas_flows(reg, lsoa_ward, practice_ward, grouping):
    """What an analyst would write: merge, map, pivot_table, then the same summaries."""
    df = reg.merge(lsoa_ward.rename("res_ward"), left_on="lsoa_code", right_index=True, how="left")
    df = df.merge(practice_ward.rename("prac_ward"), left_on="practice_code", right_index=True, how="left")
    df = df[df["res_ward"].notna() | df["prac_ward"].notna()]
    df["res_nb"] = df["res_ward"].map(grouping.ward_to_neighbourhood).fillna("outside")
    df["prac_nb"] = df["prac_ward"].map(grouping.ward_to_neighbourhood).fillna("outside")
    m = df.pivot_table(index="res_nb", columns="prac_nb", values="patients", aggfunc="sum", fill_value=0)
    nbs = grouping.neighbourhoods
    residents = m.loc[nbs].sum(axis=1)
    diag = pd.Series({n: m.at[n, n] for n in nbs})
    registered = m[nbs].sum(axis=0)
    summary = pd.DataFrame({"residents": residents, "sc": diag / residents, "share": diag / registered})
    loc = pd.Series(grouping.neighbourhood_to_locality)
    table = {l: m.loc[loc.index[loc == l], loc.index[loc == l]].to_numpy().sum() for l in set(loc)}
    return m, summary, table


def main() -> None:
    root = os.environ.get("PLACEKIT_DATA")
    if not root:
        sys.exit("set PLACEKIT_DATA to the data root")
    place = load_place(root, with_sites=False)
    g = baseline_grouping(place)
    base = flow_base_from_place(place)
    moves = [(w, n) for w in list(place.wards.index)[:8] for n in g.neighbourhoods[:2] if g.ward_to_neighbourhood[w] != n]
    ours = timeit(lambda: [compute_flows(base, g.move(w, n)) for w, n in moves[:1]], 60)
    lw = place.lsoa_to_ward()
    pw = base.practice_ward.dropna()
    theirs = timeit(lambda: pandas_flows(place.registrations, lw, pw, g.move(*moves[0])), 20)
    f = compute_flows(base, g.move(*moves[0]))
    m, s, _ = pandas_flows(place.registrations, lw, pw, g.move(*moves[0]))
    agree = np.allclose(f.neighbourhoods["self_containment"].to_numpy(), s.loc[f.neighbourhoods.index, "sc"].to_numpy())
    print("1. Manchester, one ward moved, every flow metric recomputed")
    print(
        f"   placekit (precomputed ward x practice base)   : median {statistics.median(ours):6.2f} ms   target < 20 ms: "
        f"{'met' if statistics.median(ours) < 20 else 'MISSED'}"
    )
    print(f"   pandas merge + pivot_table on 60,914 rows       : median {statistics.median(theirs):6.2f} ms")
    print(f"   same self-containment figures: {agree}; speed-up x{statistics.median(theirs) / statistics.median(ours):.0f}")

    data = Path(root)
    t = time.perf_counter()
    eng = pd.read_parquet(data / "gp-registrations-lsoa/gp-reg-pat-prac-lsoa_2022-07_england.parquet")
    eng = eng.rename(columns={"OrganisationCode": "practice_code", "LSOA11CD": "lsoa_code", "Patient": "patients"})
    imd = pd.read_csv(data / "imd2019-and-population-lsoa/File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz", usecols=[0, 2])
    lsoa_la = pd.Series(imd.iloc[:, 1].to_numpy(), index=imd.iloc[:, 0].to_numpy())
    pcn = pd.read_csv(data / "gp-practice-pcn-map/gp-reg-pat-prac-map_2022-01_england.csv", usecols=["PRACTICE_CODE", "CCG_CODE"])
    prac_ccg = pd.Series(pcn["CCG_CODE"].to_numpy(), index=pcn["PRACTICE_CODE"].to_numpy())
    read_s = time.perf_counter() - t
    print(
        f"\n2. England: {len(eng):,} rows, {eng.practice_code.nunique():,} practices, {eng.lsoa_code.nunique():,} LSOAs "
        f"(read in {read_s:.2f} s)"
    )

    def ours_eng():
        return aggregate_registrations(eng, lsoa_la, prac_ccg)

    def pandas_eng():
        df = eng.merge(lsoa_la.rename("la"), left_on="lsoa_code", right_index=True, how="left")
        df = df.merge(prac_ccg.rename("ccg"), left_on="practice_code", right_index=True, how="left")
        df["la"] = df["la"].fillna("unmapped")
        df["ccg"] = df["ccg"].fillna("unmapped")
        return df.pivot_table(index="la", columns="ccg", values="patients", aggfunc="sum", fill_value=0)

    t_ours = timeit(ours_eng, 5)
    t_pd = timeit(pandas_eng, 3)
    a, b = ours_eng(), pandas_eng()
    same = a.sum().sum() == b.to_numpy().sum() == eng["patients"].sum()
    for fn, name in ((ours_eng, "placekit"), (pandas_eng, "pandas")):
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        print(f"   {name:9s}: median {statistics.median(t_ours if name == 'placekit' else t_pd):7.1f} ms, peak allocation {peak:6.1f} MB")
    print(
        f"   {a.shape[0]} LAs x {a.shape[1]} CCGs; totals equal to the file's {eng['patients'].sum():,} patients: {same}; "
        f"unmapped {a.attrs['unmapped']}"
    )
    print(f"   target < 2 s: {'met' if statistics.median(t_ours) < 2000 else 'MISSED'}")


if __name__ == "__main__":
    main()
