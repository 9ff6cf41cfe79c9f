#!/usr/bin/env node
// `npm run bench:sip`: SIP-level throughput of three registrars, measured with SIPp at fixed rates on
// loopback, in one run (see docs/benchmarks.md, "SIP level"):
//
//   edge    Kamailio from the shipped switches/kamailio/kamailio.cfg, asking the edge over HTTP for
//           every REGISTER (/authorize) and every new call (/locate). The edge is the
//           `wrangler deploy --dry-run` bundle served by workerd through Miniflare's API with a
//           direct socket (bench/lib/server.mjs, the HTTP benchmark's server; no wrangler dev
//           reload proxy). `--edge wrangler` uses scripts/start.mjs (wrangler dev) instead.
//   local   Kamailio alone: usrloc in memory (db_mode=0), auth_db over a local SQLite file
//           (bench/sip/classic.cfg) — the single-switch baseline.
//   pgsql   Kamailio usrloc db_mode=3 + auth_db on PostgreSQL from Debian, started here under a
//           temp dir on a free port (bench/sip/classic.cfg -A WITH_PGSQL) — the classic
//           shared-database cluster.
//
// Each holds the same N devices (realm sip-bench.test). For each system: full digest
// registrations (REGISTER, 401, REGISTER with credentials, 200) at stepped fixed rates, stepping
// stops once a step fails (> 1% failed, or SIPp could not place 90% of the offered rate); then
// routed calls (INVITE, 407, ACK, INVITE with credentials, 180, 200, ACK, BYE, 200) from the same
// callers to one registered SIPp UAS, also stepped. CPU of the system under test per step
// (user+sys from /proc of every process it runs) → CPU µs per registration / per call.
//
// Addresses: SIPp on 127.0.0.11, the switch on 127.0.0.12:5060 (the end-to-end suite uses
// 127.0.0.2/.3); everything else on free ports. Bounded: every child process is stopped at the end
// (and on SIGINT/SIGTERM, and by a global deadline).
//
// Free ports, child processes, Kamailio (started, probed with OPTIONS, stopped) and the edge as
// `npm start` runs it come from the end-to-end suite's harness (test/e2e/harness/, TypeScript that
// Node 22 runs as it is); what is here is the benchmark's own.
//
// Options: --rates 250,500,... (registrations/s), --call-rates 100,250,... (calls/s), --step S (8),
// --devices N (1000), --systems edge,local,pgsql, --children N (Kamailio workers, 8), --edge
// miniflare|wrangler, --quick (smoke test: 3 s steps, 2 rates, 200 devices), --keep (keep the work
// directory with every log), --no-write (no results file).
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const argv = process.argv.slice(2);

