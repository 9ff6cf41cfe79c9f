// REGISTER through a real FreeSWITCH with the shipped files: the edge verifies the digest through
// mod_xml_curl, the shipped Lua hook records new bindings, a refresh costs one edge request and no
// event, Expires: 0 removes the binding, and a binding left to expire is gone at its expiry.
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { describeRun, receivedMessages, receivedStartLines, stopAllSipp } from "../e2e/harness/sipp";
import { POLICY } from "./harness/bed";
import { asked, grantedExpiry, testBed } from "./harness/context";

const bed = testBed();
const { a } = bed.bed.switches;
const device = bed.bed.devices["1001"]!;

beforeEach(bed.clearRegistrations);
afterAll(async () => {
  await stopAllSipp();
  await bed.api("PATCH", bed.account, { policy: POLICY });
  await bed.clearRegistrations();
});

describe("registration through FreeSWITCH", () => {
  it("a phone registers through A: 401, then 200 with the forced expiry; one directory request and one event; the edge and A both list it", async () => {
    const phone = bed.phone(device);
    const since = (await bed.requests()).length;
    const run = await bed.register("register-1001-a", "a", phone);
    expect(run.code, describeRun(run)).toBe(0);
    expect(receivedStartLines(run)).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 200 OK"]);
    const [challenge, ok] = receivedMessages(run);
    expect(challenge).toMatch(/^WWW-Authenticate: Digest realm="acme\.test", nonce="[^"]+",.*algorithm=MD5/m);
    expect(grantedExpiry(ok!, run.port)).toBe(POLICY.defaultExpires);

    const requests = await bed.requestsAfter(since, (list) => list.some((r) => r.event === "sofia::register"));
    expect(asked(requests)).toEqual(["a directory:sip_auth 1001 200", "a sofia::register 1001 200"]);

    const [binding, ...others] = await bed.registrations(device.id);
    expect(others).toEqual([]);
    expect(binding).toMatchObject({ aor: "sip:1001@acme.test", contact: `sip:1001@127.0.0.1:${run.port}`, callId: phone.callId, switchId: a.id });
    expect(binding!.expiresIn).toBeGreaterThan(POLICY.defaultExpires - 10);
    // The switch writes its registrations through its own SQL queue, after the 200 OK: wait for it.
    await bed.until("switch A lists the phone", () => bed.switchRegistrations("a", phone), (contacts) => contacts.length === 1, 10_000);
  });

  it("a refresh costs exactly one edge request, and the hook posts no event for it", async () => {
    const phone = bed.phone(device);
    const first = await bed.register("refresh-1001-first", "a", phone);
    expect(first.code, describeRun(first)).toBe(0);
    const [before] = await bed.until("the binding is recorded", () => bed.registrations(device.id), (items) => items.length === 1, 5_000);

    const since = (await bed.requests()).length;
    const refresh = await bed.register("refresh-1001-again", "a", phone);
    expect(refresh.code, describeRun(refresh)).toBe(0);
    expect(receivedStartLines(refresh)).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 200 OK"]);
    const requests = await bed.requestsAfter(since, (list) => list.some((r) => r.kind === "directory:sip_auth"), 3_000);
    expect(asked(requests)).toEqual(["a directory:sip_auth 1001 200"]);

    const [after, ...others] = await bed.registrations(device.id);
    expect(others).toEqual([]);
    expect(after).toMatchObject({ id: before!.id, contact: before!.contact, callId: phone.callId, switchId: a.id });
    // The switch writes its registrations through its own SQL queue, after the 200 OK: wait for it.
    await bed.until("switch A lists the phone", () => bed.switchRegistrations("a", phone), (contacts) => contacts.length === 1, 10_000);
  });

  it("Expires: 0 removes the binding, at the edge and on the switch", async () => {
    const phone = bed.phone(device);
    const first = await bed.register("unregister-1001-first", "a", phone);
    expect(first.code, describeRun(first)).toBe(0);
    await bed.until("the binding is recorded", () => bed.registrations(device.id), (items) => items.length === 1, 5_000);

    const since = (await bed.requests()).length;
    const started = Date.now();
    const gone = await bed.register("unregister-1001-zero", "a", phone, { expires: 0 });
    expect(gone.code, describeRun(gone)).toBe(0);
    await bed.until("the binding is removed", () => bed.registrations(device.id), (items) => items.length === 0, 5_000);
    console.log(`freeswitch: Expires: 0 removed the binding ${Date.now() - started} ms after the REGISTER was sent`);
    const requests = await bed.requestsAfter(since, (list) => list.some((r) => r.event === "sofia::unregister"));
    expect(asked(requests)).toEqual(["a directory:sip_auth 1001 200", "a sofia::unregister 1001 200"]);
    expect(await bed.switchRegistrations("a", phone)).toEqual([]);
  });

  it("a binding left to expire is gone from lookups at its expiry, and sofia::expire does not bring it back", async () => {
    const expires = 4;
    await bed.api("PATCH", bed.account, { policy: { ...POLICY, defaultExpires: expires } });
    const phone = bed.phone(device);
    const run = await bed.register("expire-1001", "a", phone);
    expect(run.code, describeRun(run)).toBe(0);
    const registeredAt = Date.now();
    expect(grantedExpiry(receivedMessages(run)[1]!, run.port)).toBe(expires);
    await bed.until("the binding is recorded", () => bed.registrations(device.id), (items) => items.length === 1, 5_000);
    const since = (await bed.requests()).length;

    // Gone from the API once its expiry has passed (read every 100 ms).
    await bed.until("the binding is gone", () => bed.registrations(device.id), (items) => items.length === 0, expires * 1000 + 3_000);
    const goneAfter = Date.now() - registeredAt;
    console.log(`freeswitch: a ${expires} s binding was gone from the API ${goneAfter} ms after the 200 OK`);
    expect(goneAfter).toBeGreaterThan(expires * 1000 - 1_000);

    // The switch confirms within its 5 s sweep; the edge answers the event and still lists nothing.
    const requests = await bed.requestsAfter(since, (list) => list.some((r) => r.event === "sofia::expire"), 1_000);
    expect(asked(requests)).toContain("a sofia::expire 1001 200");
    expect(await bed.registrations(device.id)).toEqual([]);
    expect(await bed.switchRegistrations("a", phone)).toEqual([]);
  });
});
