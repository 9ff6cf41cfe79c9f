// A digest answer may be used once: with qop=auth its nonce-count must grow from one use of a nonce
// to the next (RFC 7616 §3.4, Kamailio's `nonce_count`); without qop a nonce is good once
// (Kamailio's `one_time_nonce`). The account's object keeps, per nonce, the highest count seen
// until the nonce expires; these rules decide from that record.
import { hex } from "./bytes";

/** The nonce-count of credentials: 8 hex digits (RFC 7616 §3.4); null without one, NaN when malformed. */
export function nonceCount(nc: string | undefined): number | null {
  if (nc === undefined) return null;
  return /^[0-9a-fA-F]{8}$/.test(nc) ? parseInt(nc, 16) : Number.NaN;
}

/**
 * May a nonce be used with this count? `previous` is the count recorded for the nonce: undefined
 * when it was never used, null when it was used without a count (qop absent).
 */
export function acceptsUse(previous: number | null | undefined, count: number | null): boolean {
  if (count !== null && !(count >= 1)) return false; // malformed or zero
  if (previous === undefined) return true;
  if (previous === null || count === null) return false;
  return count > previous;
}

/**
 * The key a nonce is remembered by: 52 bits of its SHA-256, a safe integer, so the record is one
 * row keyed by SQLite's rowid (no index entry to write). Two nonces meeting on a key make the
 * second look used: it gets a fresh challenge, never an acceptance.
 */
export async function nonceKey(nonce: string): Promise<number> {
  const digest = hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(nonce)));
  return parseInt(digest.slice(0, 13), 16);
}
