"""End to end in headless Chromium, network closed: a plan of 13 neighbourhoods (from Manchester's wards, in the
30,000–50,000 band on Census 2021) opened by ``?scenario=`` link, every page visited through the sidebar at 1366×768
and at 1920×1080, with a screenshot of each in ``out/``. No page may show an exception, a traceback or the guard's
message; the map, the hub count and the colours follow the 13 neighbourhoods."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from boundaries.grouping import baseline_grouping, ward_adjacency
from boundaries.profiles import ward_population
from boundaries.store import ScenarioStore
from tests import e2e_driver as d
from tests.test_e2e import ARGS, CHROMIUM, ROOT, _offline_context, server  # noqa: F401  (server is a fixture)
from tests.ward_plans import contiguous_plan, plan_grouping

PAGES = [("Map and profiles", "Map and profiles"), ("Redraw", "Redraw neighbourhoods"), ("Flows", "Cross-boundary flows"),
         ("Hospitals", "Hospital catchments"), ("Hubs and coverage", "Hubs and coverage"), ("Compare", "Compare scenarios"),
         ("Data status", "Data status")]  # fmt: skip
SIZES = [(1366, 768), (1920, 1080)]


def _settle(page, heading: str, *, quiet_ms: int = 1500) -> None:
    """Wait for the page's heading, then until no run is in progress and the page's text has not changed for `quiet_ms`."""
    page.get_by_role("heading", name=heading).first.wait_for(timeout=180_000)
    last, since = None, time.monotonic()
    while time.monotonic() - since < quiet_ms / 1000:
        page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=180_000)
        now = page.locator('[data-testid="stMain"]').inner_text()
        if now != last:
            last, since = now, time.monotonic()
        page.wait_for_timeout(250)


def _problems(page) -> list[str]:
    """Return what must never be on a page: exception elements, tracebacks, the guard's message."""
    out = [f"{page.locator('[data-testid=stException]').count()} exception element(s)"] if page.locator("[data-testid=stException]").count() else []
    text = page.locator('[data-testid="stMain"]').inner_text()
    out += [line for line in text.splitlines() if "Traceback (most recent call last)" in line or " stopped because of a bug" in line]
    return out


@pytest.mark.e2e
@pytest.mark.realdata
def test_a_plan_of_13_neighbourhoods_opens_on_every_page(server, real_place, tmp_path):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    base = baseline_grouping(real_place)
    plan = contiguous_plan(ward_adjacency(real_place.wards), ward_population(real_place, "census2021"), 13)
    g = plan_grouping(plan, base, names=real_place.wards["name"].to_dict(), name="Thirteen")
    ScenarioStore(tmp_path / "scenarios.sqlite").save("Thirteen", g, place=real_place.label)  # the server's home is tmp_path
    shots = ROOT / "out"
    shots.mkdir(exist_ok=True)
    blocked: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = _offline_context(browser, SIZES[0], blocked).new_page()
        page.goto(f"{server}/?scenario={quote('Thirteen')}")
        for w, h in SIZES:
            page.set_viewport_size({"width": w, "height": h})
            for k, (link, heading) in enumerate(PAGES):
                if k or (w, h) != SIZES[0]:
                    page.locator('[data-testid="stSidebarNavLink"]', has_text=link).first.click()
                _settle(page, heading)
                assert _problems(page) == [], (link, w, _problems(page))
                sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
                assert "Thirteen (saved scenario) — 13:3:1" in sidebar, sidebar
                if link == "Redraw":
                    d.install_helpers(page)
                    page.wait_for_function("pkMap() && pkMap().__pk && pkMap().querySelectorAll('text.label').length > 0", timeout=60_000)
                    nb = page.evaluate("() => pkMap().__pk.data.nb")
                    fills = page.evaluate("() => pkMap().__pk.data.fill")
                    assert len(set(nb.values())) == 13 and len({fills[w] for w in nb}) == 13  # 13 neighbourhoods, 13 colours
                if link == "Hubs and coverage":
                    expect(page.get_by_role("spinbutton", name="Hubs (p)")).to_have_value("13", timeout=60_000)  # one hub per neighbourhood
                page.screenshot(path=str(shots / f"e2e_plan13_{k + 1}_{link.split()[0].lower()}_{w}x{h}.png"), full_page=True)
        browser.close()
    print("requests refused (network closed):", sorted(set(blocked)))
