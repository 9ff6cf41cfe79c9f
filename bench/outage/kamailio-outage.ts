// Measured edge outages through two Kamailio switches with the shipped cfg: phones registered on both
// switches refresh every REFRESH_S seconds (each with its own Call-ID and contact, as a phone does),
// and the edge is made unreachable for OUTAGE_S seconds, twice: nothing listening where the switches
// reach it (connection refused; the edge process itself is stopped and started again meanwhile, its
// state kept) and every request swallowed (packets dropped: each waits out EDGE_TIMEOUT). For each
// outage: what every REGISTER got and how soon, what a call between two registered phones got, and
// after recovery how long until each phone was registered again, the bindings lost, and whether every
// binding holds the CSeq of its phone's last accepted REGISTER (none overwritten by an older one).
// OUTAGE_KAMAILIO_CFG=path runs another cfg (e.g. an older one taken from git) in place of the
// shipped one, for a "before" run. Written to bench/results/<date>-outage-kamailio[-LABEL].json.
//
// The bed is its own (not the e2e fleet): the edge as `npm start` runs it on a free port, the counting
// pass-through of the FreeSWITCH bed in front of it, and two switches on 127.0.0.41 and 127.0.0.42,
// so the bench can run beside the e2e suite.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { apiClient, startEdge } from "../../test/e2e/harness/edge";
import { runLogDir } from "../../test/e2e/harness/fleet";
import { startKamailioProcess, switchProcess, type KamailioSwitch } from "../../test/e2e/harness/kamailio";
import { freeTcpPort, sleep, udpPortFree } from "../../test/e2e/harness/ports";
import { sipp, startSipp, stopAllSipp, type Device } from "../../test/e2e/harness/sipp";
import { startCounter, type Counter } from "../../test/freeswitch/harness/counter";
import { finalAnswer, refreshLoop, registeredAgain, summary, type Attempt } from "./answers";

const REFRESH_S = Number(process.env.OUTAGE_REFRESH_S ?? 30);
const OUTAGE_S = Number(process.env.OUTAGE_S ?? 60);
const CFG = process.env.OUTAGE_KAMAILIO_CFG;
const LABEL = process.env.OUTAGE_LABEL ?? (CFG ? "custom-cfg" : "");
const REALM = "acme.test";
/** As the FreeSWITCH bed: 120 s granted as asked, no jitter, so a binding outlives a 60 s outage. */
const POLICY = { minExpires: 2, defaultExpires: 120, maxExpires: 3600, expiresJitter: 0 };
const SWITCHES = { a: "127.0.0.41", b: "127.0.0.42" } as const;
type SwitchName = keyof typeof SWITCHES;
const SCENARIOS = join(import.meta.dirname, "..", "..", "test", "freeswitch", "scenarios");

const logDir = runLogDir(join(import.meta.dirname, "logs"));
const stops: (() => Promise<void>)[] = [];
let api: ReturnType<typeof apiClient>;
let accountPath = "";
let counter: Counter;
let edge: Awaited<ReturnType<typeof startEdge>>;
let restartEdge: () => Promise<void>;
const devices: Record<string, Device & { id: string }> = {};
const switches = {} as Record<SwitchName, KamailioSwitch & { id: string }>;

interface Phone {
  device: Device & { id: string };
  sw: SwitchName;
  port: number | undefined;
  callId: string;
  cseq: number;
  /** The CSeq of the last REGISTER answered 200. */
  acceptedCseq: number;
}


interface Registration {
  id: number;
  deviceId?: string;
  contact: string;
  callId: string;
  cseq: number;
  switchId: string | null;
}

const attempts: Attempt[] = [];
let running = true;
let phones: Phone[] = [];
let callee: Phone;

const phoneOf = (username: string, sw: SwitchName): Phone => ({
  device: devices[username]!,
  sw,
  port: undefined,
  callId: `${username}-${randomBytes(8).toString("hex")}@whistle.test`,
  cseq: 1,
  acceptedCseq: 0,
});

async function register(phone: Phone, label: string): Promise<Attempt> {
  const run = await sipp(logDir, {
    name: `outage-${label}-${phone.device.username}-${attempts.length}`,
    scenario: join(SCENARIOS, "register.xml"),
    remote: `${SWITCHES[phone.sw]}:5060`,
    device: phone.device,
    ...(phone.port !== undefined && { port: phone.port }),
    callId: phone.callId,
    authUri: phone.device.realm,
    keys: { expires: "120", cseq: String(phone.cseq), cseq2: String(phone.cseq + 1) },
    final: "200",
  });
  phone.port = run.port;
  const final = finalAnswer(run);
  if (final.answer === "SIP/2.0 200 OK") phone.acceptedCseq = phone.cseq + 1;
  phone.cseq += 2;
  const attempt: Attempt = { phone: phone.device.username, switch: phone.sw, at: Date.now(), ...final };
  attempts.push(attempt);
  return attempt;
}

