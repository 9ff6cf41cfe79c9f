// The AccountRegistrar object with its real SQLite storage: registrar rules, expiry, secrets at rest.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { SWEEP_BATCH } from "../../durable-objects/account-registrar/AccountRegistrar";
import { computeHa1 } from "../../registrar/digest";
import { DEFAULT_LOCKOUT } from "../../registrar/lockout";
import { DEFAULT_POLICY, type RegisterRequest, type RegistrationPolicy } from "../../registrar/types";
import { freezeClock, type TestClock } from "../clock";
import { uniqueRealm } from "../helpers";

const HOUR = 3_600_000;
let clock: TestClock;
// Every test reads the frozen test clock, set an hour ahead of the runtime's own: an alarm the
// object sets then never fires by itself during the test, only when the test runs it.
beforeEach(() => {
  clock = freezeClock(Date.now() + HOUR);
});

async function account(policy: Partial<RegistrationPolicy> = {}) {
  const realm = uniqueRealm("do");
  const id = env.REGISTRAR.idFromName(realm);
  const stub = env.REGISTRAR.get(id);
  const init = await stub.initialize({
    id: id.toString(),
    realm,
    name: "Test",
    jurisdiction: null,
    regionHint: null,
    policy: { ...DEFAULT_POLICY, ...policy },
    lockout: DEFAULT_LOCKOUT,
  });
  expect(init.ok).toBe(true);
  const device = await stub.createDevice({ username: "1001", password: "s3cret-1001" });
  if (!device.ok) throw new Error(device.refusal.detail);
  return { stub, realm, deviceId: device.value.id };
}

function registerRequest(realm: string, overrides: Partial<RegisterRequest> = {}): RegisterRequest {
  return {
    aor: `sip:1001@${realm}`,
    callId: "call-1@phone",
    cseq: 1,
    contacts: [{ uri: "sip:1001@192.0.2.10:5060" }],
    expires: 300,
    received: "192.0.2.10:5060",
    userAgent: "Yealink T54W",
    switchId: "sw_a",
    ...overrides,
  };
}

