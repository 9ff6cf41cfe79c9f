// mod_xml_curl dialplan requests: where does this call go? To the device's registrations on this
// switch (its contacts found by the switch itself, no further edge request), through each other switch that holds one (with the realm in X-Edge-Realm), to
// the device a number points to, or nowhere: 480 for a device with no reachable registration,
// 404 for an unknown destination.
import type { DestinationResult } from "../../durable-objects/account-registrar/records";
import { holdingSwitches, routeToDevice, type Leg } from "../../registrar/routing";
import { ipAddressOf } from "../../registrar/host";
import { formatSipUri, parseSipUri } from "../../registrar/sip-uri";
import { accountIdForRealm } from "../accounts";
import { destinationIn, locateNumber } from "../numbers";
import type { Env } from "../env";
import type { SwitchIdentity } from "../switches/credentials";
import { fleet } from "../switches/fleet";
import { registrarForSwitch, serves } from "../switches/scope";
import { dialStringOf } from "./directory";
import { field, type Form } from "./form";
import { dialplanDocument, notFoundDocument } from "./xml";

/** The SIP header that carries the callee's realm from one switch to the next. */
export const REALM_HEADER = "X-Edge-Realm";

type Actions = [string, string][];

const UNKNOWN: DestinationResult = { kind: "unknown" };

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

  // Accounts outside the switch's scope are looked up nowhere: unknown, as a realm no account has.
  const locateIn = async (realm: string): Promise<DestinationResult> => {
    const registrar = registrarForSwitch(env, caller, realm);
    return registrar ? destinationIn(registrar, destination) : UNKNOWN;
  };
  const locateAnyNumber = () => locateNumber(env, destination, (accountId) => serves(caller, accountId));

  let found: DestinationResult = UNKNOWN;
  let secondHop = false;
  if (fromPeer && field(form, `variable_sip_h_${REALM_HEADER}`) && (await fromFleetSwitch(env, field(form, "variable_sip_network_ip")))) {
    // A peer switch hands over a call for a device registered here. The ACL also trusts carriers,
    // so the header counts only from the address of a switch of the fleet.
    found = await locateIn(field(form, `variable_sip_h_${REALM_HEADER}`)!);
    secondHop = true;
  } else if (fromDevice) {
    const realm = field(form, "variable_domain_name") ?? field(form, "variable_sip_auth_realm");
    if (!realm) return notFoundDocument();
    // The caller's account decides where the call is looked up (its call policy, registrar/routing.ts).
    const host = field(form, "variable_sip_req_host")?.toLowerCase();
    const registrar = registrarForSwitch(env, caller, realm);
    const routed = registrar
      ? await registrar.route({
          caller: null,
          destination,
          requested: host ? { realm: host, accountId: accountIdForRealm(env, host, caller.jurisdiction) } : null,
        })
      : ({ status: "authorized", destination: UNKNOWN } as const);
    if (routed.status !== "authorized" || routed.destination === null) return notFoundDocument();
    found = routed.destination.kind === "elsewhere" ? await locateIn(routed.destination.realm) : routed.destination;
    if (found.kind === "unknown") found = await locateAnyNumber();
  } else if (fromPeer) {
    // A carrier (or a peer without the realm header, or one at no switch's address): only numbers mean anything.
    found = await locateAnyNumber();
  } else {
    return notFoundDocument();
  }
  return dialplanDocument(context, await actionsFor(env, found, caller, profile, secondHop));
}

/** Did the call come from the IP address of a switch of the fleet (its `address`'s host)? */
async function fromFleetSwitch(env: Env, networkIp: string | undefined): Promise<boolean> {
  const ip = networkIp === undefined ? null : ipAddressOf(networkIp);
  if (ip === null) return false;
  const switches = await fleet(env, Date.now());
  return switches.addresses().some((address) => parseSipUri(address.trim())?.host.text === ip);
}

async function actionsFor(
  env: Env,
  found: DestinationResult,
  caller: SwitchIdentity,
  profile: string,
  secondHop: boolean,
): Promise<Actions> {
  if (found.kind === "unknown") return [["respond", "404 Not Found"]];
  if (found.kind === "unavailable") return [["respond", "480 Temporarily Unavailable"]];
  const switches = await fleet(env, Date.now());
  await switches.recheck(holdingSwitches(found.bindings));
  const decision = routeToDevice(found.bindings, caller.id, (id) => switches.peer(id));
  if (decision.kind !== "ring") return [["respond", "480 Temporarily Unavailable"]];
  // A call handed over by a peer is delivered here or not at all: never passed on again.
  const legs = secondHop ? decision.legs.filter((leg) => leg.kind === "local") : decision.legs;
  const targets = legs.flatMap((leg) => bridgeTarget(leg, found.username, found.realm, profile) ?? []);
  if (targets.length === 0) return [["respond", "480 Temporarily Unavailable"]];
  return [
    ["set", "hangup_after_bridge=true"],
    ["bridge", targets.join(",")],
  ];
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
