#!/usr/bin/env node
// `npm run bench:distance`: what one switch carries when the edge is a network away.
//
// The edge is the `wrangler deploy --dry-run` bundle on workerd (bench/lib/server.mjs, direct
// socket, no wrangler dev). Between the switch and the edge sits bench/lib/delay-proxy.mjs, a TCP
// proxy on loopback that holds every byte for the one-way delay in both directions and delays
// connection set-up by one round trip. For each switch (FreeSWITCH with the shipped
// switches/freeswitch/ files, Kamailio with the shipped switches/kamailio/kamailio.cfg) and each
// added round trip (0, 30, 100 ms by default), SIPp phones on loopback measure:
//
//   - call setup time at a low rate (INVITE sent → 200 received, 407 challenge included);
//   - full-digest registrations/s (REGISTER, 401, REGISTER with the digest, 200; a new Call-ID
//     each): a search (start rate, doubled while a step holds, then one step between the last held
//     and the first failed rate), then the highest held rate run again for --hold seconds;
//   - routed calls/s (INVITE, 407, ACK, INVITE with the digest, 180, 200, ACK, BYE, 200) to one
//     registered SIPp UAS on the same switch, searched and held the same way.
//
// A step holds when ≥ 99 % of its attempts succeed, SIPp placed ≥ 95 % of the offered rate, and the
// latency is flat: the median of the step's last third is at most max(1.5 ×, + 50 ms) the median
// of its first third (a rate whose queue still grows does not count).
//
// Everything is on this machine: the figures are shared-2-core figures, compare within a run.
// Load average before and after every step is kept in the results.
//
// Options: --delays 0,30,100 (added round trip, ms), --switches freeswitch,kamailio, --search S (15,
// seconds per search step), --hold S (60), --reg-start N (10), --call-start N (5), --max-rate N
// (640), --devices N (500), --label TEXT (results file suffix), --fs-dir DIR (FreeSWITCH files
// instead of switches/freeswitch/, e.g. another revision's), --kamailio-cfg FILE (likewise), --quick (smoke: 0 and 30 ms, 4 s steps, 8 s holds), --keep (keep logs), --no-write,
// --setup-only (the call setup time at each distance, without the REGISTER and call rate searches),
// --relay (FreeSWITCH reaches the delay proxy through the shipped keep-alive relay,
// switches/freeswitch/relay/whistle-edge-relay.conf, on nginx; plain HTTP to the edge here).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { chmodSync, closeSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const argv = process.argv.slice(2);

if (Number(process.versions.node.split(".")[0]) < 22) {
  const node22 = join(root, "node_modules", "node", "bin", "node");
  if (!existsSync(node22)) throw new Error("bench:distance needs Node >= 22 (npm ci installs it as a devDependency)");
  const r = spawnSync(node22, [fileURLToPath(import.meta.url), ...argv], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

const flag = (name) => argv.includes(`--${name}`);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : argv[i + 1];
};
const QUICK = flag("quick");
const DELAYS = String(option("delays", QUICK ? "0,30" : "0,30,100")).split(",").map(Number);
const SWITCHES = String(option("switches", "freeswitch,kamailio")).split(",");
const SEARCH_S = Number(option("search", QUICK ? 4 : 15));
const HOLD_S = Number(option("hold", QUICK ? 8 : 60));
const REG_START = Number(option("reg-start", 10));
const CALL_START = Number(option("call-start", 5));
const MAX_RATE = Number(option("max-rate", 640));
const DEVICES = Number(option("devices", QUICK ? 100 : 500));
const LABEL = option("label", "");
// The FreeSWITCH files to lay over the base (a copy of switches/freeswitch/ from another revision
// measures that revision's settings against the same edge).
const SHIPPED_FS = option("fs-dir", join(root, "switches", "freeswitch"));
const KAMAILIO_CFG = option("kamailio-cfg", join(root, "switches", "kamailio", "kamailio.cfg"));
const KEEP = flag("keep");
const WRITE = !flag("no-write");
const RELAY = flag("relay"); // FreeSWITCH through the shipped keep-alive relay (nginx) on its host
const SETUP_ONLY = flag("setup-only"); // only the call setup time at 1 call/s, no rate searches
const SUCCESS_MIN = 0.99;
const SETUP_CALLS = QUICK ? 5 : 20;
const DEADLINE_MS = 110 * 60_000;

const IP = { sipp: "127.0.0.31", freeswitch: "127.0.0.32", kamailio: "127.0.0.33" };
const SIP_PORT = 5060;
const REALM = "distance.test";
const FIRST_USER = 20000; // 20000 is the called phone; the others register and call
const SCENARIOS = join(root, "bench", "sip");
const FS_HOME = process.env.FS_HOME ?? "/opt/freeswitch";
const FS_BASE = join(root, "test", "freeswitch", "harness", "base");

const log = (line = "") => console.log(line);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = performance.now();
const startedAt = Date.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
const loadavg = () => os.loadavg().map((l) => Number(l.toFixed(2)));
const fmt = (n, d = 0) => (n === null || n === undefined || Number.isNaN(n) ? "—" : n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));

