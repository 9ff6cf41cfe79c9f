// Calls across accounts through real Kamailio switches: a device of acme.test calling
// 1001@<another account's realm> stays in acme.test (whose 1001 has no registration: 480) until the
// operator's call policy for acme.test names the other account; then the other account's 1001,
// registered through the other switch, answers. The Request-URI host reaches the edge from the
// shipped kamailio.cfg; the edge looks the callee up in the callee's realm, never the caller's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBed } from "./harness/context";
import { describeRun, receivedMessages, receivedStartLines, sipp, startSipp, stopAllSipp } from "./harness/sipp";

const bed = testBed();
const { a, b } = bed.fleet.switches;
const caller = bed.fleet.devices["1002"]!;
const OTHER_REALM = "bravo.e2e.test";
const otherDevice = { username: "1001", password: "bravo-pass-1001", realm: OTHER_REALM };
let other: { id: string };

beforeAll(async () => {
  await bed.clearRegistrations();
  other = await bed.api<{ id: string }>("POST", "/accounts", { realm: OTHER_REALM, name: "Bravo" });
  await bed.api("POST", `/accounts/${other.id}/devices`, { username: otherDevice.username, password: otherDevice.password });
});

afterAll(async () => {
  await stopAllSipp();
  await bed.api("PATCH", bed.account, { calls: { allowedAccounts: [] } });
  await bed.api("DELETE", `/accounts/${other.id}`, undefined, 200);
  await bed.clearRegistrations();
});

const noTrying = (lines: string[]) => lines.filter((line) => !line.startsWith("SIP/2.0 100"));

describe("calls across accounts through Kamailio", () => {
  it("stay in the caller's account without a call policy, and reach the other account's device with one", async () => {
    const registered = await sipp(bed.logDir, { name: "accounts-register-bravo-1001-a", scenario: "register", remote: a.remote, device: otherDevice, keys: { expires: "120" }, final: "200" });
    expect(registered.code, describeRun(registered)).toBe(0);
    expect(await bed.registrations(bed.fleet.devices["1001"]!.id)).toEqual([]);

    // No policy: 1001@bravo from acme's 1002 is acme's own 1001, which has no live registration.
    const refused = await sipp(bed.logDir, {
      name: "accounts-call-without-policy",
      scenario: "call-refused-to-realm",
      remote: b.remote,
      device: caller,
      service: "1001",
      keys: { callee_realm: OTHER_REALM },
      final: "480",
    });
    expect(refused.code, describeRun(refused)).toBe(0);
    expect(noTrying(receivedStartLines(refused))).toEqual(["SIP/2.0 407 Proxy Authentication Required", "SIP/2.0 480 Temporarily Unavailable"]);

    // The operator lets acme.test call bravo: bravo's 1001 (held by A) answers the call placed through B.
    await bed.api("PATCH", bed.account, { calls: { allowedAccounts: [other.id] } });
    const phone = await startSipp(bed.logDir, { name: "accounts-uas-bravo-1001", scenario: "uas", port: registered.port, pauseMs: 300 });
    await phone.listening();
    const call = await sipp(bed.logDir, { name: "accounts-call-with-policy", scenario: "call-to-realm", remote: b.remote, device: caller, service: "1001", keys: { callee_realm: OTHER_REALM } });
    const answered = await phone.done;
    expect(call.code, describeRun(call)).toBe(0);
    expect(answered.code, describeRun(answered)).toBe(0);
    expect(noTrying(receivedStartLines(call))).toEqual(["SIP/2.0 407 Proxy Authentication Required", "SIP/2.0 180 Ringing", "SIP/2.0 200 OK", "SIP/2.0 200 OK"]);
    expect(receivedMessages(answered)[0]).toMatch(/^INVITE sip:1001@127\.0\.0\.1:\d+ SIP\/2\.0/);
  });
});
