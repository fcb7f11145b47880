// Signing in and calling the API, shared by the service's pages (R20): the sign-in form, the
// session cookie set by POST /api/auth/login (HttpOnly, so the page never holds the token),
// fetch with JSON errors ({error_id, message}) as exceptions, and sign-out. A page calls
// HotlineAuth.mount(panel, { onSignedIn, onSignedOut }) once, then HotlineAuth.api(...).
// Plain DOM, no build step. Served at /desk/auth.js.
"use strict";

const HotlineAuth = (() => {
  const FORM = `
    <form id="login" data-testid="login">
      <h2>Sign in</h2>
      <label>User name <input name="username" autocomplete="username" required autofocus></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
      <button type="submit">Sign in</button>
      <p class="error" id="login-error" role="alert"></p>
    </form>`;
  const hooks = { panel: null, onSignedIn: () => {}, onSignedOut: () => {} };

  class ApiError extends Error {
    constructor(status, body) {
      const message = (body && (body.message || body.detail)) || `HTTP ${status}`;
      super(body && body.error_id ? `${body.error_id}: ${message}` : message);
      this.status = status; this.errorId = body && body.error_id; this.body = body;
    }
  }

  function showLogin() {
    if (!hooks.panel) return;
    hooks.panel.hidden = false;
    hooks.onSignedOut();
    const name = hooks.panel.querySelector("input[name=username]");
    if (name) name.focus();
  }

  async function api(method, path, body) {
    const resp = await fetch(path, {
      method, credentials: "same-origin",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (resp.status === 401) { showLogin(); throw new ApiError(401, { error_id: "unauthorized", message: "signed out" }); }
    const data = resp.status === 204 ? null : await resp.json().catch(() => null);
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  }

  function fields(form) {
    const out = {};
    for (const [k, v] of new FormData(form).entries()) out[k] = typeof v === "string" ? v.trim() : v;
    return out;
  }

  function mount(panel, { onSignedIn, onSignedOut } = {}) {
    hooks.panel = panel;
    hooks.onSignedIn = onSignedIn || hooks.onSignedIn;
    hooks.onSignedOut = onSignedOut || hooks.onSignedOut;
    if (!panel.querySelector("form#login")) panel.innerHTML = FORM;
    const form = panel.querySelector("form#login");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = form.querySelector("#login-error");
      error.textContent = "";
      const resp = await fetch("/api/auth/login", { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(fields(form)) });
      if (!resp.ok) { error.textContent = ((await resp.json().catch(() => null)) || {}).message || resp.statusText; return; }
      form.reset(); panel.hidden = true; hooks.onSignedIn();
    });
  }

  async function signOut() {
    try { await api("POST", "/api/auth/logout"); } catch { /* signed out either way */ } finally { showLogin(); }
  }

  return { mount, api, signOut, showLogin, fields, ApiError };
})();
