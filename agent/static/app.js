// The ward's status page: polls the daemon's JSON and draws it. No build
// step, no library: what a technician's phone on the ward's network needs.
"use strict";

let tz = "Asia/Ho_Chi_Minh";
let timeline = [];

const $ = (id) => document.getElementById(id);

function fmt(t, opts) {
  if (!t || t.startsWith("0001-")) return "";
  return new Intl.DateTimeFormat("vi-VN", Object.assign({ timeZone: tz, hourCycle: "h23" }, opts)).format(new Date(t));
}
const hm = (t) => fmt(t, { hour: "2-digit", minute: "2-digit" });
const hms = (t) => fmt(t, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function dur(s) {
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return (h > 0 ? h + ":" + two(m) : m) + ":" + two(r);
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function row(list, time, what, result, resultCls, rowCls) {
  const li = el("li", rowCls || "");
  li.append(el("span", "t", time), el("span", "w", what));
  if (result) li.append(el("span", "r " + (resultCls || ""), result));
  list.append(li);
}

const results = {
  completed: ["đã phát xong / completed", "good"],
  cut: ["bị cắt / cut", "warn"],
  interrupted: ["bị ngắt / interrupted", "warn"],
  missed: ["bỏ lỡ / missed", "bad"],
  skipped: ["bỏ qua / skipped", "bad"],
  failed: ["lỗi / failed", "bad"],
  unfinished: ["chưa xong / unfinished", "warn"],
  displaced: ["bị thay / displaced", "warn"],
  cancelled: ["huỷ / cancelled", "warn"],
};

function drawStatus(s) {
  if (s.timezone) tz = s.timezone;
  $("ward").textContent = "Đài truyền thanh " + (s.ward || "(chưa đặt tên / unnamed)");
  $("clock").textContent = fmt(s.now, { day: "2-digit", month: "2-digit", year: "numeric" }) + " " + hms(s.now) + " (" + tz + ")";
  $("version").textContent = s.version;

  const problems = (s.problems || []).slice();
  if (s.fleet && !s.fleet.transport.connected) problems.push("Mất kết nối với đài thành phố / not connected to the city (" + (s.fleet.transport.detail || s.fleet.transport.kind) + ")");
  if (s.fleet && s.fleet.asrun_unshipped > 0) problems.push("Nhật ký chưa gửi / as-run entries not yet at the city: " + s.fleet.asrun_unshipped);
  const pl = $("problems");
  pl.replaceChildren();
  for (const p of problems) pl.append(el("li", "", p));
  $("problems-box").hidden = problems.length === 0;

  // Never "OK" next to a listed problem, the page's own included.
  const ok = s.healthy && problems.length === 0;
  document.title = (s.ward || "loa") + " — " + (ok ? "TỐT / OK" : "CÓ LỖI / PROBLEMS");
  const h = $("health");
  h.textContent = ok ? "TỐT / OK" : "CÓ LỖI / PROBLEMS";
  h.className = "badge " + (ok ? "ok" : "bad");

  const now = $("now"), a = s.alert, l = s.live, p = s.now_playing;
  const title = $("now-title"), item = $("now-item"), bar = $("now-bar");
  if (a) {
    now.className = "now alert";
    title.textContent = "CẢNH BÁO / ALERT: " + (a.title || a.id);
    item.textContent = "từ / since " + hms(a.start);
    bar.style.width = "100%";
  } else if (l) {
    now.className = "now live";
    title.textContent = "ĐANG PHÁT TRỰC TIẾP / LIVE" + (l.title ? ": " + l.title : "");
    item.textContent = "từ / since " + hms(l.start) + (p ? " · " + (p.title || p.id) + " (hạ âm / ducked)" : "");
    bar.style.width = "100%";
  } else if (p) {
    now.className = "now playing";
    title.textContent = p.title || p.id;
    const len = (new Date(p.end) - new Date(p.start)) / 1000;
    const off = p.offset_ns / 1e9;
    item.textContent = (p.item ? p.item + " · " : "") + hm(p.start) + "–" + hm(p.end) + " · " + dur(off) + (len > 0 ? " / " + dur(len) : "");
    bar.style.width = len > 0 ? Math.min(100, (100 * off) / len).toFixed(1) + "%" : "0";
  } else {
    now.className = "now idle";
    title.replaceChildren("Nghỉ ", el("span", "en", "/ idle"));
    const n = (s.next || [])[0];
    item.textContent = n ? "tiếp theo / next: " + hm(n.start) + " " + (n.title || n.id) : "";
    bar.style.width = "0";
  }
  $("now-level").textContent = "mức / level " + s.device.level_dbfs.toFixed(1) + " dBFS" + (s.silent_s > 0 ? " · im lặng / silent " + dur(s.silent_s) : "");

  const ar = $("asrun");
  ar.replaceChildren();
  if (!s.last_asrun.length) row(ar, "", "Chưa có / none yet", "");
  for (const e of s.last_asrun) {
    const key = e.result.split(":")[0];
    const [word, cls] = results[key] || [e.result, ""];
    let when = hm(e.planned);
    if (e.actual && !e.actual.startsWith("0001-") && Math.abs(e.late_ms) >= 1000) when += " (" + (e.late_ms > 0 ? "+" : "") + Math.round(e.late_ms / 1000) + "s)";
    row(ar, when, e.program + (e.item ? " — " + e.item : "") + (e.note ? " · " + e.note : ""), word, cls);
  }

  const facts = $("facts");
  facts.replaceChildren();
  const fact = (k, v) => facts.append(el("dt", "", k), el("dd", "", v));
  fact("Thiết bị / device", s.device.ok ? s.device.output + " OK" : "LỖI / ERROR: " + s.device.error);
  fact("Đồng hồ / clock", s.clock.trusted ? "đúng giờ / trusted (" + s.clock.source + ")" : "LỆCH GIỜ / NOT TRUSTED: " + (s.clock.detail || ""));
  fact("Âm ly / amplifier", s.amplifier.powered ? "bật / on" : "tắt / off");
  if (s.sync) fact("Đồng bộ / sync", "v" + s.sync.version + (s.sync.last_success ? ", " + dur(s.sync.age_s) + " trước / ago" : ", chưa / never") + (s.sync.last_error ? " · " + s.sync.last_error : ""));
  else fact("Đồng bộ / sync", "không có đài thành phố / no city");
  if (s.fleet) fact("Kết nối / link", (s.fleet.transport.connected ? "đã kết nối / connected " : "MẤT KẾT NỐI / DISCONNECTED ") + (s.fleet.transport.url || ""));
  fact("Chạy / up", dur(s.uptime_s));
  drawTimeline(s.now);
}

function drawTimeline(nowISO) {
  const list = $("timeline");
  list.replaceChildren();
  if (!timeline.length) {
    row(list, "", "Không có chương trình / nothing scheduled", "");
    return;
  }
  const now = new Date(nowISO || Date.now());
  for (const e of timeline) {
    const st = new Date(e.start), en = new Date(e.end);
    const cls = en <= now ? "past" : st <= now ? "current" : "";
    const what = (e.title || e.id) + (e.items && e.items.length ? " — " + e.items.join(", ") : e.relay ? " — tiếp sóng / relay" : "");
    row(list, hm(e.start) + "–" + hm(e.end), what, e.priority !== "normal" ? e.priority : "", e.priority === "urgent" ? "warn" : "", cls);
  }
}

async function get(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

let last = null;
async function refreshStatus() {
  try {
    last = await get("api/v1/status");
    drawStatus(last);
  } catch (e) {
    const h = $("health");
    h.textContent = "KHÔNG TRẢ LỜI / NOT ANSWERING";
    h.className = "badge bad";
  }
}

async function refreshTimeline() {
  try {
    const t = await get("api/v1/timeline");
    timeline = t.programs || [];
    if (t.timezone) tz = t.timezone;
    drawTimeline(last && last.now);
  } catch (e) { /* the status poll shows the daemon's state */ }
}

refreshTimeline().then(refreshStatus);
setInterval(refreshStatus, 3000);
setInterval(refreshTimeline, 60000);
