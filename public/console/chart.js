// A small live chart of the account's registrations and authentication failures, drawn as inline
// SVG from the account's counters (GET /accounts/{id}/metrics: the same numbers Prometheus scrapes,
// for this account only, so an account key sees its own account and nothing else). Read every
// CHART_POLL_MS while the account is open, and soon after an event that moves them.
import { accountPath, api } from "./api.js";
import { $, element } from "./dom.js";
import { state } from "./state.js";

export const CHART_POLL_MS = 10_000;
/** One bar per bucket; the chart spans BUCKETS × BUCKET_MS (5 minutes). */
export const BUCKET_MS = 15_000;
export const BUCKETS = 20;
/** After an event, wait this long so a burst of events costs one read. */
const SOON_MS = 400;

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 600;
const PLOT_LEFT = 8;
const PLOT_RIGHT = 560;
const TOP = { y: 22, height: 58 };
const BOTTOM = { y: 112, height: 58 };

/** Failures in a read: wrong digests, unknown users, replays, and attempts refused by a lock. */
function failuresOf(summary) {
  return Object.values(summary.authentications).reduce((sum, m) => sum + m.failed + m.locked, 0);
}
const lockedOf = (summary) => Object.values(summary.authentications).reduce((sum, m) => sum + m.locked, 0);

export function openChart() {
  leaveChart();
  const account = state.account;
  state.chart = { account, last: null, buckets: new Map(), bindings: null, timer: null, soonTimer: null, reading: false, again: false };
  $("chart-state").textContent = "Loading…";
  render(state.chart);
  return read(state.chart);
}

export function leaveChart() {
  const chart = state.chart;
  if (!chart) return;
  clearTimeout(chart.timer);
  clearTimeout(chart.soonTimer);
  state.chart = null;
}

/** An event moved the counters (a registration, a failure, a lock): read them again shortly. */
export function chartSoon() {
  const chart = state.chart;
  if (!chart || chart.soonTimer) return;
  chart.soonTimer = setTimeout(() => {
    chart.soonTimer = null;
    read(chart);
  }, SOON_MS);
}

async function read(chart) {
  if (state.chart !== chart) return;
  if (chart.reading) {
    chart.again = true;
    return;
  }
  chart.reading = true;
  clearTimeout(chart.timer);
  try {
    const summary = await api("GET", accountPath("/metrics"));
    if (state.chart !== chart) return;
    take(chart, summary, Date.now());
    render(chart);
    $("chart-state").textContent = "";
  } catch (error) {
    if (state.key && state.chart === chart) $("chart-state").textContent = `Not updated (${error.message}); trying again`;
  } finally {
    chart.reading = false;
  }
  if (state.chart !== chart) return;
  if (chart.again) {
    chart.again = false;
    return read(chart);
  }
  chart.timer = setTimeout(() => read(chart), CHART_POLL_MS);
}

/**
 * A new read: failures since the previous read go into the bucket of this read's time (the first
 * read is the baseline; a counter that went back, after the object restarted, starts a new one).
 */
function take(chart, summary, now) {
  const failures = failuresOf(summary);
  const locked = lockedOf(summary);
  const bucket = Math.floor(now / BUCKET_MS);
  const entry = chart.buckets.get(bucket) ?? { failures: 0, locked: 0, bindings: summary.bindings };
  if (chart.last && failures >= chart.last.failures && locked >= chart.last.locked) {
    entry.failures += failures - chart.last.failures;
    entry.locked += locked - chart.last.locked;
  }
  entry.bindings = summary.bindings;
  chart.buckets.set(bucket, entry);
  chart.last = { failures, locked };
  chart.bindings = summary.bindings;
  for (const key of chart.buckets.keys()) if (key <= bucket - BUCKETS) chart.buckets.delete(key);
}

