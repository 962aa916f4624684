// The dashboard: signs in with an admin token, follows GET /api/events and
// draws the views from the state it keeps.

import { token, stream, ApiError } from "./api.js";
import { $ } from "./dom.js";
import { renderRing } from "./views/ring.js";
import { initPeers, renderPeers } from "./views/peers.js";
import { initTools, renderTools } from "./views/tools.js";
import { renderCalls } from "./views/calls.js";

const VIEWS = { ring: renderRing, peers: renderPeers, tools: renderTools, calls: renderCalls };
// DEPS are the parts of the state each view draws: a view is drawn again
// only when one of them changed (so a form being used is not redrawn
// under the user's hands every second).
const DEPS = { ring: ["members", "peers", "tools", "calls"], peers: ["peers", "rules"], tools: ["tools", "services", "peers"], calls: ["calls"] };
const versions = { members: 0, peers: 0, rules: 0, tools: 0, services: 0, calls: 0 };
const drawn = {}; // view -> the versions it was drawn at
const MAX_SAMPLES = 300;

// state is what the node told us: the snapshot, then every change.
const state = { node: "", members: [], peers: [], rules: [], tools: [], services: [], calls: [] };
let conn = null; // the AbortController of the open stream
let retry = 0;

// ---- sign-in ----

// tokenFromFragment takes a token from /ui/#token=..., keeps it in the
// tab and removes it from the address bar (and the history).
function tokenFromFragment() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m) return false;
  token.set(decodeURIComponent(m[1]));
  history.replaceState(null, "", location.pathname + location.search + "#ring");
  return true;
}

function showLogin(message) {
  stop();
  token.clear();
  $("#login").hidden = false;
  $("#tabs").hidden = true;
  $("#logout").hidden = true;
  for (const v of document.querySelectorAll(".view")) v.hidden = true;
  $("#login-error").textContent = message || "";
  setConn("off", "signed out");
  $("#login-token").focus();
}

function signedIn() {
  $("#login").hidden = true;
  $("#tabs").hidden = false;
  $("#logout").hidden = false;
  $("#login-error").textContent = "";
  route();
  connect();
}

// ---- the events stream ----

function setConn(stateName, text) {
  const el = $("#conn");
  el.dataset.state = stateName;
  el.textContent = text;
}

function stop() {
  if (conn) conn.abort();
  conn = null;
}

async function connect() {
  stop();
  const ctl = new AbortController();
  conn = ctl;
  setConn("connecting", "connecting");
  try {
    await stream(() => { retry = 0; setConn("live", "live"); }, onEvent, ctl.signal);
  } catch (err) {
    if (ctl.signal.aborted) return;
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      showLogin(err.message);
      return;
    }
  }
  if (conn !== ctl) return;
  setConn("connecting", "reconnecting");
  retry = Math.min(retry + 1, 5);
  setTimeout(() => { if (conn === ctl) connect(); }, 500 * retry);
}

function onEvent(name, data) {
  switch (name) {
    case "snapshot":
      Object.assign(state, data);
      for (const k of Object.keys(versions)) versions[k]++;
      state.calls = data.calls || [];
      $("#node-name").textContent = data.node;
      document.title = "mcpmesh · " + data.node;
      break;
    case "member":
      applyMember(data);
      versions.members++;
      break;
    case "calls":
      versions.calls++;
      state.calls.push(data);
      if (state.calls.length > MAX_SAMPLES) state.calls.splice(0, state.calls.length - MAX_SAMPLES);
      break;
    case "peers": case "rules": case "tools": case "services":
      state[name] = data;
      versions[name]++;
      break;
    default:
      return;
  }
  schedule();
}

function applyMember({ change, member }) {
  const i = state.members.findIndex((m) => m.name === member.name);
  if (change === "leave") {
    if (i >= 0) state.members.splice(i, 1);
  } else if (i >= 0) {
    state.members[i] = member;
  } else {
    state.members.push(member);
  }
}

// ---- drawing ----

let pending = false;
let forced = false;

// schedule draws the current view at the next frame; force draws it even
// if its data did not change (a search typed, a row opened).
function schedule(force) {
  forced = forced || force === true;
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; draw(); });
}

function currentView() {
  const v = location.hash.replace(/^#/, "");
  return VIEWS[v] ? v : "ring";
}

function draw() {
  if (!token.get()) return;
  const v = currentView();
  const sig = DEPS[v].map((k) => versions[k]).join(",");
  if (!forced && drawn[v] === sig) return;
  forced = false;
  drawn[v] = sig;
  VIEWS[v](state);
}

function route() {
  const v = currentView();
  for (const [name] of Object.entries(VIEWS)) {
    $("#view-" + name).hidden = name !== v || !token.get();
  }
  for (const a of document.querySelectorAll("#tabs a")) a.classList.toggle("active", a.dataset.view === v);
  schedule(true);
}

// ---- start ----

function start() {
  initPeers(state, (msg) => showLogin(msg), () => schedule(true));
  initTools(schedule);
  $("#login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const t = $("#login-token").value.trim();
    if (!t) return;
    token.set(t);
    $("#login-token").value = "";
    signedIn();
  });
  $("#logout").addEventListener("click", () => showLogin(""));
  window.addEventListener("hashchange", () => { if (tokenFromFragment()) signedIn(); else route(); });
  setInterval(() => schedule(currentView() === "ring"), 5000); // "since" times age
  tokenFromFragment();
  if (token.get()) signedIn();
  else showLogin("");
}

start();
