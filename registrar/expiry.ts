// How long a registration lasts: the account's expiry policy applied to what a REGISTER asks for
// (RFC 3261 §10.3 step 7, Kamailio registrar's regtime.c).

import type { RegistrationPolicy } from "./types";

/** What to do with one contact of a REGISTER, time-wise. */
export type ExpiryDecision =
  | { kind: "remove" }
  | { kind: "too_brief"; minExpires: number }
  | { kind: "grant"; seconds: number };

/** Whole seconds; negatives count as 0. NaN counts as not given. */
function normalise(seconds: number | undefined): number | undefined {
  if (seconds === undefined || Number.isNaN(seconds)) return undefined;
  return Math.max(0, Math.floor(seconds));
}

/**
 * Decides a contact's registration interval. The contact's `expires` parameter wins over the
 * request's Expires header; with neither, the policy's default applies (kept within min..max).
 * 0 removes the binding, a shorter interval than minExpires is refused (423 with Min-Expires),
 * a longer one than maxExpires is shortened to maxExpires.
 */
export function decideExpiry(
  contactExpires: number | undefined,
  headerExpires: number | undefined,
  policy: RegistrationPolicy,
): ExpiryDecision {
  const asked = normalise(contactExpires) ?? normalise(headerExpires);
  if (asked === undefined) {
    return { kind: "grant", seconds: Math.min(Math.max(policy.defaultExpires, policy.minExpires), policy.maxExpires) };
  }
  if (asked === 0) return { kind: "remove" };
  if (asked < policy.minExpires) return { kind: "too_brief", minExpires: policy.minExpires };
  return { kind: "grant", seconds: Math.min(asked, policy.maxExpires) };
}

/**
 * Spreads refreshes so devices registered together do not all refresh together:
 * seconds × (1 ± fraction), where `random` in [0, 1) picks the point (0 gives the shortest,
 * 0.5 the unchanged interval). Rounded to whole seconds, never below 1.
 * Used for FreeSWITCH's `sip-force-expires`.
 */
export function withJitter(seconds: number, fraction: number, random: number): number {
  const spread = Number.isFinite(fraction) ? Math.min(Math.max(fraction, 0), 1) : 0;
  const point = Number.isFinite(random) ? Math.min(Math.max(random, 0), 1) : 0.5;
  const jittered = Math.round(seconds * (1 + spread * (2 * point - 1)));
  return Number.isNaN(jittered) ? 1 : Math.max(1, jittered);
}
