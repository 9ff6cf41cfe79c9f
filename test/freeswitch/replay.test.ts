// A sniffer's replay through real FreeSWITCH switches: the REGISTER a phone sent (its Authorization
// answering switch A's challenge) is sent again unchanged but for the sniffer's own socket, a new
// Call-ID and the sniffer's Contact, to A and to B. Neither may register the sniffer's contact.
import { afterAll, describe, expect, it } from "vitest";
import { replay } from "../e2e/harness/replay";
import { describeRun, sentMessages, stopAllSipp } from "../e2e/harness/sipp";
import { testBed } from "./harness/context";

const bed = testBed();
const device = bed.bed.devices["1007"]!;
const SNIFFER_CONTACT = "sip:1007@127.0.0.9:5099";

afterAll(async () => {
  await stopAllSipp();
  await bed.clearRegistrations();
});

describe("replay through FreeSWITCH", () => {
  it("a captured REGISTER Authorization sent again from another socket with a new Call-ID registers nothing, through A or B", async () => {
    const phone = bed.phone(device);
    const run = await bed.register("replay-1007-capture", "a", phone);
    expect(run.code, describeRun(run)).toBe(0);
    const captured = sentMessages(run).find((message) => /^Authorization:/m.test(message));
    expect(captured, "the phone's answered REGISTER").toBeDefined();
    await bed.until("the phone is registered", () => bed.registrations(device.id), (items) => items.length === 1, 5_000);

    for (const sw of ["a", "b"] as const) {
      const replayed = await replay(captured!, bed.bed.switches[sw].remote, { contact: SNIFFER_CONTACT });
      // A challenge (stale nonce) or a refusal; never a 200.
      expect(replayed.final, `${sw}: ${replayed.received.join(" | ")}`).toMatch(/^SIP\/2\.0 (401|403) /);
    }
    const contacts = (await bed.registrations(device.id)).map((binding) => binding.contact);
    expect(contacts).toEqual([`sip:1007@127.0.0.1:${run.port}`]);
  });
});
