// A device registered from two places rings in both at once: the edge names every binding and the
// switch forks in parallel; the phone that answers takes the call, the other is cancelled.
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { testBed } from "./harness/context";
import { describeRun, receivedMessages, receivedStartLines, sipp, startSipp, stopAllSipp } from "./harness/sipp";

const bed = testBed();
const { a, b } = bed.fleet.switches;
const callee = bed.fleet.devices["1001"]!;
const caller = bed.fleet.devices["1002"]!;

beforeEach(bed.clearRegistrations);
afterAll(async () => {
  await stopAllSipp();
  await bed.clearRegistrations();
});

describe("parallel forking", () => {
  it("two bindings of 1001 both receive the INVITE; the one that answers gets the call, the other is cancelled", async () => {
    const desk = await sipp(bed.logDir, { name: "fork-register-desk", scenario: "register", remote: a.remote, device: callee, keys: { expires: "120" }, final: "200" });
    expect(desk.code, describeRun(desk)).toBe(0);
    const mobile = await sipp(bed.logDir, { name: "fork-register-mobile", scenario: "register", remote: a.remote, device: callee, keys: { expires: "120" }, final: "200" });
    expect(mobile.code, describeRun(mobile)).toBe(0);
    expect((await bed.registrations(callee.id)).map((r) => r.contact).sort()).toEqual(
      [`sip:1001@127.0.0.1:${desk.port}`, `sip:1001@127.0.0.1:${mobile.port}`].sort(),
    );

    // The desk phone answers after ringing 1.5 s; the mobile only rings.
    const answering = await startSipp(bed.logDir, { name: "fork-uas-desk", scenario: "uas", port: desk.port, pauseMs: 1_500 });
    const ringing = await startSipp(bed.logDir, { name: "fork-uas-mobile", scenario: "uas-ring", port: mobile.port });
    await Promise.all([answering.listening(), ringing.listening()]);

    const call = await sipp(bed.logDir, { name: "fork-call", scenario: "call", remote: a.remote, device: caller, service: "1001" });
    const [answered, cancelled] = await Promise.all([answering.done, ringing.done]);
    expect(call.code, describeRun(call)).toBe(0);
    expect(answered.code, describeRun(answered)).toBe(0);
    expect(cancelled.code, describeRun(cancelled)).toBe(0);

    expect(receivedMessages(answered)[0]).toMatch(new RegExp(`^INVITE sip:1001@127\\.0\\.0\\.1:${desk.port} `));
    expect(receivedMessages(cancelled)[0]).toMatch(new RegExp(`^INVITE sip:1001@127\\.0\\.0\\.1:${mobile.port} `));
    expect(receivedStartLines(cancelled).map((line) => line.split(" ")[0])).toEqual(["INVITE", "CANCEL", "ACK"]);
    expect(receivedStartLines(call).filter((line) => !line.startsWith("SIP/2.0 1"))).toEqual([
      "SIP/2.0 407 Proxy Authentication Required",
      "SIP/2.0 200 OK",
      "SIP/2.0 200 OK",
    ]);
  });
  it("a device registered through both switches rings on both: B forks to its own binding and, through A, to the other", async () => {
    const desk = await sipp(bed.logDir, { name: "fork2-register-desk-a", scenario: "register", remote: a.remote, device: callee, keys: { expires: "120" }, final: "200" });
    expect(desk.code, describeRun(desk)).toBe(0);
    const mobile = await sipp(bed.logDir, { name: "fork2-register-mobile-b", scenario: "register", remote: b.remote, device: callee, keys: { expires: "120" }, final: "200" });
    expect(mobile.code, describeRun(mobile)).toBe(0);
    expect((await bed.registrations(callee.id)).map((r) => r.switchId).sort()).toEqual([a.id, b.id].sort());

    const answering = await startSipp(bed.logDir, { name: "fork2-uas-desk", scenario: "uas", port: desk.port, pauseMs: 1_500 });
    const ringing = await startSipp(bed.logDir, { name: "fork2-uas-mobile", scenario: "uas-ring", port: mobile.port });
    await Promise.all([answering.listening(), ringing.listening()]);

    const call = await sipp(bed.logDir, { name: "fork2-call", scenario: "call", remote: b.remote, device: caller, service: "1001" });
    const [answered, cancelled] = await Promise.all([answering.done, ringing.done]);
    expect(call.code, describeRun(call)).toBe(0);
    expect(answered.code, describeRun(answered)).toBe(0);
    expect(cancelled.code, describeRun(cancelled)).toBe(0);

    // The desk phone (held by A) got the INVITE through B then A; the mobile (held by B) from B.
    const [deskInvite] = receivedMessages(answered);
    const [mobileInvite] = receivedMessages(cancelled);
    const vias = (message: string) => message.split(/\r?\n/).filter((line) => /^Via:/i.test(line)).map((line) => /UDP ([\d.]+)/.exec(line)?.[1]);
    expect(vias(deskInvite!)).toEqual(["127.0.0.2", "127.0.0.3", "127.0.0.1"]);
    expect(vias(mobileInvite!)).toEqual(["127.0.0.3", "127.0.0.1"]);
  });
});
