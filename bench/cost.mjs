#!/usr/bin/env node
// Monthly cost of keeping devices registered, from the per-operation counts a bench run measured
// (bench/results/<date>-http.json) and Cloudflare's published Workers Paid / Durable Objects prices.
// Usage: node bench/cost.mjs [results.json] [--devices 10000]  → Markdown on stdout (docs/cost.md).
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const file =
  argv.find((a) => a.endsWith(".json")) ??
  join(root, "bench", "results", readdirSync(join(root, "bench", "results")).filter((f) => f.endsWith("-http.json")).sort().at(-1));
const devicesAt = argv.indexOf("--devices");
const DEVICES = devicesAt === -1 ? 10_000 : Number(argv[devicesAt + 1]);
const report = JSON.parse(readFileSync(file, "utf8"));

/** Published prices, Workers Paid plan, as read on 2026-11-25 (see docs/cost.md for the sources). */
export const PRICES = {
  asOf: "2026-11-25",
  workersBase: 5.0, // USD per month, Workers Paid subscription
  workersRequestsIncluded: 10e6,
  workersRequestPerMillion: 0.3,
  workersCpuMsIncluded: 30e6,
  workersCpuPerMillionMs: 0.02,
  doRequestsIncluded: 1e6,
  doRequestPerMillion: 0.15,
  doDurationIncludedGbS: 400_000,
  doDurationPerMillionGbS: 12.5,
  rowsReadIncluded: 25e9,
  rowsReadPerMillion: 0.001,
  rowsWrittenIncluded: 50e6,
  rowsWrittenPerMillion: 1.0,
  storageIncludedGbMonth: 5,
  storagePerGbMonth: 0.2,
};

const cost = (key) => {
  const s = report.scenarios.find((x) => x.key === key) ?? report.costOnly?.find((x) => x.key === key);
  if (!s) throw new Error(`no ${key} in ${file}`);
  return s.cost;
};
const sum = (...ops) =>
  ops.reduce(
    (t, c) => ({
      workerRequests: t.workerRequests + c.workerRequests,
      objectRequests: t.objectRequests + c.objectRequests,
      rowsRead: t.rowsRead + c.rowsRead,
      rowsWritten: t.rowsWritten + c.rowsWritten + c.alarmsSet,
    }),
    { workerRequests: 0, objectRequests: 0, rowsRead: 0, rowsWritten: 0 },
  );

const SECONDS_PER_MONTH = 30 * 86_400;
const over = (used, included, perMillion) => (Math.max(0, used - included) / 1e6) * perMillion;
// Assumptions (stated in docs/cost.md): Worker CPU per request and object wall time per request.
const WORKER_CPU_MS = 1.0;
const OBJECT_WALL_MS = 5.0;

function monthly(perRegistration, interval) {
  const registrations = (DEVICES * SECONDS_PER_MONTH) / interval;
  const u = {
    registrations,
    workerRequests: registrations * perRegistration.workerRequests,
    objectRequests: registrations * perRegistration.objectRequests,
    rowsRead: registrations * perRegistration.rowsRead,
    rowsWritten: registrations * perRegistration.rowsWritten,
  };
  u.cpuMs = u.workerRequests * WORKER_CPU_MS;
  u.gbS = (u.objectRequests * OBJECT_WALL_MS) / 1000 * 0.125;
  const p = PRICES;
  const usd = {
    base: p.workersBase,
    workerRequests: over(u.workerRequests, p.workersRequestsIncluded, p.workersRequestPerMillion),
    workerCpu: over(u.cpuMs, p.workersCpuMsIncluded, p.workersCpuPerMillionMs),
    objectRequests: over(u.objectRequests, p.doRequestsIncluded, p.doRequestPerMillion),
    objectDuration: over(u.gbS, p.doDurationIncludedGbS, p.doDurationPerMillionGbS),
    rowsRead: over(u.rowsRead, p.rowsReadIncluded, p.rowsReadPerMillion),
    rowsWritten: over(u.rowsWritten, p.rowsWrittenIncluded, p.rowsWrittenPerMillion),
    storage: 0, // 10,000 devices and bindings are a few tens of MB: inside the 5 GB-month included
  };
  usd.total = Object.values(usd).reduce((a, b) => a + b, 0);
  return { usage: u, usd };
}

const flows = [
  { name: "edge: one sip_auth per refresh, binding refreshed at auth (c)", per: sum(cost("refresh")) },
  { name: "naive: sip_auth (c0) + sofia::register event (f) per refresh", per: sum(cost("register-no-binding"), cost("event")) },
  { name: "Kamailio: one authorize per refresh (g), challenge not counted", per: sum(cost("authorize")) },
];

const M = (x) => (x / 1e6).toFixed(1);
const usd = (x) => `$${x.toFixed(2)}`;
const out = [];
out.push(`Counts from \`${file.slice(root.length + 1)}\` (${report.date.slice(0, 10)}); ${DEVICES.toLocaleString("en-US")} devices; prices as of ${PRICES.asOf}.`);
out.push("");
out.push("| flow | per refresh: Worker req · object req · rows read · rows written |");
out.push("|---|---|");
for (const f of flows) out.push(`| ${f.name} | ${f.per.workerRequests} · ${f.per.objectRequests} · ${f.per.rowsRead.toFixed(2)} · ${f.per.rowsWritten.toFixed(2)} |`);
out.push("");
for (const interval of [300, 3600]) {
  out.push(`**Refresh every ${interval} s** (${M((DEVICES * SECONDS_PER_MONTH) / interval)} M registrations a month)`);
  out.push("");
  out.push("| flow | Worker req (M) | object req (M) | rows read (M) | rows written (M) | base | Worker req | Worker CPU | object req | object duration | rows read | rows written | **total / month** |");
  out.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const f of flows) {
    const { usage: u, usd: c } = monthly(f.per, interval);
    out.push(`| ${f.name} | ${M(u.workerRequests)} | ${M(u.objectRequests)} | ${M(u.rowsRead)} | ${M(u.rowsWritten)} | ${usd(c.base)} | ${usd(c.workerRequests)} | ${usd(c.workerCpu)} | ${usd(c.objectRequests)} | ${usd(c.objectDuration)} | ${usd(c.rowsRead)} | ${usd(c.rowsWritten)} | **${usd(c.total)}** |`);
  }
  out.push("");
}
const call = sum(cost("invite"), cost("dialplan"));
out.push(`Calls (not in the figures above): a FreeSWITCH call costs one INVITE sip_auth (d) and one dialplan lookup (e): ${call.workerRequests} Worker requests, ${call.objectRequests} object requests, ${call.rowsRead.toFixed(1)} rows read, ${call.rowsWritten} rows written — about ${usd(2 * PRICES.workersRequestPerMillion + 2 * PRICES.doRequestPerMillion)} per million calls beyond the included amounts.`);
console.log(out.join("\n"));
