"""What a user waits for on Redraw, measured in headless Chromium on the real data.

For each app given (this checkout, and optionally an older checkout for comparison in the same
run: one with the SVG map whose Assign waits for the server, or one with the st_folium map), at each window size, over ``--reps`` repetitions:

- map click → selection visible: a real mouse click on a ward (the page first scrolled so the
  map is partly off screen) until the page shows that ward selected. For the SVG map two
  figures: highlighted on the map (browser only) and listed in the selection panel (after the
  server's rerun). For the st_folium map: the Ward box changes.
- Assign → changed figure: the click on Assign until a figure in the page changes (the
  neighbourhood table; the metrics on the st_folium page).
- Assign → map updated: until the moved ward is drawn in its new neighbourhood's colour
  (SVG map) or the reloaded Leaflet map outlines one more moved ward (st_folium map).
- page switches: Redraw → Flows (title shown) and Flows → Redraw (map drawn).
- where the map draws practices (SVG map with practice dots): a click on a practice's dot →
  highlighted on the map / listed by the server, and Assign → changed figure / the dot drawn in
  its new team's colour.
- with ``--lsoa`` (this checkout only), the same on a plan of 12 neighbourhoods built from
  Manchester's LSOAs (designed here, seed 0, a short search, saved in the app's store and opened by
  ``?scenario=``): an LSOA click → highlighted / listed, its Assign → changed figure / the LSOA
  drawn in its new colour; a ward of that plan (the map's Wards switch) → selected, and its Assign
  → every LSOA fitted to it drawn in the new colour.

Times run from the pointer going down (browser clock) to the first animation frame where
the condition holds. Every step is checked: a repetition whose click selected nothing, or
whose Assign changed nothing, raises instead of counting.

Run:
    PLACEKIT_DATA=/work/shared/data .venv/bin/python benchmarks/bench_browser.py \\
        [--old /path/to/old/checkout] [--reps 10] [--sizes 1366x768,1920x1080] [--shots out/bench] [--lsoa]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import e2e_driver as d  # noqa: E402  (the same driver the end-to-end test uses)

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]

# Page-side helpers: find the map in its shadow root (pkMap), stamp the pointer-down time.
JS_HELPERS = (
    d.FIND_MAP
    + """
