// `locate`: a proxy received a call. The adapter reads the request (the callee's Request-URI, the
// caller's From and digest, whether the proxy trusts the source), and renders the route the shared
// finder (functions/switches/route.ts) answers as targets to fork to: the device's own addresses
// when this proxy holds its bindings, the holding switch otherwise.
import { z } from "zod";
import { userAndHost } from "../../registrar/contact";
import { ipAddressOf, transportAddressOf } from "../../registrar/host";
import { canonicalSipUri, formatSipUri, parseSipUri, sameHostPort } from "../../registrar/sip-uri";
import type { Env } from "../env";
import type { SwitchIdentity } from "../switches/credentials";
import { fleet } from "../switches/fleet";
import { findRoute, type CallQuery } from "../switches/route";
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

  let query: CallQuery;
  let asked: Asked | null = null;
  if (request.trusted === "true") {
    // Trusted (a peer switch of the fleet, a carrier): the Request-URI names the callee's own realm.
    // A call handed over by another switch of the fleet (from a switch's own address and port) is
    // delivered here or not at all.
    const handedOver = switches.addresses().some((address) => sameHostPort(address, request.source));
    query = { destination: callee.user, origin: { kind: "realm", realm: callee.host, numbers: true }, handedOver };
  } else {
    const from = userAndHost(request.from);
    if (!from || !from.user) return decide(403, "Forbidden");
    if (request.callId.trim() === "") return decide(400, "Missing Call-ID");
    asked = { realm: from.host, status: 407, source: request.source, callId: request.callId.trim(), requestUri: request.requestUri };
    const offered = await credentialsOrChallenge(env, request.authorization, asked, now);
    if ("decision" in offered) return offered.decision;
    if (offered.digest.username !== from.user) return decide(403, "Forbidden");
    const digest = { username: from.user, digest: offered.digest, nonce: { expiresAt: offered.nonceExpiresAt, record: "every-use" as const }, method, source: request.source };
    query = { destination: callee.user, origin: { kind: "device", realm: from.host, requestedHost: callee.host, caller: digest }, handedOver: false };
  }

  const found = await findRoute(env, caller, query, switches);
  // Unknown caller, wrong password, refused source, replay: the same fresh challenge for each.
  if (found.kind === "refused") return asked ? challengeFor(env, asked, false, now) : NOT_FOUND;
  if (found.kind === "not_found") return NOT_FOUND;
  if (found.kind === "unavailable") return UNAVAILABLE;
  const targets: Target[] = [];
  for (const leg of found.legs) {
    if (leg.kind === "local") {
      // Written back from parsed values: a stored text that does not parse is never offered.
      for (const binding of leg.bindings) {
        const uri = canonicalSipUri(binding.contact);
        if (uri === null) continue;
        const received = binding.received === null ? null : (transportAddressOf(binding.received) ?? ipAddressOf(binding.received));
        targets.push({ uri, destination: received === null ? "" : `sip:${received}` });
      }
    } else {
      const peer = parseSipUri(leg.address);
      if (peer === null) continue;
      targets.push({ uri: `sip:${found.username}@${found.realm}`, destination: formatSipUri(peer) });
    }
  }
  return targets.length > 0 ? route(targets) : UNAVAILABLE;
}
