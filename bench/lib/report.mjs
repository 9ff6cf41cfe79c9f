// Turns a bench run into the terminal table, bench/results/<date>-http.json, an SVG bar chart and a
// Markdown table (bench/results/<date>-http.md) for docs/benchmarks.md.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : "–");
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const pct = (x) => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : "–");
const num = (x) => (Number.isInteger(x) ? String(x) : f2(x));

export function withRatios(report) {
  const ceiling = report.scenarios.find((s) => s.id === "b");
  for (const s of report.scenarios) {
    s.rpsVsObject = s.rps / ceiling.rps;
    s.p99VsObject = s.p99 / ceiling.p99;
  }
  const by = (key) => report.scenarios.find((s) => s.key === key);
  const targets = [
    { target: "REGISTER refresh ≥ 50% of (b) req/s", value: pct(by("refresh").rpsVsObject), met: by("refresh").rpsVsObject >= 0.5 },
    { target: "INVITE auth ≥ 60% of (b) req/s", value: pct(by("invite").rpsVsObject), met: by("invite").rpsVsObject >= 0.6 },
    { target: "Kamailio authorize ≥ 50% of (b) req/s", value: pct(by("authorize").rpsVsObject), met: by("authorize").rpsVsObject >= 0.5 },
    ...report.scenarios
      .filter((s) => !["noop", "object"].includes(s.key))
      .map((s) => ({ target: `(${s.id}) ${s.key} p99 ≤ 3× (b) p99`, value: `${f2(s.p99VsObject)}×`, met: s.p99VsObject <= 3 })),
    { target: "REGISTER refresh = 1 Worker + 1 object request + ≤ 2 rows written", value: `${by("refresh").cost.workerRequests} + ${by("refresh").cost.objectRequests} + ${num(by("refresh").cost.rowsWritten + by("refresh").cost.alarmsSet)} rows`, met: by("refresh").cost.objectRequests === 1 && by("refresh").cost.rowsWritten + by("refresh").cost.alarmsSet <= 2 },
    { target: "INVITE auth writes 0 rows", value: num(by("invite").cost.rowsWritten + by("invite").cost.alarmsSet), met: by("invite").cost.rowsWritten + by("invite").cost.alarmsSet === 0 },
    { target: "no errors in any scenario", value: String(report.scenarios.reduce((n, s) => n + s.errors, 0)), met: report.scenarios.every((s) => s.errors === 0) },
  ];
  if (report.scale) {
    for (const op of report.scale.ops) {
      targets.push({ target: `scale: ${op.key} p50 at ${report.scale.big.devices / 1000}k ≤ 1.25× at 1k`, value: `${f2(op.p50Ratio)}×`, met: op.p50Ratio <= 1.25 });
    }
  }
  report.targets = targets;
  return report;
}

export function markdownTable(report) {
  const lines = [
    "| scenario | req/s | p50 ms | p99 ms | errors | req/s vs (b) | p99 vs (b) | Worker req/op | object req/op | rows read/op | rows written/op | alarms/op | writes/commit |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const s of report.scenarios) {
    const c = s.cost ?? {};
    lines.push(`| (${s.id}) ${s.name} | ${Math.round(s.rps)} | ${f2(s.p50)} | ${f2(s.p99)} | ${s.errors} | ${pct(s.rpsVsObject)} | ${f2(s.p99VsObject)}× | ${c.workerRequests ?? "–"} | ${c.objectRequests ?? "–"} | ${num(c.rowsRead)} | ${num(c.rowsWritten)} | ${num(c.alarmsSet)} | ${f1(s.writesPerCommit)} |`);
  }
  for (const s of report.costOnly ?? []) {
    const c = s.cost;
    lines.push(`| (${s.id}) ${s.name} (cost only, not timed) | – | – | – | ${c.wrongAnswers} | – | – | ${c.workerRequests} | ${c.objectRequests} | ${num(c.rowsRead)} | ${num(c.rowsWritten)} | ${num(c.alarmsSet)} | – |`);
  }
  return lines.join("\n");
}

export function scaleTable(report) {
  if (!report.scale) return "";
  const { small, big, ops } = report.scale;
  const lines = [
    `| operation | p50 @ ${small.devices} devices | p50 @ ${big.devices} devices | ratio | req/s @ ${small.devices} | req/s @ ${big.devices} | rows read/op (small → big) | rows written/op (small → big) | errors |`,
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const o of ops) {
    lines.push(`| ${o.name} | ${f2(o.small.p50)} ms | ${f2(o.big.p50)} ms | ${f2(o.p50Ratio)}× | ${Math.round(o.small.rps)} | ${Math.round(o.big.rps)} | ${num(o.small.rowsRead)} → ${num(o.big.rowsRead)} | ${num(o.small.rowsWritten)} → ${num(o.big.rowsWritten)} | ${o.small.errors + o.big.errors} |`);
  }
  return lines.join("\n");
}

