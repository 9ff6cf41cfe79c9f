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
    await stub.authenticate("1001");
    const afterRead = await stub.usage();
    expect(afterRead.rowsRead).toBeGreaterThan(start.rowsRead);
    expect(afterRead.rowsWritten).toBe(start.rowsWritten);

    await stub.register("1001", { aor: `sip:1001@${realm}`, callId: "c1", cseq: 1, contacts: [{ uri: "sip:1001@192.0.2.1" }], expires: 300 });
    const afterWrite = await stub.usage();
    // One binding row plus its two index entries (device+contact, expires_at).
    expect(afterWrite.rowsWritten - afterRead.rowsWritten).toBeGreaterThanOrEqual(3);
    expect(afterWrite.alarmsSet - afterRead.alarmsSet).toBe(1);

    // A refresh with a later deadline does not move the alarm.
    await stub.register("1001", { aor: `sip:1001@${realm}`, callId: "c1", cseq: 2, contacts: [{ uri: "sip:1001@192.0.2.1" }], expires: 600 });
    expect((await stub.usage()).alarmsSet).toBe(afterWrite.alarmsSet);
  });

  it("the benchmark ceilings are not served unless enabled", async () => {
    expect((await exports.default.fetch("https://edge.test/bench/noop")).status).toBe(404);
    expect((await exports.default.fetch("https://edge.test/bench/object")).status).toBe(404);
  });
});