// wrangler (the bundle build) and Miniflare need Node >= 22; `npm run` provides it through the
// `node` devDependency. Started with an older node, re-run under the project's own.
if (Number(process.versions.node.split(".")[0]) < 22) {
  const node22 = join(root, "node_modules", "node", "bin", "node");
  if (!existsSync(node22)) throw new Error("bench:sip needs Node >= 22 (npm ci installs it as a devDependency)");
  const r = spawnSync(node22, [fileURLToPath(import.meta.url), ...argv], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

const { freeTcpPort, freeUdpPorts, sleep, udpPortFree } = await import("../../test/e2e/harness/ports.ts");
const { spawnLogged: spawnInGroup, stopGroup } = await import("../../test/e2e/harness/processes.ts");
const { KAMAILIO_CFG, startKamailioProcess } = await import("../../test/e2e/harness/kamailio.ts");
const { apiClient, startEdge } = await import("../../test/e2e/harness/edge.ts");

const flag = (name) => argv.includes(`--${name}`);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : argv[i + 1];
};
const numbers = (text) => String(text).split(",").map(Number).filter((n) => n > 0);
const QUICK = flag("quick");
const RATES = numbers(option("rates", QUICK ? "250,1000" : "100,250,500,1000,1500,2000,3000"));
const CALL_RATES = numbers(option("call-rates", QUICK ? "100" : "50,100,250,500,750,1000"));
const STEP_S = Number(option("step", QUICK ? 3 : 8));
const DEVICES = Number(option("devices", QUICK ? 200 : 1000));
const SYSTEMS = String(option("systems", "edge,local,pgsql")).split(",");
const CHILDREN = Number(option("children", 8));
const EDGE_SERVER = option("edge", "miniflare");
const KEEP = flag("keep");
const WRITE = !flag("no-write");
const FAIL_LIMIT = 0.01;
const DEADLINE_MS = 14 * 60_000;

const IP = { sipp: "127.0.0.11", sw: "127.0.0.12", peer: "127.0.0.13" };
const SIP_PORT = 5060;
const REALM = "sip-bench.test";
const FIRST_USER = 10000; // 10000 is the called phone (UAS); 10001… register and call
const CLASSIC_CFG = join(here, "classic.cfg");
const SCENARIO = { register: join(here, "register.xml"), call: join(here, "call.xml"), uas: join(here, "uas.xml") };

const log = (line = "") => console.log(line);
const md5 = (s) => createHash("md5").update(s).digest("hex");
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

// ── processes ───────────────────────────────────────────────────────────────

const work = mkdtempSync(join(os.tmpdir(), "whistle-bench-sip-"));
chmodSync(work, 0o755);
const started = new Set(); // { name, child, exited }
const cleanups = []; // async functions, run last-in first-out

/** A child process in its own group, its output in `<name>.log`; stopped by `cleanup` if still running. */
function spawnLogged(name, command, args, { env, cwd } = {}) {
  const proc = { name, ...spawnInGroup(command, args, { log: join(work, `${name}.log`), env, cwd }) };
  started.add(proc);
  proc.exited.then(() => started.delete(proc));
  return proc;
}

const stopProc = (proc, graceMs = 5_000) => stopGroup(proc, graceMs);

let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    while (cleanups.length) await cleanups.pop()().catch((e) => log(`  cleanup: ${e.message}`));
    await Promise.all([...started].map((p) => stopProc(p)));
    if (KEEP) log(`  logs kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    log(`\n${signal}: stopping everything this benchmark started`);
    await cleanup();
    process.exit(130);
  });
}
const deadline = setTimeout(async () => {
  log(`\nbench:sip: still running after ${DEADLINE_MS / 60_000} minutes; stopping`);
  await cleanup();
  process.exit(2);
}, DEADLINE_MS);
deadline.unref();

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: "utf8", ...options });
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${r.status}):\n${r.stdout ?? ""}${r.stderr ?? ""}`);
  return r.stdout;
}

const which = (command) => spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).status === 0;

// ── /proc: CPU of a set of processes ────────────────────────────────────────

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

function procStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = text.lastIndexOf(")");
    const comm = text.slice(text.indexOf("(") + 1, close);
    const f = text.slice(close + 2).split(" "); // f[0] = state (field 3)
    return { pid, comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}

function allProcs() {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map((d) => procStat(Number(d))).filter(Boolean);
}

