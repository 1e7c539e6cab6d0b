// Phát trực tiếp: the microphone to the city over a WebSocket
// (city/console/live.go). MediaRecorder chunks every 100 ms; a level
// meter from a Web Audio analyser; the city reports how many wards relay.
(function () {
  "use strict";
  var box = document.getElementById("live");
  if (!box) return;
  var form = document.getElementById("live-form");
  var startBtn = document.getElementById("live-start");
  var stopBtn = document.getElementById("live-stop");
  var meter = document.getElementById("live-level");
  var status = document.getElementById("live-status");
  var t = function (k) { return box.dataset["t" + k.charAt(0).toUpperCase() + k.slice(1)] || k; };
  var ws = null, rec = null, stream = null, actx = null, timer = null, ended = false;
  // For tests and the curious: when the microphone was first heard
  // (ms since the epoch), each time the level rises from silence.
  window.loaLive = { onsets: [], state: "idle", relays: 0 };

  function say(text, cls) { status.textContent = text; status.className = "status" + (cls ? " " + cls : ""); }

  function cleanup() {
    if (timer) clearInterval(timer);
    timer = null;
    if (rec && rec.state !== "inactive") { try { rec.stop(); } catch (e) {} }
    if (stream) stream.getTracks().forEach(function (tr) { tr.stop(); });
    if (actx) actx.close();
    rec = stream = actx = null;
    meter.value = 0;
    startBtn.hidden = false;
    stopBtn.hidden = true;
    form.querySelectorAll("input").forEach(function (i) { i.disabled = false; });
  }

  function meterLoop(an) {
    var buf = new Float32Array(an.fftSize), loud = false;
    timer = setInterval(function () {
      an.getFloatTimeDomainData(buf);
      var peak = 0;
      for (var i = 0; i < buf.length; i++) peak = Math.max(peak, Math.abs(buf[i]));
      meter.value = Math.min(1, peak);
      if (peak > 0.05 && !loud) { window.loaLive.onsets.push(Date.now()); }
      loud = peak > 0.05 ? true : (peak < 0.01 ? false : loud);
    }, 10);
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var to = Array.prototype.map.call(form.querySelectorAll("input[name=to]:checked"), function (i) { return i.value; });
    if (!to.length) { say(t("notarget"), "error"); return; }
    if (!navigator.mediaDevices || !window.MediaRecorder) { say(t("https"), "error"); return; }
    var mode = form.querySelector("input[name=mode]:checked").value;
    var duck = parseFloat(document.getElementById("duck-db").value);
    ended = false;
    startBtn.hidden = true;
    stopBtn.hidden = false;
    form.querySelectorAll("input").forEach(function (i) { i.disabled = true; });
    say(t("starting"));
    navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } }).then(function (s) {
      stream = s;
      actx = new AudioContext();
      var an = actx.createAnalyser();
      an.fftSize = 512;
      actx.createMediaStreamSource(s).connect(an);
      meterLoop(an);
      var proto = location.protocol === "https:" ? "wss:" : "ws:";
      ws = new WebSocket(proto + "//" + location.host + "/live/socket");
      ws.binaryType = "arraybuffer";
      ws.onopen = function () {
        ws.send(JSON.stringify({ csrf: box.dataset.csrf, to: to.join(","), mode: mode, duck_db: duck }));
        var type = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"].find(function (m) { return MediaRecorder.isTypeSupported(m); });
        rec = new MediaRecorder(s, type ? { mimeType: type, audioBitsPerSecond: 64000 } : {});
        rec.ondataavailable = function (e) { if (e.data.size && ws && ws.readyState === 1) ws.send(e.data); };
        rec.start(100);
      };
      ws.onmessage = function (m) {
        var e = JSON.parse(m.data);
        window.loaLive.state = e.state;
        if (e.state === "live") {
          window.loaLive.relays = e.relays;
          window.loaLive.id = e.id;
          say(t("onair").replace("%d", e.relays).replace("%d", e.wards || "?"), "onair");
        } else if (e.state === "error") {
          ended = true;
          say(e.error, "error");
        } else if (e.state === "ended") {
          ended = true;
          say(t("ended"));
        }
      };
      ws.onclose = function () {
        if (!ended) say(t("lost"), "error");
        window.loaLive.state = "ended";
        ws = null;
        cleanup();
      };
    }).catch(function (err) {
      say(t("nomic") + err.message, "error");
      cleanup();
    });
  });

  stopBtn.addEventListener("click", function () {
    if (ws && ws.readyState === 1) ws.send("stop");
    else cleanup();
  });
})();
