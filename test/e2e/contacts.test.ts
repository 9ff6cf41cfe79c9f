// A REGISTER whose Contact is malformed, through a real Kamailio: the device knows its password,
// yet the edge decides 400 Bad Contact, the switch answers it, and no binding is stored.
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { testBed } from "./harness/context";
import { describeRun, receivedMessages, receivedStartLines, sipp, stopAllSipp } from "./harness/sipp";

const bed = testBed();
const { a } = bed.fleet.switches;
const device = bed.fleet.devices["1001"]!;

beforeEach(bed.clearRegistrations);
afterAll(async () => {
  await stopAllSipp();
  await bed.clearRegistrations();
});

describe("contacts through a Kamailio switch", () => {
  const injected = [
    ["an unterminated quoted parameter", '<sip:1001@127.0.0.1:5098>;x="a'],
    ["a quote that swallows the closing >", '<sip:1001@127.0.0.1:5098;x="a>'],
    ["a port beyond 65535", "<sip:1001@127.0.0.1:99999>"],
  ] as const;
  for (const [what, contact] of injected) {
    it(`a REGISTER with ${what} in its Contact gets 400 and nothing is stored`, async () => {
      const run = await sipp(bed.logDir, {
        name: `register-contact-${what.replaceAll(" ", "-")}`,
        scenario: "register-contact",
        remote: a.remote,
        device,
        keys: { expires: "300", contact },
        final: "400",
      });
      expect(run.code, describeRun(run)).toBe(0);
      expect(receivedStartLines(run)).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 400 Bad Contact"]);
      expect(receivedMessages(run)[1]).not.toMatch(/^Contact:/m);
      expect(await bed.registrations(device.id)).toEqual([]);
    });
  }
});