/** `rootPid` and every process below it (optionally only those whose comm matches). */
function tree(rootPid, match = null) {
  const procs = allProcs();
  const children = new Map();
  for (const p of procs) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(p);
  }
  const out = [];
  const rootProc = procs.find((p) => p.pid === rootPid);
  const queue = rootProc ? [rootProc] : [];
  while (queue.length) {
    const p = queue.shift();
    if (!match || match.test(p.comm)) out.push(p);
    queue.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

/** Snapshot of CPU ticks (utime+stime, plus reaped children's) per part of a system. */
function cpuSnapshot(parts) {
  const snap = {};
  for (const [part, list] of Object.entries(parts)) snap[part] = new Map(list().map((p) => [p.pid, p.ticks]));
  return snap;
}

/** CPU seconds per part between two snapshots (processes present in `after`). */
function cpuDelta(before, after) {
  const out = {};
  for (const [part, now] of Object.entries(after)) {
    let ticks = 0;
    for (const [pid, t] of now) ticks += t - (before[part]?.get(pid) ?? t);
    out[part] = ticks / CLK_TCK;
  }
  return out;
}

/** A run of `count` free UDP ports on SIPp's address. */
const sippPorts = (count) => freeUdpPorts(count, IP.sipp);

// ── packages ────────────────────────────────────────────────────────────────

function kamailioModuleDir() {
  for (const dir of ["/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/aarch64-linux-gnu/kamailio/modules", "/usr/lib/kamailio/modules"]) {
    if (existsSync(dir)) return dir;
  }
  return null;
}
function postgresBin() {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return null;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(base, versions.includes("15") ? "15" : versions[0], "bin") : null;
}

function ensurePackages() {
  const mod = (file) => () => existsSync(join(kamailioModuleDir() ?? "/nonexistent", file));
  const wanted = [
    ["kamailio", () => which("kamailio"), true],
    ["kamailio-utils-modules", mod("http_client.so"), SYSTEMS.includes("edge")],
    ["kamailio-extra-modules", mod("jansson.so"), SYSTEMS.includes("edge")],
    ["kamailio-json-modules", mod("json.so"), SYSTEMS.includes("edge")],
    ["kamailio-sqlite-modules", mod("db_sqlite.so"), SYSTEMS.includes("local")],
    ["sqlite3", () => which("sqlite3"), SYSTEMS.includes("local")],
    ["kamailio-postgres-modules", mod("db_postgres.so"), SYSTEMS.includes("pgsql")],
    ["postgresql", () => postgresBin() !== null, SYSTEMS.includes("pgsql")],
    ["sip-tester", () => which("sipp"), true],
  ];
  const missing = wanted.filter(([, present, needed]) => needed && !present()).map(([name]) => name);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`bench:sip needs the Debian packages ${missing.join(" ")}; install them as root`);
  log(`  installing ${missing.join(" ")} (apt-get)`);
  run("apt-get", ["update", "-qq"]);
  run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

// ── users ───────────────────────────────────────────────────────────────────

const users = Array.from({ length: DEVICES }, (_, i) => {
  const username = String(FIRST_USER + i);
  return { username, password: `pw-${username}-${randomBytes(6).toString("hex")}` };
});
const uasUser = users[0];
const callers = users.slice(1);

function writeCsv(name, list) {
  const file = join(work, name);
  writeFileSync(file, `SEQUENTIAL\n${list.map((u) => `${u.username};[authentication username=${u.username} password=${u.password}];${REALM}`).join("\n")}\n`);
  return file;
}

function subscriberInserts() {
  const rows = users.map((u) => `('${u.username}','${REALM}','','${md5(`${u.username}:${REALM}:${u.password}`)}')`);
  const chunks = [];
  for (let i = 0; i < rows.length; i += 500) chunks.push(`INSERT INTO subscriber (username, domain, password, ha1) VALUES\n${rows.slice(i, i + 500).join(",\n")};`);
  return chunks.join("\n");
}

// ── Kamailio ────────────────────────────────────────────────────────────────

async function startKamailio(name, cfg, extra) {
  if (!(await udpPortFree(IP.sw, SIP_PORT))) throw new Error(`udp ${IP.sw}:${SIP_PORT} is taken: another switch is running there`);
  const kamailio = await startKamailioProcess({ name, cfg, ip: IP.sw, port: SIP_PORT, memoryMb: 256, children: CHILDREN, extra }, work);
  cleanups.push(kamailio.stop);
  return {
    pids: () => tree(kamailio.pid),
    stop: async () => {
      cleanups.splice(cleanups.indexOf(kamailio.stop), 1);
      await kamailio.stop();
    },
  };
}

// ── SIPp ────────────────────────────────────────────────────────────────────

function parseStat(file) {
  if (!existsSync(file)) return null;
  const lines = readFileSync(file, "utf8").trim().split("\n");
  if (lines.length < 2) return null;
  const head = lines[0].split(";");
  const last = lines[lines.length - 1].split(";");
  return Object.fromEntries(head.map((h, i) => [h, last[i]]));
}
const hmsToMs = (t) => {
  const m = /^(\d+):(\d+):(\d+):(\d+)$/.exec(t ?? "");
  return m ? ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]) / 1000 : null;
};

