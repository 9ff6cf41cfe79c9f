// mod_xml_curl dialplan requests: where does this call go? The adapter reads where the call comes
// from (a device, a peer switch handing it over, a carrier) and renders the route the shared finder
// (functions/switches/route.ts) answers: the device's registrations on this switch (its contacts
// found by the switch itself, no further edge request), each other switch that holds one (with the
// realm in X-Edge-Realm), or nowhere: 480 for a device with no reachable registration, 404 for an
// unknown destination.
import type { Leg } from "../../registrar/routing";
import { ipAddressOf } from "../../registrar/host";
import { formatSipUri, parseSipUri } from "../../registrar/sip-uri";
import type { Env } from "../env";
import type { SwitchIdentity } from "../switches/credentials";
import { fleet, type Fleet } from "../switches/fleet";
import { findRoute, type CallQuery } from "../switches/route";
import { dialStringOf } from "./directory";
import { field, type Form } from "./form";
import { dialplanDocument, notFoundDocument } from "./xml";

/** The SIP header that carries the callee's realm from one switch to the next. */
export const REALM_HEADER = "X-Edge-Realm";

export async function answerDialplan(env: Env, form: Form, caller: SwitchIdentity): Promise<string> {
  const destination = field(form, "Caller-Destination-Number");
  if (!destination) return notFoundDocument();
  const context = field(form, "Caller-Context") ?? "default";
  const profile = field(form, "variable_sofia_profile_name") ?? "internal";
  // The profile name goes into bridge strings, where `,` `|` `{` `}` `/` have meaning.
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(profile)) return notFoundDocument();
  // Trusted by the profile's ACL: a peer switch or a carrier, never a device.
  const fromPeer = field(form, "variable_sip_acl_authed_by") !== undefined;
  const fromDevice = field(form, "variable_sip_authorized") === "true" && !fromPeer;
  const realmHeader = field(form, `variable_sip_h_${REALM_HEADER}`);

  let query: CallQuery;
  // The ACL also trusts carriers, so the realm header counts only from the address of a switch of the fleet.
  const switches = fromPeer && realmHeader ? await fleet(env, Date.now()) : undefined;
  if (switches && realmHeader && fromFleetSwitch(switches, field(form, "variable_sip_network_ip"))) {
    // A peer switch hands over a call for a device registered here.
    query = { destination, origin: { kind: "realm", realm: realmHeader, numbers: false }, handedOver: true };
  } else if (fromDevice) {
    const realm = field(form, "variable_domain_name") ?? field(form, "variable_sip_auth_realm");
    if (!realm) return notFoundDocument();
    // FreeSWITCH has checked the caller's digest: no digest for the edge to check.
    query = { destination, origin: { kind: "device", realm, requestedHost: field(form, "variable_sip_req_host")?.toLowerCase() || null }, handedOver: false };
  } else if (fromPeer) {
    // A carrier (or a peer without the realm header, or one at no switch's address): only numbers mean anything.
    query = { destination, origin: { kind: "numbers" }, handedOver: false };
  } else {
    return notFoundDocument();
  }
  const found = await findRoute(env, caller, query, switches);
  if (found.kind === "refused") return notFoundDocument();
  if (found.kind === "not_found") return dialplanDocument(context, [["respond", "404 Not Found"]]);
  if (found.kind === "unavailable") return dialplanDocument(context, UNAVAILABLE);
  const targets = found.legs.flatMap((leg) => bridgeTarget(leg, found.username, found.realm, profile) ?? []);
  if (targets.length === 0) return dialplanDocument(context, UNAVAILABLE);
  return dialplanDocument(context, [
    ["set", "hangup_after_bridge=true"],
    ["bridge", targets.join(",")],
  ]);
}

const UNAVAILABLE: [string, string][] = [["respond", "480 Temporarily Unavailable"]];

/** Did the call come from the IP address of a switch of the fleet (its `address`'s host)? */
function fromFleetSwitch(switches: Fleet, networkIp: string | undefined): boolean {
  const ip = networkIp === undefined ? null : ipAddressOf(networkIp);
  if (ip === null) return false;
  return switches.addresses().some((address) => parseSipUri(address.trim())?.host.text === ip);
}

/**
 * One bridge target, written from parsed values only: the device's username and realm (checked by
 * the API) and the holding switch's address read as a SIP URI, whose characters cannot include the
 * bridge string's separators (`,` `|` `{` `}`). A switch address that does not parse gives no leg.
 */
function bridgeTarget(leg: Leg, username: string, realm: string, profile: string): string | null {
  if (leg.kind === "local") return dialStringOf(username, realm);
  const peer = parseSipUri(leg.address);
  if (peer === null) return null;
  const uri = formatSipUri({ ...peer, scheme: "sip", user: username, password: null, headers: [] });
  return `{sip_h_${REALM_HEADER}=${realm}}sofia/${profile}/${uri}`;
}
