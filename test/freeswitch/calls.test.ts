// Calls through real FreeSWITCH switches. A device's call costs its switch one edge request: the
// INVITE's directory request (`sip_auth`), whose answer carries the route, which the switch runs from
// the shipped whistle_edge_route.xml with no dialplan request. A phone on B calls a phone on B (one
// request), a phone on A (B bridges to A with the realm, A asks for its dialplan and rings its own
// registration: two), and a number; a carrier's call to a number arriving at B rings the phone on
// A; a device with no registration or no device at all is refused with 480 or 404.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeRun, receivedStartLines, sipp, stopAllSipp } from "../e2e/harness/sipp";
import { CARRIER_IP, NUMBER } from "./harness/bed";
import { asked, SCENARIOS, testBed } from "./harness/context";

const bed = testBed();
const callee = bed.phone(bed.bed.devices["1001"]!);
const caller = bed.phone(bed.bed.devices["1002"]!);
const neighbour = bed.phone(bed.bed.devices["1004"]!);

beforeAll(async () => {
  await bed.clearRegistrations();
  for (const [name, sw, phone] of [["calls-register-1001-a", "a", callee], ["calls-register-1002-b", "b", caller], ["calls-register-1004-b", "b", neighbour]] as const) {
    const run = await bed.register(name, sw, phone);
    expect(run.code, describeRun(run)).toBe(0);
  }
  await bed.until("the three phones are registered", () => bed.registrations(), (items) => items.length === 3, 5_000);
});
afterAll(async () => {
  await stopAllSipp();
  await bed.clearRegistrations();
});

describe("calls through FreeSWITCH", () => {
  it("a phone on B calls a phone on B: one edge request, the INVITE's directory request, and no dialplan request", async () => {
    const ringing = await bed.answer("calls-uas-1004", neighbour);
    const since = (await bed.requests()).length;
    const run = await bed.call("calls-1002-to-1004", "b", caller, "1004");
    expect(run.code, describeRun(run)).toBe(0);
    expect(receivedStartLines(run)).toContain("SIP/2.0 407 Proxy Authentication Required");
    expect(receivedStartLines(run).at(-1)).toBe("SIP/2.0 200 OK");
    const answered = await ringing.done;
    expect(answered.code, describeRun(answered)).toBe(0);
    expect(receivedStartLines(answered)[0]).toMatch(/^INVITE sip:1004@127\.0\.0\.1:\d+/);
    const requests = asked(await bed.requestsAfter(since, (list) => list.some((r) => r.kind === "directory:sip_auth")));
    expect(requests).toEqual(["b directory:sip_auth 1002 200"]);
  });

  it("a phone on B calls a phone on A: B bridges to A, A rings its registration, the call is answered", async () => {
    const ringing = await bed.answer("calls-uas-1001", callee);
    const since = (await bed.requests()).length;
    const run = await bed.call("calls-1002-to-1001", "b", caller, "1001");
    expect(run.code, describeRun(run)).toBe(0);
    expect(receivedStartLines(run)).toContain("SIP/2.0 407 Proxy Authentication Required");
    expect(receivedStartLines(run).at(-1)).toBe("SIP/2.0 200 OK");
    const answered = await ringing.done;
    expect(answered.code, describeRun(answered)).toBe(0);
    expect(receivedStartLines(answered)[0]).toMatch(/^INVITE sip:1001@127\.0\.0\.1:\d+/);

    // B learnt where 1001 is with 1002's digest check, and bridged to A without a dialplan request; A
    // (which the peers ACL lets call without a digest) asked for its dialplan and rang its own
    // registration with the contacts it holds: no directory request for a user/ bridge.
    const requests = asked(await bed.requestsAfter(since, (list) => list.some((r) => r.switch === "a" && r.kind === "dialplan:1001")));
    expect(requests).toEqual(["b directory:sip_auth 1002 200", "a dialplan:1001 200"]);
  });

  it("a phone on B calls a number: B bridges to the phone on A that the number rings", async () => {
    const ringing = await bed.answer("calls-uas-1001-number", callee);
    const since = (await bed.requests()).length;
    const run = await bed.call("calls-1002-to-number", "b", caller, NUMBER);
    expect(run.code, describeRun(run)).toBe(0);
    expect(receivedStartLines(run).at(-1)).toBe("SIP/2.0 200 OK");
    expect((await ringing.done).code).toBe(0);
    const requests = asked(await bed.requestsAfter(since, (list) => list.some((r) => r.switch === "a" && r.kind === "dialplan:1001")));
    expect(requests).toEqual(["b directory:sip_auth 1002 200", "a dialplan:1001 200"]);
  });

  it("a carrier's call to a number, arriving at B, rings the phone on A", async () => {
    const ringing = await bed.answer("calls-uas-1001-did", callee);
    const since = (await bed.requests()).length;
    const run = await sipp(bed.logDir, {
      name: "calls-carrier-did",
      scenario: join(SCENARIOS, "carrier-call.xml"),
      ip: CARRIER_IP,
      remote: bed.bed.switches.b.remote,
      service: NUMBER,
      timeoutSeconds: 30,
    });
    expect(run.code, describeRun(run)).toBe(0);
    expect(receivedStartLines(run)).not.toContain("SIP/2.0 407 Proxy Authentication Required");
    expect(receivedStartLines(run).at(-1)).toBe("SIP/2.0 200 OK");
    const answered = await ringing.done;
    expect(answered.code, describeRun(answered)).toBe(0);
    const requests = asked(await bed.requestsAfter(since, (list) => list.some((r) => r.switch === "a" && r.kind === "dialplan:1001")));
    expect(requests).toEqual(expect.arrayContaining([`b dialplan:${NUMBER} 200`, "a dialplan:1001 200"]));
  });

  it("a known device with no registration gets 480; an unknown destination 404", async () => {
    const since = (await bed.requests()).length;
    const unregistered = await bed.call("calls-1002-to-1003", "b", caller, "1003", "480");
    expect(unregistered.code, describeRun(unregistered)).toBe(0);
    expect(receivedStartLines(unregistered).at(-1)).toBe("SIP/2.0 480 Temporarily Unavailable");
    const unknown = await bed.call("calls-1002-to-9999", "b", caller, "9999", "404");
    expect(unknown.code, describeRun(unknown)).toBe(0);
    expect(receivedStartLines(unknown).at(-1)).toBe("SIP/2.0 404 Not Found");
    // Both answers are the edge's decisions, carried by each INVITE's directory answer (not a switch
    // refusing on its own, and no dialplan request).
    const requests = asked(await bed.requestsAfter(since, (list) => list.filter((r) => r.kind === "directory:sip_auth").length >= 2));
    expect(requests).toEqual(["b directory:sip_auth 1002 200", "b directory:sip_auth 1002 200"]);
    // The switch ran the edge's route from the shipped file, not a dialplan of its own.
    expect(readFileSync(bed.bed.switches.b.log, "utf8")).toMatch(/Getting dialplan from alternate path: .*whistle_edge_route\.xml/);
    // The API agrees: 1003 exists and has no registration.
    expect(await bed.registrations(bed.bed.devices["1003"]!.id)).toEqual([]);
  });
});
