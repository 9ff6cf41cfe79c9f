// GET /api/v1/metrics: the Prometheus text the operator's Prometheus scrapes, with the counts
// the account objects and the fleet monitor hold (the real scrape is test/node/prometheus.test.ts).
import { env, exports } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { Counters } from "../../durable-objects/account-registrar/meter";
import { accountKey, call, createAccount } from "../helpers";
import { addDevice, createSwitch, freshAccount, verifiedRegister, type TestSwitch } from "./freeswitch/support";
import { answer, kamailio } from "./kamailio/support";

const REALM = "metrics.test";
let accountId: string;
let sw: TestSwitch;

beforeEach(async () => {
  accountId = (await freshAccount(REALM, { lockout: { threshold: 2, windowSeconds: 300, durationSeconds: 600 } })).id;
  await addDevice(accountId, "1001", "metrics-pass-1001");
  await addDevice(accountId, "1002", "metrics-pass-1002");
  sw = await createSwitch("sip:127.0.0.2:5060");
});

function register(user: string, authorization: string, cseq: string) {
  return {
    method: "REGISTER",
    requestUri: `sip:${REALM}`,
    to: `sip:${user}@${REALM}`,
    authorization,
    source: "127.0.0.1:5070",
    contact: `<sip:${user}@127.0.0.1:5070>;expires=120`,
    callId: `metrics-${user}@127.0.0.1`,
    cseq,
  };
}

/** Challenge, then answer with this password: one REGISTER as a phone sends it. */
async function registerAs(user: string, password: string) {
  const challenge = await kamailio("authorize", register(user, "", "1"), sw);
  const authorization = await answer(challenge.body.headers, user, password, "REGISTER", `sip:${REALM}`);
  return (await kamailio("authorize", register(user, authorization, "2"), sw)).body;
}

async function scrape(auth = `Bearer ${env.OPERATOR_API_KEY}`) {
  const response = await exports.default.fetch(new Request("https://edge.test/api/v1/metrics", { headers: { authorization: auth } }));
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", text: await response.text() };
}