/**
 * The callee registered and its SIPp answering on the registered port. Should that SIPp fail to
 * bind the port (something else took it between the REGISTER and its start), the callee registers
 * anew from another port (its old binding removed first), at most three times.
 */
async function answeringCallee(label: string): Promise<Awaited<ReturnType<typeof startSipp>>> {
  for (let attempt = 1; ; attempt++) {
    await register(callee, `callee-${label}-${attempt}`);
    const uas = await startSipp(logDir, { name: `outage-uas-${label}-${attempt}`, scenario: "uas", port: callee.port!, pauseMs: 100, timeoutSeconds: 30 });
    try {
      await uas.listening();
      return uas;
    } catch (error) {
      if (attempt >= 3) throw error;
    }
    for (const binding of (await registrations()).filter((r) => r.deviceId === callee.device.id)) await api("DELETE", `${accountPath}/registrations/${binding.id}`);
    callee = phoneOf("1005", "a");
  }
}

/** A call from a phone on B to a phone on A: during an outage to a refreshing phone, afterwards to the callee (answering). */
async function callOnce(label: string, answered: boolean): Promise<{ answer: string; ms: number }> {
  const caller = phones[2]!;
  const ringing = answered ? await answeringCallee(label) : null;
  const destination = answered ? callee.device.username : phones[0]!.device.username;
  const run = await sipp(logDir, {
    name: `outage-call-${label}`,
    scenario: "call",
    remote: `${SWITCHES[caller.sw]}:5060`,
    device: caller.device,
    service: destination,
    authUri: `${destination}@${caller.device.realm}`,
    timeoutSeconds: 30,
  });
  await ringing?.stop();
  const { answer, ms } = finalAnswer(run);
  return { answer, ms: Math.round(ms) };
}

const registrations = async () => (await api<{ items: Registration[] }>("GET", `${accountPath}/registrations?limit=500`)).items;

beforeAll(async () => {
  mkdirSync(logDir, { recursive: true });
  console.log(`kamailio outage bench: logs in ${logDir}`);
  for (const ip of Object.values(SWITCHES)) {
    if (!(await udpPortFree(ip, 5060))) throw new Error(`udp ${ip}:5060 is taken: another switch is running there`);
  }
  const place = {
    port: await freeTcpPort(),
    stateDir: mkdtempSync(join(tmpdir(), "whistle-kam-outage-")),
    operatorKey: `op_ko_${randomBytes(18).toString("base64url")}`,
  };
  stops.push(async () => rmSync(place.stateDir, { recursive: true, force: true }));
  // SIPp 3.6.1 cannot answer the SHA-256 challenge the edge offers first: MD5 only, as in the e2e suite.
  const vars = { DIGEST_ALGORITHMS: "MD5" };
  edge = await startEdge(logDir, vars, place);
  stops.push(() => edge.stop());
  restartEdge = async () => {
    await edge.stop();
    edge = await startEdge(logDir, vars, place);
  };
  api = apiClient(edge);
  const seeded = await api<{ items: { id: string }[] }>("GET", "/switches?limit=500");
  for (const old of seeded.items) await api("DELETE", `/switches/${old.id}`);
  const account = await api<{ id: string }>("POST", "/accounts", { realm: REALM, name: "Acme (Kamailio outage)", policy: POLICY });
  accountPath = `/accounts/${account.id}`;
  for (const username of ["1001", "1002", "1003", "1004", "1005"]) {
    const password = `pw-${username}-${randomBytes(6).toString("hex")}`;
    const device = await api<{ id: string }>("POST", `${accountPath}/devices`, { username, password });
    devices[username] = { id: device.id, username, password, realm: REALM };
  }
  const created = {} as Record<SwitchName, { switch: { id: string }; credential: string }>;
  for (const name of ["a", "b"] as const) created[name] = await api("POST", "/switches", { name: `kam-${name}`, address: `sip:${SWITCHES[name]}:5060` });
  const identify = (headers: IncomingHttpHeaders) => {
    const basic = /^Basic (.+)$/.exec(headers.authorization ?? "")?.[1];
    const credential = basic ? Buffer.from(basic, "base64").toString().split(":").slice(1).join(":") : "";
    return (["a", "b"] as const).find((name) => created[name].credential === credential) ?? "?";
  };
  counter = await startCounter(() => edge.port, identify);
  stops.push(() => counter.stop());
  for (const [name, peer] of [["a", "b"], ["b", "a"]] as const) {
    const settings = switchProcess({
      name,
      ip: SWITCHES[name],
      edgeHostPort: `127.0.0.1:${counter.port}`,
      switchId: created[name].switch.id,
      credential: created[name].credential,
      peers: [SWITCHES[peer]],
    });
    // The bench's switches as the guide sizes them (CHILDREN 4), quiet unless something fails.
    const sw = await startKamailioProcess(
      { ...settings, children: 4, extra: settings.extra.filter((arg) => arg !== "--debug=3"), ...(CFG && { cfg: CFG }) },
      logDir,
    );
    stops.push(sw.stop);
    switches[name] = { ...sw, id: created[name].switch.id };
  }
  phones = [phoneOf("1001", "a"), phoneOf("1002", "a"), phoneOf("1003", "b"), phoneOf("1004", "b")];
  callee = phoneOf("1005", "a");
}, 300_000);