describe("AccountRegistrar registrations", () => {
  it("stores a binding with its path, received address, user agent and holding switch", async () => {
    const { stub, realm } = await account();
    const result = await stub.register(
      "1001",
      registerRequest(realm, { path: ["<sip:lb1.example.net;lr>"], contacts: [{ uri: "sip:1001@192.0.2.10:5060", q: 0.8 }] }),
    );
    expect(result.status).toBe("registered");
    const located = await stub.locate("1001");
    expect(located).toHaveLength(1);
    expect(located![0]).toMatchObject({
      aor: `sip:1001@${realm}`,
      contact: "sip:1001@192.0.2.10:5060",
      path: ["<sip:lb1.example.net;lr>"],
      received: "192.0.2.10:5060",
      userAgent: "Yealink T54W",
      switchId: "sw_a",
      q: 0.8,
      cseq: 1,
    });
    expect(located![0]!.expiresAt).toBe(clock.now() + 300_000);
  });

  it("a REGISTER with a stale CSeq does not replace the newer binding", async () => {
    const { stub, realm } = await account();
    await stub.register("1001", registerRequest(realm, { cseq: 5, switchId: "sw_a" }));
    const stale = await stub.register("1001", registerRequest(realm, { cseq: 4, switchId: "sw_b" }));
    expect(stale).toMatchObject({ status: "rejected", error: { code: "stale_cseq" } });
    const same = await stub.register("1001", registerRequest(realm, { cseq: 5, switchId: "sw_b" }));
    expect(same.status).toBe("rejected");
    const located = await stub.locate("1001");
    expect(located!.map((b) => [b.cseq, b.switchId])).toEqual([[5, "sw_a"]]);
    const newer = await stub.register("1001", registerRequest(realm, { cseq: 6, switchId: "sw_b" }));
    expect(newer.status).toBe("registered");
    expect((await stub.locate("1001"))!.map((b) => [b.cseq, b.switchId])).toEqual([[6, "sw_b"]]);
  });

  it("a device rings on every phone up to the binding limit, and a fourth new phone is refused", async () => {
    const { stub, realm } = await account({ maxBindingsPerDevice: 3 });
    for (const [i, host] of ["192.0.2.10", "192.0.2.11", "192.0.2.12"].entries()) {
      const r = await stub.register("1001", registerRequest(realm, { callId: `c${i}`, contacts: [{ uri: `sip:1001@${host}` }] }));
      expect(r.status).toBe("registered");
    }
    const fourth = await stub.register("1001", registerRequest(realm, { callId: "c4", contacts: [{ uri: "sip:1001@192.0.2.13" }] }));
    expect(fourth).toMatchObject({ status: "rejected", error: { code: "too_many_bindings", max: 3 } });
    const refresh = await stub.register("1001", registerRequest(realm, { callId: "c0", cseq: 2, contacts: [{ uri: "sip:1001@192.0.2.10" }] }));
    expect(refresh.status).toBe("registered");
    expect(await stub.locate("1001")).toHaveLength(3);
  });

  it("with replace_oldest the least recently refreshed phone gives way to a new one", async () => {
    const { stub, realm } = await account({ maxBindingsPerDevice: 2, overflow: "replace_oldest" });
    await stub.register("1001", registerRequest(realm, { callId: "first", contacts: [{ uri: "sip:1001@192.0.2.10" }] }));
    clock.advance(1_000);
    await stub.register("1001", registerRequest(realm, { callId: "second", contacts: [{ uri: "sip:1001@192.0.2.11" }] }));
    clock.advance(1_000);
    // The first phone refreshes: the second is now the least recently refreshed, though newer.
    await stub.register("1001", registerRequest(realm, { callId: "first", cseq: 2, contacts: [{ uri: "sip:1001@192.0.2.10" }] }));
    clock.advance(1_000);
    const r = await stub.register("1001", registerRequest(realm, { callId: "third", contacts: [{ uri: "sip:1001@192.0.2.12" }] }));
    expect(r.status).toBe("registered");
    expect((await stub.locate("1001"))!.map((b) => b.callId).sort()).toEqual(["first", "third"]);
  });

  it("a new contact with the same +sip.instance and reg-id replaces the device's stale binding", async () => {
    const { stub, realm } = await account();
    const instanceId = "<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";
    await stub.register("1001", registerRequest(realm, { callId: "wifi", contacts: [{ uri: "sip:1001@192.0.2.10:5060", instanceId, regId: 1 }] }));
    // The phone moved to another network: new address, new Call-ID, same instance.
    await stub.register("1001", registerRequest(realm, { callId: "lte", contacts: [{ uri: "sip:1001@198.51.100.7:41234", instanceId, regId: 1 }] }));
    const located = await stub.locate("1001");
    expect(located!.map((b) => b.contact)).toEqual(["sip:1001@198.51.100.7:41234"]);
    // A second flow (reg-id 2) of the same instance is a binding of its own.
    await stub.register("1001", registerRequest(realm, { callId: "lte2", contacts: [{ uri: "sip:1001@198.51.100.7:41235", instanceId, regId: 2 }] }));
    expect(await stub.locate("1001")).toHaveLength(2);
  });

  it("unregisters one contact, or every contact with *", async () => {
    const { stub, realm } = await account();
    await stub.register("1001", registerRequest(realm, { callId: "a", contacts: [{ uri: "sip:1001@192.0.2.10" }] }));
    await stub.register("1001", registerRequest(realm, { callId: "b", contacts: [{ uri: "sip:1001@192.0.2.11" }] }));
    await stub.register("1001", registerRequest(realm, { callId: "c", contacts: [{ uri: "sip:1001@192.0.2.12" }] }));
    // Expires: 0 on one contact through REGISTER.
    const zero = await stub.register("1001", registerRequest(realm, { callId: "a", cseq: 2, expires: 0, contacts: [{ uri: "sip:1001@192.0.2.10" }] }));
    expect(zero.status).toBe("registered");
    expect((await stub.locate("1001"))!.map((b) => b.callId).sort()).toEqual(["b", "c"]);
    expect(await stub.unregister("1001", "sip:1001@192.0.2.11")).toEqual({ ok: true, value: { removed: 1 } });
    // A wildcard with Expires other than 0 is refused and changes nothing.
    const badWildcard = await stub.register("1001", registerRequest(realm, { callId: "z", contacts: "*", expires: 60 }));
    expect(badWildcard).toMatchObject({ status: "rejected", error: { code: "invalid_wildcard" } });
    expect(await stub.locate("1001")).toHaveLength(1);
    const wildcard = await stub.register("1001", registerRequest(realm, { callId: "z", contacts: "*", expires: 0 }));
    expect(wildcard.status).toBe("registered");
    expect(await stub.locate("1001")).toEqual([]);
  });

  it("an interval below the account minimum is refused with the minimum to retry with", async () => {
    const { stub, realm } = await account({ minExpires: 120 });
    const r = await stub.register("1001", registerRequest(realm, { expires: 30 }));
    expect(r).toMatchObject({ status: "rejected", error: { code: "interval_too_brief", minExpires: 120 } });
    expect(await stub.locate("1001")).toEqual([]);
  });

  it("a longer interval than the maximum is shortened to it", async () => {
    const { stub, realm } = await account({ maxExpires: 600 });
    const r = await stub.register("1001", registerRequest(realm, { expires: 7200 }));
    expect(r.status).toBe("registered");
    const [binding] = (await stub.locate("1001"))!;
    expect(binding!.expiresAt).toBe(clock.now() + 600_000);
  });

  it("the answer lists every contact of the device with its expiry, the untouched ones too", async () => {
    const { stub, realm } = await account();
    await stub.register("1001", registerRequest(realm, { callId: "desk", contacts: [{ uri: "sip:1001@192.0.2.10:5060" }], expires: 600 }));
    const second = await stub.register("1001", registerRequest(realm, { callId: "soft", contacts: [{ uri: "sip:1001@192.0.2.11:5060" }], expires: 300 }));
    if (second.status !== "registered") throw new Error(second.status);
    const byContact = new Map(second.contacts.map((c) => [c.contact, c.expiresAt - clock.now()]));
    expect([...byContact.keys()].sort()).toEqual(["sip:1001@192.0.2.10:5060", "sip:1001@192.0.2.11:5060"]);
    expect(byContact.get("sip:1001@192.0.2.10:5060")).toBe(600_000);
    expect(byContact.get("sip:1001@192.0.2.11:5060")).toBe(300_000);
    const removed = await stub.register("1001", registerRequest(realm, { callId: "soft", cseq: 2, contacts: [{ uri: "sip:1001@192.0.2.11:5060" }], expires: 0 }));
    expect(removed).toMatchObject({ status: "registered", contacts: [{ contact: "sip:1001@192.0.2.10:5060" }] });
  });

  it("a contact whose expired row the sweep has not reached yet registers again, replacing that row", async () => {
    const { stub, realm } = await account();
    await stub.register("1001", registerRequest(realm, { callId: "old", cseq: 9 }));
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE bindings SET expires_at = ?", Date.now() - 1);
    });
    const again = await stub.register("1001", registerRequest(realm, { callId: "new", cseq: 1 }));
    expect(again).toMatchObject({ status: "registered", contacts: [{ contact: "sip:1001@192.0.2.10:5060" }] });
    expect(await stub.storedBindingCount()).toBe(1);
    expect((await stub.locate("1001"))!.map((b) => b.callId)).toEqual(["new"]);
  });

  it("an unknown or disabled device cannot register and is not located", async () => {
    const { stub, realm, deviceId } = await account();
    expect(await stub.register("9999", registerRequest(realm))).toEqual({ status: "unknown_device" });
    await stub.updateDevice(deviceId, { enabled: false });
    expect(await stub.register("1001", registerRequest(realm))).toEqual({ status: "unknown_device" });
    expect(await stub.locate("1001")).toBeNull();
  });
});

