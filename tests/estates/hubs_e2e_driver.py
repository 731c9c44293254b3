"""Drive the Hubs page in headless Chromium: click a site to make it a hub, rerun, run the optimiser, adopt (used by test_hubs_e2e)."""

from __future__ import annotations

import time

# Every circle marker on the Leaflet map with its tooltip and its pixel position in the map's container.
_MARKERS_JS = """() => {
  const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] && window[k].latLngToContainerPoint);
  const map = window[key];
  const out = [];
  map.eachLayer(l => {
    if (l.getLatLng && l.feature && l.feature.properties && l.feature.properties.site_id) {
      const p = map.latLngToContainerPoint(l.getLatLng());
      out.push({text: l.feature.properties.label.replace(/&amp;/g, '&'), x: p.x, y: p.y, r: l.getRadius ? l.getRadius() : 0});
    } else if (l.getLatLng && l.getTooltip && l.getTooltip()) {
      const p = map.latLngToContainerPoint(l.getLatLng());
      const d = document.createElement('div');
      const t = l.getTooltip().getContent();
      if (typeof t === 'string') { d.innerHTML = t; } else { d.appendChild(t.cloneNode(true)); }
      out.push({text: d.textContent.trim(), x: p.x, y: p.y, r: l.getRadius ? l.getRadius() : 0});
    }
  });
  return out;
}"""


def _map_frame(page):
    frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]').first
    frame.locator(".leaflet-container").first.wait_for(timeout=180_000)
    for f in page.frames:
        if f.url.startswith("about:") or "leaflet" in (f.content() or "")[:200_000]:
            try:
                if f.evaluate("() => Object.keys(window).some(k => k.startsWith('map_'))"):
                    return frame, f
            except Exception:  # noqa: BLE001  (frames come and go while Streamlit redraws)
                continue
    raise AssertionError("no Leaflet map frame found")


def _wait_text(page, text: str, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if page.get_by_text(text, exact=False).count():
            return
        time.sleep(0.5)
    raise AssertionError(f"{text!r} did not appear within {timeout:.0f} s")


def click_a_site(page, base_url: str, *, screenshot: str | None = None) -> str:
    """Open the Hubs page and click a hub-eligible site that is not a hub; return the site id the page added."""
    page.goto(f"{base_url}/hubs")
    page.get_by_text("Hub siting").wait_for(timeout=240_000)
    frame, f = _map_frame(page)
    frame.locator(".leaflet-container").first.scroll_into_view_if_needed()  # a click on a map partly off screen scrolls first
    time.sleep(2)
    markers = f.evaluate(_MARKERS_JS)
    box = frame.locator(".leaflet-container").first.bounding_box()
    view = page.viewport_size
    inside = [m for m in markers if 40 < m["x"] < box["width"] - 40 and 60 < m["y"] < box["height"] - 40
              and 0 < box["y"] + m["y"] < view["height"] - 10]  # fmt: skip

    def alone(m):  # no other marker within 10 px: the click cannot land on a neighbour
        return all((o is m) or (o["x"] - m["x"]) ** 2 + (o["y"] - m["y"]) ** 2 > 100 for o in markers)

    pick = next(m for m in inside if not m["text"].startswith(("HUB", "PROPOSED")) and ("(library)" in m["text"] or "(gp" in m["text"])
                and alone(m))  # fmt: skip
    site = pick["text"].split()[0]
    page.mouse.click(box["x"] + pick["x"], box["y"] + pick["y"])
    _wait_text(page, f"added {site} on the map")
    if screenshot:
        time.sleep(3)
        page.screenshot(path=screenshot, full_page=True)
    return site


def rerun_twice_and_check(page, site: str) -> bool:
    """Move the threshold slider twice (two reruns); return True when the site is still among the hubs."""
    slider = page.get_by_role("slider").first
    for key in ("ArrowRight", "ArrowLeft"):
        slider.focus()
        page.keyboard.press(key)
        time.sleep(4)
        _wait_text(page, "Hub siting")
    return page.get_by_text(f"added {site} on the map", exact=False).count() > 0 and page.get_by_text(f", {site})", exact=False).count() > 0


def optimise_and_adopt(page, *, name: str, screenshot: str | None = None) -> None:
    """Run the optimiser, wait for its proposal, screenshot it, then adopt it under `name`."""
    page.get_by_role("button", name="Run optimiser").click()
    _wait_text(page, "if adopted", timeout=300)
    time.sleep(3)
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)
    box = page.get_by_label("Adopt as scenario named")
    box.fill(name)
    box.press("Enter")
    time.sleep(2)
    page.get_by_role("button", name="Adopt", exact=True).click()
    _wait_text(page, f"Hubs adopted and saved as '{name}'", timeout=120)
