// tasklogs viewer: signs in with the identity provider (OIDC authorization code + PKCE), then reads
// the API on this origin: the task list (§9), a task's transcript a page at a time (§7), followed with
// `after` and If-None-Match (§8). Message content only ever reaches the page as text (textContent).
"use strict";

const API = "/api/v2";
const PAGE = 100; // entries per page
const POLL_MS = 2000; // following, as the CLI does
const MAX_BACKOFF_MS = 60000;
const READER_MOVES = ["wheel", "touchmove", "keydown"];
const TOKEN_KEY = "tasklogs.token"; // sessionStorage: this tab only, never in a URL
const REFRESH_KEY = "tasklogs.refresh"; // the provider's refresh token, when it gives one: kept the same way
const PKCE_KEY = "tasklogs.pkce";
const SIGNED_OUT_KEY = "tasklogs.signedOut";

let config = null;
let token = null;
let view = null; // the current view's stop(), if it polls

// ---------------------------------------------------------------- sign-in

function base64url(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(size) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

function redirectUri() {
  return location.origin + location.pathname;
}

async function signIn() {
  const verifier = randomString(32);
  const state = randomString(16);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, hash: location.hash }));
  sessionStorage.removeItem(SIGNED_OUT_KEY);
  const url = new URL(config.authorization_endpoint, location.href);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.client_id,
    redirect_uri: redirectUri(),
    scope: config.scope,
    state,
    code_challenge: base64url(new Uint8Array(digest)),
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

async function finishSignIn(params) {
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  sessionStorage.removeItem(PKCE_KEY);
  // The code leaves the address bar (and the history) before anything else happens.
  history.replaceState(null, "", location.pathname + ((saved && saved.hash) || "#/"));
  if (params.get("error") || !saved || params.get("state") !== saved.state) {
    throw new ViewError("Sign-in failed.", params.get("error_description") || params.get("error") || "The sign-in answer did not match this tab's request.");
  }
  return requestToken({
    grant_type: "authorization_code",
    code: params.get("code"),
    redirect_uri: redirectUri(),
    code_verifier: saved.verifier,
  });
}

// The token endpoint, for a code (signing in) or a refresh token (staying signed in); stores and returns
// the token the API takes.
async function requestToken(form) {
  let answer;
  try {
    answer = await fetch(new URL(config.token_endpoint, location.href), {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: config.client_id, ...form }),
    });
  } catch (error) {
    throw new ViewError("Sign-in failed.", "The identity provider could not be reached.");
  }
  const tokens = await answer.json().catch(() => ({}));
  const got = tokens[config.token || "id_token"];
  if (!answer.ok || !got) {
    throw new ViewError("Sign-in failed.", tokens.error_description || tokens.error || `The identity provider answered ${answer.status}.`);
  }
  sessionStorage.setItem(TOKEN_KEY, got);
  // Cognito sends one with the code; a provider that rotates them sends a new one with each refresh.
  if (tokens.refresh_token) sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token);
  return got;
}

let refreshing = null; // the refresh under way: requests that find the token expired together share it

