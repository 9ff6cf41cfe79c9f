import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { drainCapped, drainRegister, forcedInterval, policyInconsistency } from "../../registrar/policy";
import { DEFAULT_POLICY, type RegisterRequest, type RegistrationPolicy } from "../../registrar/types";

const policy: RegistrationPolicy = { ...DEFAULT_POLICY, minExpires: 60, maxExpires: 3600, defaultExpires: 600, expiresJitter: 0.1 };

describe("policyInconsistency", () => {
  it("accepts min ≤ default ≤ max, the bounds included", () => {
    expect(policyInconsistency(policy)).toBeNull();
    expect(policyInconsistency({ ...policy, minExpires: 600, defaultExpires: 600, maxExpires: 600 })).toBeNull();
    expect(policyInconsistency({ ...policy, defaultExpires: 60 })).toBeNull();
    expect(policyInconsistency({ ...policy, defaultExpires: 3600 })).toBeNull();
  });

  it("names minExpires when it exceeds maxExpires", () => {
    expect(policyInconsistency({ ...policy, minExpires: 3601, defaultExpires: 3601 })).toEqual({
      field: "policy.minExpires",
      detail: "minExpires must not exceed maxExpires",
    });
  });

  it("names defaultExpires when it lies below the minimum or above the maximum", () => {
    const outside = { field: "policy.defaultExpires", detail: "defaultExpires must lie between minExpires and maxExpires" };
    expect(policyInconsistency({ ...policy, defaultExpires: 59 })).toEqual(outside);
    expect(policyInconsistency({ ...policy, defaultExpires: 3601 })).toEqual(outside);
  });
});

describe("drainCapped", () => {
  it("shortens a longer interval to the cap, leaves a shorter one", () => {
    expect(drainCapped(600, 120, policy)).toBe(120);
    expect(drainCapped(90, 120, policy)).toBe(90);
    expect(drainCapped(120, 120, policy)).toBe(120);
  });

  it("never caps below the account's minimum", () => {
    expect(drainCapped(600, 30, policy)).toBe(60);
  });

  it("leaves a removal and a too brief interval as they are (the expiry rule decides them)", () => {
    expect(drainCapped(0, 120, policy)).toBe(0);
    expect(drainCapped(30, 120, policy)).toBe(30);
  });
});

describe("forcedInterval", () => {
  it("is the account's default at the middle of the jitter, spread by ± the jitter fraction", () => {
    expect(forcedInterval(policy, 0.5)).toBe(600);
    expect(forcedInterval(policy, 0)).toBe(540);
    expect(forcedInterval(policy, 0.999999)).toBe(660);
  });

  it("stays within min..max whatever the jitter", () => {
    expect(forcedInterval({ ...policy, defaultExpires: 3600, expiresJitter: 0.5 }, 0.999999)).toBe(3600);
    expect(forcedInterval({ ...policy, defaultExpires: 60, expiresJitter: 0.5 }, 0)).toBe(60);
  });

  it("a draining switch's cap shortens it, but never below the minimum", () => {
    expect(forcedInterval(policy, 0.5, 120)).toBe(120);
    expect(forcedInterval(policy, 0.5, 900)).toBe(600);
    expect(forcedInterval(policy, 0.5, 10)).toBe(60);
    expect(forcedInterval(policy, 0.5, 0)).toBe(60);
  });

  it("property: within [min, max] and never above a cap at or over the minimum", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 0, max: 7200 }),
        fc.integer({ min: 0, max: 7200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        fc.option(fc.integer({ min: 0, max: 7200 }), { nil: undefined }),
        (min, span, defaultOffset, jitter, random, cap) => {
          const p = { ...policy, minExpires: min, maxExpires: min + span, defaultExpires: min + Math.min(defaultOffset, span), expiresJitter: jitter };
          const seconds = forcedInterval(p, random, cap);
          expect(seconds).toBeGreaterThanOrEqual(p.minExpires);
          expect(seconds).toBeLessThanOrEqual(p.maxExpires);
          if (cap !== undefined) expect(seconds).toBeLessThanOrEqual(Math.max(cap, p.minExpires));
        },
      ),
    );
  });
});

describe("drainRegister", () => {
  const request: RegisterRequest = {
    aor: "sip:alice@acme.test",
    callId: "c1",
    cseq: 1,
    contacts: [{ uri: "sip:alice@192.0.2.1" }, { uri: "sip:alice@192.0.2.2", expires: 90 }, { uri: "sip:alice@192.0.2.3", expires: 0 }],
    expires: 1800,
  };

  it("caps every contact's interval: its own, else the request's Expires", () => {
    const drained = drainRegister(request, 120, policy);
    expect(drained.contacts).toEqual([
      { uri: "sip:alice@192.0.2.1", expires: 120 },
      { uri: "sip:alice@192.0.2.2", expires: 90 },
      { uri: "sip:alice@192.0.2.3", expires: 0 },
    ]);
    expect({ ...drained, contacts: request.contacts }).toEqual(request);
  });

  it("a contact without its own interval takes the request's Expires, not the account's default", () => {
    const drained = drainRegister({ ...request, contacts: [{ uri: "sip:alice@192.0.2.1" }], expires: 100 }, 120, policy);
    expect(drained.contacts).toEqual([{ uri: "sip:alice@192.0.2.1", expires: 100 }]);
  });

  it("caps the account's default for a REGISTER that names no interval", () => {
    const drained = drainRegister({ ...request, contacts: [{ uri: "sip:alice@192.0.2.1" }], expires: undefined }, 120, policy);
    expect(drained.contacts).toEqual([{ uri: "sip:alice@192.0.2.1", expires: 120 }]);
    expect(drainRegister({ ...request, contacts: [{ uri: "sip:alice@192.0.2.1" }], expires: undefined }, 900, policy).contacts).toEqual([
      { uri: "sip:alice@192.0.2.1", expires: 600 },
    ]);
  });

  it("never caps below the account's minimum", () => {
    expect(drainRegister(request, 10, policy).contacts).toEqual([
      { uri: "sip:alice@192.0.2.1", expires: 60 },
      { uri: "sip:alice@192.0.2.2", expires: 60 },
      { uri: "sip:alice@192.0.2.3", expires: 0 },
    ]);
  });

  it("leaves a wildcard removal alone, and does not change its input", () => {
    const wildcard: RegisterRequest = { ...request, contacts: "*", expires: 0 };
    expect(drainRegister(wildcard, 120, policy)).toBe(wildcard);
    const before = structuredClone(request);
    drainRegister(request, 120, policy);
    expect(request).toEqual(before);
  });
});
