"""Flow benchmarks, each beside a plain pandas computation of the same figures (equal figures asserted).

1. Manchester: one ward move, then one practice move; every figure recomputed (both
   containment measures with their counts, team size on both bases, min and mean).
   Target < 1 ms.
2. Synthetic cities of 300 and 3,000 wards (practices and registrations with Manchester's
   sparsity); the same. Target < 50 ms at 3,000.
3. England: resident and list containment of every PCN from the 866k-row file (practices
   to PCNs from the PCN map, LSOAs to the PCN holding most of their patients), against a
   pandas groupby version; peak memory of each, measured in a fresh process.

Run: PLACEKIT_DATA=../shared/data .venv/bin/python benchmarks/bench_flows.py [--quick: 1 and the 300-ward city only]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from boundaries.flows import area_containment, compute_flows, flow_base, flow_base_from_place  # noqa: E402
from boundaries.grouping import Grouping, baseline_grouping  # noqa: E402
from boundaries.membership import practice_neighbourhoods  # noqa: E402
from geo.place import load_place  # noqa: E402

FIGURES = ["contained", "residents_registered", "registered_list", "population", "resident_containment", "list_containment"]


def timeit(fn, repeat: int) -> float:
    """Return the median of `repeat` runs of `fn`, in ms."""
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)


def every_figure(base, grouping) -> dict:
    """Every figure of a grouping from the engine: both measures with counts, both bases, min and mean, in-band flags."""
    f = compute_flows(base, grouping)
    contained, residents, lists = f.counts
    out = {"units": f.units, "contained": contained, "residents_registered": residents, "registered_list": lists,
           "population": f.population, "resident_containment": f.measure("resident_containment"), "list_containment": f.measure("list_containment")}  # fmt: skip
    out |= {f"{k}_{m}": getattr(f, k)(m) for k in ("minimum", "mean") for m in ("resident_containment", "list_containment")}
    out["in_band"] = (f.population >= 30_000) & (f.population <= 50_000), (lists >= 30_000) & (lists <= 50_000)
    return out


def pandas_figures(
    reg: pd.DataFrame, lsoa_ward: pd.Series, practice_ward: pd.Series, ward_pop: pd.Series, grouping: Grouping
) -> pd.DataFrame:
    """What an analyst would write: map LSOAs and practices to neighbourhoods, then groupby sums."""
    home = practice_ward.map(grouping.ward_to_neighbourhood)
    home = home.where(~home.index.isin(list(grouping.practice_to_neighbourhood)), pd.Series(grouping.practice_to_neighbourhood))
    df = pd.DataFrame({"res": reg["lsoa_code"].map(lsoa_ward).map(grouping.ward_to_neighbourhood), "prac": reg["practice_code"].map(home),
                       "patients": reg["patients"]})  # fmt: skip
    residents = df.groupby("res")["patients"].sum()
    lists = df.groupby("prac")["patients"].sum()
    contained = df[df["res"] == df["prac"]].groupby("res")["patients"].sum()
    out = pd.DataFrame({"contained": contained, "residents_registered": residents, "registered_list": lists}).reindex(
        grouping.neighbourhoods
    )
    out["population"] = ward_pop.groupby(grouping.wards).sum()
    out["resident_containment"] = out["contained"] / out["residents_registered"]
    out["list_containment"] = out["contained"] / out["registered_list"]
    return out


def check_equal(ours: dict, theirs: pd.DataFrame) -> bool:
    """Assert the engine and pandas agree on every per-neighbourhood figure; return True."""
    theirs = theirs.reindex(ours["units"]).fillna(0)
    for col in FIGURES:
        assert np.allclose(np.nan_to_num(ours[col]), theirs[col].to_numpy(dtype=float)), col
    return True


def run_moves(
    label: str, base, reg, lsoa_ward, practice_ward, ward_pop, g: Grouping, ward: str, dst: str, practice: str, repeat: int
) -> None:
    """Time one ward move and one practice move against pandas; assert equal figures."""
    print(f"\n{label}: {len(base.wards):,} wards, {len(g.neighbourhoods):,} neighbourhoods, {int(base.in_place.sum()):,} practices, "
          f"{len(reg):,} registration rows collapsed once to {len(base.row):,} (residence x practice) entries")  # fmt: skip
    for kind, moved in (("one ward move", lambda: g.move(ward, dst)), ("one practice move", lambda: g.assign_practices([practice], dst))):
        ours = timeit(lambda moved=moved: every_figure(base, moved()), repeat)
        frame = timeit(lambda moved=moved: compute_flows(base, moved()).neighbourhoods, max(5, repeat // 10))
        theirs = timeit(lambda moved=moved: pandas_figures(reg, lsoa_ward, practice_ward, ward_pop, moved()), max(3, repeat // 50))
        same = check_equal(every_figure(base, moved()), pandas_figures(reg, lsoa_ward, practice_ward, ward_pop, moved()))
        print(f"   {kind:18s} placekit {ours:8.3f} ms (with the per-neighbourhood frame {frame:7.2f} ms) | pandas groupby {theirs:8.2f} ms "
              f"| x{theirs / ours:,.0f} | equal figures: {same}")  # fmt: skip


def manchester(root: str) -> None:
    place = load_place(root, with_sites=False)
    g = baseline_grouping(place)
    base = flow_base_from_place(place)
    pw = place.practices_in_place["ward_code"]
    ward = place.wards.index[place.wards["name"] == "Northenden"][0]
    dst = "Wythenshawe (Baguley, Sharston, Woodhouse Park)"
    teams = practice_neighbourhoods(base, g).dropna()
    practice = teams.index[teams != dst][0]
    run_moves("1. Manchester (target < 1 ms)", base, place.registrations, place.lsoa_ward_code, pw, place.ward_population, g, ward, dst,
              practice, 500)  # fmt: skip


def synthetic_city(n_wards: int, seed: int = 0):
    """A grid city: 6 LSOAs and ~2.6 practices per ward (as Manchester); each LSOA registers with its ~15 nearest practices."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_wards)))
    wards = pd.Index([f"W{i:05d}" for i in range(n_wards)])
    wxy = np.c_[np.arange(n_wards) % side, np.arange(n_wards) // side].astype(float)
    lsoa_w = np.repeat(np.arange(n_wards), 6)
    lxy = wxy[lsoa_w] + rng.uniform(-0.5, 0.5, (len(lsoa_w), 2))
    n_p = int(n_wards * 2.6)
    p_w = rng.integers(0, n_wards, n_p)
    pxy = wxy[p_w] + rng.uniform(-0.5, 0.5, (n_p, 2))
    lsoas = pd.Index([f"E01{i:06d}" for i in range(len(lsoa_w))])
    practices = pd.Index([f"P{i:05d}" for i in range(n_p)])
    k = 15
    rows = []
    for i0 in range(0, len(lsoa_w), 2000):  # nearest practices, block by block
        d = np.hypot(*(lxy[i0 : i0 + 2000, None, :] - pxy[None, :, :]).transpose(2, 0, 1))
        near = np.argpartition(d, k, axis=1)[:, :k]
        w = 1 / (0.3 + np.take_along_axis(d, near, axis=1)) ** 2
        pts = rng.multinomial(1700, w / w.sum(axis=1, keepdims=True))
        for j in range(near.shape[0]):
            keep = pts[j] > 0
            rows.append(pd.DataFrame({"practice_code": practices[near[j, keep]], "lsoa_code": lsoas[i0 + j], "patients": pts[j, keep]}))
    out_rows = pd.DataFrame({"practice_code": practices, "lsoa_code": "E01999999", "patients": rng.integers(50, 900, n_p)})
    reg = pd.concat([*rows, out_rows], ignore_index=True)
    lsoa_ward = pd.Series(wards[lsoa_w], index=lsoas)
    practice_ward = pd.Series(wards[p_w], index=practices)
    ward_pop = pd.Series(rng.integers(9_000, 20_000, n_wards), index=wards)
    g = Grouping({w: f"N{i // 3:04d}" for i, w in enumerate(wards)}, {f"N{i // 3:04d}": f"L{i // 300}" for i in range(n_wards)})
    return reg, lsoa_ward, practice_ward, ward_pop, g


def synthetic(n_wards: int) -> None:
    reg, lsoa_ward, practice_ward, ward_pop, g = synthetic_city(n_wards)
    base = flow_base(reg, lsoa_ward, practice_ward, wards=pd.Index(g.ward_to_neighbourhood), ward_population=ward_pop)
    ward = list(g.ward_to_neighbourhood)[4]
    run_moves(f"2. Synthetic city, {n_wards:,} wards (target < 50 ms at 3,000)", base, reg, lsoa_ward, practice_ward, ward_pop, g, ward,
              g.neighbourhoods[0], practice_ward.index[-1], 50 if n_wards > 1000 else 200)  # fmt: skip


# --------------------------------------------------------------------------- England
def _england(root: str):
    data = Path(root)
    eng = pd.read_parquet(
        data / "gp-registrations-lsoa/gp-reg-pat-prac-lsoa_2022-07_england.parquet", columns=["OrganisationCode", "LSOA11CD", "Patient"]
    )
    eng.columns = ["practice_code", "lsoa_code", "patients"]
    pcn = pd.read_csv(data / "gp-practice-pcn-map/gp-reg-pat-prac-map_2022-01_england.csv", usecols=["PRACTICE_CODE", "PCN_CODE"])
    return eng, pd.Series(pcn["PCN_CODE"].to_numpy(), index=pcn["PRACTICE_CODE"].to_numpy())


def pandas_pcn(eng: pd.DataFrame, practice_pcn: pd.Series) -> pd.DataFrame:
    """PCN containment with pandas: groupby LSOA × PCN, each LSOA to its largest PCN (ties: first PCN in the file), groupby sums."""
    df = eng.assign(pcn=eng["practice_code"].map(practice_pcn))
    order = pd.Series(np.arange(df["pcn"].nunique()), index=pd.unique(df["pcn"].dropna()))
    by = df.dropna(subset=["pcn"]).groupby(["lsoa_code", "pcn"], sort=False)["patients"].sum().reset_index()
    by = by[~by["lsoa_code"].str.startswith("NO")]
    by["order"] = by["pcn"].map(order)
    home = (
        by.sort_values(["lsoa_code", "patients", "order"], ascending=[True, False, True])
        .drop_duplicates("lsoa_code")
        .set_index("lsoa_code")["pcn"]
    )
    df["home"] = df["lsoa_code"].map(home)
    out = pd.DataFrame({"residents_registered": df.groupby("home")["patients"].sum(), "registered_list": df.groupby("pcn")["patients"].sum(),
                        "contained": df[df["home"] == df["pcn"]].groupby("pcn")["patients"].sum()}).fillna(0)  # fmt: skip
    out["resident_containment"] = out["contained"] / out["residents_registered"]
    out["list_containment"] = out["contained"] / out["registered_list"]
    return out


def _status_kb(key: str) -> int:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(key))
    return int(line.split()[1])