// ── processes ───────────────────────────────────────────────────────────────

const work = mkdtempSync(join(os.tmpdir(), "whistle-bench-distance-"));
chmodSync(work, 0o755);
const started = new Set();
const cleanups = [];

function spawnLogged(name, command, args, { env, cwd } = {}) {
  const logFile = join(work, `${name}.log`);
  const fd = openSync(logFile, "a");
  const child = spawn(command, args, { cwd, env: env ?? process.env, detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  let code = null;
  const exited = new Promise((resolve) => {
    child.once("exit", (c) => resolve((code = c ?? -1)));
    child.once("error", () => resolve((code = -1)));
  });
  const proc = { name, child, exited, log: logFile, alive: () => code === null, output: () => readFileSync(logFile, "utf8") };
  started.add(proc);
  exited.then(() => started.delete(proc));
  return proc;
}

async function stopProc(proc, graceMs = 5_000) {
  if (!proc.alive() || proc.child.pid === undefined) return;
  const signal = (s) => {
    try {
      process.kill(-proc.child.pid, s);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  if (!(await Promise.race([proc.exited.then(() => true), sleep(graceMs).then(() => false)]))) {
    signal("SIGKILL");
    await Promise.race([proc.exited, sleep(3_000)]);
  }
}

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
setTimeout(async () => {
  log(`\nbench:distance: still running after ${DEADLINE_MS / 60_000} minutes; stopping`);
  await cleanup();
  process.exit(2);
}, DEADLINE_MS).unref();

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: "utf8", ...options });
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${r.status}):\n${r.stdout ?? ""}${r.stderr ?? ""}`);
  return r.stdout;
}

async function waitFor(what, predicate, timeoutMs, proc) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (proc && !proc.alive()) throw new Error(`${what}: ${proc.name} exited; its log ${proc.log}:\n${proc.output().split("\n").slice(-30).join("\n")}`);
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(200);
  }
}

function udpFree(host, port) {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    s.once("error", () => {
      s.close();
      resolve(false);
    });
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}

const handedOut = new Set();
async function freeUdpPorts(count, host = IP.sipp) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = await new Promise((resolve, reject) => {
      const s = createSocket("udp4");
      s.once("error", reject);
      s.bind(0, host, () => {
        const { port } = s.address();
        s.close(() => resolve(port));
      });
    });
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if (base + count > 65535 || ports.some((p) => handedOut.has(p))) continue;
    if ((await Promise.all(ports.map((p) => udpFree(host, p)))).every(Boolean)) {
      ports.forEach((p) => handedOut.add(p));
      return base;
    }
  }
  throw new Error(`no run of ${count} free UDP ports on ${host}`);
}

/** One OPTIONS to a switch; true when it answers (any final response) within 500 ms. */
function optionsProbe(ip, port) {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    const done = (ok) => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 500);
    socket.on("message", (m) => done(/^SIP\/2\.0 [2-6]\d\d/.test(m.toString())));
    socket.on("error", () => done(false));
    socket.bind(0, IP.sipp, () => {
      const local = socket.address().port;
      const branch = `z9hG4bK-probe-${randomBytes(6).toString("hex")}`;
      socket.send(
        [`OPTIONS sip:${ip}:${port} SIP/2.0`, `Via: SIP/2.0/UDP ${IP.sipp}:${local};branch=${branch};rport`, `From: <sip:probe@${IP.sipp}>;tag=${branch.slice(-8)}`,
          `To: <sip:${ip}:${port}>`, `Call-ID: ${branch}@${IP.sipp}`, "CSeq: 1 OPTIONS", "Max-Forwards: 70", "Content-Length: 0", "", ""].join("\r\n"),
        port,
        ip,
      );
    });
  });
}

// ── the delay proxy ─────────────────────────────────────────────────────────

async function startProxy(name, target, roundTripMs) {
  const proc = spawnLogged(`delay-proxy-${name}-${roundTripMs}ms`, process.execPath, [join(root, "bench", "lib", "delay-proxy.mjs"), "--target", target, "--one-way", String(roundTripMs / 2)]);
  let port = null;
  await waitFor("the delay proxy listens", () => {
    const line = proc.output().split("\n").find((l) => l.startsWith("{"));
    if (line) port = JSON.parse(line).port;
    return port !== null;
  }, 10_000, proc);
  return { port, url: `http://127.0.0.1:${port}`, hostport: `127.0.0.1:${port}`, stop: () => stopProc(proc), proc };
}

// ── the keep-alive relay (switches/freeswitch/relay/) ───────────────────────

