// What the report pages share (dashboard, staffing, monthly): formatting, SVG, KPI tiles, the
// API through /desk/auth.js, and showing the report once signed in.
"use strict";
window.ReportKit = (() => {
  const $ = (s) => document.querySelector(s);
  const pct = (v) => (v == null ? "–" : `${(100 * v).toFixed(1)} %`);
  const secs = (v) => (v == null ? "–" : `${v.toFixed(1)} s`);
  const get = (path) => HotlineAuth.api("GET", path);
  function el(tag, attrs, parent) {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }
  function tiles(box, items) {  // [label, value, note]
    box.replaceChildren(...items.map(([label, value, note]) => {
      const d = document.createElement("div"); d.className = "kpi";
      d.innerHTML = "<small></small><b></b><small></small>";
      d.children[0].textContent = label; d.children[1].textContent = value; d.children[2].textContent = note || "";
      return d;
    }));
  }
  function whenSignedIn(show) {  // the form's submit and the sign-in both show the report
    const run = () => show().catch((err) => alert(err.message));
    $("#filters").addEventListener("submit", (e) => { e.preventDefault(); run(); });
    HotlineAuth.mount($("#login-panel"), {
      onSignedIn: () => { $("#report").hidden = false; run(); },
      onSignedOut: () => { $("#report").hidden = true; },
    });
    $("#report").hidden = false;
    show().catch(() => { /* the login form is shown */ });
  }
  return { $, pct, secs, get, el, tiles, whenSignedIn };
})();
