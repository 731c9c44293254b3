"""End to end in headless Chromium, network closed: 12 neighbourhoods built from Manchester's LSOAs on Census 2021 (which
whole wards cannot make), opened by ``?scenario=`` link. On Redraw the map is drawn from the LSOAs: an LSOA is clicked and
assigned on its own, the page's table and the map follow, Undo takes it back, and the map's Wards switch picks the ward an
LSOA is fitted to. Every page is then visited at 1366×768 and 1920×1080, with a screenshot of each in ``out/``."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from boundaries.baseline import place_baseline
from boundaries.design import design_plan
from boundaries.store import ScenarioStore
from tests import e2e_driver as d
from tests.test_e2e import ARGS, CHROMIUM, ROOT, _offline_context, server  # noqa: F401  (server is a fixture)
from tests.test_e2e_plans import PAGES, SIZES, _problems, _settle

NAME = "Twelve from LSOAs"


def _redraw_journey(page) -> None:
    """Click an LSOA, assign it to another neighbourhood, check the map and the page, undo; then pick a ward with the Wards switch."""
    d.install_helpers(page)
    page.wait_for_function("pkMap() && pkMap().__pk && pkMap().__pk.lmode && pkMap().querySelectorAll('text.label').length == 12",
                           timeout=60_000)  # fmt: skip
    assert page.locator("path.lsoa").count() == 282 and page.evaluate("() => pkMap().__pk.areaKind") == "lsoa"
    lnb = page.evaluate("() => pkMap().__pk.data.lnb")
    code = sorted(lnb)[40]
    assert d.click_lsoa(page, code) == code
    page.wait_for_function(f"(pkMap().dataset.selected || '') === '{code}'", timeout=10_000)
    d.idle(page, 600)
    target = next(n for n in sorted(set(lnb.values())) if n != lnb[code])
    d.choose(page, "Assign the selection to", target)
    before = page.evaluate(f"() => pkMap().__pk.lpaths['{code}'].style.fill")
    page.get_by_role("button", name="Assign", exact=True).click()
    page.wait_for_function(f"pkMap().__pk.lpaths['{code}'].style.fill !== {before!r}", timeout=20_000)
    d.idle(page, 1000)
    assert page.evaluate(f"() => pkMap().__pk.data.lnb['{code}']") == target
    assert page.get_by_text("Moved 1 LSOA(s) to").count() >= 1
    assert page.evaluate(f"() => pkMap().__pk.lpaths['{code}'].classList.contains('moved')")
    page.screenshot(path=str(ROOT / "out" / "e2e_lsoa_assigned_1366x768.png"))
    page.get_by_role("button", name="↶ Undo").click()
    page.wait_for_function(f"pkMap().__pk.data.lnb['{code}'] === {lnb[code]!r}", timeout=20_000)
    d.idle(page, 600)
    d.map_kind(page, "ward")
    d.click_lsoa(page, code)
    ward = page.evaluate(f"() => pkMap().__pk.data.lgeom.ward['{code}']")
    page.wait_for_function(f"(pkMap().dataset.selected || '') === '{ward}' && pkMap().dataset.kind === 'ward'", timeout=10_000)
    d.idle(page, 600)
    page.screenshot(path=str(ROOT / "out" / "e2e_lsoa_ward_selected_1366x768.png"))


@pytest.mark.e2e
@pytest.mark.realdata
def test_a_plan_built_from_lsoas_is_edited_and_opens_on_every_page(server, real_place, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    r = design_plan(real_place, place_baseline(real_place), k=12, population="census2021", units="lsoa", proposals=20_000, seed=0)
    assert r.grouping.units == "lsoa" and len(r.grouping.neighbourhoods) == 12
    ScenarioStore(tmp_path / "scenarios.sqlite").save(NAME, r.grouping.renamed(NAME), place=real_place.label)  # the server's home
    (ROOT / "out").mkdir(exist_ok=True)
    blocked: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = _offline_context(browser, SIZES[0], blocked).new_page()
        page.goto(f"{server}/redraw?scenario={quote(NAME)}")
        _settle(page, "Redraw neighbourhoods")
        _redraw_journey(page)
        for w, h in SIZES:
            page.set_viewport_size({"width": w, "height": h})
            for k, (link, heading) in enumerate(PAGES):
                page.locator('[data-testid="stSidebarNavLink"]', has_text=link).first.click()
                _settle(page, heading)
                assert _problems(page) == [], (link, w, _problems(page))
                assert f"{NAME} (saved scenario) — 12:3:1" in d.sidebar_text(page)
                main = page.locator('[data-testid="stMain"]').inner_text()
                if link in ("Map and profiles", "Flows", "Compare"):
                    assert "built from LSOAs" in main, link
                page.screenshot(path=str(ROOT / "out" / f"e2e_lsoa_{k + 1}_{link.split()[0].lower()}_{w}x{h}.png"), full_page=True)
        browser.close()
    print("requests refused (network closed):", sorted(set(blocked)))
