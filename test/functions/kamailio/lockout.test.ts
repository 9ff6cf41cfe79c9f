// Lockout per source address through Kamailio `authorize`, on the frozen test clock: a source that
// guesses is refused (with the same challenge a wrong password gets), its lock lapses, failures
// further apart than the window never add up, many sources lock the device but not the address
// it is registered from, and requests without credentials lock nothing.
import { beforeEach, describe, expect, it } from "vitest";
import { call } from "../../helpers";
import { freezeClock, type TestClock } from "../../clock";
import { addDevice, createSwitch, freshAccount, type TestSwitch } from "../freeswitch/support";
import { answer, challengeOf, kamailio } from "./support";

const REALM = "acme.test";
const LOCKOUT = { threshold: 3, windowSeconds: 300, durationSeconds: 600, deviceThreshold: 3 };
let accountId: string;
let deviceId: string;
let A: TestSwitch;
let clock: TestClock;
let calls = 0;

beforeEach(async () => {
  accountId = (await freshAccount(REALM, { lockout: LOCKOUT })).id;
  deviceId = (await addDevice(accountId, "1001", "alice-pass-1001")).id;
  A = await createSwitch("sip:127.0.0.2:5060");
  clock = freezeClock();
});

/** REGISTER from `source`, answer the challenge with `password`: the final decision. */
async function registerFrom(source: string, password: string) {
  const callId = `reg-${++calls}@${source}`;
  const body = (authorization: string, cseq: string) => ({
    method: "REGISTER",
    requestUri: "sip:acme.test",
    to: "sip:1001@acme.test",
    from: "sip:1001@acme.test",
    authorization,
    source,
    contact: `<sip:1001@${source}>;expires=120`,
    expires: "",
    callId,
    cseq,
  });
  const first = await kamailio("authorize", body("", "1"), A);
  expect(first.body.status).toBe(401);
  return (await kamailio("authorize", body(await answer(first.body.headers, "1001", password, "REGISTER", "sip:acme.test"), "2"), A)).body;
}

const lockout = async () => (await call("GET", `/accounts/${accountId}/devices/${deviceId}/lockout`)).body;

describe("lockout per source", () => {
  it("a source lock holds for its duration, then lapses by itself", async () => {
    for (let i = 0; i < 3; i++) expect((await registerFrom("198.51.100.9:5060", "guess")).status).toBe(401);
    expect((await registerFrom("198.51.100.9:5060", "alice-pass-1001")).status).toBe(401);
    clock.advance(599_000);
    expect((await registerFrom("198.51.100.9:5061", "alice-pass-1001")).status).toBe(401);
    expect((await lockout()).sources).toMatchObject([{ source: "198.51.100.9" }]);
    clock.advance(1_001);
    expect((await lockout()).sources).toEqual([]);
    expect((await registerFrom("198.51.100.9:5060", "alice-pass-1001")).status).toBe(200);
  });

  it("wrong digests further apart than the window never lock", async () => {
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++) expect((await registerFrom("198.51.100.9:5060", "guess")).status).toBe(401);
      // Looked at before the clock moves on: a lock set by failures from two windows would still hold.
      expect((await lockout()).sources).toEqual([]);
      clock.advance(300_001);
    }
    expect((await lockout()).sources).toEqual([]);
    expect((await registerFrom("198.51.100.9:5060", "alice-pass-1001")).status).toBe(200);
  });

  it("guessing from many sources locks the device, except from the address it is registered from", async () => {
    expect((await registerFrom("192.0.2.10:5060", "alice-pass-1001")).status).toBe(200);
    for (const ip of ["203.0.113.1", "203.0.113.2"]) expect((await registerFrom(`${ip}:5060`, "guess")).status).toBe(401);
    expect((await lockout()).lockedUntil).toBeNull();
    expect((await registerFrom("203.0.113.3:5060", "guess")).status).toBe(401);
    const locked = await lockout();
    expect(Date.parse(locked.lockedUntil)).toBe(clock.now() + 600_000);
    // The right password from a new address is refused; from the device's own address it works.
    expect((await registerFrom("198.51.100.50:5060", "alice-pass-1001")).status).toBe(401);
    expect((await registerFrom("192.0.2.10:5060", "alice-pass-1001")).status).toBe(200);
    const events = (await call("GET", `/accounts/${accountId}/events`)).body.items.map((e: { type: string }) => e.type);
    expect(events).toContain("device.locked");
    expect(events).toContain("auth.refused");
  });

  it("requests without credentials, or with an empty or cut-short digest for a good nonce, count as nothing", async () => {
    const request = (authorization: string) => ({
      method: "REGISTER",
      requestUri: "sip:acme.test",
      to: "sip:1001@acme.test",
      authorization,
      source: "198.51.100.9:5060",
      contact: "",
      callId: "noise",
      cseq: "1",
    });
    for (let i = 0; i < 5; i++) {
      const challenge = await kamailio("authorize", request(""), A);
      expect(challenge.body.status).toBe(401);
      const { nonce } = challengeOf(challenge.body.headers);
      for (const response of ["", "0", "0".repeat(31), "z".repeat(32)]) {
        const authorization = `Digest username="1001", realm="acme.test", nonce="${nonce}", uri="sip:acme.test", response="${response}"`;
        expect((await kamailio("authorize", request(authorization), A)).body.status).toBe(401);
      }
    }
    expect((await lockout()).sources).toEqual([]);
    const events = (await call("GET", `/accounts/${accountId}/events`)).body.items;
    expect(events).toEqual([]);
    expect((await registerFrom("198.51.100.9:5060", "alice-pass-1001")).status).toBe(200);
  });
});