let sippRuns = 0;
/** One SIPp UAC run against the switch: `count` calls of `scenario` at `rate`/s; answers counts and timing. */
async function sippUac({ label, scenario, csv, rate, count, service, timeoutS, port }) {
  const id = `sipp-${++sippRuns}-${label}`;
  const control = await sippPorts(1);
  const media = await sippPorts(4);
  const stat = join(work, `${id}.stat.csv`);
  const args = [`${IP.sw}:${SIP_PORT}`, "-sf", scenario, "-i", IP.sipp, "-p", String(port), "-cp", String(control), "-mp", String(media),
    "-inf", csv, "-auth_uri", service ? `${service}@${REALM}` : REALM, "-r", String(rate), "-rp", "1000", "-m", String(count), "-l", String(Math.max(200, rate * 6)),
    "-nostdin", "-recv_timeout", "5000", "-timeout", `${timeoutS}s`,
    "-trace_stat", "-stf", stat, "-fd", "1", "-trace_err", "-error_file", join(work, `${id}.errors.log`)];
  if (service) args.push("-s", service);
  const startedAt = performance.now();
  const proc = spawnLogged(id, "sipp", args);
  const guard = setTimeout(() => void stopProc(proc, 2_000), (timeoutS + 15) * 1000);
  const code = await proc.exited;
  clearTimeout(guard);
  const wallS = (performance.now() - startedAt) / 1000;
  const s = parseStat(stat) ?? {};
  const successful = Number(s["SuccessfulCall(C)"] ?? 0);
  const failed = count - successful;
  return {
    code,
    offered: rate,
    attempted: count,
    created: Number(s["OutgoingCall(C)"] ?? 0),
    successful,
    failed,
    failedRatio: failed / count,
    retransmissions: Number(s["Retransmissions(C)"] ?? 0),
    wallSeconds: wallS,
    achieved: successful / wallS,
    responseTimeMs: hmsToMs(s["ResponseTime1(C)"]),
    log: id,
  };
}

/** SIPp registers one device (the UAS) at `port`: a single full registration. */
async function registerOnce(user, port) {
  const csv = writeCsv(`uas-${port}.csv`, [user]);
  const id = `sipp-${++sippRuns}-uas-register`;
  const proc = spawnLogged(id, "sipp", [`${IP.sw}:${SIP_PORT}`, "-sf", SCENARIO.register, "-i", IP.sipp, "-p", String(port),
    "-cp", String(await sippPorts(1)), "-mp", String(await sippPorts(4)), "-inf", csv, "-auth_uri", REALM, "-m", "1", "-nostdin",
    "-recv_timeout", "5000", "-timeout", "15s", "-trace_err", "-error_file", join(work, `${id}.errors.log`)]);
  const code = await proc.exited;
  if (code !== 0) throw new Error(`registering the called phone failed (sipp exit ${code}); see ${proc.log}`);
}

// ── measuring one system ────────────────────────────────────────────────────

const fmt = (n, d = 0) => (n === null || n === undefined || Number.isNaN(n) ? "—" : n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));

async function stepped(kind, system, rates, runStep) {
  const steps = [];
  for (const rate of rates) {
    const before = cpuSnapshot(system.parts);
    const harnessBefore = process.cpuUsage();
    const r = await runStep(rate);
    const after = cpuSnapshot(system.parts);
    const harness = process.cpuUsage(harnessBefore);
    const cpu = cpuDelta(before, after);
    const cpuTotal = Object.values(cpu).reduce((a, b) => a + b, 0);
    const step = {
      ...r,
      cpuSeconds: cpu,
      cpuSecondsTotal: cpuTotal,
      cpuUsPerOp: r.successful > 0 ? (cpuTotal * 1e6) / r.successful : null,
      cpuUsPerOpByPart: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, r.successful > 0 ? (v * 1e6) / r.successful : null])),
      cpuCoresUsed: cpuTotal / r.wallSeconds,
      harnessNodeCpuSeconds: (harness.user + harness.system) / 1e6,
    };
    step.held = step.failedRatio < FAIL_LIMIT && step.achieved >= 0.9 * rate;
    steps.push(step);
    log(`  ${system.key.padEnd(5)} ${kind.padEnd(8)} ${fmt(rate).padStart(5)}/s: ${fmt(step.successful).padStart(6)} ok ${fmt(step.failed).padStart(5)} failed (${fmt(step.failedRatio * 100, 2)}%), ${fmt(step.achieved)}/s achieved, avg ${fmt(step.responseTimeMs, 1)} ms, CPU ${fmt(step.cpuUsPerOp)} µs/op (${Object.entries(step.cpuUsPerOpByPart).map(([k, v]) => `${k} ${fmt(v)}`).join(", ")}), ${fmt(step.cpuCoresUsed, 2)} cores${step.held ? "" : "  ← not held"}   [${elapsed()}]`);
    if (!step.held) break;
    await sleep(1500);
  }
  const held = steps.filter((s) => s.held);
  const best = held.length ? held[held.length - 1] : null;
  return { steps, highestHeld: best?.offered ?? 0, cpuUsPerOpAtHighest: best?.cpuUsPerOp ?? null, allHeld: held.length === rates.length };
}