// A new token without leaving the page (an hour is Cognito's default lifetime, shorter than a task), or
// null when there is no refresh token or the provider refused it: then the reader signs in again.
function refreshToken() {
  const refresh = sessionStorage.getItem(REFRESH_KEY);
  if (!refresh) return Promise.resolve(null);
  if (!refreshing) {
    refreshing = requestToken({ grant_type: "refresh_token", refresh_token: refresh })
      .catch(() => {
        sessionStorage.removeItem(REFRESH_KEY);
        return null;
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

function claims(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch (error) {
    return {};
  }
}

async function signOut() {
  stopView();
  const refresh = sessionStorage.getItem(REFRESH_KEY);
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(REFRESH_KEY);
  sessionStorage.setItem(SIGNED_OUT_KEY, "1");
  token = null;
  if (refresh && config.revocation_endpoint) await revoke(refresh);
  if (config.logout_endpoint) {
    const url = new URL(config.logout_endpoint, location.href);
    url.search = new URLSearchParams({
      client_id: config.client_id,
      logout_uri: redirectUri(), // Cognito's name
      post_logout_redirect_uri: redirectUri(), // OpenID Connect's
    }).toString();
    location.assign(url.toString());
    return;
  }
  showSignedOut();
}

// RFC 7009 (Cognito's /oauth2/revoke): the refresh token stops working at the provider, not only in
// this tab. Signing out goes on if the provider cannot be reached.
async function revoke(refresh) {
  try {
    await fetch(new URL(config.revocation_endpoint, location.href), {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: config.client_id, token: refresh }),
    });
  } catch (error) {
    // offline: the token lapses on its own (Cognito's refresh tokens last 30 days by default)
  }
}

function showSignedOut() {
  document.getElementById("who").textContent = "";
  document.getElementById("sign-out").hidden = true;
  const main = render(el("h1", {}, "Signed out"), el("p", { class: "quiet" }, "Your token was forgotten in this tab."));
  const button = el("button", { type: "button" }, "Sign in");
  button.addEventListener("click", () => signIn());
  main.append(button);
  button.focus();
}

// ---------------------------------------------------------------- the API

class ViewError extends Error {
  constructor(message, detail, status) {
    super(message);
    this.detail = detail || "";
    this.status = status || 0;
  }
}

async function api(path, etag, retried = false) {
  const sent = token;
  const headers = { Authorization: `Bearer ${sent}` };
  if (etag) headers["If-None-Match"] = etag;
  let answer;
  try {
    // no-store: the browser's cache must not turn our 304 into its own 200.
    answer = await fetch(API + path, { headers, cache: "no-store" });
  } catch (error) {
    throw new ViewError("Offline", "The service could not be reached.", 0);
  }
  if (answer.status === 304) return { status: 304, etag };
  const body = await answer.json().catch(() => null);
  if (answer.status === 401 && !retried) {
    // Expired: ask again with the token another request has just refreshed, or refresh it now.
    const renewed = token !== sent ? token : await refreshToken();
    if (renewed) {
      token = renewed;
      return api(path, etag, true);
    }
  }
  if (answer.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    throw new ViewError("Your sign-in has expired.", "Sign in again to go on.", 401);
  }
  if (!answer.ok) {
    throw new ViewError((body && body.message) || `HTTP ${answer.status}`, body && body.detail, answer.status);
  }
  return { status: answer.status, body, etag: answer.headers.get("ETag") };
}

// ---------------------------------------------------------------- rendering (text only)

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child); // strings become text nodes
  return node;
}

function render(...children) {
  const main = document.getElementById("main");
  main.replaceChildren(...children);
  return main;
}

function localTime(value) {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}

function ago(value) {
  const seconds = Math.floor((Date.now() - new Date(value).getTime()) / 1000);
  for (const [unit, size] of [["day", 86400], ["hour", 3600], ["minute", 60]]) {
    if (seconds >= size) {
      const count = Math.floor(seconds / size);
      return `${count} ${unit}${count === 1 ? "" : "s"} ago`;
    }
  }
  return "just now";
}

function badge(status) {
  return el("span", { class: `badge ${status}`, "data-status": status }, status);
}

function notice(text) {
  const node = document.getElementById("notice");
  node.textContent = text || "";
  node.hidden = !text;
}

function showError(error) {
  const main = render(el("h1", {}, error.message));
  if (error.detail) main.append(el("p", { class: "quiet" }, error.detail));
  if (error.status === 401) {
    const button = el("button", { type: "button" }, "Sign in");
    button.addEventListener("click", () => signIn());
    main.append(button);
  } else {
    main.append(el("p", {}, el("a", { href: "#/" }, "Back to your tasks")));
  }
  main.focus({ preventScroll: true });
}

// A crash (`agent lost`) says until when the history was kept: the time of the entry before the gap.
function gapNote(gap, keptUntil) {
  if (gap.reason === "agent lost") {
    const date = new Date(keptUntil);
    const until = keptUntil && !Number.isNaN(date.getTime())
      ? ` until ${date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`
      : "";
    return `history kept${until}; the workspace stopped answering`;
  }
  const where = gap.after_seq === null ? "earlier " : gap.before_seq === null ? "later " : "";
  const count = Number.isInteger(gap.missing) ? `${gap.missing} ${where}message${gap.missing === 1 ? "" : "s"}` : `Some ${where}messages`;
  if (gap.reason === "over size limit") return `${count} left out: over the session size limit`;
  return `${count} ${gap.missing === 1 ? "was" : "were"} not captured`;
}

// ---------------------------------------------------------------- the task list

