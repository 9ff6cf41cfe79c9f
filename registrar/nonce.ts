// Digest nonces issued by the edge itself (RFC 7616 §3.3 leaves the form to the server): the issue
// time, a random part and an HMAC over both and the realm. Any switch and any edge location can
// check one without shared state; an old one is "stale" (the client retries with the new nonce
// and the same password, no prompt).
import { base64url, fromBase64url } from "./bytes";

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function keyFor(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(`nonce:${secret}`), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
  }
  return key;
}

const TIME_BYTES = 8;
const RANDOM_BYTES = 8;
const MAC_BYTES = 16;

async function mac(secret: string, realm: string, head: Uint8Array): Promise<Uint8Array> {
  const prefix = encoder.encode(`${realm}\n`);
  const data = new Uint8Array(prefix.length + head.length);
  data.set(prefix);
  data.set(head, prefix.length);
  return new Uint8Array(await crypto.subtle.sign("HMAC", await keyFor(secret), data)).slice(0, MAC_BYTES);
}

export async function issueNonce(secret: string, realm: string, now: number): Promise<string> {
  const head = new Uint8Array(TIME_BYTES + RANDOM_BYTES);
  new DataView(head.buffer).setBigUint64(0, BigInt(Math.max(0, Math.floor(now))));
  head.set(crypto.getRandomValues(new Uint8Array(RANDOM_BYTES)), TIME_BYTES);
  const signed = await mac(secret, realm, head);
  const nonce = new Uint8Array(head.length + signed.length);
  nonce.set(head);
  nonce.set(signed, head.length);
  return base64url(nonce);
}

export type NonceCheck = "valid" | "stale" | "invalid";

/** `invalid`: not one of ours for this realm (forged, altered, another realm). `stale`: ours but older than the lifetime. */
export async function checkNonce(secret: string, realm: string, nonce: string, now: number, lifetimeSeconds: number): Promise<NonceCheck> {
  const bytes = fromBase64url(nonce);
  if (!bytes || bytes.length !== TIME_BYTES + RANDOM_BYTES + MAC_BYTES) return "invalid";
  const head = bytes.slice(0, TIME_BYTES + RANDOM_BYTES);
  const expected = await mac(secret, realm, head);
  const given = bytes.slice(TIME_BYTES + RANDOM_BYTES);
  if (!crypto.subtle.timingSafeEqual(expected, given)) return "invalid";
  const issued = Number(new DataView(head.buffer).getBigUint64(0));
  if (issued > now + 5_000) return "invalid"; // from the future: not issued by a sane clock
  return now - issued > lifetimeSeconds * 1000 ? "stale" : "valid";
}

/** The WWW-Authenticate / Proxy-Authenticate value for a challenge. */
export function digestChallenge(realm: string, nonce: string, stale: boolean): string {
  const quotedRealm = realm.replaceAll("\\", "\\\\").replaceAll('"', '\\"');
  return `Digest realm="${quotedRealm}", nonce="${nonce}", qop="auth", algorithm=MD5${stale ? ", stale=true" : ""}`;
}
