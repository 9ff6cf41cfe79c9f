// The rule a switch's registration report is held to: a verified REGISTER of the same device,
// through the same switch, from the same address, at most REGISTER_PROOF_WINDOW_MS before.
import { describe, expect, it } from "vitest";
import { REGISTER_PROOF_WINDOW_MS, proofKey, vouches } from "../../registrar/proof";

describe("vouches", () => {
  it("holds from the verification up to the window's end, inclusive, and not after", () => {
    expect(REGISTER_PROOF_WINDOW_MS).toBe(30_000);
    expect(vouches(1_000, 1_000)).toBe(true);
    expect(vouches(1_000, 1_000 + REGISTER_PROOF_WINDOW_MS)).toBe(true);
    expect(vouches(1_000, 1_001 + REGISTER_PROOF_WINDOW_MS)).toBe(false);
  });

  it("never holds without a verification, or for one stamped after the report", () => {
    expect(vouches(undefined, 1_000)).toBe(false);
    expect(vouches(2_000, 1_999)).toBe(false);
  });

  it("takes a window of its own", () => {
    expect(vouches(0, 5, 5)).toBe(true);
    expect(vouches(0, 6, 5)).toBe(false);
  });
});

describe("proofKey", () => {
  it("tells apart every device, switch, address and Call-ID", () => {
    const base = { deviceId: "dev_1", switchId: "sw_1", address: "192.0.2.1", callId: "a84b4c76e66710@pc33.example.com" };
    const keys = new Set([
      proofKey(base),
      proofKey({ ...base, deviceId: "dev_2" }),
      proofKey({ ...base, switchId: "sw_2" }),
      proofKey({ ...base, address: "192.0.2.2" }),
      proofKey({ ...base, callId: "a84b4c76e66711@pc33.example.com" }),
      // A Call-ID with spaces in it cannot pass for another address.
      proofKey({ ...base, address: "192.0.2.1 x", callId: "y" }),
      proofKey({ ...base, callId: "x y" }),
    ]);
    expect(keys.size).toBe(7);
  });
});