async function showTasks() {
  render(el("h1", {}, "Your tasks"), el("p", { class: "quiet" }, "Loading…"));
  const { body } = await api("/tasks");
  const list = el("ul", { class: "tasks" });
  for (const task of body.tasks) {
    const created = task.created_at && !task.created_at.startsWith("0001-") ? localTime(task.created_at) : "";
    list.append(el("li", { "data-task": task.name }, el("a", { href: `#/tasks/${encodeURIComponent(task.id)}` }, task.name), badge(task.status), el("span", { class: "created" }, created)));
  }
  const main = render(el("h1", {}, "Your tasks"), body.tasks.length ? list : el("p", { class: "quiet" }, "No tasks yet."));
  window.scrollTo(0, 0);
  main.focus({ preventScroll: true }); // focusing would scroll the heading under the sticky bar
}

// ---------------------------------------------------------------- one task

function entryNode(entry) {
  const input = entry.type === "input";
  const node = el(
    "li",
    {
      class: `entry ${input ? "input" : "output"}${entry.final ? "" : " provisional"}`,
      "data-seq": String(entry.seq),
      "data-session": String(entry.session),
    },
    el(
      "div",
      { class: "meta" },
      el("span", { class: "speaker" }, input ? "You" : "Agent"),
      el("time", { datetime: entry.time }, localTime(entry.time)),
      ...(entry.redactions ? [el("span", { class: "redacted-note" }, redactedNote(entry.redactions))] : []),
    ),
    el(input ? "p" : "pre", { class: "content" }, ...withMarkers(entry.content)),
  );
  return node;
}

// Where the service removed a secret the text says `[REDACTED:<kind>]`: marked, so it cannot pass for
// the agent's own words. Still text nodes only.
const REDACTED = /\[REDACTED:[a-z0-9]+(?:-[a-z0-9]+)*\]/g;

function withMarkers(content) {
  const parts = [];
  let at = 0;
  for (const found of content.matchAll(REDACTED)) {
    if (found.index > at) parts.push(content.slice(at, found.index));
    parts.push(el("mark", { class: "redacted", title: "A secret was removed here" }, found[0]));
    at = found.index + found[0].length;
  }
  if (at < content.length || !parts.length) parts.push(content.slice(at));
  return parts;
}

function redactedNote(redactions) {
  const count = redactions.reduce((sum, r) => sum + r.count, 0);
  return `${count} secret${count === 1 ? "" : "s"} removed (${redactions.map((r) => r.kind).join(", ")})`;
}

class Conversation {
  constructor(ref, list, header) {
    this.ref = ref;
    this.list = list;
    this.header = header;
    this.oldest = null; // seq of the oldest entry shown
    this.cursor = -1; // highest final seq shown: the next `after`
    this.gapsShown = new Set();
    this.etag = null;
    this.status = null;
    this.timer = null;
    this.failures = 0;
    this.stopped = false;
  }

  path(query) {
    return `/tasks/me/${encodeURIComponent(this.ref)}/transcript?${new URLSearchParams(query)}`;
  }

  // Entries ascending, placed before `anchor` (or at the end), with session breaks and gap notes.
  place(entries, gaps, anchor, previousSession) {
    const fragment = document.createDocumentFragment();
    let session = previousSession;
    for (const entry of entries) {
      for (const gap of gaps) {
        if (gap.before_seq === entry.seq) this.gap(gap, fragment);
      }
      if (session !== null && entry.session !== session) {
        fragment.append(el("li", { class: "session" }, `Session ${entry.session}`));
      }
      session = entry.session;
      const old = this.list.querySelector(`li.entry[data-seq="${entry.seq}"]`);
      if (old) old.replaceWith(entryNode(entry));
      else fragment.append(entryNode(entry));
    }
    if (!anchor) for (const gap of gaps) if (gap.before_seq === null) this.gap(gap, fragment);
    this.list.insertBefore(fragment, anchor || null);
  }

  gap(gap, into) {
    const key = `${gap.after_seq}:${gap.before_seq}`;
    if (this.gapsShown.has(key)) return;
    this.gapsShown.add(key);
    const before = this.list.querySelector(`li.entry[data-seq="${gap.after_seq}"] time`)
      || into.querySelector(`li.entry[data-seq="${gap.after_seq}"] time`);
    const keptUntil = gap.before_seq === null && this.storedUntil
      ? this.storedUntil
      : before && before.getAttribute("datetime");
    into.append(el("li", { class: "gap" }, gapNote(gap, keptUntil)));
  }

  lastSession() {
    const entries = this.list.querySelectorAll("li.entry");
    return entries.length ? Number(entries[entries.length - 1].dataset.session) : null;
  }

