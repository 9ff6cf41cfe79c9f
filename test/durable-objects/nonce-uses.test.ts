// The account's record of used nonces on real object storage: one row per nonce, claimed in the
// transaction that acts on it, swept by the alarm once the nonce can no longer be accepted.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { NONCE_USE_MARGIN_MS, NonceUses } from "../../durable-objects/account-registrar/nonce-uses";
import { computeHa1 } from "../../registrar/digest";
import { DEFAULT_LOCKOUT } from "../../registrar/lockout";
import { nonceKey } from "../../registrar/replay";
import { DEFAULT_POLICY } from "../../registrar/types";
import { uniqueRealm } from "../helpers";

async function account() {
  const realm = uniqueRealm("nonce");
  const id = env.REGISTRAR.idFromName(realm);
  const stub = env.REGISTRAR.get(id);
  await stub.initialize({ id: id.toString(), realm, name: "Test", jurisdiction: null, regionHint: null, policy: DEFAULT_POLICY, lockout: DEFAULT_LOCKOUT });
  const device = await stub.createDevice({ username: "1001", password: "s3cret-1001" });
  if (!device.ok) throw new Error(device.refusal.detail);
  return { stub, realm };
}

const md5 = async (text: string) =>
  [...new Uint8Array(await crypto.subtle.digest("MD5", new TextEncoder().encode(text)))].map((b) => b.toString(16).padStart(2, "0")).join("");

async function inviteDigest(realm: string, nonce: string, nc: string, method = "INVITE") {
  const ha1 = await computeHa1("MD5", "1001", realm, "s3cret-1001");
  const uri = method === "INVITE" ? `sip:1002@${realm}` : `sip:${realm}`;
  const response = await md5(`${ha1}:${nonce}:${nc}:c0ffee:auth:${await md5(`${method}:${uri}`)}`);
  return { username: "1001", realm, nonce, uri, response, qop: "auth", nc, cnonce: "c0ffee" };
}

describe("nonce uses", () => {
  it("a claim writes one row; the same count again is refused and writes nothing", async () => {
    const { stub } = await account();
    await runInDurableObject(stub, (_instance, state) => {
      // Count what each claim writes, as billing does (index entries included).
      let written = 0;
      const sql = {
        exec: (query: string, ...bindings: unknown[]) => {
          const cursor = state.storage.sql.exec(query, ...bindings);
          const rows = cursor.toArray();
          written += cursor.rowsWritten;
          return { toArray: () => rows, rowsWritten: cursor.rowsWritten };
        },
      } as unknown as SqlStorage;
      const uses = new NonceUses(sql);
      const expiresAt = Date.now() + 300_000;
      const claim = (key: number, count: number | null) => {
        written = 0;
        return { accepted: uses.claim({ key, count, expiresAt }), written };
      };
      expect(claim(1, 1)).toEqual({ accepted: true, written: 1 });
      expect(claim(1, 1)).toEqual({ accepted: false, written: 0 });
      expect(claim(1, 2)).toEqual({ accepted: true, written: 1 });
      expect(claim(1, 2)).toEqual({ accepted: false, written: 0 });
      expect(claim(2, null)).toEqual({ accepted: true, written: 1 });
      expect(claim(2, null)).toEqual({ accepted: false, written: 0 });
      const rows = state.storage.sql.exec("SELECT key, nc, expires_at AS expiresAt FROM nonce_uses ORDER BY key").toArray();
      expect(rows).toEqual([
        { key: 1, nc: 2, expiresAt: expiresAt + NONCE_USE_MARGIN_MS },
        { key: 2, nc: null, expiresAt: expiresAt + NONCE_USE_MARGIN_MS },
      ]);
    });
  });

  it("the object refuses a replayed INVITE digest and remembers the nonce until the alarm sweeps it after its end", async () => {
    const { stub, realm } = await account();
    const nonce = "edge-nonce-1";
    const caller = (nc: string) =>
      inviteDigest(realm, nonce, nc).then((digest) => ({
        username: "1001",
        digest,
        nonce: { expiresAt: Date.now() + 300_000, record: "every-use" as const },
        method: "INVITE",
        source: "192.0.2.10:5060",
      }));
    expect(await stub.route({ caller: await caller("00000001"), destination: null })).toMatchObject({ status: "authorized" });
    expect(await stub.route({ caller: await caller("00000001"), destination: null })).toEqual({ status: "replayed" });
    expect(await stub.route({ caller: await caller("00000002"), destination: null })).toMatchObject({ status: "authorized" });
    const key = await nonceKey(nonce);
    const count = () => runInDurableObject(stub, (_i, state) => state.storage.sql.exec("SELECT count(*) AS n FROM nonce_uses WHERE key = ?", key).one().n);
    expect(await count()).toBe(1);
    // An alarm is set no later than the row's end, and the alarm leaves a live row alone.
    const alarm = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(Date.now() + 300_000 + NONCE_USE_MARGIN_MS);
    await runInDurableObject(stub, (instance) => instance.alarm());
    expect(await count()).toBe(1);
    // Past its end (and the margin) it is swept.
    await runInDurableObject(stub, (_i, state) => state.storage.sql.exec("UPDATE nonce_uses SET expires_at = ?", Date.now() - 1));
    await runInDurableObject(stub, (instance) => instance.alarm());
    expect(await count()).toBe(0);
  });

  it("concurrent uses of one answer: exactly one is accepted", async () => {
    const { stub, realm } = await account();
    const digest = await inviteDigest(realm, "edge-nonce-2", "00000001");
    const request = { caller: { username: "1001", digest, nonce: { expiresAt: Date.now() + 300_000, record: "every-use" as const }, method: "INVITE", source: "192.0.2.10:5060" }, destination: null };
    const results = await Promise.all(Array.from({ length: 5 }, () => stub.route(request)));
    expect(results.filter((r) => r.status === "authorized")).toHaveLength(1);
    expect(results.filter((r) => r.status === "replayed")).toHaveLength(4);
  });

  it("a REGISTER with a digest replayed is answered as a replay, and saves nothing the second time", async () => {
    const { stub, realm } = await account();
    const digest = await inviteDigest(realm, "edge-nonce-register", "00000001", "REGISTER");
    const by = { digest, nonce: { expiresAt: Date.now() + 300_000, record: "every-use" as const }, source: "192.0.2.10:5060" };
    const request = (cseq: number, contact: string) => ({ aor: `sip:1001@${realm}`, callId: "reg-replay", cseq, contacts: [{ uri: contact }], switchId: "sw_a" });
    expect(await stub.register("1001", request(1, "sip:1001@192.0.2.10"), by)).toMatchObject({ status: "registered" });
    expect(await stub.register("1001", request(2, "sip:1001@192.0.2.99"), by)).toEqual({ status: "replayed" });
    expect((await stub.locate("1001"))!.map((b) => b.contact)).toEqual(["sip:1001@192.0.2.10"]);
  });
});
