// Live registrations through the provisioning API: listed with their holding switch, filtered by
// device, removed one at a time, never shown once expired, never visible to another account.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { registrarForId } from "../../functions/accounts";
import { accountKey, call, createAccount, createDevice } from "../helpers";

async function registered() {
  const account = await createAccount();
  const desk = await createDevice(account.id, "1001");
  const soft = await createDevice(account.id, "1002", "s3cret-1002");
  const stub = registrarForId(env, account.id)!;
  for (const [username, host, switchId] of [
    ["1001", "192.0.2.10", "sw_a"],
    ["1001", "192.0.2.11", "sw_b"],
    ["1002", "192.0.2.20", "sw_a"],
  ] as const) {
    const result = await stub.register(username, {
      aor: `sip:${username}@${account.realm}`,
      callId: `${username}-${host}`,
      cseq: 1,
      contacts: [{ uri: `sip:${username}@${host}:5060` }],
      expires: 300,
      received: `${host}:5060`,
      userAgent: "Test Phone",
      switchId,
    });
    expect(result.status).toBe("registered");
  }
  return { account, desk, soft, stub };
}

describe("registrations API", () => {
  it("lists live registrations with contact, holding switch and time to expiry", async () => {
    const { account, desk } = await registered();
    const list = await call("GET", `/accounts/${account.id}/registrations`);
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(3);
    const first = list.body.items.find((r: { contact: string }) => r.contact === "sip:1001@192.0.2.10:5060");
    expect(first).toMatchObject({
      deviceId: desk.id,
      aor: `sip:1001@${account.realm}`,
      switchId: "sw_a",
      received: "192.0.2.10:5060",
      userAgent: "Test Phone",
    });
    expect(first.expiresIn).toBeGreaterThan(290);
    expect(first.expiresIn).toBeLessThanOrEqual(300);
    expect(Date.parse(first.expiresAt)).toBeGreaterThan(Date.now());
  });

  it("filters by device and pages with the next cursor", async () => {
    const { account, desk } = await registered();
    const mine = await call("GET", `/accounts/${account.id}/registrations?deviceId=${desk.id}`);
    expect(mine.body.items.map((r: { contact: string }) => r.contact).sort()).toEqual([
      "sip:1001@192.0.2.10:5060",
      "sip:1001@192.0.2.11:5060",
    ]);
    const page1 = await call("GET", `/accounts/${account.id}/registrations?limit=2`);
    expect(page1.body.items).toHaveLength(2);
    expect(page1.body.next).not.toBeNull();
    const page2 = await call("GET", `/accounts/${account.id}/registrations?limit=2&after=${page1.body.next}`);
    expect(page2.body.items).toHaveLength(1);
    expect(page2.body.next).toBeNull();
    const bad = await call("GET", `/accounts/${account.id}/registrations?after=not-a-cursor`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe("after");
  });

  it("deleting a registration forces that contact to register again, and leaves the others", async () => {
    const { account, stub } = await registered();
    const list = await call("GET", `/accounts/${account.id}/registrations`);
    const target = list.body.items[0];
    const removed = await call("DELETE", `/accounts/${account.id}/registrations/${target.id}`);
    expect(removed).toMatchObject({ status: 200, body: { deleted: target.id } });
    const after = await call("GET", `/accounts/${account.id}/registrations`);
    expect(after.body.items.map((r: { id: number }) => r.id)).not.toContain(target.id);
    expect(after.body.items).toHaveLength(2);
    const again = await call("DELETE", `/accounts/${account.id}/registrations/${target.id}`);
    expect(again.status).toBe(404);
    expect(again.contentType).toBe("application/problem+json");
    expect(await stub.storedBindingCount()).toBe(2);
  });

  it("an expired registration is not listed even before the alarm sweeps it", async () => {
    const { account, stub } = await registered();
    await runInDurableObject(stub, (_i, state) => {
      state.storage.sql.exec("UPDATE bindings SET expires_at = ? WHERE call_id = '1002-192.0.2.20'", Date.now() - 1);
    });
    const list = await call("GET", `/accounts/${account.id}/registrations`);
    expect(list.body.items.map((r: { callId: string }) => r.callId).sort()).toEqual(["1001-192.0.2.10", "1001-192.0.2.11"]);
  });

  it("another account's key can neither list nor delete these registrations", async () => {
    const { account, stub } = await registered();
    const other = await createAccount();
    const otherKey = await accountKey(other.id);
    const list = await call("GET", `/accounts/${account.id}/registrations`, { auth: otherKey });
    expect(list.status).toBe(403);
    const ids = (await call("GET", `/accounts/${account.id}/registrations`)).body.items.map((r: { id: number }) => r.id);
    for (const id of ids) {
      const attempt = await call("DELETE", `/accounts/${account.id}/registrations/${id}`, { auth: otherKey });
      expect(attempt.status).toBe(403);
      // Its own account has no such registration either.
      expect((await call("DELETE", `/accounts/${other.id}/registrations/${id}`, { auth: otherKey })).status).toBe(404);
    }
    expect(await stub.storedBindingCount()).toBe(3);
  });
});
