// The route of a device's call, answered with the directory answer of its INVITE (`sip_auth`), so
// the switch needs no dialplan request. FreeSWITCH sends that request with the INVITE's
// Request-URI (`sip_request_user`, `sip_request_host`) and, once the digest is accepted, sets the
// answer's user variables on the new call before routing it. The shipped profile routes every call
// with the shipped file whistle_edge_route.xml first (switches/freeswitch/), which bridges or
// answers from the variables below, for the routed destination only; when none are there (a call
// from a peer switch or a carrier, a destination the file cannot match safely, a failed lookup) it
// matches nothing and the switch asks the edge for its dialplan as before. The route is the one the
// dialplan answer would give (functions/switches/route.ts decides both).
//
// FreeSWITCH refuses a user variable whose value holds `${` (it would be expanded later), so the
// values here never do: the dial-string that expands the callee's contacts on the switch is
// written in the file, around the callee's name.
import type { Env } from "../env";
import type { SwitchIdentity } from "../switches/credentials";
import { findRoute } from "../switches/route";
import { callAction, PROFILE_NAME, peerTarget } from "./bridge";
import { field, type Form } from "./form";

/** The variables the shipped file reads. */
export const ROUTE_VARIABLES = {
  /** A regular expression that matches the routed destination and nothing else. */
  destination: "edge_route_to",
  /** `bridge` or `respond`: the dialplan application to run. */
  action: "edge_route_action",
  /** bridge: `user@realm` of the callee, when it is registered on the asking switch (rung there by its contacts). */
  here: "edge_route_here",
  /** bridge: the legs through the other switches that hold the callee, as bridge targets joined by `,`. */
  peers: "edge_route_peers",
  /** respond: the SIP answer (404, 480). */
  answer: "edge_route_answer",
} as const;

/**
 * Destinations the file may match: the characters of a device's username and of a dialed number.
 * The destination goes into the pattern the file's condition reads, so nothing that could start a
 * variable (`$`, `{`) or escape (`\`) passes.
 */
const SAFE_DESTINATION = /^[A-Za-z0-9._~+*#-]{1,64}$/;

/**
 * The channel variables that route this INVITE, or none (the switch then asks for its dialplan).
 * `realm`: the account of the device whose digest the edge has just accepted.
 */
export async function inviteRouteVariables(env: Env, form: Form, caller: SwitchIdentity, realm: string): Promise<[string, string][]> {
  const destination = field(form, "sip_request_user");
  const profile = field(form, "sip_profile") ?? "internal";
  if (!destination || !SAFE_DESTINATION.test(destination) || !PROFILE_NAME.test(profile)) return [];
  let found;
  try {
    const requestedHost = field(form, "sip_request_host")?.toLowerCase() || null;
    found = await findRoute(env, caller, { destination, origin: { kind: "device", realm, requestedHost }, handedOver: false });
  } catch (error) {
    // The digest was accepted; a failed lookup costs the call a dialplan request, not a 403.
    console.error("freeswitch invite route lookup failed", error);
    return [];
  }
  if (found.kind === "refused") return [];
  const to: [string, string] = [ROUTE_VARIABLES.destination, destinationPattern(destination)];
  const action = callAction(found, profile);
  if (action.kind === "respond") return [to, [ROUTE_VARIABLES.action, "respond"], [ROUTE_VARIABLES.answer, action.answer]];
  if (found.kind !== "ring") return []; // a bridge is only ever found ringing
  const here = found.legs.some((leg) => leg.kind === "local");
  const peers = found.legs.flatMap((leg) => (leg.kind === "peer" ? (peerTarget(leg, found.username, found.realm, profile) ?? []) : []));
  return [
    to,
    [ROUTE_VARIABLES.action, "bridge"],
    ...(here ? [[ROUTE_VARIABLES.here, `${found.username}@${found.realm}`] as [string, string]] : []),
    ...(peers.length > 0 ? [[ROUTE_VARIABLES.peers, peers.join(",")] as [string, string]] : []),
  ];
}

/** `^…$` with every character but letters and digits in a class of its own (`[+]`): no backslashes, which variable expansion may eat. */
export function destinationPattern(destination: string): string {
  return `^${destination.replace(/[^A-Za-z0-9]/g, (char) => `[${char}]`)}$`;
}
