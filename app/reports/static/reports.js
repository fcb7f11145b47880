// The manager dashboard (R18, R19): figures from /api/reports/*, charts as inline SVG.
"use strict";
const { $, pct, secs, get, el, tiles, whenSignedIn } = ReportKit;  // report-kit.js

function range() {
  const f = new FormData($("#filters"));
  const from = new Date(`${f.get("from")}T00:00:00`), to = new Date(`${f.get("to")}T00:00:00`);
  to.setDate(to.getDate() + 1);
  const q = new URLSearchParams({ since: from.toISOString(), until: to.toISOString() });
  if (f.get("queue")) q.set("queue", f.get("queue"));
  if (f.get("call_type")) q.set("call_type", f.get("call_type"));
  return q;
}


function bars(svg, items) {
  svg.replaceChildren();
  const w = svg.clientWidth || 800, h = 200, pad = 24;
  const max = Math.max(1, ...items.map((i) => i.calls));
  const bw = Math.max(2, (w - pad) / Math.max(items.length, 1) - 2);
  items.forEach((i, n) => {
    const x = pad + n * (bw + 2);
    let y = h;
    for (const [value, color] of [[i.answered, "#0b62d6"], [i.abandoned, "#f04438"], [i.calls - i.answered - i.abandoned, "#98a2b3"]]) {
      const bh = (value / max) * (h - 10);
      y -= bh;
      const r = el("rect", { x, y, width: bw, height: bh, fill: color }, svg);
      el("title", {}, r).textContent = `${i.bucket}: ${i.calls} calls, ${i.answered} answered, ${i.abandoned} abandoned`;
    }
    if (items.length <= 48 && n % 3 === 0) el("text", { x, y: h + 14, "font-size": 10 }, svg).textContent = i.bucket.slice(11, 13) || i.bucket.slice(5, 10);
  });
  el("text", { x: 0, y: 10, "font-size": 10 }, svg).textContent = String(max);
}

function lines(svg, items) {
  svg.replaceChildren();
  const w = svg.clientWidth || 800, h = 200, pad = 30;
  const x = (n) => pad + (n * (w - pad - 10)) / Math.max(items.length - 1, 1);
  const y = (v) => h - v * (h - 10);
  for (const [key, color] of [["abandon_rate", "#f04438"], ["service_level", "#12b76a"]]) {
    const pts = items.map((i, n) => (i[key] == null ? null : `${x(n)},${y(i[key])}`)).filter(Boolean);
    el("polyline", { points: pts.join(" "), fill: "none", stroke: color, "stroke-width": 2 }, svg);
    items.forEach((i, n) => { if (i[key] != null) el("title", {}, el("circle", { cx: x(n), cy: y(i[key]), r: 3, fill: color }, svg)).textContent = `${i.bucket.slice(0, 10)} ${key}: ${pct(i[key])}`; });
  }
  for (const v of [0, 0.5, 1]) el("text", { x: 0, y: y(v) + 4, "font-size": 10 }, svg).textContent = `${v * 100}%`;
  items.forEach((i, n) => el("text", { x: x(n) - 12, y: h + 14, "font-size": 10 }, svg).textContent = i.bucket.slice(5, 10));
}

async function show() {
  const q = range();
  $("#csv").href = `/api/reports/summary?${q}&format=csv`;
  const [summary, hours, days, agents] = await Promise.all([
    get(`/api/reports/summary?${q}`), get(`/api/reports/volume?${q}&bucket=hour`),
    get(`/api/reports/volume?${q}&bucket=day`), get(`/api/reports/agents?${q}`)]);
  const kpis = [["Offered", summary.offered], ["Answered", summary.answered],
    ["Abandoned", `${summary.abandoned}`, `${summary.short_abandoned} short (excluded)`],
    ["Abandon rate", pct(summary.abandon_rate)], ["Service level", pct(summary.service_level)],
    ["Three-ring compliance", pct(summary.three_ring_compliance), `of ${summary.offers_decided} offers · ${summary.offers_missed} rang out`],
    ["Answered by the first phone", pct(summary.three_ring_first_offer), "within three rings, per call"],
    ["Answered within three rings", pct(summary.three_ring_caller), "of entering the queue, per call"],
    ["ASA", secs(summary.asa_seconds)], ["AHT", secs(summary.aht_seconds), "talk + hold + wrap-up"],
    ["Abandoned in menu", summary.abandoned_in_ivr]];
  tiles($("#kpis"), kpis);
  bars($("#by-hour"), hours.items);
  lines($("#by-day"), days.items);
  const body = $("#agents tbody"); body.replaceChildren();
  for (const a of agents.items) {
    const row = body.insertRow();
    for (const v of [a.name, a.offers, a.answered, a.missed, pct(a.three_ring_compliance), `${Math.round(a.talk_seconds / 60)} min`, pct(a.occupancy)]) row.insertCell().textContent = v;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const today = new Date(), week = new Date(); week.setDate(today.getDate() - 6);
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  $("#filters [name=from]").value = iso(week); $("#filters [name=to]").value = iso(today);
  whenSignedIn(show);
});
