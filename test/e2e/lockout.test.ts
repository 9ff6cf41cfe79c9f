// Brute force against real Kamailio: wrong passwords lock out the source address that sent them,
// on both switches (the lockout lives at the edge); that source then gets exactly what a wrong
// password gets (a fresh 401), never 403; the device still registers from another address; the
// operator sees the lock and lifts it through the API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBed } from "./harness/context";
import { LOCKOUT } from "./harness/fleet";
import { describeRun, receivedStartLines, sipp, stopAllSipp } from "./harness/sipp";

const bed = testBed();
const { a, b } = bed.fleet.switches;
const device = bed.fleet.devices["1003"]!;
const devicePath = `${bed.account}/devices/${device.id}`;

beforeAll(async () => {
  await bed.api("DELETE", `${devicePath}/lockout`);
  await bed.clearRegistrations();
});
afterAll(async () => {
  await stopAllSipp();
  await bed.api("DELETE", `${devicePath}/lockout`).catch(() => undefined);
  await bed.clearRegistrations();
});

const register = (name: string, remote: string, final: string, options: { password?: string; ip?: string } = {}) =>
  sipp(bed.logDir, { name, scenario: "register", remote, device, keys: { expires: "60" }, final, ...options });

type Lockout = { lockedUntil: string | null; sources: { source: string; failures: number; lockedUntil: string }[] };

describe("lockout per source across switches", () => {
  it(`${LOCKOUT.threshold} wrong digests from one address lock that address out of 1003 on A and B; 1003 still registers from another address`, async () => {
    for (const [attempt, remote] of [[1, a.remote], [2, b.remote], [3, a.remote]] as const) {
      const wrong = await register(`lockout-wrong-${attempt}`, remote, "401", { password: "not-the-password" });
      expect(wrong.code, describeRun(wrong)).toBe(0);
      expect(receivedStartLines(wrong).filter((line) => !line.startsWith("SIP/2.0 100"))).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 401 Unauthorized"]);
    }
    const locked = await bed.api<Lockout>("GET", `${devicePath}/lockout`);
    expect(locked.lockedUntil).toBeNull();
    expect(locked.sources.map((s) => s.source)).toEqual(["127.0.0.1"]);

    // The right password from the locked address gets what a wrong one gets, on either switch.
    for (const [name, remote] of [["a", a.remote], ["b", b.remote]] as const) {
      const refused = await register(`lockout-right-refused-${name}`, remote, "401");
      expect(refused.code, describeRun(refused)).toBe(0);
      expect(receivedStartLines(refused).filter((line) => !line.startsWith("SIP/2.0 100"))).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 401 Unauthorized"]);
    }
    expect(await bed.registrations(device.id)).toEqual([]);

    // From another address the device registers.
    const elsewhere = await register("lockout-right-elsewhere", b.remote, "200", { ip: "127.0.0.6" });
    expect(elsewhere.code, describeRun(elsewhere)).toBe(0);
    expect(await bed.registrations(device.id)).toEqual([expect.objectContaining({ switchId: b.id, received: expect.stringMatching(/^127\.0\.0\.6:/) })]);

    await bed.api("DELETE", `${devicePath}/lockout`);
    expect((await bed.api<Lockout>("GET", `${devicePath}/lockout`)).sources).toEqual([]);
    const unlocked = await register("lockout-right-after-lift", a.remote, "200");
    expect(unlocked.code, describeRun(unlocked)).toBe(0);
  });
});
