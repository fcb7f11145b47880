// The quality inspectors' page (R16): the month's worklist, a recording with its paused parts on a
// timeline (GET /api/recordings/{id}; the audio from /api/recordings/{id}/file, with ranges so it
// seeks), the scoring form operable from the keyboard, and the monthly report per agent and team.
// Sign-in and fetch are the shared /desk/auth.js. Plain DOM, no build step.
"use strict";

const $ = (sel) => document.querySelector(sel);
const CRITERIA = [
  ["greeting", "Greeting and service phrases"], ["attitude", "Attitude"], ["tone", "Tone"],
  ["summary", "Summarising the caller's need"], ["unexpected", "Handling the unexpected"],
];
const state = { me: null, zone: null, items: [], selected: null, duration: 0 };
const api = (...args) => HotlineAuth.api(...args);

function text(el, value) { el.textContent = value == null ? "" : String(value); }
function el(tag, value, cls) { const e = document.createElement(tag); text(e, value); if (cls) e.className = cls; return e; }
function localTime(iso) { return iso ? new Date(iso).toLocaleString("zh-CN", { timeZone: state.zone || undefined, hour12: false }) : ""; }
function secs(s) { if (s == null) return ""; s = Math.round(s); return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`; }
function fixed(v) { return v == null ? "–" : Number(v).toFixed(2); }

function previousMonth() {
  const now = new Date(new Date().toLocaleString("en-US", { timeZone: state.zone || undefined }));
  now.setDate(1); now.setMonth(now.getMonth() - 1);
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
}
function month() { return $("#month").value || previousMonth(); }

function signedOut() { $("#qa").hidden = true; $("#controls").hidden = true; text($("#who"), ""); }

async function load() {
  let desk;
  try { desk = await api("GET", "/api/desk"); } catch { return; }
  state.me = desk.user; state.zone = desk.timezone;
  $("#login-panel").hidden = true; $("#qa").hidden = false; $("#controls").hidden = false;
  text($("#who"), state.me ? `${state.me.display_name} (${state.me.role})` : "admin token");
  if (!$("#month").value) $("#month").value = previousMonth();
  const role = state.me ? state.me.role : "admin";
  // Team leads read their team's figures here; worklists and sampling are the inspectors' and managers'.
  const inspects = ["qa", "manager", "admin"].includes(role);
  $("#sample").hidden = !inspects; $("#worklist-box").hidden = !inspects;
  $("#review").hidden = true;
  await Promise.all([inspects ? loadWorklist() : null, loadReport()]);
}

async function loadWorklist() {
  text($("#worklist-status"), "");
  let data;
  try { data = await api("GET", `/api/qa/samples?month=${month()}`); }
  catch (err) { text($("#worklist-status"), err.message); $("#worklist tbody").replaceChildren(); return; }
  state.items = data.items;
  if (!data.items.length) text($("#worklist-status"), `no samples for ${data.month}`);
  $("#worklist tbody").replaceChildren(...data.items.map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.id = s.id; tr.setAttribute("data-testid", "sample-row"); tr.tabIndex = 0;
    if (s.review_state === "overdue") tr.className = "overdue";
    if (state.selected === s.id) tr.classList.add("selected");
    tr.append(el("td", s.agent_name), el("td", s.team), el("td", s.queue), el("td", localTime(s.started_at)),
      el("td", secs(s.duration_seconds)), el("td", localTime(s.review_due_at)), el("td", s.review_state),
      el("td", s.overall == null ? "" : fixed(s.overall)));
    tr.addEventListener("click", () => open(s.id));
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") open(s.id); });
    return tr;
  }));
}

async function open(id) {
  const s = state.items.find((x) => x.id === id);
  if (!s) return;
  state.selected = id;
  for (const tr of document.querySelectorAll("#worklist tbody tr")) tr.classList.toggle("selected", tr.dataset.id === id);
  $("#review").hidden = false;
  text($("#review-title"), `${s.agent_name} · ${localTime(s.started_at)} · ${s.queue || ""}`);
  state.duration = s.duration_seconds || 0;
  const player = $("#player");
  player.src = `/api/recordings/${s.recording_id}/file`;
  fillForm(s);
  text($("#score-status"), s.scored_at ? `scored ${localTime(s.scored_at)} (revision ${s.revision})` : "");
  let rec = null;
  try { rec = await api("GET", `/api/recordings/${s.recording_id}`); }
  catch (err) { text($("#pauses-note"), `recording details unavailable: ${err.message}`); }
  if (rec && rec.duration_seconds) state.duration = rec.duration_seconds;
  drawPauses(rec ? rec.pauses || [] : []);
  $("#criteria input").focus();
}

function drawPauses(pauses) {
  const line = $("#timeline");
  for (const old of line.querySelectorAll(".pause")) old.remove();
  const total = state.duration || 1;
  for (const p of pauses) {
    const start = Math.max(0, p.start_offset_seconds || 0);
    const end = p.end_offset_seconds == null ? total : Math.min(total, p.end_offset_seconds);
    const mark = el("div", "", "pause");
    mark.setAttribute("data-testid", "pause-mark");
    mark.style.left = `${(100 * start) / total}%`; mark.style.width = `${Math.max(0.5, (100 * (end - start)) / total)}%`;
    mark.title = `paused by the agent ${secs(start)}–${secs(end)} (silent in the recording)`;
    line.append(mark);
  }
  line.setAttribute("aria-valuemax", String(Math.round(total)));
  text($("#pauses-note"), pauses.length ? `${pauses.length} paused part(s): ${pauses.map((p) => `${secs(p.start_offset_seconds)}–${secs(p.end_offset_seconds)}`).join(", ")}` : "no paused parts");
}

// The recording's length: the player's once it knows it, else the recording's stored one.
function recordingLength() {
  const player = $("#player");
  return player.duration && isFinite(player.duration) ? player.duration : state.duration;
}

function seek(seconds) { $("#player").currentTime = Math.max(0, Math.min(recordingLength() || 0, seconds)); }

function buildForm() {
  $("#criteria").replaceChildren(...CRITERIA.map(([name, label]) => {
    const fs = document.createElement("fieldset");
    fs.className = "criterion"; fs.dataset.name = name; fs.setAttribute("data-testid", `criterion-${name}`);
    fs.append(el("legend", label));
    for (let v = 1; v <= 5; v++) {
      const lab = document.createElement("label");
      const input = document.createElement("input");
      input.type = "radio"; input.name = name; input.value = String(v); input.required = true;
      input.setAttribute("data-testid", `${name}-${v}`);
      lab.append(input, document.createTextNode(String(v)));
      fs.append(lab);
    }
    return fs;
  }));
  // Press 1-5 in a row: mark it and move to the next row (then the comment).
  $("#criteria").addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey || !/^[1-5]$/.test(e.key)) return;
    const fs = e.target.closest("fieldset.criterion");
    if (!fs) return;
    e.preventDefault();
    fs.querySelector(`input[value="${e.key}"]`).checked = true;
    const next = fs.nextElementSibling;
    if (next) (next.querySelector("input:checked") || next.querySelector("input")).focus(); else $("#comment").focus();
  });
}

function fillForm(s) {
  $("#score").reset();
  if (s.scores) for (const [name] of CRITERIA) { const r = $(`#criteria input[name=${name}][value="${s.scores[name]}"]`); if (r) r.checked = true; }
  $("#comment").value = s.comment || "";
}