function svgChart(report) {
  const rows = report.scenarios;
  const a = rows.find((s) => s.id === "a");
  const b = rows.find((s) => s.id === "b");
  const max = Math.max(...rows.map((s) => s.rps)) * 1.1;
  const left = 300, width = 560, barH = 24, gap = 10, top = 50;
  const height = top + rows.length * (barH + gap) + 60;
  const x = (v) => left + (v / max) * width;
  const esc = (t) => String(t).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 180}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">Whistle Edge: req/s per scenario (${esc(report.date.slice(0, 10))}, ${report.machine.cpus} cores, concurrency ${report.concurrency}, ${report.durationSeconds} s)</text>`,
  ];
  rows.forEach((s, i) => {
    const y = top + i * (barH + gap);
    const colour = s.id === "a" || s.id === "b" ? "#888" : "#2b6cb0";
    parts.push(`<text x="${left - 8}" y="${y + barH / 2 + 4}" text-anchor="end">${esc(`(${s.id}) ${s.name}`)}</text>`);
    parts.push(`<rect x="${left}" y="${y}" width="${Math.max(1, x(s.rps) - left)}" height="${barH}" fill="${colour}"/>`);
    parts.push(`<text x="${x(s.rps) + 4}" y="${y + barH / 2 + 4}">${Math.round(s.rps)} (p99 ${f1(s.p99)} ms)</text>`);
  });
  const bottom = top + rows.length * (barH + gap);
  const line = (v, label, colour, dy) => {
    parts.push(`<line x1="${x(v)}" y1="${top - 8}" x2="${x(v)}" y2="${bottom}" stroke="${colour}" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${x(v)}" y="${bottom + 14 + dy}" text-anchor="middle" fill="${colour}">${esc(label)}</text>`);
  };
  line(a.rps, "(a) Worker ceiling", "#555", 0);
  line(b.rps, "(b) object ceiling", "#c05621", 0);
  line(b.rps * 0.6, "60% of (b)", "#2f855a", 16);
  line(b.rps * 0.5, "50% of (b)", "#2f855a", 32);
  parts.push("</svg>");
  return parts.join("\n");
}

export function writeReport(root, date, report) {
  withRatios(report);
  const dir = join(root, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${date}-http`);
  writeFileSync(`${base}.json`, JSON.stringify(report, null, 2) + "\n");
  writeFileSync(`${base}.svg`, svgChart(report) + "\n");
  const md = [
    `Run of ${report.date} on ${report.machine.cpus} × ${report.machine.cpuModel}, ${report.server}; concurrency ${report.concurrency}, ${report.warmupSeconds} s warm-up + ${report.durationSeconds} s per scenario, best of ${report.rounds ?? 1} interleaved rounds (errors summed over all rounds); 1-minute load average ${report.machine.loadAverageAtStart?.[0]} at the start, ${report.machine.loadAverageAtEnd?.[0]} at the end.`,
    "",
    markdownTable(report),
    "",
    `(b) measured again after the other scenarios: ${Math.round(report.objectCeilingAgain.rps)} req/s, p99 ${f2(report.objectCeilingAgain.p99)} ms.`,
    "",
    "| target | measured | met |",
    "|---|---|---|",
    ...report.targets.map((t) => `| ${t.target} | ${t.value} | ${t.met ? "yes" : "**no**"} |`),
    "",
    scaleTable(report),
    "",
  ].join("\n");
  writeFileSync(`${base}.md`, md);

  // Terminal.
  console.log("");
  console.log(`  ${"scenario".padEnd(46)} ${"req/s".padStart(7)} ${"p50".padStart(7)} ${"p99".padStart(7)} ${"err".padStart(4)} ${"vs(b)".padStart(6)} ${"p99/(b)".padStart(8)}  obj  read  write alarm`);
  for (const s of report.scenarios) {
    const c = s.cost ?? {};
    console.log(
      `  ${`(${s.id}) ${s.name}`.padEnd(46)} ${String(Math.round(s.rps)).padStart(7)} ${f2(s.p50).padStart(7)} ${f2(s.p99).padStart(7)} ${String(s.errors).padStart(4)} ${pct(s.rpsVsObject).padStart(6)} ${`${f2(s.p99VsObject)}×`.padStart(8)}  ${String(c.objectRequests ?? "–").padStart(3)} ${num(c.rowsRead).padStart(5)} ${num(c.rowsWritten).padStart(6)} ${num(c.alarmsSet).padStart(5)}`,
    );
  }
  console.log("");
  for (const t of report.targets) console.log(`  ${t.met ? "met    " : "NOT met"}  ${t.target}: ${t.value}`);
  return [`${base}.json`, `${base}.svg`, `${base}.md`].map((p) => p.slice(root.length + 1));
}
