// GET /accounts/{id}/lockouts: everyone the account refuses now, through Kamailio `authorize` on the
// frozen test clock: a source locked out of a device, a device locked as a whole, a source guessing
// a username the account does not have; locks that lapsed or were lifted leave the list; the list
// is the account's own (another account's key is refused, its locks never appear); bad input is a
// problem document naming the field.
import { beforeEach, describe, expect, it } from "vitest";
import { freezeClock, type TestClock } from "../../clock";
import { accountKey, call } from "../../helpers";
import { addDevice, createSwitch, freshAccount, type TestSwitch } from "../freeswitch/support";
import { answer, kamailio } from "../kamailio/support";
import { expectJson, expectProblem } from "./support";

const LOCKOUT = { threshold: 3, windowSeconds: 300, durationSeconds: 600, deviceThreshold: 3 };
let clock: TestClock;
let A: TestSwitch;
let calls = 0;

beforeEach(async () => {
  A = await createSwitch("sip:127.0.0.2:5060");
  clock = freezeClock();
});

/** REGISTER of `username` in `realm` from `source`, answering the challenge with `password`: the final status. */
async function registerFrom(realm: string, username: string, source: string, password: string): Promise<number> {
  const callId = `lockouts-${++calls}@${source}`;
  const body = (authorization: string, cseq: string) => ({
    method: "REGISTER",
    requestUri: `sip:${realm}`,
    to: `sip:${username}@${realm}`,
    from: `sip:${username}@${realm}`,
    authorization,
    source,
    contact: `<sip:${username}@${source}>;expires=120`,
    expires: "",
    callId,
    cseq,
  });
  const first = await kamailio("authorize", body("", "1"), A);
  expect(first.body.status).toBe(401);
  return (await kamailio("authorize", body(await answer(first.body.headers, username, password, "REGISTER", `sip:${realm}`), "2"), A)).body.status;
}

const lockouts = async (accountId: string, query = "", auth?: string) => expectJson(await call("GET", `/accounts/${accountId}/lockouts${query}`, { auth }), 200);

describe("the account's lockouts", () => {
  it("lists locked sources (of devices and of unknown usernames) and locked devices until they lapse", async () => {
    const account = await freshAccount("locks-a.test", { lockout: LOCKOUT });
    const alice = await addDevice(account.id, "1001", "alice-pass-1001");
    const bob = await addDevice(account.id, "1002", "bob-pass-1002");
    expect(await lockouts(account.id)).toEqual({ devices: [], sources: [], truncated: false });
    // Three wrong passwords for 1001 from one address lock that address out of 1001.
    for (let i = 0; i < 3; i++) expect(await registerFrom(account.realm, "1001", "198.51.100.9:5060", "guess")).toBe(401);
    clock.advance(1_000);
    // One wrong password for 1002 from each of three addresses locks 1002 as a whole.
    for (const ip of ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) expect(await registerFrom(account.realm, "1002", `${ip}:5060`, "guess")).toBe(401);
    clock.advance(1_000);
    // Three guesses at a username the account does not have lock that address out of the name.
    for (let i = 0; i < 3; i++) expect(await registerFrom(account.realm, "ghost", "192.0.2.66:5060", "guess")).toBe(401);

    const listed = await lockouts(account.id);
    expect(listed.devices).toEqual([{ deviceId: bob.id, username: "1002", lockedUntil: new Date(clock.now() - 1_000 + 600_000).toISOString() }]);
    expect(listed.sources).toEqual([
      { deviceId: null, username: "ghost", source: "192.0.2.66", failures: 3, lockedUntil: new Date(clock.now() + 600_000).toISOString(), lastAttemptAt: new Date(clock.now()).toISOString() },
      { deviceId: alice.id, username: "1001", source: "198.51.100.9", failures: 3, lockedUntil: new Date(clock.now() - 2_000 + 600_000).toISOString(), lastAttemptAt: new Date(clock.now() - 2_000).toISOString() },
    ]);
    expect(listed.truncated).toBe(false);

    // At most `limit` of each list, the latest-ending lock first.
    const one = await lockouts(account.id, "?limit=1");
    expect(one.sources.map((s: { username: string }) => s.username)).toEqual(["ghost"]);
    expect(one.devices).toHaveLength(1);
    expect(one.truncated).toBe(true);

    // Lifting 1001's lockout takes its source off the list; the rest lapse with time.
    expectJson(await call("DELETE", `/accounts/${account.id}/devices/${alice.id}/lockout`), 200);
    expect((await lockouts(account.id)).sources.map((s: { username: string }) => s.username)).toEqual(["ghost"]);
    clock.advance(600_000 - 1_000 + 1);
    expect(await lockouts(account.id)).toEqual({ devices: [], sources: [{ deviceId: null, username: "ghost", source: "192.0.2.66", failures: 3, lockedUntil: expect.any(String), lastAttemptAt: expect.any(String) }], truncated: false });
    clock.advance(1_000);
    expect(await lockouts(account.id)).toEqual({ devices: [], sources: [], truncated: false });
  });

  it("is the account's own: another account's key is refused, and its locks never appear", async () => {
    const a = await freshAccount("locks-b.test", { lockout: LOCKOUT });
    const b = await freshAccount("locks-c.test", { lockout: LOCKOUT });
    await addDevice(a.id, "2001", "carol-pass-2001");
    await addDevice(b.id, "2001", "dave-pass-2001");
    for (let i = 0; i < 3; i++) expect(await registerFrom(b.realm, "2001", "198.51.100.20:5060", "guess")).toBe(401);
    const keyA = await accountKey(a.id);
    const keyB = await accountKey(b.id);
    expect(await lockouts(a.id, "", keyA)).toEqual({ devices: [], sources: [], truncated: false });
    expect((await lockouts(b.id, "", keyB)).sources.map((s: { source: string }) => s.source)).toEqual(["198.51.100.20"]);
    expectProblem(await call("GET", `/accounts/${b.id}/lockouts`, { auth: keyA }), 403, "accountId");
    expectProblem(await call("GET", `/accounts/${b.id}/lockouts`, { auth: null }), 401);
  });

  it("a bad limit or an unknown account is a problem document naming the field", async () => {
    const account = await freshAccount("locks-d.test");
    for (const limit of ["0", "1001", "ten", "1.5"]) expectProblem(await call("GET", `/accounts/${account.id}/lockouts?limit=${limit}`), 400, "limit");
    expectProblem(await call("GET", `/accounts/${"0".repeat(64)}/lockouts`), 404, "accountId");
    expectProblem(await call("GET", "/accounts/acc_nope/lockouts"), 404, "accountId");
  });
});