if (!window.__pkStamp) {
  window.__pkStamp = true;
  window.addEventListener('pointerdown', () => { window.__t0 = performance.timeOrigin + performance.now(); }, true);
}
"""
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LSOA_SCENARIO = "Twelve from LSOAs"


def save_lsoa_plan(home: str) -> None:
    """Design 12 neighbourhoods from Manchester's LSOAs (Census 2021, seed 0, a short search) and save them in `home`'s store."""
    from boundaries.baseline import place_baseline
    from boundaries.design import design_plan
    from boundaries.store import ScenarioStore
    from geo.national import open_place

    place = open_place(None, None)
    r = design_plan(place, place_baseline(place), k=12, population="census2021", units="lsoa", proposals=30_000, seed=0)
    ScenarioStore(Path(home) / "scenarios.sqlite").save(LSOA_SCENARIO, r.grouping.renamed(LSOA_SCENARIO), place=place.label)


def start_app(checkout: Path, port: int, home: str) -> subprocess.Popen:
    """Start the app of `checkout` on `port` with its own PLACEKIT_HOME; wait until it answers."""
    env = dict(os.environ, PLACEKIT_HOME=home)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(checkout / "app.py"), "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1"],
        cwd=checkout, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200:
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"the app in {checkout} did not start on port {port}")


def _since_down(page, condition: str, timeout_ms: int = 15_000) -> float:
    """Return ms from the last pointer-down to the first animation frame where `condition` (JS expression) holds."""
    return _since_down_each(page, [condition], timeout_ms)[0]


def _since_down_each(page, conditions: list[str], timeout_ms: int = 15_000) -> list[float]:
    """Return, for each of `conditions` (JS expressions), ms from the last pointer-down to the first animation frame where it holds.

    One watch for all of them: waiting for each in turn would add a round trip to the browser to every one after the first.
    """
    return page.evaluate(
        """([conds, timeout]) => new Promise((resolve, reject) => {
            const fs = conds.map((c) => new Function('return (' + c + ');'));
            const got = conds.map(() => null);
            const t1 = performance.now();
            const tick = () => {
              const now = performance.timeOrigin + performance.now() - window.__t0;
              fs.forEach((f, i) => { if (got[i] === null) { let ok = false; try { ok = f(); } catch (e) { ok = false; } if (ok) got[i] = now; } });
              if (got.every((v) => v !== null)) return resolve(got);
              if (performance.now() - t1 > timeout) return reject(new Error('timed out waiting for: ' + conds.filter((c, i) => got[i] === null).join(' / ')));
              requestAnimationFrame(tick);
            };
            tick();
        })""",
        [conditions, timeout_ms],
    )


def _settle(page, ms: int = 400) -> None:
    d.idle(page, ms)


def _scroll_map_half_off(page) -> None:
    d.scroll_map_partly_off_screen(page)


# --------------------------------------------------------------------------- the SVG map (this checkout)
class SvgRedraw:
    """Drive the Redraw page whose map is the in-page SVG component."""

    kind = "svg"

    def __init__(self, page, url: str) -> None:
        self.page, self.url = page, url

    def open(self) -> None:
        self._load("redraw", "ward", "geom")

    def _load(self, path: str, kind: str, geom: str) -> None:
        """Open the page at `path`, wait for the map's `kind` areas, and read the codes and names of its `geom` layer."""
        self.page.goto(f"{self.url}/{path}")
        self.page.locator(f"path.{kind}").nth(5).wait_for(timeout=180_000)
        self.page.evaluate(JS_HELPERS)
        _settle(self.page, 800)
        self.codes = self.page.evaluate(f"() => Object.keys(pkMap().__pk.data.{geom}.paths)")
        self.names = self.page.evaluate(f"() => pkMap().__pk.data.{geom}.names")

    def _click(self, code: str, click, listed: str) -> tuple[float, float]:
        """Click unit `code` with `click` (a driver function); return ms to highlight (browser) and to the panel showing `listed`."""
        _scroll_map_half_off(self.page)
        under = click(self.page, code)
        hit = self.page.evaluate("() => pkMap().dataset.selected || ''")
        if under != code or code not in hit.split(","):
            raise AssertionError(f"clicking {code}: pointer over {under!r}, selected {hit!r}")
        listed = listed.replace("'", "\\'")
        t_map, t_panel = _since_down_each(self.page, [
            f"(pkMap().dataset.selected || '').split(',').includes('{code}')",
            "[...document.querySelectorAll('[data-testid=\"stMarkdownContainer\"]')].some("
            f"e => e.innerText.includes('selected') && e.innerText.includes('{listed}'))"])  # fmt: skip
        _settle(self.page, 200)
        return t_map, t_panel

    def _assign(self, fill_js: str, target: str) -> tuple[float, float]:
        """Assign the selection to `target`; return ms to a changed table and until `fill_js` (the unit's colour) changes."""
        d.choose(self.page, "Assign the selection to", target)
        before_fill = self.page.evaluate(f"() => {fill_js}")
        before_tab = self.page.evaluate("() => document.querySelector('table.nbt').innerText")
        self.page.get_by_role("button", name="Assign", exact=True).click()
        t_fig, t_map = _since_down_each(
            self.page, [f"document.querySelector('table.nbt') && document.querySelector('table.nbt').innerText !== {before_tab!r}",
                        f"{fill_js} !== {before_fill!r}"]
        )  # fmt: skip
        _settle(self.page)
        return t_fig, t_map

    def click_ward(self, code: str) -> dict:
        """Click ward `code` on the map; return ms to highlight (browser) and to the panel listing it (server)."""
        t_map, t_panel = self._click(code, d.click_ward, self.names[code])
        return {"select_visible": t_map, "select_server": t_panel}

    def assign(self, code: str, target: str) -> dict:
        """Assign the selected ward to `target`; return ms to a changed table and to the recoloured ward."""
        t_fig, t_map = self._assign(f"pkMap().__pk.paths['{code}'].style.fill", target)
        return {"assign_figure": t_fig, "assign_map": t_map}

    def map_drawn(self) -> str:
        return "pkMap() && pkMap().querySelectorAll('path.ward').length > 0 && pkMap().querySelectorAll('text.label').length > 0"

    def has_practices(self) -> bool:
        return bool(self.page.evaluate("() => !!(pkMap().__pk.dot && Object.keys(pkMap().__pk.dot).length)"))

    def practice_codes(self) -> list[str]:
        return self.page.evaluate("() => pkMap().__pk.data.pts.codes")

    def click_practice(self, code: str) -> dict:
        """Click practice `code`'s dot; return ms to highlight (browser) and to the panel listing it (server)."""
        t_map, t_panel = self._click(code, d.click_practice, code)
        return {"practice_select_visible": t_map, "practice_select_server": t_panel}

    def assign_practice(self, code: str, target: str) -> dict:
        """Assign the selected practice to `target`; return ms to a changed table and to the dot in its new colour."""
        t_fig, t_map = self._assign(f"pkMap().__pk.dot['{code}'].style.fill", target)
        return {"practice_assign_figure": t_fig, "practice_assign_map": t_map}

    def practice_step(self, k: int) -> dict:
        """Click a practice (a different one each repetition) and assign it to a team of another colour."""
        codes = self.practice_codes()
        code = codes[(7 * k + 2) % len(codes)]
        res = self.click_practice(code)
        colours = self.page.evaluate(
            "() => { const D = pkMap().__pk.data; return Object.fromEntries(Object.entries(D.nb).map(([w, n]) => [n, D.fill[w]])); }"
        )
        now = self.page.evaluate("(c) => pkMap().__pk.data.pfill[c]", code)
        return res | self.assign_practice(code, next(n for n, c in colours.items() if c != now))


