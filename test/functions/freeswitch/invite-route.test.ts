// The route of a device's call, answered with its INVITE's directory answer (`sip_auth`), so the
// switch routes it from the shipped whistle_edge_route.xml with no dialplan request. The INVITE's
// directory request is the captured REGISTER's, re-signed for an INVITE to the destination (the
// digest's uri names the Request-URI, as a phone's does); the dialplan requests are the captured
// INVITE's.
import { beforeEach, describe, expect, it } from "vitest";
import inviteBody from "../../fixtures/freeswitch/dialplan-INVITE-9196.body.txt?raw";
import registerBody from "../../fixtures/freeswitch/directory-sip_auth-REGISTER-user1000.body.txt?raw";
import { destinationPattern } from "../../../functions/freeswitch/invite-route";
import { computeHa1 } from "../../../registrar/digest";
import { call } from "../../helpers";
import { addDevice, createSwitch, dialplanActions, digestResponse, directoryUser, freshAccount, isNotFound, postXml, registerOn, withField, type TestSwitch } from "./support";

const REALM = "127.0.0.4";
const OTHER_REALM = "bravo.test";
let accountId: string;
let otherId: string;
let switchA: TestSwitch;
let switchB: TestSwitch;

beforeEach(async () => {
  accountId = (await freshAccount(REALM, { lockout: { threshold: 3, windowSeconds: 300, durationSeconds: 900 } })).id;
  otherId = (await freshAccount(OTHER_REALM)).id;
  await addDevice(accountId, "1000", "s3cret-1000");
  await addDevice(accountId, "9196", "s3cret-9196");
  await addDevice(otherId, "9196", "s3cret-b-9196");
  switchA = await createSwitch("sip:127.0.0.4:5060");
  switchB = await createSwitch("sip:127.0.0.5:5060");
});


/** Device 1000 of 127.0.0.4 calls `destination` at `host` through `sw`: the INVITE's directory answer. */
async function invite(sw: TestSwitch, destination: string, options: { host?: string; password?: string; method?: string; ip?: string; profile?: string } = {}) {
  const { host = REALM, password = "s3cret-1000", method = "INVITE", ip = "127.0.0.1", profile = "internal" } = options;
  const nonce = crypto.randomUUID();
  const uri = `sip:${destination}@${host}:5060`;
  const response = await digestResponse("1000", REALM, password, method, uri, nonce);
  const fields: Record<string, string> = {
    sip_auth_nonce: nonce,
    sip_auth_uri: uri,
    sip_auth_response: response,
    sip_auth_method: method,
    sip_request_user: destination,
    sip_request_host: host,
    sip_request_port: "5060",
    sip_profile: profile,
    ip,
  };
  const body = Object.entries(fields).reduce((text, [name, value]) => withField(text, name, value), registerBody);
  return (await postXml(body, sw.basic)).text;
}

/** The route variables of a directory answer (none: an empty object). */
function routeOf(text: string): Record<string, string> {
  const variables = directoryUser(text).variables;
  return Object.fromEntries(Object.entries(variables).filter(([name]) => name.startsWith("edge_route_")));
}

/** The dialplan request FreeSWITCH would send for the same call without the route: its last action. */
async function dialplanFor(sw: TestSwitch, destination: string, host = REALM): Promise<[string, string]> {
  let body = withField(inviteBody, "Caller-Destination-Number", destination);
  body = withField(body, "variable_sip_req_host", host);
  const actions = dialplanActions((await postXml(body, sw.basic)).text);
  return actions.at(-1)!;
}

/** What whistle_edge_route.xml runs for these variables (its four extensions, in order). */
function fileAction(route: Record<string, string>): [string, string] {
  const here = route.edge_route_here;
  const local = here && `{presence_id=${here}}\${sofia_contact(${here})}`;
  if (route.edge_route_action === "respond") return ["respond", route.edge_route_answer!];
  return ["bridge", [local, route.edge_route_peers].filter(Boolean).join(",")];
}


