"""Drive the running app in headless Chromium as a person would (used by test_e2e and benchmarks/bench_browser).

The Redraw map is an SVG drawn inside a shadow root; Playwright's locators pierce it, and
``pkMap()`` (installed by :func:`install_helpers`) finds it from page scripts.
"""

from __future__ import annotations

FIND_MAP = """
window.pkMap = () => {
  for (const e of document.querySelectorAll('*')) { if (e.shadowRoot) { const m = e.shadowRoot.querySelector('.pk-map'); if (m) return m; } }
  return document.querySelector('.pk-map');
};
"""


def install_helpers(page) -> None:
    """Define ``pkMap()`` in the page (again after each reload)."""
    page.evaluate(FIND_MAP)


def open_redraw(page, url: str) -> None:
    """Open `url` (a Redraw address, with any query string) and wait for the map to draw."""
    page.goto(url)
    page.locator("path.ward").nth(5).wait_for(timeout=180_000)
    install_helpers(page)
    page.wait_for_function("pkMap().querySelectorAll('text.label').length > 0", timeout=60_000)


def idle(page, ms: int = 300) -> None:
    """Wait until no script run is in progress, then `ms` more."""
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(ms)


def _under(page, x: float, y: float, kind: str) -> str | None:
    """Return the code of the map element of class `kind` (ward, lsoa, practice) drawn at window point (x, y), or None."""
    return page.evaluate(
        """([x, y, kind]) => { const root = pkMap().getRootNode(); const e = (root.elementFromPoint ? root : document).elementFromPoint(x, y);
                              return e && e.classList && e.classList.contains(kind) ? e.dataset.code : null; }""",
        [x, y, kind],
    )


def _click(page, point: tuple[float, float], under) -> str | None:
    """Click the window at `point`; return what `under(page, x, y)` found there before the click."""
    x, y = point
    found = under(page, x, y)
    page.mouse.click(x, y)
    return found


def _area_point(page, code: str, kind: str, radius: int) -> tuple[float, float]:
    """Return window coordinates of a point inside map area `code` of class `kind` (ward or lsoa) where that area is on top.

    Starts from its label point on the map as drawn now and looks round it, out to `radius` pixels, when a dot or label covers it.
    """
    return tuple(page.evaluate(
        """([code, kind, radius]) => { const S = pkMap().__pk, r = S.svg.getBoundingClientRect();
                      const p = (kind === 'lsoa' ? S.data.lgeom : S.data.geom).points[code];
                      const x0 = r.left + S.view.tx + S.view.k * p[0], y0 = r.top + S.view.ty + S.view.k * p[1];
                      const root = pkMap().getRootNode(), doc = root.elementFromPoint ? root : document;
                      for (let d = 0; d <= radius; d += radius / 10) for (let a = 0; a < 360; a += d ? 30 : 360) {
                        const x = x0 + d * Math.cos(a * Math.PI / 180), y = y0 + d * Math.sin(a * Math.PI / 180);
                        const e = doc.elementFromPoint(x, y);
                        if (e && e.classList && e.classList.contains(kind) && e.dataset.code === code) return [x, y];
                      }
                      return [x0, y0]; }""", [code, kind, radius]))  # fmt: skip


def ward_point(page, code: str) -> tuple[float, float]:
    """Return window coordinates of a point inside ward `code` where the ward itself is on top (not a practice dot)."""
    return _area_point(page, code, "ward", 40)


def practice_point(page, code: str) -> tuple[float, float]:
    """Return window coordinates of a point of practice `code`'s dot where no other dot covers it (its middle if it is all covered)."""
    return tuple(page.evaluate(
        """(code) => { const c = pkMap().__pk.dot[code], b = c.getBoundingClientRect();
                      const x0 = b.left + b.width / 2, y0 = b.top + b.height / 2, r = b.width / 2;
                      const root = pkMap().getRootNode(), doc = root.elementFromPoint ? root : document;
                      for (let d = 0; d < r; d += 1.5) for (let a = 0; a < 360; a += d ? 30 : 360) {
                        const x = x0 + d * Math.cos(a * Math.PI / 180), y = y0 + d * Math.sin(a * Math.PI / 180);
                        if (doc.elementFromPoint(x, y) === c) return [x, y];
                      }
                      return [x0, y0]; }""", code))  # fmt: skip


def practice_under(page, x: float, y: float) -> str | None:
    """Return the code of the practice dot drawn at window point (x, y), or None."""
    return _under(page, x, y, "practice")


def click_practice(page, code: str) -> str | None:
    """Click practice `code`'s dot where it is drawn; return the practice that was under the pointer (checked before the click)."""
    return _click(page, practice_point(page, code), practice_under)


def ward_under(page, x: float, y: float) -> str | None:
    """Return the code of the ward drawn at window point (x, y), or None."""
    return _under(page, x, y, "ward")


def scroll_map_partly_off_screen(page, top: int = 140) -> None:
    """Scroll the main area so the top of the map is above the window (where st_folium's clicks went astray)."""
    page.evaluate(
        f"() => {{ const m = document.querySelector('[data-testid=\"stMain\"]') || document.scrollingElement; m.scrollTop = {top}; }}"
    )
    page.wait_for_timeout(150)


def click_ward(page, code: str) -> str:
    """Click ward `code` where it is drawn; return the code that was under the pointer (checked before the click)."""
    return _click(page, ward_point(page, code), ward_under)


def selected(page) -> list[str]:
    """Return the wards the map shows selected."""
    return [c for c in (page.locator(".pk-map").get_attribute("data-selected") or "").split(",") if c]


def neighbourhood_of(page, code: str) -> str:
    """Return the neighbourhood the map draws ward `code` in."""
    return page.evaluate("(c) => pkMap().__pk.data.nb[c]", code)


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the select box labelled `label`."""
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).first.click()
    idle(page)


def sidebar_text(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def wait_listed(page, ward_name: str, timeout_ms: int = 30_000) -> None:
    """Wait until the selection panel (written by the server) lists `ward_name`."""
    name = ward_name.replace("'", "\\'")
    page.wait_for_function(
        "[...document.querySelectorAll('[data-testid=\"stMarkdownContainer\"]')]"
        f".some(e => e.innerText.includes('selected') && e.innerText.includes('{name}'))",
        timeout=timeout_ms,
    )
    idle(page)


def lasso(page, points: list[tuple[float, float]], *, shift: bool = True) -> None:
    """Draw a lasso through window `points` (Shift+drag), closing back to the first."""
    if shift:
        page.keyboard.down("Shift")
    page.mouse.move(*points[0])
    page.mouse.down()
    for x, y in [*points[1:], points[0]]:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()
    if shift:
        page.keyboard.up("Shift")


def lsoa_point(page, code: str) -> tuple[float, float]:
    """Return window coordinates of a point inside LSOA `code` (LSOA layer on) where the LSOA itself is on top (not a dot or a label)."""
    return _area_point(page, code, "lsoa", 30)


def lsoa_under(page, x: float, y: float) -> str | None:
    """Return the code of the LSOA drawn at window point (x, y), or None."""
    return _under(page, x, y, "lsoa")


def click_lsoa(page, code: str) -> str | None:
    """Click LSOA `code` where it is drawn (what it picks, the LSOA or its ward, is the map's Wards/LSOAs switch); return the LSOA under the pointer."""
    return _click(page, lsoa_point(page, code), lsoa_under)


def map_kind(page, kind: str) -> None:
    """Press the map's Wards / LSOAs / Practices switch (what a click on the area and the lasso pick)."""
    page.evaluate("(k) => pkMap().querySelector(`.kind button[data-kind='${k}']`).click()", kind)
