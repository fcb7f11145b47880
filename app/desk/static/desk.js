// The agent desk (R3, R6, R13, R14): sign in, go ready or pause, see the caller and their
// history while the phone rings (pushed over /api/desk/ws), then record what the call was about
// and take a complaint. Plain DOM, no build step. Keyboard: Alt+R ready, Alt+P pause, Alt+C new
// complaint, Alt+1..4 disposition, Alt+S search, Alt+M pauses/resumes the call's recording (R16:
// card numbers and the like are not recorded; the pause is marked), Ctrl+Enter saves the form
// you are in.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { desk: null, screen: null, socket: null, wrapTimer: null, waitTimer: null, retry: 500 };

const api = (...args) => HotlineAuth.api(...args);  // sign-in and fetch: /desk/auth.js

function text(el, value) { el.textContent = value == null ? "" : String(value); }
function localTime(iso) {
  if (!iso) return "";
  const zone = state.desk && state.desk.timezone;
  return new Date(iso).toLocaleString("zh-CN", { timeZone: zone || undefined, hour12: false });
}
function seconds(s) { s = Math.max(0, Math.round(s)); return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`; }

function signedOut() {
  $("#desk").hidden = true; $("#controls").hidden = true;
  text($("#state"), "signed out"); $("#state").className = "badge"; text($("#who"), "");
  if (state.socket) { state.socket.onclose = null; state.socket.close(); state.socket = null; }
}

async function load() {
  try { state.desk = await api("GET", "/api/desk"); } catch (err) {
    // The service restarting, or a standby taking over (503): try again, backing off (R21).
    if (!err.status || err.status >= 500) { setTimeout(() => load(), state.retry); state.retry = Math.min(state.retry * 2, 10000); }
    return;
  }
  $("#login-panel").hidden = true; $("#desk").hidden = false; $("#controls").hidden = false;
  const user = state.desk.user, agent = state.desk.agent;
  text($("#who"), user ? `${user.display_name} (${user.role})` : "admin token");
  if (agent) showState(agent.state, agent.state_reason, agent.wrap_up_until);
  if (state.desk.screen) { showPop(state.desk.screen, agent && agent.state === "on_call" ? "on call" : "after call"); }
  if (agent && agent.state === "on_call") refreshRecording();
  if (user && user.role === "agent" && agent) loadScores();
  connect();
}

// R16: what quality inspectors scored of this agent's calls (their own only; coaching).
const CRITERIA = ["greeting", "attitude", "tone", "summary", "unexpected"];
async function loadScores(month) {
  let mine;
  try { mine = await api("GET", "/api/qa/mine" + (month ? `?month=${month}` : "")); } catch { return; }
  $("#my-scores").hidden = false;
  $("#my-scores-month").value = mine.month;
  text($("#my-scores-summary"), mine.scored
    ? `(${mine.month}: ${mine.scored} scored, overall ${mine.overall}${mine.lowest ? `, lowest: ${mine.lowest}` : ""})`
    : `(${mine.month}: none scored yet)`);
  const rows = $("[data-testid=my-scores-rows]");
  rows.replaceChildren(...mine.items.map((item) => {
    const tr = document.createElement("tr");
    const cells = [localTime(item.started_at), item.queue || "",
      ...CRITERIA.map((c) => item.scores ? item.scores[c] : ""), item.overall, item.comment || ""];
    for (const value of cells) { const td = document.createElement("td"); text(td, value); tr.append(td); }
    return tr;
  }));
}

function showState(value, reason, wrapUntil) {
  const badge = $("#state");
  badge.className = `badge ${value}`;
  text(badge, reason ? `${value} · ${reason}` : value);
  clearInterval(state.wrapTimer);
  const wrap = $("#wrapup");
  wrap.hidden = !(value === "wrap_up" && wrapUntil);
  if (!wrap.hidden) {
    const until = new Date(wrapUntil).getTime();
    const tick = () => text(wrap, `wrap-up ${seconds((until - Date.now()) / 1000)}`);
    tick(); state.wrapTimer = setInterval(tick, 250);
  }
}

function connect() {
  if (state.socket || !state.desk || !state.desk.agent) return;
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/desk/ws`);
  state.socket = ws;
  ws.onopen = () => { state.retry = 500; };
  ws.onmessage = (event) => handle(JSON.parse(event.data));
  ws.onclose = (event) => {
    state.socket = null;
    if (event.code === 4401) { HotlineAuth.showLogin(); return; }
    setTimeout(() => load(), state.retry);  // reload the state, then reconnect
    state.retry = Math.min(state.retry * 2, 10000);
  };
}

