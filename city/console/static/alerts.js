// The alert follow-up page: each ward's receipts as the city hears them
// (server-sent events from /alerts/{id}/events). Without JavaScript the
// page still shows the state when it was loaded.
(function () {
  var table = document.getElementById("receipts");
  if (!table || !table.dataset.events || !window.EventSource) return;
  var labels = JSON.parse(table.dataset.labels || "{}");
  var live = document.getElementById("live");
  var ms = function (v) { return v == null ? "—" : (v / 1000).toFixed(1) + " s"; };
  var es = new EventSource(table.dataset.events);
  es.onmessage = function (ev) {
    var a = JSON.parse(ev.data);
    (a.wards || []).forEach(function (w) {
      var row = table.querySelector('tr[data-ward="' + CSS.escape(w.ward) + '"]');
      if (!row) return;
      row.className = "st-" + w.state;
      row.querySelector(".state").textContent = (labels[w.state] || w.state) + (w.reason ? ": " + w.reason : "");
      row.querySelector(".rec").textContent = ms(w.received_ms);
      row.querySelector(".sta").textContent = ms(w.started_ms);
      row.querySelector(".fin").textContent = ms(w.finished_ms);
    });
  };
  es.addEventListener("done", function () { es.close(); if (live) live.textContent = ""; });
})();
