// The route finder both switch adapters share (functions/switches/route.ts): where a call is looked
// up (the caller's account, the one its call policy names, the number catalog within the switch's
// scope and jurisdiction) and which legs across the fleet it gets (lost switches read again,
// draining ones avoided, hand-overs delivered where they land).
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { registrarForId } from "../../../functions/accounts";
import { verifySwitchCredential, type SwitchIdentity } from "../../../functions/switches/credentials";
import { findRoute, type CallOrigin } from "../../../functions/switches/route";
import { freezeClock, type TestClock } from "../../clock";
import { call, createAccount, createDevice } from "../../helpers";
import { createSwitch, type TestSwitch } from "../freeswitch/support";

let clock: TestClock;
let acme: { id: string; realm: string };
let globex: { id: string; realm: string };
let A: TestSwitch;
let B: TestSwitch;
let C: TestSwitch;

beforeEach(async () => {
  clock = freezeClock();
  acme = await createAccount();
  globex = await createAccount({ name: "Globex" });
  await createDevice(acme.id, "1001");
  await createDevice(globex.id, "2001");
  A = await createSwitch("sip:127.0.1.1:5060");
  B = await createSwitch("sip:127.0.1.2:5060");
  C = await createSwitch("sip:127.0.1.3:5060");
  // Every switch heard from now: alive.
  await env.CATALOG.prepare("UPDATE switches SET last_seen_at = ? WHERE id IN (?, ?, ?)").bind(clock.now(), A.id, B.id, C.id).run();
  settle();
});

/** Lets the isolate's snapshot of the switch list go stale, so the next call reads it again. */
const settle = () => clock.advance(Number(env.SWITCH_CACHE_TTL_MS) + 1);

async function identity(sw: TestSwitch): Promise<SwitchIdentity> {
  const known = await verifySwitchCredential(env, sw.credential, clock.now());
  if (!known) throw new Error("switch credential refused");
  return known;
}

async function registerOn(account: { id: string; realm: string }, username: string, sw: TestSwitch, host = "192.0.2.10") {
  const result = await registrarForId(env, account.id)!.register(username, {
    aor: `sip:${username}@${account.realm}`,
    callId: `${username}-${sw.id}-${host}`,
    cseq: 1,
    contacts: [{ uri: `sip:${username}@${host}:5060` }],
    expires: 300,
    switchId: sw.id,
  });
  expect(result.status).toBe("registered");
}

const fromDevice = (realm: string, requestedHost: string | null = null): CallOrigin => ({ kind: "device", realm, requestedHost });

async function route(sw: TestSwitch, destination: string, origin: CallOrigin, handedOver = false) {
  return findRoute(env, await identity(sw), { destination, origin, handedOver });
}

/** The legs of a ring, as "local" or the holding switch's address. */
function legsOf(found: Awaited<ReturnType<typeof findRoute>>): string[] {
  if (found.kind !== "ring") return [found.kind];
  return found.legs.map((leg) => (leg.kind === "local" ? "local" : leg.address));
}