/** nginx with the shipped relay file, its edge the delay proxy (plain HTTP here), listening on a free loopback port. */
async function startRelay(target) {
  const dir = mkdtempSync(join(work, "relay-"));
  const listen = await new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
  let site = readFileSync(join(SHIPPED_FS, "relay", "whistle-edge-relay.conf"), "utf8");
  site = site.replace("server edge.example.net:443;", `server ${target};`).replace("proxy_pass https://whistle_edge;", "proxy_pass http://whistle_edge;").replace("listen 127.0.0.1:8788;", `listen 127.0.0.1:${listen};`);
  writeFileSync(join(dir, "site.conf"), site);
  writeFileSync(join(dir, "nginx.conf"), [
    "worker_processes 1;", `pid ${join(dir, "nginx.pid")};`, `error_log ${join(dir, "error.log")} warn;`, "daemon off;",
    "events { worker_connections 1024; }",
    `http { client_body_temp_path ${dir}; proxy_temp_path ${dir}; include ${join(dir, "site.conf")}; }`, "",
  ].join("\n"));
  const proc = spawnLogged(`relay-${listen}`, "nginx", ["-p", dir, "-c", join(dir, "nginx.conf")]);
  await waitFor("the relay listens", () => new Promise((resolve) => {
    const socket = connect(listen, "127.0.0.1", () => { socket.destroy(); resolve(true); });
    socket.on("error", () => resolve(false));
  }), 10_000, proc);
  return { url: `http://127.0.0.1:${listen}`, stop: () => stopProc(proc) };
}

// ── users and SIPp ──────────────────────────────────────────────────────────

const users = Array.from({ length: DEVICES }, (_, i) => {
  const username = String(FIRST_USER + i);
  return { username, password: `pw-${username}-${randomBytes(6).toString("hex")}` };
});
const callee = users[0];
const callers = users.slice(1);

function writeCsv(name, list) {
  const file = join(work, name);
  writeFileSync(file, `SEQUENTIAL\n${list.map((u) => `${u.username};[authentication username=${u.username} password=${u.password}];${REALM}`).join("\n")}\n`);
  return file;
}

const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null);
const median = (list) => quantile([...list].sort((a, b) => a - b), 0.5);

