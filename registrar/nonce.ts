// Digest nonces issued by the edge itself (RFC 7616 §3.3 leaves the form to the server): the issue
// time, a random part and an HMAC over both, the realm and what the nonce was issued for (the
// request's source address and Call-ID, as Kamailio's auth_checks_register / auth_checks_no_dlg
// do). Any switch and any edge location can check one without shared state; one presented from
// another source or under another Call-ID is not valid; an old one is "stale" (the client retries
// with the new nonce and the same password, no prompt). Reuse is refused by the account's object
// (registrar/replay.ts), which sees every use whichever switch it came through.
import { base64url, constantTimeEqual, fromBase64url, hmacSha256, randomBytes } from "./bytes";
import type { DigestAlgorithm } from "./digest";

const encoder = new TextEncoder();

const TIME_BYTES = 8;
const RANDOM_BYTES = 8;
const MAC_BYTES = 16;
/** A nonce dated this far ahead of the checker's clock was not issued by a sane clock. */
export const CLOCK_SKEW_MS = 5_000;

/** What a nonce is issued for: the request's source (`ip:port` as the switch reports it) and Call-ID. */
export interface NonceBinding {
  source: string;
  callId: string;
}

async function mac(secret: string, realm: string, binding: NonceBinding, head: Uint8Array): Promise<Uint8Array> {
  // JSON keeps the three texts apart whatever characters they hold.
  const prefix = encoder.encode(JSON.stringify([realm, binding.source, binding.callId]));
  const data = new Uint8Array(prefix.length + head.length);
  data.set(prefix);
  data.set(head, prefix.length);
  // The nonce key is derived from the edge's secret, apart from anything else that secret signs.
  return (await hmacSha256(`nonce:${secret}`, data)).slice(0, MAC_BYTES);
}

export async function issueNonce(secret: string, realm: string, binding: NonceBinding, now: number): Promise<string> {
  const head = new Uint8Array(TIME_BYTES + RANDOM_BYTES);
  new DataView(head.buffer).setBigUint64(0, BigInt(Math.max(0, Math.floor(now))));
  head.set(randomBytes(RANDOM_BYTES), TIME_BYTES);
  const signed = await mac(secret, realm, binding, head);
  const nonce = new Uint8Array(head.length + signed.length);
  nonce.set(head);
  nonce.set(signed, head.length);
  return base64url(nonce);
}

/**
 * `invalid`: not one of ours for this realm, source and Call-ID (forged, altered, another realm,
 * presented from elsewhere), or dated in the future. `stale`: ours but older than the lifetime.
 * `valid` comes with the instant the nonce stops being accepted.
 */
export type NonceCheck = { verdict: "valid"; expiresAt: number } | { verdict: "stale" } | { verdict: "invalid" };

export async function checkNonce(
  secret: string,
  realm: string,
  nonce: string,
  binding: NonceBinding,
  now: number,
  lifetimeSeconds: number,
): Promise<NonceCheck> {
  const bytes = fromBase64url(nonce);
  if (!bytes || bytes.length !== TIME_BYTES + RANDOM_BYTES + MAC_BYTES) return { verdict: "invalid" };
  const head = bytes.slice(0, TIME_BYTES + RANDOM_BYTES);
  const expected = await mac(secret, realm, binding, head);
  const given = bytes.slice(TIME_BYTES + RANDOM_BYTES);
  if (!constantTimeEqual(expected, given)) return { verdict: "invalid" };
  const issued = Number(new DataView(head.buffer).getBigUint64(0));
  if (issued > now + CLOCK_SKEW_MS) return { verdict: "invalid" };
  const expiresAt = issued + lifetimeSeconds * 1000;
  return now > expiresAt ? { verdict: "stale" } : { verdict: "valid", expiresAt };
}

/**
 * The WWW-Authenticate / Proxy-Authenticate values for a challenge: one per algorithm, in the order
 * given (RFC 8760 §2.4 and RFC 7616 §3.7: the most preferred first; the client answers the first
 * it supports). All carry the same nonce.
 */
export function digestChallenges(realm: string, nonce: string, stale: boolean, algorithms: readonly DigestAlgorithm[]): string[] {
  const quotedRealm = realm.replaceAll("\\", "\\\\").replaceAll('"', '\\"');
  return algorithms.map((algorithm) => `Digest realm="${quotedRealm}", nonce="${nonce}", qop="auth", algorithm=${algorithm}${stale ? ", stale=true" : ""}`);
}

/** The algorithms a challenge offers, from a comma-separated list; the default when it names none we know. */
export function challengeAlgorithms(list: string | undefined): DigestAlgorithm[] {
  const known = (list ?? "")
    .split(",")
    .map((name) => name.trim().toUpperCase())
    .filter((name): name is DigestAlgorithm => name === "SHA-256" || name === "MD5");
  const unique = [...new Set(known)];
  return unique.length > 0 ? unique : ["SHA-256", "MD5"];
}