async function saveScore(event) {
  event.preventDefault();
  if (!state.selected) return;
  const body = { comment: $("#comment").value.trim() };
  const missing = [];
  for (const [name, label] of CRITERIA) {
    const checked = $(`#criteria input[name=${name}]:checked`);
    if (checked) body[name] = Number(checked.value); else missing.push(label);
  }
  if (missing.length) { text($("#score-status"), `mark: ${missing.join(", ")}`); return; }
  try {
    const saved = await api("PUT", `/api/qa/samples/${state.selected}/score`, body);
    text($("#score-status"), `saved: overall ${fixed(saved.overall)} (revision ${saved.revision})`);
  } catch (err) { text($("#score-status"), err.message); return; }
  await Promise.all([loadWorklist(), loadReport()]);
}

function reportRow(r, first) {
  const tr = document.createElement("tr");
  tr.setAttribute("data-testid", "report-row");
  tr.append(...first.map((v) => el("td", v)), el("td", r.sampled), el("td", r.scored),
    ...CRITERIA.map(([c]) => el("td", fixed(r[`avg_${c}`]))), el("td", fixed(r.overall)), el("td", r.lowest || ""));
  return tr;
}

async function loadReport() {
  text($("#report-error"), "");
  const m = month();
  $("#csv-agents").href = `/api/qa/reports/agents?month=${m}&format=csv`;
  $("#csv-teams").href = `/api/qa/reports/teams?month=${m}&format=csv`;
  try {
    const [agents, teams] = await Promise.all([api("GET", `/api/qa/reports/agents?month=${m}`), api("GET", `/api/qa/reports/teams?month=${m}`)]);
    $("#report-agents tbody").replaceChildren(...agents.items.map((r) => reportRow(r, [r.agent_name, r.team])));
    $("#report-teams tbody").replaceChildren(...teams.items.map((r) => reportRow(r, [r.team || "(no team)", r.agents])));
  } catch (err) { text($("#report-error"), err.message); }
}