  async first() {
    const { body } = await api(this.path({ limit: PAGE }));
    this.accept(body, null); // its ETag names this page, not the `after` query that follows it
    this.place(body.entries, body.gaps, null, null);
    this.older(body.has_older, body.entries);
    if (!body.entries.length) this.list.append(el("li", { class: "quiet empty" }, "No messages yet."));
    // A live task opens at its newest message, to follow it; any other at the top, its banner and the
    // start of what is stored (a gap, a session) in view.
    window.scrollTo(0, body.status === "active" ? document.body.scrollHeight : 0);
    // Older pages load as the reader scrolls up to them, not because a page opened with the control in
    // view: only once the reader has moved (wheel, touch, keys).
    this.onReaderMoved = () => {
      this.readerMoved = true;
      if (this.olderInView) this.loadOlder();
    };
    for (const type of READER_MOVES) window.addEventListener(type, this.onReaderMoved, { passive: true });
  }

  // The control above the entries: loads the page before them, when it scrolls into view or is pressed.
  older(hasOlder, entries) {
    if (entries.length) this.oldest = entries[0].seq;
    const old = document.getElementById("older");
    if (old) old.remove();
    if (!hasOlder) return;
    const button = el("button", { id: "older", type: "button", class: "older" }, "Load older messages");
    button.addEventListener("click", () => this.loadOlder());
    this.list.before(button);
    this.observer =
      this.observer ||
      new IntersectionObserver((seen) => {
        this.olderInView = seen.some((s) => s.isIntersecting);
        if (this.olderInView && this.readerMoved) this.loadOlder();
      });
    this.observer.observe(button);
  }

  async loadOlder() {
    if (this.loadingOlder || this.oldest === null) return;
    this.loadingOlder = true;
    try {
      const { body } = await api(this.path({ before: this.oldest, limit: PAGE }));
      const height = document.body.scrollHeight;
      const y = window.scrollY;
      const firstShown = this.list.firstElementChild;
      const nextEntry = this.list.querySelector("li.entry");
      this.place(body.entries, body.gaps, firstShown, null);
      const newest = body.entries[body.entries.length - 1];
      if (newest && nextEntry && Number(nextEntry.dataset.session) !== newest.session) {
        this.list.insertBefore(el("li", { class: "session" }, `Session ${nextEntry.dataset.session}`), nextEntry);
      }
      window.scrollTo(0, y + document.body.scrollHeight - height); // what was read stays in place
      this.older(body.has_older, body.entries);
    } catch (error) {
      notice(`${error.message}${error.detail ? ": " + error.detail : ""}`);
    } finally {
      this.loadingOlder = false;
    }
  }

  accept(body, etag) {
    this.etag = etag;
    this.storedUntil = body.snapshot_at || null; // a crash's note: when the newest session was last stored
    for (const entry of body.entries) if (entry.final) this.cursor = Math.max(this.cursor, entry.seq);
    if (body.status !== this.status) {
      this.status = body.status;
      this.header.update(body.status);
    }
    this.header.liveError(body.live_error);
  }

  follow() {
    const tick = async () => {
      if (this.stopped) return;
      if (document.hidden) return this.schedule(POLL_MS); // a hidden tab asks nothing
      try {
        const answer = await api(this.path({ after: this.cursor, limit: 1000 }), this.etag);
        if (this.failures) notice("");
        this.failures = 0;
        if (answer.status !== 304) {
          const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
          this.list.querySelectorAll("li.provisional, li.empty").forEach((node) => node.remove());
          this.accept(answer.body, answer.etag);
          this.place(answer.body.entries, answer.body.gaps, null, this.lastSession());
          if (atBottom) window.scrollTo(0, document.body.scrollHeight);
        }
        this.schedule(POLL_MS);
      } catch (error) {
        if (error.status === 404) {
          this.header.gone();
          return;
        }
        if (error.status === 401) return showError(error);
        this.failures += 1;
        const wait = Math.min(POLL_MS * 2 ** this.failures, MAX_BACKOFF_MS);
        notice(error.status === 0 ? `Offline: retrying in ${Math.round(wait / 1000)} s.` : `${error.message}: retrying in ${Math.round(wait / 1000)} s.`);
        this.schedule(wait);
      }
    };
    this.tick = tick;
    this.onVisible = () => !document.hidden && this.schedule(0);
    document.addEventListener("visibilitychange", this.onVisible);
    this.schedule(POLL_MS);
  }

