// PhotoShare admin console. Served by the binary; talks only to its own origin.
// The tokens live in this closure's memory only (never localStorage or cookies):
// a reload signs out.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const PAGE = 20;
  let session = null; // {access, refresh, me}
  let streamAbort = null;
  let lastFailed = null;
  const jobs = { offset: 0, total: 0 };
  const users = { offset: 0, total: 0, q: "" };

  // ---- HTTP ------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
      this.status = status;
      this.problem = problem;
    }
  }

  async function problemOf(res) {
    try { return await res.json(); } catch (_) { return null; }
  }

  // One refresh at a time: refresh tokens rotate, and presenting a rotated one
  // again revokes the whole session, so concurrent 401s share this promise.
  let refreshing = null;
  function refreshTokens() {
    if (!session) return Promise.resolve(false);
    if (!refreshing) {
      const s = session;
      refreshing = fetch("/api/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: s.refresh }),
      })
        .then(async (res) => {
          if (!res.ok) return false;
          const t = await res.json();
          s.access = t.access_token;
          s.refresh = t.refresh_token;
          return true;
        })
        .catch(() => false)
        .finally(() => { refreshing = null; });
    }
    return refreshing;
  }

  // Calls the API with the access token; one refresh on 401, then signs out.
  async function api(path, { method = "GET", body, raw = false, signal } = {}) {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!session) throw new ApiError(401, { detail: "Signed out." });
      const headers = { Authorization: `Bearer ${session.access}` };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const res = await fetch(path, {
        method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (res.status === 401 && attempt === 0 && (await refreshTokens())) continue;
      if (res.status === 401) {
        signOut("Your session ended; sign in again.");
        throw new ApiError(401, await problemOf(res));
      }
      if (!res.ok) throw new ApiError(res.status, await problemOf(res));
      if (raw) return res;
      return res.status === 204 ? null : res.json();
    }
    throw new ApiError(401, null);
  }

  // ---- Sign in and out -----------------------------------------------------------

  function showSigninError(text) {
    const el = $("signin-error");
    el.textContent = text;
    el.hidden = !text;
  }

  async function signIn(event) {
    event.preventDefault();
    showSigninError("");
    const button = $("signin-button");
    button.disabled = true;
    try {
      const res = await fetch("/api/auth/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username: $("username").value, password: $("password").value }),
      });
      if (!res.ok) {
        const p = await problemOf(res);
        showSigninError(res.status === 401 ? "Wrong username or password."
          : (p && (p.detail || p.title)) || `Sign-in failed (HTTP ${res.status}).`);
        return;
      }
      const t = await res.json();
      session = { access: t.access_token, refresh: t.refresh_token, me: null };
      const me = await api("/api/users/me");
      if (me.role !== "admin") {
        // Not for this account: drop its tokens and say so.
        await fetch("/api/auth/logout", {
          method: "POST", headers: { Authorization: `Bearer ${session.access}` },
        }).catch(() => {});
        session = null;
        showSigninError(`${me.username} is a ${me.role}, not an admin: the console is for admins only.`);
        return;
      }
      session.me = me;
      $("password").value = "";
      enterConsole();
    } catch (e) {
      session = null;
      showSigninError(e.message || "Sign-in failed.");
    } finally {
      button.disabled = false;
    }
  }

  function signOut(message) {
    if (session) {
      fetch("/api/auth/logout", {
        method: "POST", headers: { Authorization: `Bearer ${session.access}` },
      }).catch(() => {});
    }
    session = null;
    if (streamAbort) streamAbort.abort();
    streamAbort = null;
    $("console").hidden = true;
    $("who").hidden = true;
    $("signin").hidden = false;
    showSigninError(message || "");
  }

  function enterConsole() {
    $("signin").hidden = true;
    $("console").hidden = false;
    $("who").hidden = false;
    $("who-name").textContent = session.me.username;
    show("queues");
    watchQueues();
  }

  // ---- Views -------------------------------------------------------------------

  function show(view) {
    for (const v of ["queues", "jobs", "users"]) {
      $(`view-${v}`).hidden = v !== view;
      const tab = $(`tab-${v}`);
      if (v === view) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
    notice("");
    if (view === "jobs") loadJobs();
    if (view === "users") loadUsers();
  }

  function notice(text, bad = false) {
    const el = $("notice");
    el.textContent = text;
    el.hidden = !text;
    el.classList.toggle("bad", bad);
  }

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text === null || text === undefined ? "–" : String(text);
    tr.appendChild(td);
    return td;
  }

  function when(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
  }

  function pager(prefix, state) {
    const last = Math.min(state.offset + PAGE, state.total);
    $(`${prefix}-range`).textContent =
      state.total ? `${state.offset + 1}–${last} of ${state.total}` : "";
    $(`${prefix}-prev`).disabled = state.offset === 0;
    $(`${prefix}-next`).disabled = last >= state.total;
  }

  // ---- Queues, live ----------------------------------------------------------------

  function setLive(on) {
    const el = $("live");
    el.classList.toggle("on", on);
    el.textContent = on ? "live" : "reconnecting";
  }

  // EventSource cannot send an Authorization header: the stream is read with fetch.
  async function watchQueues() {
    if (streamAbort) streamAbort.abort();
    const abort = new AbortController();
    streamAbort = abort;
    while (session && !abort.signal.aborted) {
      try {
        const res = await api("/api/admin/queues/stream", { raw: true, signal: abort.signal });
        setLive(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            onEvent(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      } catch (e) {
        if (abort.signal.aborted) return;
      }
      setLive(false);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  function onEvent(block) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (event === "unavailable") {
      $("live").classList.remove("on");
      $("live").textContent = "queue or database unreachable";
      return;
    }
    if (event !== "queues" || !data.length) return;
    setLive(true);
    try { renderQueues(JSON.parse(data.join("\n"))); } catch (_) { /* a torn event */ }
  }

  function renderQueues(r) {
    $("stat-pending").textContent = r.jobs.pending;
    $("stat-done").textContent = r.jobs.done;
    $("stat-failed").textContent = r.jobs.failed;
    const badge = $("failed-badge");
    badge.textContent = r.jobs.failed;
    badge.hidden = !r.jobs.failed;
    $("backend").textContent = r.backend;
    $("sampled-at").textContent = when(r.sampled_at);
    const body = $("queues-table").tBodies[0];
    body.replaceChildren();
    for (const q of r.queues) {
      const tr = document.createElement("tr");
      tr.dataset.queue = q.name;
      cell(tr, q.name);
      cell(tr, q.ready, "num");
      cell(tr, q.unacked, "num");
      cell(tr, q.consumers, "num");
      body.appendChild(tr);
    }
    drawChart(r.done_per_minute || []);
    // The failed list follows the counts while it is on screen.
    if (lastFailed !== null && lastFailed !== r.jobs.failed && !$("view-jobs").hidden) loadJobs();
    lastFailed = r.jobs.failed;
  }

  function svg(name, attrs, text) {
    const el = document.createElementNS("http://www.w3.org/2000/svg", name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function drawChart(perMinute) {
    const chart = $("chart");
    const [w, h, left, bottom, top] = [600, 170, 34, 20, 8];
    const max = Math.max(1, ...perMinute);
    const n = Math.max(perMinute.length, 1);
    const step = (w - left) / n;
    const nodes = [
      svg("line", { class: "axis", x1: left, y1: h - bottom, x2: w, y2: h - bottom }),
      svg("text", { x: 0, y: top + 8 }, String(max)),
      svg("text", { x: 0, y: h - bottom }, "0"),
      svg("text", { x: left, y: h - 4 }, "−60 min"),
      svg("text", { x: w - 24, y: h - 4 }, "now"),
    ];
    perMinute.forEach((count, i) => {
      const bh = ((h - bottom - top) * count) / max;
      const bar = svg("rect", {
        class: "bar-done", x: (left + i * step + 1).toFixed(1), y: (h - bottom - bh).toFixed(1),
        width: Math.max(step - 2, 1).toFixed(1), height: bh.toFixed(1),
      });
      bar.appendChild(svg("title", {}, `${60 - i - 1} min ago: ${count} done`));
      nodes.push(bar);
    });
    chart.replaceChildren(...nodes);
    const total = perMinute.reduce((a, b) => a + b, 0);
    chart.setAttribute("aria-label", `Jobs done per minute, last hour: ${total} in all`);
    chart.dataset.total = total;
  }

  // ---- Jobs -------------------------------------------------------------------------

  async function loadJobs() {
    const status = $("job-status").value;
    const q = new URLSearchParams({ limit: PAGE, offset: jobs.offset });
    if (status) q.set("status", status);
    try {
      const page = await api(`/api/admin/jobs?${q}`);
      jobs.total = page.total;
      const body = $("jobs-table").tBodies[0];
      body.replaceChildren();
      for (const j of page.items) body.appendChild(jobRow(j));
      $("jobs-empty").hidden = page.items.length > 0;
      pager("jobs", jobs);
    } catch (e) {
      notice(`Could not load jobs: ${e.message}`, true);
    }
  }

  function jobRow(j) {
    const tr = document.createElement("tr");
    tr.dataset.linkId = j.link_id;
    const id = cell(tr, "");
    const code = document.createElement("code");
    code.textContent = j.link_id;
    id.appendChild(code);
    cell(tr, j.transformation);
    cell(tr, j.status, `status status-${j.status}`);
    cell(tr, j.attempts, "num");
    cell(tr, j.error, "reason");
    cell(tr, when(j.completed_at));
    const actions = cell(tr, "");
    if (j.status === "failed") {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "retry";
      b.textContent = "Retry";
      b.addEventListener("click", () => retry(j.link_id, b));
      actions.appendChild(b);
    }
    return tr;
  }

  async function retry(linkId, button) {
    button.disabled = true;
    try {
      await api(`/api/admin/jobs/${encodeURIComponent(linkId)}/retry`, { method: "POST" });
      notice(`Job ${linkId} queued again.`);
      await loadJobs();
    } catch (e) {
      button.disabled = false;
      notice(`Retry failed: ${e.message}`, true);
    }
  }

  // ---- Users ------------------------------------------------------------------------

  async function loadUsers() {
    const q = new URLSearchParams({ limit: PAGE, offset: users.offset });
    if (users.q) q.set("q", users.q);
    try {
      const page = await api(`/api/admin/users?${q}`);
      users.total = page.total;
      const body = $("users-table").tBodies[0];
      body.replaceChildren();
      for (const u of page.items) body.appendChild(userRow(u));
      $("users-empty").hidden = page.items.length > 0;
      pager("users", users);
    } catch (e) {
      notice(`Could not load users: ${e.message}`, true);
    }
  }

  function userRow(u) {
    const self = session && u.id === session.me.id;
    const tr = document.createElement("tr");
    tr.dataset.username = u.username;
    const who = cell(tr, u.username);
    const email = document.createElement("div");
    email.className = "hint";
    email.textContent = u.email;
    who.appendChild(email);
    const roleCell = cell(tr, "");
    const select = document.createElement("select");
    select.className = "role";
    select.setAttribute("aria-label", `Role of ${u.username}`);
    for (const r of ["user", "moderator", "admin"]) {
      const o = document.createElement("option");
      o.value = r;
      o.textContent = r;
      o.selected = r === u.role;
      select.appendChild(o);
    }
    select.disabled = self;
    if (self) select.title = "You cannot change your own role.";
    select.addEventListener("change", () => setRole(u, select));
    roleCell.appendChild(select);
    cell(tr, u.is_active ? "active" : "banned", u.is_active ? "" : "banned");
    cell(tr, u.photo_count, "num");
    const actions = cell(tr, "");
    const b = document.createElement("button");
    b.type = "button";
    b.className = u.is_active ? "ban" : "unban quiet";
    b.textContent = u.is_active ? "Ban" : "Unban";
    b.disabled = self;
    if (self) b.title = "You cannot ban yourself.";
    // An active user gets banned, a banned one unbanned.
    b.addEventListener("click", () => setBanned(u, u.is_active, b));
    actions.appendChild(b);
    return tr;
  }

  async function setRole(u, select) {
    select.disabled = true;
    try {
      const path = `/api/admin/users/${encodeURIComponent(u.username)}/role`;
      const updated = await api(path, { method: "PUT", body: { role: select.value } });
      notice(`${updated.username} is now ${updated.role}.`);
      await loadUsers();
    } catch (e) {
      select.value = u.role;
      select.disabled = false;
      notice(`Role not changed: ${e.message}`, true);
    }
  }

  async function setBanned(u, banned, button) {
    button.disabled = true;
    try {
      const verb = banned ? "ban" : "unban";
      const path = `/api/admin/users/${encodeURIComponent(u.username)}/${verb}`;
      const updated = await api(path, { method: "POST" });
      notice(`${updated.username} is ${updated.is_active ? "active again" : "banned"}.`);
      await loadUsers();
    } catch (e) {
      button.disabled = false;
      notice(`Not changed: ${e.message}`, true);
    }
  }

  // ---- Wiring -----------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    $("signin-form").addEventListener("submit", signIn);
    $("signout").addEventListener("click", () => signOut(""));
    for (const v of ["queues", "jobs", "users"]) {
      $(`tab-${v}`).addEventListener("click", () => show(v));
    }
    $("job-status").addEventListener("change", () => { jobs.offset = 0; loadJobs(); });
    $("jobs-prev").addEventListener("click", () => { jobs.offset = Math.max(0, jobs.offset - PAGE); loadJobs(); });
    $("jobs-next").addEventListener("click", () => { jobs.offset += PAGE; loadJobs(); });
    $("users-prev").addEventListener("click", () => { users.offset = Math.max(0, users.offset - PAGE); loadUsers(); });
    $("users-next").addEventListener("click", () => { users.offset += PAGE; loadUsers(); });
    let typing;
    $("user-search").addEventListener("input", (e) => {
      clearTimeout(typing);
      typing = setTimeout(() => { users.q = e.target.value.trim(); users.offset = 0; loadUsers(); }, 250);
    });
  });
})();
