// The compose page's map (Soạn cảnh báo): one point per located ward the
// user may alert; clicking a point ticks or unticks that ward's checkbox,
// and a point is filled when its ward is ticked (by the map or the list).
// Without this script the checkboxes below work as they are.
"use strict";
(function () {
  const mapEl = document.getElementById("alert-map");
  if (!mapEl || !window.L) return;
  const on = "#b42318", off = "#ffffff";
  try {
    const pts = JSON.parse(document.getElementById("alert-points").textContent || "[]");
    const box = (id) => Array.from(document.querySelectorAll('input[type=checkbox][name=to]')).find((b) => b.value === id);
    const map = L.map(mapEl, { attributionControl: !!mapEl.dataset.tiles });
    if (mapEl.dataset.tiles) {
      L.tileLayer(mapEl.dataset.tiles, { maxZoom: 18, attribution: mapEl.dataset.attrib || "" }).addTo(map);
    }
    const bounds = pts.map((p) => [p.lat, p.lon]);
    const fit = () => {
      if (bounds.length === 1) map.setView(bounds[0], 13);
      else map.fitBounds(bounds, { paddingTopLeft: [30, 30], paddingBottomRight: [120, 30], maxZoom: 14 });
    };
    fit();
    window.addEventListener("resize", () => { map.invalidateSize(); fit(); });
    const markers = {};
    const paint = (id) => {
      const b = box(id), m = markers[id];
      if (!m) return;
      const ticked = !!(b && b.checked);
      m.setStyle({ fillColor: ticked ? on : off, color: ticked ? "#fff" : on });
      if (m.getElement()) m.getElement().setAttribute("data-ticked", ticked ? "1" : "0");
    };
    for (const p of pts) {
      const m = L.circleMarker([p.lat, p.lon], { radius: 10, weight: 3, fillOpacity: 0.9 });
      m.addTo(map);
      m.bindTooltip(p.name, { permanent: true, direction: "right", className: "lbl" });
      m.on("click", () => {
        const b = box(p.id);
        if (!b) return;
        b.checked = !b.checked;
        b.dispatchEvent(new Event("change", { bubbles: true }));
      });
      if (m.getElement()) {
        m.getElement().setAttribute("data-ward", p.id);
        m.getElement().setAttribute("role", "button");
        m.getElement().setAttribute("aria-label", p.name);
      }
      markers[p.id] = m;
      paint(p.id);
    }
    document.addEventListener("change", (e) => {
      if (e.target && e.target.name === "to") paint(e.target.value);
    });
    mapEl.dataset.points = String(pts.length);
  } catch (e) {
    // The checkboxes do not depend on the map.
    mapEl.textContent = String(e);
  }
})();
