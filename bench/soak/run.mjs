#!/usr/bin/env node
// `npm run bench:soak`: a long mixed run of switch callbacks against the built bundle on workerd
// (served as `npm run bench` serves it: bench/lib/server.mjs, the edge Worker's direct socket), with
// workerd's resident memory and the edge isolate's V8 heap sampled over time. The question it
// answers: does the edge's memory stay flat after warm-up, or does something keep growing?
// See docs/benchmarks.md, "Soak".
//
// Options: --requests N (600000), --concurrency N (16), --sample S (seconds between samples, 2),
// --gc-every N (every Nth sample also forces a full GC through the inspector and reads the heap
// after it, 10), --label NAME (results file name part, default "soak"), --quick (30,000 requests),
// --no-heap (no inspector: RSS only), --report FILE (the analysis and tables again from a results file).
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeRequest, requestOnce, runLoad } from "../lib/load.mjs";
import { connectEdgeInspector } from "../lib/inspector.mjs";
import { buildBundle, freshVars, startServer } from "../lib/server.mjs";
import { digestAuthorization, edgeNonce, fixtures, registerEventBody, sipAuthBody, withField } from "../lib/sip.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : argv[i + 1];
};
const QUICK = flag("quick");
const REQUESTS = Number(option("requests", QUICK ? 30_000 : 600_000));
const CONCURRENCY = Number(option("concurrency", 16));
const SAMPLE_SECONDS = Number(option("sample", QUICK ? 1 : 2));
const GC_EVERY = Number(option("gc-every", QUICK ? 3 : 10));
const LABEL = option("label", "soak");
const HEAP = !flag("no-heap"); // --no-heap: no inspector, RSS only
const MAX_MINUTES = 90; // the load stops by itself after this, whatever the count
const REALM = "127.0.0.4";
const DEVICES = 1_000;
/**
 * Memory growth we call flat: below 2 MiB per 100,000 requests over the second half (about 20
 * bytes a request). The smallest per-request leak a handler can make, one Map entry with a short
 * string key, costs on the order of 100 bytes (10 MiB per 100,000); the threshold sits well below
 * that and above the allocator's and the collector's own wander at a steady state.
 */
const FLAT_MIB_PER_100K = 2;

const work = mkdtempSync(join(os.tmpdir(), "whistle-soak-"));
const outdir = join(work, "dist");
const persistDir = join(work, "state");
let server = null;
let timers = [];
async function cleanup() {
  for (const t of timers) clearInterval(t);
  timers = [];
  if (server) {
    const s = server;
    server = null;
    await s.stop().catch(() => {});
  }
  rmSync(work, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    console.log(`\n${signal}: stopping the soak server`);
    await cleanup();
    process.exit(130);
  });
}
const log = (line) => console.log(line);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ── the workerd process and its isolate ────────────────────────────────────

/** The workerd process Miniflare started for us (a child of this process). */
function workerdPid() {
  const r = spawnSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" });
  const line = (r.stdout ?? "").split("\n").find((l) => /workerd/.test(l));
  if (!line) throw new Error("no workerd child process found");
  return Number(line.trim().split(/\s+/)[0]);
}

/** VmRSS, RssAnon and RssFile of a process, in MiB (from /proc/PID/status). */
function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kib("VmRSS") / 1024, anon: kib("RssAnon") / 1024, file: kib("RssFile") / 1024 };
}

/** CPU time (user + system) of a process so far, in seconds. */
function cpuSecondsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks (USER_HZ, 100 on Linux)
}

/** A session on the edge isolate's V8 inspector: heap usage, and a forced full collection. */
async function inspectorSession(inspectorUrl) {
  const { target, send, close } = await connectEdgeInspector(inspectorUrl);
  return {
    target,
    /** usedSize / totalSize of the isolate's heap, MiB. */
    async heap() {
      const r = await send("Runtime.getHeapUsage");
      return { used: r.usedSize / 2 ** 20, total: r.totalSize / 2 ** 20 };
    },
    async collectGarbage() {
      await send("HeapProfiler.collectGarbage");
    },
    close,
  };
}

