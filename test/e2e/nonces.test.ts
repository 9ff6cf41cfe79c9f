// The edge's nonces age: a device that answers a challenge after the nonce lifetime is challenged
// again with stale=true (not counted as a wrong password), and its retry registers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBed } from "./harness/context";
import { NONCE_TTL_SECONDS } from "./harness/fleet";
import { describeRun, receivedMessages, receivedStartLines, sipp, stopAllSipp } from "./harness/sipp";

const bed = testBed();
const { a } = bed.fleet.switches;
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
});