async function sample() {
  try {
    const run = await api("POST", "/api/qa/samples", { month: month() });
    text($("#worklist-status"), `sampled ${run.month}: ${run.added} added, ${run.assigned} assigned${run.unassigned ? `, ${run.unassigned} waiting for an inspector` : ""}`);
  } catch (err) { text($("#worklist-status"), err.message); return; }
  const note = $("#worklist-status").textContent;
  await Promise.all([loadWorklist(), loadReport()]);
  if (!$("#worklist-status").textContent) text($("#worklist-status"), note);
}

document.addEventListener("DOMContentLoaded", () => {
  HotlineAuth.mount($("#login-panel"), { onSignedIn: load, onSignedOut: signedOut });
  buildForm();
  $("#score").addEventListener("submit", saveScore);
  $("#signout").addEventListener("click", () => HotlineAuth.signOut());
  $("#sample").addEventListener("click", sample);
  $("#month").addEventListener("change", () => {
    $("#review").hidden = true;
    if (!$("#worklist-box").hidden) loadWorklist();
    loadReport();
  });
  const player = $("#player");
  player.addEventListener("timeupdate", () => {
    const total = recordingLength();
    $("#playhead").style.left = `${total ? (100 * player.currentTime) / total : 0}%`;
    $("#timeline").setAttribute("aria-valuenow", String(Math.round(player.currentTime)));
  });
  $("#timeline").addEventListener("click", (e) => {
    const box = e.currentTarget.getBoundingClientRect();
    seek(((e.clientX - box.left) / box.width) * recordingLength());
  });
  $("#timeline").addEventListener("keydown", (e) => {
    if (e.key === "ArrowLeft") { e.preventDefault(); seek(player.currentTime - 5); }
    if (e.key === "ArrowRight") { e.preventDefault(); seek(player.currentTime + 5); }
  });
  document.addEventListener("keydown", (e) => {
    if (e.altKey && !$("#review").hidden) {
      const key = e.key.toLowerCase();
      if (key === "k") { e.preventDefault(); if (player.paused) player.play(); else player.pause(); }
      if (key === "j") { e.preventDefault(); seek(player.currentTime - 5); }
      if (key === "l") { e.preventDefault(); seek(player.currentTime + 5); }
    }
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && e.target.closest && e.target.closest("form#score")) {
      e.preventDefault(); $("#score").requestSubmit();
    }
  });
  load().then(() => { if ($("#qa").hidden) HotlineAuth.showLogin(); });
});
