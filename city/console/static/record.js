// Ghi âm / Record: the compose page's recording block
// (templates/alert_new.html, alerts_record.go). The microphone is
// recorded with MediaRecorder; on Dừng the recording is put into the
// form's "recording" file field, so that it is sent with the form and
// becomes the alert's content exactly like an upload (the city converts
// and checks it). Without MediaRecorder or without the microphone the
// block says why, in both languages; the other sources still work.
(function () {
  "use strict";
  var box = document.getElementById("rec");
  if (!box) return;
  var form = box.closest("form");
  var startBtn = document.getElementById("rec-start");
  var stopBtn = document.getElementById("rec-stop");
  var againBtn = document.getElementById("rec-again");
  var timeOut = document.getElementById("rec-time");
  var meter = document.getElementById("rec-level");
  var player = document.getElementById("rec-play");
  var listen = document.getElementById("rec-listen");
  var fileIn = document.getElementById("rec-file");
  var status = document.getElementById("rec-status");
  var kind = form.querySelector("input[name=kind][value=record]");
  var MAX_S = 600; // ten minutes: far longer than any spoken alert
  var t = function (k) { return box.dataset["t" + k.charAt(0).toUpperCase() + k.slice(1)] || k; };
  var rec = null, stream = null, actx = null, timer = null, chunks = [], started = 0, blob = null, url = null;
  // For tests and the curious.
  window.loaRecord = { state: "idle", seconds: 0, size: 0, type: "" };

  function say(text, cls) { status.textContent = text; status.className = "status" + (cls ? " " + cls : ""); }
  function clock(s) { s = Math.floor(s); return Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2); }
  function show(el, on) { el.hidden = !on; }

  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder) {
    say(t("unsupported"), "error");
    startBtn.disabled = true;
    window.loaRecord.state = "unsupported";
    return;
  }
  say("");
  startBtn.disabled = false;

  function release() {
    if (timer) clearInterval(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(function (tr) { tr.stop(); });
    if (actx) actx.close();
    stream = actx = null;
    meter.value = 0;
  }

  function clear() {
    blob = null;
    if (url) URL.revokeObjectURL(url);
    url = null;
    player.removeAttribute("src");
    listen.hidden = true;
    fileIn.value = "";
    window.loaRecord.size = 0;
  }

  function start() {
    clear();
    if (kind) kind.checked = true;
    startBtn.disabled = true;
    againBtn.hidden = true;
    say(t("recording"));
    navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } }).then(function (s) {
      stream = s;
      actx = new AudioContext();
      var an = actx.createAnalyser();
      an.fftSize = 512;
      actx.createMediaStreamSource(s).connect(an);
      var buf = new Float32Array(an.fftSize);
      var type = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm"].find(function (m) { return MediaRecorder.isTypeSupported(m); });
      rec = new MediaRecorder(s, type ? { mimeType: type } : {});
      chunks = [];
      rec.ondataavailable = function (e) { if (e.data && e.data.size) chunks.push(e.data); };
      rec.onerror = function (e) { say(t("failed") + (e.error ? e.error.message : ""), "error"); stopped(false); };
      rec.onstop = function () { stopped(true); };
      rec.start(250);
      started = performance.now();
      window.loaRecord.state = "recording";
      show(startBtn, false);
      show(stopBtn, true);
      timer = setInterval(function () {
        var secs = (performance.now() - started) / 1000;
        timeOut.value = clock(secs);
        window.loaRecord.seconds = secs;
        an.getFloatTimeDomainData(buf);
        var peak = 0;
        for (var i = 0; i < buf.length; i++) peak = Math.max(peak, Math.abs(buf[i]));
        meter.value = Math.min(1, peak);
        if (secs >= MAX_S) stop();
      }, 100);
    }).catch(function (err) {
      var denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
      say(denied ? t("denied") : t("nomic") + (err && err.message ? err.message : err), "error");
      window.loaRecord.state = denied ? "denied" : "nomic";
      release();
      startBtn.disabled = false;
      show(startBtn, true);
      show(stopBtn, false);
    });
  }

  function stop() {
    if (rec && rec.state !== "inactive") rec.stop();
    stopBtn.disabled = true;
  }

  function stopped(ok) {
    var secs = (performance.now() - started) / 1000;
    var mime = rec && rec.mimeType ? rec.mimeType : "audio/webm";
    rec = null;
    release();
    stopBtn.disabled = false;
    show(stopBtn, false);
    show(startBtn, !ok);
    startBtn.disabled = false;
    if (!ok || !chunks.length) { window.loaRecord.state = "idle"; return; }
    blob = new Blob(chunks, { type: mime });
    chunks = [];
    var ext = mime.indexOf("ogg") >= 0 ? ".ogg" : mime.indexOf("mp4") >= 0 ? ".m4a" : ".webm";
    try {
      var dt = new DataTransfer();
      dt.items.add(new File([blob], "ghi-am" + ext, { type: mime.split(";")[0] }));
      fileIn.files = dt.files;
    } catch (e) {
      // No DataTransfer (older Safari): the form is sent by fetch below.
    }
    url = URL.createObjectURL(blob);
    player.src = url;
    listen.hidden = false;
    show(againBtn, true);
    timeOut.value = clock(secs);
    say(t("ready").replace("%s", clock(secs)), "ok");
    window.loaRecord = { state: "ready", seconds: secs, size: blob.size, type: mime };
  }

  startBtn.addEventListener("click", start);
  stopBtn.addEventListener("click", stop);
  againBtn.addEventListener("click", start);

  // Where the file field could not take the recording, send the form
  // with it by fetch and show the answer (the confirmation step).
  form.addEventListener("submit", function (ev) {
    if (!blob || !kind || !kind.checked || (fileIn.files && fileIn.files.length)) return;
    ev.preventDefault();
    var fd = new FormData(form);
    fd.set("action", "preview");
    fd.set("recording", blob, "ghi-am");
    fetch(form.action, { method: "POST", body: fd, credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
      document.open();
      document.write(html);
      document.close();
    });
  });
})();