describe("AccountRegistrar expiry", () => {
  it("an expired binding is never returned, even before the alarm has swept it", async () => {
    const { stub, realm } = await account();
    await stub.register("1001", registerRequest(realm));
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE bindings SET expires_at = ?", Date.now() - 1);
    });
    expect(await stub.locate("1001")).toEqual([]);
    expect((await stub.listBindings({}, 50, null)).items).toEqual([]);
    expect(await stub.storedBindingCount()).toBe(1);
  });

  it("a binding that is not refreshed is gone the moment it expires, before any sweep", async () => {
    const { stub, realm } = await account();
    await stub.register("1001", registerRequest(realm, { expires: 60 }));
    clock.advance(59_999);
    expect(await stub.locate("1001")).toHaveLength(1);
    clock.advance(1);
    expect(await stub.locate("1001")).toEqual([]);
    expect((await stub.listBindings({}, 50, null)).items).toEqual([]);
    expect(await stub.storedBindingCount()).toBe(1);
  });

  it("the alarm removes expired bindings from storage and aims at the next deadline", async () => {
    const { stub, realm } = await account();
    await stub.register("1001", registerRequest(realm, { callId: "short", expires: 60, contacts: [{ uri: "sip:1001@192.0.2.10" }] }));
    await stub.register("1001", registerRequest(realm, { callId: "long", expires: 600, contacts: [{ uri: "sip:1001@192.0.2.11" }] }));
    const alarm = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    const [short] = (await stub.locate("1001"))!.filter((b) => b.callId === "short");
    expect(alarm).toBe(short!.expiresAt);
    await runInDurableObject(stub, (_i, state) => {
      state.storage.sql.exec("UPDATE bindings SET expires_at = ? WHERE call_id = 'short'", Date.now() - 1);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.storedBindingCount()).toBe(1);
    const [long] = (await stub.locate("1001"))!;
    expect(long!.callId).toBe("long");
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBe(long!.expiresAt);
  });

  it("the alarm is moved only when a deadline comes earlier than the one already set", async () => {
    const { stub, realm } = await account();
    await stub.register("1001", registerRequest(realm, { callId: "a", expires: 300, contacts: [{ uri: "sip:1001@192.0.2.10" }] }));
    const first = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    await stub.register("1001", registerRequest(realm, { callId: "b", expires: 900, contacts: [{ uri: "sip:1001@192.0.2.11" }] }));
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBe(first);
    await stub.register("1001", registerRequest(realm, { callId: "c", expires: 120, contacts: [{ uri: "sip:1001@192.0.2.12" }] }));
    const moved = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(moved).toBeLessThan(first!);
  });

  it("the alarm sweeps a large expiry in bounded batches and comes back for the rest", async () => {
    const { stub, deviceId } = await account();
    const total = SWEEP_BATCH * 2 + 17;
    await runInDurableObject(stub, (_i, state) => {
      const past = Date.now() - 1000;
      for (let i = 0; i < total; i++) {
        state.storage.sql.exec(
          `INSERT INTO bindings (device_id, aor, contact, call_id, cseq, expires_at, path, created_at, updated_at)
           VALUES (?, 'sip:1001@x', ?, ?, 1, ?, '[]', 0, 0)`,
          deviceId,
          `sip:1001@10.0.${Math.floor(i / 250)}.${i % 250}`,
          `c${i}`,
          past,
        );
      }
    });
    // One alarm run removes one batch only, so callbacks are never held up by a whole sweep.
    await runInDurableObject(stub, (instance) => instance.alarm());
    expect(await stub.storedBindingCount()).toBe(total - SWEEP_BATCH);
    // It re-arms the alarm at once; the follow-up runs finish the sweep, a batch each.
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBe(clock.now());
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.storedBindingCount()).toBe(total - 2 * SWEEP_BATCH);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBe(clock.now());
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.storedBindingCount()).toBe(0);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeNull();
  });
});

