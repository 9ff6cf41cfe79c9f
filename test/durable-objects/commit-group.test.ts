// Group commit and the device cache, on the object's real SQLite storage.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CommitGroup } from "../../durable-objects/account-registrar/commit-group";
import { DeviceCache } from "../../durable-objects/account-registrar/device-cache";
import type { DeviceRow } from "../../durable-objects/account-registrar/rows";
import { DEFAULT_LOCKOUT } from "../../registrar/lockout";
import { DEFAULT_POLICY, type RegisterRequest } from "../../registrar/types";
import { uniqueRealm } from "../helpers";

async function account() {
  const realm = uniqueRealm("group");
  const id = env.REGISTRAR.idFromName(realm);
  const stub = env.REGISTRAR.get(id);
  await stub.initialize({ id: id.toString(), realm, name: "Group", jurisdiction: null, regionHint: null, policy: DEFAULT_POLICY, lockout: { ...DEFAULT_LOCKOUT, threshold: 2 } });
  return { stub, realm };
}

const register = (realm: string, username: string, overrides: Partial<RegisterRequest> = {}): RegisterRequest => ({
  aor: `sip:${username}@${realm}`,
  callId: `call-${username}`,
  cseq: 1,
  contacts: [{ uri: `sip:${username}@192.0.2.10:5060` }],
  expires: 300,
  ...overrides,
});

describe("CommitGroup", () => {
  it("works queued in the same turn commit together; a work that throws is rolled back alone", async () => {
    const { stub } = await account();
    const result = await runInDurableObject(stub, async (_instance, state) => {
      state.storage.sql.exec("CREATE TABLE scratch (n INTEGER PRIMARY KEY)");
      const group = new CommitGroup(state.storage);
      const insert = (n: number) => () => {
        state.storage.sql.exec("INSERT INTO scratch (n) VALUES (?)", n);
        return n;
      };
      const settled = await Promise.allSettled([
        group.run(insert(1)),
        group.run(() => {
          insert(2)();
          throw new Error("work 2 failed after writing");
        }),
        group.run(insert(3)),
      ]);
      const rows = state.storage.sql.exec<{ n: number }>("SELECT n FROM scratch ORDER BY n").toArray().map((r) => r.n);
      return { settled: settled.map((s) => (s.status === "fulfilled" ? s.value : String((s.reason as Error).message))), rows, stats: group.stats() };
    });
    expect(result.settled).toEqual([1, "work 2 failed after writing", 3]);
    expect(result.rows).toEqual([1, 3]);
    expect(result.stats).toEqual({ commits: 1, works: 3 });
  });

  it("a lone work that throws writes nothing and its caller gets the error", async () => {
    const { stub } = await account();
    const result = await runInDurableObject(stub, async (_instance, state) => {
      state.storage.sql.exec("CREATE TABLE scratch (n INTEGER PRIMARY KEY)");
      const group = new CommitGroup(state.storage);
      const error = await group
        .run(() => {
          state.storage.sql.exec("INSERT INTO scratch (n) VALUES (1)");
          throw new Error("no");
        })
        .catch((e: Error) => e.message);
      return { error, count: state.storage.sql.exec<{ c: number }>("SELECT count(*) AS c FROM scratch").one().c, stats: group.stats() };
    });
    expect(result).toEqual({ error: "no", count: 0, stats: { commits: 0, works: 0 } });
  });

  it("a later group starts after the first has committed", async () => {
    const { stub } = await account();
    const stats = await runInDurableObject(stub, async (_instance, state) => {
      state.storage.sql.exec("CREATE TABLE scratch (n INTEGER PRIMARY KEY)");
      const group = new CommitGroup(state.storage);
      await group.run(() => state.storage.sql.exec("INSERT INTO scratch (n) VALUES (1)").rowsWritten);
      await group.run(() => state.storage.sql.exec("INSERT INTO scratch (n) VALUES (2)").rowsWritten);
      return group.stats();
    });
    expect(stats).toEqual({ commits: 2, works: 2 });
  });

  it("registrations arriving together all land, each with its own binding", async () => {
    const { stub, realm } = await account();
    const names = Array.from({ length: 20 }, (_, i) => String(2000 + i));
    for (const u of names) await stub.createDevice({ username: u, password: `pw-${u}` });
    const results = await Promise.all(names.map((u) => stub.register(u, register(realm, u))));
    expect(results.every((r) => r.status === "registered")).toBe(true);
    for (const u of names) expect((await stub.locate(u))!.map((b) => b.contact)).toEqual([`sip:${u}@192.0.2.10:5060`]);
    // A stale CSeq in the same burst is still refused on its own.
    const [fresh, stale] = await Promise.all([
      stub.register("2000", register(realm, "2000", { cseq: 2 })),
      stub.register("2001", register(realm, "2001", { cseq: 1 })),
    ]);
    expect(fresh.status).toBe("registered");
    expect(stale).toMatchObject({ status: "rejected", error: { code: "stale_cseq" } });
  });
});

