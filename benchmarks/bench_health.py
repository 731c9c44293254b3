"""Health benchmarks, each beside the obvious pandas merge version measured in the same run.

1. Manchester: the health table (21 QOF conditions × 12 neighbourhoods, 3 localities and the
   city; registered and modelled resident views) after one ward moves (target < 20 ms).
2. One profile pack: gathered (map, charts, tables), written as HTML, printed to PDF.

Run: PLACEKIT_DATA=../shared/data python benchmarks/bench_health.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_flows import timeit  # noqa: E402  (this folder is on the path when the script runs)

from boundaries.flows import flow_base_from_place  # noqa: E402
from boundaries.grouping import baseline_grouping  # noqa: E402
from boundaries.health import health_base, health_table  # noqa: E402
from geo.place import load_place  # noqa: E402
from placekit.render.pack import build_pack, pack_html, pack_pdf  # noqa: E402


def pandas_health(place, grouping) -> pd.DataFrame:
    """What an analyst would write per grouping: melt QOF, merge registrations and lookups, group by unit and condition."""
    qof = place.qof
    bases = qof.attrs["bases"]
    long = pd.concat([pd.DataFrame({"practice_code": qof.index, "condition": c, "register": qof[f"register_{c}"].to_numpy(),
                                    "list_size": qof[f"list_{b}"].astype(float).to_numpy()}) for c, b in bases.items()])  # fmt: skip
    prac = place.practices_in_place[["ward_code"]].reset_index()
    prac["unit"] = prac["ward_code"].map(grouping.ward_to_neighbourhood)
    registered = prac.merge(long, on="practice_code").groupby(["unit", "condition"])[["register", "list_size"]].sum()
    reg = place.registrations
    total = reg.groupby("practice_code")["patients"].sum().rename("total").reset_index()
    total = total.merge(qof[["list_TOTAL"]].astype(float).reset_index(), on="practice_code", how="left")
    whole = total["practice_code"].isin(place.practices.index)
    total["denom"] = np.where(whole, total["total"], np.fmax(total["total"], total["list_TOTAL"].fillna(0)))
    local = reg[reg["lsoa_code"].isin(place.lsoas.index)].merge(total[["practice_code", "denom"]], on="practice_code")
    local["share"] = local["patients"] / local["denom"]
    local = local.merge(place.lsoa_ward_code.rename("ward_code").reset_index(), on="lsoa_code")
    local["unit"] = local["ward_code"].map(grouping.ward_to_neighbourhood)
    m = local.merge(long, on="practice_code")
    m["resident_register"] = m["share"] * m["register"]
    m["resident_list_size"] = m["share"] * m["list_size"]
    resident = m.groupby(["unit", "condition"])[["resident_register", "resident_list_size"]].sum()
    out = registered.join(resident, how="outer")
    out["prevalence"] = 100 * out["register"] / out["list_size"]
    out["resident_prevalence"] = 100 * out["resident_register"] / out["resident_list_size"]
    return out


def main() -> None:
    root = os.environ.get("PLACEKIT_DATA")
    if not root:
        sys.exit("set PLACEKIT_DATA to the data root")
    place = load_place(root)
    g0 = baseline_grouping(place)
    wards = sorted(g0.ward_to_neighbourhood)
    t = time.perf_counter()
    base = health_base(place)
    print(f"health base (once per place): {1000 * (time.perf_counter() - t):.0f} ms")
    moves = [g0.move(w, g0.neighbourhoods[(i + 1) % len(g0.neighbourhoods)]) for i, w in enumerate(wards[:10])]
    k = iter(range(10**6))
    ours = timeit(lambda: health_table(place, moves[next(k) % len(moves)], base=base), 40)
    k = iter(range(10**6))
    naive = timeit(lambda: pandas_health(place, moves[next(k) % len(moves)]), 10)
    a = health_table(place, moves[0], base=base)
    a = a[a["level"] == "neighbourhood"].astype({"name": str, "condition": str}).set_index(["name", "condition"])
    b = pandas_health(place, moves[0]).reindex(a.index)
    check = np.allclose(a["resident_register"], b["resident_register"]) and (a["register"] == b["register"]).all()
    # `timeit` returns the median of its runs, in ms.
    print(f"health table after one ward moved (21 conditions × 16 units, both views): placekit median {ours:.1f} ms "
          f"(target < 20: {'met' if ours < 20 else 'MISSED'}), pandas merge version median {naive:.1f} ms — {naive / ours:.0f}× "
          f"faster; same figures: {check}")  # fmt: skip
    fb = flow_base_from_place(place)
    name = g0.neighbourhoods[0]
    t0 = time.perf_counter()
    pack = build_pack(place, g0, name, flow_base=fb, hbase=base)
    t1 = time.perf_counter()
    page = pack_html(pack)
    t2 = time.perf_counter()
    pdf = pack_pdf(pack)
    t3 = time.perf_counter()
    print(f"profile pack of {name}: gathered {1000 * (t1 - t0):.0f} ms (map, 2 charts, tables), HTML {1000 * (t2 - t1):.0f} ms "
          f"({len(page) / 1e3:.0f} kB), PDF {1000 * (t3 - t2):.0f} ms ({len(pdf) / 1e3:.0f} kB); HTML total {1000 * (t2 - t0):.0f} ms, "
          f"PDF total {1000 * (t3 - t0):.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
