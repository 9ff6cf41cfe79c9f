// Kamailio `locate`: who is called, and where to fork: the device's own addresses when this
// proxy holds its bindings, the holding switch otherwise; 404, 480; callers authenticated by the edge.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { registrarForId } from "../../../functions/accounts";
import { call } from "../../helpers";
import { addDevice, createSwitch, freshAccount, type TestSwitch } from "../freeswitch/support";
import { answer, kamailio } from "./support";

const REALM = "acme.test";
let accountId: string;
let A: TestSwitch;
let B: TestSwitch;

beforeEach(async () => {
  accountId = (await freshAccount(REALM)).id;
  await addDevice(accountId, "1001", "alice-pass-1001");
  await addDevice(accountId, "1002", "bob-pass-1002");
  A = await createSwitch("sip:127.0.0.2:5060");
  B = await createSwitch("sip:127.0.0.3:5060");
});

async function registerOn(username: string, port: number, sw: TestSwitch, callId = `${username}-${port}`) {
  const result = await registrarForId(env, accountId)!.register(username, {
    aor: `sip:${username}@${REALM}`,
    callId,
    cseq: 1,
    contacts: [{ uri: `sip:${username}@10.1.1.1:${port}` }],
    expires: 300,
    received: `127.0.0.1:${port}`,
    switchId: sw.id,
  });
  expect(result.status).toBe("registered");
}

const invite = (overrides: Record<string, string> = {}) => ({
  method: "INVITE",
  requestUri: "sip:1001@acme.test",
  from: "sip:1002@acme.test",
  authorization: "",
  source: "127.0.0.1:5072",
  callId: "call-1@127.0.0.1",
  trusted: "false",
  ...overrides,
});

/** INVITE, answer the 407, INVITE again: what a phone does. */
async function authenticatedCall(sw: TestSwitch, overrides: Record<string, string> = {}, password = "bob-pass-1002") {
  const first = await kamailio("locate", invite(overrides), sw);
  expect(first.body.status).toBe(407);
  expect(first.body.headers).toMatch(/^Proxy-Authenticate: Digest realm="acme\.test"/);
  const authorization = await answer(first.body.headers, "1002", password, "INVITE", overrides.requestUri ?? "sip:1001@acme.test");
  return kamailio("locate", invite({ ...overrides, authorization }), sw);
}