describe("where a call is looked up", () => {
  it("a device's call stays in its account unless the call policy names the account it dialed", async () => {
    await registerOn(globex, "2001", A);
    // Acme's policy names no account: user@globex is looked up in Acme, which has no 2001.
    expect(await route(A, "2001", fromDevice(acme.realm, globex.realm))).toEqual({ kind: "not_found" });
    expect((await call("PATCH", `/accounts/${acme.id}`, { body: { calls: { allowedAccounts: [globex.id] } } })).status).toBe(200);
    expect(await route(A, "2001", fromDevice(acme.realm, globex.realm))).toMatchObject({ kind: "ring", username: "2001", realm: globex.realm });
    // The policy goes one way: Globex's devices still cannot reach Acme's.
    await registerOn(acme, "1001", A);
    expect(await route(A, "1001", fromDevice(globex.realm, acme.realm))).toEqual({ kind: "not_found" });
    // With no realm dialed, the caller's own account.
    expect(await route(A, "1001", fromDevice(acme.realm))).toMatchObject({ kind: "ring", realm: acme.realm });
  });

  it("a destination no account of the caller's has goes to the number catalog, whoever owns the number", async () => {
    const device = (await call("GET", `/accounts/${globex.id}/devices`)).body.items[0];
    expect((await call("POST", `/accounts/${globex.id}/numbers`, { body: { number: "+14155550177", deviceId: device.id } })).status).toBe(201);
    await registerOn(globex, "2001", A);
    for (const dialed of ["+14155550177", "14155550177", "0014155550177"]) {
      expect(await route(A, dialed, fromDevice(acme.realm))).toMatchObject({ kind: "ring", username: "2001", realm: globex.realm });
    }
    // A carrier naming no realm, and a trusted source naming a realm without that number.
    expect(await route(A, "+14155550177", { kind: "numbers" })).toMatchObject({ kind: "ring", realm: globex.realm });
    expect(await route(A, "+14155550177", { kind: "realm", realm: acme.realm, numbers: true })).toMatchObject({ kind: "ring", realm: globex.realm });
    // A hand-over names the account the call belongs to: no number lookup.
    expect(await route(A, "+14155550177", { kind: "realm", realm: acme.realm, numbers: false }, true)).toEqual({ kind: "not_found" });
    expect(await route(A, "+14155550999", fromDevice(acme.realm))).toEqual({ kind: "not_found" });
  });

  it("a number of an account the switch does not serve is unknown to it: outside its list, or of another jurisdiction", async () => {
    const eu = (await call("POST", "/accounts", { body: { realm: `eu-${crypto.randomUUID().slice(0, 8)}.sip.test`, name: "EU", jurisdiction: "eu" } })).body;
    const euDevice = await createDevice(eu.id, "3001");
    expect((await call("POST", `/accounts/${eu.id}/numbers`, { body: { number: "+4930555011", deviceId: euDevice.id } })).status).toBe(201);
    const globexDevice = (await call("GET", `/accounts/${globex.id}/devices`)).body.items[0];
    expect((await call("POST", `/accounts/${globex.id}/numbers`, { body: { number: "+14155550188", deviceId: globexDevice.id } })).status).toBe(201);

    // A switch of the default namespace with no list: every account of its jurisdiction, no EU one.
    expect(await route(A, "+14155550188", { kind: "numbers" })).toMatchObject({ kind: "unavailable" });
    expect(await route(A, "+4930555011", { kind: "numbers" })).toEqual({ kind: "not_found" });

    // An EU switch with no list: the EU account's number, not the default namespace's.
    const created = await call("POST", "/switches", { body: { name: `eu-${crypto.randomUUID().slice(0, 8)}`, address: "sip:127.0.1.9:5060", jurisdiction: "eu" } });
    expect(created.status).toBe(201);
    const euSwitch: TestSwitch = { id: created.body.switch.id, credential: created.body.credential, basic: "" };
    expect(await route(euSwitch, "+4930555011", { kind: "numbers" })).toMatchObject({ kind: "unavailable" });
    expect(await route(euSwitch, "+14155550188", { kind: "numbers" })).toEqual({ kind: "not_found" });

    // A switch listing Acme only: Globex's number is unknown to it, from a carrier and from Acme's devices alike.
    const scoped = await call("POST", "/switches", { body: { name: `acme-${crypto.randomUUID().slice(0, 8)}`, address: "sip:127.0.1.8:5060", accounts: [acme.id] } });
    expect(scoped.status).toBe(201);
    const acmeOnly: TestSwitch = { id: scoped.body.switch.id, credential: scoped.body.credential, basic: "" };
    expect(await route(acmeOnly, "+14155550188", { kind: "numbers" })).toEqual({ kind: "not_found" });
    expect(await route(acmeOnly, "+14155550188", fromDevice(acme.realm))).toEqual({ kind: "not_found" });
  });

  it("a caller whose digest is not accepted, or whose realm is outside the switch's scope, is refused", async () => {
    const caller = {
      username: "1001",
      digest: { username: "1001", realm: acme.realm, nonce: "n", uri: `sip:1001@${acme.realm}`, response: "0".repeat(32) },
      nonce: { expiresAt: clock.now() + 60_000, record: "every-use" as const },
      method: "INVITE",
      source: "192.0.2.200:5060",
    };
    await registerOn(acme, "1001", A);
    expect(await route(A, "1001", { kind: "device", realm: acme.realm, requestedHost: acme.realm, caller })).toEqual({ kind: "refused" });
    const scoped = await call("POST", "/switches", { body: { name: `g-${crypto.randomUUID().slice(0, 8)}`, address: "sip:127.0.1.7:5060", accounts: [globex.id] } });
    const globexOnly: TestSwitch = { id: scoped.body.switch.id, credential: scoped.body.credential, basic: "" };
    expect(await route(globexOnly, "1001", { kind: "device", realm: acme.realm, requestedHost: acme.realm, caller })).toEqual({ kind: "refused" });
    // Without a digest to check (FreeSWITCH checked it), an out-of-scope caller reaches numbers only.
    expect(await route(globexOnly, "1001", fromDevice(acme.realm))).toEqual({ kind: "not_found" });
  });
});

