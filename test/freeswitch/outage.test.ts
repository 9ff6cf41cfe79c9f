// Edge outages seen from two FreeSWITCH switches with the shipped files: an edge that swallows
// requests (packets dropped: every request waits out the 2 s timeout), and an edge that loses the
// hook's event posts while it still answers the directory (an unregister that would be lost without
// the spool). Nothing the phones did is lost, and the switches answer 503 while they wait.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { optionsStatus } from "../e2e/harness/kamailio";
import { describeRun, receivedStartLines, sipp, stopAllSipp } from "../e2e/harness/sipp";
import { testBed } from "./harness/context";
import type { SwitchName } from "./harness/bed";

const bed = testBed();
const onA = bed.phone(bed.bed.devices["1004"]!);
const onB = bed.phone(bed.bed.devices["1005"]!);
const leaving = bed.phone(bed.bed.devices["1006"]!);

const status = (sw: SwitchName) => optionsStatus(bed.bed.switches[sw].ip, 5060);
const standby = (sw: SwitchName) => bed.until(`switch ${sw} in standby`, () => status(sw), (s) => s === 503, 20_000);
const answering = (sw: SwitchName) => bed.until(`switch ${sw} out of standby`, () => status(sw), (s) => s === 200, 20_000);

beforeAll(async () => {
  await bed.clearRegistrations();
  for (const [name, sw, phone] of [["outage-1004-a", "a", onA], ["outage-1005-b", "b", onB], ["outage-1006-a", "a", leaving]] as const) {
    const run = await bed.register(name, sw, phone);
    expect(run.code, describeRun(run)).toBe(0);
  }
  await bed.until("three phones registered", () => bed.registrations(), (items) => items.length === 3, 5_000);
});
afterAll(async () => {
  await stopAllSipp();
  await bed.control("/edge/answer").catch(() => undefined);
  await bed.control("/edge/pass-events").catch(() => undefined);
  await bed.clearRegistrations();
});

describe("an edge that swallows every request (packets dropped)", () => {
  it("both switches go to standby and answer 503 at once; once it answers again they leave it and every phone refreshes", async () => {
    const before = await bed.registrations();
    await bed.control("/edge/swallow");
    try {
      await Promise.all([standby("a"), standby("b")]);
      const refused = await sipp(bed.logDir, { name: "outage-1004-a-swallowed", scenario: "register-refused", remote: bed.bed.switches.a.remote, device: onA.device, final: "503" });
      expect(refused.code, describeRun(refused)).toBe(0);
      expect(receivedStartLines(refused)).toEqual(["SIP/2.0 503 System Paused"]);
    } finally {
      await bed.control("/edge/answer");
    }
    await Promise.all([answering("a"), answering("b")]);
    for (const [name, sw, phone] of [["outage-1004-a-back", "a", onA], ["outage-1005-b-back", "b", onB]] as const) {
      const run = await bed.register(name, sw, phone);
      expect(run.code, describeRun(run)).toBe(0);
      expect(receivedStartLines(run).at(-1)).toBe("SIP/2.0 200 OK");
    }
    const after = await bed.registrations();
    expect(after.map((r) => [r.contact, r.switchId]).sort()).toEqual(before.map((r) => [r.contact, r.switchId]).sort());
  });
});

describe("an edge that loses the hook's event posts", () => {
  it("an unregister it did not get is kept by the switch and replayed once the edge takes events again", async () => {
    const since = (await bed.requests()).length;
    await bed.control(`/edge/fail-events?user=${leaving.device.username}`);
    try {
      // The directory still answers, so the switch takes the unregister; its event (and only that
      // phone's events) meets a 503.
      const gone = await bed.register("outage-1006-a-unregister", "a", leaving, { expires: 0 });
      expect(gone.code, describeRun(gone)).toBe(0);
      await bed.until(
        "the unregister posted and refused",
        () => bed.requests(),
        (list) => list.slice(since).some((r) => r.event === "sofia::unregister" && r.user === "1006" && r.status === 503),
        10_000,
      );
      // Lost so far: the edge still lists the binding the switch dropped, and the switch waits in standby.
      expect(await bed.switchRegistrations("a", leaving)).toEqual([]);
      expect((await bed.registrations(leaving.device.id)).length).toBe(1);
      await standby("a");
    } finally {
      await bed.control("/edge/pass-events");
    }
    await bed.until("the replayed unregister removed the binding", () => bed.registrations(leaving.device.id), (items) => items.length === 0, 20_000);
    await answering("a");
    const unregisters = (await bed.requests()).slice(since).filter((r) => r.event === "sofia::unregister" && r.user === "1006");
    expect(unregisters.map((r) => r.status).at(-1)).toBe(200);
    expect(unregisters.slice(0, -1).every((r) => r.status === 503)).toBe(true);
    // The other phones were never touched.
    expect((await bed.registrations()).map((r) => r.deviceId).sort()).toEqual([onA.device.id, onB.device.id].sort());
  });
});