// ── seeding ─────────────────────────────────────────────────────────────────

const fx = fixtures(root);
const xmlHeaders = (sw) => ({ "content-type": "application/x-www-form-urlencoded", "user-agent": "freeswitch-xml/1.0", authorization: sw.basic });
const kamHeaders = (sw) => ({ "content-type": "application/json", authorization: sw.basic });
const eventHeaders = (sw) => ({ "content-type": "application/x-www-form-urlencoded", "x-edge-token": sw.credential });
const password = (u) => (u === "1000" ? "s3cret-1000" : `soak-pw-${u}`);

async function api(op, method, path, body) {
  const response = await requestOnce(server.port, {
    method,
    path: `/api/v1${path}`,
    headers: { authorization: `Bearer ${op}`, ...(body && { "content-type": "application/json" }) },
    body: body ? JSON.stringify(body) : null,
  });
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${response.text.slice(0, 300)}`);
  return response.text ? JSON.parse(response.text) : null;
}

async function inBatches(items, parallel, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

async function seed(vars) {
  const op = vars.OPERATOR_API_KEY;
  // Long registrations, and the newest binding replaces the oldest past the device's limit: the
  // soak registers the same devices again from many Call-IDs.
  const account = await api(op, "POST", "/accounts", { realm: REALM, name: "soak", policy: { maxExpires: 7200, defaultExpires: 3600, maxBindingsPerDevice: 5, overflow: "replace_oldest" } });
  const mkSwitch = async (name, address) => {
    const r = await api(op, "POST", "/switches", { name, address });
    return { id: r.switch.id, credential: r.credential, basic: `Basic ${Buffer.from(`${r.switch.id}:${r.credential}`).toString("base64")}` };
  };
  const A = await mkSwitch("soak-a", "sip:127.0.0.4:5060");
  const B = await mkSwitch("soak-b", "sip:127.0.0.5:5060");
  const usernames = ["1000", "9196", ...Array.from({ length: DEVICES - 2 }, (_, i) => String(2000 + i))];
  const ids = new Map();
  await inBatches(usernames, 8, async (u) => {
    const created = await api(op, "POST", `/accounts/${account.id}/devices`, { username: u, password: password(u) });
    ids.set(u, created.id);
  });
  await api(op, "POST", `/accounts/${account.id}/numbers`, { number: "+14155550196", deviceId: ids.get("9196") });
  // Every device registered once through switch A (its REGISTER verified, then the hook's event),
  // with the Call-ID and contact its refreshes carry.
  const ts = Date.now() * 1000 - 60_000_000;
  await inBatches(usernames.slice(2), 8, async (u) => {
    const callId = `refresh-${u}@127.0.0.1`;
    await requestOnce(server.port, { method: "POST", path: "/freeswitch/v1/xml", headers: xmlHeaders(A), body: verifyBody(u, callId, "127.0.0.1") });
    const r = await requestOnce(server.port, { method: "POST", path: "/freeswitch/v1/events", headers: eventHeaders(A),
      body: registerEventBody(fx.registerEvent, { username: u, realm: REALM, callId, contactPort: 5070, expires: 3600, timestampUs: ts }) });
    if (r.status !== 200) throw new Error(`registration of ${u}: ${r.status} ${r.text}`);
  });
  return { account, A, B, usernames: usernames.slice(2) };
}

/** The directory sip_auth of a REGISTER through `sw` (what FreeSWITCH asks before its event). */
function verifyBody(u, callId, ip) {
  return withField(sipAuthBody(fx.sipAuthRegister, { username: u, realm: REALM, password: password(u), callId }), "ip", ip);
}

// ── the mix ─────────────────────────────────────────────────────────────────

/**
 * What a fleet of FreeSWITCH and Kamailio switches sends, by share of requests: refreshes dominate
 * (every phone every few minutes), INVITEs and dialplans come in pairs, new registrations are a
 * directory request and a hook event, Kamailio asks authorize per REGISTER and locate per call, an
 * operator's tools read the API now and then, and a few requests come from scanners (unknown user
 * names, wrong passwords from many addresses, paths that do not exist). Prometheus scrapes the
 * metrics every 15 s besides (not in the mix).
 */
const MIX = [
  ["freeswitch.refresh", 28],
  ["freeswitch.new-registration", 8], // two requests: sip_auth with a new Call-ID, then its event
  ["freeswitch.invite", 14],
  ["freeswitch.dialplan", 12],
  ["kamailio.authorize", 20],
  ["kamailio.locate", 8],
  ["api.read", 5],
  ["hostile.unknown-user", 2],
  ["hostile.wrong-password", 2],
  ["hostile.unknown-path", 1],
];

function mulberry32(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeMix(ctx, vars) {
  const { A, B, account, usernames, op } = ctx;
  const h = `127.0.0.1:${server.port}`;
  const enc = (req) => encodeRequest(h, req);
  const total = MIX.reduce((n, [, w]) => n + w, 0);
  const random = mulberry32(14);
  const pick = () => {
    let x = random() * total;
    for (const [kind, w] of MIX) if ((x -= w) < 0) return kind;
    return MIX[0][0];
  };
  const userAt = (i) => usernames[Math.floor(random() * usernames.length) % usernames.length];
  const ip = () => `198.51.100.${1 + Math.floor(random() * 254)}`;
  const letters = (n) => Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join("");
  let eventTs = Date.now() * 1000;
  let cseq = 1;
  let serial = 0;
  // Each worker has one request in flight; what it sent decides how its answer is checked.
  const sent = new Array(CONCURRENCY).fill(null);
  // A worker's pending second request (the event after its new registration's sip_auth).
  const follow = new Array(CONCURRENCY).fill(null);
  const counts = Object.fromEntries(MIX.map(([k]) => [k, 0]));
  let refreshedAnswers = 0;
  const refreshBytes = new Map();
  const inviteBytes = new Map();
  const cached = (map, key, build) => map.get(key) ?? map.set(key, build()).get(key);
  const dialplanBytes = enc({ method: "POST", path: "/freeswitch/v1/xml", headers: xmlHeaders(A), body: fx.dialplanInvite });

  const builders = {
    "freeswitch.refresh": (w) => {
      const u = userAt();
      // The same REGISTER again (its Call-ID and contact), as a phone refreshes; built once per
      // device, so the load generator's own work stays small.
      const bytes = cached(refreshBytes, u, () => enc({ method: "POST", path: "/freeswitch/v1/xml", headers: xmlHeaders(A),
        body: sipAuthBody(fx.sipAuthRegister, { username: u, realm: REALM, password: password(u), callId: `refresh-${u}@127.0.0.1` }) }));
      return { bytes, check: (s, t) => {
        if (t.includes('<variable name="edge_binding" value="refreshed"/>')) refreshedAnswers += 1;
        return s === 200 && t.includes('name="a1-hash"');
      } };
    },
    "freeswitch.new-registration": (w) => {
      const u = userAt();
      const callId = `new-${serial++}-${u}@198.51.100.7`;
      const port = 5000 + (serial % 1000);
      follow[w] = {
        bytes: enc({ method: "POST", path: "/freeswitch/v1/events", headers: eventHeaders(A),
          body: registerEventBody(fx.registerEvent, { username: u, realm: REALM, callId, contactHost: "198.51.100.7", contactPort: port, expires: 3600, timestampUs: (eventTs += 1000) }) }),
        check: (s, t) => s === 200 && t === '{"outcome":"registered"}',
      };
      return { bytes: enc({ method: "POST", path: "/freeswitch/v1/xml", headers: xmlHeaders(A), body: verifyBody(u, callId, "198.51.100.7") }), check: (s, t) => s === 200 && t.includes(`id="${u}"`) };
    },
    "freeswitch.invite": () => {
      const u = userAt();
      const bytes = cached(inviteBytes, u, () => enc({ method: "POST", path: "/freeswitch/v1/xml", headers: xmlHeaders(A),
        body: sipAuthBody(fx.sipAuthRegister, { username: u, realm: REALM, password: password(u), method: "INVITE", callId: `call-${u}@198.51.100.7` }) }));
      return { bytes, check: (s, t) => s === 200 && t.includes('name="a1-hash"') && !t.includes("edge_binding") };
    },
    "freeswitch.dialplan": () => {
      return { bytes: dialplanBytes, check: (s, t) => s === 200 && t.includes("sofia/internal/sip:9196@127.0.0.5:5060") };
    },
    "kamailio.authorize": () => {
      const u = userAt();
      const source = `198.51.100.9:${7000 + (serial % 1000)}`;
      const callId = `kam-${u}@198.51.100.9`;
      const nonce = edgeNonce(vars.SWITCH_SIGNING_KEY, REALM, { source, callId });
      serial++;
      return { bytes: enc({ method: "POST", path: "/kamailio/v1/authorize", headers: kamHeaders(A), body: JSON.stringify({
        method: "REGISTER", requestUri: `sip:${REALM}`, to: `sip:${u}@${REALM}`, from: `sip:${u}@${REALM}`,
        authorization: digestAuthorization({ username: u, realm: REALM, password: password(u), method: "REGISTER", uri: `sip:${REALM}`, nonce }),
        source, contact: `<sip:${u}@198.51.100.9:7000;transport=udp>;expires=300`, expires: "", callId, cseq: String(++cseq), path: "", supported: "", userAgent: "soak" }) }),
        check: (s, t) => s === 200 && /^\{"status":200,/.test(t) };
    },
    "kamailio.locate": () => {
      const source = `198.51.100.10:${8000 + (serial % 1000)}`;
      const callId = `kcall-${serial++}@198.51.100.10`;
      const nonce = edgeNonce(vars.SWITCH_SIGNING_KEY, REALM, { source, callId });
      return { bytes: enc({ method: "POST", path: "/kamailio/v1/locate", headers: kamHeaders(A), body: JSON.stringify({
        method: "INVITE", requestUri: `sip:9196@${REALM}`, from: `sip:1000@${REALM}`, callId,
        authorization: digestAuthorization({ username: "1000", realm: REALM, password: "s3cret-1000", method: "INVITE", uri: `sip:9196@${REALM}`, nonce }),
        source, trusted: "false" }) }),
        check: (s, t) => s === 200 && t.includes('"targets":[{"uri":"sip:9196@') };
    },
    "api.read": () => {
      const paths = [`/api/v1/accounts/${account.id}/devices?limit=20`, `/api/v1/accounts/${account.id}/registrations?limit=20`, `/api/v1/accounts/${account.id}`, "/api/v1/switches"];
      const path = paths[Math.floor(random() * paths.length)];
      return { bytes: enc({ path, headers: { authorization: `Bearer ${op}` } }), check: (s) => s === 200 };
    },
    "hostile.unknown-user": () => {
      // A scanner's guess: a username the account does not have, from an address of its own.
      const u = `scan${letters(6)}`;
      const body = withField(sipAuthBody(fx.sipAuthRegister, { username: u, realm: REALM, password: "guess", callId: `scan-${serial++}@203.0.113.5` }), "ip", `203.0.113.${1 + Math.floor(random() * 254)}`);
      return { bytes: enc({ method: "POST", path: "/freeswitch/v1/xml", headers: xmlHeaders(A), body }), check: (s, t) => s === 200 && !t.includes("a1-hash") };
    },
    "hostile.wrong-password": () => {
      // A known username with a wrong password, from one of many addresses (each locked out in turn).
      const u = userAt();
      const body = withField(sipAuthBody(fx.sipAuthRegister, { username: u, realm: REALM, password: "wrong", callId: `guess-${serial++}@203.0.113.6` }), "ip", `203.0.113.${1 + Math.floor(random() * 254)}`);
      return { bytes: enc({ method: "POST", path: "/freeswitch/v1/xml", headers: xmlHeaders(A), body }), check: (s, t) => s === 200 && !t.includes("a1-hash") };
    },
    "hostile.unknown-path": () => {
      // A path no route has, with no credential: answered 404 before any switch is trusted.
      const base = random() < 0.5 ? "/freeswitch/v1/" : "/kamailio/v1/";
      return { bytes: enc({ method: "POST", path: `${base}${letters(8)}`, headers: { "content-type": "application/json" }, body: "{}" }), check: (s) => s === 404 || s === 401 };
    },
  };

  return {
    counts,
    refreshed: () => refreshedAnswers,
    next(w) {
      if (follow[w]) {
        sent[w] = follow[w];
        follow[w] = null;
        return sent[w].bytes;
      }
      const kind = pick();
      counts[kind] += 1;
      sent[w] = builders[kind](w);
      sent[w].kind = kind;
      return sent[w].bytes;
    },
    check(status, text, w) {
      return sent[w].check(status, text);
    },
    kindOf: (w) => sent[w]?.kind ?? "follow-up event",
  };
}

// ── analysis ────────────────────────────────────────────────────────────────

/** Least-squares slope of y over x, and the fit's residual standard deviation. */
function fit(points) {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const residual = Math.sqrt(points.reduce((s, p) => s + (p.y - (my + slope * (p.x - mx))) ** 2, 0) / Math.max(1, n - 2));
  return { slope, intercept: my - slope * mx, residual, n };
}

function svgChart(samples, title) {
  const W = 760, H = 320, L = 60, R = 60, T = 30, B = 40;
  const maxX = Math.max(...samples.map((s) => s.requests), 1);
  const series = [
    { key: "rss", label: "workerd RSS (MiB)", color: "#1f77b4", axis: "left" },
    { key: "heapUsed", label: "V8 heap used (MiB)", color: "#ff7f0e", axis: "right" },
    { key: "heapAfterGc", label: "V8 heap after full GC (MiB)", color: "#2ca02c", axis: "right", dots: true },
  ];
  const maxLeft = Math.ceil(Math.max(...samples.map((s) => s.rss)) / 50) * 50 + 50;
  const maxRight = Math.ceil(Math.max(1, ...samples.map((s) => Math.max(s.heapUsed ?? 0, s.heapAfterGc ?? 0))) / 10) * 10 + 10;
  const x = (v) => L + ((W - L - R) * v) / maxX;
  const y = (v, axis) => T + (H - T - B) * (1 - v / (axis === "left" ? maxLeft : maxRight));
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">\n`;
  out += `<text x="${L}" y="18" font-size="13">${title}</text>\n`;
  out += `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/><line x1="${W - R}" y1="${T}" x2="${W - R}" y2="${H - B}" stroke="#333"/>\n`;
  for (let i = 0; i <= 5; i++) {
    const vx = (maxX * i) / 5;
    out += `<text x="${x(vx)}" y="${H - B + 15}" text-anchor="middle">${Math.round(vx / 1000)}k</text>\n`;
    out += `<text x="${L - 5}" y="${y((maxLeft * i) / 5, "left") + 4}" text-anchor="end">${Math.round((maxLeft * i) / 5)}</text>\n`;
    out += `<text x="${W - R + 5}" y="${y((maxRight * i) / 5, "right") + 4}">${Math.round((maxRight * i) / 5)}</text>\n`;
  }
  out += `<text x="${(L + W - R) / 2}" y="${H - 5}" text-anchor="middle">requests answered</text>\n`;
  out += `<line x1="${x(maxX / 2)}" y1="${T}" x2="${x(maxX / 2)}" y2="${H - B}" stroke="#999" stroke-dasharray="4 3"/><text x="${x(maxX / 2) + 4}" y="${T + 12}" fill="#666">second half</text>\n`;
  series.forEach((s, i) => {
    const pts = samples.filter((p) => typeof p[s.key] === "number");
    if (s.dots) for (const p of pts) out += `<circle cx="${x(p.requests).toFixed(1)}" cy="${y(p[s.key], s.axis).toFixed(1)}" r="2.5" fill="${s.color}"/>\n`;
    else out += `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts.map((p) => `${x(p.requests).toFixed(1)},${y(p[s.key], s.axis).toFixed(1)}`).join(" ")}"/>\n`;
    out += `<rect x="${L + 10 + i * 220}" y="${T + 2}" width="10" height="10" fill="${s.color}"/><text x="${L + 24 + i * 220}" y="${T + 11}">${s.label}${s.axis === "right" ? " →" : ""}</text>\n`;
  });
  return out + "</svg>\n";
}

