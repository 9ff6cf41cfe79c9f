import { describe, expect, it } from "vitest";
import { remainingSeconds } from "../../registrar/lookup";
import type { Binding } from "../../registrar/types";

const now = 1_795_557_012_000;

function binding(id: number, expiresAt: number): Binding {
  return {
    id,
    deviceId: "device-1000",
    aor: "sip:1000@acme.test",
    contact: `sip:1000@192.0.2.${id}:5060`,
    instanceId: null,
    regId: null,
    callId: `call-${id}`,
    cseq: 1,
    expiresAt,
    q: null,
    path: [],
    received: null,
    userAgent: null,
    switchId: null,
    createdAt: now - 60_000,
    updatedAt: now - 60_000,
  };
}

describe("remainingSeconds", () => {
  it("rounds the time left up to whole seconds", () => {
    expect(remainingSeconds(binding(1, now + 300_000), now)).toBe(300);
    expect(remainingSeconds(binding(1, now + 299_001), now)).toBe(300);
    expect(remainingSeconds(binding(1, now + 1), now)).toBe(1);
  });

  it("is 0 once the binding has expired", () => {
    expect(remainingSeconds(binding(1, now), now)).toBe(0);
    expect(remainingSeconds(binding(1, now - 5_000), now)).toBe(0);
  });
});