/** SIPp's per-call response times (-trace_rtt): [{ at: ms since epoch, ms }]. */
function readRtt(dir) {
  const file = readdirSync(dir).find((f) => f.endsWith("_rtt.csv"));
  if (!file) return [];
  return readFileSync(join(dir, file), "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.split(";"))
    .filter((f) => f.length >= 2 && f[2]?.trim() === "1")
    .map((f) => ({ at: Number(f[0]), ms: Number(f[1]) }))
    .filter((r) => Number.isFinite(r.at) && Number.isFinite(r.ms));
}

function lastStat(file) {
  if (!existsSync(file)) return {};
  const lines = readFileSync(file, "utf8").trim().split("\n");
  if (lines.length < 2) return {};
  const head = lines[0].split(";");
  const last = lines[lines.length - 1].split(";");
  return Object.fromEntries(head.map((h, i) => [h, last[i]]));
}

let sippRuns = 0;
/** One SIPp UAC run: `count` calls of `scenario` at `rate`/s against the switch. */
async function sippUac({ label, remote, scenario, csv, rate, count, service, authUri, timeoutS, port }) {
  const id = `sipp-${++sippRuns}-${label}`;
  const dir = join(work, id);
  mkdirSync(dir);
  const sf = join(dir, "scenario.xml");
  copyFileSync(scenario, sf);
  const args = [remote, "-sf", sf, "-i", IP.sipp, "-p", String(port), "-cp", String(await freeUdpPorts(1)), "-mp", String(await freeUdpPorts(4)),
    "-inf", csv, "-r", String(rate), "-rp", "1000", "-m", String(count), "-l", String(Math.max(200, rate * 10)),
    "-nostdin", "-recv_timeout", "8000", "-timeout", `${timeoutS}s`, "-trace_stat", "-stf", join(dir, "stat.csv"), "-fd", "1",
    "-trace_rtt", "-rtt_freq", "1", "-trace_err", "-error_file", join(dir, "errors.log")];
  if (service) args.push("-s", service);
  // SIPp's digest signs the remote address unless told otherwise; the edge wants the Request-URI.
  args.push("-auth_uri", authUri);
  const startedAt = performance.now();
  const proc = spawnLogged(id, "sipp", args, { cwd: dir });
  const guard = setTimeout(() => void stopProc(proc, 2_000), (timeoutS + 15) * 1000);
  const code = await proc.exited;
  clearTimeout(guard);
  const wallS = (performance.now() - startedAt) / 1000;
  const s = lastStat(join(dir, "stat.csv"));
  const successful = Number(s["SuccessfulCall(C)"] ?? 0);
  const rtt = readRtt(dir);
  const ms = rtt.map((r) => r.ms).sort((a, b) => a - b);
  // Flat latency: the median of the last third of the run against the first third.
  const byTime = [...rtt].sort((a, b) => a.at - b.at);
  const third = Math.floor(byTime.length / 3);
  const firstThird = third ? median(byTime.slice(0, third).map((r) => r.ms)) : null;
  const lastThird = third ? median(byTime.slice(-third).map((r) => r.ms)) : null;
  const flat = firstThird !== null && lastThird <= Math.max(1.5 * firstThird, firstThird + 50);
  const firstAt = byTime[0]?.at;
  const lastAt = byTime.at(-1)?.at;
  return {
    code,
    offered: rate,
    attempted: count,
    successful,
    failed: count - successful,
    successRatio: successful / count,
    retransmissions: Number(s["Retransmissions(C)"] ?? 0),
    // Completed calls per second while answers came back (first to last completion).
    achieved: firstAt !== undefined && lastAt > firstAt ? (byTime.length - 1) / ((lastAt - firstAt) / 1000) : null,
    wallSeconds: wallS,
    latencyMs: { p50: quantile(ms, 0.5), p90: quantile(ms, 0.9), p99: quantile(ms, 0.99), max: ms.at(-1) ?? null, firstThirdP50: firstThird, lastThirdP50: lastThird },
    flat,
    log: id,
  };
}

async function registerOnce(remote, user, port) {
  const csv = writeCsv(`callee-${port}.csv`, [user]);
  const r = await sippUac({ label: "callee-register", remote, scenario: join(SCENARIOS, "register.xml"), csv, rate: 1, count: 1, authUri: REALM, timeoutS: 20, port });
  if (r.successful !== 1) throw new Error(`registering the called phone through ${remote} failed; see ${join(work, r.log)}`);
}

// ── one step, the search, the hold ──────────────────────────────────────────

/**
 * After a step, wait until the switch has worked off what it queued: three OPTIONS in a row
 * answered within 500 ms (they wait in the same queue as the step's requests), at most 60 s.
 */
async function settle(sw) {
  const end = Date.now() + 60_000;
  let answered = 0;
  while (answered < 3 && Date.now() < end) {
    answered = (await optionsProbe(sw.ip, SIP_PORT)) ? answered + 1 : 0;
    await sleep(300);
  }
  await sleep(1000);
}

async function step(kind, sw, rate, seconds, runOne) {
  const loadBefore = loadavg();
  const r = await runOne(rate, seconds);
  const held = r.successRatio >= SUCCESS_MIN && r.achieved !== null && r.achieved >= 0.95 * rate && r.flat;
  const result = { ...r, seconds, held, loadBefore, loadAfter: loadavg() };
  log(`    ${kind.padEnd(8)} ${fmt(rate).padStart(4)}/s × ${seconds} s: ${(r.successRatio * 100).toFixed(2)} % ok, ${fmt(r.achieved, 1)}/s, p50 ${fmt(r.latencyMs.p50)} ms p99 ${fmt(r.latencyMs.p99)} ms (first third ${fmt(r.latencyMs.firstThirdP50)}, last ${fmt(r.latencyMs.lastThirdP50)}), load ${loadBefore[0]}→${result.loadAfter[0]}${held ? "" : "  ← not held"}   [${elapsed()}]`);
  await settle(sw);
  return result;
}

/**
 * The search: from `start`, doubled while a step holds (halved while it does not), one step between
 * the last held and the first failed rate, then the best rate again for HOLD_S (the recorded point;
 * if that does not hold, 80 % of it, twice at most).
 */
async function search(kind, sw, start, runOne) {
  const steps = [];
  let good = 0;
  let bad = null;
  let rate = start;
  const first = await step(kind, sw, rate, SEARCH_S, runOne);
  steps.push(first);
  if (first.held) {
    good = rate;
    for (rate = start * 2; rate <= MAX_RATE; rate *= 2) {
      const s = await step(kind, sw, rate, SEARCH_S, runOne);
      steps.push(s);
      if (!s.held) {
        bad = rate;
        break;
      }
      good = rate;
    }
  } else {
    bad = rate;
    for (rate = Math.floor(start / 2); rate >= 1; rate = Math.floor(rate / 2)) {
      const s = await step(kind, sw, rate, SEARCH_S, runOne);
      steps.push(s);
      if (s.held) {
        good = rate;
        break;
      }
      bad = rate;
    }
  }
  if (bad !== null && good > 0 && bad - good >= Math.max(2, good * 0.25)) {
    const mid = Math.round((good + bad) / 2);
    const s = await step(kind, sw, mid, SEARCH_S, runOne);
    steps.push(s);
    if (s.held) good = mid;
  }
  let hold = null;
  rate = good;
  for (let attempt = 0; attempt < 3 && rate >= 1; attempt++) {
    hold = await step(kind, sw, rate, HOLD_S, runOne);
    if (hold.held) break;
    rate = Math.floor(rate * 0.8);
  }
  return { steps, hold, sustained: hold?.held ? hold.offered : 0, topOfSearch: bad === null };
}

async function measureSwitch(sw, roundTripMs) {
  const remote = `${sw.ip}:${SIP_PORT}`;
  const regCsv = writeCsv(`register-${sw.key}-${roundTripMs}.csv`, callers);
  const callCsv = writeCsv(`call-${sw.key}-${roundTripMs}.csv`, callers);
  const regPort = await freeUdpPorts(1);
  const callPort = await freeUdpPorts(1);
  const calleePort = await freeUdpPorts(1);
  await registerOnce(remote, callee, calleePort);
  const uas = spawnLogged(`sipp-uas-${sw.key}-${roundTripMs}`, "sipp", ["-sf", join(SCENARIOS, "uas.xml"), "-i", IP.sipp, "-p", String(calleePort),
    "-cp", String(await freeUdpPorts(1)), "-mp", String(await freeUdpPorts(4)), "-nostdin", "-timeout", "3600s",
    "-trace_err", "-error_file", join(work, `sipp-uas-${sw.key}-${roundTripMs}.errors.log`)]);
  try {
    await sleep(500);
    const registerRun = (rate, seconds) =>
      sippUac({ label: `${sw.key}-${roundTripMs}ms-reg-${rate}`, remote, scenario: join(SCENARIOS, "register.xml"), csv: regCsv, rate, count: Math.round(rate * seconds), authUri: REALM, timeoutS: seconds + 30, port: regPort });
    const callRun = (rate, seconds) =>
      sippUac({ label: `${sw.key}-${roundTripMs}ms-call-${rate}`, remote, scenario: join(SCENARIOS, "call.xml"), csv: callCsv, rate, count: Math.round(rate * seconds), service: callee.username, authUri: `${callee.username}@${REALM}`, timeoutS: seconds + 30, port: callPort });

    log(`  call setup time at 1 call/s (${SETUP_CALLS} calls)`);
    const setup = await step("setup", sw, 1, SETUP_CALLS, callRun);
    log(`  call setup p50 ${fmt(setup.latencyMs.p50)} ms, p90 ${fmt(setup.latencyMs.p90)} ms, ${(setup.successRatio * 100).toFixed(1)} % answered`);
    if (SETUP_ONLY) return { roundTripMs, setup: { p50: setup.latencyMs.p50, p90: setup.latencyMs.p90, successRatio: setup.successRatio, run: setup }, registrations: null, calls: null };
    log(`  registrations`);
    const registrations = await search("REGISTER", sw, REG_START, registerRun);
    log(`  calls`);
    const calls = await search("INVITE", sw, CALL_START, callRun);
    return { roundTripMs, setup: { p50: setup.latencyMs.p50, p90: setup.latencyMs.p90, successRatio: setup.successRatio, run: setup }, registrations, calls };
  } finally {
    await stopProc(uas, 2_000);
  }
}

// ── the edge ────────────────────────────────────────────────────────────────

async function edgeApi(base, operatorKey, method, path, body) {
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${operatorKey}`, ...(body && { "content-type": "application/json" }) },
    body: body && JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

async function startEdge() {
  const { buildBundle, freshVars, startServer } = await import("../lib/server.mjs");
  const outdir = join(work, "dist");
  const { modules, seconds } = buildBundle(root, outdir);
  log(`  edge: bundle built (wrangler deploy --dry-run) in ${seconds.toFixed(1)} s`);
  // SIPp 3.6.1 answers only the first of the two challenges the Kamailio path offers by default
  // (SHA-256, then MD5), and cannot do SHA-256: offer MD5 alone, as the end-to-end suite does.
  const vars = { ...freshVars(), DIGEST_ALGORITHMS: "MD5" };
  const server = await startServer({ root, outdir, modules, vars, persistDir: join(work, "edge-state"), quiet: true });
  cleanups.push(() => server.stop());
  await server.applyCatalogMigrations();
  const op = vars.OPERATOR_API_KEY;
  const account = await edgeApi(server.base, op, "POST", "/accounts", { realm: REALM, name: "Distance bench" });
  // Registrations last an hour: the called phone registers once per switch and distance, and must
  // stay reachable through every call step (the default interval would expire it mid-run); its
  // binding from an earlier switch or distance gives way to the new one.
  await edgeApi(server.base, op, "PATCH", `/accounts/${account.id}`, { policy: { minExpires: 60, defaultExpires: 3600, maxExpires: 3600, expiresJitter: 0, overflow: "replace_oldest" } });
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < users.length) {
      const u = users[next++];
      await edgeApi(server.base, op, "POST", `/accounts/${account.id}/devices`, { username: u.username, password: u.password });
    }
  }));
  const switches = {};
  for (const key of ["freeswitch", "kamailio"]) {
    const created = await edgeApi(server.base, op, "POST", "/switches", { name: `distance-${key}`, address: `sip:${IP[key]}:${SIP_PORT}` });
    switches[key] = { id: created.switch.id, credential: created.credential };
  }
  log(`  edge: ${server.base}; account ${REALM} with ${users.length} devices; switches created through the API`);
  return { base: server.base, hostport: new URL(server.base).host, switches };
}

// ── FreeSWITCH ──────────────────────────────────────────────────────────────

function setVariable(text, name, value) {
  const line = new RegExp(`<X-PRE-PROCESS cmd="set" data="${name}=[^"]*"/>`);
  if (!line.test(text)) throw new Error(`vars-edge.xml has no ${name} line`);
  return text.replace(line, `<X-PRE-PROCESS cmd="set" data="${name}=${value}"/>`);
}

