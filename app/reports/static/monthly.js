// The monthly service-quality analysis (R18, #18): /api/reports/monthly on one printable page.
"use strict";
const { $, pct, secs, get, el: svgEl, tiles, whenSignedIn } = ReportKit;  // report-kit.js

function table(sel, rows) {
  const body = $(`${sel} tbody`); body.replaceChildren();
  for (const r of rows) { const tr = body.insertRow(); for (const v of r) tr.insertCell().textContent = v ?? "–"; }
}

function dayBars(svg, days) {
  svg.replaceChildren();
  const w = svg.clientWidth || 800, h = 200, pad = 24, max = Math.max(1, ...days.map((d) => d.calls));
  const bw = Math.max(2, (w - pad) / Math.max(days.length, 1) - 2);
  days.forEach((d, n) => {
    let y = h;
    for (const [v, color] of [[d.answered, "#0b62d6"], [d.abandoned, "#f04438"], [d.calls - d.answered - d.abandoned, "#98a2b3"]]) {
      const bh = (v / max) * (h - 10); y -= bh;
      svgEl("title", {}, svgEl("rect", { x: pad + n * (bw + 2), y, width: bw, height: bh, fill: color, "data-day": d.bucket.slice(0, 10) }, svg)).textContent = `${d.bucket.slice(0, 10)}: ${d.calls} calls`;
    }
  });
}

function rateLines(svg, days) {
  svg.replaceChildren();
  const w = svg.clientWidth || 800, h = 200, pad = 24, step = (w - pad) / Math.max(days.length - 1, 1);
  for (const [key, color] of [["service_level", "#12b76a"], ["three_ring_compliance", "#0b62d6"], ["abandon_rate", "#f04438"]]) {
    const points = days.map((d, n) => (d[key] == null ? null : `${pad + n * step},${h - d[key] * (h - 10)}`)).filter(Boolean).join(" ");
    svgEl("polyline", { points, fill: "none", stroke: color, "stroke-width": 2, "data-figure": key }, svg);
  }
}

async function show() {
  const month = $("#filters [name=month]").value;
  const m = await get(`/api/reports/monthly${month ? `?month=${month}` : ""}`);
  $("#filters [name=month]").value = m.month;
  $("#title").textContent = `${m.month}`;
  const s = m.summary;
  tiles($("#kpis"), [["Calls", s.calls], ["Offered", s.offered], ["Service level", pct(s.service_level)],
    ["Abandon rate", pct(s.abandon_rate), `${s.short_abandoned} short abandons left out`],
    ["Three-ring compliance", pct(s.three_ring_compliance), `${s.offers_missed} offers rang out`],
    ["Callers answered in three rings", pct(s.three_ring_caller)], ["ASA", secs(s.asa_seconds)],
    ["AHT", secs(s.aht_seconds), "talk + hold + wrap-up"]]);
  dayBars($("#by-day"), m.by_day);
  rateLines($("#rates"), m.by_day);
  table("#types", Object.entries(m.by_call_type));
  table("#queues", m.by_queue.map((q) => [q.queue, q.offered, pct(q.service_level), `${q.threshold_seconds} s`, pct(q.abandon_rate), pct(q.three_ring_compliance), pct(q.three_ring_caller), secs(q.asa_seconds), secs(q.aht_seconds)]));
  const c = m.complaints;
  table("#complaints", [["dispatched within 60 minutes", c.dispatched_within_60_minutes], ["handled within 5 working days", c.handled_within_5_working_days], ["called back within 72 hours", c.called_back_within_72_hours]].map(([k, v]) => [k, v.met, v.missed, v.pending]));
  table("#departments", m.complaints_by_department.map((d) => [d.department || "(none yet)", d.severity, d.complaints]));
  table("#qa", m.qa_by_team.map((t) => [t.team || "(no team)", t.agents, t.sampled, t.scored, t.overall, t.lowest]));
  const sat = m.satisfaction;
  tiles($("#satisfaction"), [["Scores", sat.count], ["Average (1–5)", sat.average ?? "–"], ...Object.entries(sat.distribution).map(([k, v]) => [`${k} ★`, v]),
    ["Complaint call-backs", c.satisfaction.average ?? "–", `${c.satisfaction.answers} answers`]]);
}

document.addEventListener("DOMContentLoaded", () => {
  const url = new URLSearchParams(location.search);
  if (url.get("month")) $("#filters [name=month]").value = url.get("month");
  $("#print").addEventListener("click", () => window.print());
  whenSignedIn(show);
});
