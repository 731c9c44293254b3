// The Redraw ward map: an SVG map drawn in the page (no iframe, no tiles, no CDN).
//
// Python sends the ward shapes (`geom`, in map units, y pointing down) and the practice
// dots (`pts`) once per place and, on every rerun, what changes: each ward's colour and
// neighbourhood, each practice's colour (its team's), the selection, the locked units, the
// neighbourhood outlines and labels. A selection holds one kind of unit, wards, LSOAs or practices:
// a click picks what is under the pointer (a unit of the other kind starts a new selection);
// the lasso picks the kind chosen in the tools. With the LSOA layer (`lgeom`: a plan built from
// LSOAs, or the layer switched on) the area is drawn from the LSOAs, ward boundaries as lines over
// them; a click on the area picks the LSOA or its ward, as the Wards/LSOAs switch says (a ward
// stands for every LSOA fitted to it, and is shown as those LSOAs). Selections are shown at once and sent to
// Python as a trigger value {seq, kind, codes}; Python echoes the last seq it has applied,
// so a reply to an older click never undoes a newer one. An Assign is drawn as soon as it is clicked
// when the server has prepared it (see drawPrepared).
const NS = "http://www.w3.org/2000/svg";

function el(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function inside(pt, poly) {
  // Ray casting: is pt inside the polygon (list of [x, y])?
  let c = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i], [xj, yj] = poly[j];
    if ((yi > pt[1]) !== (yj > pt[1]) && pt[0] < ((xj - xi) * (pt[1] - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

function setup(root) {
  const S = { root, svg: root.querySelector("svg"), geomId: null, ptsId: null, view: null, sel: new Set(), kind: "ward", seq: 0, data: null };
  S.world = el("g", { class: "world" }, S.svg);
  S.lsoaG = el("g", { class: "lsoas" }, S.world);
  S.lpaths = {};
  S.lgeomId = null;
  S.lmode = false;
  S.areaKind = "ward";
  S.wards = el("g", { class: "wards" }, S.world);
  S.outlines = el("g", { class: "outlines" }, S.world);
  S.selected = el("g", { class: "selected" }, S.world);
  S.dots = el("g", { class: "practices" }, S.world);
  S.dot = {};
  S.lassoKind = "ward";
  S.kindBtns = [...root.querySelectorAll(".kind button")];
  for (const b of S.kindBtns) b.onclick = () => setLassoKind(S, b.dataset.kind);
  S.labels = el("g", { class: "labels" }, S.svg);
  S.lasso = el("polyline", { class: "lasso" }, S.svg);
  S.status = root.querySelector(".status");
  S.lassoBtn = root.querySelector("button.lasso-btn");
  S.lassoMode = false;
  S.lassoBtn.onclick = () => {
    S.lassoMode = !S.lassoMode;
    S.lassoBtn.classList.toggle("on", S.lassoMode);
  };
  root.querySelector("button.fit-btn").onclick = () => { S.userMoved = false; fit(S); };
  root.querySelector("button.zin-btn").onclick = () => zoomAt(S, null, 1.4);
  root.querySelector("button.zout-btn").onclick = () => zoomAt(S, null, 1 / 1.4);
  root.querySelector("button.clear-btn").onclick = () => send(S, new Set(), S.kind);
  bindPointer(S);
  S.userMoved = false;  // until the user pans or zooms, the map refits to its box when the box changes size
  new ResizeObserver(() => { if (S.data && !S.userMoved) fit(S); }).observe(S.svg);
  return S;
}

function setLassoKind(S, kind) {
  S.lassoKind = kind;
  if (kind !== "practice") S.areaKind = kind;
  for (const b of S.kindBtns) b.classList.toggle("on", b.dataset.kind === kind);
}

function screenXY(S, evt) {
  const r = S.svg.getBoundingClientRect();
  return [evt.clientX - r.left, evt.clientY - r.top];
}

function toWorld(S, p) {
  const v = S.view;
  return [(p[0] - v.tx) / v.k, (p[1] - v.ty) / v.k];
}

function bindPointer(S) {
  let drag = null;
  S.svg.addEventListener("pointerdown", (evt) => {
    if (evt.button !== 0) return;
    evt.preventDefault();  // no text selection, no focus scroll: the page stays where it is
    const p = screenXY(S, evt);
    drag = { start: p, last: p, moved: false, lasso: S.lassoMode || evt.shiftKey, remove: evt.altKey, pts: [p],
             target: evt.target.closest ? evt.target.closest("circle.practice, path.ward, path.lsoa") : null };
    S.svg.setPointerCapture(evt.pointerId);
  });
  S.svg.addEventListener("pointermove", (evt) => {
    if (!drag) return;
    const p = screenXY(S, evt);
    if (Math.hypot(p[0] - drag.start[0], p[1] - drag.start[1]) > 4) drag.moved = true;
    if (drag.lasso) {
      drag.pts.push(p);
      S.lasso.setAttribute("points", drag.pts.map((q) => q.join(",")).join(" "));
    } else if (drag.moved) {
      S.userMoved = true;
      S.view.tx += p[0] - drag.last[0];
      S.view.ty += p[1] - drag.last[1];
      applyView(S);
    }
    drag.last = p;
  });
  S.svg.addEventListener("pointerup", (evt) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    S.lasso.setAttribute("points", "");
    if (d.lasso && d.moved && d.pts.length > 2) {
      const poly = d.pts.map((q) => toWorld(S, q));
      const kind = S.lassoKind;
      const next = kind === S.kind ? new Set(S.sel) : new Set();
      for (const [code, pt] of unitPoints(S, kind)) {
        if (lockedUnit(S, kind, code) || !inside(pt, poly)) continue;
        if (d.remove) next.delete(code);
        else next.add(code);
      }
      send(S, next, kind);
    } else if (!d.moved && d.target) {
      let kind = d.target.tagName === "circle" ? "practice" : "ward";
      let code = d.target.dataset.code;
      if (d.target.classList.contains("lsoa")) {
        kind = S.areaKind;  // an LSOA, or the ward it is fitted to
        if (kind === "ward") code = S.lward[code];
        if (!code) return;
      }
      if (lockedUnit(S, kind, code)) {
        S.status.textContent = `${unitName(S, kind, code)} is in a locked neighbourhood: unlock it to move it.`;
        return;
      }
      const next = kind === S.kind ? new Set(S.sel) : new Set();  // one kind at a time: the other kind starts afresh
      if (next.has(code)) next.delete(code);
      else next.add(code);
      setLassoKind(S, kind);
      send(S, next, kind);
    }
  });
  S.svg.addEventListener("wheel", (evt) => {
    evt.preventDefault();
    zoomAt(S, screenXY(S, evt), Math.exp(-evt.deltaY * 0.0015));
  }, { passive: false });
}

function zoomAt(S, p, f) {
  // Zoom by factor f about screen point p (the middle of the map when p is null).
  p = p || [S.svg.clientWidth / 2, S.svg.clientHeight / 2];
  const v = S.view;
  v.tx = p[0] - (p[0] - v.tx) * f;
  v.ty = p[1] - (p[1] - v.ty) * f;
  v.k *= f;
  S.userMoved = true;
  applyView(S);
}

function unitPoints(S, kind) {
  // [code, [x, y]] of every ward or LSOA (its label point) or every practice (its premises).
  if (kind === "ward") return Object.entries(S.data.geom.points);
  if (kind === "lsoa") return S.data.lgeom ? Object.entries(S.data.lgeom.points) : [];
  return S.data.pts.codes.map((c, i) => [c, S.data.pts.xy[i]]);
}

function lockedUnit(S, kind, code) {
  if (kind === "lsoa") return S.llocked.has(code);
  return kind === "ward" ? S.locked.has(code) : S.plocked.has(code);
}

function unitName(S, kind, code) {
  if (kind === "lsoa") return `${S.data.lgeom.names[code]} (${code})`;
  return kind === "ward" ? S.data.geom.names[code] : `${code} ${S.pname[code] || ""}`;
}

function send(S, next, kind) {
  S.sel = next;
  S.kind = kind;
  S.seq += 1;
  drawSelection(S);
  S.root.dataset.selected = [...next].sort().join(",");
  S.root.dataset.kind = kind;
  S.component.setTriggerValue("select", { seq: S.seq, kind, codes: [...next] });
}

function fit(S) {
  const [w, h] = [S.svg.clientWidth || 600, S.svg.clientHeight || 500];
  const [gw, gh] = [S.data.geom.width, S.data.geom.height];
  const k = 0.94 * Math.min(w / gw, h / gh);
  S.view = { k, tx: (w - k * gw) / 2, ty: (h - k * gh) / 2 };
  S.fitK = k;
  applyView(S);
}

function sizeDots(S) {
  // Dots keep their size on screen whatever the zoom: radius (and the offset of practices sharing premises) in pixels over the world's scale.
  if (S.dotK === S.view.k) return;
  S.dotK = S.view.k;
  const k = S.view.k;
  for (const c of S.dots.children) {
    c.setAttribute("r", c.__r / k);
    c.setAttribute("cx", c.__x + c.__off[0] / k);
    c.setAttribute("cy", c.__y + c.__off[1] / k);
  }
}

function applyView(S) {
  const v = S.view;
  S.world.setAttribute("transform", `translate(${v.tx} ${v.ty}) scale(${v.k})`);
  sizeDots(S);
  // Place labels, then hide any that would overlap one already placed (zoom in to see them all).
  const placed = [];
  const full = v.k > 1.6 * (S.fitK || v.k);
  if (full !== S.fullLabels) {
    S.fullLabels = full;
    for (const t of S.labels.children) fillLabel(t, full ? t.__lab.full : t.__lab.lines);
    measureLabels(S);
  }
  for (const t of S.labels.children) {
    // Try the label on its point, then a little above or below; hide it if every place overlaps a label already placed.
    // Sizes were measured once when the label was written: no layout is read here, so panning stays smooth.
    const b = t.__box;
    let shown = false;
    for (const dy of [0, -14, 14, -26, 26]) {
      const x = v.tx + v.k * t.__x, y = v.ty + v.k * t.__y + dy;
      const r = { left: x + b.x, right: x + b.x + b.width, top: y + b.y, bottom: y + b.y + b.height };
      if (!placed.some((p) => r.left < p.right && r.right > p.left && r.top < p.bottom && r.bottom > p.top)) {
        t.setAttribute("transform", `translate(${x} ${y})`);
        placed.push(r);
        shown = true;
        break;
      }
    }
    t.style.visibility = shown ? "visible" : "hidden";
  }
}

function measureLabels(S) {
  // One layout for all labels: write every label first, then read every size.
  for (const t of S.labels.children) t.__box = t.getBBox();
}

function buildShapes(S, geom) {
  S.wards.replaceChildren();
  S.paths = {};
  for (const [code, d] of Object.entries(geom.paths)) {
    const p = el("path", { d, class: "ward", "data-code": code }, S.wards);
    el("title", {}, p);
    S.paths[code] = p;
  }
  S.geomId = geom.id;
  S.sel = new Set();
  S.seq = 0;
}

function buildLsoas(S, lgeom) {
  // One path per LSOA, under the ward lines; each knows its best-fit ward (a ward picked stands for its LSOAs).
  S.lsoaG.replaceChildren();
  S.lpaths = {};
  S.lward = lgeom.ward;
  S.lsoasOf = {};
  for (const [code, d] of Object.entries(lgeom.paths)) {
    const p = el("path", { d, class: "lsoa", "data-code": code }, S.lsoaG);
    el("title", {}, p);
    S.lpaths[code] = p;
    (S.lsoasOf[lgeom.ward[code]] = S.lsoasOf[lgeom.ward[code]] || []).push(code);
  }
  S.lgeomId = lgeom.id;
}

function buildDots(S, pts) {
  // One circle per practice, largest list first so small dots lie on top of big ones.
  S.dots.replaceChildren();
  S.dot = {};
  S.pname = {};
  pts.codes.forEach((code, i) => {
    const c = el("circle", { class: "practice", "data-code": code }, S.dots);
    [c.__x, c.__y] = pts.xy[i];
    c.__off = pts.off[i] || [0, 0];
    c.__r = pts.r[i];
    el("title", {}, c);
    S.dot[code] = c;
    S.pname[code] = pts.names[i];
  });
  S.ptsId = pts.id;
  S.dotK = null;
}

function drawSelection(S) {
  S.selected.replaceChildren();
  const wards = S.kind === "ward", practices = S.kind === "practice", lsoas = S.kind === "lsoa";
  const shown = [];  // the shapes drawn as selected: wards, or LSOAs (a ward on the LSOA layer is its LSOAs)
  for (const code of S.sel) {
    if (lsoas) shown.push(S.lpaths[code]);
    else if (wards && S.lmode) for (const l of S.lsoasOf[code] || []) shown.push(S.lpaths[l]);
    else if (wards) shown.push(S.paths[code]);
  }
  for (const p of shown) if (p) el("path", { d: p.getAttribute("d"), class: "sel" }, S.selected);
  for (const [code, p] of Object.entries(S.lpaths)) p.classList.toggle("is-sel", lsoas && S.sel.has(code));
  for (const [code, p] of Object.entries(S.paths)) p.classList.toggle("is-sel", wards && S.sel.has(code));
  for (const [code, c] of Object.entries(S.dot)) {
    const on = practices && S.sel.has(code);
    c.classList.toggle("is-sel", on);
    if (on) S.dots.appendChild(c);  // a selected dot is drawn on top
  }
}

function drawLabels(S, labels) {
  S.labels.replaceChildren();
  // Warnings first, so a label that flags a problem is the one kept when two overlap.
  const order = [...labels].sort((a, b) => Number(b.warn) - Number(a.warn));
  for (const lab of order) {
    const t = el("text", { class: "label" + (lab.warn ? " warn" : "") }, S.labels);
    t.__x = lab.x;
    t.__y = lab.y;
    t.__lab = lab;
    fillLabel(t, S.fullLabels ? lab.full : lab.lines);
  }
  measureLabels(S);
}

function fillLabel(t, lines) {
  t.replaceChildren();
  lines.forEach((line, i) => {
    const last = i === lines.length - 1;
    const s = el("tspan", { x: 0, dy: i === 0 ? "0" : "1.1em", class: last ? "fig" : "name" }, t);
    s.textContent = line;
  });
}

function render(S, data) {
  // Draw everything that depends on the server's data (or on a prepared Assign laid over it).
  const t0 = performance.now();
  const root = S.root;
  S.data = data;
  root.style.height = `${data.height}px`;
  if (S.geomId !== data.geom.id) {
    buildShapes(S, data.geom);
    S.view = null;
  }
  if (S.ptsId !== data.pts.id) buildDots(S, data.pts);
  const lmode = !!data.lgeom;
  if (lmode && S.lgeomId !== data.lgeom.id) buildLsoas(S, data.lgeom);
  if (!lmode && S.lgeomId) {
    S.lsoaG.replaceChildren();
    S.lpaths = {};
    S.lgeomId = null;
  }
  root.classList.toggle("lsoa-mode", lmode);
  for (const b of S.kindBtns) if (b.dataset.kind === "lsoa") b.hidden = !lmode;
  if (lmode !== S.lmode) {  // the layer came or went: a click on the area picks what the page says at first
    S.lmode = lmode;
    S.areaKind = lmode ? data.area_kind || "ward" : "ward";
    if (S.lassoKind !== "practice") setLassoKind(S, S.areaKind);
  }
  S.locked = new Set(data.locked);
  S.plocked = new Set(data.plocked);
  S.llocked = new Set(data.llocked || []);
  const moved = new Set(data.moved), pmoved = new Set(data.pmoved);
  for (const [code, p] of Object.entries(S.paths)) {
    p.style.fill = lmode ? "" : data.fill[code] || "#ccc";
    p.classList.toggle("moved", !lmode && moved.has(code));
    p.classList.toggle("locked", S.locked.has(code));
    p.firstChild.textContent = lmode ? data.geom.names[code] : `${data.geom.names[code]} — ${data.tips[code] || ""}`;
  }
  for (const [code, p] of Object.entries(S.lpaths)) {
    p.style.fill = data.lfill[code] || "#ccc";
    p.classList.toggle("moved", moved.has(code));
    p.classList.toggle("locked", S.llocked.has(code));
    p.firstChild.textContent = `${data.lgeom.names[code]} (${code}) — ${data.tips[code] || ""}`;
  }
  for (const [code, c] of Object.entries(S.dot)) {
    c.style.fill = data.pfill[code] || "#ccc";
    c.classList.toggle("moved", pmoved.has(code));
    c.classList.toggle("locked", S.plocked.has(code));
    c.firstChild.textContent = `${code} ${S.pname[code]} — ${data.ptips[code] || ""}`;
  }
  S.outlines.replaceChildren();
  for (const o of data.outlines) el("path", { d: o, class: "outline" }, S.outlines);
  if (data.sel_seq >= S.seq) {
    // Python has applied every click we sent (or changed the selection itself): it is the truth.
    S.sel = new Set(data.sel);
    S.kind = data.sel_kind || "ward";
    S.seq = data.sel_seq;
    if (S.sel.size) setLassoKind(S, S.kind);  // a selection made in a list: the lasso goes on picking that kind
  }
  drawSelection(S);
  root.dataset.selected = [...S.sel].sort().join(",");
  root.dataset.kind = S.kind;
  drawLabels(S, data.labels);
  if (!S.view) fit(S);
  else applyView(S);
  S.status.textContent = "";
  root.dataset.version = String(data.version);
  root.dataset.renderMs = (performance.now() - t0).toFixed(1);  // how long this update took in the browser
}

// Assign at once. The page prepares, on each run with a selection, what assigning it to the chosen
// target gives (the map's layers and the neighbourhood table, computed by the server like any run).
// A click on the page's Assign button draws that straight away; the click still goes to the server,
// whose run then draws the same (or the truth, if it refused). Nothing is drawn when the selection
// or the chosen target has changed since it was prepared.
function chosenTarget() {
  const box = document.querySelector(".st-key-target_pick input");
  return box ? box.value : null;
}

function sameCodes(set, codes) {
  return set.size === codes.length && codes.every((c) => set.has(c));
}

function drawPrepared(S) {
  const P = S.data && S.data.prepared;
  if (!P || !S.root.isConnected || S.seq !== S.data.sel_seq || S.kind !== P.kind || !sameCodes(S.sel, P.sel)) return;
  if (chosenTarget() !== P.target) return;
  render(S, { ...S.data, ...P.layers, sel: [], prepared: null });
  const box = document.querySelector(".st-key-nb_table [data-testid='stHtml']");
  if (box) box.innerHTML = P.table;
  S.root.dataset.prepared = P.target;  // for tests: the last Assign drawn ahead of the server
}

function hookAssign() {
  if (window.__pkAssignHooked) return;
  window.__pkAssignHooked = true;
  document.addEventListener("click", (evt) => {
    const b = evt.target.closest ? evt.target.closest(".st-key-assign button") : null;
    const S = window.__pkMap;
    // After the page's own handler has sent the click to the server, before the next frame is painted.
    if (b && !b.disabled && S) setTimeout(() => drawPrepared(S), 0);
  }, true);
}

export default function (component) {
  const { data, parentElement } = component;
  const root = parentElement.querySelector(".pk-map");
  const S = root.__pk || (root.__pk = setup(root));
  S.component = component;
  window.__pkMap = S;
  hookAssign();
  render(S, data);
}
