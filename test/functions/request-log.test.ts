// The structured log: one JSON line per switch callback and API call, naming the request, the
// account, the switch, the kind and the outcome, and never anything secret from the request.
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import { call } from "../helpers";
import { addDevice, createSwitch, freshAccount, postXml, verifiedRegister, type TestSwitch } from "./freeswitch/support";
import { answer, kamailio } from "./kamailio/support";

const REALM = "logs.test";
const PASSWORD = "log-secret-pass-7731";
let accountId: string;
let sw: TestSwitch;
let spy: MockInstance<typeof console.log>;

/** The request lines written since the spy was installed. */
function lines(): Record<string, unknown>[] {
  return spy.mock.calls
    .map((args) => args[0])
    .filter((text): text is string => typeof text === "string" && text.startsWith("{"))
    .map((text) => JSON.parse(text) as Record<string, unknown>)
    .filter((line) => line.msg === "request");
}

function register(authorization: string, cseq: string) {
  return {
    method: "REGISTER",
    requestUri: `sip:${REALM}`,
    to: `sip:1001@${REALM}`,
    from: `sip:1001@${REALM}`,
    authorization,
    source: "127.0.0.1:5070",
    contact: "<sip:1001@127.0.0.1:5070>;expires=120",
    callId: "log-1@127.0.0.1",
    cseq,
  };
}

beforeEach(async () => {
  accountId = (await freshAccount(REALM)).id;
  await addDevice(accountId, "1001", PASSWORD);
  sw = await createSwitch("sip:127.0.0.2:5060");
  spy = vi.spyOn(console, "log");
});

afterEach(() => spy.mockRestore());

describe("request log", () => {
  it("writes one line per Kamailio callback with account, switch, kind, SIP outcome and duration, and no credential, digest or nonce", async () => {
    const challenge = await kamailio("authorize", register("", "1"), sw);
    const authorization = await answer(challenge.body.headers, "1001", PASSWORD, "REGISTER", `sip:${REALM}`);
    const registered = await kamailio("authorize", register(authorization, "2"), sw);
    expect(registered.body.status).toBe(200);

    const written = lines();
    expect(written).toHaveLength(2);
    // The challenge is answered before any account is asked (the edge's own nonce); its line names
    // the account all the same, the realm being an account's.
    for (const [line, outcome, account] of [
      [written[0]!, "401", accountId],
      [written[1]!, "200", accountId],
    ] as const) {
      expect(line).toMatchObject({
        method: "POST",
        path: "/kamailio/v1/authorize",
        kind: "kamailio.authorize",
        account,
        switch: sw.id,
        status: 200,
        outcome,
      });
      expect(typeof line.requestId).toBe("string");
      expect((line.requestId as string).length).toBeGreaterThan(0);
      expect(typeof line.durationMs).toBe("number");
      expect(line.durationMs as number).toBeGreaterThanOrEqual(0);
    }
    expect(written[0]!.requestId).not.toBe(written[1]!.requestId);

    const text = spy.mock.calls.map((args) => args.map(String).join(" ")).join("\n");
    const nonce = /nonce="([^"]+)"/.exec(authorization)![1]!;
    const response = /response="([^"]+)"/.exec(authorization)![1]!;
    for (const secret of [PASSWORD, sw.credential, sw.basic.slice("Basic ".length), nonce, response, env.OPERATOR_API_KEY]) {
      expect(text).not.toContain(secret);
    }
  });

  it("writes one line per API call with the account from the path, the status and no password or API key", async () => {
    const created = await call("POST", `/accounts/${accountId}/devices`, { body: { username: "1002", password: PASSWORD } });
    expect(created.status).toBe(201);
    const refused = await call("GET", `/accounts/${accountId}/devices`, { auth: "Bearer wek_0123456789abcdef0123_notavalidsecretnotavalidsecret12" });
    expect(refused.status).toBe(401);

    const written = lines();
    expect(written).toHaveLength(2);
    expect(written[0]).toMatchObject({ kind: "api", method: "POST", path: `/api/v1/accounts/${accountId}/devices`, account: accountId, switch: null, status: 201, outcome: "ok" });
    expect(written[1]).toMatchObject({ kind: "api", method: "GET", account: accountId, status: 401, outcome: "refused" });
    const text = spy.mock.calls.map((args) => args.map(String).join(" ")).join("\n");
    for (const secret of [PASSWORD, env.OPERATOR_API_KEY, "notavalidsecret"]) expect(text).not.toContain(secret);
  });

  it("writes one line per FreeSWITCH directory callback, found or not found", async () => {
    await verifiedRegister(sw, { realm: REALM, username: "1001", password: PASSWORD });
    await postXml("section=directory&action=sip_auth&domain=nowhere.test", sw.basic);
    const written = lines();
    expect(written).toHaveLength(2);
    expect(written[0]).toMatchObject({ kind: "freeswitch.directory", path: "/freeswitch/v1/xml", account: accountId, switch: sw.id, status: 200, outcome: "found" });
    expect(written[1]).toMatchObject({ kind: "freeswitch.directory", account: null, switch: sw.id, status: 200, outcome: "not_found" });
    expect(spy.mock.calls.map((args) => args.map(String).join(" ")).join("\n")).not.toContain(PASSWORD);
  });

  it("a realm no account has logs as unknown, on the challenge and after a digest, on either switch's path", async () => {
    const made = (realm: string) => ({ ...register("", "1"), requestUri: `sip:${realm}`, to: `sip:1001@${realm}`, from: `sip:1001@${realm}` });
    const first = await kamailio("authorize", made("no-such-account.test"), sw);
    expect(first.body.status).toBe(401);
    const digest = await answer(first.body.headers, "1001", PASSWORD, "REGISTER", "sip:no-such-account.test");
    expect((await kamailio("authorize", { ...made("no-such-account.test"), authorization: digest, cseq: "2" }, sw)).body.status).toBe(401);
    await postXml("section=directory&action=user_call&domain=nowhere.test&user=1001", sw.basic);
    // Another made-up realm: still the one value, never the id its realm would hash to.
    await kamailio("authorize", made("another-made-up.test"), sw);
    const written = lines();
    expect(written.map((line) => [line.kind, line.account])).toEqual([
      ["kamailio.authorize", "unknown"],
      ["kamailio.authorize", "unknown"],
      ["freeswitch.directory", "unknown"],
      ["kamailio.authorize", "unknown"],
    ]);
    // The real account is still named after an account's realm was looked up as unknown.
    await kamailio("authorize", register("", "1"), sw);
    expect(lines().at(-1)).toMatchObject({ kind: "kamailio.authorize", account: accountId });
  });

  it("names an unauthenticated switch callback without a switch or account", async () => {
    const reply = await kamailio("authorize", register("", "1"), null);
    expect(reply.status).toBe(401);
    expect(lines()).toEqual([expect.objectContaining({ kind: "kamailio.authorize", switch: null, account: null, status: 401, outcome: "refused" })]);
  });
});
