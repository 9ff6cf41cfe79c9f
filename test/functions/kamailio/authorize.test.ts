// Kamailio `authorize`: the edge challenges with its own nonces, checks the digest, applies the
// registrar rules and answers the reply a proxy sends, in one HTTP call per REGISTER.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { issueNonce } from "../../../registrar/nonce";
import { freezeClock } from "../../clock";
import { call } from "../../helpers";
import { addDevice, createSwitch, freshAccount, type TestSwitch } from "../freeswitch/support";
import { answer, challengeOf, kamailio } from "./support";

const REALM = "acme.test";
let accountId: string;
let deviceId: string;
let A: TestSwitch;
let B: TestSwitch;

beforeEach(async () => {
  accountId = (await freshAccount(REALM, { policy: { minExpires: 30 }, lockout: { threshold: 3, windowSeconds: 300, durationSeconds: 600 } })).id;
  deviceId = (await addDevice(accountId, "1001", "alice-pass-1001")).id;
  A = await createSwitch("sip:127.0.0.2:5060");
  B = await createSwitch("sip:127.0.0.3:5060");
});

function register(overrides: Record<string, string> = {}) {
  return {
    method: "REGISTER",
    requestUri: "sip:acme.test",
    to: "sip:1001@acme.test",
    from: "sip:1001@acme.test",
    authorization: "",
    source: "127.0.0.1:5070",
    contact: "<sip:1001@127.0.0.1:5070;transport=udp>;expires=120",
    expires: "",
    callId: "reg-1@127.0.0.1",
    cseq: "1",
    path: "",
    supported: "",
    userAgent: "SIPp",
    ...overrides,
  };
}

/** REGISTER, answer the challenge, REGISTER again: what a phone does. */
async function registerWithPassword(sw: TestSwitch, password: string, overrides: Record<string, string> = {}) {
  const first = await kamailio("authorize", register(overrides), sw);
  expect(first.body.status).toBe(401);
  const authorization = await answer(first.body.headers, "1001", password, "REGISTER", overrides.requestUri ?? "sip:acme.test");
  return kamailio("authorize", register({ cseq: String(Number(overrides.cseq ?? 1) + 1), ...overrides, authorization }), sw);
}

const registrations = async () => (await call("GET", `/accounts/${accountId}/registrations`)).body.items;

