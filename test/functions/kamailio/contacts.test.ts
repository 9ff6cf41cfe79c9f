// Contact, Path and source addresses through Kamailio `authorize` and `locate`: a malformed one is a
// 400 decision that writes nothing; what the edge writes into the 200's Contact headers and into
// targets ($ru, $du) is written back from the parsed values, never copied from storage raw.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { registrarForId } from "../../../functions/accounts";
import { call } from "../../helpers";
import { addDevice, createSwitch, freshAccount, type TestSwitch } from "../freeswitch/support";
import { answer, kamailio } from "./support";

const REALM = "contacts.test";
let accountId: string;
let A: TestSwitch;

beforeEach(async () => {
  accountId = (await freshAccount(REALM)).id;
  await addDevice(accountId, "2001", "alice-pass-2001");
  await addDevice(accountId, "2002", "bob-pass-2002");
  A = await createSwitch("sip:127.0.0.2:5060");
});

let cseq = 1;
function register(username: string, overrides: Record<string, string> = {}) {
  return {
    method: "REGISTER",
    requestUri: `sip:${REALM}`,
    to: `sip:${username}@${REALM}`,
    from: `sip:${username}@${REALM}`,
    authorization: "",
    source: "127.0.0.1:5098",
    contact: `<sip:${username}@127.0.0.1:5098>`,
    expires: "120",
    callId: `reg-${username}@127.0.0.1`,
    cseq: String(cseq++),
    ...overrides,
  };
}

/** REGISTER as a phone that knows its password: challenge, then the answer with these fields. */
async function registered(username: string, password: string, overrides: Record<string, string>) {
  const first = await kamailio("authorize", register(username, overrides), A);
  expect(first.body.status).toBe(401);
  const authorization = await answer(first.body.headers, username, password, "REGISTER", `sip:${REALM}`);
  return kamailio("authorize", register(username, { ...overrides, authorization }), A);
}

const registrations = async () => (await call("GET", `/accounts/${accountId}/registrations`)).body.items;

describe("contacts through kamailio authorize", () => {
  it("the injection forms get a 400 decision with the right digest, and nothing is stored", async () => {
    const injected = [
      'sip:2002@192.0.2.81:5060;x="a\r\nX-Injected: 1"',
      '<sip:2001@127.0.0.1:5098>;x="a',
      '<sip:2001@127.0.0.1:5098;x="a>',
      "<sip:2001@127.0.0.1:99999>",
      "<sip:2001@127.0.0.1:5098>\u0000",
    ];
    for (const contact of injected) {
      const reply = await registered("2001", "alice-pass-2001", { contact });
      expect(reply.status, contact).toBe(200);
      expect(reply.body, contact).toEqual({ status: 400, reason: "Bad Contact", headers: "" });
    }
    expect(await registrations()).toEqual([]);
  });

  it("a malformed Path or source address is a 400 decision too", async () => {
    expect((await registered("2001", "alice-pass-2001", { path: "<sip:proxy.example;lr>\r\nX: 1" })).body).toMatchObject({ status: 400, reason: "Bad Path" });
    expect((await registered("2001", "alice-pass-2001", { source: "127.0.0.1:70000" })).body).toMatchObject({ status: 400, reason: "Bad Source Address" });
    expect(await registrations()).toEqual([]);
  });

  it("an accepted contact is stored and answered in canonical form, with Path and received written back", async () => {
    const reply = await registered("2001", "alice-pass-2001", {
      contact: '"Alice" <sip:2001@LOCALHOST.Example:5098;transport=UDP>;expires=90;+sip.instance="<urn:uuid:1>";reg-id=1',
      path: "<sip:Edge.Example;lr>",
      source: "2001:DB8::7:5098",
    });
    expect(reply.body.status).toBe(200);
    expect(reply.body.headers).toMatch(/^Contact: <sip:2001@localhost\.example:5098;transport=UDP>;expires=(8\d|90)\r\n$/);
    const [binding] = await registrations();
    expect(binding).toMatchObject({
      contact: "sip:2001@localhost.example:5098;transport=UDP",
      path: ["<sip:edge.example;lr>"],
      received: "[2001:db8::7]:5098",
      instanceId: "<urn:uuid:1>",
      regId: 1,
    });
  });
});

describe("what the edge writes back", () => {
  it("a stored contact that does not parse is neither answered in a 200 nor offered as a target", async () => {
    // A binding stored before contacts were checked, written straight into the account's object.
    const stub = registrarForId(env, accountId)!;
    const raw = 'sip:2002@192.0.2.81:5060;x="a\r\nX-Injected: 1"';
    const stored = await stub.register("2002", { aor: `sip:2002@${REALM}`, callId: "old", cseq: 1, contacts: [{ uri: raw }], expires: 300, received: "192.0.2.81:5060\r\nX: 1", switchId: A.id });
    expect(stored.status).toBe("registered");

    const reply = await registered("2002", "bob-pass-2002", { contact: "<sip:2002@127.0.0.1:5099>" });
    expect(reply.body.status).toBe(200);
    expect(reply.body.headers).toMatch(/^Contact: <sip:2002@127\.0\.0\.1:5099>;expires=\d+\r\n$/);
    expect(reply.body.headers).not.toContain("X-Injected");

    const located = await kamailio("locate", { requestUri: `sip:2002@${REALM}`, source: "127.0.0.3:5060", trusted: "true" }, A);
    expect(located.body.status).toBe(200);
    expect(located.body.targets).toEqual([{ uri: "sip:2002@127.0.0.1:5099", destination: "sip:127.0.0.1:5098" }]);
    expect(JSON.stringify(located.body)).not.toMatch(/X-Injected|\\r|\\n/);
  });
});
