#!/usr/bin/env node
// `npm run bench:import`: a 100,000-device CSV imported into one account through the API, against
// the built bundle on workerd as bench/run.mjs serves it, timed from the POST to the job's end,
// while light probes keep asking the same account's object for FreeSWITCH INVITE and REGISTER
// digest checks. The probes' latency during the import (split at the 202: while the Worker reads,
// checks and hashes the file, and while the object applies the rows) is set beside the same probes
// on the idle account, and beside the runtime's ceilings measured in the same run (no-op route and
// Worker → object no-op at full concurrency). Writes bench/results/<date>-import.{json,md};
// docs/benchmarks.md ("Bulk import") has the method and the figures.
//
// Options: --rows N (100000), --idle S (10: seconds of idle probing), --probe N (2 connections per
// probe), --ceiling S (5: seconds per ceiling run, 16 connections), --state-dir DIR (where workerd
// keeps the objects' SQLite files), --no-write (print only: for trying sizes), --profile (instead of
// the timed run: a V8 CPU profile of the edge isolate over the import, self time by package and
// function, through bench/lib/profile.mjs).
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeRequest, requestOnce, runLoad } from "./lib/load.mjs";
import { buildBundle, freshVars, startServer } from "./lib/server.mjs";
import { fixtures, sipAuthBody } from "./lib/sip.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : argv[i + 1];
};
const ROWS = Number(option("rows", 100_000));
const IDLE_SECONDS = Number(option("idle", 10));
const PROBE = Number(option("probe", 2));
const CEILING_SECONDS = Number(option("ceiling", 5));
const STATE_DIR = option("state-dir", null);
const PROFILE = argv.includes("--profile");
const WRITE = !argv.includes("--no-write") && !PROFILE;
const REALM = "127.0.0.4"; // the realm of the FreeSWITCH captures

