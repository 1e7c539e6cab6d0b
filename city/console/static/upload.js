// loa console: the library's upload form, enhanced. Without this script the
// form posts the files in one request. With it, each file goes through the
// resumable upload API (docs/api.md) in small pieces, with a progress bar,
// and resumes where it stopped when a 3G link drops.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form || !window.fetch || !window.Blob) return;
  var input = document.getElementById("file");
  var list = document.getElementById("progress");
  var drop = form.querySelector(".drop");
  var csrf = form.dataset.csrf;
  var msg = function (k) { return form.dataset["msg" + k] || k; };
  var CHUNK = 256 * 1024;

  ["dragover", "dragenter"].forEach(function (ev) {
    drop.addEventListener(ev, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (ev) {
    drop.addEventListener(ev, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) input.files = e.dataTransfer.files;
  });

  function api(method, url, body, headers) {
    var h = { "X-CSRF-Token": csrf };
    for (var k in headers || {}) h[k] = headers[k];
    return fetch(url, { method: method, body: body, headers: h, credentials: "same-origin" }).then(function (r) {
      return r.text().then(function (t) {
        var j = {};
        try { j = JSON.parse(t); } catch (e) { j = { error: t }; }
        return { status: r.status, body: j, offset: r.headers.get("Upload-Offset") };
      });
    });
  }

  function wait(ms) { return new Promise(function (ok) { setTimeout(ok, ms); }); }

  function row(file) {
    var li = document.createElement("li");
    var name = document.createElement("span");
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = file.size || 1;
    bar.value = 0;
    var state = document.createElement("span");
    state.className = "state";
    li.appendChild(name); li.appendChild(bar); li.appendChild(state);
    list.appendChild(li);
    return {
      progress: function (n) { bar.value = n; state.textContent = msg("Uploading") + " " + Math.floor(100 * n / (file.size || 1)) + "%"; },
      say: function (t, cls) { state.textContent = t; li.className = cls || ""; }
    };
  }

  // send uploads one file; transient failures (network, 5xx) are retried
  // with a growing pause, resuming from the offset the city has.
  function send(file, title, ui) {
    var q = "name=" + encodeURIComponent(file.name) + "&size=" + file.size + (title ? "&title=" + encodeURIComponent(title) : "");
    var pause = 1000;
    return api("POST", "/api/v1/uploads?" + q).then(function (r) {
      if (r.status !== 201) throw new Error(r.body.error || ("HTTP " + r.status));
      var id = r.body.id, offset = 0;
      function next() {
        if (offset >= file.size && file.size > 0) return null;
        var end = Math.min(offset + CHUNK, file.size);
        if (end === file.size) ui.say(msg("Transcoding"));
        return api("PATCH", "/api/v1/uploads/" + id, file.slice(offset, end), { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" })
          .then(function (r) {
            if (r.status === 200 && r.body.offset !== undefined && !r.body.sha256) {
              offset = r.body.offset; pause = 1000; ui.progress(offset); return next();
            }
            if (r.status === 200 || r.status === 201) return r.body;
            if (r.status === 409 && r.offset !== null) { offset = parseInt(r.offset, 10); return next(); }
            if (r.status >= 500) throw { retry: true };
            throw new Error(r.body.error || ("HTTP " + r.status));
          }, function () { throw { retry: true }; })
          .catch(function (e) {
            if (!e || !e.retry) throw e;
            ui.say(msg("Retrying") + " " + Math.round(pause / 1000) + " s", "warn");
            return wait(pause).then(function () {
              pause = Math.min(pause * 2, 30000);
              return api("GET", "/api/v1/uploads/" + id).then(function (r) {
                if (r.status === 200) offset = r.body.offset;
                return next();
              }, function () { return next(); });
            });
          });
      }
      return next();
    });
  }

  form.addEventListener("submit", function (e) {
    if (!input.files.length) return;
    e.preventDefault();
    var title = document.getElementById("title").value.trim();
    var files = Array.prototype.slice.call(input.files);
    form.querySelector("button[type=submit]").disabled = true;
    list.textContent = "";
    var failed = 0;
    files.reduce(function (p, file) {
      return p.then(function () {
        var ui = row(file);
        return send(file, files.length === 1 ? title : "", ui).then(function (m) {
          ui.say(m.created ? msg("Added") : msg("Same"), "ok");
        }, function (err) {
          failed++;
          ui.say(err.message || String(err), "error");
        });
      });
    }, Promise.resolve()).then(function () {
      form.querySelector("button[type=submit]").disabled = false;
      if (!failed) window.location.reload();
    });
  });
})();