describe("kamailio locate", () => {
  it("authenticates the caller, then forks to the callee's own addresses held by this proxy", async () => {
    await registerOn("1001", 5070, A);
    await registerOn("1001", 5071, A);
    const reply = await authenticatedCall(A);
    expect(reply.body).toMatchObject({ status: 200, reason: "OK" });
    expect(reply.body.targets).toEqual(
      expect.arrayContaining([
        { uri: "sip:1001@10.1.1.1:5070", destination: "sip:127.0.0.1:5070" },
        { uri: "sip:1001@10.1.1.1:5071", destination: "sip:127.0.0.1:5071" },
      ]),
    );
    expect(reply.body.targets).toHaveLength(2);
  });

  it("a callee held by another switch is reached through it, and that switch delivers it locally", async () => {
    await registerOn("1001", 5070, A);
    const viaB = await authenticatedCall(B);
    expect(viaB.body.targets).toEqual([{ uri: "sip:1001@acme.test", destination: "sip:127.0.0.2:5060" }]);
    // A receives it from B (a fleet switch the proxy trusts): only A's own bindings, never onwards.
    const atA = await kamailio("locate", invite({ source: "127.0.0.3:5060", trusted: "true" }), A);
    expect(atA.body.targets).toEqual([{ uri: "sip:1001@10.1.1.1:5070", destination: "sip:127.0.0.1:5070" }]);
    await registerOn("1001", 5090, B, "other-flow");
    const handedOver = await kamailio("locate", invite({ source: "127.0.0.3:5060", trusted: "true" }), A);
    expect(handedOver.body.targets).toEqual([{ uri: "sip:1001@10.1.1.1:5070", destination: "sip:127.0.0.1:5070" }]);
  });

  it("a hand-over is recognised however the switch's IPv6 address is written", async () => {
    const C = await createSwitch("sip:[2001:DB8:0:0::3]");
    await registerOn("1001", 5070, A);
    await registerOn("1001", 5090, C, "on-c");
    await authenticatedCall(C); // C is heard from: its leg would be offered
    // Kamailio reports the source as $si:$sp, IPv6 compressed and without brackets.
    const handedOver = await kamailio("locate", invite({ source: "2001:db8::3:5060", trusted: "true" }), A);
    expect(handedOver.body.targets).toEqual([{ uri: "sip:1001@10.1.1.1:5070", destination: "sip:127.0.0.1:5070" }]);
  });

  it("a phone on the same host as a switch is not taken for that switch", async () => {
    await createSwitch("sip:127.0.0.1:5060");
    await registerOn("1001", 5070, A);
    const viaB = await authenticatedCall(B, { source: "127.0.0.1:49293" });
    expect(viaB.body.targets).toEqual([{ uri: "sip:1001@acme.test", destination: "sip:127.0.0.2:5060" }]);
  });

  it("bindings on both switches ring in parallel: the local contact and the other switch", async () => {
    await registerOn("1001", 5070, A);
    await registerOn("1001", 5071, B);
    const reply = await authenticatedCall(A);
    expect(reply.body.targets).toHaveLength(2);
    expect(reply.body.targets).toEqual(
      expect.arrayContaining([
        { uri: "sip:1001@10.1.1.1:5070", destination: "sip:127.0.0.1:5070" },
        { uri: "sip:1001@acme.test", destination: "sip:127.0.0.3:5060" },
      ]),
    );
  });

  it("unknown user: 404; known but unregistered: 480", async () => {
    expect((await authenticatedCall(A, { requestUri: "sip:4040@acme.test" })).body).toMatchObject({ status: 404, reason: "Not Found" });
    expect((await authenticatedCall(A)).body).toMatchObject({ status: 480, reason: "Temporarily Unavailable" });
  });

  it("a wrong caller password is challenged again and counts toward a lock of that source; the caller still calls from elsewhere", async () => {
    await registerOn("1001", 5070, A);
    expect((await call("PATCH", `/accounts/${accountId}`, { body: { lockout: { threshold: 2 } } })).status).toBe(200);
    const devices = (await call("GET", `/accounts/${accountId}/devices`)).body.items;
    const bob = devices.find((d: { username: string }) => d.username === "1002");
    const lockedSources = async () => (await call("GET", `/accounts/${accountId}/devices/${bob.id}/lockout`)).body.sources.map((s: { source: string }) => s.source);

    const reply = await authenticatedCall(A, {}, "not-bobs-password");
    expect(reply.body.status).toBe(407);
    expect(reply.body.targets).toBeUndefined();
    expect(await lockedSources()).toEqual([]);
    // The second wrong answer within the window reaches the threshold of 2: that source is locked
    // out, and the right password from it gets a challenge, never a route.
    expect((await authenticatedCall(A, {}, "not-bobs-password")).body.status).toBe(407);
    expect(await lockedSources()).toEqual(["127.0.0.1"]);
    const right = await authenticatedCall(A);
    expect(right.body.status).toBe(407);
    expect(right.body.targets).toBeUndefined();
    // From another address the same caller is routed.
    const elsewhere = await authenticatedCall(A, { source: "192.0.2.70:5060" });
    expect(elsewhere.body.targets).toHaveLength(1);
  });

  it("a trusted source (a carrier by the proxy's ACL) reaches a number without authentication", async () => {
    const devices = (await call("GET", `/accounts/${accountId}/devices`)).body.items;
    const alice = devices.find((d: { username: string }) => d.username === "1001");
    await call("POST", `/accounts/${accountId}/numbers`, { body: { number: "+14155550101", deviceId: alice.id } });
    await registerOn("1001", 5070, B);
    const reply = await kamailio("locate", invite({ requestUri: "sip:+14155550101@127.0.0.2", source: "198.51.100.20:5060", trusted: "true" }), A);
    expect(reply.body).toMatchObject({ status: 200, targets: [{ uri: "sip:1001@acme.test", destination: "sip:127.0.0.3:5060" }] });
  });

  it("a captured Proxy-Authorization replayed, to the same or another callee, from anywhere, gets 407 and no targets", async () => {
    await registerOn("1001", 5070, A);
    await addDevice(accountId, "1003", "carol-pass-1003");
    await registerOn("1003", 5073, B);
    const first = await kamailio("locate", invite(), A);
    const authorization = await answer(first.body.headers, "1002", "bob-pass-1002", "INVITE", "sip:1001@acme.test");
    expect((await kamailio("locate", invite({ authorization }), A)).body.targets).toHaveLength(1);
    for (const [sw, overrides] of [
      [A, {}], // unchanged
      [B, {}], // through the other switch
      [A, { source: "127.0.0.1:5099" }], // another port
      [B, { source: "203.0.113.9:5060", callId: "replay-1" }], // another address and Call-ID
      [A, { requestUri: "sip:1003@acme.test", callId: "replay-2", source: "127.0.0.1:5099" }], // another callee
      [A, { requestUri: "sip:1003@acme.test" }], // another callee, same source and Call-ID
    ] as const) {
      const replay = await kamailio("locate", invite({ ...overrides, authorization }), sw);
      expect(replay.body.status).toBe(407);
      expect(replay.body.targets).toBeUndefined();
    }
  });

  it("an untrusted caller without credentials never gets targets", async () => {
    await registerOn("1001", 5070, A);
    const reply = await kamailio("locate", invite(), A);
    expect(reply.body.status).toBe(407);
    expect(reply.body.targets).toBeUndefined();
  });
});
