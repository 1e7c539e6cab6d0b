// The fleet page (Trạm phát), live: the server sends every row again
// (server-sent events, /fleet/events) when the board changes; this script
// redraws the table and the map's points from them. Without it the page is
// the same table, current at each reload.
"use strict";
(function () {
  const table = document.getElementById("fleet");
  if (!table) return;
  const body = document.getElementById("fleet-rows");
  const labels = Array.from(table.querySelectorAll("thead th")).map((th) => th.textContent);
  const colors = { ok: "#1a7f37", warn: "#9a6700", bad: "#b42318" };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function rowOf(w) {
    const tr = el("tr");
    tr.dataset.class = w.class;
    tr.dataset.ward = w.id;
    tr.dataset.slug = w.slug;
    const name = el("td");
    const a = el("a");
    a.href = "/fleet/" + encodeURIComponent(w.id);
    a.append(el("strong", "", w.name));
    name.append(a);
    if (w.name !== w.id) name.append(" ", el("span", "hint", w.id));
    const state = el("td");
    state.append(el("span", "badge " + w.class, w.state));
    if (w.problem) state.append(el("div", "hint", w.problem + (w.more ? " (+" + w.more + ")" : "")));
    const playing = el("td");
    if (w.playing) playing.textContent = w.playing;
    else playing.append(el("span", "hint", "–"));
    const cells = [name, state, playing, el("td", "num", w.level), el("td", "", w.seen), el("td", "", w.version)];
    cells.forEach((td, i) => { if (i >= 3) td.dataset.label = labels[i]; });
    tr.append(...cells);
    return tr;
  }

  // The map: one circle per located ward, coloured by its state, its name
  // beside it. Tiles when the city configures a reachable tile server; the
  // points show without them.
  let markers = {};
  const mapEl = document.getElementById("fleet-map");
  if (mapEl && window.L) try {
    const pts = JSON.parse(document.getElementById("fleet-points").textContent || "[]");
    const map = L.map(mapEl, { attributionControl: !!mapEl.dataset.tiles });
    if (mapEl.dataset.tiles) {
      L.tileLayer(mapEl.dataset.tiles, { maxZoom: 18, attribution: mapEl.dataset.attrib || "" }).addTo(map);
    }
    // The view first: Leaflet places the names' tooltips against it.
    const bounds = pts.map((p) => [p.lat, p.lon]);
    const fit = () => {
      if (bounds.length === 1) map.setView(bounds[0], 13);
      else map.fitBounds(bounds, { paddingTopLeft: [30, 30], paddingBottomRight: [150, 30], maxZoom: 14 });
    };
    fit();
    window.addEventListener("resize", () => { map.invalidateSize(); fit(); });
    for (const p of pts) {
      const m = L.circleMarker([p.lat, p.lon], { radius: 9, weight: 2, color: "#fff", fillColor: colors[p.class] || colors.bad, fillOpacity: 0.9 });
      m.addTo(map);
      m.bindTooltip(p.name, { permanent: true, direction: "right", className: "lbl" });
      m.bindPopup(() => { const d = el("div"); const a = el("a", "", p.name); a.href = "/fleet/" + encodeURIComponent(p.id); d.append(a, el("div", "", markers[p.id].state)); return d; });
      if (m.getElement()) m.getElement().setAttribute("data-ward", p.id);
      markers[p.id] = { m: m, state: p.state };
    }
    mapEl.dataset.points = String(pts.length);
  } catch (e) {
    // The table and its live feed do not depend on the map.
    mapEl.textContent = String(e);
  }

  if (!window.EventSource) return;
  const group = table.dataset.group;
  const es = new EventSource("/fleet/events" + (group ? "?group=" + encodeURIComponent(group) : ""));
  const live = document.getElementById("fleet-live");
  es.addEventListener("open", () => { live.hidden = false; });
  es.addEventListener("error", () => { live.hidden = true; });
  es.addEventListener("board", (ev) => {
    const d = JSON.parse(ev.data);
    body.replaceChildren(...d.rows.map(rowOf));
    document.getElementById("fleet-problems").textContent = String(d.rows.filter((w) => w.problem).length);
    document.getElementById("fleet-updated").textContent = d.updated;
    for (const w of d.rows) {
      const k = markers[w.id];
      if (k) { k.m.setStyle({ fillColor: colors[w.class] || colors.bad }); k.state = w.state; }
    }
  });
})();
