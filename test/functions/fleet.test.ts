// The switch fleet: callbacks keep a switch alive, a silent one is lost and its bindings are not
// offered (but kept), a draining one moves its devices off and is avoided by calls.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import inviteBody from "../fixtures/freeswitch/dialplan-INVITE-9196.body.txt?raw";
import registerBody from "../fixtures/freeswitch/directory-sip_auth-REGISTER-user1000.body.txt?raw";
import registerEvent from "../fixtures/freeswitch/event-sofia_register.json";
import { registrarForId } from "../../functions/accounts";
import { freezeClock, type TestClock } from "../clock";
import { call } from "../helpers";
import { addDevice, createSwitch, dialplanActions, directoryUser, freshAccount, postEvent, postXml, verifiedRegister, type TestSwitch } from "./freeswitch/support";
import { kamailio } from "./kamailio/support";

let accountId: string;
let A: TestSwitch;
let B: TestSwitch;
let C: TestSwitch;
let clock: TestClock;

beforeEach(async () => {
  clock = freezeClock();
  accountId = (await freshAccount("127.0.0.4")).id;
  await addDevice(accountId, "1000", "s3cret-1000");
  await addDevice(accountId, "9196", "s3cret-9196");
  A = await createSwitch("sip:127.0.0.4:5060");
  B = await createSwitch("sip:127.0.0.5:5060");
  C = await createSwitch("sip:127.0.0.6:5060");
});

const state = async (sw: TestSwitch) => (await call("GET", `/switches/${sw.id}`)).body;
/** Lets the isolate's snapshot of the switch list go stale (SWITCH_CACHE_TTL_MS), so the next callback re-reads it. */
const settle = () => clock.advance(Number(env.SWITCH_CACHE_TTL_MS));
async function silentFor(sw: TestSwitch, ms: number) {
  await env.CATALOG.prepare("UPDATE switches SET last_seen_at = ? WHERE id = ?").bind(clock.now() - ms, sw.id).run();
  settle();
}
async function registerOn(username: string, host: string, sw: TestSwitch) {
  const result = await registrarForId(env, accountId)!.register(username, {
    aor: `sip:${username}@127.0.0.4`,
    callId: `${username}-${host}`,
    cseq: 1,
    contacts: [{ uri: `sip:${username}@${host}:5060` }],
    expires: 300,
    switchId: sw.id,
  });
  expect(result.status).toBe("registered");
}

describe("switch liveness", () => {
  it("a switch is unseen until its first callback, then alive", async () => {
    expect(await state(B)).toMatchObject({ state: "unseen", lastSeenAt: null });
    expect((await postEvent({ "Event-Name": "HEARTBEAT" }, B)).status).toBe(200);
    // Alive the moment it has called back: nothing to wait for.
    const seen = await state(B);
    expect(seen.state).toBe("alive");
    expect(Date.parse(seen.lastSeenAt)).toBe(clock.now());
  });

  it("Kamailio's keepalive marks its switch alive", async () => {
    const reply = await kamailio("keepalive", {}, C);
    expect(reply).toMatchObject({ status: 200, body: { status: "alive" } });
    expect((await kamailio("keepalive", {}, null)).status).toBe(401);
  });

  it("a silent switch is lost: calls skip its bindings, which are kept for when it comes back", async () => {
    await registerOn("9196", "192.0.2.51", B);
    await silentFor(B, 120_000);
    expect((await state(B)).state).toBe("lost");
    expect(dialplanActions((await postXml(inviteBody, A.basic)).text)).toEqual([["respond", "480 Temporarily Unavailable"]]);
    expect((await call("GET", `/accounts/${accountId}/registrations`)).body.items).toHaveLength(1);

    // Also registered elsewhere: only that leg rings.
    await registerOn("9196", "192.0.2.52", C);
    expect(dialplanActions((await postXml(inviteBody, A.basic)).text)).toContainEqual([
      "bridge",
      "{sip_h_X-Edge-Realm=127.0.0.4}sofia/internal/sip:9196@127.0.0.6:5060",
    ]);

    // Back after the blip: reachable again, nothing lost.
    await silentFor(B, 0);
    const bridge = dialplanActions((await postXml(inviteBody, A.basic)).text).find(([app]) => app === "bridge")![1];
    expect(bridge.split(",")).toHaveLength(2);
    expect((await state(B)).bindingsHeld).toBe(1);
  });
});