describe("the route in an INVITE's directory answer", () => {
  it("a callee registered on the asking switch: bridged to its contacts there, for that destination only", async () => {
    await registerOn(accountId, "9196", REALM, "192.0.2.50", switchA.id);
    const answer = await invite(switchA, "9196");
    expect(directoryUser(answer).params["a1-hash"]).toBe(await computeHa1("MD5", "1000", REALM, "s3cret-1000"));
    expect(routeOf(answer)).toEqual({ edge_route_to: "^9196$", edge_route_action: "bridge", edge_route_here: "9196@127.0.0.4" });
    // FreeSWITCH refuses a user variable holding `${`: the file writes the dial-string around the name.
    expect(Object.values(directoryUser(answer).variables).filter((value) => value.includes("${"))).toEqual([]);
  });

  it("a callee held by another switch: bridged through it with the realm header, on the profile the switch named", async () => {
    await registerOn(accountId, "9196", REALM, "192.0.2.51", switchB.id);
    expect(routeOf(await invite(switchA, "9196", { profile: "edge-a" }))).toEqual({
      edge_route_to: "^9196$",
      edge_route_action: "bridge",
      edge_route_peers: "{sip_h_X-Edge-Realm=127.0.0.4}sofia/edge-a/sip:9196@127.0.0.5:5060",
    });
  });

  it("bindings here and on another switch: both, rung in parallel", async () => {
    await registerOn(accountId, "9196", REALM, "192.0.2.50", switchA.id);
    await registerOn(accountId, "9196", REALM, "192.0.2.51", switchB.id);
    expect(routeOf(await invite(switchA, "9196"))).toEqual({
      edge_route_to: "^9196$",
      edge_route_action: "bridge",
      edge_route_here: "9196@127.0.0.4",
      edge_route_peers: "{sip_h_X-Edge-Realm=127.0.0.4}sofia/internal/sip:9196@127.0.0.5:5060",
    });
  });

  it("a device with no registration is answered 480, an unknown destination 404, as routes too", async () => {
    expect(routeOf(await invite(switchA, "9196"))).toEqual({ edge_route_to: "^9196$", edge_route_action: "respond", edge_route_answer: "480 Temporarily Unavailable" });
    expect(routeOf(await invite(switchA, "7777"))).toEqual({ edge_route_to: "^7777$", edge_route_action: "respond", edge_route_answer: "404 Not Found" });
  });

  it("is the dialplan's answer for the same call: inside the account, across accounts with and without a call policy, numbers", async () => {
    await registerOn(accountId, "9196", REALM, "192.0.2.50", switchA.id);
    await registerOn(otherId, "9196", OTHER_REALM, "192.0.2.60", switchB.id);
    const devices = (await call("GET", `/accounts/${otherId}/devices`)).body.items;
    await call("POST", `/accounts/${otherId}/numbers`, { body: { number: "+14155550196", deviceId: devices[0].id } });
    const same = async (destination: string, host = REALM) => {
      const action = fileAction(routeOf(await invite(switchA, destination, { host })));
      expect(action).toEqual(await dialplanFor(switchA, destination, host));
      return action[1];
    };
    // No policy: a call to the other realm stays in the caller's account.
    expect(await same("9196", OTHER_REALM)).toBe("{presence_id=9196@127.0.0.4}${sofia_contact(9196@127.0.0.4)}");
    expect(await same("+14155550196")).toBe("{sip_h_X-Edge-Realm=bravo.test}sofia/internal/sip:9196@127.0.0.5:5060");
    await call("PATCH", `/accounts/${accountId}`, { body: { calls: { allowedAccounts: [otherId] } } });
    expect(await same("9196", OTHER_REALM)).toBe("{sip_h_X-Edge-Realm=bravo.test}sofia/internal/sip:9196@127.0.0.5:5060");
    expect(await same("9196")).toBe("{presence_id=9196@127.0.0.4}${sofia_contact(9196@127.0.0.4)}");
    expect(await same("4444")).toBe("404 Not Found");
  });

  it("a switch scoped to other accounts learns nothing: not found, no route", async () => {
    const scoped = await call("POST", "/switches", { body: { name: "fs-scoped", address: "sip:127.0.0.6:5060", accounts: [otherId] } });
    expect(scoped.status).toBe(201);
    const sw = { id: scoped.body.switch.id, credential: scoped.body.credential, basic: `Basic ${btoa(`${scoped.body.switch.id}:${scoped.body.credential}`)}` };
    expect(isNotFound(await invite(sw, "9196"))).toBe(true);
  });

  it("a REGISTER's answer carries no route", async () => {
    await registerOn(accountId, "9196", REALM, "192.0.2.50", switchA.id);
    const answer = await invite(switchA, "9196", { method: "REGISTER" });
    expect(isNotFound(answer)).toBe(false);
    expect(routeOf(answer)).toEqual({});
  });

  it("a wrong digest gets no route and counts toward the lockout; once locked, the right digest gets none either", async () => {
    await registerOn(accountId, "9196", REALM, "192.0.2.50", switchA.id);
    for (let i = 0; i < 3; i++) expect(isNotFound(await invite(switchA, "9196", { password: "wrong-password" }))).toBe(true);
    expect(isNotFound(await invite(switchA, "9196"))).toBe(true);
    // From another address the device still calls, and gets its route.
    expect(routeOf(await invite(switchA, "9196", { ip: "192.0.2.30" })).edge_route_action).toBe("bridge");
  });

  it("a destination the switch's variable expansion could act on gets no route: the call asks for its dialplan", async () => {
    // Characters a SIP user part may hold but the file's pattern must not carry.
    for (const destination of ["1$2", "x'y", "1,2", "1;2", "1(2)"]) {
      const answer = await invite(switchA, destination);
      expect(isNotFound(answer), destination).toBe(false);
      expect(routeOf(answer), destination).toEqual({});
    }
  });

  it("the destination pattern matches that destination and nothing else, with no backslash", () => {
    for (const destination of ["9196", "+15105550101", "alice.smith", "a-b_c~d", "*72#"]) {
      const pattern = destinationPattern(destination);
      expect(pattern).not.toContain("\\");
      expect(new RegExp(pattern).test(destination)).toBe(true);
      expect(new RegExp(pattern).test(`${destination}0`)).toBe(false);
      expect(new RegExp(pattern).test(`0${destination}`)).toBe(false);
    }
    expect(new RegExp(destinationPattern("a.b")).test("axb")).toBe(false);
    expect(new RegExp(destinationPattern("+1555")).test("1555")).toBe(false);
  });
});
