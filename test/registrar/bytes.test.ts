// The byte encodings under digests, nonces and switch credentials.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base64url, fromBase64url, hex } from "../../registrar/bytes";

describe("byte encodings", () => {
  it("hex is lowercase, two digits a byte", () => {
    expect(hex(new Uint8Array([0, 1, 15, 16, 171, 255]))).toBe("00010f10abff");
    expect(hex(new Uint8Array([]).buffer)).toBe("");
  });

  it("base64url has no padding and no + or /, and reads back what it wrote", () => {
    expect(base64url(new Uint8Array([251, 255, 191]))).toBe("-_-_");
    expect(base64url(new Uint8Array([104, 105]))).toBe("aGk");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const text = base64url(bytes);
        expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
        expect(fromBase64url(text)).toEqual(bytes);
      }),
    );
  });

  it("text that is not base64url gives null", () => {
    for (const text of ["a+b", "a/b", "a b", "é", "abcde", "aGk="]) expect(fromBase64url(text)).toBeNull();
  });

  it("only the canonical text of some bytes reads back: unused low bits must be zero", () => {
    expect(fromBase64url("aGk")).toEqual(new Uint8Array([104, 105]));
    expect(fromBase64url("aGl")).toBeNull();
    expect(fromBase64url("aQ")).toEqual(new Uint8Array([105]));
    expect(fromBase64url("aR")).toBeNull();
  });
});
