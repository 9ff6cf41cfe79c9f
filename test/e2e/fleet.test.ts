// The switch fleet at its hard moments, with two real Kamailio switches: A is killed (the edge
// marks it lost, calls to devices only it holds get 480 at once), its devices re-home through B,
// A comes back with nothing lost, and B is drained (short expiry, the count of bindings it holds
// goes to zero once its devices moved). Timing comes from FLEET_TIMING (edge variables and the
// cfg's KEEPALIVE_INTERVAL), shortened so each step shows within seconds.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBed } from "./harness/context";
import { FLEET_TIMING } from "./harness/fleet";
import { startKamailio, stopByPidFile } from "./harness/kamailio";
import { udpPortFree } from "./harness/ports";
import { describeRun, receivedMessages, receivedStartLines, sipp, startSipp, stopAllSipp, timeline, type SippResult } from "./harness/sipp";

const bed = testBed();
/** The shipped kamailio.cfg's fr_timer: how long a forwarded INVITE waits for any answer. */
const KAMAILIO_FR_TIMER_MS = 5_000;
const { a, b } = bed.fleet.switches;
/** Registered through A only, then re-homed through B, then drained off B. */
const callee = bed.fleet.devices["1001"]!;
const caller = bed.fleet.devices["1002"]!;
/** Registered through A for an hour before A goes down: must still be there when A is back. */
const keeper = bed.fleet.devices["1004"]!;
/** A second phone on B whose contact changes when it moves (a NAT rebinding): its B binding must expire. */
const roamer = bed.fleet.devices["1003"]!;

/** Where A's process is, so that afterAll can put it back whatever happened. */
async function ensureSwitchARunning(): Promise<void> {
  if (await udpPortFree(a.ip, 5060)) await startKamailio(a.settings, bed.logDir);
}

beforeAll(async () => {
  await ensureSwitchARunning();
  await bed.api("DELETE", `/switches/${b.id}/drain`);
  await bed.api("DELETE", `/switches/${a.id}/drain`);
  await bed.clearRegistrations();
  // Readiness: both switches' keepalives have reached the edge.
  for (const sw of [a, b]) {
    await bed.waitForSwitch(`switch ${sw.name} is alive`, sw.id, (s) => s.state === "alive", 20_000);
  }
});

afterAll(async () => {
  await stopAllSipp();
  // Leave the fleet as the other files expect it: A running, nothing draining, no bindings.
  await ensureSwitchARunning().catch((error) => console.error("fleet: could not restart switch a", error));
  await bed.api("DELETE", `/switches/${b.id}/drain`).catch(() => undefined);
  await bed.clearRegistrations();
});

const register = (name: string, remote: string, device: typeof callee, expires: number, port?: number) =>
  sipp(bed.logDir, { name, scenario: "register", remote, device, keys: { expires: String(expires) }, final: "200", port, timeoutSeconds: 20 });

/** The expiry the 200 grants the contact sip:USER@127.0.0.1:PORT. */
function grantedExpiry(run: SippResult, username: string, port: number): number {
  const ok = receivedMessages(run).find((message) => message.startsWith("SIP/2.0 200")) ?? "";
  const match = new RegExp(`^Contact: <sip:${username}@127\\.0\\.0\\.1:${port}>;expires=(\\d+)\\s*$`, "m").exec(ok);
  if (!match) throw new Error(`no Contact for port ${port} in the 200:\n${ok}`);
  return Number(match[1]);
}

