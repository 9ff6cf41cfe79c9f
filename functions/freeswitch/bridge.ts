// How a route found by functions/switches/route.ts becomes FreeSWITCH dialplan data: the bridge
// string of its legs, or the SIP answer that refuses the call. Used by the dialplan answer
// (dialplan.ts) and by the route an INVITE's directory answer carries (invite-route.ts).
import type { Leg } from "../../registrar/routing";
import { formatSipUri, parseSipUri } from "../../registrar/sip-uri";
import type { RouteFound } from "../switches/route";

/** The SIP header that carries the callee's realm from one switch to the next. */
export const REALM_HEADER = "X-Edge-Realm";

/** A sofia profile name, as it may appear in a bridge string (where `,` `|` `{` `}` `/` have meaning). */
export const PROFILE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The domain's dial-string (directory.ts `DIAL_STRING`) for one device, written out: a callee
 * registered on the asking switch is bridged with it, so the switch finds the contacts in its own
 * registrations without a `user/` bridge and the directory request (`user_call`) that bridge
 * costs. The username and realm are the device's as the API checked them (letters, digits and
 * `._~+-`; a host name), so neither can close the expansion or the variable block.
 */
export function dialStringOf(username: string, realm: string): string {
  return `{presence_id=${username}@${realm}}\${sofia_contact(${username}@${realm})}`;
}

export const NOT_FOUND_ANSWER = "404 Not Found";
export const UNAVAILABLE_ANSWER = "480 Temporarily Unavailable";

/** What the switch does with a call: bridge it along these targets, or answer it. */
export type CallAction = { kind: "bridge"; targets: string } | { kind: "respond"; answer: string };

/** The action for a route that was found (not refused), for calls on sofia profile `profile`. */
export function callAction(found: Exclude<RouteFound, { kind: "refused" }>, profile: string): CallAction {
  if (found.kind === "not_found") return { kind: "respond", answer: NOT_FOUND_ANSWER };
  if (found.kind === "unavailable") return { kind: "respond", answer: UNAVAILABLE_ANSWER };
  const targets = found.legs.flatMap((leg) => bridgeTarget(leg, found.username, found.realm, profile) ?? []);
  if (targets.length === 0) return { kind: "respond", answer: UNAVAILABLE_ANSWER };
  return { kind: "bridge", targets: targets.join(",") };
}

/**
 * One bridge target, written from parsed values only: the device's username and realm (checked by
 * the API) and the holding switch's address read as a SIP URI, whose characters cannot include the
 * bridge string's separators (`,` `|` `{` `}`). A switch address that does not parse gives no leg.
 */
function bridgeTarget(leg: Leg, username: string, realm: string, profile: string): string | null {
  return leg.kind === "local" ? dialStringOf(username, realm) : peerTarget(leg, username, realm, profile);
}

/** The bridge target of a leg through another switch, or null when its address does not parse. */
export function peerTarget(leg: Extract<Leg, { kind: "peer" }>, username: string, realm: string, profile: string): string | null {
  const peer = parseSipUri(leg.address);
  if (peer === null) return null;
  const uri = formatSipUri({ ...peer, scheme: "sip", user: username, password: null, headers: [] });
  return `{sip_h_${REALM_HEADER}=${realm}}sofia/${profile}/${uri}`;
}
