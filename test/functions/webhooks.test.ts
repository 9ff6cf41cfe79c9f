// Webhook subscriptions through the API, and what the object does when a target cannot be reached.
// (Deliveries to a real local receiver are tested in test/node/webhooks.test.ts.)
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { registrarForId } from "../../functions/accounts";
import { backoff, DEFAULT_WEBHOOK_POLICY, signature } from "../../durable-objects/account-registrar/webhooks";
import { accountKey, call, createAccount, createDevice } from "../helpers";

let account: { id: string; realm: string };
let key: string;

beforeEach(async () => {
  account = await createAccount();
  key = await accountKey(account.id);
  await createDevice(account.id, "1001");
});

const subscribe = (body: unknown, auth = key) => call("POST", `/accounts/${account.id}/webhooks`, { auth, body });

describe("webhook subscriptions", () => {
  it("are created with a secret shown once, listed without it, and removed", async () => {
    const created = await subscribe({ url: "https://hooks.example.net/whistle", types: ["binding.created", "binding.removed"] });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_[0-9a-f]{48}$/);
    expect(created.body.webhook).toMatchObject({ url: "https://hooks.example.net/whistle", types: ["binding.created", "binding.removed"], includeRefreshed: false });
    const list = await call("GET", `/accounts/${account.id}/webhooks`, { auth: key });
    expect(list.body.items).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(created.body.secret);
    expect((await call("DELETE", `/accounts/${account.id}/webhooks/${created.body.webhook.id}`, { auth: key })).status).toBe(200);
    expect((await call("GET", `/accounts/${account.id}/webhooks`, { auth: key })).body.items).toEqual([]);
  });

  it("refuse loopback, private and plain-http targets in production mode, naming the field", async () => {
    for (const url of ["https://127.0.0.1/x", "https://10.1.2.3/x", "https://192.168.1.1/x", "https://localhost:8080/x", "https://[::1]/x", "http://hooks.example.net/x", "https://172.20.0.1/x"]) {
      const refused = await subscribe({ url });
      expect(refused.status).toBe(422);
      expect(refused.body.errors[0].field).toBe("url");
    }
    const bad = await subscribe({ url: "https://hooks.example.net/x", types: ["binding.teleported"] });
    expect(bad.status).toBe(400);
    expect((await call("GET", `/accounts/${account.id}/webhooks`, { auth: key })).body.items).toEqual([]);
  });

  it("another account cannot list or remove them", async () => {
    const created = await subscribe({ url: "https://hooks.example.net/whistle" });
    const other = await createAccount();
    const otherKey = await accountKey(other.id);
    expect((await call("GET", `/accounts/${account.id}/webhooks`, { auth: otherKey })).status).toBe(403);
    expect((await call("DELETE", `/accounts/${account.id}/webhooks/${created.body.webhook.id}`, { auth: otherKey })).status).toBe(403);
    expect((await call("DELETE", `/accounts/${other.id}/webhooks/${created.body.webhook.id}`, { auth: otherKey })).status).toBe(404);
  });
});