  schedule(ms) {
    clearTimeout(this.timer);
    if (!this.stopped) this.timer = setTimeout(this.tick, ms);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.observer) this.observer.disconnect();
    if (this.onReaderMoved) for (const type of READER_MOVES) window.removeEventListener(type, this.onReaderMoved);
    document.removeEventListener("visibilitychange", this.onVisible);
  }
}

class TaskHeader {
  constructor(task, node) {
    this.task = task;
    this.node = node;
    this.badge = node.querySelector(".badge");
    this.banner = el("p", { class: "banner", id: "banner" });
    this.agent = el("p", { class: "banner trouble", id: "agent-error", hidden: "" });
    this.status = null;
    this.agentError = null;
    node.append(this.banner, this.agent);
  }

  async update(status) {
    this.status = status;
    this.badge.replaceWith((this.badge = badge(status)));
    if (status === "active") {
      this.showLive();
    } else if (["paused", "pending", "initializing"].includes(status)) {
      this.banner.className = "banner paused";
      const label = status === "paused" ? "Paused" : status === "pending" ? "Pending" : "Initializing";
      this.banner.textContent = `${label}`;
      try {
        const { body } = await api(`/tasks/me/${encodeURIComponent(this.task.id)}/logs`);
        this.banner.textContent = body.snapshot_at
          ? `${label} — snapshot from ${localTime(body.snapshot_at)} (${ago(body.snapshot_at)})`
          : `${label} — nothing stored yet`;
      } catch (error) {
        this.banner.textContent = `${label} — showing the stored conversation`;
      }
    } else {
      this.banner.className = "banner trouble";
      this.banner.textContent = `This task is in state "${status}": showing its stored conversation.`;
    }
  }

  // An active task is live only while its agent answers.
  showLive() {
    const answering = !this.agentError;
    this.banner.className = answering ? "banner live" : "banner trouble";
    this.banner.textContent = answering ? "Live" : "Active, but its agent is not answering";
  }

  liveError(error) {
    this.agentError = error || null;
    this.agent.hidden = !error;
    this.agent.textContent = error ? `The agent did not answer: ${error.message}${error.detail ? " " + error.detail : ""} Showing what is stored.` : "";
    if (this.status === "active") this.showLive();
  }

  gone() {
    this.banner.className = "banner trouble";
    this.banner.textContent = "This task was deleted.";
  }
}

async function showTask(ref) {
  render(el("p", { class: "quiet" }, "Loading…"));
  const { body: task } = await api(`/tasks/me/${encodeURIComponent(ref)}`);
  // Named as the list names it; the display name, when it says more, under the name.
  const title = el("div", { class: "task-title" }, el("h1", {}, task.name), badge(task.status));
  const head = el("div", { class: "task-head" }, title);
  if (task.display_name && task.display_name !== task.name) head.append(el("p", { class: "display-name quiet" }, task.display_name));
  const list = el("ol", { class: "entries", "aria-label": "Conversation" });
  const main = render(head, list);
  const header = new TaskHeader(task, head);
  const conversation = new Conversation(task.id, list, header);
  view = conversation;
  await conversation.first();
  conversation.follow();
  main.focus({ preventScroll: true });
}

// ---------------------------------------------------------------- routing

function stopView() {
  if (view) view.stop();
  view = null;
  notice("");
}

async function route() {
  stopView();
  const match = location.hash.match(/^#\/tasks\/([^/]+)$/);
  try {
    if (match) await showTask(decodeURIComponent(match[1]));
    else await showTasks();
  } catch (error) {
    if (error.status === 404) showError(new ViewError("Task not found", "There is no such task of yours.", 404));
    else showError(error);
  }
}

async function main() {
  try {
    config = await (await fetch("/viewer/config.json", { cache: "no-store" })).json();
    const params = new URLSearchParams(location.search);
    if (params.has("code") || params.has("error")) token = await finishSignIn(params);
    else token = sessionStorage.getItem(TOKEN_KEY);
  } catch (error) {
    return showError(error instanceof ViewError ? error : new ViewError("The viewer could not start.", String(error)));
  }
  if (!token || (claims(token).exp || Infinity) * 1000 < Date.now()) token = await refreshToken();
  if (!token) {
    if (sessionStorage.getItem(SIGNED_OUT_KEY)) return showSignedOut();
    return signIn();
  }
  const who = claims(token);
  document.getElementById("who").textContent = who.username || who["cognito:username"] || who.email || who.sub || "";
  const button = document.getElementById("sign-out");
  button.hidden = false;
  button.addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  route();
}

main();
