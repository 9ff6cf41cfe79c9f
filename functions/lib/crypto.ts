// Small Web Crypto helpers for secrets the edge issues and checks (API keys, switch credentials).

const encoder = new TextEncoder();

export { base64url, fromBase64url, hex as toHex } from "../../registrar/bytes";
import { base64url, hex } from "../../registrar/bytes";

export async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** A random secret of `bytes` bytes, base64url. */
export function randomSecret(bytes = 24): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** A short random identifier with a readable prefix, e.g. `sw_3f9a…`. */
export function randomId(prefix: string, bytes = 10): string {
  return `${prefix}_${hex(crypto.getRandomValues(new Uint8Array(bytes)))}`;
}

/** Equal strings compared in time independent of where they differ (workerd's timingSafeEqual). */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  if (x.byteLength !== y.byteLength) return false;
  return crypto.subtle.timingSafeEqual(x, y);
}

const hmacKeys = new Map<string, Promise<CryptoKey>>();

/** HMAC-SHA256 key for a secret, imported once per isolate. */
export function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    hmacKeys.set(secret, key);
  }
  return key;
}

export async function hmacSign(secret: string, data: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(data)));
}

export async function hmacVerify(secret: string, data: string, signature: Uint8Array): Promise<boolean> {
  return crypto.subtle.verify("HMAC", await hmacKey(secret), signature, encoder.encode(data));
}
