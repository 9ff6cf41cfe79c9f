// mod_xml_curl directory requests through the Worker, with the bodies FreeSWITCH 1.10.12 sent.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import registerBody from "../../fixtures/freeswitch/directory-sip_auth-REGISTER-user1000.body.txt?raw";
import userCallBody from "../../fixtures/freeswitch/directory-user_call-1000.body.txt?raw";
import { registrarForId } from "../../../functions/accounts";
import { computeHa1 } from "../../../registrar/digest";
import { call } from "../../helpers";
import { addDevice, createSwitch, directoryUser, freshAccount, isNotFound, postXml, withField, type TestSwitch } from "./support";

const REALM = "127.0.0.4";
let accountId: string;
let deviceId: string;
let switchA: TestSwitch;

beforeEach(async () => {
  const account = await freshAccount(REALM, { lockout: { threshold: 3, windowSeconds: 300, durationSeconds: 900 } });
  accountId = account.id;
  deviceId = (await addDevice(accountId, "1000", "s3cret-1000", { callerIdName: "Ext 1000", callerIdNumber: "1000" })).id;
  switchA = await createSwitch("sip:127.0.0.4:5060");
});

const stub = () => registrarForId(env, accountId)!;
const changes = () =>
  runInDurableObject(stub(), (_i, state) => state.storage.sql.exec("SELECT total_changes() AS n").one().n as number);
const wrongResponse = (body: string) => withField(body, "sip_auth_response", "0".repeat(32));

async function bindingFromCapture(switchId = "sw_other", contact = "sip:1000@127.0.0.1:5070") {
  // The binding the captured REGISTER refreshes: same Call-ID, same contact user and host.
  const result = await stub().register("1000", {
    aor: `sip:1000@${REALM}`,
    callId: "1-10723@127.0.0.1",
    cseq: 1,
    contacts: [{ uri: contact }],
    expires: 60,
    switchId,
  });
  expect(result.status).toBe("registered");
}

/** Every stored binding row of the device, expired or not, as the object holds it. */
const storedBindings = () =>
  runInDurableObject(stub(), (_i, state) =>
    state.storage.sql.exec("SELECT contact, expires_at AS expiresAt, switch_id AS switchId FROM bindings ORDER BY id").toArray(),
  );

