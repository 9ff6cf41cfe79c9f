// Bytes and Web Crypto for the whole edge, the pure core and the Worker alike: hex, base64url, HMAC
// with keys imported once per isolate, constant-time comparison, random secrets and ids. Nothing
// here needs more than Web Crypto and the ECMAScript base16/base64 methods of Uint8Array, both of
// which workerd provides (crypto.subtle.timingSafeEqual is workerd's Web Crypto extension). The
// core's unit tests also run in plain Node, which lacks them: test/core-setup.ts supplies them
// there from Node's own Buffer and crypto, as it does MD5.
//
// Where the runtime's method and a hand-written loop both exist, bench/bytes/ measured them inside
// workerd (docs/benchmarks.md, "Bytes and crypto helpers").

const encoder = new TextEncoder();

/** Lowercase hex. */
export function hex(bytes: ArrayBuffer | Uint8Array): string {
  return (bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toHex();
}

/** base64url without padding (RFC 4648 §5). */
export function base64url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

/**
 * The bytes of base64url text without padding; null when it is not base64url or not in its one
 * canonical form (no padding, no whitespace, and the unused low bits of the last character zero),
 * so no two texts decode to the same bytes: a signature or nonce with a changed last character is
 * refused, not accepted.
 */
export function fromBase64url(text: string): Uint8Array | null {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.fromBase64(text, { alphabet: "base64url" });
  } catch {
    return null;
  }
  // The decoder forgives padding, whitespace and stray low bits; the one canonical text re-encodes to itself.
  return base64url(bytes) === text ? bytes : null;
}

/**
 * Are two byte strings or texts equal? Compared by the runtime's crypto.subtle.timingSafeEqual, in
 * time that does not depend on where they differ; texts are compared as UTF-8. Inputs of different
 * lengths are unequal (the runtime's function refuses them), which reveals only their length.
 */
export function constantTimeEqual(a: Uint8Array | string, b: Uint8Array | string): boolean {
  const x = typeof a === "string" ? encoder.encode(a) : a;
  const y = typeof b === "string" ? encoder.encode(b) : b;
  if (x.byteLength !== y.byteLength) return false;
  return crypto.subtle.timingSafeEqual(x, y);
}

// ── HMAC-SHA256 ──────────────────────────────────────────────────────────────

const hmacKeys = new Map<string, Promise<CryptoKey>>();
/** Secrets kept imported per isolate: the signing key, the nonce key, each webhook's secret. */
const HMAC_KEYS_KEPT = 1_000;

/** The HMAC-SHA256 key of a secret, imported once per isolate (importKey costs more than a MAC). */
export function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    if (hmacKeys.size >= HMAC_KEYS_KEPT) hmacKeys.clear();
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    hmacKeys.set(secret, key);
  }
  return key;
}

/** HMAC-SHA256(secret, data); text is signed as UTF-8. */
export async function hmacSha256(secret: string, data: string | Uint8Array): Promise<Uint8Array> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), bytes));
}

/** Is `signature` HMAC-SHA256(secret, data)? (Web Crypto's verify compares in constant time.) */
export async function hmacVerify(secret: string, data: string, signature: Uint8Array): Promise<boolean> {
  return crypto.subtle.verify("HMAC", await hmacKey(secret), signature, encoder.encode(data));
}

/** Lowercase hex of SHA-256(text as UTF-8). */
export async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

// ── random values ────────────────────────────────────────────────────────────

/** `length` bytes from the runtime's cryptographic random source. */
export function randomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

/** A random secret of `length` bytes as lowercase hex (2 characters per byte). */
export function randomHex(length: number): string {
  return hex(randomBytes(length));
}

/** A random secret of `length` bytes as base64url (4 characters per 3 bytes). */
export function randomSecret(length = 24): string {
  return base64url(randomBytes(length));
}

/** An identifier with a readable prefix and `length` random bytes in hex, e.g. `sw_3f9a…` (20 hex digits by default). */
export function randomId(prefix: string, length = 10): string {
  return `${prefix}_${randomHex(length)}`;
}
