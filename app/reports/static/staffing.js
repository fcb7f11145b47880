// Staffing (R19, #18): agents needed per 30 minutes (Erlang C / Erlang A) beside those logged in,
// from /api/reports/staffing; the chart is inline SVG.
"use strict";
const { $, pct, get, el, tiles, whenSignedIn } = ReportKit;  // report-kit.js

function params() {
  const f = new FormData($("#filters"));
  const q = new URLSearchParams();
  for (const k of ["week", "queue", "weeks", "target", "answer_seconds"]) if (f.get(k)) q.set(k, f.get(k));
  return q;
}

function chart(svg, items) {
  svg.replaceChildren();
  const w = svg.clientWidth || 900, h = 200, pad = 28;
  const max = Math.max(1, ...items.map((i) => Math.max(i.agents_needed, i.agents_erlang_c, i.agents_logged_in)));
  const step = (w - pad) / Math.max(items.length, 1), bw = Math.max(2, step - 2);
  const y = (v) => h - (v / max) * (h - 10);
  for (const v of [0, Math.ceil(max / 2), max]) {
    el("line", { x1: pad, x2: w, y1: y(v), y2: y(v), stroke: "#eaecf0" }, svg);
    el("text", { x: 0, y: y(v) + 4, "font-size": 10 }, svg).textContent = v;
  }
  items.forEach((i, n) => {
    const x = pad + n * step;
    const r = el("rect", { x, y: y(i.agents_needed), width: bw, height: h - y(i.agents_needed), fill: "#0b62d6", "data-needed": i.agents_needed }, svg);
    el("title", {}, r).textContent = `${i.start.slice(0, 16)}: ${i.agents_needed} needed, ${i.agents_logged_in} logged in, ${i.calls} calls`;
    if (i.agents_erlang_c > i.agents_needed) el("rect", { x, y: y(i.agents_erlang_c), width: bw, height: y(i.agents_needed) - y(i.agents_erlang_c), fill: "#98a2b3", opacity: 0.6 }, svg);
  });
  const points = items.map((i, n) => `${pad + n * step + bw / 2},${y(i.agents_logged_in)}`).join(" ");
  el("polyline", { points, fill: "none", stroke: "#12b76a", "stroke-width": 2, "data-testid": "logged-in" }, svg);
}

async function show() {
  const q = params();
  $("#csv").href = `/api/reports/staffing?${q}&format=csv`;
  const body = await get(`/api/reports/staffing?${q}`);
  const day = new FormData($("#filters")).get("day");
  const items = day === "all" ? body.items : body.items.slice(48 * Number(day), 48 * Number(day) + 48);
  const short = items.filter((i) => i.agents_logged_in < i.agents_needed);
  const kpis = [["Week of", body.week.slice(0, 10), `from ${body.weeks} weeks before`],
    ["Target", `${pct(body.target)} in ${body.answer_seconds} s`], ["Model", body.model === "erlang_a" ? "Erlang A" : "Erlang C", body.patience_seconds ? `patience ${body.patience_seconds.toFixed(0)} s` : "no abandons measured"],
    ["AHT", body.aht_seconds == null ? "–" : `${body.aht_seconds.toFixed(0)} s`, "talk + hold + wrap-up"],
    ["Peak need", Math.max(0, ...items.map((i) => i.agents_needed))], ["Intervals short", short.length, "logged in < needed"]];
  tiles($("#kpis"), kpis);
  chart($("#chart"), items);
  const tbody = $("#intervals tbody"); tbody.replaceChildren();
  for (const i of items.filter((i) => i.calls > 0 || i.agents_logged_in > 0)) {
    const row = tbody.insertRow();
    if (i.agents_logged_in < i.agents_needed) row.className = "warn";
    for (const v of [i.start.slice(0, 16).replace("T", " "), i.calls, `${i.aht_seconds} s`, i.erlangs, i.agents_needed, i.agents_erlang_c, i.agents_erlang_a ?? "–", pct(i.service_level), i.agents_logged_in, Math.max(0, Math.ceil(i.agents_needed - i.agents_logged_in))]) row.insertCell().textContent = v;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const next = new Date(); next.setDate(next.getDate() + 7);
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  const form = $("#filters");
  const url = new URLSearchParams(location.search);  // ?week=&day=&queue=... preset the form
  form.week.value = url.get("week") || iso(next);
  for (const k of ["day", "queue", "weeks", "target", "answer_seconds"]) if (url.get(k)) form[k].value = url.get(k);
  whenSignedIn(show);
});