function handle(msg) {
  switch (msg.type) {
    case "offer":
      showPop(msg, "ringing");
      // Tell the service the pop is on screen (measured against the first ring, R3).
      requestAnimationFrame(() => requestAnimationFrame(() => {
        if (state.socket) state.socket.send(JSON.stringify({ type: "pop_shown", offer_id: msg.offer_id }));
      }));
      break;
    case "connected":
      if (state.screen && state.screen.call_id === msg.call_id) {
        setPhase("on call");
        $("#apology").hidden = !msg.apology_due;
      }
      watchRecording();
      break;
    case "offer_ended":
      if (state.screen && state.screen.offer_id === msg.offer_id && $("#phase").textContent === "ringing") {
        setPhase(msg.outcome === "no_answer" ? "missed" : msg.outcome);
        setTimeout(() => { if (["missed", "cancelled", "busy", "rejected"].includes($("#phase").textContent)) clearPop(); }, 3000);
      }
      break;
    case "call_ended":
      if (state.screen && state.screen.call_id === msg.call_id) setPhase("after call");
      showRecording(null);
      break;
    case "agent_state":
      showState(msg.state, msg.reason, msg.wrap_up_until);
      break;
    case "callback":
      showCallback(msg);
      break;
  }
}

// R16: the recording of the agent's own call; it starts just after the call is connected, so
// the desk asks a few times. Pausing mutes it (silence keeps the file's timeline) and is marked.
function showRecording(rec) {
  state.recording = rec;
  const badge = $("#recording"), button = $("#rec-toggle");
  badge.hidden = button.hidden = !rec;
  if (!rec) return;
  badge.classList.toggle("paused", rec.paused);
  text(badge, rec.paused ? "❚❚ recording paused" : "● recording");
  text(button, rec.paused ? "Resume recording" : "Pause recording");
}

async function refreshRecording() {
  try { showRecording(await api("GET", "/api/desk/recording")); } catch { /* not an agent, or down */ }
  return state.recording;
}

function watchRecording() {
  let tries = 0;
  const again = async () => { if (!(await refreshRecording()) && ++tries < 6) setTimeout(again, 500); };
  again();
}

async function toggleRecording() {
  if (!state.recording) return;
  try { showRecording(await api("POST", `/api/desk/recording/${state.recording.paused ? "resume" : "pause"}`)); }
  catch (err) { $("#recording").title = err.message; refreshRecording(); }
}

// R17: the agent's own call-back: their phone rings first, then the customer is dialled.
const CALLBACK_STAGES = { ringing: "your phone rings", dialing: "dialling the customer…", connected: "on the line", ended: "ended" };
function showCallback(msg) {
  const el = $("#callback");
  const who = [msg.customer_name, msg.customer_number].filter(Boolean).join(" ");
  const outcome = msg.stage === "ended" && msg.outcome ? ` (${msg.outcome.replace("_", " ")})` : "";
  text(el, `Call-back ${who}: ${CALLBACK_STAGES[msg.stage] || msg.stage}${outcome}`);
  el.hidden = false;
  clearTimeout(state.callbackTimer);
  if (msg.stage === "ended") state.callbackTimer = setTimeout(() => { el.hidden = true; }, 10000);
}

function setPhase(phase) {
  text($("#phase"), phase);
  $("#after").hidden = !["on call", "after call"].includes(phase);
}

function clearPop() { state.screen = null; $("#pop").hidden = true; $("#after").hidden = true; $("#idle").hidden = false; clearInterval(state.waitTimer); }

