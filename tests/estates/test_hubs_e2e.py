"""The Hubs page in headless Chromium at two window sizes: a clicked site stays a hub through reruns; the optimiser's answer is adopted."""

from __future__ import annotations

import pytest

from tests.test_e2e import CHROMIUM, ROOT, server  # noqa: F401  (the running-app fixture)


@pytest.mark.e2e
@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)], ids=["1366x768", "1920x1080"])
def test_click_a_site_then_adopt(server, size):  # noqa: F811
    from playwright.sync_api import sync_playwright

    from tests.estates.hubs_e2e_driver import click_a_site, optimise_and_adopt, rerun_twice_and_check

    shots = ROOT / "out"
    shots.mkdir(exist_ok=True)
    tag = f"{size[0]}x{size[1]}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                                                    "--disable-component-update", "--no-first-run"])  # fmt: skip
        page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        site = click_a_site(page, server, screenshot=str(shots / f"e2e_hubs_click_{tag}.png"))
        assert rerun_twice_and_check(page, site), f"{site} was undone by a rerun"
        optimise_and_adopt(page, name=f"Adopted {tag}", screenshot=str(shots / f"e2e_hubs_proposal_{tag}.png"))
        page.screenshot(path=str(shots / f"e2e_hubs_adopted_{tag}.png"), full_page=True)
        browser.close()