class SvgLsoaRedraw(SvgRedraw):
    """Drive Redraw on a plan built from LSOAs (the map drawn from LSOAs): LSOAs and wards clicked and assigned."""

    def open(self) -> None:
        self._load(f"redraw?scenario={LSOA_SCENARIO.replace(' ', '%20')}", "lsoa", "lgeom")
        self.wards = self.page.evaluate("() => pkMap().__pk.data.geom.names")
        self.lward = self.page.evaluate("() => pkMap().__pk.data.lgeom.ward")

    def lsoa_step(self, k: int) -> dict:
        """Click an LSOA (LSOAs switch) and assign it to another neighbourhood; return the four times."""
        d.map_kind(self.page, "lsoa")
        code = self.codes[(3 + 7 * k) % len(self.codes)]
        t_map, t_panel = self._click(code, d.click_lsoa, self.names[code])
        now = self.page.evaluate("(c) => pkMap().__pk.data.lnb[c]", code)
        target = next(n for n in sorted(set(self.page.evaluate("() => Object.values(pkMap().__pk.data.lnb)"))) if n != now)
        t_fig, t_new = self._assign(f"pkMap().__pk.lpaths['{code}'].style.fill", target)
        return {"lsoa_select_visible": t_map, "lsoa_select_server": t_panel, "lsoa_assign_figure": t_fig, "lsoa_assign_map": t_new}

    def ward_step(self, k: int) -> dict:
        """Click a ward of the plan (Wards switch, on one of its LSOAs) and assign it; the map is updated when all its LSOAs are recoloured."""
        d.map_kind(self.page, "ward")
        code = self.codes[(11 + 7 * k) % len(self.codes)]
        ward = self.lward[code]
        _scroll_map_half_off(self.page)
        d.click_lsoa(self.page, code)
        listed = self.wards[ward].replace("'", "\\'")
        t_map, t_panel = _since_down_each(self.page, [
            f"(pkMap().dataset.selected || '').split(',').includes('{ward}')",
            "[...document.querySelectorAll('[data-testid=\"stMarkdownContainer\"]')].some("
            f"e => e.innerText.includes('selected') && e.innerText.includes('{listed}'))"])  # fmt: skip
        _settle(self.page, 200)
        mine = [c for c, w in self.lward.items() if w == ward]
        now = self.page.evaluate("(c) => pkMap().__pk.data.lnb[c]", code)
        target = next(n for n in sorted(set(self.page.evaluate("() => Object.values(pkMap().__pk.data.lnb)"))) if n != now)
        fill = "[" + ",".join(f"pkMap().__pk.lpaths['{c}'].style.fill" for c in mine) + "].join('|')"
        t_fig, t_new = self._assign(f"({fill})", target)
        return {"lsoa_ward_select_visible": t_map, "lsoa_ward_select_server": t_panel, "lsoa_ward_assign_figure": t_fig,
                "lsoa_ward_assign_map": t_new}  # fmt: skip


