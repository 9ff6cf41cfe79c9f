// Wrong passwords through real FreeSWITCH switches: the edge checks every digest itself, so the
// failures count across both switches, and once the account's threshold is reached the source
// address that sent them (the phones' 127.0.0.1) is refused for the device on both, even with its
// right password, until the lock ends or the operator lifts it, while the device still registers
// from another address.
import { afterAll, describe, expect, it } from "vitest";
import { describeRun, receivedStartLines, stopAllSipp } from "../e2e/harness/sipp";
import { LOCKOUT } from "./harness/bed";
import { asked, testBed } from "./harness/context";

const bed = testBed();
const device = bed.bed.devices["1006"]!;
const devicePath = `${bed.account}/devices/${device.id}`;

afterAll(async () => {
  await stopAllSipp();
  await bed.api("DELETE", `${devicePath}/lockout`).catch(() => undefined);
  await bed.clearRegistrations();
});

describe("lockout through FreeSWITCH", () => {
  it(`${LOCKOUT.threshold} wrong passwords through A and B lock their source out of the device on both switches; the operator lifts the lock`, async () => {
    const phone = bed.phone(device);
    const since = (await bed.requests()).length;
    for (let attempt = 0; attempt < LOCKOUT.threshold; attempt++) {
      const sw = attempt % 2 === 0 ? "a" : "b";
      const wrong = await bed.register(`lockout-1006-wrong-${attempt}-${sw}`, sw, phone, { password: "not-the-password", final: "403" });
      expect(wrong.code, describeRun(wrong)).toBe(0);
      expect(receivedStartLines(wrong)).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 403 Forbidden"]);
    }
    const lock = await bed.api<{ lockedUntil: string | null; sources: { source: string; lockedUntil: string }[] }>("GET", `${devicePath}/lockout`);
    expect(lock.lockedUntil).toBeNull();
    expect(lock.sources.map((s) => s.source)).toEqual(["127.0.0.1"]);
    const lockedFor = Date.parse(lock.sources[0]!.lockedUntil) - Date.now();
    expect(lockedFor).toBeGreaterThan((LOCKOUT.durationSeconds - 30) * 1000);
    expect(lockedFor).toBeLessThanOrEqual(LOCKOUT.durationSeconds * 1000);

    // The right password is refused too, on either switch.
    for (const sw of ["a", "b"] as const) {
      const right = await bed.register(`lockout-1006-right-locked-${sw}`, sw, phone, { final: "403" });
      expect(right.code, describeRun(right)).toBe(0);
      expect(receivedStartLines(right).at(-1)).toBe("SIP/2.0 403 Forbidden");
    }
    expect(await bed.registrations(device.id)).toEqual([]);

    // Every refusal was the edge's: each REGISTER asked it once, and no registration event followed.
    const requests = asked(await bed.requestsAfter(since, (list) => list.filter((r) => r.kind === "directory:sip_auth").length >= LOCKOUT.threshold + 2, 1_000));
    expect(requests.filter((r) => r.includes("sip_auth 1006"))).toHaveLength(LOCKOUT.threshold + 2);
    // (A refusal's own probe, sofia::register_failure, is no registration event.)
    expect(requests.filter((r) => r.split(" ")[1] === "sofia::register")).toEqual([]);

    // The lock is on that source, not on the device: the same device registers from another address.
    const elsewhere = await bed.register("lockout-1006-right-other-source", "a", bed.phone(device), { ip: "127.0.0.6" });
    expect(elsewhere.code, describeRun(elsewhere)).toBe(0);
    expect(receivedStartLines(elsewhere).at(-1)).toBe("SIP/2.0 200 OK");
    const [fromElsewhere, ...others] = await bed.until("the device is registered from 127.0.0.6", () => bed.registrations(device.id), (items) => items.length === 1, 5_000);
    expect(others).toEqual([]);
    expect(fromElsewhere!.contact).toBe(`sip:1006@127.0.0.6:${elsewhere.port}`);
    await bed.clearRegistrations();

    await bed.api("DELETE", `${devicePath}/lockout`);
    const again = await bed.register("lockout-1006-right-unlocked", "b", phone);
    expect(again.code, describeRun(again)).toBe(0);
    expect(receivedStartLines(again).at(-1)).toBe("SIP/2.0 200 OK");
    await bed.until("the device is registered", () => bed.registrations(device.id), (items) => items.length === 1, 5_000);
  });
});
