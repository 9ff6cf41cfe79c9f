// REGISTER through a Kamailio switch: the edge challenges, verifies, stores and expires bindings;
// the switch answers exactly what the edge decided, with one edge request per REGISTER.
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { testBed } from "./harness/context";
import { describeRun, receivedMessages, receivedStartLines, sipp, stopAllSipp } from "./harness/sipp";

const bed = testBed();
const { a, b } = bed.fleet.switches;
const device = bed.fleet.devices["1001"]!;

beforeEach(bed.clearRegistrations);
afterAll(async () => {
  await stopAllSipp();
  await bed.clearRegistrations();
});

describe("registration through a Kamailio switch", () => {
  it("a device registers through A: 401, then 200 with its Contact, and the edge lists the binding held by A", async () => {
    const before = bed.edgeCount("/kamailio/v1/authorize");
    const run = await sipp(bed.logDir, { name: "register-1001-a", scenario: "register", remote: a.remote, device, keys: { expires: "300" }, final: "200" });
    expect(run.code, describeRun(run)).toBe(0);
    expect(receivedStartLines(run)).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 200 OK"]);
    const [challenge, ok] = receivedMessages(run);
    expect(challenge).toMatch(/^WWW-Authenticate: Digest realm="acme\.test", nonce="[^"]+", qop="auth", algorithm=MD5$/m);
    expect(ok).toMatch(new RegExp(`^Contact: <sip:1001@127\\.0\\.0\\.1:${run.port}>;expires=\\d+$`, "m"));

    const items = await bed.registrations(device.id);
    expect(items).toEqual([
      expect.objectContaining({
        aor: "sip:1001@acme.test",
        contact: `sip:1001@127.0.0.1:${run.port}`,
        received: `127.0.0.1:${run.port}`,
        switchId: a.id,
      }),
    ]);
    expect(items[0]!.expiresIn).toBeGreaterThan(290);
    expect(items[0]!.expiresIn).toBeLessThanOrEqual(301);

    // Two REGISTERs, two edge requests: the switch credential went with the first request
    // (no HTTP 401 round) and nothing was asked twice.
    const requests = await bed.edgeRequestsSince("/kamailio/v1/authorize", before, 2);
    expect(requests).toHaveLength(2);
    expect(requests.every((line) => line.includes("POST /kamailio/v1/authorize 200"))).toBe(true);
  });

  it("a device registered through B is held by B", async () => {
    const run = await sipp(bed.logDir, { name: "register-1001-b", scenario: "register", remote: b.remote, device, keys: { expires: "300" }, final: "200" });
    expect(run.code, describeRun(run)).toBe(0);
    expect(await bed.registrations(device.id)).toEqual([expect.objectContaining({ contact: `sip:1001@127.0.0.1:${run.port}`, switchId: b.id })]);
  });

  it("a REGISTER with two Contact headers registers both contacts, and the 200 lists both", async () => {
    const run = await sipp(bed.logDir, { name: "register-1001-two-contacts", scenario: "register-two-contacts", remote: a.remote, device, keys: { expires: "60" }, final: "200" });
    expect(run.code, describeRun(run)).toBe(0);
    const contacts = [`sip:1001@127.0.0.1:${run.port}`, `sip:1001@127.0.0.1:${run.port};line=2`];
    const ok = receivedMessages(run)[1]!;
    for (const contact of contacts) expect(ok).toContain(`Contact: <${contact}>;expires=`);
    expect((await bed.registrations(device.id)).map((r) => r.contact).sort()).toEqual(contacts.sort());
  });

  it("a REGISTER with Expires: 0 removes the binding", async () => {
    const registered = await sipp(bed.logDir, { name: "register-1001-before-unregister", scenario: "register", remote: a.remote, device, keys: { expires: "300" }, final: "200" });
    expect(registered.code, describeRun(registered)).toBe(0);
    expect(await bed.registrations(device.id)).toHaveLength(1);

    const removed = await sipp(bed.logDir, {
      name: "unregister-1001",
      scenario: "register",
      remote: a.remote,
      device,
      keys: { expires: "0" },
      final: "200",
      port: registered.port,
    });
    expect(removed.code, describeRun(removed)).toBe(0);
    // The 200 lists the bindings still live: none.
    expect(receivedMessages(removed)[1]).not.toMatch(/^Contact:/m);
    expect(await bed.registrations(device.id)).toEqual([]);
  });

  it("a binding registered for 3 s and not refreshed is gone from the API after about 3 s, with no SIP traffic", async () => {
    const run = await sipp(bed.logDir, { name: "register-1001-short", scenario: "register", remote: a.remote, device, keys: { expires: "3" }, final: "200" });
    expect(run.code, describeRun(run)).toBe(0);
    expect(Number(/^Contact: <[^>]+>;expires=(\d+)$/m.exec(receivedMessages(run)[1] ?? "")?.[1])).toBeLessThanOrEqual(4);
    const registeredAt = Date.now();
    expect(await bed.registrations(device.id)).toHaveLength(1);

    await bed.waitForRegistrations("the short binding expires", (items) => items.length === 0, 10_000, device.id);
    expect(Date.now() - registeredAt).toBeGreaterThanOrEqual(2_000);
  });
});
