import { describe, expect, it } from "vitest";
import { planRefresh, type RefreshCandidate } from "../../registrar/refresh";
import { DEFAULT_POLICY, type RegistrationPolicy } from "../../registrar/types";

const now = 1_800_000_000_000;
const policy: RegistrationPolicy = { ...DEFAULT_POLICY, minExpires: 60, maxExpires: 3600 };
const asked = { callId: "call-1@192.0.2.10", contactUser: "alice", contactHost: "192.0.2.10" };
const live: RefreshCandidate = { id: 7, contact: "sip:alice@192.0.2.10:5062;transport=udp", callId: "call-1@192.0.2.10", expiresAt: now + 30_000 };

describe("planRefresh", () => {
  it("extends the live binding with the same Call-ID and contact by the granted interval from now", () => {
    expect(planRefresh([live], asked, 600, policy, now)).toEqual({ id: 7, contact: live.contact, expiresAt: now + 600_000 });
  });

  it("matches the contact by user and host, whatever its port and parameters, the host in any case", () => {
    expect(planRefresh([live], { ...asked, contactHost: "192.0.2.10" }, 600, policy, now)?.id).toBe(7);
    const named = { ...live, contact: "sip:alice@phone.acme.test" };
    expect(planRefresh([named], { ...asked, contactHost: "Phone.ACME.test" }, 600, policy, now)?.id).toBe(7);
  });

  it("picks the binding that matches among the device's others", () => {
    const other = { ...live, id: 3, contact: "sip:alice@192.0.2.99" };
    const elsewhere = { ...live, id: 4, callId: "call-2@192.0.2.10" };
    expect(planRefresh([other, elsewhere, live], asked, 600, policy, now)?.id).toBe(7);
  });

  it("never extends an expired binding, nor one that expires at this very moment", () => {
    expect(planRefresh([{ ...live, expiresAt: now - 1 }], asked, 600, policy, now)).toBeNull();
    expect(planRefresh([{ ...live, expiresAt: now }], asked, 600, policy, now)).toBeNull();
    expect(planRefresh([{ ...live, expiresAt: now + 1 }], asked, 600, policy, now)?.id).toBe(7);
  });

  it("a different Call-ID is a new registration, not a refresh", () => {
    expect(planRefresh([live], { ...asked, callId: "call-9@192.0.2.10" }, 600, policy, now)).toBeNull();
  });

  it("a different contact user or host is not a refresh of this binding", () => {
    expect(planRefresh([live], { ...asked, contactUser: "bob" }, 600, policy, now)).toBeNull();
    expect(planRefresh([live], { ...asked, contactHost: "192.0.2.11" }, 600, policy, now)).toBeNull();
  });

  it("grants by the REGISTER expiry rule: within the maximum, and nothing for an interval that rule refuses", () => {
    expect(planRefresh([live], asked, 7200, policy, now)?.expiresAt).toBe(now + 3_600_000);
    expect(planRefresh([live], asked, 59, policy, now)).toBeNull();
    expect(planRefresh([live], asked, 0, policy, now)).toBeNull();
  });

  it("no binding, no refresh", () => {
    expect(planRefresh([], asked, 600, policy, now)).toBeNull();
  });
});