describe("kamailio authorize", () => {
  it("challenges a REGISTER without credentials with an edge nonce, SHA-256 first, then MD5 (RFC 8760)", async () => {
    const reply = await kamailio("authorize", register(), A);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ status: 401, reason: "Unauthorized" });
    expect(reply.body.headers).toMatch(
      /^WWW-Authenticate: Digest realm="acme\.test", nonce="([A-Za-z0-9_-]+)", qop="auth", algorithm=SHA-256\r\nWWW-Authenticate: Digest realm="acme\.test", nonce="\1", qop="auth", algorithm=MD5\r\n$/,
    );
    expect(await registrations()).toEqual([]);
  });

  it("the right digest registers: 200 with the Contact and its expiry, held by the switch that asked", async () => {
    const reply = await registerWithPassword(A, "alice-pass-1001");
    expect(reply.body).toMatchObject({ status: 200, reason: "OK" });
    expect(reply.body.headers).toMatch(/^Contact: <sip:1001@127\.0\.0\.1:5070;transport=udp>;expires=12\d\r\n$/);
    const [binding] = await registrations();
    expect(binding).toMatchObject({ contact: "sip:1001@127.0.0.1:5070;transport=udp", switchId: A.id, received: "127.0.0.1:5070", userAgent: "SIPp" });
  });

  it("an answer with algorithm=SHA-256 is checked against the SHA-256 HA1", async () => {
    const sha256 = async (text: string) =>
      [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const answer256 = async (headers: string, password: string, response?: string) => {
      const { nonce } = challengeOf(headers);
      const ha1 = await sha256(`1001:acme.test:${password}`);
      const right = await sha256(`${ha1}:${nonce}:00000001:c0ffee:auth:${await sha256("REGISTER:sip:acme.test")}`);
      return `Digest username="1001", realm="acme.test", nonce="${nonce}", uri="sip:acme.test", response="${response ?? right}", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c0ffee"`;
    };
    const wrong = await kamailio("authorize", register(), A);
    expect((await kamailio("authorize", register({ cseq: "2", authorization: await answer256(wrong.body.headers, "not-the-password") }), A)).body.status).toBe(401);
    // An MD5 response labelled SHA-256 is no answer at all: challenged, not counted.
    const md5Labelled = await kamailio("authorize", register({ callId: "md5-labelled" }), A);
    const md5Answer = (await answer(md5Labelled.body.headers, "1001", "alice-pass-1001", "REGISTER", "sip:acme.test")).replace("algorithm=MD5", "algorithm=SHA-256");
    expect((await kamailio("authorize", register({ callId: "md5-labelled", cseq: "2", authorization: md5Answer }), A)).body.status).toBe(401);
    const right = await kamailio("authorize", register({ callId: "sha" }), A);
    const reply = await kamailio("authorize", register({ callId: "sha", cseq: "2", authorization: await answer256(right.body.headers, "alice-pass-1001") }), A);
    expect(reply.body.status).toBe(200);
    const lockout = await call("GET", `/accounts/${accountId}/devices/${deviceId}/lockout`);
    expect(lockout.body.sources).toEqual([]);
  });

  it("a nonce issued through one switch is good on another", async () => {
    const first = await kamailio("authorize", register(), A);
    const authorization = await answer(first.body.headers, "1001", "alice-pass-1001", "REGISTER", "sip:acme.test");
    const reply = await kamailio("authorize", register({ cseq: "2", authorization }), B);
    expect(reply.body.status).toBe(200);
  });

  it("wrong passwords lock out the source that sent them, on every switch, and answer it only challenges; the device still registers from elsewhere", async () => {
    for (let i = 0; i < 2; i++) expect((await registerWithPassword(A, "wrong-password")).body.status).toBe(401);
    // The third (the threshold), from another port of the same address, through the other switch.
    const third = await registerWithPassword(B, "wrong-password", { source: "127.0.0.1:5080" });
    expect(third.body.status).toBe(401);
    expect(third.body.headers).toMatch(/^WWW-Authenticate: Digest /);
    // Refused now: the right password from that address gets exactly what a wrong one gets.
    for (const sw of [A, B]) {
      const refused = await registerWithPassword(sw, "alice-pass-1001");
      expect(refused.body.status).toBe(401);
      expect(refused.body.reason).toBe("Unauthorized");
      expect(Object.keys(challengeOf(refused.body.headers)).sort()).toEqual(["algorithm", "nonce", "qop", "realm"]);
    }
    expect(await registrations()).toEqual([]);
    // Another address registers.
    const elsewhere = await registerWithPassword(A, "alice-pass-1001", { source: "192.0.2.44:5060", callId: "other-phone" });
    expect(elsewhere.body.status).toBe(200);
    // The operator sees who is refused and why, and lifts it.
    const lockout = await call("GET", `/accounts/${accountId}/devices/${deviceId}/lockout`);
    expect(lockout.status).toBe(200);
    expect(lockout.body).toMatchObject({ deviceId, lockedUntil: null, sources: [{ source: "127.0.0.1", failures: 5 }] });
    expect(Date.parse(lockout.body.sources[0].lockedUntil) - Date.now()).toBeGreaterThan(590_000);
    expect((await call("DELETE", `/accounts/${accountId}/devices/${deviceId}/lockout`)).status).toBe(200);
    expect((await call("GET", `/accounts/${accountId}/devices/${deviceId}/lockout`)).body.sources).toEqual([]);
    expect((await registerWithPassword(A, "alice-pass-1001")).body.status).toBe(200);
  });

  it("a stale nonce is challenged with stale=true, a forged or foreign one without", async () => {
    const asked = { source: "127.0.0.1:5070", callId: "reg-1@127.0.0.1" };
    const old = await issueNonce(env.SWITCH_SIGNING_KEY, REALM, asked, Date.now() - 3_600_000);
    const staleAuth = await answer(`WWW-Authenticate: Digest realm="${REALM}", nonce="${old}"`, "1001", "alice-pass-1001", "REGISTER", "sip:acme.test");
    const stale = await kamailio("authorize", register({ authorization: staleAuth }), A);
    expect(stale.body.status).toBe(401);
    expect(challengeOf(stale.body.headers).stale).toBe("true");
    // The retry with the new nonce succeeds.
    const retry = await answer(stale.body.headers, "1001", "alice-pass-1001", "REGISTER", "sip:acme.test");
    expect((await kamailio("authorize", register({ cseq: "2", authorization: retry }), A)).body.status).toBe(200);

    const foreign = await issueNonce(env.SWITCH_SIGNING_KEY, "other.test", asked, Date.now());
    // A changed MAC: the second-to-last character always carries six of its bits.
    const altered = `${old.slice(0, -2)}${old.at(-2) === "A" ? "B" : "A"}${old.at(-1)}`;
    for (const nonce of ["forged-nonce", foreign, altered]) {
      const auth = await answer(`WWW-Authenticate: Digest realm="${REALM}", nonce="${nonce}"`, "1001", "alice-pass-1001", "REGISTER", "sip:acme.test");
      const reply = await kamailio("authorize", register({ authorization: auth }), A);
      expect(reply.body.status).toBe(401);
      expect(challengeOf(reply.body.headers).stale).toBeUndefined();
    }
    // Forged nonces are not even counted as password failures: the device is not locked.
    expect((await call("GET", `/accounts/${accountId}/devices/${deviceId}/lockout`)).body.sources).toEqual([]);
  });

  it("a captured Authorization sent again is challenged, whatever it carries, through either switch", async () => {
    const first = await kamailio("authorize", register(), A);
    const authorization = await answer(first.body.headers, "1001", "alice-pass-1001", "REGISTER", "sip:acme.test");
    expect((await kamailio("authorize", register({ cseq: "2", authorization }), A)).body.status).toBe(200);
    const attacker = "<sip:1001@203.0.113.66:5060>;expires=3600";
    for (const [sw, overrides] of [
      [A, { cseq: "3" }], // the same request again, same source and Call-ID
      [B, { cseq: "3" }], // through the other switch
      [A, { cseq: "3", contact: attacker }], // with an attacker's Contact
      [A, { cseq: "3", contact: attacker, source: "203.0.113.66:5060" }], // from another address
      [A, { cseq: "3", source: "127.0.0.1:5071" }], // from another port
      [A, { cseq: "1", contact: attacker, callId: "attacker-call" }], // under another Call-ID
    ] as const) {
      const replay = await kamailio("authorize", register({ ...overrides, authorization }), sw);
      expect(replay.body.status).toBe(401);
      expect(replay.body.headers).toMatch(/^WWW-Authenticate: Digest /);
      expect(challengeOf(replay.body.headers).stale).toBeUndefined();
    }
    const stored = await registrations();
    expect(stored.map((b: { contact: string }) => b.contact)).toEqual(["sip:1001@127.0.0.1:5070;transport=udp"]);
    // Replays are not password failures.
    expect((await call("GET", `/accounts/${accountId}/devices/${deviceId}/lockout`)).body.sources).toEqual([]);
  });

  it("with qop the same nonce serves again only with a higher nonce-count; without qop it serves once", async () => {
    const first = await kamailio("authorize", register(), A);
    const once = await answer(first.body.headers, "1001", "alice-pass-1001", "REGISTER", "sip:acme.test", "00000001");
    expect((await kamailio("authorize", register({ cseq: "2", authorization: once }), A)).body.status).toBe(200);
    const third = await answer(first.body.headers, "1001", "alice-pass-1001", "REGISTER", "sip:acme.test", "00000003");
    expect((await kamailio("authorize", register({ cseq: "3", authorization: third }), A)).body.status).toBe(200);
    const second = await answer(first.body.headers, "1001", "alice-pass-1001", "REGISTER", "sip:acme.test", "00000002");
    expect((await kamailio("authorize", register({ cseq: "4", authorization: second }), B)).body.status).toBe(401);

    const fresh = await kamailio("authorize", register({ callId: "no-qop" }), A);
    const { nonce } = challengeOf(fresh.body.headers);
    const md5 = async (text: string) =>
      [...new Uint8Array(await crypto.subtle.digest("MD5", new TextEncoder().encode(text)))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const ha1 = await md5("1001:acme.test:alice-pass-1001");
    const response = await md5(`${ha1}:${nonce}:${await md5("REGISTER:sip:acme.test")}`);
    const rfc2069 = `Digest username="1001", realm="acme.test", nonce="${nonce}", uri="sip:acme.test", response="${response}"`;
    expect((await kamailio("authorize", register({ callId: "no-qop", cseq: "2", authorization: rfc2069 }), A)).body.status).toBe(200);
    expect((await kamailio("authorize", register({ callId: "no-qop", cseq: "3", authorization: rfc2069 }), A)).body.status).toBe(401);
  });

  it("a digest whose uri is not the Request-URI is challenged and registers nothing", async () => {
    const first = await kamailio("authorize", register(), A);
    for (const uri of ["sip:127.0.0.2:5060", "sip:other.test", "sip:acme.test:5060", "sip:1001@acme.test"]) {
      const authorization = await answer(first.body.headers, "1001", "alice-pass-1001", "REGISTER", uri);
      const reply = await kamailio("authorize", register({ cseq: "2", authorization }), A);
      expect(reply.body.status, uri).toBe(401);
    }
    expect(await registrations()).toEqual([]);
    // The same answer for the Request-URI itself registers (and the nonce was never spent above).
    const authorization = await answer(first.body.headers, "1001", "alice-pass-1001", "REGISTER", "SIP:ACME.TEST");
    expect((await kamailio("authorize", register({ cseq: "2", authorization }), A)).body.status).toBe(200);
  });

  it("Expires: 0 removes the binding; a wildcard removes them all", async () => {
    await registerWithPassword(A, "alice-pass-1001");
    await registerWithPassword(A, "alice-pass-1001", { callId: "reg-2", contact: "<sip:1001@127.0.0.1:5071>" });
    expect(await registrations()).toHaveLength(2);
    const removed = await registerWithPassword(A, "alice-pass-1001", { cseq: "5", contact: "<sip:1001@127.0.0.1:5070;transport=udp>;expires=0" });
    expect(removed.body.status).toBe(200);
    expect(removed.body.headers).toMatch(/^Contact: <sip:1001@127\.0\.0\.1:5071>;expires=\d+\r\n$/);
    const all = await registerWithPassword(A, "alice-pass-1001", { callId: "reg-2", cseq: "9", contact: "*", expires: "0" });
    expect(all.body).toMatchObject({ status: 200, headers: "" });
    expect(await registrations()).toEqual([]);
  });

  it("too brief an interval gets 423 with Min-Expires, and nothing is written", async () => {
    const reply = await registerWithPassword(A, "alice-pass-1001", { contact: "<sip:1001@127.0.0.1:5070>;expires=5" });
    expect(reply.body).toMatchObject({ status: 423, reason: "Interval Too Brief", headers: "Min-Expires: 30\r\n" });
    expect(await registrations()).toEqual([]);
  });

  it("through a draining switch a REGISTER is granted at most the drain interval, so the device moves off soon", async () => {
    const clock = freezeClock();
    expect((await call("POST", `/switches/${A.id}/drain`)).body.state).toBe("draining");
    clock.advance(Number(env.SWITCH_CACHE_TTL_MS)); // the isolate's switch snapshot re-reads the drain
    const drained = await registerWithPassword(A, "alice-pass-1001", { contact: "<sip:1001@127.0.0.1:5070>;expires=3600" });
    expect(drained.body).toMatchObject({ status: 200, headers: "Contact: <sip:1001@127.0.0.1:5070>;expires=60\r\n" });
    expect(Date.parse((await registrations())[0].expiresAt)).toBe(clock.now() + 60_000);
    // The same REGISTER through a switch that is not draining keeps what it asked for.
    const kept = await registerWithPassword(B, "alice-pass-1001", { contact: "<sip:1001@127.0.0.1:5071>;expires=3600", callId: "reg-2@127.0.0.1" });
    expect(kept.body.headers).toContain("Contact: <sip:1001@127.0.0.1:5071>;expires=3600\r\n");
  });

  it("an unknown user is challenged again, as a known user with a wrong password is", async () => {
    const first = await kamailio("authorize", register({ to: "sip:4040@acme.test" }), A);
    const authorization = await answer(first.body.headers, "4040", "whatever-pass", "REGISTER", "sip:acme.test");
    const reply = await kamailio("authorize", register({ to: "sip:4040@acme.test", authorization }), A);
    expect(reply.body).toMatchObject({ status: 401, reason: "Unauthorized" });
  });

  it("a bad Contact, a huge Contact list or a bad CSeq is a 400 decision and writes nothing", async () => {
    const cases: Record<string, string>[] = [
      { contact: "<not a uri>" },
      { contact: Array.from({ length: 25 }, (_, i) => `<sip:1001@10.0.0.${i}>`).join(",") },
      { cseq: "many" },
      { expires: "soon" },
    ];
    for (const overrides of cases) {
      const reply = await registerWithPassword(A, "alice-pass-1001", overrides);
      expect(reply.status).toBe(200);
      expect(reply.body.status).toBe(400);
    }
    expect(await registrations()).toEqual([]);
  });

  it("without a switch credential, or with a body that is not the API's, the switch gets an HTTP problem", async () => {
    const anonymous = await kamailio("authorize", register(), null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.contentType).toBe("application/problem+json");
    const notJson = await kamailio("authorize", "{nope", A);
    expect(notJson.status).toBe(400);
    const missing = await kamailio("authorize", { method: "REGISTER" }, A);
    expect(missing.status).toBe(400);
    expect(missing.body.errors.map((e: { field: string }) => e.field)).toEqual(expect.arrayContaining(["to", "source", "callId", "cseq"]));
  });
});
