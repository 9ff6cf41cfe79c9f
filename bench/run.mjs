#!/usr/bin/env node
// `npm run bench`: throughput and latency of the edge's switch callbacks beside the runtime's own
// ceilings, cost counts per operation, and the 100k-device scale check. See docs/benchmarks.md.
//
// Options: --duration S (8), --warmup S (2), --rounds N (2: every scenario runs N times, the rounds
// interleaved, and the best round counts — this machine is shared, see docs/benchmarks.md), --concurrency N (16), --scale N (100000 devices and
// bindings in the big account; 0 skips the scale stage), --no-sweep (skip the alarm-sweep stage),
// --quick (3 s runs, 10,000-device scale account: a smoke test of the whole script),
// --profile (instead of the timed runs: a V8 CPU profile of the edge isolate per scenario, through
// the inspector, with self time grouped by source package; see docs/benchmarks.md),
// --only c,d,g (these scenarios beside the ceilings; no report written: for working on one path),
// --state-dir DIR (where workerd keeps the objects' SQLite files; default: a fresh directory under
// the system temp dir, on disk — see docs/benchmarks.md for what a tmpfs changes).
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Connection, encodeRequest, requestOnce, runLoad } from "./lib/load.mjs";
import { writeReport } from "./lib/report.mjs";
import { buildBundle, bundleModules, freshVars, startServer } from "./lib/server.mjs";
import { digestAuthorization, edgeNonce, fixtures, registerEventBody, sipAuthBody, withField } from "./lib/sip.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(argv[i + 1]);
};
const quick = flag("quick");
const DURATION = option("duration", quick ? 3 : 8);
const ROUNDS = option("rounds", quick ? 1 : 2);
const WARMUP = option("warmup", quick ? 1 : 2);
const CONCURRENCY = option("concurrency", 16);
const SCALE = option("scale", quick ? 10_000 : 100_000);
const SCALE_DURATION = option("scale-duration", quick ? 2 : 6);
const SWEEP = !flag("no-sweep") && SCALE > 0;
const PROFILE = flag("profile");
const ONLY = (() => {
  const i = argv.indexOf("--only");
  return i === -1 ? null : new Set(argv[i + 1].split(","));
})();
const STATE_DIR = (() => {
  const i = argv.indexOf("--state-dir");
  return i === -1 ? null : argv[i + 1];
})();
const REALM = "127.0.0.4"; // the realm of the FreeSWITCH captures
const SMALL = 1_000;

const work = mkdtempSync(join(os.tmpdir(), "whistle-bench-"));
const outdir = join(work, "dist");
const persistDir = STATE_DIR ? mkdtempSync(join(STATE_DIR, "whistle-bench-state-")) : join(work, "state");
let server = null;
let exiting = false;
async function cleanup() {
  clearInterval(keepAliveTimer);
  if (server) {
    const s = server;
    server = null;
    await s.stop().catch(() => {});
  }
  rmSync(work, { recursive: true, force: true });
  if (STATE_DIR) rmSync(persistDir, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    if (exiting) return;
    exiting = true;
    console.log(`\n${signal}: stopping the bench server`);
    await cleanup();
    process.exit(130);
  });
}

const log = (line) => console.log(line);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const host = () => `127.0.0.1:${server.port}`;

async function api(operatorKey, method, path, body) {
  const response = await requestOnce(server.port, {
    method,
    path: `/api/v1${path}`,
    headers: { authorization: `Bearer ${operatorKey}`, ...(body && { "content-type": "application/json" }) },
    body: body ? JSON.stringify(body) : null,
  });
  const json = response.text ? JSON.parse(response.text) : null;
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${response.text.slice(0, 300)}`);
  return json;
}

async function inBatches(items, parallel, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** Resident memory of the workerd process(es) this script started (through Miniflare), in MiB. */
function workerdRssMiB() {
  const r = spawnSync("ps", ["-o", "rss=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" });
  const kib = (r.stdout ?? "").split("\n").filter((l) => /workerd/.test(l)).reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0);
  return Math.round(kib / 1024);
}

function machine() {
  const cpus = os.cpus();
  return { cpus: cpus.length, cpuModel: cpus[0]?.model ?? "unknown", memoryGiB: Math.round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()}`, node: process.version };
}

// ── requests ────────────────────────────────────────────────────────────────

const fx = fixtures(root);
const xmlHeaders = (sw) => ({ "content-type": "application/x-www-form-urlencoded", "user-agent": "freeswitch-xml/1.0", authorization: sw.basic });
const kamHeaders = (sw) => ({ "content-type": "application/json", authorization: sw.basic });