async function measure(system) {
  const regCsv = writeCsv(`register-${system.key}.csv`, callers);
  // One SIP port for every registration step (and another for every call step): each device then
  // keeps one Contact, refreshed step after step, instead of gaining a binding per step.
  const regPort = await sippPorts(1);
  const callPort = await sippPorts(1);
  const idleBefore = cpuSnapshot(system.parts);
  await sleep(2000);
  const idle = cpuDelta(idleBefore, cpuSnapshot(system.parts));
  log(`  ${system.key}: idle CPU ${Object.entries(idle).map(([k, v]) => `${k} ${fmt((v / 2) * 100, 1)}%`).join(", ")} of a core`);

  const registrations = await stepped("REGISTER", system, RATES, (rate) =>
    sippUac({ label: `${system.key}-reg-${rate}`, scenario: SCENARIO.register, csv: regCsv, rate, count: Math.round(rate * STEP_S), timeoutS: STEP_S + 25, port: regPort }));

  await sleep(3000);
  // The called phone: registered through the switch like any device, then answering as a UAS.
  const uasPort = await sippPorts(1);
  await registerOnce(uasUser, uasPort);
  const uas = spawnLogged(`sipp-uas-${system.key}`, "sipp", ["-sf", SCENARIO.uas, "-i", IP.sipp, "-p", String(uasPort),
    "-cp", String(await sippPorts(1)), "-mp", String(await sippPorts(4)), "-nostdin",
    "-timeout", `${CALL_RATES.length * (STEP_S + 30) + 30}s`, "-trace_err", "-error_file", join(work, `sipp-uas-${system.key}.errors.log`)]);
  await sleep(500);
  const callCsv = writeCsv(`call-${system.key}.csv`, callers);
  let calls;
  try {
    calls = await stepped("INVITE", system, CALL_RATES, (rate) =>
      sippUac({ label: `${system.key}-call-${rate}`, scenario: SCENARIO.call, csv: callCsv, rate, count: Math.round(rate * STEP_S), service: uasUser.username, timeoutS: STEP_S + 25, port: callPort }));
  } finally {
    await stopProc(uas, 2_000);
  }
  return { idleCpuSeconds2s: idle, registrations, calls };
}

// ── the three systems ───────────────────────────────────────────────────────

async function startEdgeMiniflare() {
  const { buildBundle, freshVars, startServer } = await import("../lib/server.mjs");
  const outdir = join(work, "dist");
  const { modules, seconds } = buildBundle(root, outdir);
  log(`  edge: bundle built (wrangler deploy --dry-run) in ${seconds.toFixed(1)} s`);
  // SIPp 3.6.1 cannot answer the edge's SHA-256 challenge offered first: MD5 only, as in the e2e suite.
  const vars = { ...freshVars(), DIGEST_ALGORITHMS: "MD5" };
  const server = await startServer({ root, outdir, modules, vars, persistDir: join(work, "edge-state") });
  cleanups.push(() => server.stop());
  await server.applyCatalogMigrations();
  return {
    how: "workerd through Miniflare 5's API (bench/lib/server.mjs), direct socket, no wrangler dev proxy",
    base: server.base,
    operatorKey: vars.OPERATOR_API_KEY,
    // Miniflare runs workerd as a child of this node process.
    pids: () => tree(process.pid, /^workerd$/),
    stop: async () => {
      cleanups.splice(cleanups.indexOf(server.stop), 1);
      await server.stop();
    },
  };
}

