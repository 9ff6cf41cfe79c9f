// A switch scoped to a list of accounts: every callback for another account is answered exactly as
// for a realm no account has, and changes nothing; an unscoped switch serves every account.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import sipAuthBody from "../fixtures/freeswitch/directory-sip_auth-REGISTER-user1000.body.txt?raw";
import userCallBody from "../fixtures/freeswitch/directory-user_call-1000.body.txt?raw";
import inviteBody from "../fixtures/freeswitch/dialplan-INVITE-9196.body.txt?raw";
import registerEvent from "../fixtures/freeswitch/event-sofia_register.json";
import unregisterEvent from "../fixtures/freeswitch/event-sofia_unregister.json";
import { registrarForId } from "../../functions/accounts";
import { call } from "../helpers";
import { expectJson, expectProblem, listAll } from "./api/support";
import { addDevice, dialplanActions, directoryUser, freshAccount, isNotFound, postEvent, postXml, verifiedRegister, withField, type TestSwitch } from "./freeswitch/support";
import { answer, kamailio } from "./kamailio/support";

// The captures' realms: the sip_auth REGISTER and the INVITE are for 127.0.0.4, the user_call for
// acme.test, the sofia::register event for 127.0.0.6. `other.test` is the scoped switch's own account.
const NOWHERE = "nowhere.test";
let ours: string; // 127.0.0.4
let acme: string;
let eventRealm: string; // 127.0.0.6
let other: string;
let scoped: TestSwitch; // may act for other.test only
let open: TestSwitch; // unscoped

async function switchFor(accounts: string[] | null): Promise<TestSwitch> {
  const reply = await call("POST", "/switches", {
    body: { name: `scope-${crypto.randomUUID().slice(0, 8)}`, address: "sip:127.0.0.4:5060", ...(accounts && { accounts }) },
  });
  const { switch: sw, credential } = expectJson(reply, 201);
  return { id: sw.id, credential, basic: `Basic ${btoa(`${sw.id}:${credential}`)}` };
}

beforeEach(async () => {
  ours = (await freshAccount("127.0.0.4")).id;
  acme = (await freshAccount("acme.test")).id;
  eventRealm = (await freshAccount("127.0.0.6")).id;
  other = (await freshAccount("other.test")).id;
  await addDevice(ours, "1000", "s3cret-1000");
  await addDevice(ours, "9196", "s3cret-9196");
  await addDevice(acme, "1000", "s3cret-acme-1000");
  await addDevice(eventRealm, "1000", "s3cret-event-1000");
  scoped = await switchFor([other]);
  open = await switchFor(null);
});

const registrations = (accountId: string) => listAll(`/accounts/${accountId}/registrations`);