describe("legs across the fleet", () => {
  it("the asking switch's own bindings are local, another switch's are reached through it", async () => {
    await registerOn(acme, "1001", A, "192.0.2.11");
    await registerOn(acme, "1001", B, "192.0.2.12");
    expect(legsOf(await route(A, "1001", fromDevice(acme.realm)))).toEqual(["local", "sip:127.0.1.2:5060"]);
    // Handed over by another switch: delivered where it lands or not at all.
    expect(legsOf(await route(A, "1001", { kind: "realm", realm: acme.realm, numbers: false }, true))).toEqual(["local"]);
    expect(await route(C, "1001", { kind: "realm", realm: acme.realm, numbers: false }, true)).toEqual({ kind: "unavailable" });
  });

  it("a switch the snapshot takes for lost is skipped, and read again so that one back is used at once", async () => {
    await registerOn(acme, "1001", B);
    await env.CATALOG.prepare("UPDATE switches SET last_seen_at = ? WHERE id = ?").bind(clock.now() - 10 * 60_000, B.id).run();
    settle();
    expect(await route(A, "1001", fromDevice(acme.realm))).toEqual({ kind: "unavailable" });
    // B calls back: its last-seen time is written; this isolate's snapshot still says lost.
    await env.CATALOG.prepare("UPDATE switches SET last_seen_at = ? WHERE id = ?").bind(clock.now(), B.id).run();
    expect(legsOf(await route(A, "1001", fromDevice(acme.realm)))).toEqual(["sip:127.0.1.2:5060"]);
  });

  it("a draining switch is avoided while another leg exists, and used when it is the only one", async () => {
    await registerOn(acme, "1001", B, "192.0.2.12");
    await registerOn(acme, "1001", C, "192.0.2.13");
    expect((await call("POST", `/switches/${B.id}/drain`)).status).toBe(200);
    settle();
    expect(legsOf(await route(A, "1001", fromDevice(acme.realm)))).toEqual(["sip:127.0.1.3:5060"]);
    await registrarForId(env, acme.id)!.unregister("1001", "sip:1001@192.0.2.13:5060");
    expect(legsOf(await route(A, "1001", fromDevice(acme.realm)))).toEqual(["sip:127.0.1.2:5060"]);
  });

  it("a device with no binding, or a number that rings no device, is unavailable; an unknown one not found", async () => {
    expect(await route(A, "1001", fromDevice(acme.realm))).toEqual({ kind: "unavailable" });
    expect((await call("POST", `/accounts/${acme.id}/numbers`, { body: { number: "+14155550166" } })).status).toBe(201);
    expect(await route(A, "+14155550166", { kind: "numbers" })).toEqual({ kind: "unavailable" });
    expect(await route(A, "nobody", fromDevice(acme.realm))).toEqual({ kind: "not_found" });
  });
});