describe("switch fleet: loss, re-homing, return and draining", () => {
  // Shared between the steps, which run in order and build on each other.
  let calleeOnA: SippResult;
  let keeperOnA: SippResult;
  let calleeOnB: SippResult;

  it("A is killed: within the loss threshold the API shows it lost, and a call to a device only A holds gets 480 at once", async () => {
    keeperOnA = await register("fleet-register-1004-a", a.remote, keeper, 3600);
    expect(keeperOnA.code, describeRun(keeperOnA)).toBe(0);
    calleeOnA = await register("fleet-register-1001-a", a.remote, callee, 120);
    expect(calleeOnA.code, describeRun(calleeOnA)).toBe(0);
    const before = await bed.switchStatus(a.id);
    expect(before).toMatchObject({ state: "alive", bindingsHeld: 2 });
    expect(before.lastSeenAt).not.toBeNull();

    // A crash: SIGKILL to A's process group, no goodbye to the edge.
    const killedAt = Date.now();
    await stopByPidFile(a.runDir, a.ip, 5060, "SIGKILL");
    const lost = await bed.waitForSwitch("switch a is lost", a.id, (s) => s.state === "lost", FLEET_TIMING.lostAfterMs + 15_000);
    const lostAfter = lost.at - killedAt;
    console.log(`fleet: switch a shown lost ${lostAfter} ms after the kill (threshold ${FLEET_TIMING.lostAfterMs} ms)`);
    // Silent for more than the threshold, seen through the switch cache and one poll.
    expect(lostAfter).toBeLessThanOrEqual(FLEET_TIMING.lostAfterMs + FLEET_TIMING.cacheTtlMs + 2_000);
    expect(lost.status.lastSeenAt).not.toBeNull();
    expect(Date.parse(lost.status.lastSeenAt!)).toBeLessThanOrEqual(killedAt + 1_000);
    expect((await bed.switchStatus(b.id)).state).toBe("alive");
    // The list shows the states too (no count there).
    const listed = await bed.api<{ items: { id: string; state: string; lastSeenAt: string | null }[] }>("GET", "/switches?limit=500");
    expect(listed.items.find((s) => s.id === a.id)).toMatchObject({ state: "lost", lastSeenAt: lost.status.lastSeenAt });
    expect(listed.items.find((s) => s.id === b.id)).toMatchObject({ state: "alive" });

    // B asks the edge, the edge offers nothing reachable: 480 now, not a timeout on the dead A.
    const call = await sipp(bed.logDir, { name: "fleet-call-1001-on-lost-a", scenario: "call-refused", remote: b.remote, device: caller, service: "1001", final: "480", timeoutSeconds: 20 });
    expect(call.code, describeRun(call)).toBe(0);
    expect(receivedStartLines(call).filter((line) => !line.startsWith("SIP/2.0 100"))).toEqual([
      "SIP/2.0 407 Proxy Authentication Required",
      "SIP/2.0 480 Temporarily Unavailable",
    ]);
    const trace = timeline(call);
    const invite = trace.filter((m) => m.direction === "sent" && m.startLine.startsWith("INVITE "))[1]!;
    const refused = trace.find((m) => m.direction === "received" && m.startLine.startsWith("SIP/2.0 480"))!;
    const waited = refused.at - invite.at;
    console.log(`fleet: authenticated INVITE to 480 in ${waited.toFixed(1)} ms (the switch's INVITE timeout is 5,000 ms)`);
    expect(waited).toBeGreaterThanOrEqual(0);
    // Forwarding to the lost switch would end only at the INVITE timeout (fr_timer, 408).
    expect(waited).toBeLessThan(KAMAILIO_FR_TIMER_MS);

    // The lost switch's bindings are kept, only not offered.
    expect((await bed.registrations()).map((r) => [r.contact, r.switchId]).sort()).toEqual(
      [
        [`sip:1001@127.0.0.1:${calleeOnA.port}`, a.id],
        [`sip:1004@127.0.0.1:${keeperOnA.port}`, a.id],
      ].sort(),
    );
  });

  it("the device re-registers through B and the call completes (INVITE, 180, 200, ACK, BYE), ringing only its binding on B", async () => {
    calleeOnB = await register("fleet-register-1001-b", b.remote, callee, 120);
    expect(calleeOnB.code, describeRun(calleeOnB)).toBe(0);
    expect((await bed.registrations(callee.id)).map((r) => r.switchId).sort()).toEqual([a.id, b.id].sort());

    const phone = await startSipp(bed.logDir, { name: "fleet-uas-1001-b", scenario: "uas", port: calleeOnB.port, pauseMs: 300, timeoutSeconds: 20 });
    await phone.listening();
    const call = await sipp(bed.logDir, { name: "fleet-call-1001-rehomed", scenario: "call", remote: b.remote, device: caller, service: "1001", timeoutSeconds: 20 });
    const answered = await phone.done;
    expect(call.code, describeRun(call)).toBe(0);
    expect(answered.code, describeRun(answered)).toBe(0);
    expect(receivedStartLines(call).filter((line) => !line.startsWith("SIP/2.0 100"))).toEqual([
      "SIP/2.0 407 Proxy Authentication Required",
      "SIP/2.0 180 Ringing",
      "SIP/2.0 200 OK",
      "SIP/2.0 200 OK",
    ]);
    const [inviteSeen, ack, bye] = receivedMessages(answered);
    expect(inviteSeen).toMatch(new RegExp(`^INVITE sip:1001@127\\.0\\.0\\.1:${calleeOnB.port} `));
    // Straight from B: the binding on the lost A was not offered (B would have relayed to A).
    const vias = inviteSeen!.split(/\r?\n/).filter((line) => /^Via:/i.test(line)).map((line) => /UDP ([\d.]+)/.exec(line)?.[1]);
    expect(vias).toEqual(["127.0.0.3", "127.0.0.1"]);
    expect(ack).toMatch(/^ACK /);
    expect(bye).toMatch(/^BYE /);
  });

  it("A starts again: alive within a keepalive, and the binding it held before the kill is still there", async () => {
    const startedAt = Date.now();
    await startKamailio(a.settings, bed.logDir);
    const alive = await bed.waitForSwitch("switch a is alive again", a.id, (s) => s.state === "alive", 20_000);
    console.log(`fleet: switch a alive again ${alive.at - startedAt} ms after its start`);
    expect(Date.parse(alive.status.lastSeenAt!)).toBeGreaterThanOrEqual(startedAt - 1_000);

    const kept = await bed.registrations(keeper.id);
    expect(kept).toEqual([expect.objectContaining({ contact: `sip:1004@127.0.0.1:${keeperOnA.port}`, switchId: a.id })]);
    expect(kept[0]!.expiresIn).toBeGreaterThan(grantedExpiry(keeperOnA, "1004", keeperOnA.port) - 120);
    // 1004's hour-long binding and 1001's first binding (120 s, not expired yet).
    expect(alive.status.bindingsHeld).toBe(2);
  });

  it("B drains: its devices' next REGISTER through B gets the short expiry, and once they register through A the count B holds reaches 0", async () => {
    const roamerOnB = await register("fleet-register-1003-b", b.remote, roamer, 120);
    expect(roamerOnB.code, describeRun(roamerOnB)).toBe(0);
    expect((await bed.switchStatus(b.id)).bindingsHeld).toBe(2);

    const drained = await bed.api<{ id: string; state: string }>("POST", `/switches/${b.id}/drain`, undefined, 200);
    expect(drained).toMatchObject({ id: b.id, state: "draining" });
    const draining = await bed.waitForSwitch("switch b shows draining", b.id, (s) => s.state === "draining", 10_000);
    expect(draining.status.bindingsHeld).toBe(2);

    // The same phone (same contact) refreshes through B, as the load balancer still sends it there.
    const refresh = await register("fleet-register-1001-b-draining", b.remote, callee, 120, calleeOnB.port);
    expect(refresh.code, describeRun(refresh)).toBe(0);
    const short = grantedExpiry(refresh, "1001", calleeOnB.port);
    console.log(`fleet: REGISTER through draining B granted ${short} s (asked 120)`);
    expect(short).toBeGreaterThanOrEqual(2); // the account's minExpires
    expect(short).toBeLessThanOrEqual(FLEET_TIMING.drainExpires);

    const roamerRefresh = await register("fleet-register-1003-b-draining", b.remote, roamer, 120, roamerOnB.port);
    expect(roamerRefresh.code, describeRun(roamerRefresh)).toBe(0);
    expect(grantedExpiry(roamerRefresh, "1003", roamerOnB.port)).toBeLessThanOrEqual(FLEET_TIMING.drainExpires);

    // Their next refreshes go to A (B is out of the load balancer): 1001 from the same contact,
    // 1003 from a new one, so its binding on B is left to the short expiry.
    const moved = await register("fleet-register-1001-a-after-drain", a.remote, callee, 120, calleeOnB.port);
    expect(moved.code, describeRun(moved)).toBe(0);
    expect(grantedExpiry(moved, "1001", calleeOnB.port)).toBeGreaterThan(FLEET_TIMING.drainExpires);
    const roamed = await register("fleet-register-1003-a-new-contact", a.remote, roamer, 120);
    expect(roamed.code, describeRun(roamed)).toBe(0);

    const movedAt = Date.now();
    const empty = await bed.waitForSwitch("switch b holds no binding", b.id, (s) => s.bindingsHeld === 0, FLEET_TIMING.drainExpires * 1000 + 15_000);
    console.log(`fleet: draining B held 0 bindings ${empty.at - movedAt} ms after the devices moved`);
    expect(empty.status.state).toBe("draining");
    expect(await bed.registrations(callee.id)).toContainEqual(
      expect.objectContaining({ contact: `sip:1001@127.0.0.1:${calleeOnB.port}`, switchId: a.id }),
    );
    expect(await bed.registrations(roamer.id)).toEqual([
      expect.objectContaining({ contact: `sip:1003@127.0.0.1:${roamed.port}`, switchId: a.id }),
    ]);

    const undrained = await bed.api<{ state: string }>("DELETE", `/switches/${b.id}/drain`, undefined, 200);
    expect(undrained.state).toBe("alive");
  });
});