describe("device cache", () => {
  it("keeps at most its limit, dropping the oldest, and remembers a miss like a hit", () => {
    const cache = new DeviceCache(2);
    const row = (username: string) => ({ id: `dev_${username}`, username }) as DeviceRow;
    let loads = 0;
    const load = (username: string) => () => {
      loads += 1;
      return username === "ghost" ? undefined : row(username);
    };
    cache.get("a", load("a"));
    cache.get("b", load("b"));
    cache.get("a", load("a"));
    expect(loads).toBe(2);
    cache.get("c", load("c"));
    expect(cache.size).toBe(2);
    cache.get("a", load("a"));
    expect(loads).toBe(4);
    cache.get("ghost", load("ghost"));
    expect(cache.get("ghost", load("ghost"))).toBeUndefined();
    expect(loads).toBe(5);
    expect(cache.size).toBe(2);
  });

  it("a change made through the object is seen by the very next callback", async () => {
    const { stub, realm } = await account();
    const created = await stub.createDevice({ username: "1001", password: "s3cret-1001" });
    if (!created.ok) throw new Error(created.refusal.detail);
    const deviceId = created.value.id;
    expect((await stub.register("1001", register(realm, "1001"))).status).toBe("registered");

    await stub.updateDevice(deviceId, { enabled: false });
    expect(await stub.register("1001", register(realm, "1001", { cseq: 2 }))).toEqual({ status: "unknown_device" });
    expect(await stub.credentials("1001")).toMatchObject({ enabled: false });

    await stub.updateDevice(deviceId, { enabled: true, username: "1002", password: "new-secret" });
    expect(await stub.credentials("1001")).toBeNull();
    expect(await stub.credentials("1002")).toMatchObject({ username: "1002", enabled: true });

    await stub.deleteDevice(deviceId);
    expect(await stub.credentials("1002")).toBeNull();
    expect(await stub.register("1002", register(realm, "1002", { cseq: 3 }))).toEqual({ status: "unknown_device" });
  });

  it("a source lock reached through wrong digests is seen at once, and so is its lifting", async () => {
    const { stub, realm } = await account();
    const created = await stub.createDevice({ username: "1001", password: "s3cret-1001" });
    if (!created.ok) throw new Error(created.refusal.detail);
    const md5 = async (text: string) =>
      [...new Uint8Array(await crypto.subtle.digest("MD5", new TextEncoder().encode(text)))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const uri = `sip:1000@${realm}`;
    let nonces = 0;
    const attempt = async (source: string, password: string) => {
      const nonce = `n${++nonces}`;
      const ha1 = await md5(`1001:${realm}:${password}`);
      const response = await md5(`${ha1}:${nonce}:${await md5(`INVITE:${uri}`)}`);
      return stub.authenticate({
        username: "1001",
        method: "INVITE",
        digest: { username: "1001", realm, nonce, uri, response },
        nonce: { expiresAt: Date.now() + 60_000, record: "without-qop" },
        source,
        switchId: "sw_a",
      });
    };
    expect(await attempt("192.0.2.66:5060", "wrong")).toEqual({ status: "bad_digest" });
    expect(await attempt("192.0.2.66:5060", "s3cret-1001")).toMatchObject({ status: "authorized" });
    expect(await attempt("192.0.2.66:5060", "wrong")).toEqual({ status: "bad_digest" });
    expect(await attempt("192.0.2.66:5061", "wrong")).toEqual({ status: "bad_digest" });
    // Locked at the threshold (2): the right password from that address (any port) is refused, elsewhere it works.
    expect(await attempt("192.0.2.66:5062", "s3cret-1001")).toEqual({ status: "bad_digest" });
    expect(await attempt("192.0.2.67:5060", "s3cret-1001")).toMatchObject({ status: "authorized" });
    await stub.clearLockout(created.value.id);
    expect(await attempt("192.0.2.66:5060", "s3cret-1001")).toMatchObject({ status: "authorized" });
  });
});
