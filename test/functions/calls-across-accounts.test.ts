// A call stays in the caller's account unless that account's call policy names the callee's account,
// the same through Kamailio `locate` and the FreeSWITCH dialplan (one rule: registrar/routing.ts).
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import inviteBody from "../fixtures/freeswitch/dialplan-INVITE-9196.body.txt?raw";
import { registrarForId } from "../../functions/accounts";
import { accountKey, call } from "../helpers";
import { expectJson, expectProblem } from "./api/support";
import { addDevice, createSwitch, dialplanActions, freshAccount, postXml, withField, type TestSwitch } from "./freeswitch/support";
import { answer, kamailio } from "./kamailio/support";

// The INVITE capture: device 1000 of realm 127.0.0.4 dials 9196. Account B has a 9196 of its own.
const A_REALM = "127.0.0.4";
const B_REALM = "bravo.test";
let a: string;
let b: string;
let sw: TestSwitch;

beforeEach(async () => {
  a = (await freshAccount(A_REALM)).id;
  b = (await freshAccount(B_REALM)).id;
  await addDevice(a, "1000", "s3cret-1000");
  await addDevice(a, "9196", "s3cret-a-9196");
  await addDevice(b, "9196", "s3cret-b-9196");
  await addDevice(b, "1000", "s3cret-b-1000");
  sw = await createSwitch("sip:127.0.0.4:5060");
  await registerOn(a, A_REALM, "192.0.2.50");
  await registerOn(b, B_REALM, "192.0.2.60");
});

async function registerOn(accountId: string, realm: string, host: string) {
  const result = await registrarForId(env, accountId)!.register("9196", {
    aor: `sip:9196@${realm}`,
    callId: `9196-${host}`,
    cseq: 1,
    contacts: [{ uri: `sip:9196@${host}:5060` }],
    expires: 300,
    received: `${host}:5060`,
    switchId: sw.id,
  });
  expect(result.status).toBe("registered");
}

const setCalls = async (accountId: string, allowedAccounts: string[]) =>
  expectJson(await call("PATCH", `/accounts/${accountId}`, { body: { calls: { allowedAccounts } } }), 200);

/** Kamailio: device 1000 of `from` calls `requestUri` (INVITE, 407, INVITE again); the contacts it forks to. */
async function kamailioCall(requestUri: string, from = A_REALM, password = "s3cret-1000"): Promise<string[]> {
  const invite = { method: "INVITE", requestUri, from: `sip:1000@${from}`, callId: "call-1@192.0.2.9", authorization: "", source: "192.0.2.9:5062", trusted: "false" };
  const first = await kamailio("locate", invite, sw);
  expect(first.body.status).toBe(407);
  const authorization = await answer(first.body.headers, "1000", password, "INVITE", requestUri);
  const reply = await kamailio("locate", { ...invite, authorization }, sw);
  return (reply.body.targets ?? []).map((t: { uri: string }) => t.uri);
}

/** FreeSWITCH: the captured dialplan request with the Request-URI host `host`; the bridge it answers. */
async function freeswitchCall(host: string, realm = A_REALM): Promise<string | undefined> {
  let body = withField(inviteBody, "variable_sip_req_host", host);
  body = withField(withField(body, "variable_domain_name", realm), "variable_sip_auth_realm", realm);
  const reply = await postXml(body, sw.basic);
  return dialplanActions(reply.text).find(([app]) => app === "bridge")?.[1];
}

