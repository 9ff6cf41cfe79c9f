// The edge's nonces age: a device that answers a challenge after the nonce lifetime is challenged
// again with stale=true (not counted as a wrong password), and its retry registers. A sniffer's
// replay of a captured Authorization / Proxy-Authorization, from another port and under another
// Call-ID, through either switch, gets a fresh challenge, never a binding or a route.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBed } from "./harness/context";
import { NONCE_TTL_SECONDS } from "./harness/fleet";
import { replay } from "./harness/replay";
import { describeRun, receivedMessages, receivedStartLines, sentMessages, sipp, stopAllSipp } from "./harness/sipp";

const bed = testBed();
const { a, b } = bed.fleet.switches;
const device = bed.fleet.devices["1001"]!;

beforeAll(bed.clearRegistrations);
afterAll(async () => {
  await stopAllSipp();
  await bed.clearRegistrations();
});

describe("edge nonces", () => {
  it("credentials for a nonce older than its lifetime get 401 with stale=true, and the retry with the new nonce registers", async () => {
    const run = await sipp(bed.logDir, {
      name: "stale-nonce",
      scenario: "register-stale",
      remote: a.remote,
      device,
      keys: { expires: "60" },
      pauseMs: (NONCE_TTL_SECONDS + 1.5) * 1000,
    });
    expect(run.code, describeRun(run)).toBe(0);
    expect(receivedStartLines(run)).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 401 Unauthorized", "SIP/2.0 200 OK"]);
    const [first, stale] = receivedMessages(run);
    expect(first).not.toMatch(/stale=true/);
    expect(stale).toMatch(/^WWW-Authenticate: Digest .*stale=true/m);
    expect(await bed.registrations(device.id)).toEqual([expect.objectContaining({ switchId: a.id })]);
    expect((await bed.api<{ lockedUntil: string | null }>("GET", `${bed.account}/devices/${device.id}`)).lockedUntil).toBeNull();
  });

  it("a captured REGISTER Authorization sent again, from another port with another Call-ID and another Contact, gets 401 and binds nothing", async () => {
    const run = await sipp(bed.logDir, { name: "replay-register", scenario: "register", remote: a.remote, device, keys: { expires: "60" }, final: "200" });
    expect(run.code, describeRun(run)).toBe(0);
    const captured = sentMessages(run).find((message) => /^Authorization:/m.test(message));
    expect(captured, describeRun(run)).toBeDefined();
    for (const remote of [a.remote, b.remote]) {
      const replayed = await replay(captured!, remote, { contact: "sip:1001@127.0.0.9:5099" });
      expect(replayed.final).toBe("SIP/2.0 401 Unauthorized");
    }
    const bound = (await bed.registrations(device.id)).map((r) => r.contact);
    expect(bound).toContain(`sip:1001@127.0.0.1:${run.port}`);
    expect(bound.filter((contact) => contact.includes("127.0.0.9"))).toEqual([]);
  });

  it("a captured Proxy-Authorization of an authenticated call sent again from another port and Call-ID gets 407, not a route", async () => {
    const caller = bed.fleet.devices["1002"]!;
    const call = await sipp(bed.logDir, { name: "replay-call", scenario: "call-refused", remote: a.remote, device: caller, service: "1999", final: "404" });
    expect(call.code, describeRun(call)).toBe(0);
    // The authenticated INVITE reached the lookup (404 for a user the account does not have).
    expect(receivedStartLines(call).filter((line) => !line.startsWith("SIP/2.0 100")).at(-1)).toBe("SIP/2.0 404 Not Found");
    const captured = sentMessages(call).find((message) => /^Proxy-Authorization:/m.test(message));
    expect(captured, describeRun(call)).toBeDefined();
    for (const remote of [a.remote, b.remote]) {
      const replayed = await replay(captured!, remote);
      expect(replayed.final).toBe("SIP/2.0 407 Proxy Authentication Required");
    }
  });
});
