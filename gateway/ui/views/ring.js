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
    s("g", { class: "trust-badge" }, s("rect", { x: -30, y: -10, width: 60, height: 20, rx: 10 }), s("text", { y: 4, "text-anchor": "middle" })));
  groups.set(name, g);
  return g;
}

// short keeps a label inside the drawing; the whole name is in the table.
function short(name, max) {
  return name.length > max ? name.slice(0, max - 1) + "…" : name;
}

// sizes shrinks the members and their labels as the ring grows.
function sizes(n) {
  if (n > 16) return { r: 12, self: 17, label: 10, sub: false };
  if (n > 8) return { r: 18, self: 24, label: 13, sub: false };
  return { r: 26, self: 34, label: 18, sub: true };
}

// curve is the trust edge from a to b: a quadratic curve bent away from
// the centre (where the count is written), and the point on it where b's
// trust badge goes.
function curve(a, b) {
  const mx = (a.x + b.x) / 2, my = (a.y + b.y) / 2;
  let nx = -(b.y - a.y), ny = b.x - a.x;
  const len = Math.hypot(nx, ny) || 1;
  nx /= len; ny /= len;
  if ((mx - C) * nx + (my - C) * ny < 0) { nx = -nx; ny = -ny; } // bend outwards
  const k = R * Math.max(0.25, 1.2 - Math.hypot(mx - C, my - C) / R); // a chord near the centre bends most
  const c = { x: mx + nx * k, y: my + ny * k };
  const at = (t) => ({
    x: (1 - t) ** 2 * a.x + 2 * (1 - t) * t * c.x + t ** 2 * b.x,
    y: (1 - t) ** 2 * a.y + 2 * (1 - t) * t * c.y + t ** 2 * b.y,
  });
  return { d: `M${a.x.toFixed(1)} ${a.y.toFixed(1)} Q${c.x.toFixed(1)} ${c.y.toFixed(1)} ${b.x.toFixed(1)} ${b.y.toFixed(1)}`, badge: at(0.72) };
}

function drawMember(state, m, pos, badgeAt, size) {
  const g = memberGroup(m.name);
  g.setAttribute("transform", `translate(${pos.x.toFixed(1)} ${pos.y.toFixed(1)})`);
  g.dataset.state = m.status;
  const [self, body, name, sub, badge] = g.children;
  self.style.display = m.self ? "" : "none";
  self.setAttribute("r", size.self);
  body.setAttribute("r", size.r);
  sub.style.display = size.sub ? "" : "none";
  const above = Math.sin(pos.a) < -0.3; // labels above the upper members, below the others
  // the name's baseline just clear of the circle; the state a line further out
  // (in em, so a phone's bigger type keeps the lines apart)
  const base = above ? -(size.self + 8) : size.self + 18;
  name.setAttribute("y", String(base));
  sub.setAttribute("y", String(base));
  if (above) {
    name.setAttribute("dy", size.sub ? "-1.25em" : "0");
    sub.setAttribute("dy", "0");
  } else {
    name.setAttribute("dy", "0");
    sub.setAttribute("dy", "1.3em");
  }
  for (const t of [name, sub]) {
    t.setAttribute("x", "0");
    t.setAttribute("text-anchor", "middle");
  }
  name.textContent = short(m.name, size.label);
  sub.textContent = m.self ? `${m.status} · this node` : m.status;
  const trust = trustOf(state, m);
  badge.style.display = trust ? "" : "none";
  badge.setAttribute("class", "trust-badge " + (trust || ""));
  const bx = badgeAt ? badgeAt.x - pos.x : -62 * Math.cos(pos.a), by = badgeAt ? badgeAt.y - pos.y : -62 * Math.sin(pos.a);
  badge.setAttribute("transform", `translate(${bx.toFixed(1)} ${by.toFixed(1)})`);
  badge.lastChild.textContent = trust || "";
  return g;
}

function drawSVG(state) {
  const svg = $("#ring-svg");
  const members = [...state.members].sort((a, b) => a.name.localeCompare(b.name));
  const pos = new Map(members.map((m, i) => [m.name, place(i, members.length)]));
  const self = members.find((m) => m.self);
  const edges = [], badges = new Map();
  for (const m of members) {
    const trust = trustOf(state, m);
    if (!self || !trust || m.self) continue;
    const c = curve(pos.get(self.name), pos.get(m.name));
    edges.push(s("path", { class: "edge " + trust, d: c.d }));
    badges.set(m.name, c.badge);
  }
  for (const name of groups.keys()) if (!pos.has(name)) groups.delete(name);
  const alive = members.filter((m) => m.status === "alive").length;
  fill(svg,
    s("circle", { class: "orbit", cx: C, cy: C, r: R }),
    s("g", {}, edges),
    s("text", { class: "center", x: C, y: C + 4, "text-anchor": "middle" }, `${alive}/${members.length}`),
    s("text", { class: "center-sub", x: C, y: C + 28, "text-anchor": "middle" }, members.length ? "members alive" : "no ring on this node"),
    members.map((m) => drawMember(state, m, pos.get(m.name), badges.get(m.name), sizes(members.length))));
  $("#ring-summary").textContent = state.node ? `seen from ${state.node}` : "";
}

function drawTable(state) {
  const rows = [...state.members].sort((a, b) => a.name.localeCompare(b.name)).map((m) => {
    const trust = trustOf(state, m);
    return h("tr", { "data-member": m.name, "data-state": m.status },
      h("td", {}, h("strong", {}, m.name), m.self ? h("span", { class: "self-tag", title: "this node" }, "this node") : null,
        h("div", { class: "muted small mono" }, m.address)),
      h("td", {}, h("span", { class: "pill " + m.status }, m.status)),
      h("td", {}, m.peer ? [m.peer, " ", h("span", { class: "trust-tag " + trust }, trust)] : h("span", { class: "muted" }, "—")),
      h("td", { class: "wide muted age" }, ago(m.since)));
  });
  fill($("#members-table tbody"), rows.length ? rows : h("tr", { class: "empty" }, h("td", { colspan: 4 }, "This node runs without a ring.")));
}

function drawStats(state) {
  const alive = state.members.filter((m) => m.status === "alive").length;
  const online = state.peers.filter((p) => p.status === "online").length;
  const last = state.calls[state.calls.length - 1];
  $("#stat-members").textContent = state.members.length ? `${alive}/${state.members.length}` : "–";
  $("#stat-peers").textContent = `${online}/${state.peers.length}`;
  $("#stat-tools").textContent = String(state.tools.length);
  $("#stat-calls").textContent = last ? String(last.series.reduce((n, x) => n + x.calls, 0)) : "0";
}

export function renderRing(state) {
  drawSVG(state);
  drawStats(state);
  drawTable(state);
}
