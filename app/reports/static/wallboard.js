// The live wallboard (R19): pushed over /api/reports/wallboard/ws every second.
"use strict";
const $ = (s) => document.querySelector(s);
const pct = (v) => (v == null ? "–" : `${(100 * v).toFixed(0)} %`);
const mmss = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;

function tiles(target, items) {
  target.replaceChildren(...items.map(([label, value, warn]) => {
    const d = document.createElement("div"); d.className = `kpi${warn ? " warn" : ""}`;
    d.innerHTML = "<small></small><b></b>";
    d.children[0].textContent = label; d.children[1].textContent = value;
    d.dataset.label = label;
    return d;
  }));
}

function render(b) {
  $("#updated").textContent = new Date(b.at).toLocaleTimeString();
  tiles($("#live"), [["Waiting", b.waiting, b.waiting > 0], ["Longest wait", mmss(b.longest_wait_seconds), b.longest_wait_seconds > 60],
    ...Object.entries(b.by_queue).map(([q, v]) => [`${q} waiting`, `${v.waiting} · ${mmss(v.longest_wait_seconds)}`])]);
  tiles($("#agents"), Object.entries(b.agents).map(([s, n]) => [s.replace("_", " "), n]));
  const t = b.today || {};
  tiles($("#today"), [["Service level", pct(t.service_level), t.service_level != null && t.service_level < 0.8],
    ["Three-ring compliance", pct(t.three_ring_compliance), t.three_ring_compliance != null && t.three_ring_compliance < 1],
    ["Callers answered in three rings", pct(t.three_ring_caller), t.three_ring_caller != null && t.three_ring_caller < 0.8],
    ["Abandon rate", pct(t.abandon_rate)], ["Offered", t.offered ?? "–"], ["Answered", t.answered ?? "–"]]);
}

let delay = 500;
function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/reports/wallboard/ws`);
  ws.onopen = () => { delay = 500; $("#signin").hidden = true; };
  ws.onmessage = (e) => render(JSON.parse(e.data));
  ws.onclose = (e) => {
    if (e.code === 4401 || e.code === 4403) { $("#signin").hidden = false; return; }
    setTimeout(connect, delay); delay = Math.min(delay * 2, 10000);
  };
}
document.addEventListener("DOMContentLoaded", connect);