async function startEdgeWrangler() {
  const edge = await startEdge(work, { DIGEST_ALGORITHMS: "MD5" });
  cleanups.push(edge.stop);
  // npm start seeds a demo switch at sip:127.0.0.1:5060; this benchmark's switch is the only one.
  const api = apiClient(edge);
  for (const sw of (await api("GET", "/switches?limit=500")).items) await api("DELETE", `/switches/${sw.id}`);
  return {
    how: "wrangler dev through scripts/start.mjs (its reload proxy and request logging included)",
    base: edge.base,
    operatorKey: edge.operatorKey,
    pids: () => tree(edge.pid),
    stop: async () => {
      cleanups.splice(cleanups.indexOf(edge.stop), 1);
      await edge.stop();
    },
  };
}

async function systemEdge() {
  const edge = EDGE_SERVER === "wrangler" ? await startEdgeWrangler() : await startEdgeMiniflare();
  const api = apiClient({ base: edge.base, operatorKey: edge.operatorKey, log: "" });
  const seedStart = performance.now();
  const account = await api("POST", "/accounts", { realm: REALM, name: "SIP bench" });
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < users.length) {
      const u = users[next++];
      await api("POST", `/accounts/${account.id}/devices`, { username: u.username, password: u.password });
    }
  }));
  const sw = await api("POST", "/switches", { name: "bench-sip", address: `sip:${IP.sw}:${SIP_PORT}` });
  log(`  edge: ${edge.base}; account ${REALM} with ${users.length} devices and switch ${sw.switch.id} created through the API in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);
  const kam = await startKamailio("edge", KAMAILIO_CFG, [
    "--debug=1",
    `--substdef=!EDGE_HOSTPORT!${new URL(edge.base).host}!g`,
    `--substdef=!EDGE_SWITCH_ID!${sw.switch.id}!g`,
    `--substdef=!EDGE_SWITCH_CREDENTIAL!${sw.credential}!g`,
    "-A", `PEER_SWITCHES="${IP.peer}/32"`,
  ]);
  return {
    key: "edge",
    name: "Kamailio + edge",
    how: `shipped switches/kamailio/kamailio.cfg (${CHILDREN} UDP workers, -m 256, --debug=1) → edge over kept-alive HTTP; edge: ${edge.how}`,
    parts: { kamailio: kam.pids, edge: edge.pids },
    stop: async () => {
      await kam.stop();
      await edge.stop();
    },
  };
}

async function systemLocal() {
  const db = join(work, "subscriber.sqlite");
  const share = "/usr/share/kamailio/db_sqlite";
  const sql = [readFileSync(join(share, "standard-create.sql"), "utf8"), readFileSync(join(share, "auth_db-create.sql"), "utf8"), "BEGIN;", subscriberInserts(), "COMMIT;"].join("\n");
  run("sqlite3", [db], { input: sql });
  const kam = await startKamailio("local", CLASSIC_CFG, [`--substdef=!DBURL!sqlite:///${db}!g`]);
  log(`  local: Kamailio with usrloc in memory + auth_db on SQLite (${db}, ${users.length} subscribers)`);
  return {
    key: "local",
    name: "Kamailio alone",
    how: `bench/sip/classic.cfg (${CHILDREN} UDP workers, -m 256): usrloc db_mode=0, auth_db over a local SQLite file (db_sqlite)`,
    parts: { kamailio: kam.pids },
    stop: () => kam.stop(),
  };
}

