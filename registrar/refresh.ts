// A refresh recognised when a switch authenticates a REGISTER (FreeSWITCH `sip_auth`), before the
// switch reports the registration: the device sends again, on the Call-ID it registered with, the
// contact it registered. Matching and the new expiry are decided here; the object stores the plan
// (one row updated) and the switch's report of the same REGISTER can then be skipped.
import { contactIs } from "./contact";
import { decideExpiry } from "./expiry";
import type { Binding, RegistrationPolicy } from "./types";

/** What the switch reports of the REGISTER it authenticates: no CSeq, and of the contact only its user and host. */
export interface RefreshAsked {
  callId: string;
  contactUser: string;
  contactHost: string;
}

/** What matching a refresh reads of a device's bindings. */
export type RefreshCandidate = Pick<Binding, "id" | "contact" | "callId" | "expiresAt">;

/** The binding a refresh extends, and until when. */
export interface RefreshPlan {
  id: number;
  contact: string;
  expiresAt: number;
}

/**
 * The binding this REGISTER refreshes, if any: one not expired at `now`, made under the same
 * Call-ID (RFC 3261 §10.2.4: a refresh keeps its Call-ID), whose contact names the same user at
 * the same host (any port or parameters: the switch reports no more). It is granted `seconds`
 * under the same expiry rule a REGISTER's contact is (registrar/expiry.ts `decideExpiry`); an
 * interval that rule would not grant refreshes nothing, and the switch's report decides instead.
 */
export function planRefresh(
  bindings: readonly RefreshCandidate[],
  asked: RefreshAsked,
  seconds: number,
  policy: RegistrationPolicy,
  now: number,
): RefreshPlan | null {
  const decision = decideExpiry(seconds, undefined, policy);
  if (decision.kind !== "grant") return null;
  const match = bindings.find(
    (binding) => binding.expiresAt > now && binding.callId === asked.callId && contactIs(binding.contact, asked.contactUser, asked.contactHost),
  );
  return match === undefined ? null : { id: match.id, contact: match.contact, expiresAt: now + decision.seconds * 1000 };
}