describe("FreeSWITCH callbacks from a switch outside its scope", () => {
  it("a verified sip_auth gets the not-found document an unknown realm gets", async () => {
    const outside = await postXml(sipAuthBody, scoped.basic);
    const unknownRealm = await postXml(withField(withField(sipAuthBody, "domain", NOWHERE), "sip_auth_realm", NOWHERE), open.basic);
    expect(outside).toEqual(unknownRealm);
    expect(isNotFound(outside.text)).toBe(true);
    // The same request through an unscoped switch is answered with the device.
    expect(directoryUser((await postXml(sipAuthBody, open.basic)).text).id).toBe("1000");
  });

  it("user_call reads no caller ID out of scope", async () => {
    const outside = await postXml(userCallBody, scoped.basic);
    expect(outside).toEqual(await postXml(withField(userCallBody, "domain", NOWHERE), open.basic));
    expect(isNotFound(outside.text)).toBe(true);
    expect(directoryUser((await postXml(userCallBody, open.basic)).text).id).toBe("1000");
  });

  it("sofia::register, sofia::unregister and sofia::expire are answered as for an unknown realm and store nothing", async () => {
    const outside = await postEvent(registerEvent, scoped);
    const unknownRealm = await postEvent({ ...registerEvent, "from-host": NOWHERE }, open);
    expect(outside.status).toBe(404);
    expect(JSON.stringify(outside.body).replaceAll("127.0.0.6", NOWHERE)).toBe(JSON.stringify(unknownRealm.body));
    expect(await registrations(eventRealm)).toEqual([]);

    // A binding the account holds is not removed by a switch outside its scope.
    await verifiedRegister(open, { realm: "127.0.0.6", username: "1000", password: "s3cret-event-1000" });
    expect((await postEvent(registerEvent, open)).status).toBe(200);
    const held = await registrations(eventRealm);
    expect(held).toHaveLength(1);
    const unregister = { ...unregisterEvent, "from-host": "127.0.0.6", contact: registerEvent.contact };
    const refused = await postEvent(unregister, scoped);
    expect(refused).toEqual(await postEvent({ ...unregister, "from-host": NOWHERE }, open));
    const expire = { "Event-Subclass": "sofia::expire", user: "1000", host: "127.0.0.6", contact: registerEvent.contact };
    expect(await postEvent(expire, scoped)).toEqual(await postEvent({ ...expire, host: NOWHERE }, open));
    expect(await registrations(eventRealm)).toEqual(held);
  });

  it("the dialplan finds neither the account's devices nor its numbers", async () => {
    await registrarForId(env, ours)!.register("9196", {
      aor: "sip:9196@127.0.0.4",
      callId: "scope-9196",
      cseq: 1,
      contacts: [{ uri: "sip:9196@192.0.2.50:5060" }],
      expires: 300,
      switchId: open.id,
    });
    expectJson(await call("POST", `/accounts/${ours}/numbers`, { body: { number: "+14155550177" } }), 201);
    const outside = await postXml(inviteBody, scoped.basic);
    expect(dialplanActions(outside.text)).toEqual([["respond", "404 Not Found"]]);
    expect(outside).toEqual(await postXml(withField(withField(inviteBody, "variable_domain_name", NOWHERE), "variable_sip_req_host", NOWHERE), open.basic));
    // A carrier's call to the account's number through the scoped switch: unknown too.
    const carrier = withField(withField(inviteBody, "variable_sip_acl_authed_by", "carriers"), "Caller-Destination-Number", "+14155550177");
    expect(dialplanActions((await postXml(carrier, scoped.basic)).text)).toEqual([["respond", "404 Not Found"]]);
    expect(dialplanActions((await postXml(carrier, open.basic)).text)).toEqual([["respond", "480 Temporarily Unavailable"]]);
    expect(dialplanActions((await postXml(inviteBody, open.basic)).text)).toContainEqual(["bridge", "{presence_id=9196@127.0.0.4}${sofia_contact(9196@127.0.0.4)}"]);
  });
});

