// The team lead's page (R15, R12, R17): overdue complaints first, each complaint's deadlines and
// timeline with the workflow's buttons, owner reassignment, and the open call-backs with a
// "Call back" button. Notices of major and crisis complaints arrive over /api/desk/ws.
// Plain DOM, no build step.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { me: null, zone: null, agents: [], departments: [], selected: null, socket: null, retry: 500 };
const LABELS = { dispatch: "dispatch", handling: "handling", callback: "call-back (72 h)", callback_limit: "call-back limit (7 d)" };

const api = (...args) => HotlineAuth.api(...args);  // sign-in and fetch: /desk/auth.js

function text(el, value) { el.textContent = value == null ? "" : String(value); }
function el(tag, value, cls) { const e = document.createElement(tag); text(e, value); if (cls) e.className = cls; return e; }
function localTime(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString("zh-CN", { timeZone: state.zone || undefined, hour12: false });
}
function agentName(id) { const a = state.agents.find((x) => x.id === id); return a ? `${a.name} (${a.extension})` : (id ? id.slice(0, 8) : ""); }
function departmentName(id) { const d = state.departments.find((x) => x.id === id); return d ? d.name : ""; }
function option(value, label) { const o = document.createElement("option"); o.value = value; text(o, label); return o; }

function signedOut() {
  $("#lead").hidden = true; $("#controls").hidden = true; text($("#who"), "");
  if (state.socket) { state.socket.onclose = null; state.socket.close(); state.socket = null; }
}

async function load() {
  let desk;
  try { desk = await api("GET", "/api/desk"); } catch { return; }
  state.me = desk.user; state.zone = desk.timezone;
  $("#login-panel").hidden = true; $("#lead").hidden = false; $("#controls").hidden = false;
  text($("#who"), state.me ? `${state.me.display_name} (${state.me.role}${state.me.team ? ", team " + state.me.team : ""})` : "admin token");
  try { state.agents = await api("GET", "/api/agents"); } catch { state.agents = []; }
  try { state.departments = await api("GET", "/api/departments"); } catch { state.departments = []; }
  fillSelects();
  await Promise.all([loadComplaints(), loadCallbacks()]);
  connect();
}

function fillSelects() {
  const mine = state.me && state.me.role === "team_lead" && state.me.team ? state.agents.filter((a) => a.team === state.me.team) : state.agents;
  for (const sel of [$("#owner"), $("#callback-agent")]) {
    const own = sel.id === "callback-agent" && state.me && state.me.agent_id ? [option("", "me (my own phone)")] : [];
    sel.replaceChildren(...own,
      ...mine.map((a) => option(a.id, `${a.name} (${a.extension}) ${a.state || ""}`)));
  }
  $("#department").replaceChildren(option("", "choose…"), ...state.departments.map((d) => option(d.id, d.name)));
  fillAssignees();
  // Managers and others who see every team may narrow the list to one; a team lead sees their own.
  const teams = [...new Set(state.agents.map((a) => a.team).filter(Boolean))].sort();
  $("#team-filter-box").hidden = !state.me || state.me.role === "team_lead" || !teams.length;
  $("#team-filter").replaceChildren(option("", "all teams"), ...teams.map((t) => option(t, t)));
}

function fillAssignees() {
  const d = state.departments.find((x) => x.id === $("#department").value);
  const options = [];
  if (d && d.head_user_id) options.push(option(d.head_user_id, `${d.head_name || "head"} (head of ${d.name})`));
  if (state.me && state.me.id) options.push(option(state.me.id, `${state.me.display_name} (me)`));
  $("#assignee").replaceChildren(...options);
}