/** The value of the one sample with exactly these labels (in any order); undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? "").matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (JSON.stringify(Object.entries(found).sort()) === JSON.stringify(Object.entries(labels).sort())) return Number(match[3]);
  }
  return undefined;
}

describe("metrics endpoint", () => {
  it("counts REGISTER authentications, failures, source lockouts, refusals by a lock, bindings and callbacks per account and switch", async () => {
    expect((await registerAs("1001", "metrics-pass-1001")).status).toBe(200);
    expect((await registerAs("1002", "wrong-1")).status).toBe(401);
    expect((await registerAs("1002", "wrong-2")).status).toBe(401); // the second failure locks this source out of 1002
    expect((await registerAs("1002", "metrics-pass-1002")).status).toBe(401); // refused by the source's lock

    const { status, contentType, text } = await scrape();
    expect(status).toBe(200);
    expect(contentType).toBe("text/plain; version=0.0.4; charset=utf-8");
    const auth = (outcome: string) => sample(text, "whistle_authentications_total", { account: accountId, switch: sw.id, method: "REGISTER", outcome });
    expect(auth("ok")).toBe(1);
    expect(auth("failed")).toBe(2);
    expect(auth("locked")).toBe(1);
    expect(sample(text, "whistle_lockouts_total", { account: accountId, switch: sw.id, scope: "source" })).toBe(1);
    expect(sample(text, "whistle_lockouts_total", { account: accountId, switch: sw.id, scope: "device" })).toBeUndefined();
    expect(sample(text, "whistle_bindings", { account: accountId, switch: sw.id })).toBe(1);
    expect(sample(text, "whistle_event_outbox_depth", { account: accountId })).toBe(0);
    expect(sample(text, "whistle_webhook_deliveries_total", { account: accountId, outcome: "ok" })).toBe(0);
    expect(sample(text, "whistle_switch_state", { switch: sw.id, state: "alive" })).toBe(1);
    expect(sample(text, "whistle_switch_state", { switch: sw.id, state: "lost" })).toBe(0);
    // Four challenges (answered before the account's object is asked, named by their realm) and
    // four digest checks, all the account's.
    const callbacks = { account: accountId, switch: sw.id, kind: "kamailio.authorize" };
    expect(sample(text, "whistle_callback_duration_seconds_count", callbacks)).toBe(8);
    expect(sample(text, "whistle_callback_duration_seconds_bucket", { ...callbacks, le: "+Inf" })).toBe(8);
    expect(sample(text, "whistle_callback_duration_seconds_count", { ...callbacks, account: "" })).toBeUndefined();
    // Buckets are cumulative and never exceed the count.
    const bounds = ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2"];
    const cumulative = bounds.map((le) => sample(text, "whistle_callback_duration_seconds_bucket", { ...callbacks, le })!);
    expect(cumulative.every((n, i) => n >= (cumulative[i - 1] ?? 0) && n <= 8)).toBe(true);
    // Bounded labels: no device, username or contact anywhere.
    expect(text).not.toMatch(/1001|1002|127\.0\.0\.1/);
    expect(text).toMatch(/^# TYPE whistle_callback_duration_seconds histogram$/m);
  });

  it("counts a FreeSWITCH INVITE authentication and its directory callback", async () => {
    await verifiedRegister(sw, { realm: REALM, username: "1001", password: "metrics-pass-1001" }, "INVITE");
    const { text } = await scrape();
    expect(sample(text, "whistle_authentications_total", { account: accountId, switch: sw.id, method: "INVITE", outcome: "ok" })).toBe(1);
    expect(sample(text, "whistle_authentications_total", { account: accountId, switch: sw.id, method: "REGISTER", outcome: "ok" })).toBeUndefined();
    expect(sample(text, "whistle_callback_duration_seconds_count", { account: accountId, switch: sw.id, kind: "freeswitch.directory" })).toBe(1);
  });

  it("counts webhook deliveries (ok, failed, dead-lettered) and the outbox's depth", async () => {
    const hook = await call("POST", `/accounts/${accountId}/webhooks`, { body: { url: "https://hooks.example.net/metrics" } });
    expect(hook.status).toBe(201);
    const stub = env.REGISTRAR.get(env.REGISTRAR.idFromString(accountId));
    // The receiver takes the first event and refuses every later one (WEBHOOK_MAX_ATTEMPTS is 3 in tests).
    let posts = 0;
    const outbound = vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response(null, { status: ++posts === 1 ? 204 : 500 }));
    try {
      for (const host of ["192.0.2.1", "192.0.2.2"]) {
        await stub.register("1001", { aor: `sip:1001@${REALM}`, callId: host, cseq: 1, contacts: [{ uri: `sip:1001@${host}` }], expires: 300 });
      }
      expect(sample((await scrape()).text, "whistle_event_outbox_depth", { account: accountId })).toBe(2);
      for (let i = 0; i < 40 && posts < 4; i++) {
        await runDurableObjectAlarm(stub);
        await scheduler.wait(10);
      }
    } finally {
      outbound.mockRestore();
    }
    expect(posts).toBe(4);
    const { text } = await scrape();
    const deliveries = (outcome: string) => sample(text, "whistle_webhook_deliveries_total", { account: accountId, outcome });
    expect([deliveries("ok"), deliveries("failed"), deliveries("dead_lettered")]).toEqual([1, 2, 1]);
    expect(sample(text, "whistle_event_outbox_depth", { account: accountId })).toBe(0);
  });

  it("drops every series of a removed account, its callbacks' included", async () => {
    expect((await registerAs("1001", "metrics-pass-1001")).status).toBe(200);
    // A challenge for a realm no account has: counted with the callbacks that name no account.
    const madeUp = { ...register("1001", "", "1"), requestUri: "sip:made-up.test", to: "sip:1001@made-up.test", from: "sip:1001@made-up.test" };
    expect((await kamailio("authorize", madeUp, sw)).body.status).toBe(401);
    const before = await scrape();
    expect(sample(before.text, "whistle_callback_duration_seconds_count", { account: accountId, switch: sw.id, kind: "kamailio.authorize" })).toBe(2);
    expect(before.text).not.toContain(env.REGISTRAR.idFromName("made-up.test").toString());
    expect(before.text).toContain(`account="${accountId}"`);
    expect((await call("DELETE", `/accounts/${accountId}`)).status).toBe(200);
    const after = await scrape();
    expect(after.text).not.toContain(accountId);
    // Callbacks that name no account (the made-up realm's challenge) keep their series.
    expect(sample(after.text, "whistle_callback_duration_seconds_count", { account: "", switch: sw.id, kind: "kamailio.authorize" })).toBeGreaterThan(0);
    expect(await scrape()).toMatchObject({ status: 200 });
    expect((await scrape()).text).not.toContain(accountId);
  });

  it("keeps one callback series per route: paths no route has add no series, however many there are", async () => {
    const kinds = (text: string) =>
      new Set(text.split("\n").filter((l) => l.startsWith("whistle_callback_duration_seconds_count")).map((l) => /kind="([^"]*)"/.exec(l)?.[1]));
    const before = kinds((await scrape()).text);
    for (let i = 0; i < 50; i++) {
      for (const base of ["/freeswitch/v1/", "/kamailio/v1/"]) {
        const response = await exports.default.fetch(new Request(`https://edge.test${base}scan${String.fromCharCode(97 + (i % 26))}${i}`, { method: "POST", body: "{}" }));
        expect([401, 404]).toContain(response.status);
      }
    }
    // Callbacks that exist still count: an unauthenticated one is answered, and counted under its route.
    expect((await exports.default.fetch(new Request("https://edge.test/kamailio/v1/locate", { method: "POST", body: "{}" }))).status).toBe(401);
    const after = kinds((await scrape()).text);
    expect([...after].filter((k) => !before.has(k))).toEqual(before.has("kamailio.locate") ? [] : ["kamailio.locate"]);
    for (const kind of after) expect(["kamailio.authorize", "kamailio.locate", "kamailio.keepalive", "freeswitch.directory", "freeswitch.dialplan", "freeswitch.xml", "freeswitch.event"]).toContain(kind);
  });

  it("is for the operator only", async () => {
    const key = await call("POST", `/accounts/${accountId}/api-keys`, { body: { name: "metrics" } });
    expect(key.status).toBe(201);
    expect((await scrape(`Bearer ${key.body.key}`)).status).toBe(403);
    expect((await scrape("Bearer nope")).status).toBe(401);
  });

  it("keeps the counters a scrape has read across a restart of the account's object", async () => {
    await registerAs("1001", "metrics-pass-1001");
    const before = await scrape();
    const ok = { account: accountId, switch: sw.id, method: "REGISTER", outcome: "ok" };
    expect(sample(before.text, "whistle_authentications_total", ok)).toBe(1);
    // A fresh counter set over the same storage (what a restarted object builds) starts from what was read.
    const stub = env.REGISTRAR.get(env.REGISTRAR.idFromString(accountId));
    const restored = await runInDurableObject(stub, (_instance, state) => new Counters(state.storage).read());
    expect(restored.auth).toEqual([{ switch: sw.id, method: "REGISTER", outcome: "ok", count: 1 }]);
  });
});

describe("an account's metrics as JSON", () => {
  it("answers the account's own numbers, summed over switches, as the Prometheus text counts them", async () => {
    expect((await registerAs("1001", "metrics-pass-1001")).status).toBe(200);
    expect((await registerAs("1002", "wrong-1")).status).toBe(401);
    expect((await registerAs("1002", "wrong-2")).status).toBe(401);
    expect((await registerAs("1002", "metrics-pass-1002")).status).toBe(401);
    await verifiedRegister(sw, { realm: REALM, username: "1001", password: "metrics-pass-1001" }, "INVITE");

    const reply = await call("GET", `/accounts/${accountId}/metrics`);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      accountId,
      bindings: 1,
      authentications: {
        REGISTER: { ok: 1, failed: 2, locked: 1 },
        INVITE: { ok: 1, failed: 0, locked: 0 },
        OTHER: { ok: 0, failed: 0, locked: 0 },
      },
      lockouts: { source: 1, device: 0 },
      webhookDeliveries: { ok: 0, failed: 0, dead_lettered: 0 },
      outboxDepth: 0,
    });
    expect(Date.parse(reply.body.at)).not.toBeNaN();
    // The same counters as the operator's scrape.
    const { text } = await scrape();
    expect(sample(text, "whistle_authentications_total", { account: accountId, switch: sw.id, method: "REGISTER", outcome: "failed" })).toBe(2);
  });

  it("is readable with the account's own key and refused for another account's key, without a key, and for an unknown account", async () => {
    const own = await accountKey(accountId);
    const other = await createAccount();
    const foreign = await accountKey(other.id);
    expect((await call("GET", `/accounts/${accountId}/metrics`, { auth: own })).status).toBe(200);
    const refused = await call("GET", `/accounts/${accountId}/metrics`, { auth: foreign });
    expect(refused.status).toBe(403);
    expect(refused.contentType).toContain("application/problem+json");
    expect(JSON.stringify(refused.body)).not.toContain("bindings");
    expect((await call("GET", `/accounts/${accountId}/metrics`, { auth: null })).status).toBe(401);
    expect((await call("GET", `/accounts/${"0".repeat(64)}/metrics`)).status).toBe(404);
    // The other account's key sees its own account only: nothing of this one's counts.
    const theirs = await call("GET", `/accounts/${other.id}/metrics`, { auth: foreign });
    expect(theirs.status).toBe(200);
    expect(theirs.body.accountId).toBe(other.id);
    expect(theirs.body.authentications.REGISTER).toEqual({ ok: 0, failed: 0, locked: 0 });
  });
});
