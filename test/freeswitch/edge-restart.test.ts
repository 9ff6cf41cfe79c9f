// The edge stopped, then started again on the same state: meanwhile the switches' questions meet a
// refused connection, so a REGISTER (and a call) is refused at once with 403; once the edge is back
// every binding is still there, and each phone's next refresh is an ordinary one-request refresh.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeRun, receivedStartLines, stopAllSipp, timeline, type SippResult } from "../e2e/harness/sipp";
import { asked, testBed, type Registration } from "./harness/context";

const bed = testBed();
const onA = bed.phone(bed.bed.devices["1002"]!);
const onB = bed.phone(bed.bed.devices["1003"]!);
let before: Registration[] = [];

/** Milliseconds from the REGISTER with credentials to its final answer, from SIPp's trace. */
function refusalDelay(run: SippResult): number {
  const trace = timeline(run);
  const sent = trace.filter((m) => m.direction === "sent").at(-1)!;
  const answer = trace.filter((m) => m.direction === "received").at(-1)!;
  return answer.at - sent.at;
}

beforeAll(async () => {
  await bed.clearRegistrations();
  for (const [name, sw, phone] of [["restart-register-1002-a", "a", onA], ["restart-register-1003-b", "b", onB]] as const) {
    const run = await bed.register(name, sw, phone);
    expect(run.code, describeRun(run)).toBe(0);
  }
  before = await bed.until("both phones are registered", () => bed.registrations(), (items) => items.length === 2, 5_000);
});
afterAll(async () => {
  await stopAllSipp();
  await bed.control("/edge/start").catch(() => undefined);
  await bed.clearRegistrations();
});

describe("the edge stopped and started again", () => {
  it("while it is down a REGISTER is refused with 403 at once, and so is a call", async () => {
    await bed.control("/edge/stop");
    const refused = await bed.register("restart-1002-a-edge-down", "a", onA, { final: "403" });
    expect(refused.code, describeRun(refused)).toBe(0);
    expect(receivedStartLines(refused)).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 403 Forbidden"]);
    const delay = refusalDelay(refused);
    console.log(`freeswitch: with the edge down, 403 ${delay.toFixed(1)} ms after the REGISTER with credentials`);
    expect(delay).toBeLessThan(1_000);

    const call = await bed.call("restart-1003-to-1002-edge-down", "b", onB, "1002", "403");
    expect(call.code, describeRun(call)).toBe(0);
    expect(receivedStartLines(call).at(-1)).toBe("SIP/2.0 403 Forbidden");
  });

  it("once it is back, nothing is lost and each phone's next refresh is one edge request", async () => {
    await bed.control("/edge/start");
    const after = await bed.registrations();
    expect(after.map((r) => [r.contact, r.switchId, r.callId]).sort()).toEqual(before.map((r) => [r.contact, r.switchId, r.callId]).sort());

    for (const [name, sw, phone] of [["restart-1002-a-back", "a", onA], ["restart-1003-b-back", "b", onB]] as const) {
      const since = (await bed.requests()).length;
      const refresh = await bed.register(name, sw, phone);
      expect(refresh.code, describeRun(refresh)).toBe(0);
      expect(receivedStartLines(refresh).at(-1)).toBe("SIP/2.0 200 OK");
      const requests = asked(await bed.requestsAfter(since, (list) => list.some((r) => r.kind === "directory:sip_auth"), 1_000));
      expect(requests).toEqual([`${sw} directory:sip_auth ${phone.device.username} 200`]);
    }
    const refreshed = await bed.registrations();
    expect(refreshed).toHaveLength(2);
    for (const binding of refreshed) expect(binding.expiresIn).toBeGreaterThan(100);

    const ringing = await bed.answer("restart-uas-1002", onA);
    const run = await bed.call("restart-1003-to-1002-back", "b", onB, "1002");
    expect(run.code, describeRun(run)).toBe(0);
    expect((await ringing.done).code).toBe(0);
  });
});