async function loadComplaints() {
  const params = new URLSearchParams();
  if ($("#status-filter").value) params.set("status", $("#status-filter").value);
  if ($("#overdue-only").checked) params.set("overdue", "true");
  if (!$("#team-filter-box").hidden && $("#team-filter").value) params.set("team", $("#team-filter").value);
  text($("#complaints-error"), "");
  let rows;
  try { rows = await api("GET", `/api/complaints?${params}`); } catch (err) { text($("#complaints-error"), err.message); return; }
  const body = $("#complaints tbody");
  body.replaceChildren(...rows.map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.id = c.id; tr.dataset.testid = "complaint-row";
    tr.setAttribute("data-testid", "complaint-row");
    if (c.overdue.length) tr.className = "overdue";
    if (state.selected === c.id) tr.classList.add("selected");
    const next = c.deadlines.length ? c.deadlines.reduce((a, b) => (a.due_at < b.due_at ? a : b)) : null;
    tr.append(el("td", c.number), el("td", c.severity), el("td", c.status),
      el("td", `${c.customer_name} ${c.customer_number}`), el("td", agentName(c.owner_agent_id)),
      el("td", c.overdue.map((n) => LABELS[n] || n).join(", ")),
      el("td", next ? `${LABELS[next.name] || next.name}: ${localTime(next.due_at)}` : ""),
      el("td", c.summary.length > 60 ? c.summary.slice(0, 60) + "…" : c.summary));
    tr.tabIndex = 0;
    tr.addEventListener("click", () => select(c.id));
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") select(c.id); });
    return tr;
  }));
}

async function select(id) {
  state.selected = id;
  for (const tr of document.querySelectorAll("#complaints tbody tr")) tr.classList.toggle("selected", tr.dataset.id === id);
  let c, events;
  try { [c, events] = await Promise.all([api("GET", `/api/complaints/${id}`), api("GET", `/api/complaints/${id}/timeline`)]); }
  catch (err) { text($("#detail-status-line"), err.message); return; }
  showDetail(c, events);
}

function showDetail(c, events) {
  $("#detail").hidden = false;
  text($("#detail-number"), c.number); text($("#detail-status"), c.status); text($("#detail-severity"), c.severity);
  $("#detail-status").className = `badge ${c.status}`;
  text($("#detail-summary"), c.summary);
  const dl = $("#detail-deadlines");
  dl.replaceChildren(...(c.deadlines.length ? c.deadlines.map((d) => el("div", `${LABELS[d.name] || d.name}: ${localTime(d.due_at)}${d.overdue ? " — OVERDUE" : ""}`, d.overdue ? "error" : "")) : [el("span", "none pending")]));
  text($("#detail-department"), [departmentName(c.department_id), c.dispatched_at ? `dispatched ${localTime(c.dispatched_at)}` : ""].filter(Boolean).join(" · "));
  text($("#detail-owner"), agentName(c.owner_agent_id));
  text($("#detail-callbacks"), `${c.callback_attempts} attempt(s)${c.satisfaction ? ` · satisfaction ${c.satisfaction}/5` : ""}`);
  for (const b of document.querySelectorAll("[data-to]")) b.disabled = !c.next_states.includes(b.dataset.to);
  $("#dispatch-box").hidden = !c.next_states.includes("dispatched");
  if (c.department_id) { $("#department").value = c.department_id; fillAssignees(); }
  if (c.owner_agent_id) $("#owner").value = c.owner_agent_id;
  $("#timeline").replaceChildren(...events.map((e) => {
    const li = document.createElement("li");
    li.setAttribute("data-testid", "timeline-event");
    const moved = e.to_status ? ` ${e.from_status || "—"} → ${e.to_status}` : "";
    li.append(el("strong", e.event), el("span", `${moved} · ${localTime(e.at)} · ${e.actor}${e.note ? " · " + e.note : ""}`));
    return li;
  }));
}

async function move(to) {
  if (!state.selected) return;
  const body = { to, note: $("#note").value.trim() };
  if (to === "dispatched") {
    if (!$("#department").value || !$("#assignee").value) { text($("#detail-status-line"), "choose a department and an assignee"); return; }
    body.department_id = $("#department").value; body.assignee_user_id = $("#assignee").value;
  }
  try {
    await api("POST", `/api/complaints/${state.selected}/transitions`, body);
    $("#note").value = ""; text($("#detail-status-line"), `now ${to}`);
  } catch (err) { text($("#detail-status-line"), err.message); }
  await loadComplaints(); await select(state.selected);
}