/** The FreeSWITCH suite's base configuration with the shipped files laid over it (docs/freeswitch.md steps 3 and 4). */
function configureFreeswitch(home, { edgeUrl, switchId, credential }) {
  const conf = join(home, "conf");
  cpSync(FS_BASE, conf, { recursive: true });
  for (const dir of ["sip_profiles", "directory", "scripts"]) mkdirSync(join(conf, dir), { recursive: true });
  for (const dir of ["log", "db", "run", "tmp", "certs", "storage", "cache", "recordings"]) mkdirSync(join(home, dir), { recursive: true });
  writeFileSync(join(conf, "vars-switch.xml"), [
    "<include>",
    `  <X-PRE-PROCESS cmd="set" data="local_ip_v4=${IP.freeswitch}"/>`,
    `  <X-PRE-PROCESS cmd="set" data="rtp_start_port=42000"/>`,
    `  <X-PRE-PROCESS cmd="set" data="rtp_end_port=43999"/>`,
    `  <X-PRE-PROCESS cmd="set" data="heartbeat_seconds=20"/>`,
    "</include>",
    "",
  ].join("\n"));
  // The bench's own core settings: the suite's session limits (200, 50/s) would cap the call
  // search, and its debug log would cost more than the calls.
  writeFileSync(join(conf, "autoload_configs", "switch.conf.xml"), [
    '<configuration name="switch.conf" description="Core Configuration">',
    "  <settings>",
    '    <param name="colorize-console" value="false"/>',
    '    <param name="max-sessions" value="5000"/>',
    '    <param name="sessions-per-second" value="1000"/>',
    '    <param name="loglevel" value="warning"/>',
    '    <param name="dump-cores" value="no"/>',
    '    <param name="rtp-start-port" value="$${rtp_start_port}"/>',
    '    <param name="rtp-end-port" value="$${rtp_end_port}"/>',
    '    <param name="event-heartbeat-interval" value="$${heartbeat_seconds}"/>',
    "  </settings>",
    "</configuration>",
    "",
  ].join("\n"));
  const logfile = join(conf, "autoload_configs", "logfile.conf.xml");
  writeFileSync(logfile, readFileSync(logfile, "utf8").replace(/<map name="all" value="[^"]*"\/>/, '<map name="all" value="warning,err,crit,alert"/>'));
  copyFileSync(join(SHIPPED_FS, "vars-edge.xml"), join(conf, "vars-edge.xml"));
  // Every shipped autoload file (sofia.conf.xml, when shipped, replaces the base's).
  for (const file of readdirSync(join(SHIPPED_FS, "autoload_configs"))) copyFileSync(join(SHIPPED_FS, "autoload_configs", file), join(conf, "autoload_configs", file));
  copyFileSync(join(SHIPPED_FS, "sip_profiles", "internal-edge.xml"), join(conf, "sip_profiles", "internal-edge.xml"));
  copyFileSync(join(SHIPPED_FS, "directory", "default.xml"), join(conf, "directory", "default.xml"));
  copyFileSync(join(SHIPPED_FS, "scripts", "whistle_edge_events.lua"), join(conf, "scripts", "whistle_edge_events.lua"));
  // The route file for calls answered with the INVITE's directory answer (absent from older files).
  if (existsSync(join(SHIPPED_FS, "whistle_edge_route.xml"))) copyFileSync(join(SHIPPED_FS, "whistle_edge_route.xml"), join(conf, "whistle_edge_route.xml"));
  let vars = readFileSync(join(conf, "vars-edge.xml"), "utf8");
  vars = setVariable(vars, "edge_url", edgeUrl);
  vars = setVariable(vars, "edge_switch_id", switchId);
  vars = setVariable(vars, "edge_switch_credential", credential);
  writeFileSync(join(conf, "vars-edge.xml"), vars);
  return conf;
}

async function startFreeswitch(name, edgeUrl, sw) {
  const home = join(work, `freeswitch-${name}`);
  const conf = configureFreeswitch(home, { edgeUrl, switchId: sw.id, credential: sw.credential });
  if (!(await udpFree(IP.freeswitch, SIP_PORT))) throw new Error(`udp ${IP.freeswitch}:${SIP_PORT} is taken`);
  const binary = join(FS_HOME, "bin", "freeswitch");
  const args = ["-nonat", "-ncwait", "-conf", conf, "-log", join(home, "log"), "-db", join(home, "db"), "-run", join(home, "run"),
    "-temp", join(home, "tmp"), "-certs", join(home, "certs"), "-scripts", join(conf, "scripts"), "-storage", join(home, "storage"),
    "-cache", join(home, "cache"), "-recordings", join(home, "recordings")];
  run(binary, args, { timeout: 60_000 });
  const pidFile = join(home, "run", "freeswitch.pid");
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  await waitFor("FreeSWITCH answers OPTIONS", () => optionsProbe(IP.freeswitch, SIP_PORT), 30_000);
  return {
    key: "freeswitch",
    ip: IP.freeswitch,
    pid,
    stop: async () => {
      spawnSync(binary, ["-stop", "-run", join(home, "run")], { timeout: 30_000 });
      const end = Date.now() + 30_000;
      for (;;) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        if (Date.now() > end) {
          process.kill(pid, "SIGKILL");
          break;
        }
        await sleep(200);
      }
      const free = Date.now() + 10_000;
      while (!(await udpFree(IP.freeswitch, SIP_PORT)) && Date.now() < free) await sleep(200);
    },
  };
}

