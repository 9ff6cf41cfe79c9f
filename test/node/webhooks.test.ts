// Webhooks against a real local receiver, with the edge served as `npm start` serves it: signed
// deliveries in order, retried after failures, dead-lettered at the end, and a receiver that holds
// a delivery open never holding up the switches.
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifiedRegister } from "./freeswitch-sip-auth";

const root = join(import.meta.dirname, "..", "..");
const stateDir = mkdtempSync(join(tmpdir(), "whistle-webhooks-"));
let edge: ChildProcess | null = null;
let receiver: Server | null = null;
let base = "";
/** Everything the edge printed. */
let output = "";
let demo: {
  account: { id: string; realm: string };
  accountApiKey: string;
  switch: { credential: string };
  devices: { username: string; password: string }[];
};

interface Delivery {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  answered: number;
  /** When the receiver answered (ms). */
  at: number;
}
const deliveries: Delivery[] = [];
/**
 * How the receiver answers: per path, a list of statuses by attempt (last one repeats); with
 * `hold`, every request is kept open, unanswered, until the test calls `releaseHeld()`.
 */
const behaviour: Record<string, { statuses: number[]; hold?: boolean; headers?: Record<string, string> }> = {};
const attemptsPerEvent = new Map<string, number>();
/** Requests the receiver holds open, by path: answering one sends its reply. */
const held: { path: string; answer: () => void; abandoned: boolean }[] = [];
function releaseHeld(path: string): void {
  behaviour[path] = { ...behaviour[path]!, hold: false };
  const released = held.filter((h) => h.path === path);
  held.splice(0, held.length, ...held.filter((h) => h.path !== path));
  for (const entry of released) entry.answer();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function api(method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${demo.accountApiKey}`, ...(body !== undefined && { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

let eventClock = Date.now() * 1000;
async function switchEvent(subclass: "sofia::register" | "sofia::unregister", port: number) {
  eventClock += 1_000_000;
  if (subclass === "sofia::register") {
    // The switch has the edge verify the REGISTER's digest first, as FreeSWITCH does for every REGISTER.
    const device = demo.devices.find((d) => d.username === "1000")!;
    await verifiedRegister(base, demo.switch.credential, { realm: demo.account.realm, username: "1000", password: device.password, ip: "192.0.2.10", callId: `hook-test-${port}` });
  }
  const response = await fetch(`${base}/freeswitch/v1/events`, {
    method: "POST",
    headers: { "x-edge-token": demo.switch.credential, "content-type": "application/json" },
    body: JSON.stringify({
      "Event-Subclass": subclass,
      "Event-Date-Timestamp": String(eventClock),
      "from-user": "1000",
      "from-host": demo.account.realm,
      contact: `<sip:1000@192.0.2.10:${port}>`,
      "call-id": `hook-test-${port}`,
      expires: "300",
      "network-ip": "192.0.2.10",
      "network-port": String(port),
    }),
  });
  expect(response.status).toBe(200);
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  const receiverPort = await freePort();
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const path = req.url ?? "/";
      const eventId = String(req.headers["whistle-event-id"]);
      const attempt = (attemptsPerEvent.get(`${path} ${eventId}`) ?? 0) + 1;
      attemptsPerEvent.set(`${path} ${eventId}`, attempt);
      const plan = behaviour[path] ?? { statuses: [200] };
      const status = plan.statuses[Math.min(attempt, plan.statuses.length) - 1]!;
      const answer = () => {
        deliveries.push({ path, headers: req.headers, body, answered: status, at: Date.now() });
        res.writeHead(status, plan.headers ?? {}).end();
      };
      if (!plan.hold) return answer();
      const entry = { path, answer, abandoned: false };
      // The edge gave up on the delivery (its timeout) and closed the connection unanswered.
      res.on("close", () => (entry.abandoned = !res.writableEnded));
      held.push(entry);
    });
  });
  await new Promise<void>((resolve) => receiver!.listen(receiverPort, "127.0.0.1", resolve));

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  edge = spawn(process.execPath, [join(root, "scripts", "start.mjs")], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      STATE_DIR: stateDir,
      EDGE_VAR_WEBHOOK_ALLOW_PRIVATE: "true",
      EDGE_VAR_WEBHOOK_RETRY_BASE_MS: "100",
      EDGE_VAR_WEBHOOK_MAX_ATTEMPTS: "3",
    },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  edge.stdout!.on("data", (c) => (output += c));
  edge.stderr!.on("data", (c) => (output += c));
  await until("the edge", () => output.includes("Whistle Edge is serving") || (edge!.exitCode !== null && (() => { throw new Error(output); })()), 180_000);
  demo = JSON.parse(readFileSync(join(stateDir, "demo.json"), "utf8"));
  (globalThis as { receiverBase?: string }).receiverBase = `http://127.0.0.1:${receiverPort}`;
}, 240_000);