describe("a switch back from silence", () => {
  // The clock stands still: the isolate's switch snapshot, which says the switch is lost, never
  // ages out during a test, as on an isolate that loaded it a moment ago.
  it("the call right after its first callback routes to it: no 480 while the snapshot ages", async () => {
    await registerOn("9196", "192.0.2.51", B);
    await silentFor(B, 120_000);
    // This isolate loads its snapshot with B lost: a call to the device gets the fast 480.
    expect(dialplanActions((await postXml(inviteBody, A.basic)).text)).toEqual([["respond", "480 Temporarily Unavailable"]]);
    expect((await state(B)).state).toBe("lost");

    // B restarted: the phone registers through it again (B has the edge verify the digest, then
    // reports the registration), and the edge answers B's callbacks.
    await verifiedRegister(B, { realm: "127.0.0.4", username: "9196", password: "s3cret-9196" });
    const event = { ...registerEvent, "from-user": "9196", "from-host": "127.0.0.4", "to-user": "9196", "to-host": "127.0.0.4", contact: "<sip:9196@192.0.2.51:5060>", "Event-Date-Timestamp": String(Date.now() * 1000) };
    expect(await postEvent(event, B)).toMatchObject({ status: 200, body: { outcome: "registered" } });
    expect((await state(B)).state).toBe("alive");

    // The very next call, with the clock not moved, bridges to B.
    expect(dialplanActions((await postXml(inviteBody, A.basic)).text)).toContainEqual([
      "bridge",
      "{sip_h_X-Edge-Realm=127.0.0.4}sofia/internal/sip:9196@127.0.0.5:5060",
    ]);
  });

  it("a callback answered by another isolate counts at once: the lost switch is read again before a 480", async () => {
    await registerOn("9196", "192.0.2.51", B);
    await silentFor(B, 120_000);
    expect(dialplanActions((await postXml(inviteBody, A.basic)).text)).toEqual([["respond", "480 Temporarily Unavailable"]]);
    // Another isolate answered B's first callback: it wrote B's last-seen time before answering.
    await env.CATALOG.prepare("UPDATE switches SET last_seen_at = ? WHERE id = ?").bind(Date.now(), B.id).run();
    expect(dialplanActions((await postXml(inviteBody, A.basic)).text)).toContainEqual([
      "bridge",
      "{sip_h_X-Edge-Realm=127.0.0.4}sofia/internal/sip:9196@127.0.0.5:5060",
    ]);
  });

  it("a switch really lost is read again once for the calls that arrive together, not once per call; the call after its return still sees it", async () => {
    await registerOn("9196", "192.0.2.51", B);
    await silentFor(B, 120_000);
    // A carrier's calls through A's Kamailio (trusted, no digest): the first loads this isolate's snapshot.
    const carrierCall = () =>
      kamailio("locate", { method: "INVITE", requestUri: "sip:9196@127.0.0.4", from: "sip:carrier@198.51.100.20", authorization: "", source: "198.51.100.20:5060", callId: "carrier-1", trusted: "true" }, A);
    expect((await carrierCall()).body).toMatchObject({ status: 480 });
    const prepare = vi.spyOn(env.CATALOG, "prepare");
    const rereads = () => prepare.mock.calls.filter(([query]) => /^select "id", "last_seen_at" from "switches" where/.test(query)).length;
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, carrierCall));
      for (const answer of answers) expect(answer.body).toMatchObject({ status: 480 });
      // Every call needed B read again; they arrived before the first read was sent, so they share it.
      expect(rereads()).toBeGreaterThanOrEqual(1);
      expect(rereads()).toBeLessThanOrEqual(2);

      // B's first callback answered by another isolate: the very next call, the clock not moved, rings it.
      await env.CATALOG.prepare("UPDATE switches SET last_seen_at = ? WHERE id = ?").bind(Date.now(), B.id).run();
      const after = await carrierCall();
      expect(after.body.targets).toEqual([{ uri: "sip:9196@127.0.0.4", destination: "sip:127.0.0.5:5060" }]);
    } finally {
      prepare.mockRestore();
    }
  });

  it("any callback counts, a heartbeat too; a switch still silent keeps its fast 480", async () => {
    await registerOn("9196", "192.0.2.51", B);
    await silentFor(B, 120_000);
    expect(dialplanActions((await postXml(inviteBody, A.basic)).text)).toEqual([["respond", "480 Temporarily Unavailable"]]);
    // C's heartbeat says nothing about B.
    expect((await postEvent({ "Event-Name": "HEARTBEAT" }, C)).status).toBe(200);
    expect(dialplanActions((await postXml(inviteBody, A.basic)).text)).toEqual([["respond", "480 Temporarily Unavailable"]]);

    expect((await postEvent({ "Event-Name": "HEARTBEAT" }, B)).status).toBe(200);
    expect(dialplanActions((await postXml(inviteBody, A.basic)).text)).toContainEqual([
      "bridge",
      "{sip_h_X-Edge-Realm=127.0.0.4}sofia/internal/sip:9196@127.0.0.5:5060",
    ]);
  });
});