# --------------------------------------------------------------------------- the st_folium map (older checkout)
class FoliumRedraw:
    """Drive the older Redraw page (st_folium map in an iframe, one ward at a time)."""

    kind = "folium"

    def __init__(self, page, url: str) -> None:
        self.page, self.url = page, url

    def frame(self):
        return next(f for f in self.page.frames if "streamlit_folium" in (f.url or "") or f.name == "streamlit_folium.st_folium")

    def open(self) -> None:
        self.page.goto(f"{self.url}/redraw")
        self.page.frame_locator('iframe[title="streamlit_folium.st_folium"]').locator("path.leaflet-interactive").nth(5).wait_for(
            timeout=180_000
        )
        self.page.evaluate(JS_HELPERS)
        _settle(self.page, 1500)

    def _frame_stamp(self) -> None:
        fr = self.page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
        fr.locator("body").evaluate(
            "() => { if (!window.__pkStamp) { window.__pkStamp = true; window.addEventListener('pointerdown', () => "
            "{ window.parent.__t0 = performance.timeOrigin + performance.now(); }, true); } }"
        )

    def click_ward(self, index: int) -> dict:
        """Click the `index`-th ward path of the Leaflet map; return ms until the Ward box changes."""
        _scroll_map_half_off(self.page)
        self._frame_stamp()
        before = self.page.get_by_role("combobox", name="Ward").input_value()
        fr = self.page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
        path = fr.locator("path.leaflet-interactive").nth(index)
        box = path.bounding_box()
        self.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        t = _since_down(self.page, "(() => { const i = [...document.querySelectorAll('input[role=\"combobox\"]')]"
                                   f".find(e => e.getAttribute('aria-label') === 'Ward'); return i && i.value !== {before!r}; }})()")  # fmt: skip
        _settle(self.page, 300)
        return {"select_server": t, "ward": self.page.get_by_role("combobox", name="Ward").input_value()}

    def assign(self) -> dict:
        """Move the selected ward to another neighbourhood; return ms to a changed metric and to the reloaded map."""
        box = self.page.get_by_role("combobox", name="Move to")
        current = box.input_value()
        box.click()
        opts = self.page.get_by_role("option")
        texts = opts.all_inner_texts()
        choice = next(t for t in texts if t.strip() != current and "New neighbourhood" not in t)
        opts.nth(texts.index(choice)).click()
        _settle(self.page)
        metrics = "[...document.querySelectorAll('[data-testid=\"stMetric\"]')].map(e => e.innerText).join('|')"
        before_m = self.page.evaluate(f"() => {metrics}")
        moved_js = ("(() => { const f = document.querySelector('iframe[title=\"streamlit_folium.st_folium\"]'); "
                    "const d = f && f.contentDocument; return d ? d.querySelectorAll('path[stroke=\"#b00020\"]').length : -1; })()")  # fmt: skip
        before_red = self.page.evaluate(f"() => {moved_js}")
        self.page.get_by_role("button", name="Assign", exact=True).click()
        t_fig = _since_down(self.page, f"{metrics} !== {before_m!r}")
        t_map = _since_down(self.page, f"{moved_js} > {before_red}", timeout_ms=30_000)
        _settle(self.page)
        return {"assign_figure": t_fig, "assign_map": t_map}

    def map_drawn(self) -> str:
        return ("(() => { const f = document.querySelector('iframe[title=\"streamlit_folium.st_folium\"]'); const d = f && f.contentDocument;"
                " return !!d && d.querySelectorAll('path.leaflet-interactive').length > 0; })()")  # fmt: skip


# --------------------------------------------------------------------------- runs
def switch_pages(page, drawn: str) -> dict:
    """Redraw → Flows → Redraw through the sidebar; return ms for each switch."""
    page.get_by_role("link", name="Flows").click()
    to_flows = _since_down(page, "[...document.querySelectorAll('h1')].some(h => h.innerText.includes('Cross-boundary flows'))", 60_000)
    _settle(page)
    page.evaluate(JS_HELPERS)
    page.get_by_role("link", name="Redraw").click()
    back = _since_down(page, drawn, 60_000)
    _settle(page, 800)
    page.evaluate(JS_HELPERS)
    return {"switch_to_flows": to_flows, "switch_to_redraw": back}


def run_app(browser, label: str, url: str, kind: str, reps: int, size: tuple[int, int], shots: Path | None) -> dict[str, list[float]]:
    """Measure one app at one window size; return the samples per step."""
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    app = {"svg": SvgRedraw, "lsoa": SvgLsoaRedraw, "folium": FoliumRedraw}[kind](page, url)
    app.open()
    out: dict[str, list[float]] = {}
    tag = f"{label}-{size[0]}x{size[1]}"
    for k in range(reps):
        if kind == "lsoa":
            res = app.lsoa_step(k)
            if shots and k == 0:
                page.screenshot(path=str(shots / f"{tag}-1-lsoa-assigned.png"))
            res |= app.ward_step(k)
        elif kind == "svg":
            code = app.codes[(3 + 5 * k) % len(app.codes)]
            res = app.click_ward(code)
            if shots and k == 0:
                page.screenshot(path=str(shots / f"{tag}-1-selected.png"))
            current = page.evaluate("(c) => pkMap().__pk.data.nb[c]", code)
            options = page.evaluate("() => [...new Set(Object.values(pkMap().__pk.data.nb))]")
            res |= app.assign(code, next(o for o in options if o != current))
            if app.has_practices():
                res |= app.practice_step(k)
        else:
            res = app.click_ward((3 + 5 * k) % 32)
            if shots and k == 0:
                page.screenshot(path=str(shots / f"{tag}-1-selected.png"))
            res |= {k2: v for k2, v in app.assign().items()}
            res.pop("ward", None)
        if shots and k == 0:
            page.screenshot(path=str(shots / f"{tag}-2-assigned.png"))
        res |= switch_pages(page, app.map_drawn())
        for key, v in res.items():
            out.setdefault(key, []).append(v)
    if shots:
        page.screenshot(path=str(shots / f"{tag}-3-end.png"), full_page=True)
    page.close()
    return out


