// Calls through real FreeSWITCH switches: a phone on B calls a phone on A (B asks the edge, bridges
// to A with the realm, A asks again and rings its own registration, three edge requests in all), a carrier's call to a number
// arriving at B rings the phone on A, and a device with no registration or no device at all is
// refused with 480 or 404.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeRun, receivedStartLines, sipp, stopAllSipp } from "../e2e/harness/sipp";
import { CARRIER_IP, NUMBER } from "./harness/bed";
import { asked, SCENARIOS, testBed } from "./harness/context";

const bed = testBed();
const callee = bed.phone(bed.bed.devices["1001"]!);
const caller = bed.phone(bed.bed.devices["1002"]!);

beforeAll(async () => {
  await bed.clearRegistrations();
  for (const [name, sw, phone] of [["calls-register-1001-a", "a", callee], ["calls-register-1002-b", "b", caller]] as const) {
    const run = await bed.register(name, sw, phone);
    expect(run.code, describeRun(run)).toBe(0);
  }
  await bed.until("both phones are registered", () => bed.registrations(), (items) => items.length === 2, 5_000);
});
afterAll(async () => {
  await stopAllSipp();
  await bed.clearRegistrations();
});

describe("calls through FreeSWITCH", () => {
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

    // B asked the edge where 1001 is (after checking 1002's digest), A asked again and rang its own
    // registration with the contacts it holds: no directory request for a user/ bridge.
    const requests = asked(await bed.requestsAfter(since, (list) => list.some((r) => r.switch === "a" && r.kind === "dialplan:1001")));
    expect(requests).toEqual(["b directory:sip_auth 1002 200", "b dialplan:1001 200", "a dialplan:1001 200"]);
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
    // Both answers are the edge's dialplan decisions (not a switch refusing on its own).
    const requests = asked(await bed.requestsAfter(since, (list) => list.some((r) => r.kind === "dialplan:9999"), 500));
    expect(requests).toEqual(expect.arrayContaining(["b dialplan:1003 200", "b dialplan:9999 200"]));
    // The API agrees: 1003 exists and has no registration.
    expect(await bed.registrations(bed.bed.devices["1003"]!.id)).toEqual([]);
  });
});