/** The directory sip_auth of a device's REGISTER through `sw`, from `ip`: the edge must answer with the device. */
async function verifyRegister(sw, username, realm, password, ip, callId) {
  // The edge's proof vouches for the event of the same REGISTER only: the same Call-ID.
  const body = withField(sipAuthBody(fx.sipAuthRegister, { username, realm, password, callId }), "ip", ip);
  const r = await requestOnce(server.port, { method: "POST", path: "/freeswitch/v1/xml", headers: xmlHeaders(sw), body });
  if (r.status !== 200 || !r.text.includes(`id="${username}"`)) throw new Error(`sip_auth of ${username}: ${r.status} ${r.text.slice(0, 200)}`);
}

/**
 * A pool of `size` pre-encoded requests per worker, each with its own fresh edge nonce, issued for
 * the source and Call-ID `bindingOf(w)` names (the worker's requests come from there).
 */
function noncePool(vars, realm, size, bindingOf, build) {
  return Array.from({ length: CONCURRENCY }, (_, w) =>
    Array.from({ length: size }, (_, i) => build(w, i, edgeNonce(vars.SWITCH_SIGNING_KEY, realm, bindingOf(w)))));
}

function scenarios(ctx) {
  const { vars, A, realm, devices } = ctx;
  const h = host();
  const enc = (req) => encodeRequest(h, req);
  const poolSize = Math.ceil(((WARMUP + DURATION) * 6000) / CONCURRENCY); // enough for 6,000 req/s
  const list = [];

  list.push({ id: "a", name: "no-op route (Worker ceiling)", key: "noop", account: null, objectRequests: 0,
    next: (() => { const b = enc({ path: "/bench/noop" }); return () => b; })(),
    check: (s, t) => s === 200 && t === "ok" });

  list.push({ id: "b", name: "Worker → object no-op (object ceiling)", key: "object", account: "bench.noop.invalid", objectRequests: 1,
    next: (() => { const b = enc({ path: "/bench/object" }); return () => b; })(),
    check: (s, t) => s === 200 && t === "1" });

  const refreshBodies = devices.refresh.map((u) => enc({ method: "POST", path: "/freeswitch/v1/xml", headers: xmlHeaders(A),
    body: sipAuthBody(fx.sipAuthRegister, { username: u, realm, password: ctx.password(u), callId: `ref-${u}@127.0.0.1` }) }));
  list.push({ id: "c", name: "FreeSWITCH REGISTER sip_auth (refresh)", key: "refresh", account: realm, objectRequests: 1,
    next: (w) => refreshBodies[w],
    check: (s, t) => s === 200 && t.includes('name="a1-hash"') && t.includes('<variable name="edge_binding" value="refreshed"/>') });

  const inviteBodies = devices.invite.map((u) => enc({ method: "POST", path: "/freeswitch/v1/xml", headers: xmlHeaders(A),
    body: sipAuthBody(fx.sipAuthRegister, { username: u, realm, password: ctx.password(u), method: "INVITE" }) }));
  list.push({ id: "d", name: "FreeSWITCH INVITE sip_auth", key: "invite", account: realm, objectRequests: 1,
    next: (w) => inviteBodies[w],
    check: (s, t) => s === 200 && t.includes('name="a1-hash"') && !t.includes("edge_binding") });

  const dialplan = enc({ method: "POST", path: "/freeswitch/v1/xml", headers: xmlHeaders(A), body: fx.dialplanInvite });
  list.push({ id: "e", name: "dialplan, callee on another switch", key: "dialplan", account: realm, objectRequests: 1,
    next: () => dialplan,
    check: (s, t) => s === 200 && t.includes(`{sip_h_X-Edge-Realm=${realm}}sofia/internal/sip:9196@127.0.0.5:5060`) });

  let eventTs = Date.now() * 1000;
  list.push({ id: "f", name: "sofia::register event", key: "event", account: realm, objectRequests: 1,
    // Each worker's device had its REGISTER verified through A just before (un-timed), as FreeSWITCH
    // does before every event: the edge believes a report for REGISTER_PROOF_WINDOW_MS (30 s).
    async prepare() {
      for (const u of devices.event) await verifyRegister(A, u, realm, ctx.password(u), "127.0.0.1", `ev-${u}@127.0.0.1`);
    },
    next: (w, i) => enc({ method: "POST", path: "/freeswitch/v1/events", headers: { "content-type": "application/x-www-form-urlencoded", "x-edge-token": A.credential },
      body: registerEventBody(fx.registerEvent, { username: devices.event[w], realm, callId: `ev-${devices.event[w]}@127.0.0.1`, contactPort: 6000 + w, expires: 3600, timestampUs: (eventTs += 1000) }) }),
    check: (s, t) => s === 200 && t === '{"outcome":"registered"}' });

  let authorizePool = null;
  list.push({ id: "g", name: "Kamailio authorize (digest, fresh nonce)", key: "authorize", account: realm, objectRequests: 1,
    prepare() {
      authorizePool = noncePool(vars, realm, poolSize, (w) => ({ source: `127.0.0.1:${7000 + w}`, callId: `kam-${devices.kamailio[w]}@127.0.0.1` }), (w, i, nonce) =>
        digestAuthorization({ username: devices.kamailio[w], realm, password: ctx.password(devices.kamailio[w]), method: "REGISTER", uri: `sip:${realm}`, nonce }));
    },
    next: (w, i) => {
      const u = devices.kamailio[w];
      return enc({ method: "POST", path: "/kamailio/v1/authorize", headers: kamHeaders(A), body: JSON.stringify({
        method: "REGISTER", requestUri: `sip:${realm}`, to: `sip:${u}@${realm}`, from: `sip:${u}@${realm}`,
        authorization: authorizePool[w][i % authorizePool[w].length],
        source: `127.0.0.1:${7000 + w}`, contact: `<sip:${u}@127.0.0.1:${7000 + w};transport=udp>;expires=300`, expires: "",
        callId: `kam-${u}@127.0.0.1`, cseq: String(ctx.nextCseq()), path: "", supported: "", userAgent: "bench" }) });
    },
    check: (s, t) => s === 200 && /^\{"status":200,"reason":"OK","headers":"Contact: <sip:/.test(t) });

  let locatePool = null;
  list.push({ id: "h", name: "Kamailio locate (caller digest)", key: "locate", account: realm, objectRequests: 1,
    prepare() {
      locatePool = noncePool(vars, realm, poolSize, (w) => ({ source: `127.0.0.1:${8000 + w}`, callId: `call-${w}@127.0.0.1` }), (w, i, nonce) => enc({ method: "POST", path: "/kamailio/v1/locate", headers: kamHeaders(A), body: JSON.stringify({
        method: "INVITE", requestUri: `sip:9196@${realm}`, from: `sip:1000@${realm}`, callId: `call-${w}@127.0.0.1`,
        authorization: digestAuthorization({ username: "1000", realm, password: "s3cret-1000", method: "INVITE", uri: `sip:9196@${realm}`, nonce }),
        source: `127.0.0.1:${8000 + w}`, trusted: "false" }) }));
    },
    next: (w, i) => locatePool[w][i % locatePool[w].length],
    check: (s, t) => s === 200 && t.includes(`"targets":[{"uri":"sip:9196@${realm}","destination":"sip:127.0.0.5:5060"}]`) });
  return list;
}

// ── fleet liveness ──────────────────────────────────────────────────────────

/**
 * A switch that stays silent longer than SWITCH_LOST_AFTER_MS (60 s) is "lost" and its bindings are
 * no longer offered to calls. Switch B holds the callee of the dialplan and locate scenarios but
 * sends nothing during the timed runs, so it posts the Kamailio keepalive every 5 s, as a real
 * proxy's timer does (about 0.2 req/s: nothing beside the load).
 */
let keepAliveTimer = null;
function keepAlive(sw) {
  clearInterval(keepAliveTimer);
  const beat = () =>
    requestOnce(server.port, { method: "POST", path: "/kamailio/v1/keepalive", headers: { "content-type": "application/json", authorization: sw.basic }, body: "{}" }).catch(() => {});
  beat();
  keepAliveTimer = setInterval(() => server && beat(), 5_000);
  keepAliveTimer.unref();
}

// ── seeding ─────────────────────────────────────────────────────────────────

async function seedMain(vars) {
  const op = vars.OPERATOR_API_KEY;
  const started = performance.now();
  const account = await api(op, "POST", "/accounts", { realm: REALM, name: "bench" });
  const mkSwitch = async (name, address) => {
    const r = await api(op, "POST", "/switches", { name, address });
    return { id: r.switch.id, credential: r.credential, basic: `Basic ${Buffer.from(`${r.switch.id}:${r.credential}`).toString("base64")}` };
  };
  const A = await mkSwitch("bench-a", "sip:127.0.0.4:5060");
  const B = await mkSwitch("bench-b", "sip:127.0.0.5:5060");
  const range = (from, n) => Array.from({ length: n }, (_, i) => String(from + i));
  const devices = { refresh: range(1100, CONCURRENCY), invite: range(1200, CONCURRENCY), event: range(1300, CONCURRENCY), kamailio: range(1400, CONCURRENCY) };
  const password = (u) => (u === "1000" ? "s3cret-1000" : `bench-pw-${u}`);
  const named = ["1000", "9196", ...devices.refresh, ...devices.invite, ...devices.event, ...devices.kamailio];
  const filler = range(5000, SMALL - named.length);
  let done = 0;
  const ids = new Map();
  await inBatches([...named, ...filler], 8, async (u) => {
    const extra = u === "1000" ? { callerIdName: "Ext 1000", callerIdNumber: "1000" } : {};
    const created = await api(op, "POST", `/accounts/${account.id}/devices`, { username: u, password: password(u), ...extra });
    ids.set(u, created.id);
    if (++done % 100 === 0) process.stdout.write(`\r  seeding ${REALM}: ${done}/${SMALL} devices through the API`);
  });
  process.stdout.write("\r" + " ".repeat(70) + "\r");
  await api(op, "POST", `/accounts/${account.id}/numbers`, { number: "+14155550196", deviceId: ids.get("9196") });

  const post = async (sw, body) => {
    // As on FreeSWITCH, the switch has the edge verify the REGISTER's digest before it reports the
    // registration; the edge refuses a report no verified REGISTER vouches for (docs/security.md).
    const event = JSON.parse(decodeURIComponent(body.slice("event=".length)));
    await verifyRegister(sw, event["from-user"], REALM, password(event["from-user"]), event["network-ip"], event["call-id"]);
    const r = await requestOnce(server.port, { method: "POST", path: "/freeswitch/v1/events", headers: { "content-type": "application/x-www-form-urlencoded", "x-edge-token": sw.credential }, body });
    if (r.status !== 200) throw new Error(`register event: ${r.status} ${r.text}`);
  };
  const ts = Date.now() * 1000 - 60_000_000; // older than anything the timed event scenario sends
  // The binding the captured REGISTER refreshes (its Call-ID and contact), and one per refresh worker.
  await post(A, registerEventBody(fx.registerEvent, { username: "1000", realm: REALM, callId: "1-10723@127.0.0.1", contactPort: 5070, expires: 3600, timestampUs: ts }));
  for (const u of devices.refresh) {
    await post(A, registerEventBody(fx.registerEvent, { username: u, realm: REALM, callId: `ref-${u}@127.0.0.1`, contactPort: 5070, expires: 3600, timestampUs: ts }));
  }
  // The callee of the dialplan and locate scenarios, held by switch B.
  await post(B, registerEventBody(fx.registerEvent, { username: "9196", realm: REALM, callId: "callee-9196@192.0.2.51", contactHost: "192.0.2.51", contactPort: 5060, expires: 3600, timestampUs: ts }));
  keepAlive(B);
  return { account, A, B, devices, password, seconds: (performance.now() - started) / 1000 };
}

/** An account of `n` devices d0…d(n-1) (password pw-d<k>) with one live binding each, held by switch B, through the object's RPCs. */
async function seedScaleAccount(op, realm, n, B, expires = 3600, cseq = 1, { devicesToo = true } = {}) {
  const started = performance.now();
  if (devicesToo) await api(op, "POST", "/accounts", { realm, name: `scale ${n}` });
  const batch = 500;
  const starts = Array.from({ length: Math.ceil(n / batch) }, (_, i) => i * batch);
  let devicesDone = 0;
  let bindingsDone = 0;
  const show = (what) => process.stdout.write(`\r  seeding ${realm}: ${what}   `);
  if (devicesToo) {
    await inBatches(starts, 3, async (from) => {
      const r = await server.helper(`/seed/devices?realm=${realm}&prefix=d&from=${from}&count=${Math.min(batch, n - from)}`);
      if (r.failed) throw new Error(`seeding devices: ${JSON.stringify(r.first)}`);
      devicesDone += r.created;
      show(`${devicesDone}/${n} devices`);
    });
  }
  const devicesSeconds = (performance.now() - started) / 1000;
  await inBatches(starts, 3, async (from) => {
    const r = await server.helper(`/seed/bindings?realm=${realm}&prefix=d&from=${from}&count=${Math.min(batch, n - from)}&expires=${expires}&cseq=${cseq}&switchId=${B.id}`);
    if (r.failed) throw new Error(`seeding bindings: ${JSON.stringify(r.first)}`);
    bindingsDone += r.registered;
    show(`${devicesToo ? `${n} devices, ` : ""}${bindingsDone}/${n} bindings`);
  });
  process.stdout.write("\r" + " ".repeat(90) + "\r");
  const seconds = (performance.now() - started) / 1000;
  return { realm, devices: n, bindings: n, seconds, devicesSeconds, bindingsSeconds: seconds - devicesSeconds };
}

// ── cost pass ───────────────────────────────────────────────────────────────

/** SQL work per operation from usage() deltas over `n` sequential un-timed requests. */
async function costOf(scenario, n = 200) {
  if (scenario.prepare) await scenario.prepare();
  const before = scenario.account ? await server.helper(`/usage?realm=${encodeURIComponent(scenario.account)}`) : null;
  let bad = 0;
  const conn = new Connection(server.port, "127.0.0.1");
  try {
    for (let i = 0; i < n; i++) {
      const r = await conn.send(scenario.next(0, i));
      if (!scenario.check(r.status, r.body.toString("utf8"), 0)) bad += 1;
    }
  } finally {
    conn.close();
  }
  const after = scenario.account ? await server.helper(`/usage?realm=${encodeURIComponent(scenario.account)}`) : null;
  const per = (k) => (before ? (after[k] - before[k]) / n : 0);
  return { samples: n, wrongAnswers: bad, workerRequests: 1, objectRequests: scenario.objectRequests, rowsRead: per("rowsRead"), rowsWritten: per("rowsWritten"), alarmsSet: per("alarmsSet") };
}

// ── main ────────────────────────────────────────────────────────────────────

async function main() {
  const startedAt = new Date();
  const date = startedAt.toISOString().slice(0, 10);
  const deadline = performance.now() + 40 * 60 * 1000; // hard stop for the optional stages
  const loadAtStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
  log(`Whistle Edge bench — ${date}, ${os.cpus().length} cores, concurrency ${CONCURRENCY}, ${WARMUP} s warm-up + ${DURATION} s per scenario, best of ${ROUNDS} rounds`);
  const { modules, seconds: buildSeconds } = buildBundle(root, outdir);
  log(`  bundle built with wrangler deploy --dry-run in ${buildSeconds.toFixed(1)} s (${modules.length} modules)`);
  const vars = freshVars();
  mkdirSync(persistDir, { recursive: true });
  server = await startServer({ root, outdir, modules, vars, persistDir, inspector: PROFILE });
  await server.applyCatalogMigrations();
  log(`  serving on ${server.base} (Miniflare 5 → workerd, direct socket), catalog migrated`);

  const main = await seedMain(vars);
  log(`  seeded ${REALM}: ${SMALL} devices, switches A and B, 18 bindings, one number — through the API in ${main.seconds.toFixed(1)} s`);
  let cseq = 1;
  const ctx = { vars, A: main.A, realm: REALM, devices: main.devices, password: main.password, nextCseq: () => ++cseq };
  const list = scenarios(ctx).filter((s) => !ONLY || ONLY.has(s.id) || s.id === "a" || s.id === "b");

  if (PROFILE) return profileRun(list, date);

  // Timed runs: ROUNDS rounds over all scenarios; per scenario the round with the most req/s counts
  // (other processes on a shared machine only ever slow a round down).
  const rounds = new Map(list.map((s) => [s.id, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const s of list) {
      if (s.prepare) await s.prepare();
      const usageBefore = s.account ? await server.helper(`/usage?realm=${encodeURIComponent(s.account)}`) : null;
      const r = await runLoad({ port: server.port, concurrency: CONCURRENCY, warmupSeconds: WARMUP, durationSeconds: DURATION, next: s.next, check: s.check, label: `round ${round} (${s.id}) ${s.key}` });
      const usageAfter = s.account ? await server.helper(`/usage?realm=${encodeURIComponent(s.account)}`) : null;
      // Writes per SQLite commit under this load (group commit); null for scenarios that write nothing.
      const commits = usageBefore ? usageAfter.groupCommits - usageBefore.groupCommits : 0;
      r.writesPerCommit = commits > 0 ? (usageAfter.groupedWrites - usageBefore.groupedWrites) / commits : null;
      rounds.get(s.id).push({ round, loadAverage: os.loadavg()[0], ...r });
      log(`  round ${round} (${s.id}) ${s.name.padEnd(42)} ${Math.round(r.rps).toString().padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}${r.writesPerCommit ? `  ${r.writesPerCommit.toFixed(1)} writes/commit` : ""}${r.firstError ? `  first: ${r.firstError.slice(0, 120)}` : ""}`);
    }
  }
  const results = list.map((s) => {
    const all = rounds.get(s.id);
    const best = all.reduce((a, b) => (b.rps > a.rps ? b : a));
    return { id: s.id, key: s.key, name: s.name, ...best, errors: all.reduce((n, r) => n + r.errors, 0), rounds: all };
  });
  if (ONLY) {
    const ceiling = results.find((r) => r.id === "b");
    for (const r of results) log(`  (${r.id}) ${Math.round(r.rps)} req/s = ${Math.round((100 * r.rps) / ceiling.rps)}% of (b); p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms = ${(r.p99 / ceiling.p99).toFixed(2)}× (b)${r.writesPerCommit ? `; ${r.writesPerCommit.toFixed(1)} writes/commit` : ""}`);
    return;
  }
  // The ceiling again at the end, to show the run's drift.
  const again = await runLoad({ port: server.port, concurrency: CONCURRENCY, warmupSeconds: WARMUP, durationSeconds: DURATION, next: list[1].next, check: list[1].check, label: "(b) object, again" });
  log(`  (b) again at the end: ${Math.round(again.rps)} req/s  p99 ${again.p99.toFixed(2)} ms`);

  // Cost pass (un-timed, sequential).
  for (const s of list) {
    const cost = await costOf(s);
    Object.assign(results.find((r) => r.id === s.id), { cost });
  }
  // Cost only: the first callback of the naive two-callback flow, a REGISTER sip_auth with no
  // binding to refresh (the switch then posts the register event, scenario (f)).
  const naiveBodies = main.devices.invite.map((u) => encodeRequest(host(), { method: "POST", path: "/freeswitch/v1/xml", headers: xmlHeaders(main.A),
    body: sipAuthBody(fx.sipAuthRegister, { username: u, realm: REALM, password: main.password(u), callId: `no-binding-${u}@127.0.0.1` }) }));
  const naiveFirst = { id: "c0", key: "register-no-binding", name: "REGISTER sip_auth, no binding to refresh", account: REALM, objectRequests: 1,
    next: (w, i) => naiveBodies[i % naiveBodies.length],
    check: (s, t) => s === 200 && t.includes('name="a1-hash"') && !t.includes("edge_binding") };
  const costOnly = [{ id: naiveFirst.id, key: naiveFirst.key, name: naiveFirst.name, cost: await costOf(naiveFirst) }];
  log("  cost pass done (usage() deltas over 200 sequential requests per scenario)");

  // Scale.
  let scale = null;
  if (SCALE > 0) {
    const op = vars.OPERATOR_API_KEY;
    const small = await seedScaleAccount(op, "k1.bench.test", SMALL, main.B);
    log(`  seeded k1.bench.test: ${SMALL} devices + ${SMALL} bindings through RPC batches in ${small.seconds.toFixed(1)} s`);
    const big = await seedScaleAccount(op, "big.bench.test", SCALE, main.B);
    log(`  seeded big.bench.test: ${SCALE} devices in ${big.devicesSeconds.toFixed(1)} s + ${SCALE} bindings in ${big.bindingsSeconds.toFixed(1)} s (${Math.round((2 * SCALE) / big.seconds)} createDevice/register RPCs per second)`);
    scale = { small, big, ops: [], workerdRssMiBAfterSeed: workerdRssMiB() };
    for (const op of scaleOps(ctx)) {
      const row = { key: op.key, name: op.name };
      for (const [label, realm] of [["small", "k1.bench.test"], ["big", "big.bench.test"]]) {
        const s = op.build(realm);
        if (s.prepare) await s.prepare();
        const r = await runLoad({ port: server.port, concurrency: CONCURRENCY, warmupSeconds: 1, durationSeconds: SCALE_DURATION, next: s.next, check: s.check, label: `${op.key} @ ${realm}` });
        const cost = await costOf({ ...s, account: realm, objectRequests: 1 }, 100);
        row[label] = { rps: r.rps, p50: r.p50, p99: r.p99, errors: r.errors, firstError: r.firstError, rowsRead: cost.rowsRead, rowsWritten: cost.rowsWritten };
      }
      row.p50Ratio = row.big.p50 / row.small.p50;
      scale.ops.push(row);
      log(`  scale ${op.key.padEnd(10)} p50 ${row.small.p50.toFixed(2)} ms @1k vs ${row.big.p50.toFixed(2)} ms @${SCALE / 1000}k  (×${row.p50Ratio.toFixed(2)})  rows read/op ${row.small.rowsRead} vs ${row.big.rowsRead}  errors ${row.small.errors}+${row.big.errors}`);
    }
    scale.workerdRssMiBAfterOps = workerdRssMiB();
    log(`  workerd resident memory: ${scale.workerdRssMiBAfterSeed} MiB after seeding, ${scale.workerdRssMiBAfterOps} MiB after the scale runs`);
    if (SWEEP && performance.now() < deadline) scale.sweep = await sweepStage(ctx, main.B, vars, big.bindingsSeconds);
  }

  const report = { date: startedAt.toISOString(), machine: { ...machine(), loadAverageAtStart: loadAtStart, loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100) }, server: "Miniflare 5.20261102.0-beta (workerd) serving the wrangler deploy --dry-run bundle; load on the edge Worker's direct socket", concurrency: CONCURRENCY, warmupSeconds: WARMUP, durationSeconds: DURATION, rounds: ROUNDS, scenarios: results, costOnly, objectCeilingAgain: again, scale };
  const files = writeReport(root, date, report);
  log(`\n  wrote ${files.join(", ")}`);
}

async function profileRun(list, date) {
  const { profileWhile } = await import("./lib/profile.mjs");
  const out = [];
  const seconds = option("profile-seconds", 5);
  for (const s of list) {
    if (s.prepare) await s.prepare();
    const summary = await profileWhile(server.inspectorUrl, join(outdir, "index.js.map"), () =>
      runLoad({ port: server.port, concurrency: CONCURRENCY, warmupSeconds: 0, durationSeconds: seconds, next: s.next, check: s.check, label: `profile (${s.id}) ${s.key}` }),
    );
    const busyMsPerRequest = (summary.totalMs * summary.busyShare) / summary.load.requests;
    out.push({ id: s.id, key: s.key, name: s.name, rps: summary.load.rps, errors: summary.load.errors, busyShare: summary.busyShare, busyMsPerRequest, groups: summary.groups, functions: summary.functions, runtimeCallers: summary.runtimeCallers });
    log(`\n  (${s.id}) ${s.name}: ${Math.round(summary.load.rps)} req/s under the profiler, isolate busy ${Math.round(summary.busyShare * 100)}%, ${busyMsPerRequest.toFixed(3)} ms of isolate time per request`);
    for (const g of summary.groups.slice(0, 12)) log(`      ${(g.share * 100).toFixed(1).padStart(5)}%  ${g.name}`);
    log("    runtime functions, by their JavaScript caller:");
    for (const g of summary.runtimeCallers.slice(0, 6)) log(`      ${(g.share * 100).toFixed(1).padStart(5)}%  ${g.name}`);
  }
  mkdirSync(join(root, "bench", "results"), { recursive: true });
  const file = join(root, "bench", "results", `${date}-profile.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine: machine(), concurrency: CONCURRENCY, seconds, scenarios: out }, null, 2) + "\n");
  log(`\n  wrote ${file.slice(root.length + 1)}`);
}

function scaleOps(ctx) {
  const { A } = ctx;
  const enc = (req) => encodeRequest(host(), req);
  const pw = (u) => `pw-${u}`;
  const contactHost = (k) => `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`;
  let cseq = 10;
  return [
    { key: "refresh", name: "REGISTER sip_auth refresh", build: (realm) => {
      const bodies = Array.from({ length: CONCURRENCY }, (_, w) => enc({ method: "POST", path: "/freeswitch/v1/xml", headers: xmlHeaders(A),
        body: withField(sipAuthBody(fx.sipAuthRegister, { username: `d${w}`, realm, password: pw(`d${w}`), callId: `seed-d${w}` }), "sip_contact_host", contactHost(w)) }));
      return { next: (w) => bodies[w], check: (s, t) => s === 200 && t.includes('<variable name="edge_binding" value="refreshed"/>') };
    } },
    { key: "invite", name: "INVITE sip_auth", build: (realm) => {
      const bodies = Array.from({ length: CONCURRENCY }, (_, w) => enc({ method: "POST", path: "/freeswitch/v1/xml", headers: xmlHeaders(A),
        body: sipAuthBody(fx.sipAuthRegister, { username: `d${100 + w}`, realm, password: pw(`d${100 + w}`), method: "INVITE" }) }));
      return { next: (w) => bodies[w], check: (s, t) => s === 200 && t.includes('name="a1-hash"') && !t.includes("edge_binding") };
    } },
    { key: "dialplan", name: "dialplan, callee on switch B", build: (realm) => {
      let body = fx.dialplanInvite;
      for (const f of ["variable_domain_name", "variable_sip_auth_realm", "variable_requested_domain_name", "variable_sip_from_host"]) body = withField(body, f, realm);
      body = withField(body, "Caller-Destination-Number", "d999");
      const bytes = enc({ method: "POST", path: "/freeswitch/v1/xml", headers: xmlHeaders(A), body });
      return { next: () => bytes, check: (s, t) => s === 200 && t.includes(`{sip_h_X-Edge-Realm=${realm}}sofia/internal/sip:d999@127.0.0.5:5060`) };
    } },
    { key: "authorize", name: "Kamailio authorize", build: (realm) => {
      let pool = null;
      const userOf = (w) => `d${200 + w}`;
      return {
        prepare() {
          pool = noncePool(ctx.vars, realm, Math.ceil(((1 + SCALE_DURATION) * 6000) / CONCURRENCY) + 100, (w) => ({ source: `${contactHost(200 + w)}:5060`, callId: `seed-${userOf(w)}` }), (w, i, nonce) =>
            digestAuthorization({ username: userOf(w), realm, password: pw(userOf(w)), method: "REGISTER", uri: `sip:${realm}`, nonce }));
        },
        next: (w, i) => {
          const k = 200 + w;
          const u = userOf(w);
          return enc({ method: "POST", path: "/kamailio/v1/authorize", headers: kamHeaders(A), body: JSON.stringify({
            method: "REGISTER", requestUri: `sip:${realm}`, to: `sip:${u}@${realm}`, from: `sip:${u}@${realm}`,
            authorization: pool[w][i % pool[w].length],
            source: `${contactHost(k)}:5060`, contact: `<sip:${u}@${contactHost(k)}:5060>`, expires: "3600",
            callId: `seed-${u}`, cseq: String(++cseq), path: "", supported: "", userAgent: "bench" }) });
        },
        check: (s, t) => s === 200 && /^\{"status":200,"reason":"OK","headers":"Contact: <sip:/.test(t),
      };
    } },
  ];
}

/**
 * The expiry sweep of SCALE bindings at once: re-register every binding of the big account with a
 * 60 s expiry, stop the server, wait until all have expired, start it again on the same state. The
 * object's alarm then finds SCALE expired bindings and sweeps them SWEEP_BATCH at a time while
 * INVITE sip_auth callbacks keep arriving; their latency during the sweep is compared with before.
 */
async function sweepStage(ctx, B, vars, seedSeconds) {
  const realm = "big.bench.test";
  const op = scaleOps(ctx).find((o) => o.key === "invite");
  const probe = () => {
    const s = op.build(realm);
    return (label, seconds, stopWhen, warmupSeconds = 0.5) => runLoad({ port: server.port, concurrency: 4, warmupSeconds, durationSeconds: seconds, next: s.next, check: s.check, label, progress: true, stopWhen });
  };
  const before = await probe()("sweep: latency before", 4);
  const t0 = performance.now();
  // Long enough that none expires (and is swept) before the server is stopped.
  const expires = Math.max(60, Math.ceil(seedSeconds * 1.3) + 20);
  const reseed = await seedScaleAccount(vars.OPERATOR_API_KEY, realm, SCALE, B, expires, 1_000_000_000, { devicesToo: false });
  const stored = (await server.helper(`/count?realm=${realm}`)).bindings;
  const expiresBy = Date.now() + expires * 1000 + 1_000;
  log(`  sweep: ${SCALE} bindings re-registered with a ${expires} s expiry in ${reseed.seconds.toFixed(1)} s (${stored} stored); stopping the server until all have expired`);
  await server.stop();
  server = null;
  const wait = expiresBy - Date.now();
  for (let left = wait; left > 0; left -= 1000) {
    process.stdout.write(`\r  sweep: waiting ${Math.ceil(left / 1000)} s for every binding to expire   `);
    await sleep(Math.min(1000, left));
  }
  process.stdout.write("\r" + " ".repeat(70) + "\r");
  const restartAt = performance.now();
  server = await startServer({ root, outdir, modules: bundleModules(outdir), vars, persistDir });
  keepAlive(B);
  // Poll the stored count while the probe runs; the object starts (and its alarm fires) on its own.
  const counts = [];
  let sweptAt = null;
  const atRestart = (await server.helper(`/count?realm=${realm}`)).bindings;
  const poller = (async () => {
    const until = performance.now() + 120_000;
    while (performance.now() < until) {
      const { bindings } = await server.helper(`/count?realm=${realm}`);
      counts.push({ t: (performance.now() - restartAt) / 1000, bindings });
      if (bindings === 0) {
        sweptAt = performance.now();
        return;
      }
      await sleep(200);
    }
  })();
  const during = await probe()("sweep: latency during", 120, () => sweptAt !== null, 0);
  const rssDuring = workerdRssMiB();
  await poller;
  const after = await probe()("sweep: latency after", 3);
  const sweepSeconds = sweptAt === null ? null : (sweptAt - restartAt) / 1000;
  log(`  sweep: ${atRestart} bindings stored at the restart; ${SCALE} expired bindings removed ${sweepSeconds === null ? "NOT within 120 s" : `within ${sweepSeconds.toFixed(1)} s of the restart`}; INVITE p50/p99/max before ${fmt(before)}, during ${fmt(during)}, after ${fmt(after)}`);
  return { bindings: SCALE, expiresSeconds: expires, storedBeforeStop: stored, storedAtRestart: atRestart, workerdRssMiBAfterSweep: rssDuring, reseedSeconds: reseed.seconds, sweepSeconds, counts: counts.filter((_, i) => i % 5 === 0 || i === counts.length - 1), before: pick(before), during: pick(during), after: pick(after), stageSeconds: (performance.now() - t0) / 1000 };
}
const fmt = (r) => `${r.p50.toFixed(2)}/${r.p99.toFixed(2)}/${r.max.toFixed(1)} ms`;
const pick = (r) => ({ rps: r.rps, p50: r.p50, p99: r.p99, max: r.max, requests: r.requests, errors: r.errors });

try {
  await main();
} catch (error) {
  console.error(`\nbench failed: ${error.stack ?? error}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