function showPop(pop, phase) {
  const newCall = !state.screen || state.screen.call_id !== pop.call_id;
  state.screen = pop;
  const c = pop.caller;
  text($("#caller-number"), c.number_national || c.number || "unknown number");
  text($("#caller-name"), c.name || "(no name yet)");
  $("#important").hidden = !c.important;
  text($("#caller-language"), c.language);
  text($("#queue"), pop.queue || "");
  text($("#caller-address"), c.address);
  text($("#caller-notes"), c.notes);
  text($("#ivr-path"), pop.ivr_path.map((s) => `${s.node} [${s.input}] → ${s.outcome}`).join("  ·  ") || "—");
  $("#apology").hidden = !pop.apology_due;
  clearInterval(state.waitTimer);
  const base = pop.ringing_at ? new Date(pop.ringing_at).getTime() : Date.now();
  const tick = () => text($("#waited"), seconds(pop.waited_seconds + (Date.now() - base) / 1000));
  if (phase === "ringing") { tick(); state.waitTimer = setInterval(tick, 1000); } else text($("#waited"), seconds(pop.waited_seconds));

  const complaints = $("#complaints tbody"); complaints.replaceChildren();
  for (const k of pop.open_complaints) {
    const row = complaints.insertRow();
    if (k.overdue.length) row.className = "overdue";
    for (const v of [k.number, k.severity, k.status, k.summary, localTime(k.dispatch_due_at), localTime(k.handling_due_at) + (k.overdue.length ? ` (overdue: ${k.overdue.join(", ")})` : "")]) text(row.insertCell(), v);
  }
  if (!pop.open_complaints.length) text(complaints.insertRow().insertCell(), "none");
  const calls = $("#calls tbody"); calls.replaceChildren();
  for (const p of pop.previous_calls) {
    const row = calls.insertRow();
    for (const v of [localTime(p.started_at), p.queue, p.agent_name, p.disposition || p.end_reason, p.notes]) text(row.insertCell(), v);
  }
  if (!pop.previous_calls.length) text(calls.insertRow().insertCell(), "first call");

  if (newCall) {
    $("#disposition").reset(); $("#complaint").reset();
    text($("#disposition-status"), ""); text($("#complaint-status"), "");
    $("#complaint [name=customer_name]").value = c.name || "";
    $("#complaint [name=phone]").value = c.number_national || c.number || "";
    $("#complaint [name=address]").value = c.address || "";
  }
  $("#idle").hidden = true; $("#pop").hidden = false;
  setPhase(phase);
}

async function setAgentState(value) {
  const body = value === "paused" ? { state: value, reason: $("#pause-reason").value } : { state: value };
  try { const agent = await api("POST", "/api/desk/state", body); showState(agent.state, agent.state_reason, agent.wrap_up_until); }
  catch (err) { text($("#state"), `${$("#state").textContent} (${err.message})`); }
}

const formJson = HotlineAuth.fields;

document.addEventListener("DOMContentLoaded", () => {
  HotlineAuth.mount($("#login-panel"), { onSignedIn: load, onSignedOut: signedOut });
  $("#ready").addEventListener("click", () => setAgentState("ready"));
  $("#pause").addEventListener("click", () => setAgentState("paused"));
  $("#rec-toggle").addEventListener("click", () => toggleRecording());
  $("#signout").addEventListener("click", () => HotlineAuth.signOut());
  $("#my-scores-month").addEventListener("change", (event) => {
    if (event.target.value) loadScores(event.target.value);
  });

  $("#disposition").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!state.screen) return;
    const body = formJson(event.target);
    if (!body.disposition) { text($("#disposition-status"), "choose what the call was about (Alt+1…4)"); return; }
    try { await api("POST", `/api/calls/${state.screen.call_id}/disposition`, body); text($("#disposition-status"), "saved"); }
    catch (err) { text($("#disposition-status"), err.message); }
  });
  $("#complaint").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!state.screen) return;
    const body = { ...formJson(event.target), call_id: state.screen.call_id };
    if (state.screen.caller.customer_id) body.customer_id = state.screen.caller.customer_id;
    try {
      const made = await api("POST", "/api/complaints", body);
      text($("#complaint-status"), `filed: complaint ${made.number}`);
      const dispo = $("#disposition [value=complaint]"); if (!$("#disposition [name=disposition]:checked")) dispo.checked = true;
    } catch (err) { text($("#complaint-status"), err.message); }
  });
  $("#search").addEventListener("submit", async (event) => {
    event.preventDefault();
    const phone = formJson(event.target).phone;
    try {
      const found = await api("GET", `/api/customers?phone=${encodeURIComponent(phone)}`);
      text($("#search-status"), `${found.name || "(no name)"} · ${found.phone_national}${found.important ? " · important" : ""}`);
    } catch (err) { text($("#search-status"), err.message); }
  });
  // Ctrl+Enter saves the form the cursor is in.
  document.addEventListener("keydown", (event) => {
    if (event.altKey && event.code === "KeyM" && state.recording) {  // by key position: Alt+M
      event.preventDefault(); toggleRecording(); return;
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      const form = event.target.closest && event.target.closest("form");
      if (form) { event.preventDefault(); form.requestSubmit(); }
    }
  });
  load();
});