describe("webhook deliveries", () => {
  it("an unreachable target is retried with backoff, then its events go to the dead-letter list in order", async () => {
    const created = await subscribe({ url: "https://unreachable.invalid/hook" });
    const stub = registrarForId(env, account.id)!;
    for (const [i, host] of ["192.0.2.1", "192.0.2.2"].entries()) {
      await stub.register("1001", { aor: `sip:1001@${account.realm}`, callId: `c${i}`, cseq: 1, contacts: [{ uri: `sip:1001@${host}` }], expires: 300 });
    }
    // The alarm runs the deliveries; each failure reschedules it. Drive it until both are dead-lettered.
    let dead: any[] = [];
    for (let i = 0; i < 40 && dead.length < 2; i++) {
      await runDurableObjectAlarm(stub);
      await new Promise((r) => setTimeout(r, 10));
      dead = (await call("GET", `/accounts/${account.id}/webhooks/${created.body.webhook.id}/dead-letters`, { auth: key })).body.items;
    }
    expect(dead.map((d) => [d.event.type, d.event.contact, d.attempts])).toEqual([
      ["binding.created", "sip:1001@192.0.2.1", 3],
      ["binding.created", "sip:1001@192.0.2.2", 3],
    ]);
    expect(dead[0].seq).toBeLessThan(dead[1].seq);
    expect(dead[0].lastError).toBeTruthy();
    const [hook] = (await call("GET", `/accounts/${account.id}/webhooks`, { auth: key })).body.items;
    expect(hook).toMatchObject({ cursor: dead[1].seq, attempts: 0, nextAttemptAt: null });
  });

  it("a target holding a delivery open does not hold up the account's callbacks", async () => {
    const created = await subscribe({ url: "https://slow.example.net/hook" });
    const stub = registrarForId(env, account.id)!;
    // The object's outbound fetch (the object runs in this isolate): the delivery stays open,
    // unanswered, until the test releases it. (A promise cannot be settled across the object's I/O
    // context, so the held fetch waits on a flag in its own.)
    let released = false;
    const inFlight: string[] = [];
    const outbound = vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      inFlight.push(input instanceof Request ? input.url : String(input));
      while (!released) await scheduler.wait(1);
      return new Response(null, { status: 204 });
    });
    try {
      await stub.register("1001", { aor: `sip:1001@${account.realm}`, callId: "c1", cseq: 1, contacts: [{ uri: "sip:1001@192.0.2.1" }], expires: 300 });
      let delivered = false;
      const delivering = runDurableObjectAlarm(stub).then(() => (delivered = true));
      for (let i = 0; i < 5_000 && inFlight.length === 0; i++) await scheduler.wait(1);
      expect(inFlight).toEqual(["https://slow.example.net/hook"]);
      // The delivery is open: the object still answers switches, and registers.
      expect(await stub.credentials("1001")).toMatchObject({ username: "1001" });
      expect(await stub.locate("1001")).toHaveLength(1);
      const second = await stub.register("1001", { aor: `sip:1001@${account.realm}`, callId: "c2", cseq: 1, contacts: [{ uri: "sip:1001@192.0.2.2" }], expires: 300 });
      expect(second.status).toBe("registered");
      expect(delivered).toBe(false);
      released = true;
      await delivering;
      const [hook] = (await call("GET", `/accounts/${account.id}/webhooks`, { auth: key })).body.items;
      expect(hook).toMatchObject({ id: created.body.webhook.id, attempts: 0, lastError: null });
      expect(hook.cursor).toBeGreaterThan(0);
    } finally {
      outbound.mockRestore();
    }
  });

  it("signatures are HMAC-SHA256 over the timestamp and the body; backoff doubles up to an hour", async () => {
    const header = await signature("whsec_test", '{"a":1}', 1_800_000_000);
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("whsec_test"), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    const mac = Uint8Array.from(header.split("v1=")[1]!.match(/../g)!.map((h) => parseInt(h, 16)));
    expect(header.startsWith("t=1800000000,v1=")).toBe(true);
    expect(await crypto.subtle.verify("HMAC", key, mac, new TextEncoder().encode('1800000000.{"a":1}'))).toBe(true);
    expect([1, 2, 3, 4].map((n) => backoff(n, DEFAULT_WEBHOOK_POLICY))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoff(30, DEFAULT_WEBHOOK_POLICY)).toBe(3_600_000);
  });
});

describe("webhook targets checked at creation and at every delivery", () => {
  it("the private and special forms are refused at creation, naming the field", async () => {
    for (const url of ["https://localhost./", "https://localhost.localdomain/", "https://[::7f00:1]/", "https://[64:ff9b::a9fe:a9fe]/", "https://[2002:7f00:1::]/", "https://[fec0::1]/", "https://240.0.0.1/", "https://0x7f.1/", "https://[::ffff:169.254.169.254]/"]) {
      const refused = await subscribe({ url });
      expect(refused.status, url).toBe(422);
      expect(refused.body.errors[0].field).toBe("url");
    }
    expect((await subscribe({ url: "https://hook\u0000s.example.net/" })).status).toBe(400);
    expect((await call("GET", `/accounts/${account.id}/webhooks`, { auth: key })).body.items).toEqual([]);
  });

  it("a subscription made under the local-development allowance is not delivered once the allowance is off, and says so", async () => {
    const stub = registrarForId(env, account.id)!;
    const made = await subscribe({ url: "https://hooks.example.net/whistle" });
    // As if made while WEBHOOK_ALLOW_PRIVATE was true: its target now aims at this machine.
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE webhooks SET url = ? WHERE id = ?", "http://127.0.0.1:9/hook", made.body.webhook.id);
    });
    await stub.register("1001", { aor: `sip:1001@${account.realm}`, callId: "c-refused", cseq: 1, contacts: [{ uri: "sip:1001@192.0.2.9" }], expires: 300 });
    for (let i = 0; i < 5; i++) await runDurableObjectAlarm(stub);
    const [hook] = (await call("GET", `/accounts/${account.id}/webhooks`, { auth: key })).body.items;
    expect(hook).toMatchObject({ state: "refused", cursor: made.body.webhook.cursor, attempts: 0, lastError: null, nextAttemptAt: null });
    expect(hook.refusedReason).toMatch(/https/);
    expect((await call("GET", `/accounts/${account.id}/webhooks/${hook.id}/dead-letters`, { auth: key })).body.items).toEqual([]);
    // A public target is active.
    const other = await subscribe({ url: "https://hooks.example.net/other" });
    expect(other.body.webhook).toMatchObject({ state: "active", refusedReason: null });
  });
});