LABELS = {
    "select_visible": "map click → selection highlighted on the map",
    "select_server": "map click → selection shown by the server",
    "assign_figure": "Assign → changed figure",
    "assign_map": "Assign → map updated",
    "practice_select_visible": "practice click → highlighted on the map",
    "practice_select_server": "practice click → shown by the server",
    "practice_assign_figure": "practice Assign → changed figure",
    "practice_assign_map": "practice Assign → dot recoloured",
    "lsoa_select_visible": "LSOA click → highlighted on the map",
    "lsoa_select_server": "LSOA click → shown by the server",
    "lsoa_assign_figure": "LSOA Assign → changed figure",
    "lsoa_assign_map": "LSOA Assign → map updated",
    "lsoa_ward_select_visible": "ward click (LSOA plan) → highlighted",
    "lsoa_ward_select_server": "ward click (LSOA plan) → shown by server",
    "lsoa_ward_assign_figure": "ward Assign (LSOA plan) → changed figure",
    "lsoa_ward_assign_map": "ward Assign (LSOA plan) → its LSOAs redrawn",
    "switch_to_flows": "page switch Redraw → Flows",
    "switch_to_redraw": "page switch Flows → Redraw (map drawn)",
}


def report(label: str, size, samples: dict[str, list[float]]) -> None:
    print(f"\n{label} at {size[0]}×{size[1]} ({len(next(iter(samples.values())))} repetitions; ms min / median / max)")
    for key, text in LABELS.items():
        if key in samples:
            v = samples[key]
            flag = (
                "  (target < 300 ms: " + ("met" if statistics.median(v) < 300 else "MISSED") + ")"
                if key.startswith(("select", "assign", "practice", "lsoa"))
                else ""
            )
            print(f"  {text:<48} {min(v):7.0f} {statistics.median(v):7.0f} {max(v):7.0f}{flag}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", type=Path, help="an older checkout, measured in the same run (its Redraw map is found out: the SVG "
                    "map, e.g. one whose Assign waits for the server, or the st_folium map)")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--sizes", default="1366x768,1920x1080")
    ap.add_argument("--shots", type=Path, help="folder for screenshots of each step (first repetition)")
    ap.add_argument("--lsoa", action="store_true", help="also measure this checkout on a plan of 12 neighbourhoods built from LSOAs")
    a = ap.parse_args()
    if not os.environ.get("PLACEKIT_DATA"):
        sys.exit("set PLACEKIT_DATA to the data root: this benchmark runs on the real data")
    from playwright.sync_api import sync_playwright

    sizes = [tuple(int(v) for v in s.split("x")) for s in a.sizes.split(",")]
    apps = [("this checkout (SVG map)", ROOT, "svg")]
    if a.lsoa:
        apps.append(("this checkout, a plan built from LSOAs (SVG map of LSOAs)", ROOT, "lsoa"))
    if a.old:
        old_kind = "svg" if any((a.old / sub / "ward_map.js").exists() for sub in ("ui", "placekit/ui")) else "folium"
        apps.append((f"old checkout {a.old.name} ({'SVG' if old_kind == 'svg' else 'st_folium'} map)", a.old.resolve(), old_kind))
    if a.shots:
        a.shots.mkdir(parents=True, exist_ok=True)
    procs = []
    try:
        urls = []
        for _, checkout, kind in apps:
            port = _free_port()
            home = tempfile.mkdtemp(prefix="pk-bench-")
            if kind == "lsoa":
                save_lsoa_plan(home)
            procs.append(start_app(checkout, port, home))
            urls.append(f"http://127.0.0.1:{port}")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for size in sizes:
                for (label, checkout, kind), url in zip(apps, urls, strict=True):
                    tag = "lsoa" if kind == "lsoa" else "new" if checkout == ROOT else "old"
                    samples = run_app(browser, tag, url, kind, a.reps, size, a.shots)
                    report(label, size, samples)
            browser.close()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