// ── Kamailio ────────────────────────────────────────────────────────────────

async function startKamailio(name, proxyHostport, sw) {
  const runDir = join(work, `kamailio-${name}`);
  mkdirSync(runDir, { recursive: true });
  if (!(await udpFree(IP.kamailio, SIP_PORT))) throw new Error(`udp ${IP.kamailio}:${SIP_PORT} is taken`);
  const args = ["-f", KAMAILIO_CFG, "-P", join(runDir, "kamailio.pid"), "-Y", runDir, "-w", runDir, "-DD", "-E", "-m", "256", "--debug=1",
    "-A", `LISTEN=udp:${IP.kamailio}:${SIP_PORT}`, `--substdef=!EDGE_HOSTPORT!${proxyHostport}!g`, `--substdef=!EDGE_SWITCH_ID!${sw.id}!g`,
    `--substdef=!EDGE_SWITCH_CREDENTIAL!${sw.credential}!g`, "-A", `PEER_SWITCHES="127.0.0.34/32"`];
  const proc = spawnLogged(`kamailio-${name}`, "kamailio", args);
  await waitFor("Kamailio answers OPTIONS", () => optionsProbe(IP.kamailio, SIP_PORT), 30_000, proc);
  return {
    key: "kamailio",
    ip: IP.kamailio,
    stop: async () => {
      await stopProc(proc);
      const end = Date.now() + 10_000;
      while (!(await udpFree(IP.kamailio, SIP_PORT)) && Date.now() < end) await sleep(100);
    },
  };
}