afterAll(async () => {
  if (edge && edge.exitCode === null) {
    const exited = new Promise((r) => edge!.once("exit", r));
    process.kill(-edge.pid!, "SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (edge.exitCode === null) process.kill(-edge.pid!, "SIGKILL");
  }
  await new Promise((r) => receiver?.close(r));
  rmSync(stateDir, { recursive: true, force: true });
});

const receiverUrl = (path: string) => `${(globalThis as { receiverBase?: string }).receiverBase}${path}`;

describe("webhooks against a local receiver", () => {
  it("deliver signed events in order, retrying failures, with the event id as idempotency key", async () => {
    behaviour["/flaky"] = { statuses: [500, 503, 200] };
    const created = await api("POST", `/accounts/${demo.account.id}/webhooks`, { url: receiverUrl("/flaky") });
    expect(created.status).toBe(201);
    const secret: string = created.body.secret;

    const before = Math.floor(Date.now() / 1000);
    await switchEvent("sofia::register", 5070);
    await switchEvent("sofia::unregister", 5070);
    const delivered = await until("both events delivered", () => {
      const ok = deliveries.filter((d) => d.path === "/flaky" && d.answered === 200);
      return ok.length >= 2 && ok;
    });
    const events = delivered.map((d) => JSON.parse(d.body));
    expect(events.map((e) => [e.type, e.contact])).toEqual([
      ["binding.created", "sip:1000@192.0.2.10:5070"],
      ["binding.removed", "sip:1000@192.0.2.10:5070"],
    ]);
    expect(events[1].seq).toBe(events[0].seq + 1);
    for (const d of delivered) {
      const event = JSON.parse(d.body);
      expect(d.headers["whistle-event-id"]).toBe(`${demo.account.id}:${event.seq}`);
      expect(event.id).toBe(d.headers["whistle-event-id"]);
      const [t, v1] = String(d.headers["whistle-signature"]).split(",").map((p) => p.split("=")[1]);
      expect(createHmac("sha256", secret).update(`${t}.${d.body}`).digest("hex")).toBe(v1);
      // Signed when sent: after the switch's callback, before the receiver answered (whole seconds).
      expect(Number(t)).toBeGreaterThanOrEqual(before);
      expect(Number(t)).toBeLessThanOrEqual(Math.ceil(d.at / 1000));
    }
    // Each event was tried three times (500, 503, then 200), and the second waited for the first.
    const attempts = deliveries.filter((d) => d.path === "/flaky").map((d) => [JSON.parse(d.body).seq, d.answered]);
    expect(attempts).toEqual([
      [events[0].seq, 500],
      [events[0].seq, 503],
      [events[0].seq, 200],
      [events[1].seq, 500],
      [events[1].seq, 503],
      [events[1].seq, 200],
    ]);
    await api("DELETE", `/accounts/${demo.account.id}/webhooks/${created.body.webhook.id}`);
  });

  it("events a receiver keeps refusing end up on the dead-letter list", async () => {
    behaviour["/down"] = { statuses: [500] };
    const created = await api("POST", `/accounts/${demo.account.id}/webhooks`, { url: receiverUrl("/down"), types: ["binding.created"] });
    await switchEvent("sofia::register", 5071);
    let letters: any[] = [];
    const deadline = Date.now() + 30_000;
    while (letters.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      letters = (await api("GET", `/accounts/${demo.account.id}/webhooks/${created.body.webhook.id}/dead-letters`)).body.items;
    }
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ attempts: 3, lastError: "HTTP 500", event: { type: "binding.created", contact: "sip:1000@192.0.2.10:5071" } });
    expect(deliveries.filter((d) => d.path === "/down")).toHaveLength(3);
    await api("DELETE", `/accounts/${demo.account.id}/webhooks/${created.body.webhook.id}`);
  });

  it("a receiver holding a delivery open never holds up the switches' callbacks", async () => {
    behaviour["/slow"] = { statuses: [200], hold: true };
    const created = await api("POST", `/accounts/${demo.account.id}/webhooks`, { url: receiverUrl("/slow") });
    await switchEvent("sofia::register", 5072);
    await until("a delivery held open by the receiver", () => held.some((h) => h.path === "/slow"));
    // The delivery is in flight and unanswered: another switch callback is answered all the same,
    // while the edge still waits on that delivery (it did not give up on it first).
    await switchEvent("sofia::register", 5073);
    expect(held.filter((h) => h.path === "/slow").map((h) => h.abandoned)).toEqual([false]);
    expect(deliveries.filter((d) => d.path === "/slow")).toEqual([]);
    releaseHeld("/slow");
    await until("both deliveries", () => {
      const contacts = deliveries.filter((d) => d.path === "/slow" && d.answered === 200).map((d) => JSON.parse(d.body).contact);
      return contacts.includes("sip:1000@192.0.2.10:5072") && contacts.includes("sip:1000@192.0.2.10:5073");
    });
    await api("DELETE", `/accounts/${demo.account.id}/webhooks/${created.body.webhook.id}`);
  }, 60_000); // a callback that waited for the held delivery would never be answered: fail, do not hang

  it("a redirect is a failed attempt and is never followed, even a 307 that would post the body again", async () => {
    behaviour["/moved"] = { statuses: [307], headers: { location: receiverUrl("/elsewhere") } };
    const created = await api("POST", `/accounts/${demo.account.id}/webhooks`, { url: receiverUrl("/moved"), types: ["binding.created"] });
    await switchEvent("sofia::register", 5074);
    let letters: any[] = [];
    const deadline = Date.now() + 30_000;
    while (letters.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      letters = (await api("GET", `/accounts/${demo.account.id}/webhooks/${created.body.webhook.id}/dead-letters`)).body.items;
    }
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ attempts: 3, lastError: "HTTP 307: redirects are not followed" });
    expect(deliveries.filter((d) => d.path === "/moved")).toHaveLength(3);
    expect(deliveries.filter((d) => d.path === "/elsewhere")).toEqual([]);
    await api("DELETE", `/accounts/${demo.account.id}/webhooks/${created.body.webhook.id}`);
  });

  // Last: it removes the demo account.
  it("an account removed while a delivery is in flight: the delivery ends without touching the removed tables", async () => {
    behaviour["/removed"] = { statuses: [200], hold: true };
    await api("POST", `/accounts/${demo.account.id}/webhooks`, { url: receiverUrl("/removed") });
    await switchEvent("sofia::register", 5075);
    await until("a delivery held open by the receiver", () => held.some((h) => h.path === "/removed"));
    const operatorKey = /operator API key\s+(\S+)/.exec(output)![1];
    const removed = await fetch(`${base}/api/v1/accounts/${demo.account.id}`, { method: "DELETE", headers: { authorization: `Bearer ${operatorKey}` } });
    expect(removed.status).toBe(200);
    const printed = output.length;
    releaseHeld("/removed");
    await until("the held delivery answered", () => deliveries.some((d) => d.path === "/removed"));
    // The object finishes its run when the answer arrives; a request after it is logged after it.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await until("a request logged after the run", () => output.slice(printed).includes("/healthz"));
    expect(output.slice(printed)).not.toMatch(/no such table|uncaught exception/i);
  });
});
