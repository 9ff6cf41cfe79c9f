// The fleet with real FreeSWITCH switches: A stopped is lost and calls to its phone get 480 at
// once; A started again is routed to from the very next call after its first callback; A drained
// moves its phones to B within the drain interval, and calls follow them. The steps run in order.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeRun, receivedMessages, receivedStartLines, stopAllSipp, timeline, type SippResult } from "../e2e/harness/sipp";
import { FLEET_TIMING } from "./harness/bed";
import { asked, grantedExpiry, testBed } from "./harness/context";

const bed = testBed();
/** FreeSWITCH's INVITE client transaction timeout (timer B with the default T1 of 500 ms). */
const SOFIA_TIMER_B_MS = 32_000;
const { a, b } = bed.bed.switches;
const callee = bed.phone(bed.bed.devices["1004"]!);
const caller = bed.phone(bed.bed.devices["1005"]!);

/** Milliseconds from the INVITE with credentials to the final answer, from SIPp's own trace. */
function answerDelay(run: SippResult): number {
  const trace = timeline(run);
  const invite = trace.filter((m) => m.direction === "sent" && m.startLine.startsWith("INVITE")).at(-1)!;
  const final = trace.find((m) => m.direction === "received" && m.at >= invite.at && /^SIP\/2\.0 [2-6]\d\d/.test(m.startLine) && !m.startLine.includes(" 407 "))!;
  return final.at - invite.at;
}

beforeAll(async () => {
  await bed.clearRegistrations();
  for (const sw of [a, b]) await bed.until(`switch ${sw.name} is alive`, () => bed.switchStatus(sw.id), (s) => s.state === "alive", 20_000);
  for (const [name, sw, phone] of [["fleet-register-1004-a", "a", callee], ["fleet-register-1005-b", "b", caller]] as const) {
    const run = await bed.register(name, sw, phone);
    expect(run.code, describeRun(run)).toBe(0);
  }
  await bed.until("both phones are registered", () => bed.registrations(), (items) => items.length === 2, 5_000);
});
afterAll(async () => {
  await stopAllSipp();
  await bed.control("/switch/a/start").catch(() => undefined);
  await bed.api("DELETE", `/switches/${a.id}/drain`).catch(() => undefined);
  await bed.clearRegistrations();
});

describe("FreeSWITCH fleet: loss, return, draining", () => {
  it("A stopped: the API shows it lost, and a call to its phone gets 480 at once; its binding is kept", async () => {
    await bed.control("/switch/a/stop");
    const stoppedAt = Date.now();
    await bed.until("switch a is lost", () => bed.switchStatus(a.id), (s) => s.state === "lost", FLEET_TIMING.lostAfterMs + 10_000);
    console.log(`freeswitch: A shown lost ${Date.now() - stoppedAt} ms after it stopped`);
    // A switch change makes the edge read its switch list afresh at the next callback: the call
    // below loads the snapshot that says A is lost, and it lives on while A restarts (next test).
    await bed.api("PATCH", `/switches/${b.id}`, { name: "fs-b" });

    const refused = await bed.call("fleet-call-1004-lost", "b", caller, "1004", "480");
    expect(refused.code, describeRun(refused)).toBe(0);
    expect(receivedStartLines(refused).at(-1)).toBe("SIP/2.0 480 Temporarily Unavailable");
    const delay = answerDelay(refused);
    console.log(`freeswitch: 480 for the lost switch's phone ${delay.toFixed(1)} ms after the INVITE`);
    // A switch that tried the lost one would wait out its INVITE transaction (timer B, 64 × T1 =
    // 32 s) and then answer 480 too: the edge's 480 comes well before that.
    expect(delay).toBeLessThan(SOFIA_TIMER_B_MS);
    expect(await bed.registrations(callee.device.id)).toEqual([expect.objectContaining({ switchId: a.id })]);
  });

  it("A restarted: its phone registers again and the very next call through B rings it on A", async () => {
    // The edge's switch snapshot was loaded with A lost (the call above); A comes back well within its life.
    const restarting = Date.now();
    await bed.control("/switch/a/start");
    const refresh = await bed.register("fleet-register-1004-a-back", "a", callee);
    expect(refresh.code, describeRun(refresh)).toBe(0);
    expect((await bed.switchStatus(a.id)).state).toBe("alive");

    const ringing = await bed.answer("fleet-uas-1004-back", callee);
    const since = (await bed.requests()).length;
    const run = await bed.call("fleet-call-1004-back", "b", caller, "1004");
    console.log(`freeswitch: A restarted, its phone registered and called ${Date.now() - restarting} ms after the restart began`);
    expect(Date.now() - restarting).toBeLessThan(FLEET_TIMING.cacheTtlMs);
    expect(run.code, describeRun(run)).toBe(0);
    expect(receivedStartLines(run).at(-1)).toBe("SIP/2.0 200 OK");
    expect((await ringing.done).code).toBe(0);
    const requests = asked(await bed.requestsAfter(since, (list) => list.some((r) => r.switch === "a" && r.kind === "dialplan:1004"), 500));
    expect(requests).toContain("a dialplan:1004 200");
  });

  it("A drained: its phone's refresh gets the short interval, the next one lands on B, A holds nothing, and calls follow", async () => {
    const drained = await bed.api<{ state: string }>("POST", `/switches/${a.id}/drain`, undefined, 200);
    expect(drained.state).toBe("draining");
    const onA = await bed.register("fleet-register-1004-a-draining", "a", callee);
    expect(onA.code, describeRun(onA)).toBe(0);
    const short = grantedExpiry(receivedMessages(onA)[1]!, onA.port);
    expect(short).toBeLessThanOrEqual(FLEET_TIMING.drainExpires);
    const drainedAt = Date.now();

    // Within that interval the phone refreshes again; the load balancer now sends it to B.
    const onB = await bed.register("fleet-register-1004-b-moved", "b", callee);
    expect(onB.code, describeRun(onB)).toBe(0);
    expect(Date.now() - drainedAt).toBeLessThan(short * 1000);
    expect(await bed.registrations(callee.device.id)).toEqual([expect.objectContaining({ switchId: b.id })]);
    expect((await bed.switchStatus(a.id)).bindingsHeld).toBe(0);

    // A's own registration of the phone expires on A; its sofia::expire leaves the binding on B alone.
    const since = (await bed.requests()).length;
    await bed.requestsAfter(since, (list) => list.some((r) => r.switch === "a" && r.event === "sofia::expire"), 500);
    expect(await bed.registrations(callee.device.id)).toEqual([expect.objectContaining({ switchId: b.id })]);

    const ringing = await bed.answer("fleet-uas-1004-on-b", callee);
    const callSince = (await bed.requests()).length;
    const run = await bed.call("fleet-call-1004-on-b", "b", caller, "1004");
    expect(run.code, describeRun(run)).toBe(0);
    expect((await ringing.done).code).toBe(0);
    // The route in the INVITE's directory answer rings the callee's contacts on B itself: one
    // request, and the call asks the edge nothing through A.
    const requests = asked(await bed.requestsAfter(callSince, (list) => list.some((r) => r.switch === "b" && r.kind === "directory:sip_auth"), 500));
    expect(requests).toEqual([`b directory:sip_auth ${caller.device.username} 200`]);
  });
});
