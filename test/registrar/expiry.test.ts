import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sipReplyFor } from "../../registrar/errors";
import { decideExpiry, withJitter } from "../../registrar/expiry";
import type { RegistrationPolicy } from "../../registrar/types";
import { DEFAULT_POLICY } from "../../registrar/types";

const policy: RegistrationPolicy = { ...DEFAULT_POLICY, minExpires: 60, maxExpires: 3600, defaultExpires: 300 };

describe("decideExpiry", () => {
  it("grants the policy default when the REGISTER names no expiry", () => {
    expect(decideExpiry(undefined, undefined, policy)).toEqual({ kind: "grant", seconds: 300 });
  });

  it("takes the Expires header when the contact has no expires parameter", () => {
    expect(decideExpiry(undefined, 600, policy)).toEqual({ kind: "grant", seconds: 600 });
  });

  it("lets the contact's expires parameter win over the Expires header", () => {
    expect(decideExpiry(120, 600, policy)).toEqual({ kind: "grant", seconds: 120 });
    expect(decideExpiry(0, 600, policy)).toEqual({ kind: "remove" });
    expect(decideExpiry(600, 0, policy)).toEqual({ kind: "grant", seconds: 600 });
  });

  it("removes the binding for an expiry of 0", () => {
    expect(decideExpiry(undefined, 0, policy)).toEqual({ kind: "remove" });
  });

  it("an Expires below the minimum is answered 423 with Min-Expires", () => {
    const decision = decideExpiry(undefined, 59, policy);
    expect(decision).toEqual({ kind: "too_brief", minExpires: 60 });
    if (decision.kind !== "too_brief") throw new Error("expected too_brief");
    expect(sipReplyFor({ code: "interval_too_brief", minExpires: decision.minExpires })).toEqual({
      status: 423,
      reason: "Interval Too Brief",
      headers: { "Min-Expires": "60" },
    });
  });

  it("accepts exactly the minimum and exactly the maximum", () => {
    expect(decideExpiry(60, undefined, policy)).toEqual({ kind: "grant", seconds: 60 });
    expect(decideExpiry(3600, undefined, policy)).toEqual({ kind: "grant", seconds: 3600 });
  });

  it("shortens an expiry above the maximum to the maximum", () => {
    expect(decideExpiry(undefined, 7200, policy)).toEqual({ kind: "grant", seconds: 3600 });
    expect(decideExpiry(Number.POSITIVE_INFINITY, undefined, policy)).toEqual({ kind: "grant", seconds: 3600 });
  });

  it("floors fractional seconds", () => {
    expect(decideExpiry(120.9, undefined, policy)).toEqual({ kind: "grant", seconds: 120 });
    expect(decideExpiry(0.5, undefined, policy)).toEqual({ kind: "remove" });
  });

  it("treats a negative expiry as 0, a removal", () => {
    expect(decideExpiry(-1, 600, policy)).toEqual({ kind: "remove" });
    expect(decideExpiry(undefined, -30, policy)).toEqual({ kind: "remove" });
  });

  it("keeps a misconfigured default within min..max", () => {
    expect(decideExpiry(undefined, undefined, { ...policy, defaultExpires: 10 })).toEqual({ kind: "grant", seconds: 60 });
    expect(decideExpiry(undefined, undefined, { ...policy, defaultExpires: 0 })).toEqual({ kind: "grant", seconds: 60 });
    expect(decideExpiry(undefined, undefined, { ...policy, defaultExpires: 9000 })).toEqual({
      kind: "grant",
      seconds: 3600,
    });
  });

  it("never grants outside min..max, for any asked expiry", () => {
    fc.assert(
      fc.property(
        fc.option(fc.double(), { nil: undefined }),
        fc.option(fc.double(), { nil: undefined }),
        (contactExpires, headerExpires) => {
          const decision = decideExpiry(contactExpires, headerExpires, policy);
          if (decision.kind === "grant") {
            expect(Number.isInteger(decision.seconds)).toBe(true);
            expect(decision.seconds).toBeGreaterThanOrEqual(policy.minExpires);
            expect(decision.seconds).toBeLessThanOrEqual(policy.maxExpires);
          }
        },
      ),
    );
  });
});

describe("withJitter", () => {
  it("leaves the interval unchanged at the middle of the random range", () => {
    expect(withJitter(600, 0.1, 0.5)).toBe(600);
  });

  it("spreads the interval by up to ± the fraction", () => {
    expect(withJitter(600, 0.1, 0)).toBe(540);
    expect(withJitter(600, 0.1, 0.999999)).toBe(660);
    expect(withJitter(600, 0.1, 0.25)).toBe(570);
  });

  it("does nothing with a fraction of 0", () => {
    expect(withJitter(600, 0, 0)).toBe(600);
    expect(withJitter(600, 0, 0.9)).toBe(600);
  });

  it("never goes below 1 second", () => {
    expect(withJitter(1, 0.9, 0)).toBe(1);
    expect(withJitter(0, 0.5, 0.3)).toBe(1);
  });

  it("a fraction outside 0..1 counts as its nearest end, one that is not a finite number as 0", () => {
    expect(withJitter(600, 2, 0)).toBe(1);
    expect(withJitter(600, 2, 0.999999)).toBe(1200);
    expect(withJitter(600, -0.5, 0)).toBe(600);
    expect(withJitter(600, Number.NaN, 0)).toBe(600);
    expect(withJitter(600, Number.POSITIVE_INFINITY, 0)).toBe(600);
  });

  it("a random point outside 0..1 counts as its nearest end, one that is not a finite number as the middle", () => {
    expect(withJitter(600, 0.1, 5)).toBe(660);
    expect(withJitter(600, 0.1, -3)).toBe(540);
    expect(withJitter(600, 0.1, Number.NaN)).toBe(600);
    expect(withJitter(600, 0.1, Number.NEGATIVE_INFINITY)).toBe(600);
  });

  it("an interval that is not a number comes out as 1 second", () => {
    expect(withJitter(Number.NaN, 0.1, 0.3)).toBe(1);
  });

  it("stays within seconds × (1 ± fraction), rounded, and at least 1", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 86_400 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (seconds, fraction, random) => {
          const jittered = withJitter(seconds, fraction, random);
          expect(Number.isInteger(jittered)).toBe(true);
          expect(jittered).toBeGreaterThanOrEqual(1);
          expect(jittered).toBeGreaterThanOrEqual(Math.floor(seconds * (1 - fraction)));
          expect(jittered).toBeLessThanOrEqual(Math.ceil(seconds * (1 + fraction)));
        },
      ),
    );
  });
});
