// The object's own count of billed SQLite rows, which the benchmarks and the cost model read.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEFAULT_LOCKOUT } from "../../registrar/lockout";
import { DEFAULT_POLICY } from "../../registrar/types";
import { uniqueRealm } from "../helpers";

async function account() {
  const realm = uniqueRealm("meter");
  const id = env.REGISTRAR.idFromName(realm);
  const stub = env.REGISTRAR.get(id);
  await stub.initialize({ id: id.toString(), realm, name: "Meter", jurisdiction: null, regionHint: null, policy: DEFAULT_POLICY, lockout: DEFAULT_LOCKOUT });
  await stub.createDevice({ username: "1001", password: "s3cret-1001" });
  return { stub, realm };
}

describe("usage meter", () => {
  it("a credential lookup reads rows and writes none; a new binding writes rows and sets the alarm once", async () => {
    const { stub, realm } = await account();
    const start = await stub.usage();
    await stub.credentials("1001");
    const afterRead = await stub.usage();
    expect(afterRead.rowsRead).toBeGreaterThan(start.rowsRead);
    expect(afterRead.rowsWritten).toBe(start.rowsWritten);

    await stub.register("1001", { aor: `sip:1001@${realm}`, callId: "c1", cseq: 1, contacts: [{ uri: "sip:1001@192.0.2.1" }], expires: 300 });
    const afterWrite = await stub.usage();
    // One binding row plus its two index entries (device+contact, expires_at).
    expect(afterWrite.rowsWritten - afterRead.rowsWritten).toBeGreaterThanOrEqual(3);
    expect(afterWrite.alarmsSet - afterRead.alarmsSet).toBe(1);

    // A refresh with a later deadline does not move the alarm, and writes the binding row and its
    // expiry index entry only (its contact, part of the other index, is left as it is).
    await stub.register("1001", { aor: `sip:1001@${realm}`, callId: "c1", cseq: 2, contacts: [{ uri: "sip:1001@192.0.2.1" }], expires: 600 });
    const afterRefresh = await stub.usage();
    expect(afterRefresh.alarmsSet).toBe(afterWrite.alarmsSet);
    expect(afterRefresh.rowsWritten - afterWrite.rowsWritten).toBe(2);
  });

  it("a binding whose contact changes (same instance and reg-id) rewrites the contact index too", async () => {
    const { stub, realm } = await account();
    const instance = { instanceId: "<urn:uuid:00000000-0000-0000-0000-000000000001>", regId: 1 };
    await stub.register("1001", { aor: `sip:1001@${realm}`, callId: "c1", cseq: 1, contacts: [{ uri: "sip:1001@192.0.2.1", ...instance }], expires: 300 });
    const before = await stub.usage();
    await stub.register("1001", { aor: `sip:1001@${realm}`, callId: "c1", cseq: 2, contacts: [{ uri: "sip:1001@192.0.2.2", ...instance }], expires: 300 });
    expect((await stub.usage()).rowsWritten - before.rowsWritten).toBeGreaterThan(2);
    expect((await stub.locate("1001"))!.map((b) => b.contact)).toEqual(["sip:1001@192.0.2.2"]);
  });

  it("the benchmark ceilings are not served unless enabled", async () => {
    expect((await exports.default.fetch("https://edge.test/bench/noop")).status).toBe(404);
    expect((await exports.default.fetch("https://edge.test/bench/object")).status).toBe(404);
  });
});