async function systemPgsql() {
  const bin = postgresBin();
  const pgDir = mkdtempSync(join(os.tmpdir(), "whistle-bench-sip-pg-"));
  chmodSync(pgDir, 0o755);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) run("chown", ["-R", "postgres:postgres", pgDir]);
  // PostgreSQL refuses to run as root: as root, run its tools as the postgres user.
  const pgRun = (tool, args) => (asRoot ? run("runuser", ["-u", "postgres", "--", join(bin, tool), ...args]) : run(join(bin, tool), args));
  const data = join(pgDir, "data");
  const port = await freeTcpPort();
  cleanups.push(async () => {
    spawnSync(asRoot ? "runuser" : join(bin, "pg_ctl"), [...(asRoot ? ["-u", "postgres", "--", join(bin, "pg_ctl")] : []), "-D", data, "-m", "fast", "-w", "-t", "30", "stop"], { encoding: "utf8" });
    if (!KEEP) rmSync(pgDir, { recursive: true, force: true });
  });
  pgRun("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]);
  pgRun("pg_ctl", ["-D", data, "-l", join(pgDir, "postgres.log"), "-w", "-t", "60", "-o", `-p ${port} -c listen_addresses=127.0.0.1 -k ${pgDir} -c max_connections=200`, "start"]);
  const postmaster = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  const psql = (args, input) => run(join(bin, "psql"), ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q", ...args], { input });
  psql(["-c", "CREATE DATABASE kamailio"]);
  const share = "/usr/share/kamailio/postgres";
  psql(["-d", "kamailio"], ["standard-create.sql", "auth_db-create.sql", "usrloc-create.sql"].map((f) => readFileSync(join(share, f), "utf8")).join("\n") + "\n" + subscriberInserts() + "\n");
  const version = run(join(bin, "postgres"), ["--version"]).trim();
  log(`  pgsql: ${version} on 127.0.0.1:${port} (data in ${data}, default durability settings), ${users.length} subscribers`);
  const kam = await startKamailio("pgsql", CLASSIC_CFG, ["-A", "WITH_PGSQL", `--substdef=!DBURL!postgres://postgres@127.0.0.1:${port}/kamailio!g`]);
  return {
    key: "pgsql",
    name: "Kamailio + PostgreSQL",
    how: `bench/sip/classic.cfg -A WITH_PGSQL (${CHILDREN} UDP workers, -m 256): usrloc db_mode=3 + auth_db on ${version} (local TCP, fsync and synchronous_commit on)`,
    parts: { kamailio: kam.pids, postgres: () => tree(postmaster) },
    stop: async () => {
      await kam.stop();
    },
  };
}

// ── main ────────────────────────────────────────────────────────────────────

function machine() {
  const cpus = os.cpus();
  return { cpus: cpus.length, cpuModel: cpus[0]?.model ?? "unknown", memoryGiB: Math.round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()}`, node: process.version, loadAverageAtStart: os.loadavg().map((l) => Number(l.toFixed(2))) };
}

function versions() {
  const first = (cmd, args) => (spawnSync(cmd, args, { encoding: "utf8" }).stdout ?? "").split("\n").find((l) => l.trim()) ?? "";
  return { kamailio: first("kamailio", ["-v"]).trim(), sipp: first("sipp", ["-v"]).trim() };
}

function summaryTable(results) {
  const rows = [["system", "reg/s held", "CPU µs/reg", "(split)", "calls/s held", "CPU µs/call"]];
  for (const r of results) {
    const reg = r.registrations;
    const best = reg.steps.filter((s) => s.held).at(-1);
    const call = r.calls.steps.filter((s) => s.held).at(-1);
    rows.push([
      r.name,
      reg.highestHeld ? `${reg.allHeld ? "≥ " : ""}${fmt(reg.highestHeld)}` : "< " + fmt(RATES[0]),
      fmt(best?.cpuUsPerOp),
      best ? Object.entries(best.cpuUsPerOpByPart).map(([k, v]) => `${k} ${fmt(v)}`).join(" + ") : "",
      r.calls.highestHeld ? `${r.calls.allHeld ? "≥ " : ""}${fmt(r.calls.highestHeld)}` : "< " + fmt(CALL_RATES[0]),
      fmt(call?.cpuUsPerOp),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  return rows.map((row, n) => row.map((c, i) => String(c).padEnd(widths[i])).join("  ") + (n === 0 ? `\n${widths.map((w) => "─".repeat(w)).join("  ")}` : "")).join("\n");
}

async function main() {
  log(`bench:sip — ${SYSTEMS.join(", ")}; ${DEVICES} devices; REGISTER steps ${RATES.join(", ")}/s; call steps ${CALL_RATES.join(", ")}/s; ${STEP_S} s each; SIPp on ${IP.sipp}, switch on ${IP.sw}:${SIP_PORT}`);
  ensurePackages();
  const info = { machine: machine(), versions: versions() };
  log(`  ${info.machine.cpus} × ${info.machine.cpuModel}; load average ${info.machine.loadAverageAtStart.join(" ")}; ${info.versions.kamailio}; ${info.versions.sipp}`);
  const results = [];
  const builders = { edge: systemEdge, local: systemLocal, pgsql: systemPgsql };
  for (const key of SYSTEMS) {
    if (!builders[key]) throw new Error(`unknown system ${key} (edge, local, pgsql)`);
    log(`\n── ${key} ──  [${elapsed()}]`);
    const system = await builders[key]();
    try {
      const measured = await measure(system);
      results.push({ key: system.key, name: system.name, how: system.how, loadAverageAfter: os.loadavg().map((l) => Number(l.toFixed(2))), ...measured });
    } finally {
      await system.stop();
      // a system's extra services (e.g. PostgreSQL) stop before the next system is measured
      while (cleanups.length) await cleanups.pop()().catch((e) => log(`  cleanup: ${e.message}`));
    }
  }

  log(`\nHighest fixed rate held with < ${FAIL_LIMIT * 100}% failures (and ≥ 90% of the offered rate placed), CPU of the system under test at that rate:\n`);
  log(summaryTable(results));
  const edge = results.find((r) => r.key === "edge");
  const pg = results.find((r) => r.key === "pgsql");
  let target = null;
  if (edge && pg) {
    target = {
      statement: "Kamailio + edge carries at least as many registrations/s as the PostgreSQL cluster peer",
      edgeRegistrationsPerSecond: edge.registrations.highestHeld,
      pgsqlRegistrationsPerSecond: pg.registrations.highestHeld,
      met: edge.registrations.highestHeld >= pg.registrations.highestHeld,
    };
    log(`\nTarget: ${target.statement}: ${target.met ? "MET" : "NOT MET"} (${fmt(target.edgeRegistrationsPerSecond)}/s vs ${fmt(target.pgsqlRegistrationsPerSecond)}/s)`);
  }

  const date = new Date().toISOString().slice(0, 10);
  const report = {
    name: "sip",
    date: new Date().toISOString(),
    command: `node bench/sip/run.mjs ${argv.join(" ")}`.trim(),
    settings: { rates: RATES, callRates: CALL_RATES, stepSeconds: STEP_S, devices: DEVICES, kamailioChildren: CHILDREN, failureLimit: FAIL_LIMIT, edgeServer: EDGE_SERVER, addresses: { sipp: IP.sipp, switch: `${IP.sw}:${SIP_PORT}` } },
    ...info,
    measured: "registration = REGISTER, 401, REGISTER with digest, 200 (one SIPp call); call = INVITE, 407, ACK, INVITE with digest, 180, 200, ACK, BYE, 200 to one registered SIPp UAS; CPU = utime+stime from /proc of every process of the system under test during the step (SIPp and this script not included)",
    results,
    target,
    durationSeconds: Math.round((performance.now() - t0) / 1000),
  };
  if (WRITE) {
    const dir = join(root, "bench", "results");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${date}-sip.json`);
    writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
    log(`\nwrote ${file.slice(root.length + 1)}  (total ${elapsed()})`);
  }
}

try {
  await main();
  await cleanup();
  process.exit(0);
} catch (error) {
  console.error(`\nbench:sip failed: ${error.stack ?? error}`);
  log(`  logs: ${work}`);
  const keepLogs = KEEP;
  cleaning ??= (async () => {
    while (cleanups.length) await cleanups.pop()().catch(() => {});
    await Promise.all([...started].map((p) => stopProc(p)));
    if (!keepLogs) log("  (logs left in place for the failure; remove the directory when done)");
  })();
  await cleaning;
  process.exit(1);
}
