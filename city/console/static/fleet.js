// The fleet page (Trạm phát), live (server-sent events, /fleet/events):
// the server sends the whole board first ("board"), then only the rows
// that changed ("rows": changed rows, rows gone, heartbeat times moved);
// this script patches the table in place, keeping problems first, and
// recolours the map's points. Each event's id is "<stream>.<n>": an update
// that does not follow the last one makes the page reconnect, and a new
// stream starts with the whole board. The "last heard" column is written
// here, every second, from each ward's last heartbeat and the server's
// clock. Without the script the page is the same table, current at each
// reload.
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
    tr.dataset.sev = String(w.sev || 0);
    tr.dataset.name = w.name;
    if (w.problem) tr.dataset.problem = "";
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
    const cells = [name, state, playing, el("td", "num", w.level), el("td", "", ""), el("td", "", w.version)];
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

  // "Last heard", from the ward's last heartbeat (Unix ms; 0: never) by
  // the server's clock.
  const words = table.dataset;
  let offset = 0; // the server's clock less this one's, ms
  function seenText(ms) {
    if (!ms) return words.never;
    const s = Math.max(0, Math.floor((Date.now() + offset - ms) / 1000));
    if (s < 60) return s + " " + words.secago;
    if (s < 3600) return Math.floor(s / 60) + " " + words.agomin;
    if (s < 48 * 3600) return Math.floor(s / 3600) + " " + words.agohour;
    return Math.floor(s / 86400) + " " + words.agoday;
  }
  function drawSeen(tr) {
    const td = tr.cells[4];
    const t = seenText(Number(tr.dataset.seen || 0));
    if (td && td.textContent !== t) td.textContent = t;
  }

  // The rows by ward, and the page's order: problems first, worst first,
  // then by name, then by id (as the server sorts).
  const rows = new Map();
  for (const tr of body.querySelectorAll("tr[data-ward]")) rows.set(tr.dataset.ward, tr);
  function before(a, b) {
    const sa = Number(a.dataset.sev), sb = Number(b.dataset.sev);
    if (sa !== sb) return sa > sb;
    if (a.dataset.name !== b.dataset.name) return a.dataset.name < b.dataset.name;
    return a.dataset.ward < b.dataset.ward;
  }
  // place puts a row that is not in the table at its place among the
  // others (which are in order).
  function place(tr) {
    const list = body.children;
    let lo = 0, hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(list[mid], tr)) lo = mid + 1;
      else hi = mid;
    }
    body.insertBefore(tr, list[lo] || null);
  }
  function recolour(w) {
    const k = markers[w.id];
    if (k) { k.m.setStyle({ fillColor: colors[w.class] || colors.bad }); k.state = w.state; }
  }

  function apply(name, d) {
    offset = d.now - Date.now();
    if (name === "board") {
      rows.clear();
      const trs = d.rows.map(rowOf);
      trs.forEach((tr) => rows.set(tr.dataset.ward, tr));
      body.replaceChildren(...trs);
    } else {
      for (const id of d.gone || []) {
        const tr = rows.get(id);
        if (tr) { tr.remove(); rows.delete(id); }
      }
      if (d.rows.length) for (const tr of body.querySelectorAll("tr:not([data-ward])")) tr.remove(); // "no wards"
      for (const w of d.rows) {
        const tr = rowOf(w);
        const old = rows.get(w.id);
        if (old) tr.dataset.seen = old.dataset.seen || "0";
        rows.set(w.id, tr);
        if (old && old.dataset.sev === tr.dataset.sev && old.dataset.name === tr.dataset.name) {
          old.replaceWith(tr); // its place is the same
        } else {
          if (old) old.remove();
          place(tr);
        }
      }
    }
    for (const w of d.rows) recolour(w);
    for (const id in d.seen || {}) {
      const tr = rows.get(id);
      if (tr) tr.dataset.seen = String(d.seen[id]);
    }
    for (const tr of rows.values()) drawSeen(tr);
    document.getElementById("fleet-count").textContent = String(rows.size);
    document.getElementById("fleet-problems").textContent = String(body.querySelectorAll("tr[data-problem]").length);
    document.getElementById("fleet-updated").textContent = d.updated;
  }

  if (!window.EventSource) return;
  const group = table.dataset.group;
  const live = document.getElementById("fleet-live");
  let es = null, stream = "", n = 0;
  function connect() {
    if (es) es.close();
    stream = "";
    es = new EventSource("/fleet/events" + (group ? "?group=" + encodeURIComponent(group) : ""));
    es.addEventListener("open", () => { live.hidden = false; });
    es.addEventListener("error", () => { live.hidden = true; });
    const take = (ev) => {
      const [s, k] = String(ev.lastEventId).split(".");
      if (ev.type === "board") { stream = s; n = Number(k); }
      else if (s !== stream || Number(k) !== n + 1) { connect(); return; } // missed one: the whole board again
      else n++;
      apply(ev.type, JSON.parse(ev.data));
    };
    es.addEventListener("board", take);
    es.addEventListener("rows", take);
  }
  connect();
  setInterval(() => { for (const tr of rows.values()) drawSeen(tr); }, 1000);
})();
