// The Peers view: each peer's status, trust and tools; add one by URL,
// change its trust, remove it. The server's errors are shown as it gave them.

import { $, h, fill } from "../dom.js";
import { call, ApiError } from "../api.js";

const TRUST = ["full", "discover", "none"];
let armed = ""; // the peer whose Remove button asks for confirmation
let onAuthError = () => {};

function showError(err) {
  if (err instanceof ApiError && err.status === 401) {
    onAuthError(err.message);
    return;
  }
  $("#peer-error").textContent = err instanceof ApiError ? `${err.status}: ${err.message}` : String(err.message || err);
}

async function act(fn) {
  $("#peer-error").textContent = "";
  try {
    await fn();
  } catch (err) {
    showError(err);
  }
}

function addPeer(e) {
  e.preventDefault();
  const body = { url: $("#peer-url").value.trim(), trust_level: $("#peer-trust").value };
  const name = $("#peer-name").value.trim();
  if (name) body.name = name;
  const btn = e.submitter || $("#peer-form button");
  btn.disabled = true;
  act(async () => {
    await call("POST", "/api/federation/peers", body);
    $("#peer-url").value = "";
    $("#peer-name").value = "";
  }).finally(() => { btn.disabled = false; });
}

function setTrust(name, level) {
  act(() => call("PATCH", "/api/federation/peers/" + encodeURIComponent(name), { trust_level: level }));
}

function remove(name, render) {
  if (armed !== name) {
    armed = name;
    render();
    return;
  }
  armed = "";
  act(() => call("DELETE", "/api/federation/peers/" + encodeURIComponent(name)));
}

let redraw = () => {};

export function initPeers(state, authError, schedule) {
  onAuthError = authError;
  redraw = schedule;
  $("#peer-form").addEventListener("submit", addPeer);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && armed) { armed = ""; redraw(); }
  });
}

function trustSelect(p) {
  return h("select", { class: "trust", "aria-label": "Trust of " + p.name, onchange: (e) => setTrust(p.name, e.target.value) },
    TRUST.map((t) => h("option", { value: t, selected: t === p.trust_level }, t)));
}

function row(state, p) {
  const confirm = armed === p.name;
  return h("tr", { "data-peer": p.name, "data-status": p.status, "data-trust": p.trust_level },
    h("td", {}, h("strong", {}, p.name), p.member && p.member !== p.name ? h("div", { class: "muted small" }, p.member) : null,
      h("div", { class: "narrow-only" }, h("span", { class: "pill " + p.status }, p.status))),
    h("td", { class: "wide" }, h("span", { class: "pill " + p.status, title: p.error || "" }, p.status)),
    h("td", {}, trustSelect(p)),
    h("td", { class: "num" }, String(p.tools)),
    h("td", { class: "wide url mono", title: p.url }, p.url),
    h("td", {}, h("div", { class: "peers-actions" },
      h("button", { type: "button", class: "danger" + (confirm ? " confirm" : ""), "data-action": "remove",
        onclick: () => remove(p.name, redraw) }, confirm ? "Confirm" : "Remove"))));
}

function drawRules(state) {
  const rows = state.rules.map((r) => h("tr", { "data-rule": r.name },
    h("td", {}, h("strong", {}, r.name)),
    h("td", {}, h("span", { class: "pill " + (r.effect === "allow" ? "online" : "offline") }, r.effect)),
    h("td", { class: "mono wrap" }, (r.principals || []).join(", ")),
    h("td", { class: "mono wrap" }, (r.tools || []).join(", ")),
    h("td", { class: "wide" }, r.rate || "—")));
  fill($("#rules-table tbody"), rows.length ? rows
    : h("tr", { class: "empty" }, h("td", { colspan: 5 }, "No rules: every token may call every tool.")));
}

// rows are kept by peer while the peer is unchanged, so a row being used
// (its menu open, its button under the pointer) is not replaced by an
// event about another peer.
const kept = new Map(); // peer name -> { key, els }

function rowsOf(state, p) {
  const key = JSON.stringify(p) + (armed === p.name);
  const k = kept.get(p.name);
  if (k && k.key === key) return k.els;
  const els = [row(state, p)];
  if (p.error) els.push(h("tr", { class: "peer-error-row" }, h("td", { class: "err", colspan: 6 }, p.error)));
  kept.set(p.name, { key, els });
  return els;
}

export function renderPeers(state) {
  drawRules(state);
  const peers = [...state.peers].sort((a, b) => a.name.localeCompare(b.name));
  for (const name of kept.keys()) if (!peers.some((p) => p.name === name)) kept.delete(name);
  const rows = peers.flatMap((p) => rowsOf(state, p));
  const body = $("#peers-table tbody");
  const same = rows.length === body.children.length && rows.every((r, i) => r === body.children[i]);
  if (!same) {
    fill(body, rows.length ? rows : h("tr", { class: "empty" }, h("td", { colspan: 6 }, "No peers yet: add a node by its URL above.")));
  }
  const online = peers.filter((p) => p.status === "online").length;
  $("#peers-summary").textContent = peers.length ? `${online} of ${peers.length} online` : "";
}