/** The buckets on screen, oldest first, registrations carried forward from the last read before each. */
function series(chart, now) {
  const last = Math.floor(now / BUCKET_MS);
  const out = [];
  let bindings = null;
  for (let b = last - BUCKETS + 1; b <= last; b++) {
    const entry = chart.buckets.get(b);
    if (entry) bindings = entry.bindings;
    out.push({ start: b * BUCKET_MS, failures: entry?.failures ?? 0, locked: entry?.locked ?? 0, bindings });
  }
  return out;
}

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function render(chart) {
  const points = series(chart, Date.now());
  const failures = points.reduce((sum, p) => sum + p.failures, 0);
  const locked = points.reduce((sum, p) => sum + p.locked, 0);
  const maxBindings = Math.max(1, ...points.map((p) => p.bindings ?? 0));
  const maxFailures = Math.max(1, ...points.map((p) => p.failures));
  const step = (PLOT_RIGHT - PLOT_LEFT) / BUCKETS;

  const figure = $("chart");
  figure.dataset.bindings = chart.bindings === null ? "" : String(chart.bindings);
  figure.dataset.failures = String(failures);
  figure.dataset.locked = String(locked);

  const root = svg("svg", { viewBox: `0 0 ${WIDTH} 190`, role: "img", "aria-labelledby": "chart-summary", class: "chart-svg" });
  root.append(
    svg("text", { x: PLOT_LEFT, y: 14, class: "chart-label" }, "Registrations"),
    svg("text", { x: PLOT_RIGHT + 6, y: TOP.y + 8, class: "chart-axis" }, String(maxBindings)),
    svg("text", { x: PLOT_RIGHT + 6, y: TOP.y + TOP.height, class: "chart-axis" }, "0"),
    svg("line", { x1: PLOT_LEFT, x2: PLOT_RIGHT, y1: TOP.y + TOP.height, y2: TOP.y + TOP.height, class: "chart-base" }),
    svg("text", { x: PLOT_LEFT, y: BOTTOM.y - 8, class: "chart-label" }, `Failed authentications per ${BUCKET_MS / 1000} s`),
    svg("text", { x: PLOT_RIGHT + 6, y: BOTTOM.y + 8, class: "chart-axis" }, String(maxFailures)),
    svg("text", { x: PLOT_RIGHT + 6, y: BOTTOM.y + BOTTOM.height, class: "chart-axis" }, "0"),
    svg("line", { x1: PLOT_LEFT, x2: PLOT_RIGHT, y1: BOTTOM.y + BOTTOM.height, y2: BOTTOM.y + BOTTOM.height, class: "chart-base" }),
    svg("text", { x: PLOT_LEFT, y: 186, class: "chart-axis" }, `${(BUCKETS * BUCKET_MS) / 60_000} min ago`),
    svg("text", { x: PLOT_RIGHT, y: 186, class: "chart-axis", "text-anchor": "end" }, "now"),
  );

  // Registrations: a step line through each bucket's last read.
  const path = [];
  const marks = svg("g", { class: "chart-registrations" });
  points.forEach((p, i) => {
    if (p.bindings === null) return;
    const y = TOP.y + TOP.height - (p.bindings / maxBindings) * TOP.height;
    const x0 = PLOT_LEFT + i * step;
    path.push(`${path.length ? "L" : "M"}${x0.toFixed(1)} ${y.toFixed(1)} H${(x0 + step).toFixed(1)}`);
    const mark = svg("rect", { x: x0, y: TOP.y, width: step, height: TOP.height, class: "chart-hit", "data-bindings": p.bindings, "data-start": new Date(p.start).toISOString() });
    mark.append(svg("title", {}, `${timeOf(p.start)}: ${p.bindings} registered`));
    marks.append(mark);
  });
  if (path.length) root.append(svg("path", { d: path.join(" "), class: "chart-line" }));
  root.append(marks);

  // Failures: one bar per bucket, the part refused by a lock drawn darker.
  const bars = svg("g", { class: "chart-failures" });
  points.forEach((p, i) => {
    const x = PLOT_LEFT + i * step + 1.5;
    const height = (p.failures / maxFailures) * BOTTOM.height;
    const bar = svg("g", { "data-failures": p.failures, "data-locked": p.locked, "data-start": new Date(p.start).toISOString() });
    bar.append(svg("title", {}, `${timeOf(p.start)}: ${p.failures} failed${p.locked ? `, ${p.locked} of them refused by a lock` : ""}`));
    if (p.failures > 0) {
      bar.append(svg("rect", { x, y: BOTTOM.y + BOTTOM.height - height, width: step - 3, height, class: "chart-bar" }));
      if (p.locked > 0) {
        const lockedHeight = (p.locked / maxFailures) * BOTTOM.height;
        bar.append(svg("rect", { x, y: BOTTOM.y + BOTTOM.height - lockedHeight, width: step - 3, height: lockedHeight, class: "chart-bar locked" }));
      }
    }
    bars.append(bar);
  });
  root.append(bars);
  figure.querySelector("svg")?.remove();
  figure.prepend(root);

  $("chart-summary").replaceChildren(
    element("span", {}, ["Registered now: ", element("strong", { id: "chart-bindings" }, chart.bindings === null ? "…" : String(chart.bindings))]),
    " · ",
    element("span", {}, [
      "Failed authentications in the last 5 minutes: ",
      element("strong", { id: "chart-failures" }, String(failures)),
      locked ? ` (${locked} refused by a lock)` : "",
    ]),
  );
}

const timeOf = (ms) => new Date(ms).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