describe("a call to another account's device", () => {
  it("stays in the caller's account without a call policy, on both switches", async () => {
    expect(await kamailioCall(`sip:9196@${B_REALM}`)).toEqual(["sip:9196@192.0.2.50:5060"]);
    expect(await freeswitchCall(B_REALM)).toBe(`{presence_id=9196@${A_REALM}}\${sofia_contact(9196@${A_REALM})}`);
  });

  it("reaches the callee's account when the caller's policy names it, on both switches", async () => {
    await setCalls(a, [b]);
    // Looked up in the callee's realm: B's 9196, never A's 9196 of the same name.
    expect(await kamailioCall(`sip:9196@${B_REALM}`)).toEqual(["sip:9196@192.0.2.60:5060"]);
    expect(await freeswitchCall(B_REALM)).toBe(`{presence_id=9196@${B_REALM}}\${sofia_contact(9196@${B_REALM})}`);
    // Calls inside the account are unchanged.
    expect(await kamailioCall(`sip:9196@${A_REALM}`)).toEqual(["sip:9196@192.0.2.50:5060"]);
    expect(await freeswitchCall(A_REALM)).toBe(`{presence_id=9196@${A_REALM}}\${sofia_contact(9196@${A_REALM})}`);
  });

  it("is decided by the caller's policy only: the callee naming the caller opens nothing", async () => {
    await setCalls(b, [a]);
    expect(await kamailioCall(`sip:9196@${B_REALM}`)).toEqual(["sip:9196@192.0.2.50:5060"]);
    expect(await freeswitchCall(B_REALM)).toBe(`{presence_id=9196@${A_REALM}}\${sofia_contact(9196@${A_REALM})}`);
    // B's devices now reach A's.
    expect(await kamailioCall(`sip:9196@${A_REALM}`, B_REALM, "s3cret-b-1000")).toEqual(["sip:9196@192.0.2.50:5060"]);
    expect(await freeswitchCall(A_REALM, B_REALM)).toBe(`{presence_id=9196@${A_REALM}}\${sofia_contact(9196@${A_REALM})}`);
  });

  it("stops when the operator empties the policy", async () => {
    await setCalls(a, [b]);
    await setCalls(a, []);
    expect(await kamailioCall(`sip:9196@${B_REALM}`)).toEqual(["sip:9196@192.0.2.50:5060"]);
    expect(await freeswitchCall(B_REALM)).toBe(`{presence_id=9196@${A_REALM}}\${sofia_contact(9196@${A_REALM})}`);
  });
});

describe("the call policy in the API", () => {
  it("is set by the operator, read back by the account, and refused to the account's own key", async () => {
    const key = await accountKey(a);
    const before = expectJson(await call("GET", `/accounts/${a}`, { auth: key }), 200);
    expect(before.calls).toEqual({ allowedAccounts: [] });
    expectProblem(await call("PATCH", `/accounts/${a}`, { auth: key, body: { calls: { allowedAccounts: [b] } } }), 403, "calls");
    expect(expectJson(await call("GET", `/accounts/${a}`, { auth: key }), 200)).toEqual(before);
    expect(await kamailioCall(`sip:9196@${B_REALM}`)).toEqual(["sip:9196@192.0.2.50:5060"]);

    const set = await setCalls(a, [b, b]);
    expect(set.calls).toEqual({ allowedAccounts: [b] });
    // The account key still changes the rest of its account.
    expect(expectJson(await call("PATCH", `/accounts/${a}`, { auth: key, body: { name: "Alpha" } }), 200).calls).toEqual({ allowedAccounts: [b] });
  });

  it("names existing accounts only, and a refused change keeps the policy", async () => {
    await setCalls(a, [b]);
    const unknown = "0".repeat(64);
    expectProblem(await call("PATCH", `/accounts/${a}`, { body: { calls: { allowedAccounts: [unknown] } } }), 422, "calls.allowedAccounts");
    expectProblem(await call("PATCH", `/accounts/${a}`, { body: { calls: { allowedAccounts: ["not-an-id"] } } }), 400, "calls.allowedAccounts.0");
    expect(expectJson(await call("GET", `/accounts/${a}`), 200).calls).toEqual({ allowedAccounts: [b] });
  });

  it("can be given when the operator creates an account", async () => {
    const created = expectJson(await call("POST", "/accounts", { body: { realm: "charlie.test", name: "Charlie", calls: { allowedAccounts: [a] } } }), 201);
    expect(created.calls).toEqual({ allowedAccounts: [a] });
    await call("DELETE", `/accounts/${created.id}`);
  });
});
