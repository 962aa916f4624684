// The Ring view: the members on a circle, coloured by state, this node
// ringed, and this node's peers joined to it by their trust.

import { $, h, s, fill, ago } from "../dom.js";

const C = 300; // the centre of the 600×600 drawing
const R = 185; // the orbit's radius
const groups = new Map(); // member name -> its <g>, kept so colours fade

function place(i, n) {
  const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(n, 1);
  return { a, x: C + R * Math.cos(a), y: C + R * Math.sin(a) };
}

function trustOf(state, m) {
  if (!m.peer) return null;
  const p = state.peers.find((p) => p.name === m.peer);
  return p ? p.trust_level : null;
}

function memberGroup(name) {
  let g = groups.get(name);
  if (g) return g;
  g = s("g", { class: "member", "data-name": name },
    s("circle", { class: "self", r: 34 }),
    s("circle", { class: "body", r: 26 }),
    s("text", { class: "name" }),
    s("text", { class: "sub" }),
    s("g", { class: "trust-badge" }, s("rect", { x: -30, y: -10, width: 60, height: 20, rx: 10 }), s("text", { y: 4 })));
  groups.set(name, g);
  return g;
}

function labelAnchor(a) {
  const c = Math.cos(a);
  return c > 0.35 ? "start" : c < -0.35 ? "end" : "middle";
}

function drawMember(state, m, pos) {
  const g = memberGroup(m.name);
  g.setAttribute("transform", `translate(${pos.x.toFixed(1)} ${pos.y.toFixed(1)})`);
  g.dataset.state = m.status;
  const [self, , name, sub, badge] = g.children;
  self.style.display = m.self ? "" : "none";
  const lx = 56 * Math.cos(pos.a), ly = 56 * Math.sin(pos.a);
  for (const [t, dy] of [[name, 0], [sub, 18]]) {
    t.setAttribute("x", lx.toFixed(1));
    t.setAttribute("y", (ly + dy + (Math.sin(pos.a) < -0.5 ? -14 : 4)).toFixed(1));
    t.setAttribute("text-anchor", labelAnchor(pos.a));
  }
  name.textContent = m.name;
  sub.textContent = m.self ? `${m.status} · this node` : m.status;
  const trust = trustOf(state, m);
  badge.style.display = trust ? "" : "none";
  badge.setAttribute("class", "trust-badge " + (trust || ""));
  badge.setAttribute("transform", `translate(${(-62 * Math.cos(pos.a)).toFixed(1)} ${(-62 * Math.sin(pos.a)).toFixed(1)})`);
  badge.lastChild.textContent = trust || "";
  return g;
}

function drawSVG(state) {
  const svg = $("#ring-svg");
  const members = [...state.members].sort((a, b) => a.name.localeCompare(b.name));
  const pos = new Map(members.map((m, i) => [m.name, place(i, members.length)]));
  const self = members.find((m) => m.self);
  const edges = [];
  for (const m of members) {
    const trust = trustOf(state, m);
    if (!self || !trust || m.self) continue;
    const a = pos.get(self.name), b = pos.get(m.name);
    edges.push(s("line", { class: "edge " + trust, x1: a.x, y1: a.y, x2: b.x, y2: b.y }));
  }
  for (const name of groups.keys()) if (!pos.has(name)) groups.delete(name);
  const alive = members.filter((m) => m.status === "alive").length;
  fill(svg,
    s("circle", { class: "orbit", cx: C, cy: C, r: R }),
    s("g", {}, edges),
    s("text", { class: "center", x: C, y: C + 4 }, `${alive}/${members.length}`),
    s("text", { class: "center-sub", x: C, y: C + 28 }, members.length ? "members alive" : "no ring on this node"),
    members.map((m) => drawMember(state, m, pos.get(m.name))));
  $("#ring-summary").textContent = state.node ? `seen from ${state.node}` : "";
}

function drawTable(state) {
  const rows = [...state.members].sort((a, b) => a.name.localeCompare(b.name)).map((m) => {
    const trust = trustOf(state, m);
    return h("tr", { "data-member": m.name, "data-state": m.status },
      h("td", {}, h("strong", {}, m.name), m.self ? h("span", { class: "muted" }, " (this node)") : null),
      h("td", {}, h("span", { class: "pill " + m.status }, m.status)),
      h("td", { class: "wide mono" }, m.address),
      h("td", {}, m.peer ? [m.peer, " ", h("span", { class: "trust-tag " + trust }, trust)] : h("span", { class: "muted" }, "—")),
      h("td", { class: "wide muted" }, ago(m.since)));
  });
  fill($("#members-table tbody"), rows.length ? rows : h("tr", { class: "empty" }, h("td", { colspan: 5 }, "This node runs without a ring.")));
}

export function renderRing(state) {
  drawSVG(state);
  drawTable(state);
}
