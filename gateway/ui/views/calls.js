// The Calls view: calls per second and p99 latency over the last minutes,
// by peer and service (the node's own tools as "this node"), and a table
// of the last ten seconds.

import { $, h, s, fill } from "../dom.js";

const W = 600, H = 160, PAD = 8; // the drawing, and its margin on the left and right
let SPAN = 60; // the seconds it spans: the history kept, from one to five minutes
const COLORS = ["#3b6fe0", "#1f9d55", "#d99a06", "#8b5cf6", "#d64545", "#0ea5a5"];

function label(series, state) {
  return series.name === state.node ? `${series.name} (this node)` : series.name;
}

// totals sums each source over the samples.
function totals(samples) {
  const t = new Map();
  for (const smp of samples) {
    for (const x of smp.series) {
      const v = t.get(x.name) || { name: x.name, kind: x.kind, calls: 0, errors: 0, p50: 0, p99: 0, n: 0 };
      v.calls += x.calls; v.errors += x.errors;
      v.p50 = Math.max(v.p50, x.p50_ms); v.p99 = Math.max(v.p99, x.p99_ms);
      v.n++;
      v.kind = x.kind;
      t.set(x.name, v);
    }
  }
  return t;
}

function line(samples, name, pick, max, now) {
  const pts = [];
  for (const smp of samples) {
    const x = W - PAD - ((now - smp.t) / 1000 / SPAN) * (W - 2 * PAD);
    if (x < PAD) continue;
    const v = smp.series.find((e) => e.name === name);
    pts.push(`${x.toFixed(1)},${(H - 4 - ((v ? pick(v) : 0) / max) * (H - 12)).toFixed(1)}`);
  }
  return pts.join(" ");
}

function chart(el, samples, names, pick) {
  const now = samples.length ? samples[samples.length - 1].t : Date.now();
  let max = 1;
  for (const smp of samples) for (const e of smp.series) if (names.includes(e.name)) max = Math.max(max, pick(e));
  const grid = [0.25, 0.5, 0.75].map((f) => s("line", { class: "grid-line", x1: 0, x2: W, y1: H * f, y2: H * f }));
  fill(el, grid, names.map((n, i) => {
    const points = line(samples, n, pick, max, now);
    const [x, y] = points.slice(points.lastIndexOf(" ") + 1).split(","); // "now": a dot on the latest value
    const color = COLORS[i % COLORS.length];
    if (!points) return [];
    return [s("polyline", { points, stroke: color }), s("line", { class: "now", x1: x, y1: y, x2: x, y2: y, stroke: color })];
  }));
  return max;
}

function drawCharts(state, top) {
  const names = top.map((t) => t.name);
  const maxCalls = chart($("#calls-chart"), state.calls, names, (e) => e.calls);
  const maxLat = chart($("#latency-chart"), state.calls, names, (e) => e.p99_ms);
  $("#calls-chart").setAttribute("aria-label", `Calls per second, up to ${maxCalls}`);
  $("#latency-chart").setAttribute("aria-label", `p99 latency, up to ${maxLat.toFixed(1)} ms`);
  fill($("#calls-legend"), top.length ? top.map((t, i) => h("li", {},
    h("i", { class: "swatch", "data-color": i }), `${label(t, state)} · ${t.kind}`))
    : h("li", {}, "No calls yet: calls through this node appear here within a second."));
  for (const sw of document.querySelectorAll("#calls-legend .swatch")) sw.style.background = COLORS[Number(sw.dataset.color) % COLORS.length];
  $("#calls-peak").textContent = top.length ? `peak ${maxCalls}/s` : "";
  $("#latency-peak").textContent = top.length ? `peak ${maxLat.toFixed(1)} ms` : "ms";
}

function drawTable(state, recent) {
  const rows = [...recent.values()].sort((a, b) => b.calls - a.calls || a.name.localeCompare(b.name)).map((t) =>
    h("tr", { "data-source": t.name },
      h("td", {}, label(t, state)), h("td", { class: "wide" }, t.kind),
      h("td", { class: "num" }, (t.calls / 10).toFixed(1)),
      h("td", { class: "num" }, t.p50.toFixed(1)), h("td", { class: "num" }, t.p99.toFixed(1)),
      h("td", { class: "num wide" }, String(t.errors))));
  fill($("#calls-table tbody"), rows.length ? rows : h("tr", { class: "empty" }, h("td", { colspan: 6 }, "No calls in the last 10 seconds.")));
}

export function renderCalls(state) {
  const kept = state.calls.length ? (state.calls[state.calls.length - 1].t - state.calls[0].t) / 1000 : 0;
  SPAN = Math.min(300, Math.max(60, Math.ceil(kept / 60) * 60));
  $("#calls-span").textContent = `last ${SPAN / 60} minute${SPAN > 60 ? "s" : ""}`;
  const top = [...totals(state.calls).values()].sort((a, b) => b.calls - a.calls).slice(0, COLORS.length);
  drawCharts(state, top);
  drawTable(state, totals(state.calls.slice(-10)));
}
