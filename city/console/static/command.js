// A command's result page: while answers may still come, ask the city for
// them every 1.5 s (/commands/{id}/answers) and redraw the table. Without
// this script the page is the same table, current at each reload.
"use strict";
(function () {
  const box = document.getElementById("answers");
  if (!box || box.dataset.pending !== "true" || !window.fetch) return;
  const body = document.getElementById("answer-rows");
  const summary = document.getElementById("command-summary");
  const following = document.getElementById("command-following");

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function rowOf(r) {
    const tr = el("tr");
    tr.dataset.ward = r.ward;
    tr.dataset.state = r.state;
    const name = el("td");
    const a = el("a");
    a.href = "/fleet/" + encodeURIComponent(r.ward);
    if (r.name) a.append(r.name + " ", el("span", "hint", r.ward));
    else a.textContent = r.ward;
    name.append(a);
    const ans = el("td");
    ans.append(el("span", "badge " + r.class, r.label));
    if (r.reason) ans.append(" ", el("span", "reason", r.reason));
    if (r.detail) ans.append(el("div", "detail", r.detail));
    if (r.diag) {
      const d = el("details", "diag");
      d.append(el("summary", "", box.dataset.diag || "Diagnostics"), el("pre", "", r.diag));
      ans.append(d);
    }
    tr.append(name, ans, el("td", "num", r.at || ""));
    return tr;
  }

  function fill(fmt, nums) {
    let i = 0;
    return fmt.replace(/%d/g, () => String(nums[i++]));
  }

  async function poll() {
    try {
      const res = await fetch("/commands/" + encodeURIComponent(box.dataset.id) + "/answers", { headers: { Accept: "application/json" }, cache: "no-store" });
      if (res.ok) {
        const v = await res.json();
        body.replaceChildren(...v.rows.map(rowOf));
        summary.textContent = fill(summary.dataset.format, [v.done, v.failed, v.refused, v.waiting]);
        if (!v.pending) { following.hidden = true; return; }
      }
    } catch (e) {
      // The next poll tries again.
    }
    setTimeout(poll, 1500);
  }
  setTimeout(poll, 1000);
})();