const work = mkdtempSync(join(os.tmpdir(), "whistle-bench-import-"));
const persistDir = STATE_DIR ? mkdtempSync(join(STATE_DIR, "whistle-bench-import-state-")) : join(work, "state");
let server = null;
async function cleanup() {
  if (server) await server.stop().catch(() => {});
  server = null;
  rmSync(work, { recursive: true, force: true });
  if (STATE_DIR) rmSync(persistDir, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, async () => { await cleanup(); process.exit(130); });

const log = (line) => console.log(line);
const load = () => os.loadavg().map((x) => Math.round(x * 100) / 100);
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function api(key, method, path, body, type = "application/json") {
  const r = await requestOnce(server.port, { method, path: `/api/v1${path}`, headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { "content-type": type }) }, body: body === undefined ? null : typeof body === "string" ? body : JSON.stringify(body) });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text.slice(0, 300)}`);
  return { status: r.status, body: r.text ? JSON.parse(r.text) : null };
}

async function main() {
  const date = new Date().toISOString().slice(0, 10);
  const loadAtStart = load();
  log(`Whistle Edge import bench — ${date}, ${os.cpus().length} cores, ${ROWS} rows, probes of ${PROBE} connections, load average ${loadAtStart.join(" ")}`);
  const { modules } = buildBundle(root, join(work, "dist"));
  const vars = freshVars();
  mkdirSync(persistDir, { recursive: true });
  server = await startServer({ root, outdir: join(work, "dist"), modules, vars, persistDir, quiet: true, inspector: PROFILE });
  await server.applyCatalogMigrations();
  const op = vars.OPERATOR_API_KEY;
  const account = (await api(op, "POST", "/accounts", { realm: REALM, name: "import bench" })).body;
  const sw = (await api(op, "POST", "/switches", { name: "bench-a", address: "sip:127.0.0.4:5060" })).body;
  const basic = `Basic ${Buffer.from(`${sw.switch.id}:${sw.credential}`).toString("base64")}`;
  const probeUsers = Array.from({ length: PROBE }, (_, i) => String(1200 + i));
  for (const u of probeUsers) await api(op, "POST", `/accounts/${account.id}/devices`, { username: u, password: `bench-pw-${u}` });

  if (PROFILE) return profileImport(op, account, join(work, "dist", "index.js.map"));

  const fx = fixtures(root);
  const host = `127.0.0.1:${server.port}`;
  const xml = (u, method) => encodeRequest(host, { method: "POST", path: "/freeswitch/v1/xml", headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": "freeswitch-xml/1.0", authorization: basic }, body: sipAuthBody(fx.sipAuthRegister, { username: u, realm: REALM, password: `bench-pw-${u}`, method, callId: `probe-${u}-${method}@127.0.0.1` }) });
  const probes = {
    invite: { next: ((b) => (w) => b[w])(probeUsers.map((u) => xml(u, "INVITE"))), check: (s, t) => s === 200 && t.includes('name="a1-hash"') },
    register: { next: ((b) => (w) => b[w])(probeUsers.map((u) => xml(u, "REGISTER"))), check: (s, t) => s === 200 && t.includes('name="a1-hash"') },
    noop: { next: ((b) => () => b)(encodeRequest(host, { path: "/bench/noop" })), check: (s, t) => s === 200 && t === "ok" },
  };
  const probe = (name, opts) => runLoad({ port: server.port, concurrency: PROBE, warmupSeconds: 0, label: name, progress: false, sampleEvery: 1, ...probes[name], ...opts });
  const view = (r) => ({ requests: r.requests, rps: Math.round(r.rps), p50: round(r.p50), p99: round(r.p99), max: round(r.max), errors: r.errors, firstError: r.firstError });

  // The runtime's ceilings in this run, as bench/run.mjs measures its (a) and (b).
  const ceiling = {};
  for (const [name, path, body] of [["noop", "/bench/noop", "ok"], ["object", "/bench/object", "1"]]) {
    const request = encodeRequest(host, { path });
    ceiling[name] = view(await runLoad({ port: server.port, concurrency: 16, warmupSeconds: 1, durationSeconds: CEILING_SECONDS, label: `ceiling ${name}`, progress: false, next: () => request, check: (s, t) => s === 200 && t === body }));
    log(`ceiling ${name}: ${ceiling[name].rps} req/s, p50 ${ceiling[name].p50} ms, p99 ${ceiling[name].p99} ms`);
  }

  // Warm every path once, then the idle figures: the three probes together, as during the import.
  await probe("invite", { durationSeconds: 2 });
  log(`idle probes, ${IDLE_SECONDS} s …`);
  const idleLoad = load();
  const [idleInvite, idleRegister, idleNoop] = await Promise.all(["invite", "register", "noop"].map((name) => probe(name, { durationSeconds: IDLE_SECONDS })));

  const csv = importFile();
  log(`importing ${ROWS} rows (${round(csv.length / 2 ** 20, 1)} MiB of CSV) …`);
  const importLoad = [load()];
  // Two probe windows: until the 202 (the Worker reads, checks and hashes the file and sends it to
  // the object), then until the job's end (the object applies the rows between callbacks).
  let accepted = false;
  let finished = false;
  const t0 = performance.now();
  const whileReceiving = Promise.all(["invite", "register", "noop"].map((name) => probe(name, { durationSeconds: 3600, stopWhen: () => accepted })));
  const answer = await api(op, "POST", `/accounts/${account.id}/imports?format=edge&mode=all`, csv, "text/csv");
  const acceptedAfter = (performance.now() - t0) / 1000;
  accepted = true;
  const whileApplying = Promise.all(["invite", "register", "noop"].map((name) => probe(name, { durationSeconds: 3600, stopWhen: () => finished })));
  let job = answer.body;
  let polls = 0;
  const progress = [{ seconds: round(acceptedAfter), done: job.done }];
  while (job.state !== "done" && job.state !== "failed") {
    await new Promise((r) => setTimeout(r, 200));
    job = (await api(op, "GET", `/accounts/${account.id}/imports/${job.id}`)).body;
    if (++polls % 10 === 0) {
      importLoad.push(load());
      progress.push({ seconds: round((performance.now() - t0) / 1000), done: job.done });
      process.stdout.write(`\r  ${job.done}/${job.total} rows   `);
    }
  }
  const total = (performance.now() - t0) / 1000;
  finished = true;
  const [receivingInvite, receivingRegister, receivingNoop] = await whileReceiving;
  const [applyingInvite, applyingRegister, applyingNoop] = await whileApplying;
  process.stdout.write("\r" + " ".repeat(40) + "\r");
  if (job.state !== "done" || job.created !== ROWS) throw new Error(`import ended ${job.state}: ${JSON.stringify(job).slice(0, 400)}`);
  // The last imported device answers its own digest: the rows reached the object whole.
  const last = String(100000 + ROWS - 1);
  const check = await requestOnce(server.port, { method: "POST", path: "/freeswitch/v1/xml", headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic }, body: sipAuthBody(fx.sipAuthRegister, { username: last, realm: REALM, password: `import-pw-${ROWS - 1}`, method: "INVITE" }) });
  if (check.status !== 200 || !check.text.includes(`id="${last}"`)) throw new Error(`device ${last} after the import: ${check.status} ${check.text.slice(0, 200)}`);
  const usage = await server.helper(`/usage?realm=${encodeURIComponent(REALM)}`).catch(() => null);

  const report = {
    date,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "unknown", node: process.version },
    loadAverage: { atStart: loadAtStart, idleProbes: idleLoad, duringImport: importLoad, atEnd: load() },
    rows: ROWS,
    csvMiB: round(csv.length / 2 ** 20, 1),
    seconds: { accepted: round(acceptedAfter), total: round(total), applying: round(total - acceptedAfter) },
    rowsPerSecond: Math.round(ROWS / total),
    job: { state: job.state, created: job.created, updated: job.updated, refused: job.refused },
    progress,
    ceiling,
    probes: {
      connections: PROBE,
      idle: { invite: view(idleInvite), register: view(idleRegister), noop: view(idleNoop) },
      whileReceiving: { invite: view(receivingInvite), register: view(receivingRegister), noop: view(receivingNoop) },
      whileApplying: { invite: view(applyingInvite), register: view(applyingRegister), noop: view(applyingNoop) },
    },
    objectUsage: usage,
  };
  const row = (name, r) => `| ${name} | ${r.requests} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.max} | ${r.errors} |`;
  const md = [
    `# Bulk import bench, ${date}`,
    "",
    `${ROWS} devices (CSV, ${report.csvMiB} MiB, passwords) into one account: **${report.seconds.total} s** from the POST to the job's end`,
    `(${report.rowsPerSecond} rows/s): ${report.seconds.accepted} s until the 202 (the Worker reads, checks and hashes the file and sends it to the object),`,
    `then ${report.seconds.applying} s of applying in the account's object. Load average at start ${loadAtStart.join(" ")}, during ${importLoad.map((l) => l[0]).join(", ")}.`,
    "",
    `Ceilings in this run (16 connections): no-op route ${ceiling.noop.rps} req/s, p50 ${ceiling.noop.p50} ms, p99 ${ceiling.noop.p99} ms;`,
    `Worker → object no-op ${ceiling.object.rps} req/s, p50 ${ceiling.object.p50} ms, p99 ${ceiling.object.p99} ms.`,
    "",
    `Probes (${PROBE} connections each, the three at once), ms:`,
    "",
    "| probe | requests | req/s | p50 | p99 | max | errors |",
    "|---|---:|---:|---:|---:|---:|---:|",
    row("INVITE sip_auth, idle", report.probes.idle.invite),
    row("INVITE sip_auth, until the 202", report.probes.whileReceiving.invite),
    row("INVITE sip_auth, while the object applies", report.probes.whileApplying.invite),
    row("REGISTER sip_auth, idle", report.probes.idle.register),
    row("REGISTER sip_auth, until the 202", report.probes.whileReceiving.register),
    row("REGISTER sip_auth, while the object applies", report.probes.whileApplying.register),
    row("no-op route, idle", report.probes.idle.noop),
    row("no-op route, until the 202", report.probes.whileReceiving.noop),
    row("no-op route, while the object applies", report.probes.whileApplying.noop),
    "",
  ].join("\n");
  if (WRITE) {
    const outdir = join(root, "bench", "results");
    mkdirSync(outdir, { recursive: true });
    writeFileSync(join(outdir, `${date}-import.json`), JSON.stringify(report, null, 2) + "\n");
    writeFileSync(join(outdir, `${date}-import.md`), md);
  }
  log(md);
}