def _memory(root: str, which: str) -> None:
    """In a fresh process: peak resident memory added by one run of `which` once the inputs are loaded (MB).

    Linux: writing 5 to /proc/self/clear_refs resets the peak (VmHWM) to the current size,
    so loading the parquet file does not count.
    """
    eng, practice_pcn = _england(root)
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_kb("VmRSS:")
    (area_containment if which == "placekit" else pandas_pcn)(eng, practice_pcn)
    print((_status_kb("VmHWM:") - before) / 1024)


def england(root: str) -> None:
    eng, practice_pcn = _england(root)
    print(f"\n3. England: {len(eng):,} rows, {eng['practice_code'].nunique():,} practices, {practice_pcn.nunique():,} PCNs in the map")
    t_ours = timeit(lambda: area_containment(eng, practice_pcn), 5)
    t_pd = timeit(lambda: pandas_pcn(eng, practice_pcn), 3)
    a, b = area_containment(eng, practice_pcn), pandas_pcn(eng, practice_pcn).reindex(area_containment(eng, practice_pcn).index).fillna(0)
    cols = ["residents_registered", "registered_list", "contained"]
    same = bool(np.array_equal(a[cols].to_numpy(), b[cols].to_numpy(dtype=np.int64)))
    mem = {w: float(subprocess.run([sys.executable, __file__, "--memory", w], capture_output=True, text=True, env=os.environ, check=True).stdout)
           for w in ("placekit", "pandas")}  # fmt: skip
    for name, t in (("placekit (factorise, sparse LSOA x PCN, row argmax, bincount)", t_ours), ("pandas groupby", t_pd)):
        print(f"   {name:52s}: median {t:7.1f} ms, peak memory added {mem[name.split()[0]]:6.0f} MB")
    print(f"   {len(a):,} PCNs; x{t_pd / t_ours:.1f} faster; equal figures: {same}; median resident containment {a['resident_containment'].median():.1%}, "
          f"list containment {a['list_containment'].median():.1%}; patients at practices with no PCN: {a.attrs['unmapped_practice_patients']:,}")  # fmt: skip
    assert same


def main() -> None:
    root = os.environ.get("PLACEKIT_DATA")
    if not root:
        sys.exit("set PLACEKIT_DATA to the data root")
    if len(sys.argv) == 3 and sys.argv[1] == "--memory":
        _memory(root, sys.argv[2])
        return
    quick = "--quick" in sys.argv[1:]  # Manchester and the 300-ward city only (the test suite runs this)
    manchester(root)
    for n in (300,) if quick else (300, 3000):
        synthetic(n)
    if not quick:
        england(root)


if __name__ == "__main__":
    main()