// ── report ──────────────────────────────────────────────────────────────────

function markdown(report) {
  const lines = [];
  lines.push(`# Distance benchmark ${report.date}${LABEL ? ` (${LABEL})` : ""}`, "");
  lines.push(`\`${report.command}\` on ${report.machine.cpus} × ${report.machine.cpuModel} (shared with other work; load average ${report.machine.loadAverageAtStart.join(" ")} at the start, ${report.loadAverageAtEnd.join(" ")} at the end). ${report.versions.freeswitch}; ${report.versions.kamailio}; ${report.versions.sipp}. Search steps ${report.settings.searchSeconds} s, recorded points held ${report.settings.holdSeconds} s.`, "");
  lines.push("| switch | added RTT | REGISTER/s held | success | p50 / p99 ms | load 1-min | calls/s held | success | p50 / p99 ms | load 1-min | call setup p50 ms (1/s) | added setup ms |");
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const sw of report.results) {
    const zero = sw.distances.find((d) => d.roundTripMs === 0);
    for (const d of sw.distances) {
      const r = d.registrations?.hold;
      const c = d.calls?.hold;
      const cell = (h, s) => (h ? `${h.held ? "" : "not held: "}${fmt(h.offered)}${s.topOfSearch && h.held ? " (top of search)" : ""}` : "—");
      const pct = (h) => (h ? `${(h.successRatio * 100).toFixed(2)} %` : "—");
      const lat = (h) => (h ? `${fmt(h.latencyMs.p50)} / ${fmt(h.latencyMs.p99)}` : "—");
      const load = (h) => (h ? `${h.loadBefore[0]} → ${h.loadAfter[0]}` : "—");
      lines.push(`| ${sw.name} | ${d.roundTripMs} ms | ${cell(r, d.registrations)} | ${pct(r)} | ${lat(r)} | ${load(r)} | ${cell(c, d.calls)} | ${pct(c)} | ${lat(c)} | ${load(c)} | ${fmt(d.setup.p50)} | ${zero && d !== zero ? fmt(d.setup.p50 - zero.setup.p50) : "—"} |`);
    }
  }
  lines.push("", "Ratios against the same switch at 0 ms:", "");
  for (const sw of report.results) {
    const zero = sw.distances.find((d) => d.roundTripMs === 0);
    if (!zero) continue;
    for (const d of sw.distances.filter((x) => x !== zero)) {
      const ratio = (a, b) => (b ? `${((a / b) * 100).toFixed(0)} %` : "—");
      lines.push(`- ${sw.name}, +${d.roundTripMs} ms: REGISTER ${ratio(d.registrations?.sustained, zero.registrations?.sustained)}, calls ${ratio(d.calls?.sustained, zero.calls?.sustained)}, call setup +${fmt(d.setup.p50 - zero.setup.p50)} ms (${(d.roundTripMs ? (d.setup.p50 - zero.setup.p50) / d.roundTripMs : 0).toFixed(1)} round trips)`);
    }
  }
  return lines.join("\n") + "\n";
}

