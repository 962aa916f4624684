// The Tools view: every tool the node lists, grouped by where it comes from
// (this node, a peer, a service), with a search box and each tool's schema
// on click; then the services and their providers.

import { $, h, fill } from "../dom.js";

const open = new Set(); // tools whose schema is shown
let redraw = () => {};

export function initTools(schedule) {
  redraw = schedule;
  $("#tool-search").addEventListener("input", () => redraw(true));
}

function kindOf(state, source) {
  if (source === state.node) return "this node";
  if (state.services.some((s) => s.name === source)) return "service";
  if (state.peers.some((p) => p.name === source)) return "peer";
  return "server";
}

function matches(tool, q) {
  if (!q) return true;
  return [tool.name, tool.source, tool.description].some((v) => (v || "").toLowerCase().includes(q));
}

function toolItem(t) {
  const shown = open.has(t.name);
  const toggle = () => {
    if (open.has(t.name)) open.delete(t.name); else open.add(t.name);
    redraw(true);
  };
  return h("div", { class: "tool", "data-tool": t.name },
    h("button", { type: "button", "aria-expanded": String(shown), onclick: toggle },
      h("span", { class: "tname mono" }, t.name),
      h("span", { class: "tdesc" }, t.description || "")),
    shown ? h("pre", { class: "schema" }, JSON.stringify(t.inputSchema || {}, null, 2)) : null);
}

function groups(state, q) {
  const by = new Map();
  for (const t of state.tools) {
    if (!matches(t, q)) continue;
    const src = t.source || state.node;
    if (!by.has(src)) by.set(src, []);
    by.get(src).push(t);
  }
  return [...by.entries()].sort(([a], [b]) => (a === state.node ? -1 : b === state.node ? 1 : a.localeCompare(b)));
}

function drawTools(state) {
  const q = $("#tool-search").value.trim().toLowerCase();
  const gs = groups(state, q);
  const shown = gs.reduce((n, [, ts]) => n + ts.length, 0);
  fill($("#tools-list"), gs.length ? gs.map(([src, ts]) =>
    h("div", { class: "tools-group", "data-source": src },
      h("h3", {}, h("span", { class: "mono" }, src), h("span", { class: "pill" }, kindOf(state, src)),
        h("span", { class: "count" }, `${ts.length} tool${ts.length === 1 ? "" : "s"}`)),
      ts.map(toolItem)))
    : h("p", { class: "tools-empty" }, q ? `No tool matches “${q}”.` : "This node lists no tools."));
  $("#tools-summary").textContent = q ? `${shown} of ${state.tools.length}` : `${state.tools.length} listed`;
}

function drawServices(state) {
  const list = state.services.map((svc) => h("div", { class: "service", "data-service": svc.name },
    h("h3", {}, h("span", { class: "mono" }, svc.name), " ", h("span", { class: "muted small" }, `${svc.tools.length} tools`)),
    h("div", { class: "scroll" }, h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, h("th", {}, "Provider"), h("th", {}, "Status"), h("th", { class: "num" }, "In flight"),
        h("th", { class: "num" }, "RTT ms"), h("th", { class: "wide" }, "Schema mismatch"))),
      h("tbody", {}, svc.providers.map((p) => h("tr", {},
        h("td", {}, p.node), h("td", {}, h("span", { class: "pill " + p.status }, p.status)),
        h("td", { class: "num" }, String(p.in_flight)), h("td", { class: "num" }, p.rtt_ms ? p.rtt_ms.toFixed(1) : "—"),
        h("td", { class: "wide" }, (p.schema_mismatch || []).join(", ") || "—"))))))));
  fill($("#services-list"), list.length ? list : h("p", { class: "muted" }, "No replicated services: an upstream with \"service\": \"NAME\" makes one."));
}

export function renderTools(state) {
  drawTools(state);
  drawServices(state);
}