describe("draining", () => {
  it("devices authenticating through a draining switch get a short interval, and calls avoid it", async () => {
    const drained = await call("POST", `/switches/${A.id}/drain`);
    expect(drained.body.state).toBe("draining");
    settle();
    const user = directoryUser((await postXml(registerBody, A.basic)).text);
    expect(user.params["sip-force-expires"]).toBe("60");
    const elsewhere = Number(directoryUser((await postXml(registerBody, B.basic)).text).params["sip-force-expires"]);
    expect(elsewhere).toBeGreaterThanOrEqual(270);

    await call("POST", `/switches/${B.id}/drain`);
    settle();
    await registerOn("9196", "192.0.2.51", B);
    await registerOn("9196", "192.0.2.52", C);
    const bridge = dialplanActions((await postXml(inviteBody, A.basic)).text).find(([app]) => app === "bridge")![1];
    expect(bridge).toBe("{sip_h_X-Edge-Realm=127.0.0.4}sofia/internal/sip:9196@127.0.0.6:5060");

    // Its devices moved off: the count the operator watches reaches zero.
    expect((await state(B)).bindingsHeld).toBe(1);
    await registrarForId(env, accountId)!.unregister("9196", "sip:9196@192.0.2.51:5060");
    expect((await state(B)).bindingsHeld).toBe(0);

    // The last path left is still used.
    await registrarForId(env, accountId)!.unregister("9196", "*");
    await registerOn("9196", "192.0.2.51", B);
    expect(dialplanActions((await postXml(inviteBody, A.basic)).text)).toContainEqual([
      "bridge",
      "{sip_h_X-Edge-Realm=127.0.0.4}sofia/internal/sip:9196@127.0.0.5:5060",
    ]);
    expect((await call("DELETE", `/switches/${B.id}/drain`)).body.state).not.toBe("draining");
  });

  it("a drain set by another isolate counts here once this isolate's switch snapshot is older than SWITCH_CACHE_TTL_MS", async () => {
    // This isolate loads its snapshot with A not draining.
    expect(Number(directoryUser((await postXml(registerBody, A.basic)).text).params["sip-force-expires"])).toBeGreaterThanOrEqual(270);
    // Another isolate's API call drained A: the catalog changed, this isolate's snapshot did not.
    await env.CATALOG.prepare("UPDATE switches SET draining = 1 WHERE id = ?").bind(A.id).run();
    settle();
    expect(directoryUser((await postXml(registerBody, A.basic)).text).params["sip-force-expires"]).toBe("60");
  });

  it("a draining switch that falls silent reads lost, its drain still set; undrained, the flag clears", async () => {
    const drained = await call("POST", `/switches/${B.id}/drain`);
    expect(drained.body).toMatchObject({ state: "draining", draining: true });
    await silentFor(B, 120_000);
    expect(await state(B)).toMatchObject({ state: "lost", draining: true });
    expect((await call("DELETE", `/switches/${B.id}/drain`)).body).toMatchObject({ state: "lost", draining: false });
  });
});