describe("AccountRegistrar credentials at rest", () => {
  it("stores digest HA1 values and never the password", async () => {
    const { stub, realm } = await account();
    const rows = await runInDurableObject(stub, (_i, state) => state.storage.sql.exec("SELECT * FROM devices").toArray());
    expect(rows).toHaveLength(1);
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain("s3cret-1001");
    expect(rows[0]!.ha1_md5).toBe(await computeHa1("MD5", "1001", realm, "s3cret-1001"));
    expect(rows[0]!.ha1_sha256).toBe(await computeHa1("SHA-256", "1001", realm, "s3cret-1001"));
    const credentials = await stub.credentials("1001");
    expect(credentials).toMatchObject({ username: "1001", realm, ha1Md5: rows[0]!.ha1_md5 });
  });

  it("authenticating a device writes nothing", async () => {
    const { stub } = await account();
    const changes = await runInDurableObject(stub, (instance, state) => {
      const total = () => state.storage.sql.exec("SELECT total_changes() AS n").one().n as number;
      const before = total();
      instance.credentials("1001");
      instance.credentials("nobody");
      return total() - before;
    });
    expect(changes).toBe(0);
  });

  it("changing the password replaces both HA1 values", async () => {
    const { stub, realm, deviceId } = await account();
    await stub.updateDevice(deviceId, { password: "n3w-passw0rd" });
    const credentials = await stub.credentials("1001");
    expect(credentials!.ha1Md5).toBe(await computeHa1("MD5", "1001", realm, "n3w-passw0rd"));
    expect(credentials!.ha1Sha256).toBe(await computeHa1("SHA-256", "1001", realm, "n3w-passw0rd"));
  });
});
