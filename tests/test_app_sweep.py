"""Every page of the app under inputs a person can give: a damaged scenario store, plans of 1, 11, 13, 14 and 15
neighbourhoods, names with HTML and spreadsheet-formula characters. No exception, traceback or guard message may reach a page.

One AppTest per case visits every page in turn (``switch_page``), so a case costs one session, not one per page;
``-s`` prints each case's time per page. The plans are built from Manchester's real wards with Census 2021 residents
(``tests/ward_plans.py``): connected, and inside 30,000–50,000 for 13–15 (11 cannot all be under 50,000).
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from boundaries.grouping import Grouping, baseline_grouping, ward_adjacency
from boundaries.profiles import ward_population
from boundaries.store import ScenarioStore
from tests.ward_plans import contiguous_plan, plan_grouping

APP = str(Path(__file__).resolve().parent.parent / "app.py")
#: (page file, its title); the first is the page a session opens on.
PAGES = [("map_profiles", "Map and profiles"), ("redraw", "Redraw neighbourhoods"), ("flows", "Cross-boundary flows"),
         ("hospitals", "Hospital catchments"), ("hubs", "Hubs and coverage"), ("compare", "Compare scenarios"),
         ("data_status", "Data status")]  # fmt: skip
STORE_PAGES = {"redraw", "hubs", "compare", "data_status"}
STORE_CASES = ("store not SQLite", "store truncated", "store row with bad JSON")
PLAN_CASES = ("11 neighbourhoods", "13 neighbourhoods", "14 neighbourhoods", "15 neighbourhoods", "1 neighbourhood", "HTML and formula names")
TIMES: dict[str, dict[str, float]] = {}
HTML_NAME = '<b>North</b> & <img src=x onerror=alert(1)> "q"'
FORMULA_NAME = '=HYPERLINK("http://x.example","click") +1'


@pytest.fixture(scope="module")
def plans(real_place) -> dict[str, Grouping]:
    """The groupings of the plan cases, from the real wards."""
    base = baseline_grouping(real_place)
    adj, pop, names = ward_adjacency(real_place.wards), ward_population(real_place, "census2021"), real_place.wards["name"].to_dict()
    out = {}
    for k in (11, 13, 14, 15):
        band = (30_000, 60_000) if k == 11 else (30_000, 50_000)  # 11 neighbourhoods average 50,172 residents
        out[f"{k} neighbourhoods"] = plan_grouping(contiguous_plan(adj, pop, k, band=band), base, names=names, name=f"Plan of {k}")
    out["1 neighbourhood"] = Grouping(dict.fromkeys(real_place.wards.index, "Whole city"), {"Whole city": "City"}, name="One team")
    odd = {n: (HTML_NAME if i == 0 else FORMULA_NAME if i == 1 else f"{n} <i>{i}</i> @SUM(A1) -{i}") for i, n in enumerate(base.neighbourhoods)}
    locs = {loc: f'<script>alert("{loc}")</script> ={loc}' for loc in base.localities}
    out["HTML and formula names"] = Grouping({w: odd[n] for w, n in base.ward_to_neighbourhood.items()},
                                             {odd[n]: locs[loc] for n, loc in base.neighbourhood_to_locality.items()},
                                             name='<i>odd</i> =1+1')  # fmt: skip
    return out


def _prepare(case: str, home: Path, plans: dict, place_label: str) -> dict:
    """Make the case's scenario store in `home`; return the query parameters that open the case's plan."""
    path = home / "scenarios.sqlite"
    if case == "store not SQLite":
        path.write_bytes(b"placekit scenarios, but not a database\n" * 200)
    elif case == "store truncated":
        st = ScenarioStore(path)
        for i in range(20):
            st.save(f"S{i}", plans["13 neighbourhoods"].renamed(f"S{i}"), place=place_label, note="x" * 1500)
        with closing(sqlite3.connect(path)) as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.execute("PRAGMA journal_mode=DELETE")
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # a half-written copy (a full disk, a bad sync)
    elif case == "store row with bad JSON":
        ScenarioStore(path).save("Good", plans["13 neighbourhoods"], place=place_label, hubs=["nowhere"])
        with closing(sqlite3.connect(path)) as con:
            con.execute("INSERT INTO scenarios (name, place, grouping_json, hubs_json, note, saved_at, created_at) "
                        "VALUES ('Broken', ?, '{\"neighbourhoods\": {', '[]', '', '2024-01-01T00:00:00+00:00', '')", (place_label,))  # fmt: skip
            con.commit()
        return {"scenario": "Broken"}  # a link to the damaged row: reported, the baseline shown
    else:
        name = f"{case} <b>&</b> =1"
        ScenarioStore(path).save(name, plans[case], place=place_label)
        return {"scenario": name}
    return {}


def _texts(at: AppTest) -> list[str]:
    kinds = (at.error, at.warning, at.info, at.success, at.caption, at.markdown, at.text, at.code, at.exception)
    return [str(getattr(e, "value", "")) for kind in kinds for e in kind]


def _check_page(at: AppTest, case: str, page: str, title: str) -> None:
    where = f"{case}, {page}"
    assert not at.exception, (where, [e.value for e in at.exception])
    assert not [t for t in _texts(at) if "Traceback (most recent call last)" in t], where
    assert not [e.value for e in at.error if " stopped" in e.value], (where, [e.value for e in at.error])  # no guard message either
    assert [t.value for t in at.title] == [title], (where, [t.value for t in at.title])
    panel = [e.value for e in at.error if "scenario store cannot be used" in e.value]
    damaged = case in STORE_CASES[:2]
    assert bool(panel) == (damaged and page in STORE_PAGES), (where, panel)  # one panel where the store is needed, none elsewhere
    if damaged and page in STORE_PAGES:
        assert len(panel) == 1 and "Nothing was changed" in panel[0], (where, panel)


def _case_checks(at: AppTest, case: str, page: str, plans: dict) -> None:
    """What each case must show beyond opening: the plan is the working one, p and colours follow it, names stay text."""
    ss = at.session_state
    if case in plans:
        g = plans[case]
        assert ss["grouping"].ward_to_neighbourhood == g.ward_to_neighbourhood, case
        colours = [ss["nb_colours"][n] for n in g.neighbourhoods] if "nb_colours" in ss else []
        assert len(set(colours)) == len(colours), (case, colours)  # a colour each
    if page == "hubs" and case in plans:
        assert at.number_input(key="site_p").value == len(plans[case].neighbourhoods), case
    if page == "redraw" and case == "HTML and formula names":
        table = next(h.proto.body for h in at.html if "nbt" in h.proto.body)
        assert "<script>" not in table and "<img" not in table and "&lt;img src=x" in table, table[:500]
    if page == "compare" and case in plans:  # the baseline (12 neighbourhoods) against the working plan
        assert any(s.value.startswith("Measures and deltas") for s in at.subheader), case
    if case == "store row with bad JSON" and page == "redraw":
        assert any("Broken" in w.value and "cannot be read" in w.value for w in at.warning), [w.value for w in at.warning]
    if case == "store row with bad JSON" and page == "map_profiles":
        assert any("Broken" in e.value and "damaged" in e.value for e in at.error), [e.value for e in at.error]


@pytest.mark.realdata
@pytest.mark.parametrize("case", STORE_CASES + PLAN_CASES)
def test_every_page_opens(case, plans, real_place, tmp_path, monkeypatch):
    monkeypatch.setenv("PLACEKIT_HOME", str(tmp_path))
    store = tmp_path / "scenarios.sqlite"
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params.update(_prepare(case, tmp_path, plans, real_place.label))
    before = store.read_bytes() if case in STORE_CASES[:2] else None
    times = TIMES.setdefault(case, {})
    for i, (page, title) in enumerate(PAGES):
        t0 = time.perf_counter()
        (at.run() if i == 0 else at.switch_page(f"placekit/ui/pages/{page}.py").run())
        times[page] = time.perf_counter() - t0
        _check_page(at, case, page, title)
        _case_checks(at, case, page, plans)
    if before is not None:
        assert store.read_bytes() == before, "the damaged store was changed"
        assert any("Autosave is off" in c.value for c in at.sidebar.caption)
    if case == "13 neighbourhoods":  # back on Hubs after the other pages: p is still one per neighbourhood
        at.switch_page("placekit/ui/pages/hubs.py").run()
        assert at.number_input(key="site_p").value == 13 and not at.exception
    if case == "store not SQLite":
        _move_aside(at, store, before)
    if case == "store row with bad JSON":  # a store that opened is damaged while the app runs: the panel, with the offer
        store.write_bytes(b"overwritten by a bad sync " * 100)
        at.switch_page("placekit/ui/pages/data_status.py").run()
        assert any("scenario store cannot be used" in e.value for e in at.error) and any(b.key == "store_fix_data_status" for b in at.button)
        assert not at.exception, [e.value for e in at.exception]


def _move_aside(at: AppTest, store: Path, before: bytes) -> None:
    """On Data status: the offer, its confirmation (Cancel changes nothing), then the move; the file is kept, a new store works."""
    at.button(key="store_fix_data_status").click().run()
    assert any("nothing deleted or overwritten" in w.value for w in at.warning), [w.value for w in at.warning]
    at.button(key="store_cancel_data_status").click().run()
    assert store.read_bytes() == before and not any(b.key == "store_move_data_status" for b in at.button)
    at.button(key="store_fix_data_status").click().run()
    at.button(key="store_move_data_status").click().run()
    assert not at.exception, [e.value for e in at.exception]
    moved = [p for p in store.parent.iterdir() if p.name.startswith("scenarios.sqlite.damaged-")]
    assert len(moved) == 1 and moved[0].read_bytes() == before, moved  # kept, as it was
    assert any(moved[0].name in s.value and "new, empty scenario store" in s.value for s in at.success), [s.value for s in at.success]
    assert not any("scenario store cannot be used" in e.value for e in at.error)
    assert ScenarioStore(store).list().empty  # a fresh store
    at.switch_page("placekit/ui/pages/redraw.py").run()
    at.text_input(key="save_name").set_value("After the move").run()
    at.button(key="save").click().run()
    assert "After the move" in set(ScenarioStore(store).list()["name"]) and not at.exception


@pytest.fixture(scope="module", autouse=True)
def _report_times():
    yield
    if TIMES:
        lines = [f"{case:26s} " + " ".join(f"{p} {s:5.1f}" for p, s in t.items()) + f"  total {sum(t.values()):5.1f} s"
                 for case, t in TIMES.items()]  # fmt: skip
        print("\napp sweep, seconds per page (the first page includes the session's start):\n" + "\n".join(lines))
        print(f"sweep total: {sum(sum(t.values()) for t in TIMES.values()):.1f} s")
