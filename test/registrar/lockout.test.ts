// Lockout per device and source address, decided on an injected clock.
import { describe, expect, it } from "vitest";
import { afterFailure, DEFAULT_LOCKOUT, deviceLockAfter, isLocked, sourceAddress, type LockoutPolicy } from "../../registrar/lockout";

const POLICY: LockoutPolicy = { threshold: 3, windowSeconds: 300, durationSeconds: 900, deviceThreshold: 4 };
const T0 = 1_800_000_000_000;

/** `n` failures at the given instants, from an empty record. */
function failures(...at: number[]) {
  let record = null as ReturnType<typeof afterFailure> | null;
  for (const now of at) record = afterFailure(record, POLICY, now);
  return record!;
}

describe("afterFailure", () => {
  it("locks a source at the threshold within the window, for the duration from that failure", () => {
    expect(failures(T0, T0 + 1_000)).toMatchObject({ failures: 2, lockedUntil: null, locked: false });
    expect(failures(T0, T0 + 1_000, T0 + 2_000)).toEqual({ windowStart: T0, failures: 3, lockedUntil: T0 + 2_000 + 900_000, locked: true });
  });

  it("failures further apart than the window never add up", () => {
    const spread = failures(T0, T0 + 200_000, T0 + 400_000, T0 + 600_000);
    expect(spread.lockedUntil).toBeNull();
    expect(spread.failures).toBe(2);
    expect(spread.windowStart).toBe(T0 + 400_000);
    // The window's last millisecond still counts.
    expect(failures(T0, T0 + 1, T0 + 299_999).locked).toBe(true);
    expect(failures(T0, T0 + 1, T0 + 300_000).locked).toBe(false);
  });

  it("attempts while locked do not extend the lock; past it, the source starts a fresh window", () => {
    const locked = failures(T0, T0 + 1, T0 + 2);
    const during = afterFailure(locked, POLICY, T0 + 600_000);
    expect(during).toMatchObject({ lockedUntil: locked.lockedUntil, locked: false });
    const after = afterFailure(during, POLICY, locked.lockedUntil! + 1);
    expect(after).toEqual({ windowStart: locked.lockedUntil! + 1, failures: 1, lockedUntil: null, locked: false });
  });
});

describe("the default policy (an account created without a lockout policy)", () => {
  it("five wrong digests from one source within five minutes lock it for fifteen; ten failing sources lock the device", () => {
    let record = null as ReturnType<typeof afterFailure> | null;
    for (let i = 0; i < 4; i++) record = afterFailure(record, DEFAULT_LOCKOUT, T0 + i * 60_000);
    expect(record).toMatchObject({ failures: 4, locked: false, lockedUntil: null });
    // The fifth, at the window's last millisecond.
    const fifth = afterFailure(record, DEFAULT_LOCKOUT, T0 + 299_999);
    expect(fifth).toEqual({ windowStart: T0, failures: 5, lockedUntil: T0 + 299_999 + 900_000, locked: true });
    expect(afterFailure(record, DEFAULT_LOCKOUT, T0 + 300_000)).toMatchObject({ failures: 1, locked: false });
    expect(deviceLockAfter(9, DEFAULT_LOCKOUT, T0)).toBeNull();
    expect(deviceLockAfter(10, DEFAULT_LOCKOUT, T0)).toBe(T0 + 900_000);
  });
});

describe("isLocked", () => {
  it("holds until the lock's end and lapses after it", () => {
    expect(isLocked(T0 + 900_000, T0)).toBe(true);
    expect(isLocked(T0 + 900_000, T0 + 899_999)).toBe(true);
    expect(isLocked(T0 + 900_000, T0 + 900_000)).toBe(false);
    expect(isLocked(T0 + 900_000, T0 + 10_000_000)).toBe(false);
    expect(isLocked(null, T0)).toBe(false);
  });
});

describe("deviceLockAfter", () => {
  it("locks the whole device only once enough distinct sources fail", () => {
    expect(deviceLockAfter(3, POLICY, T0)).toBeNull();
    expect(deviceLockAfter(4, POLICY, T0)).toBe(T0 + 900_000);
  });
});

describe("sourceAddress", () => {
  it("counts an IPv4 source by its address, whatever its port", () => {
    expect(sourceAddress("192.0.2.10:5060")).toBe("192.0.2.10");
    expect(sourceAddress("192.0.2.10:40123")).toBe("192.0.2.10");
    expect(sourceAddress("192.0.2.10")).toBe("192.0.2.10");
  });

  it("counts an IPv6 source by its /64, bracketed or as Kamailio writes it", () => {
    expect(sourceAddress("[2001:db8:1:2::10]:5060")).toBe("[2001:db8:1:2::]/64");
    expect(sourceAddress("2001:db8:1:2:aaaa:bbbb:cccc:dddd:5060")).toBe("[2001:db8:1:2::]/64");
    expect(sourceAddress("[2001:db8:1:3::10]:5060")).not.toBe(sourceAddress("[2001:db8:1:2::10]:5060"));
  });

  it("anything else counts as its own text", () => {
    expect(sourceAddress("unknown")).toBe("unknown");
  });
});