// ── main ────────────────────────────────────────────────────────────────────

async function main() {
  const startedAt = new Date();
  const date = startedAt.toISOString().slice(0, 10);
  const nice = os.getPriority();
  log(`Whistle Edge soak — ${startedAt.toISOString()}, ${REQUESTS} requests, concurrency ${CONCURRENCY}, nice ${nice}, load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  const { modules } = buildBundle(root, outdir);
  const vars = freshVars();
  mkdirSync(persistDir, { recursive: true });
  server = await startServer({ root, outdir, modules, vars, persistDir, inspector: HEAP, quiet: true });
  await server.applyCatalogMigrations();
  const pid = workerdPid();
  const noHeap = { target: "none", heap: async () => null, collectGarbage: async () => {}, close() {} };
  const inspector = HEAP ? await inspectorSession(server.inspectorUrl) : noHeap;
  log(`  serving on ${server.base} (Miniflare 5 → workerd pid ${pid}, direct socket); inspector target ${inspector.target}`);
  const seeded = await seed(vars);
  const ctx = { ...seeded, op: vars.OPERATOR_API_KEY };
  log(`  seeded ${REALM}: ${DEVICES} devices, each registered once through switch A; switches A and B`);

  // The callee of the dialplan and locate requests, held by switch B, which keeps itself alive.
  const calleeCall = "callee-9196@192.0.2.51";
  await requestOnce(server.port, { method: "POST", path: "/freeswitch/v1/xml", headers: xmlHeaders(seeded.B), body: verifyBody("9196", calleeCall, "192.0.2.51") });
  const r = await requestOnce(server.port, { method: "POST", path: "/freeswitch/v1/events", headers: eventHeaders(seeded.B),
    body: registerEventBody(fx.registerEvent, { username: "9196", realm: REALM, callId: calleeCall, contactHost: "192.0.2.51", contactPort: 5060, expires: 7200, timestampUs: Date.now() * 1000 - 60_000_000 }) });
  if (r.status !== 200) throw new Error(`callee registration: ${r.status} ${r.text}`);
  const beat = () => requestOnce(server.port, { method: "POST", path: "/kamailio/v1/keepalive", headers: { "content-type": "application/json", authorization: seeded.B.basic }, body: "{}" }).catch(() => {});
  await beat();
  timers.push(setInterval(beat, 5_000));

  // Prometheus: a scrape every 15 s, its size recorded (series that only ever grow show up here).
  const scrapes = [];
  const scrape = async () => {
    const m = await requestOnce(server.port, { path: "/api/v1/metrics", headers: { authorization: `Bearer ${ctx.op}` } }).catch(() => null);
    if (m) scrapes.push({ t: (performance.now() - t0) / 1000, requests: answered(), status: m.status, bytes: Buffer.byteLength(m.text), lines: m.text.split("\n").filter((l) => l && !l.startsWith("#")).length, callbackSeries: m.text.split("\n").filter((l) => l.startsWith("whistle_callback_duration_seconds_count")).length });
  };

  const mix = makeMix(ctx, vars);
  const samples = [];
  let load = null;
  const t0 = performance.now();
  const cpu0 = cpuSecondsOf(pid);
  let count = 0;
  const answered = () => count;
  let sampleNo = 0;
  let sampling = false;
  const sample = async () => {
    if (sampling) return;
    sampling = true;
    try {
      const s = { t: (performance.now() - t0) / 1000, requests: count, loadAverage: os.loadavg()[0], ...(({ rss, anon, file }) => ({ rss, rssAnon: anon, rssFile: file }))(rssOf(pid)), cpuSeconds: cpuSecondsOf(pid) - cpu0 };
      const heap = await inspector.heap().catch(() => null);
      if (heap) Object.assign(s, { heapUsed: heap.used, heapTotal: heap.total });
      if (HEAP && ++sampleNo % GC_EVERY === 0) {
        await inspector.collectGarbage().catch(() => {});
        const after = await inspector.heap().catch(() => null);
        if (after) s.heapAfterGc = after.used;
        s.rssAfterGc = rssOf(pid).rss;
      }
      samples.push(s);
      process.stdout.write(`\r  ${String(count).padStart(7)} / ${REQUESTS} requests  ${s.t.toFixed(0).padStart(4)} s  RSS ${s.rss.toFixed(0)} MiB  heap ${s.heapUsed?.toFixed(1) ?? "?"} MiB${s.heapAfterGc ? ` (after GC ${s.heapAfterGc.toFixed(1)})` : ""}  load ${s.loadAverage.toFixed(1)}   `);
    } finally {
      sampling = false;
    }
  };
  await sample();
  timers.push(setInterval(sample, SAMPLE_SECONDS * 1000));
  await scrape();
  timers.push(setInterval(scrape, 15_000));

  const firstErrors = [];
  load = await runLoad({
    port: server.port,
    concurrency: CONCURRENCY,
    warmupSeconds: 0,
    durationSeconds: MAX_MINUTES * 60,
    next: (w) => {
      count += 1;
      return mix.next(w);
    },
    check: (status, text, w) => {
      const ok = mix.check(status, text, w);
      if (!ok && firstErrors.length < 10) firstErrors.push(`${mix.kindOf(w)}: ${status} ${text.slice(0, 200)}`);
      return ok;
    },
    sampleEvery: 1,
    label: "soak",
    progress: false,
    stopWhen: () => count >= REQUESTS,
  });
  for (const t of timers) clearInterval(t);
  timers = [];
  // Let in-flight work settle, then the last samples, with and without a forced collection.
  await sleep(3_000);
  sampleNo = GC_EVERY - 1;
  await sample();
  await scrape();
  process.stdout.write("\n");
  inspector.close();

  const first = samples[0];
  const last = samples[samples.length - 1];
  const raw = {
    date: startedAt.toISOString(),
    label: LABEL,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), nice, loadAverageAtStart: first.loadAverage, loadAverageAtEnd: os.loadavg()[0], loadAverageMean: samples.reduce((n, s) => n + s.loadAverage, 0) / samples.length },
    server: `Miniflare 5 (workerd) serving the wrangler deploy --dry-run bundle; load on the edge Worker's direct socket; the Worker's log lines dropped by the bench (handleStructuredLogs)${HEAP ? "; V8 inspector attached for heap readings" : "; no inspector"}`,
    requests: count,
    refreshesAnsweredRefreshed: mix.refreshed(),
    concurrency: CONCURRENCY,
    mix: Object.fromEntries(MIX.map(([k, w]) => [k, { share: w / MIX.reduce((n, [, x]) => n + x, 0), sent: mix.counts[k] }])),
    load: { seconds: load.seconds, rps: load.requests / load.seconds, p50: load.p50, p99: load.p99, max: load.max, errors: load.errors, firstErrors },
    workerdCpuSecondsPerRequest: last.cpuSeconds / count,
    samples,
    scrapes,
  };
  writeResults(raw);
}

/**
 * Flat after warm-up: least-squares slopes over the second half of the requests, of the RSS as
 * sampled, of the RSS right after a forced full collection (the young generation's ebb and flow
 * taken out), of its anonymous part, and of the V8 heap after that collection. Writes
 * bench/results/<date>-<label>.{json,svg,md}.
 */
function writeResults(raw) {
  const { samples, scrapes, requests: count } = raw;
  const half = samples.filter((s) => s.requests >= count / 2);
  const per100k = (key, from) => {
    const pts = from.filter((s) => typeof s[key] === "number").map((s) => ({ x: s.requests / 100_000, y: s[key] }));
    return pts.length >= 3 ? fit(pts) : null;
  };
  const first = samples[0];
  const last = samples[samples.length - 1];
  const measure = (key) => {
    const f = per100k(key, half);
    const values = samples.filter((s) => typeof s[key] === "number").map((s) => s[key]);
    return { first: values[0] ?? null, last: values.at(-1) ?? null, max: values.length ? Math.max(...values) : null, secondHalfSlopeMiBPer100k: f?.slope ?? null, secondHalfResidualMiB: f?.residual ?? null, flat: f ? Math.abs(f.slope) < FLAT_MIB_PER_100K : null };
  };
  const halfScrapes = scrapes.filter((s) => s.requests >= count / 2);
  const scrapeFit = halfScrapes.length >= 3 ? fit(halfScrapes.map((s) => ({ x: s.requests / 100_000, y: s.lines }))) : null;
  const result = {
    ...raw,
    threshold: { flatMiBPer100k: FLAT_MIB_PER_100K },
    rss: measure("rss"),
    rssAfterGc: measure("rssAfterGc"),
    rssAnon: measure("rssAnon"),
    heapAfterGc: measure("heapAfterGc"),
    metricsScrape: { first: scrapes[0], last: scrapes[scrapes.length - 1], secondHalfLinesPer100k: scrapeFit?.slope ?? null },
  };
  // Keep samples and scrapes last in the file.
  delete result.samples;
  delete result.scrapes;
  Object.assign(result, { samples, scrapes });
  const date = raw.date.slice(0, 10);
  const dir = join(root, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${date}-${raw.label}`);
  writeFileSync(`${base}.json`, JSON.stringify(result, null, 1) + "\n");
  writeFileSync(`${base}.svg`, svgChart(samples, `Soak ${date}: ${count.toLocaleString("en")} mixed callbacks, workerd RSS and V8 heap`));
  const mib = (v, d = 0) => (typeof v === "number" ? `${v.toFixed(d)} MiB` : "–");
  const row = (name, m, d = 0) => `| ${name} | ${mib(m.first, d)} | ${mib(m.last, d)} | ${mib(m.max, d)} | ${m.secondHalfSlopeMiBPer100k?.toFixed(2) ?? "–"} (residual ${m.secondHalfResidualMiB?.toFixed(1) ?? "–"} MiB) | ${m.flat === null ? "–" : m.flat ? "yes" : "**no**"} |`;
  const md = [
    `# Soak, ${result.date}`,
    "",
    `${count.toLocaleString("en")} requests (${raw.concurrency} connections) in ${raw.load.seconds.toFixed(0)} s (${Math.round(raw.load.rps)} req/s; p50 ${raw.load.p50.toFixed(2)} ms, p99 ${raw.load.p99.toFixed(2)} ms; ${raw.load.errors} wrong answers), nice ${raw.machine.nice}, 1-minute load average ${first.loadAverage.toFixed(1)} at the start, ${raw.machine.loadAverageAtEnd.toFixed(1)} at the end (mean ${raw.machine.loadAverageMean.toFixed(1)}). ${raw.server}.`,
    "",
    "| share | what | sent |",
    "|---:|---|---:|",
    ...Object.entries(raw.mix).map(([k, m]) => `| ${Math.round(m.share * 100)} % | ${k} | ${m.sent.toLocaleString("en")} |`),
    "",
    `| measure | first | last | max | slope over the second half, MiB per 100k requests | flat (< ${FLAT_MIB_PER_100K}) |`,
    "|---|---:|---:|---:|---:|---|",
    row("workerd RSS", result.rss),
    row("workerd RSS right after a forced full GC", result.rssAfterGc),
    row("workerd anonymous RSS", result.rssAnon),
    row("V8 heap after a full GC", result.heapAfterGc, 1),
    `| metrics scrape, sample lines | ${scrapes[0]?.lines} | ${scrapes[scrapes.length - 1]?.lines} | – | ${scrapeFit?.slope.toFixed(1) ?? "–"} lines | – |`,
    "",
    `![RSS and heap over the run](${date}-${raw.label}.svg)`,
    "",
  ].join("\n");
  writeFileSync(`${base}.md`, md);
  log(md);
  log(`  wrote ${base}.{json,svg,md}`);
}

try {
  // --report FILE: the analysis, chart and tables again from a results file's samples.
  const report = option("report", null);
  if (report) writeResults(JSON.parse(readFileSync(report, "utf8")));
  else await main();
} catch (error) {
  console.error(`\nsoak failed: ${error.stack ?? error}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