/** The import under the profiler: where the isolate's time goes from the POST to the job's end. */
async function profileImport(op, account, sourceMap) {
  const { profileWhile } = await import("./lib/profile.mjs");
  const csv = importFile();
  const summary = await profileWhile(server.inspectorUrl, sourceMap, async () => {
    const t0 = performance.now();
    let job = (await api(op, "POST", `/accounts/${account.id}/imports?format=edge&mode=all`, csv, "text/csv")).body;
    const accepted = (performance.now() - t0) / 1000;
    while (job.state !== "done" && job.state !== "failed") {
      await new Promise((r) => setTimeout(r, 200));
      job = (await api(op, "GET", `/accounts/${account.id}/imports/${job.id}`)).body;
    }
    return { accepted: round(accepted), total: round((performance.now() - t0) / 1000), state: job.state, created: job.created };
  });
  log(JSON.stringify(summary.load));
  log(`busy ${Math.round(summary.busyShare * 100)} % of ${Math.round(summary.totalMs)} ms`);
  for (const [title, list] of [["by package", summary.groups], ["by function", summary.functions], ["runtime, for", summary.runtimeCallers]]) {
    log(`\n${title}:`);
    for (const { name, share, ms } of list) log(`  ${(share * 100).toFixed(1).padStart(5)} %  ${Math.round(ms).toString().padStart(6)} ms  ${name}`);
  }
}

/** The file: FusionPBX-like columns in the edge's own names, every row a new device with a password. */
function importFile() {
  const lines = ["username,password,callerIdName,callerIdNumber"];
  for (let i = 0; i < ROWS; i++) lines.push(`${100000 + i},import-pw-${i},Import ${i},${100000 + i}`);
  return lines.join("\n");
}

main()
  .then(cleanup)
  .catch(async (error) => {
    console.error(error);
    await cleanup();
    process.exit(1);
  });