async function reassign() {
  if (!state.selected || !$("#owner").value) return;
  try {
    await api("PATCH", `/api/complaints/${state.selected}/owner`, { owner_agent_id: $("#owner").value, note: $("#note").value.trim() });
    text($("#detail-status-line"), "owner changed");
  } catch (err) { text($("#detail-status-line"), err.message); }
  await loadComplaints(); await select(state.selected);
}

async function loadCallbacks() {
  text($("#callbacks-error"), "");
  let rows;
  try { rows = await api("GET", "/api/callbacks?status=open"); }
  catch (err) { text($("#callbacks-error"), `call-backs unavailable: ${err.message}`); $("#callbacks tbody").replaceChildren(); return; }
  $("#callbacks tbody").replaceChildren(...rows.map((t) => {
    const tr = document.createElement("tr");
    tr.setAttribute("data-testid", "callback-row");
    const late = t.due_at && new Date(t.due_at) < new Date();
    const due = el("td", localTime(t.due_at), late ? "late" : "");
    const button = el("button", "Call back"); button.setAttribute("data-testid", "call-back");
    button.addEventListener("click", () => callBack(t.id, button));
    const act = document.createElement("td"); act.append(button);
    tr.append(el("td", t.source), el("td", `${t.customer_name || ""} ${t.customer_number || ""}`.trim()),
      el("td", t.complaint_number || ""), due, el("td", `${t.attempts}/${t.max_attempts}`),
      el("td", localTime(t.next_attempt_at)), el("td", t.last_outcome || ""), act);
    return tr;
  }));
}

async function callBack(taskId, button) {
  button.disabled = true;
  const agent = $("#callback-agent").value;
  try {
    const made = await api("POST", `/api/callbacks/${taskId}/attempts`, agent ? { agent_id: agent } : {});
    text($("#callbacks-error"), ""); button.textContent = "calling…"; button.title = `attempt ${made.attempt_id}`;
  } catch (err) { text($("#callbacks-error"), err.message); button.disabled = false; }
  setTimeout(loadCallbacks, 3000);
}

function connect() {
  if (state.socket) return;
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/desk/ws`);
  state.socket = ws;
  ws.onopen = () => { state.retry = 500; };
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type !== "notice") return;
    const div = el("div", `${localTime(msg.at)} · ${msg.text}`, "notice");
    div.setAttribute("data-testid", "notice");
    $("#notices").prepend(div);
    loadComplaints();
  };
  ws.onclose = (event) => {
    state.socket = null;
    if (event.code === 4401) { HotlineAuth.showLogin(); return; }
    if (event.code === 4403) return;  // this role gets no notices
    setTimeout(connect, state.retry); state.retry = Math.min(state.retry * 2, 30000);
  };
}

document.addEventListener("DOMContentLoaded", () => {
  HotlineAuth.mount($("#login-panel"), { onSignedIn: load, onSignedOut: signedOut });
  $("#signout").addEventListener("click", () => HotlineAuth.signOut());
  $("#refresh").addEventListener("click", () => { loadComplaints(); loadCallbacks(); });
  $("#status-filter").addEventListener("change", loadComplaints);
  $("#overdue-only").addEventListener("change", loadComplaints);
  $("#team-filter").addEventListener("change", loadComplaints);
  $("#department").addEventListener("change", fillAssignees);
  for (const b of document.querySelectorAll("[data-to]")) b.addEventListener("click", () => move(b.dataset.to));
  $("#reassign").addEventListener("click", reassign);
  setInterval(() => { if (!$("#lead").hidden) loadComplaints(); }, 60000);
  load();
});
