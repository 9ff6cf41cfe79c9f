// Wrong passwords lock a device on every switch (the lockout lives at the edge), and the operator
// lifts the lock through the API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBed } from "./harness/context";
import { LOCKOUT } from "./harness/fleet";
import { describeRun, receivedMessages, receivedStartLines, sipp, stopAllSipp } from "./harness/sipp";

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

const register = (name: string, remote: string, final: string, password?: string) =>
  sipp(bed.logDir, { name, scenario: "register", remote, device, password, keys: { expires: "60" }, final });

describe("lockout across switches", () => {
  it(`${LOCKOUT.threshold} wrong digests lock 1003 on A and B; the right password then gets 403 Locked until the operator lifts the lock`, async () => {
    // Below the threshold every wrong digest is simply challenged again, through either switch.
    for (const [attempt, remote] of [[1, a.remote], [2, b.remote]] as const) {
      const wrong = await register(`lockout-wrong-${attempt}`, remote, "401", "not-the-password");
      expect(wrong.code, describeRun(wrong)).toBe(0);
      expect(receivedStartLines(wrong)).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 401 Unauthorized"]);
    }
    // The wrong digest that reaches the threshold locks the device.
    const locking = await register("lockout-wrong-3", a.remote, "403", "not-the-password");
    expect(locking.code, describeRun(locking)).toBe(0);
    expect(receivedStartLines(locking)).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 403 Locked"]);
    const lockedDevice = await bed.api<{ lockedUntil: string | null }>("GET", devicePath);
    expect(lockedDevice.lockedUntil).not.toBeNull();

    // The right password no longer helps, on either switch.
    for (const [name, remote] of [["a", a.remote], ["b", b.remote]] as const) {
      const right = await register(`lockout-right-while-locked-${name}`, remote, "403");
      expect(right.code, describeRun(right)).toBe(0);
      expect(receivedStartLines(right)).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 403 Locked"]);
      const retryAfter = Number(/^Retry-After: (\d+)$/m.exec(receivedMessages(right)[1] ?? "")?.[1]);
      expect(retryAfter).toBeGreaterThan(LOCKOUT.durationSeconds - 120);
      expect(retryAfter).toBeLessThanOrEqual(LOCKOUT.durationSeconds);
    }
    expect(await bed.registrations(device.id)).toEqual([]);

    await bed.api("DELETE", `${devicePath}/lockout`);
    expect((await bed.api<{ lockedUntil: string | null }>("GET", devicePath)).lockedUntil).toBeNull();
    const unlocked = await register("lockout-right-after-lift", b.remote, "200");
    expect(unlocked.code, describeRun(unlocked)).toBe(0);
    expect(await bed.registrations(device.id)).toEqual([expect.objectContaining({ switchId: b.id })]);
  });
});