describe("Kamailio callbacks from a switch outside its scope", () => {
  const register = (realm: string, authorization = "") => ({
    method: "REGISTER",
    requestUri: `sip:${realm}`,
    to: `sip:1000@${realm}`,
    from: `sip:1000@${realm}`,
    authorization,
    source: "192.0.2.7:5070",
    contact: "<sip:1000@192.0.2.7:5070>",
    expires: "",
    callId: "scope-reg@192.0.2.7",
    cseq: "2",
    path: "",
    supported: "",
    userAgent: "scope test",
  });

  it("authorize answers a right digest as it answers an unknown realm's, and registers nothing", async () => {
    const challengeOutside = await kamailio("authorize", register("127.0.0.4"), scoped);
    expect(challengeOutside.body.status).toBe(401);
    const digest = await answer(challengeOutside.body.headers, "1000", "s3cret-1000", "REGISTER", "sip:127.0.0.4");
    const outside = await kamailio("authorize", register("127.0.0.4", digest), scoped);

    const challengeUnknown = await kamailio("authorize", register(NOWHERE), open);
    const unknownDigest = await answer(challengeUnknown.body.headers, "1000", "s3cret-1000", "REGISTER", `sip:${NOWHERE}`);
    const unknownRealm = await kamailio("authorize", register(NOWHERE, unknownDigest), open);
    const withoutNonce = (body: Record<string, unknown>) => JSON.stringify(body).replace(/nonce=\\"[^\\]*\\"/g, "nonce").replaceAll(NOWHERE, "127.0.0.4");
    expect(withoutNonce(outside.body)).toBe(withoutNonce(unknownRealm.body));
    expect(await registrations(ours)).toEqual([]);

    // Through the unscoped switch the same digest registers.
    const inScope = await kamailio("authorize", register("127.0.0.4", digest), open);
    expect(inScope.body.status).toBe(200);
    expect(await registrations(ours)).toHaveLength(1);
  });

  it("locate reaches no device of the account, from a caller or a trusted peer", async () => {
    await registrarForId(env, ours)!.register("9196", {
      aor: "sip:9196@127.0.0.4",
      callId: "scope-9196-k",
      cseq: 1,
      contacts: [{ uri: "sip:9196@192.0.2.50:5060" }],
      expires: 300,
      switchId: scoped.id,
    });
    const trusted = { method: "INVITE", requestUri: "sip:9196@127.0.0.4", from: "sip:carrier@192.0.2.1", authorization: "", source: "192.0.2.1:5060", trusted: "true" };
    const outside = await kamailio("locate", trusted, scoped);
    expect(outside.body).toEqual((await kamailio("locate", { ...trusted, requestUri: `sip:9196@${NOWHERE}` }, open)).body);
    expect(outside.body.status).toBe(404);
    expect((await kamailio("locate", trusted, open)).body.status).toBe(200);

    // An authenticated caller of the account, through the scoped switch: an unknown caller.
    const invite = { ...trusted, from: "sip:1000@127.0.0.4", trusted: "false" };
    const first = await kamailio("locate", invite, scoped);
    const authorization = await answer(first.body.headers, "1000", "s3cret-1000", "INVITE", invite.requestUri);
    const refused = await kamailio("locate", { ...invite, authorization }, scoped);
    const unknownFirst = await kamailio("locate", { ...invite, from: `sip:1000@${NOWHERE}` }, open);
    const unknownAuth = await answer(unknownFirst.body.headers, "1000", "s3cret-1000", "INVITE", invite.requestUri);
    const unknownCaller = await kamailio("locate", { ...invite, from: `sip:1000@${NOWHERE}`, authorization: unknownAuth }, open);
    const withoutNonce = (body: Record<string, unknown>) => JSON.stringify(body).replace(/nonce=\\"[^\\]*\\"/g, "nonce").replaceAll(NOWHERE, "127.0.0.4");
    expect(withoutNonce(refused.body)).toBe(withoutNonce(unknownCaller.body));
    expect(refused.body.targets).toBeUndefined();
  });
});

describe("a switch's scope in the API", () => {
  it("is set at creation, shown, changed and lifted by the operator", async () => {
    const shown = expectJson(await call("GET", `/switches/${scoped.id}`), 200);
    expect(shown.accounts).toEqual([other]);
    expect(expectJson(await call("GET", `/switches/${open.id}`), 200).accounts).toBeNull();

    // Widened to our account: the sip_auth is answered with the device at once.
    expect(expectJson(await call("PATCH", `/switches/${scoped.id}`, { body: { accounts: [other, ours, ours] } }), 200).accounts).toEqual([other, ours]);
    expect(directoryUser((await postXml(sipAuthBody, scoped.basic)).text).id).toBe("1000");
    // Narrowed again, then lifted.
    expectJson(await call("PATCH", `/switches/${scoped.id}`, { body: { accounts: [other] } }), 200);
    expect(isNotFound((await postXml(sipAuthBody, scoped.basic)).text)).toBe(true);
    expect(expectJson(await call("PATCH", `/switches/${scoped.id}`, { body: { accounts: null } }), 200).accounts).toBeNull();
    expect(directoryUser((await postXml(sipAuthBody, scoped.basic)).text).id).toBe("1000");
  });

  it("names existing accounts only, at least one, and a refused change keeps the scope", async () => {
    expectProblem(await call("PATCH", `/switches/${scoped.id}`, { body: { accounts: ["0".repeat(64)] } }), 422, "accounts");
    expectProblem(await call("PATCH", `/switches/${scoped.id}`, { body: { accounts: [] } }), 400, "accounts");
    expectProblem(await call("POST", "/switches", { body: { name: "scope-bad", address: "sip:127.0.0.9:5060", accounts: ["nope"] } }), 400, "accounts.0");
    expect(expectJson(await call("GET", `/switches/${scoped.id}`), 200).accounts).toEqual([other]);
    expect((await listAll("/switches")).some((s) => (s as { name: string }).name === "scope-bad")).toBe(false);
  });
});