// ── main ────────────────────────────────────────────────────────────────────

async function main() {
  log(`bench:distance — ${SWITCHES.join(", ")}; added round trips ${DELAYS.join(", ")} ms; search ${SEARCH_S} s, hold ${HOLD_S} s; ${DEVICES} devices`);
  const first = (cmd, args) => (spawnSync(cmd, args, { encoding: "utf8" }).stdout ?? "").split("\n").find((l) => l.trim())?.trim() ?? "";
  const versions = { freeswitch: first(join(FS_HOME, "bin", "freeswitch"), ["-version"]), kamailio: first("kamailio", ["-v"]), sipp: first("sipp", ["-v"]) };
  const cpus = os.cpus();
  const machine = { cpus: cpus.length, cpuModel: cpus[0]?.model ?? "unknown", memoryGiB: Math.round(os.totalmem() / 2 ** 30), loadAverageAtStart: loadavg() };
  log(`  ${machine.cpus} × ${machine.cpuModel}; load ${machine.loadAverageAtStart.join(" ")}; ${versions.freeswitch}; ${versions.kamailio}; ${versions.sipp}`);
  const edge = await startEdge();
  const results = [];
  for (const key of SWITCHES) {
    const entry = { key, name: key === "freeswitch" ? "FreeSWITCH" : "Kamailio", config: key === "freeswitch" ? SHIPPED_FS : KAMAILIO_CFG, distances: [] };
    results.push(entry);
    for (const roundTripMs of DELAYS) {
      log(`\n── ${entry.name}, +${roundTripMs} ms round trip ──  [${elapsed()}]`);
      const proxy = await startProxy(key, edge.hostport, roundTripMs);
      const relay = key === "freeswitch" && RELAY ? await startRelay(proxy.hostport) : null;
      if (relay) cleanups.push(relay.stop);
      const sw = key === "freeswitch" ? await startFreeswitch(`${roundTripMs}ms`, relay ? relay.url : proxy.url, edge.switches.freeswitch) : await startKamailio(`${roundTripMs}ms`, proxy.hostport, edge.switches.kamailio);
      cleanups.push(sw.stop, proxy.stop);
      try {
        entry.distances.push(await measureSwitch(sw, roundTripMs));
      } finally {
        cleanups.splice(cleanups.indexOf(sw.stop), 2);
        await sw.stop();
        await proxy.stop();
        if (relay) {
          cleanups.splice(cleanups.indexOf(relay.stop), 1);
          await relay.stop();
        }
      }
      // Written after every distance, so a run stopped early keeps what it measured.
      writeReport(results, versions, machine);
    }
  }
  writeReport(results, versions, machine, true);
}

function writeReport(results, versions, machine, final = false) {
  const date = new Date(startedAt).toISOString();
  const report = {
    name: "distance",
    date,
    command: `npm run bench:distance -- ${argv.join(" ")}`.trim(),
    settings: { setupOnly: SETUP_ONLY, relay: RELAY, delaysMs: DELAYS, searchSeconds: SEARCH_S, holdSeconds: HOLD_S, regStart: REG_START, callStart: CALL_START, maxRate: MAX_RATE, devices: DEVICES, successMin: SUCCESS_MIN, flatRule: "median of the last third ≤ max(1.5 ×, + 50 ms) the median of the first third", addresses: IP },
    machine,
    versions,
    measured: "registration = REGISTER, 401, REGISTER with digest, 200 (new Call-ID each); call = INVITE, 407, ACK, INVITE with digest, 180, 200, ACK, BYE, 200 to one registered SIPp UAS on the same switch; latency = first request sent to the final 200 (SIPp rtd); the delay proxy holds each byte for half the round trip each way and a new connection's first bytes for one more round trip",
    results,
    complete: final,
    loadAverageAtEnd: loadavg(),
    durationSeconds: Math.round((performance.now() - t0) / 1000),
  };
  const md = markdown(report);
  if (final) log(`\n${md}`);
  if (WRITE) {
    const dir = join(root, "bench", "results");
    mkdirSync(dir, { recursive: true });
    const base = join(dir, `${date.slice(0, 10)}-distance${LABEL ? `-${LABEL}` : ""}`);
    writeFileSync(`${base}.json`, JSON.stringify(report, null, 2) + "\n");
    writeFileSync(`${base}.md`, md);
    log(`  wrote ${base.slice(root.length + 1)}.{json,md}  (${elapsed()})`);
  }
}

try {
  await main();
  await cleanup();
  process.exit(0);
} catch (error) {
  console.error(`\nbench:distance failed: ${error.stack ?? error}`);
  log(`  logs: ${work}`);
  cleaning ??= (async () => {
    while (cleanups.length) await cleanups.pop()().catch(() => {});
    await Promise.all([...started].map((p) => stopProc(p)));
  })();
  await cleaning;
  process.exit(1);
}
