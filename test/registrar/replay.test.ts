// Nonce reuse: with qop the count must grow, without qop a nonce is good once.
import { describe, expect, it } from "vitest";
import { acceptsUse, nonceCount, nonceKey } from "../../registrar/replay";

describe("nonceCount", () => {
  it("reads 8 hex digits, none without qop, NaN for anything else", () => {
    expect(nonceCount("00000001")).toBe(1);
    expect(nonceCount("0000000A")).toBe(10);
    expect(nonceCount("ffffffff")).toBe(0xffffffff);
    expect(nonceCount(undefined)).toBeNull();
    for (const text of ["1", "000000001", "0000000g", "", " 0000001"]) expect(nonceCount(text)).toBeNaN();
  });
});

describe("acceptsUse", () => {
  it("a first use is accepted, with or without a count", () => {
    expect(acceptsUse(undefined, 1)).toBe(true);
    expect(acceptsUse(undefined, 7)).toBe(true);
    expect(acceptsUse(undefined, null)).toBe(true);
  });

  it("with a count, only a higher count than the last one recorded is accepted", () => {
    expect(acceptsUse(1, 2)).toBe(true);
    expect(acceptsUse(1, 9)).toBe(true);
    expect(acceptsUse(1, 1)).toBe(false);
    expect(acceptsUse(5, 4)).toBe(false);
  });

  it("without qop a nonce is good once; mixing counted and uncounted uses is refused", () => {
    expect(acceptsUse(null, null)).toBe(false);
    expect(acceptsUse(null, 2)).toBe(false);
    expect(acceptsUse(3, null)).toBe(false);
  });

  it("a zero or malformed count is refused even on first use", () => {
    expect(acceptsUse(undefined, 0)).toBe(false);
    expect(acceptsUse(undefined, Number.NaN)).toBe(false);
  });
});

describe("nonceKey", () => {
  it("is a safe integer, the same for the same nonce and different for different ones", async () => {
    const a = await nonceKey("491e83ce-9b62-4034-8a90-08c99c20f0c2");
    expect(Number.isSafeInteger(a)).toBe(true);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(await nonceKey("491e83ce-9b62-4034-8a90-08c99c20f0c2")).toBe(a);
    expect(await nonceKey("491e83ce-9b62-4034-8a90-08c99c20f0c3")).not.toBe(a);
  });
});
