// A refused registration makes the hook ask the edge at once (sofia::register_failure, posted as a
// heartbeat): a switch whose directory requests get no answer goes to standby (503) without waiting
// for its next HEARTBEAT, and a wrong password on a switch that reaches the edge never does.
// The outage here reaches the switch through its directory requests only: the pass-through answers
// every HEARTBEAT post and 503 to everything else, so the heartbeats keep telling the switch the
// edge is there, and only the probe can put it in standby. Switch B, with no refused registration,
// is the control: it stays out of standby through the same outage.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { optionsStatus } from "../e2e/harness/kamailio";
import { describeRun, receivedStartLines, sipp, stopAllSipp } from "../e2e/harness/sipp";
import { testBed } from "./harness/context";
import type { SwitchName } from "./harness/bed";
import { cli } from "./harness/freeswitch";

const bed = testBed();
const status = (sw: SwitchName) => optionsStatus(bed.bed.switches[sw].ip, 5060);
const probes = (list: Awaited<ReturnType<typeof bed.requests>>, sw: SwitchName) => list.filter((r) => r.switch === sw && r.event === "sofia::register_failure");
const heartbeats = (list: Awaited<ReturnType<typeof bed.requests>>, sw: SwitchName) => list.filter((r) => r.switch === sw && r.event === "HEARTBEAT");

/** The hook probes at most once every 2 s of the switch's own clock: wait, by that clock, until a probe is due on `sw`. */
async function probeDue(sw: SwitchName): Promise<void> {
  const ip = bed.bed.switches[sw].ip;
  const read = async () => {
    const last = Number((await cli(ip, "global_getvar edge_probe_at")).trim()) || 0;
    const now = Number((await cli(ip, "strepoch")).trim());
    return now - last;
  };
  await bed.until(`a probe due on ${sw}`, read, (since) => since >= 2, 20_000);
}

beforeAll(async () => {
  await bed.clearRegistrations();
});
afterAll(async () => {
  await stopAllSipp();
  await bed.control("/edge/all").catch(() => undefined);
  await bed.clearRegistrations();
});

describe("a refused registration on a switch that reaches the edge (a wrong password)", () => {
  it("is answered 403, the hook asks the edge (answered 200), and the switch stays out of standby", async () => {
    await probeDue("a");
    const since = (await bed.requests()).length;
    const wrong = await bed.register("probe-1003-wrong-password", "a", bed.phone(bed.bed.devices["1003"]!), { password: "not-the-password", final: "403" });
    expect(wrong.code, describeRun(wrong)).toBe(0);
    expect(receivedStartLines(wrong)).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 403 Forbidden"]);
    // The probe's answer is in: the post run has decided about standby by the time the next OPTIONS is read.
    const list = await bed.requestsAfter(since, (l) => probes(l, "a").some((r) => r.status === 200), 500);
    expect(probes(list, "a").map((r) => r.status)).toEqual([200]);
    expect(await status("a")).toBe(200);
  });
});

describe("an edge that answers the switches' heartbeats and nothing else", () => {
  it("the first refused REGISTER puts its switch in standby through the probe; the other switch stays answering; the edge back ends it", async () => {
    await probeDue("a");
    const since = (await bed.requests()).length;
    await bed.control("/edge/only-heartbeats");
    try {
      // The directory request gets 503: FreeSWITCH finds no user and answers 403.
      const refused = await bed.register("probe-1002-directory-refused", "a", bed.phone(bed.bed.devices["1002"]!), { final: "403" });
      expect(refused.code, describeRun(refused)).toBe(0);
      expect(receivedStartLines(refused)).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 403 Forbidden"]);
      // Standby follows the probe's failed post (heartbeats are answered, so nothing else can cause it).
      await bed.until("switch a in standby", () => status("a"), (s) => s === 503, 20_000);
      const during = (await bed.requests()).slice(since);
      expect(probes(during, "a").map((r) => r.status)).toContain(503);
      // B's heartbeats came and went through the same outage, answered, and B never stopped answering.
      await bed.until("a heartbeat from b answered", async () => heartbeats((await bed.requests()).slice(since), "b"), (l) => l.some((r) => r.status === 200), 20_000);
      expect(await status("b")).toBe(200);
      const paused = await sipp(bed.logDir, { name: "probe-1002-in-standby", scenario: "register-refused", remote: bed.bed.switches.a.remote, device: bed.bed.devices["1002"]!, final: "503" });
      expect(paused.code, describeRun(paused)).toBe(0);
      expect(receivedStartLines(paused)).toEqual(["SIP/2.0 503 System Paused"]);
    } finally {
      await bed.control("/edge/all");
    }
    // The deliverer's next try of the kept probe is answered: standby off.
    await bed.until("switch a out of standby", () => status("a"), (s) => s === 200, 20_000);
  });
});