describe("directory sip_auth", () => {
  it("the captured REGISTER verifies and is answered with the device's a1-hash under its realm", async () => {
    const answer = await postXml(registerBody, switchA.basic);
    expect(answer.status).toBe(200);
    expect(answer.contentType).toContain("text/xml");
    // The declaration ends its own line (FreeSWITCH rejects it otherwise).
    expect(answer.text).toMatch(/^<\?xml version="1.0" encoding="UTF-8" standalone="no"\?>\n<document type="freeswitch\/xml">/);
    const user = directoryUser(answer.text);
    expect(user).toMatchObject({ realm: REALM, id: "1000" });
    expect(user.params["a1-hash"]).toBe(await computeHa1("MD5", "1000", REALM, "s3cret-1000"));
    expect(user.params.password).toBeUndefined();
    expect(answer.text).not.toContain("s3cret-1000");
    const forced = Number(user.params["sip-force-expires"]);
    expect(forced).toBeGreaterThanOrEqual(270);
    expect(forced).toBeLessThanOrEqual(330);
    expect(user.variables).toMatchObject({
      user_context: "default",
      effective_caller_id_name: "Ext 1000",
      effective_caller_id_number: "1000",
    });
    expect(user.variables.edge_binding).toBeUndefined();
    expect(user.domainParams["dial-string"]).toContain("sofia_contact(${dialed_user}@${dialed_domain})");
  });

  it("forced intervals are spread around the account's default, not all the same", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) seen.add(directoryUser((await postXml(registerBody, switchA.basic)).text).params["sip-force-expires"]!);
    expect(seen.size).toBeGreaterThan(1);
  });

  it("a REGISTER matching a live binding refreshes it at auth time, says so, and writes one row", async () => {
    await bindingFromCapture();
    const before = (await stub().locate("1000"))![0]!;
    const changesBefore = await changes();
    const usageBefore = await stub().usage();
    const answer = await postXml(registerBody, switchA.basic);
    const changed = (await changes()) - changesBefore;
    const usageAfter = await stub().usage();
    const user = directoryUser(answer.text);
    expect(user.variables.edge_binding).toBe("refreshed");
    // One binding row updated; billed: the row and its expires_at index entry, no alarm moved.
    expect(changed).toBe(1);
    expect(usageAfter.rowsWritten - usageBefore.rowsWritten).toBeLessThanOrEqual(2);
    expect(usageAfter.alarmsSet).toBe(usageBefore.alarmsSet);
    const after = (await stub().locate("1000"))![0]!;
    expect(after.expiresAt).toBeGreaterThan(before.expiresAt);
    expect(after.expiresAt - Date.now()).toBeCloseTo(Number(user.params["sip-force-expires"]) * 1000, -3);
    // The switch that asked holds the binding now.
    expect(after.switchId).toBe(switchA.id);
  });

  it("a REGISTER's digest does not bring back a binding that has expired: the switch reports it anew", async () => {
    await bindingFromCapture();
    const expiredAt = Date.now() - 1;
    await runInDurableObject(stub(), (_i, state) => state.storage.sql.exec("UPDATE bindings SET expires_at = ?", expiredAt));
    const user = directoryUser((await postXml(registerBody, switchA.basic)).text);
    expect(user.params["a1-hash"]).toBe(await computeHa1("MD5", "1000", REALM, "s3cret-1000"));
    expect(user.variables.edge_binding).toBeUndefined();
    expect(await stub().locate("1000")).toEqual([]);
    expect(await storedBindings()).toEqual([{ contact: "sip:1000@127.0.0.1:5070", expiresAt: expiredAt, switchId: "sw_other" }]);
  });

  it.each([
    ["another host", "sip:1000@192.0.2.77:5070"],
    ["another user", "sip:1999@127.0.0.1:5070"],
  ])("a REGISTER's digest does not refresh a binding of the same Call-ID with %s in its contact", async (_label, contact) => {
    await bindingFromCapture("sw_other", contact);
    const before = await storedBindings();
    const user = directoryUser((await postXml(registerBody, switchA.basic)).text);
    expect(user.variables.edge_binding).toBeUndefined();
    expect(await storedBindings()).toEqual(before);
    expect(before).toEqual([{ contact, expiresAt: expect.any(Number), switchId: "sw_other" }]);
  });

  it("an INVITE sip_auth with a right digest writes no row", async () => {
    await bindingFromCapture();
    // The captured body, re-signed for INVITE with the device's password.
    const ha1 = await computeHa1("MD5", "1000", REALM, "s3cret-1000");
    const md5 = async (s: string) =>
      [...new Uint8Array(await crypto.subtle.digest("MD5", new TextEncoder().encode(s)))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const ha2 = await md5("INVITE:sip:127.0.0.4:5060");
    const response = await md5(`${ha1}:491e83ce-9b62-4034-8a90-08c99c20f0c2:00000001:6b8b4567:auth:${ha2}`);
    const invite = withField(withField(registerBody, "sip_auth_method", "INVITE"), "sip_auth_response", response);
    const changesBefore = await changes();
    const usageBefore = await stub().usage();
    const answer = await postXml(invite, switchA.basic);
    expect((await stub().usage()).rowsWritten).toBe(usageBefore.rowsWritten);
    expect(directoryUser(answer.text).params["a1-hash"]).toBe(ha1);
    expect(directoryUser(answer.text).variables.edge_binding).toBeUndefined();
    expect((await changes()) - changesBefore).toBe(0);
  });

  it("a wrong response is answered not found and counts toward a lock of its source, which holds on every switch", async () => {
    const switchB = await createSwitch("sip:127.0.0.5:5060");
    for (let i = 0; i < 2; i++) expect(isNotFound((await postXml(wrongResponse(registerBody), switchA.basic)).text)).toBe(true);
    // Under the threshold the right password still works, and its count starts over.
    expect(isNotFound((await postXml(registerBody, switchB.basic)).text)).toBe(false);
    for (let i = 0; i < 2; i++) expect(isNotFound((await postXml(wrongResponse(registerBody), switchB.basic)).text)).toBe(true);
    expect(isNotFound((await postXml(registerBody, switchA.basic)).text)).toBe(false);
    expect(isNotFound((await postXml(wrongResponse(registerBody), switchB.basic)).text)).toBe(true);
    expect(isNotFound((await postXml(wrongResponse(registerBody), switchA.basic)).text)).toBe(true);
    expect(isNotFound((await postXml(wrongResponse(withField(registerBody, "client_port", "5099")), switchB.basic)).text)).toBe(true);
    // The source (ip 127.0.0.1, any port) is locked: the right password from it is refused too, from either switch.
    expect(isNotFound((await postXml(registerBody, switchA.basic)).text)).toBe(true);
    expect(isNotFound((await postXml(withField(registerBody, "client_port", "6000"), switchB.basic)).text)).toBe(true);
    // The device itself is not locked: from another address it authenticates.
    expect(isNotFound((await postXml(withField(registerBody, "ip", "192.0.2.30"), switchA.basic)).text)).toBe(false);
    const device = await call("GET", `/accounts/${accountId}/devices/${deviceId}`);
    expect(device.body.lockedUntil).toBeNull();
    const lockout = await call("GET", `/accounts/${accountId}/devices/${deviceId}/lockout`);
    expect(lockout.body.sources).toMatchObject([{ source: "127.0.0.1" }]);
    expect(Date.parse(lockout.body.sources[0].lockedUntil) - Date.now()).toBeGreaterThan(890_000);
    // The operator lifts it.
    const cleared = await call("DELETE", `/accounts/${accountId}/devices/${deviceId}/lockout`);
    expect(cleared.status).toBe(200);
    expect(isNotFound((await postXml(registerBody, switchA.basic)).text)).toBe(false);
  });

  it("a digest whose uri is not the Request-URI FreeSWITCH reports is refused, and counts as no failure", async () => {
    const ha1 = await computeHa1("MD5", "1000", REALM, "s3cret-1000");
    const md5 = async (s: string) =>
      [...new Uint8Array(await crypto.subtle.digest("MD5", new TextEncoder().encode(s)))].map((b) => b.toString(16).padStart(2, "0")).join("");
    // Signed for another request URI: the response is right for its uri, the uri is not the request's.
    const resigned = async (uri: string) =>
      withField(withField(registerBody, "sip_auth_uri", uri), "sip_auth_response", await md5(`${ha1}:491e83ce-9b62-4034-8a90-08c99c20f0c2:00000001:6b8b4567:auth:${await md5(`REGISTER:${uri}`)}`));
    for (const uri of ["sip:127.0.0.4", "sip:127.0.0.4:5070", "sip:2000@127.0.0.4:5060", "sip:127.0.0.9:5060"]) {
      expect(isNotFound((await postXml(await resigned(uri), switchA.basic)).text), uri).toBe(true);
    }
    // The request-URI fields themselves: the captured uri no longer names them.
    expect(isNotFound((await postXml(withField(registerBody, "sip_request_port", "5070"), switchA.basic)).text)).toBe(true);
    expect(isNotFound((await postXml(withField(registerBody, "sip_request_user", "2000"), switchA.basic)).text)).toBe(true);
    expect(isNotFound((await postXml(registerBody.replace(/&sip_request_host=[^&]*/, ""), switchA.basic)).text)).toBe(true);
    // Not password failures: three of them (the lockout threshold) lock nothing.
    expect(isNotFound((await postXml(await resigned("sip:127.0.0.4:5060"), switchA.basic)).text)).toBe(false);
  });

  it("a nonce FreeSWITCH lets through without qop is good once at the edge, on every switch; with qop FreeSWITCH counts", async () => {
    const ha1 = await computeHa1("MD5", "1000", REALM, "s3cret-1000");
    const md5 = async (s: string) =>
      [...new Uint8Array(await crypto.subtle.digest("MD5", new TextEncoder().encode(s)))].map((b) => b.toString(16).padStart(2, "0")).join("");
    let noQop = registerBody.replace(/&sip_auth_(qop|nc|cnonce)=[^&]*/g, "");
    noQop = withField(noQop, "sip_auth_response", await md5(`${ha1}:491e83ce-9b62-4034-8a90-08c99c20f0c2:${await md5("REGISTER:sip:127.0.0.4:5060")}`));
    const switchB = await createSwitch("sip:127.0.0.5:5060");
    expect(isNotFound((await postXml(noQop, switchA.basic)).text)).toBe(false);
    expect(isNotFound((await postXml(noQop, switchA.basic)).text)).toBe(true);
    expect(isNotFound((await postXml(noQop, switchB.basic)).text)).toBe(true);
    // With qop the captured answer is passed each time: FreeSWITCH refuses a count that does not grow before it asks.
    for (let i = 0; i < 2; i++) expect(isNotFound((await postXml(registerBody, switchA.basic)).text)).toBe(false);
  });

  it("unknown user, unknown realm and a disabled device get the not-found document", async () => {
    expect(isNotFound((await postXml(withField(withField(registerBody, "user", "1999"), "sip_auth_username", "1999"), switchA.basic)).text)).toBe(true);
    expect(isNotFound((await postXml(withField(registerBody, "domain", "nowhere.test"), switchA.basic)).text)).toBe(true);
    await call("PATCH", `/accounts/${accountId}/devices/${deviceId}`, { body: { enabled: false } });
    expect(isNotFound((await postXml(registerBody, switchA.basic)).text)).toBe(true);
  });

  it("without a valid switch credential the request is refused and changes nothing", async () => {
    await bindingFromCapture();
    const before = (await stub().locate("1000"))![0]!;
    const changesBefore = await changes();
    for (const auth of [null, `Basic ${btoa(`${switchA.id}:wsc1.forged.signature`)}`, `Basic ${btoa(`sw_someone_else:${switchA.credential}`)}`]) {
      const answer = await postXml(wrongResponse(registerBody), auth);
      expect(answer.status).toBe(401);
      expect(isNotFound(answer.text)).toBe(true);
    }
    expect(await changes()).toBe(changesBefore);
    expect((await stub().locate("1000"))![0]!.expiresAt).toBe(before.expiresAt);
  });

  it("values are escaped by the XML builder", async () => {
    await call("PATCH", `/accounts/${accountId}/devices/${deviceId}`, { body: { callerIdName: `R&D "<lab>"` } });
    const answer = await postXml(registerBody, switchA.basic);
    expect(answer.text).toContain("R&amp;D &quot;&lt;lab&gt;&quot;");
    expect(directoryUser(answer.text).variables.effective_caller_id_name).toBe(`R&D "<lab>"`);
  });
});

describe("directory user_call", () => {
  it("answers the domain dial-string that reaches the switch's own registrations", async () => {
    const account = await freshAccount("acme.test");
    await addDevice(account.id, "1000", "acme-pass-1000");
    const answer = await postXml(userCallBody, switchA.basic);
    const user = directoryUser(answer.text);
    expect(user).toMatchObject({ realm: "acme.test", id: "1000" });
    expect(user.domainParams["dial-string"]).toBe("{presence_id=${dialed_user}@${dialed_domain}}${sofia_contact(${dialed_user}@${dialed_domain})}");
    expect(user.params["a1-hash"]).toBeUndefined();
  });

  it("an unknown action or section is answered not found", async () => {
    expect(isNotFound((await postXml(withField(userCallBody, "action", "message-count"), switchA.basic)).text)).toBe(true);
    expect(isNotFound((await postXml(withField(userCallBody, "section", "configuration"), switchA.basic)).text)).toBe(true);
  });
});
