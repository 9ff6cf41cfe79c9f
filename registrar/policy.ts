// An account's registration policy as the switches see it: whether a policy holds together, the
// interval a switch is told to force on a device (FreeSWITCH `sip-force-expires`), and the cap a
// draining switch puts on every binding it takes, whichever switch it is (Kamailio registrar's
// regtime.c decides the same things from its module parameters).
import { withJitter } from "./expiry";
import type { ContactSpec, RegisterRequest, RegistrationPolicy } from "./types";

/** Why a policy does not hold together: the field to name in the answer, and what is wrong. */
export interface PolicyInconsistency {
  field: "policy.minExpires" | "policy.defaultExpires";
  detail: string;
}

/** A policy must keep min ≤ default ≤ max; null when it does. */
export function policyInconsistency(policy: RegistrationPolicy): PolicyInconsistency | null {
  if (policy.minExpires > policy.maxExpires) {
    return { field: "policy.minExpires", detail: "minExpires must not exceed maxExpires" };
  }
  if (policy.defaultExpires < policy.minExpires || policy.defaultExpires > policy.maxExpires) {
    return { field: "policy.defaultExpires", detail: "defaultExpires must lie between minExpires and maxExpires" };
  }
  return null;
}

/**
 * The interval a draining switch grants instead of `seconds`: at most `cap`, but a cap below the
 * account's minimum counts as the minimum (a device must not be told to refresh faster than the
 * account allows). A shorter interval, 0 (a removal) included, is left as it is.
 */
export function drainCapped(seconds: number, cap: number, policy: RegistrationPolicy): number {
  return Math.min(seconds, Math.max(cap, policy.minExpires));
}

/**
 * The interval a switch forces on a device that authenticated a REGISTER (FreeSWITCH
 * `sip-force-expires`): the account's default spread by its jitter (`random` in [0, 1) picks the
 * point, registrar/expiry.ts), kept within min..max, and under `cap` while the switch drains.
 */
export function forcedInterval(policy: RegistrationPolicy, random: number, cap?: number): number {
  const bounded = Math.min(withJitter(policy.defaultExpires, policy.expiresJitter, random), policy.maxExpires);
  return Math.max(cap === undefined ? bounded : drainCapped(bounded, cap, policy), policy.minExpires);
}

/**
 * A REGISTER taken by a draining switch: every contact's interval (its own `expires`, else the
 * request's Expires, else the account's default) capped by `drainCapped`. A wildcard removal and a
 * contact's removal (0) stay removals; an interval below the minimum stays there, to be refused
 * by the expiry rule as it would be without the cap.
 */
export function drainRegister(request: RegisterRequest, cap: number, policy: RegistrationPolicy): RegisterRequest {
  if (request.contacts === "*") return request;
  const contacts = request.contacts.map((contact): ContactSpec => {
    const asked = contact.expires ?? request.expires ?? policy.defaultExpires;
    return { ...contact, expires: drainCapped(asked, cap, policy) };
  });
  return { ...request, contacts };
}
