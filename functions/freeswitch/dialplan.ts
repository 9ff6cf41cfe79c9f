// mod_xml_curl dialplan requests: where does this call go? The adapter reads where the call comes
// from (a device, a peer switch handing it over, a carrier) and renders the route the shared finder
// (functions/switches/route.ts) answers: the device's registrations on this switch (its contacts
// found by the switch itself, no further edge request), each other switch that holds one (with the
// realm in X-Edge-Realm), or nowhere: 480 for a device with no reachable registration, 404 for an
// unknown destination.
import { ipAddressOf } from "../../registrar/host";
import { parseSipUri } from "../../registrar/sip-uri";
import type { Env } from "../env";
import type { SwitchIdentity } from "../switches/credentials";
import { fleet, type Fleet } from "../switches/fleet";
import { findRoute, type CallQuery } from "../switches/route";
import { callAction, PROFILE_NAME, REALM_HEADER } from "./bridge";
import { field, type Form } from "./form";
import { dialplanDocument, notFoundDocument } from "./xml";

export async function answerDialplan(env: Env, form: Form, caller: SwitchIdentity): Promise<string> {
  const destination = field(form, "Caller-Destination-Number");
  if (!destination) return notFoundDocument();
  const context = field(form, "Caller-Context") ?? "default";
  const profile = field(form, "variable_sofia_profile_name") ?? "internal";
  // The profile name goes into bridge strings, where `,` `|` `{` `}` `/` have meaning.
  if (!PROFILE_NAME.test(profile)) return notFoundDocument();
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
  const action = callAction(found, profile);
  if (action.kind === "respond") return dialplanDocument(context, [["respond", action.answer]]);
  return dialplanDocument(context, [
    ["set", "hangup_after_bridge=true"],
    ["bridge", action.targets],
  ]);
}

/** Did the call come from the IP address of a switch of the fleet (its `address`'s host)? */
function fromFleetSwitch(switches: Fleet, networkIp: string | undefined): boolean {
  const ip = networkIp === undefined ? null : ipAddressOf(networkIp);
  if (ip === null) return false;
  return switches.addresses().some((address) => parseSipUri(address.trim())?.host.text === ip);
}
