// The one module for bytes and Web Crypto (registrar/bytes.ts): the encodings under digests,
// nonces and switch credentials, constant-time comparison, HMAC with cached keys, random values.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  base64url,
  constantTimeEqual,
  fromBase64url,
  hex,
  hmacKey,
  hmacSha256,
  hmacVerify,
  randomBytes,
  randomHex,
  randomId,
  randomSecret,
  sha256Hex,
} from "../../registrar/bytes";

describe("hex", () => {
  it("is lowercase, two digits a byte", () => {
    expect(hex(new Uint8Array([0, 1, 15, 16, 171, 255]))).toBe("00010f10abff");
    expect(hex(new Uint8Array([]).buffer)).toBe("");
    expect(hex(new Uint8Array([222, 173, 190, 239]).buffer)).toBe("deadbeef");
  });

  it("reads back, pair by pair, as the bytes it was made from (a view into a larger buffer too)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(8), (bytes, offset) => {
        const larger = new Uint8Array(offset + bytes.length + 3).fill(0xaa);
        larger.set(bytes, offset);
        const text = hex(larger.subarray(offset, offset + bytes.length));
        expect(text).toMatch(/^[0-9a-f]*$/);
        expect(text.length).toBe(2 * bytes.length);
        const back = Uint8Array.from({ length: bytes.length }, (_, i) => Number.parseInt(text.slice(2 * i, 2 * i + 2), 16));
        expect(back).toEqual(bytes);
      }),
    );
  });
});

describe("base64url", () => {
  it("has no padding and no + or /, and reads back what it wrote", () => {
    expect(base64url(new Uint8Array([251, 255, 191]))).toBe("-_-_");
    expect(base64url(new Uint8Array([104, 105]))).toBe("aGk");
    expect(base64url(new Uint8Array([105]))).toBe("aQ");
    expect(base64url(new Uint8Array([]))).toBe("");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const text = base64url(bytes);
        expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
        expect(text.length).toBe(Math.ceil((bytes.length * 4) / 3));
        expect(fromBase64url(text)).toEqual(bytes);
      }),
    );
  });

  it("text that is not base64url, or padded, or spaced, gives null", () => {
    for (const text of ["a+b", "a/b", "a b", "aG k", "é", "abcde", "aGk=", "aQ==", "aGk\n", "="]) expect(fromBase64url(text)).toBeNull();
  });

  it("only the canonical text of some bytes reads back: unused low bits must be zero", () => {
    expect(fromBase64url("aGk")).toEqual(new Uint8Array([104, 105]));
    expect(fromBase64url("aGl")).toBeNull();
    expect(fromBase64url("aQ")).toEqual(new Uint8Array([105]));
    expect(fromBase64url("aR")).toBeNull();
    expect(fromBase64url("")).toEqual(new Uint8Array([]));
  });
});

describe("constant-time comparison", () => {
  it("equal bytes and equal texts are equal", () => {
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(constantTimeEqual("0cc175b9c0f1b6a831c399e269772661", "0cc175b9c0f1b6a831c399e269772661")).toBe(true);
    expect(constantTimeEqual("", "")).toBe(true);
    expect(constantTimeEqual(new Uint8Array([]), new Uint8Array([]))).toBe(true);
  });

  it("a difference at any position makes them unequal", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (bytes, at, flip) => {
        const other = bytes.slice();
        const i = at % bytes.length;
        other[i] = other[i]! ^ flip;
        expect(constantTimeEqual(bytes, other)).toBe(false);
        expect(constantTimeEqual(bytes, bytes.slice())).toBe(true);
      }),
    );
  });

  it("inputs of different lengths are unequal, never an error (the runtime's compare refuses them)", () => {
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([]), new Uint8Array([0]))).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
    expect(constantTimeEqual("abcd", "")).toBe(false);
  });

  it("texts are compared as UTF-8: same length in characters is not enough, same bytes are", () => {
    expect(constantTimeEqual("é", "e")).toBe(false); // 2 bytes against 1
    expect(constantTimeEqual("éa", "aé")).toBe(false);
    expect(constantTimeEqual("é", "\u00e9")).toBe(true);
    expect(constantTimeEqual("e\u0301", "\u00e9")).toBe(false); // another spelling is another text
  });
});

describe("HMAC-SHA256", () => {
  // RFC 4231 test case 2.
  const KEY = "Jefe";
  const DATA = "what do ya want for nothing?";
  const MAC = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

  it("signs text and bytes alike, and verifies only the right signature", async () => {
    expect(hex(await hmacSha256(KEY, DATA))).toBe(MAC);
    expect(hex(await hmacSha256(KEY, new TextEncoder().encode(DATA)))).toBe(MAC);
    const signature = await hmacSha256(KEY, DATA);
    expect(await hmacVerify(KEY, DATA, signature)).toBe(true);
    expect(await hmacVerify(KEY, `${DATA}!`, signature)).toBe(false);
    expect(await hmacVerify("Jeff", DATA, signature)).toBe(false);
    signature[0] = signature[0]! ^ 1;
    expect(await hmacVerify(KEY, DATA, signature)).toBe(false);
  });

  it("imports a secret's key once and keeps secrets apart", async () => {
    expect(hmacKey("secret-one")).toBe(hmacKey("secret-one"));
    expect(hmacKey("secret-one")).not.toBe(hmacKey("secret-two"));
    expect(hex(await hmacSha256("secret-one", DATA))).not.toBe(hex(await hmacSha256("secret-two", DATA)));
  });

  it("keeps the keys of up to 1,000 secrets imported, then starts over", () => {
    let n = 0;
    const fresh = () => `kept-secret-${++n}`;
    // Import fresh secrets until the isolate's key cache starts over (whatever other tests left in it):
    // at the latest with the 1,000th.
    const first = fresh();
    const firstKey = hmacKey(first);
    let imported = 0;
    while (imported <= 1_000 && hmacKey(first) === firstKey) {
      hmacKey(fresh());
      imported += 1;
    }
    expect(imported).toBeLessThanOrEqual(1_000);
    // The cache now holds the last fresh secret and `first` (imported again just now).
    const kept = hmacKey(first);
    for (let i = 0; i < 998; i++) hmacKey(fresh());
    // 1,000 secrets: all still kept.
    expect(hmacKey(first)).toBe(kept);
    // One more starts over.
    hmacKey(fresh());
    expect(hmacKey(first)).not.toBe(kept);
  });

  it("SHA-256 of text in hex", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});

describe("random values", () => {
  it("have the asked length and form, and differ from call to call", () => {
    expect(randomBytes(16)).toHaveLength(16);
    expect(randomHex(24)).toMatch(/^[0-9a-f]{48}$/);
    expect(randomSecret()).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(randomSecret(9)).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(randomId("sw")).toMatch(/^sw_[0-9a-f]{20}$/);
    expect(randomId("wh", 4)).toMatch(/^wh_[0-9a-f]{8}$/);
    const ids = new Set(Array.from({ length: 100 }, () => randomId("dev")));
    expect(ids.size).toBe(100);
    expect(randomHex(16)).not.toBe(randomHex(16));
  });
});
