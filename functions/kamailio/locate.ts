// `locate`: a proxy received a call. The edge authenticates the caller (unless the proxy trusts the
// source), finds the callee by user or number, and answers the targets to fork to: the device's
// own addresses when this proxy holds its bindings, the holding switch otherwise.
import { z } from "zod";
import type { DestinationResult } from "../../durable-objects/account-registrar/records";
import { userAndHost } from "../../registrar/contact";
import { ipAddressOf, transportAddressOf } from "../../registrar/host";
import { holdingSwitches, routeToDevice } from "../../registrar/routing";
import { canonicalSipUri, formatSipUri, parseSipUri, sameHostPort } from "../../registrar/sip-uri";
import { accountIdForRealm } from "../accounts";
import { destinationIn, locateNumber } from "../numbers";
import type { Env } from "../env";
import type { SwitchIdentity } from "../switches/credentials";
import { fleet } from "../switches/fleet";
import { registrarForSwitch, serves } from "../switches/scope";
import { challengeFor, credentialsOrChallenge, type Asked } from "./credentials";
import { decide, route, type Decision, type Target } from "./decision";

const field = z.string().max(8192);
export const LocateRequest = z.object({
  method: z.string().max(32).optional().default("INVITE"),
  requestUri: field,
  from: field.optional().default(""),
  /** Needed to authenticate a caller (its nonce is bound to it); a trusted hand-over may leave it out. */
  callId: z.string().max(1024).optional().default(""),
  authorization: field.optional().default(""),
  source: z.string().max(256),
  trusted: z.enum(["true", "false"]).optional().default("false"),
});
export type LocateRequest = z.infer<typeof LocateRequest>;

const NOT_FOUND = decide(404, "Not Found");
const UNAVAILABLE = decide(480, "Temporarily Unavailable");

export async function locate(env: Env, request: LocateRequest, caller: SwitchIdentity): Promise<Decision> {
  const callee = userAndHost(request.requestUri);
  if (!callee || !callee.user) return decide(400, "Bad Request-URI");
  const now = Date.now();
  const method = request.method.toUpperCase();
  const switches = await fleet(env, now);
  // A call handed over by another switch of the fleet (trusted by the proxy, from a switch's own
  // address and port): deliver it here or not at all.
  const fromFleet = request.trusted === "true" && switches.addresses().some((address) => sameHostPort(address, request.source));

  // Accounts outside the switch's scope are looked up nowhere: unknown, as a realm no account has.
  const locateIn = async (realm: string): Promise<DestinationResult> => {
    const registrar = registrarForSwitch(env, caller, realm);
    return registrar ? destinationIn(registrar, callee.user!) : { kind: "unknown" };
  };
  let found: DestinationResult | null = null;
  if (request.trusted !== "true") {
    const from = userAndHost(request.from);
    if (!from || !from.user) return decide(403, "Forbidden");
    if (request.callId.trim() === "") return decide(400, "Missing Call-ID");
    const asked: Asked = { realm: from.host, status: 407, source: request.source, callId: request.callId.trim(), requestUri: request.requestUri };
    const offered = await credentialsOrChallenge(env, request.authorization, asked, now);
    if ("decision" in offered) return offered.decision;
    if (offered.digest.username !== from.user) return decide(403, "Forbidden");
    // The caller's account decides where the call is looked up (its call policy, registrar/routing.ts).
    // A caller's realm outside the switch's scope is answered as an unknown device.
    const registrar = registrarForSwitch(env, caller, from.host);
    const result = registrar
      ? await registrar.route({
          caller: { username: from.user, digest: offered.digest, nonce: { expiresAt: offered.nonceExpiresAt, record: "every-use" }, method, source: request.source },
          destination: callee.user,
          requested: { realm: callee.host, accountId: accountIdForRealm(env, callee.host, caller.jurisdiction) },
          switchId: caller.id,
        })
      : ({ status: "unknown_device" } as const);
    // Unknown caller, wrong password, refused source, replay: the same fresh challenge for each.
    if (result.status !== "authorized") return challengeFor(env, asked, false, now);
    const destination = result.destination!;
    found = destination.kind === "elsewhere" ? await locateIn(destination.realm) : destination;
  }
  // Trusted (a peer switch of the fleet, a carrier): the Request-URI names the callee's own realm.
  found ??= await locateIn(callee.host);
  if (found.kind === "unknown") found = await locateNumber(env, callee.user, (accountId) => serves(caller, accountId));
  if (found.kind === "unknown") return NOT_FOUND;
  if (found.kind === "unavailable") return UNAVAILABLE;

  await switches.recheck(holdingSwitches(found.bindings));
  const decision = routeToDevice(found.bindings, caller.id, (id) => switches.peer(id));
  if (decision.kind !== "ring") return UNAVAILABLE;
  const targets: Target[] = [];
  for (const leg of decision.legs) {
    if (leg.kind === "local") {
      // Written back from parsed values: a stored text that does not parse is never offered.
      for (const binding of leg.bindings) {
        const uri = canonicalSipUri(binding.contact);
        if (uri === null) continue;
        const received = binding.received === null ? null : (transportAddressOf(binding.received) ?? ipAddressOf(binding.received));
        targets.push({ uri, destination: received === null ? "" : `sip:${received}` });
      }
    } else if (!fromFleet) {
      const peer = parseSipUri(leg.address);
      if (peer === null) continue;
      targets.push({ uri: `sip:${found.username}@${found.realm}`, destination: formatSipUri(peer) });
    }
  }
  return targets.length > 0 ? route(targets) : UNAVAILABLE;
}
