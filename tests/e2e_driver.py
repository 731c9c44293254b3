"""Drive the running app in headless Chromium: click a ward, reassign it, read the figures (used by test_e2e)."""

from __future__ import annotations

import time


def _metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]', has_text=label).first
    box.wait_for(timeout=60_000)
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def reassign_by_click(page, base_url: str, screenshot: str | None = None) -> dict:
    """Open Redraw, click a ward on the map, move it to another neighbourhood; return figures before and after."""
    page.goto(f"{base_url}/redraw")
    page.get_by_text("Redraw neighbourhoods").wait_for(timeout=120_000)
    before = _metric(page, "City residents registered in their own neighbourhood")
    ward_box = page.get_by_role("combobox", name="Ward")
    ward_before = ward_box.input_value()
    frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
    frame.locator("path.leaflet-interactive").nth(5).wait_for(timeout=120_000)
    container = frame.locator(".leaflet-container").first
    box = container.bounding_box()
    # A point a little below the middle of the map: inside the city whatever the zoom.
    container.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.55})
    # The click selects the ward: the Ward box changes.
    for _ in range(60):
        ward_after = ward_box.input_value()
        if ward_after != ward_before:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("clicking the map did not select a ward")
    move_box = page.get_by_role("combobox", name="Move to")
    current = move_box.input_value()  # starts on the ward's own neighbourhood
    move_box.click()
    options = page.locator('[role="option"]')
    options.first.wait_for(timeout=30_000)
    texts = [options.nth(i).inner_text() for i in range(options.count())]
    choice = next(t for t in texts if t.strip() != current and "New neighbourhood" not in t)
    options.nth(texts.index(choice)).click()
    page.get_by_role("button", name="Assign").click()
    after = before
    for _ in range(120):
        time.sleep(0.5)
        try:
            after = _metric(page, "City residents registered in their own neighbourhood")
        except Exception:  # noqa: BLE001  (page re-rendering)
            continue
        if after != before:
            break
    if screenshot:
        time.sleep(2)
        page.screenshot(path=screenshot, full_page=True)
    return {"before": before, "after": after, "ward": ward_after, "from": current, "to": choice}