afterAll(async () => {
  running = false;
  await stopAllSipp();
  counter?.swallow(false);
  for (const step of stops.reverse()) await step().catch(() => undefined);
});

it("measures two edge outages", async () => {
  for (const phone of phones) expect((await register(phone, "first")).answer).toBe("SIP/2.0 200 OK");
  const loops = phones.map((phone, i) => refreshLoop(() => register(phone, "refresh"), REFRESH_S, (i * REFRESH_S * 1000) / phones.length, () => running));
  const results: unknown[] = [];
  const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

  for (const kind of ["refused", "dropped"] as const) {
    await sleep(REFRESH_S * 1000);
    const loadBefore = load();
    const before = await registrations();
    const requestsBefore = counter.requests.length;
    const stoppedAt = Date.now();
    let restarted: Promise<void> = Promise.resolve();
    if (kind === "refused") {
      // Nothing listens where the switches reach the edge from now on; the edge process is stopped
      // too and started again in the background (its state kept), ready before the listener reopens.
      await counter.close();
      restarted = restartEdge();
    } else counter.swallow(true);
    let callDuring = { answer: "", ms: NaN };
    while (Date.now() - stoppedAt < OUTAGE_S * 1000) {
      if (!callDuring.answer && Date.now() - stoppedAt > OUTAGE_S * 500) callDuring = await callOnce(`${kind}-during`, false);
      await sleep(250);
    }
    await restarted;
    if (kind === "refused") await counter.open();
    else counter.swallow(false);
    const backAt = Date.now();
    const loadDuring = load();
    const during = attempts.filter((a) => a.at >= stoppedAt && a.at < backAt);
    // Every phone registered again: its first 200 after the edge is back.
    const again = await registeredAgain(attempts, phones.length, backAt, REFRESH_S * 2000);
    const callAfter = await callOnce(`${kind}-after`, true);
    const after = await registrations();
    const looped = (list: Registration[]) => list.filter((r) => r.deviceId !== callee.device.id);
    const lost = looped(before).filter((b) => !after.some((a) => a.contact === b.contact)).length;
    // No REGISTER applied out of order: each phone's binding holds the CSeq of its last accepted one.
    const stale = phones.filter((p) => looped(after).find((r) => r.callId === p.callId)?.cseq !== p.acceptedCseq).map((p) => p.device.username);
    const requests = counter.requests.slice(requestsBefore);
    const ms = (answer: string) => during.filter((a) => a.answer === answer).map((a) => a.ms).sort((x, y) => x - y);
    const retryAfters = during.map((a) => a.retryAfter).filter((x): x is number => x !== null);
    results.push({
      outage: kind,
      seconds: Math.round((backAt - stoppedAt) / 1000),
      registerAnswers: summary(during),
      registerMs: Object.fromEntries(Object.keys(summary(during)).map((answer) => [answer, { min: Math.round(ms(answer)[0]!), max: Math.round(ms(answer).at(-1)!) }])),
      retryAfterSeconds: retryAfters.length ? { min: Math.min(...retryAfters), max: Math.max(...retryAfters) } : null,
      callDuring,
      callAfter,
      registeredAgainAfterMs: again,
      allRegisteredWithinOneRefresh: Object.keys(again).length === phones.length && Object.values(again).every((x) => x <= REFRESH_S * 1000),
      bindingsBefore: looped(before).length,
      bindingsAfter: looped(after).length,
      bindingsLost: lost,
      bindingsNotAtLastAcceptedCseq: stale,
      edgeRequestsDuringOutage: requests.filter((r) => r.at < backAt).length,
      switchesAfter: await Promise.all((["a", "b"] as const).map(async (name) => ({ name, state: (await api<{ state: string }>("GET", `/switches/${switches[name].id}`)).state }))),
      loadAverage: { before: loadBefore, atRecovery: loadDuring, end: load() },
    });
    console.log(JSON.stringify(results.at(-1)));
  }
  running = false;
  await Promise.all(loops);

  const out = join(import.meta.dirname, "..", "results");
  mkdirSync(out, { recursive: true });
  const file = join(out, `${new Date().toISOString().slice(0, 10)}-outage-kamailio${LABEL ? `-${LABEL}` : ""}.json`);
  writeFileSync(
    file,
    JSON.stringify({ date: new Date().toISOString(), cfg: CFG ?? "switches/kamailio/kamailio.cfg", refreshSeconds: REFRESH_S, outageSeconds: OUTAGE_S, phones: phones.map((p) => `${p.device.username}@${p.sw}`), results, attempts }, null, 2),
  );
  console.log(`written ${file}`);
});
