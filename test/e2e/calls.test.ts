// Calls through the switches: the first switch authenticates the caller through the edge (407),
// the edge names where the callee is, and a call for a device held by the other switch crosses
// both switches; unknown users get 404 and devices with no live registration 480.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBed } from "./harness/context";
import { describeRun, receivedMessages, receivedStartLines, sipp, startSipp, stopAllSipp } from "./harness/sipp";

const bed = testBed();
const { a, b } = bed.fleet.switches;
const callee = bed.fleet.devices["1001"]!;
const caller = bed.fleet.devices["1002"]!;

beforeAll(bed.clearRegistrations);
afterAll(async () => {
  await stopAllSipp();
  await bed.clearRegistrations();
});

describe("calls through two Kamailio switches", () => {
  it("1002 on B calls 1001 on A: B challenges the caller (407), A delivers the INVITE to 1001, and 180/200, ACK and BYE complete", async () => {
    const calleeRegistered = await sipp(bed.logDir, { name: "call-register-1001-a", scenario: "register", remote: a.remote, device: callee, keys: { expires: "120" }, final: "200" });
    expect(calleeRegistered.code, describeRun(calleeRegistered)).toBe(0);
    const callerRegistered = await sipp(bed.logDir, { name: "call-register-1002-b", scenario: "register", remote: b.remote, device: caller, keys: { expires: "120" }, final: "200" });
    expect(callerRegistered.code, describeRun(callerRegistered)).toBe(0);
    expect(await bed.registrations(caller.id)).toEqual([expect.objectContaining({ switchId: b.id })]);
    expect(await bed.registrations(callee.id)).toEqual([expect.objectContaining({ switchId: a.id })]);

    // 1001's phone: a UAS on the very ip:port it registered from.
    const phone = await startSipp(bed.logDir, { name: "call-uas-1001", scenario: "uas", port: calleeRegistered.port, pauseMs: 300 });
    await phone.listening();

    const locatesBefore = bed.edgeCount("/kamailio/v1/locate");
    const call = await sipp(bed.logDir, { name: "call-1002-to-1001", scenario: "call", remote: b.remote, device: caller, service: "1001" });
    const answered = await phone.done;
    expect(call.code, describeRun(call)).toBe(0);
    expect(answered.code, describeRun(answered)).toBe(0);

    const callerSaw = receivedStartLines(call).filter((line) => !line.startsWith("SIP/2.0 100"));
    expect(callerSaw).toEqual(["SIP/2.0 407 Proxy Authentication Required", "SIP/2.0 180 Ringing", "SIP/2.0 200 OK", "SIP/2.0 200 OK"]);
    expect(receivedMessages(call)[receivedStartLines(call).indexOf("SIP/2.0 407 Proxy Authentication Required")]).toMatch(
      /^Proxy-Authenticate: Digest realm="acme\.test", nonce="[^"]+"/m,
    );

    // The INVITE reached 1001 through B then A, both on the route of the dialog.
    const [invite, ack, bye] = receivedMessages(answered);
    expect(invite).toMatch(/^INVITE sip:1001@127\.0\.0\.1:\d+ SIP\/2\.0/);
    expect(invite).toMatch(/^Record-Route: <sip:127\.0\.0\.2;lr[;>]/m);
    expect(invite).toMatch(/^Record-Route: <sip:127\.0\.0\.3;lr[;>]/m);
    const vias = invite!.split(/\r?\n/).filter((line) => /^Via:/i.test(line));
    expect(vias[0]).toContain("127.0.0.2");
    expect(vias[1]).toContain("127.0.0.3");
    expect(ack).toMatch(/^ACK /);
    expect(bye).toMatch(/^BYE /);

    // One edge request per initial INVITE: B asked twice (the 407, then the authenticated
    // INVITE), A once (the call handed over by B, trusted).
    const locates = await bed.edgeRequestsSince("/kamailio/v1/locate", locatesBefore, 3);
    expect(locates).toHaveLength(3);
  });

  it("a call to a user the account does not have is answered 404", async () => {
    const call = await sipp(bed.logDir, { name: "call-unknown", scenario: "call-refused", remote: b.remote, device: caller, service: "1999", final: "404" });
    expect(call.code, describeRun(call)).toBe(0);
    expect(receivedStartLines(call).filter((line) => !line.startsWith("SIP/2.0 100"))).toEqual([
      "SIP/2.0 407 Proxy Authentication Required",
      "SIP/2.0 404 Not Found",
    ]);
  });

  it("a call to a device with no live registration is answered 480", async () => {
    expect(await bed.registrations(bed.fleet.devices["1003"]!.id)).toEqual([]);
    const call = await sipp(bed.logDir, { name: "call-unregistered", scenario: "call-refused", remote: a.remote, device: caller, service: "1003", final: "480" });
    expect(call.code, describeRun(call)).toBe(0);
    expect(receivedStartLines(call).filter((line) => !line.startsWith("SIP/2.0 100"))).toEqual([
      "SIP/2.0 407 Proxy Authentication Required",
      "SIP/2.0 480 Temporarily Unavailable",
    ]);
  });
});
