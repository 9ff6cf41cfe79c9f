// Where a call goes, whichever switch asks: the destination looked up in an account (the caller's,
// or the one its call policy lets it reach, registrar/routing.ts `calleeAccount`), else among the
// numbers of the catalog (functions/numbers.ts), then turned into legs across the fleet
// (registrar/routing.ts `routeToDevice`). The adapters say where a call comes from and render the
// answer: a FreeSWITCH bridge (functions/freeswitch/dialplan.ts), Kamailio targets
// (functions/kamailio/locate.ts).
import type { DestinationResult, RouteRequest } from "../../durable-objects/account-registrar/records";
import { holdingSwitches, routeToDevice, type Leg } from "../../registrar/routing";
import { accountIdForRealm } from "../accounts";
import type { Env } from "../env";
import { destinationIn, locateNumber } from "../numbers";
import type { SwitchIdentity } from "./credentials";
import { fleet, type Fleet } from "./fleet";
import { registrarForSwitch } from "./scope";

/** A caller's answer to a challenge, for the edge to check (Kamailio; FreeSWITCH checks its callers itself). */
export type CallerDigest = NonNullable<RouteRequest["caller"]>;

/** Where a call comes from, which says where its destination is looked up. */
export type CallOrigin =
  /**
   * A device of the account of `realm`: the destination is looked up in that account, or in the
   * account of the realm it dialed (`requestedHost`) when its call policy names that account; then
   * among the numbers. With `caller`, the device's digest is checked first, in the same round trip.
   */
  | { kind: "device"; realm: string; requestedHost: string | null; caller?: CallerDigest }
  /**
   * A source the switch trusts naming the callee's realm (a switch of the fleet handing a call over,
   * a carrier through a proxy): looked up in that account, then among the numbers when `numbers`.
   */
  | { kind: "realm"; realm: string; numbers: boolean }
  /** A carrier naming no realm: only the numbers mean anything. */
  | { kind: "numbers" };

export type RouteFound =
  /** The caller's digest was not accepted (unknown, wrong, locked out, replayed, or a realm outside the switch's scope). */
  | { kind: "refused" }
  /** 404: nothing of any account this switch serves. */
  | { kind: "not_found" }
  /** 480: a disabled device, a number that rings none, no binding that can be reached. */
  | { kind: "unavailable" }
  /** Ring the device `username@realm` along these legs (never empty). */
  | { kind: "ring"; username: string; realm: string; legs: Leg[] };

export interface CallQuery {
  /** The dialed user or number. */
  destination: string;
  origin: CallOrigin;
  /** Handed over by another switch of the fleet: delivered where it lands (local legs only) or not at all. */
  handedOver: boolean;
}

/**
 * The route of a call that switch `asking` received. Accounts outside the switch's scope are looked
 * up nowhere (as a realm no account has). `switches`: the fleet as this call saw it on arrival, when
 * the adapter already opened it (to recognise a hand-over); else it is opened here when needed.
 */
export async function findRoute(env: Env, asking: SwitchIdentity, query: CallQuery, switches?: Fleet): Promise<RouteFound> {
  const found = await findDestination(env, asking, query.destination, query.origin);
  if (found.kind === "refused") return found;
  if (found.kind === "unknown") return { kind: "not_found" };
  if (found.kind === "unavailable") return found;
  const view = switches ?? (await fleet(env, Date.now()));
  // A switch the snapshot takes for lost is read again before its bindings are skipped.
  await view.recheck(holdingSwitches(found.bindings));
  const decision = routeToDevice(found.bindings, asking.id, (id) => view.peer(id));
  if (decision.kind !== "ring") return { kind: "unavailable" };
  const legs = query.handedOver ? decision.legs.filter((leg) => leg.kind === "local") : decision.legs;
  return legs.length > 0 ? { kind: "ring", username: found.username, realm: found.realm, legs } : { kind: "unavailable" };
}

async function findDestination(env: Env, asking: SwitchIdentity, destination: string, origin: CallOrigin): Promise<DestinationResult | { kind: "refused" }> {
  const inRealm = (realm: string): Promise<DestinationResult> => {
    const registrar = registrarForSwitch(env, asking, realm);
    return registrar ? destinationIn(registrar, destination) : Promise.resolve({ kind: "unknown" });
  };
  const orNumber = (found: DestinationResult): Promise<DestinationResult> | DestinationResult =>
    found.kind === "unknown" ? locateNumber(env, destination, asking) : found;

  switch (origin.kind) {
    case "numbers":
      return locateNumber(env, destination, asking);
    case "realm": {
      const found = await inRealm(origin.realm);
      return origin.numbers ? orNumber(found) : found;
    }
    case "device": {
      const registrar = registrarForSwitch(env, asking, origin.realm);
      // A caller whose realm is outside the switch's scope is answered as an unknown device; with
      // no digest to check (FreeSWITCH checked it), its call reaches only numbers.
      if (!registrar) return origin.caller ? { kind: "refused" } : orNumber({ kind: "unknown" });
      const host = origin.requestedHost;
      // One round trip: the caller's digest (if any), then its call policy and the lookup in its account.
      const routed = await registrar.route({
        caller: origin.caller ?? null,
        destination,
        requested: host === null ? null : { realm: host, accountId: accountIdForRealm(env, host, asking.jurisdiction) },
        ...(origin.caller && { switchId: asking.id }),
      });
      if (routed.status !== "authorized" || routed.destination === null) return { kind: "refused" };
      const here = routed.destination;
      return orNumber(here.kind === "elsewhere" ? await inRealm(here.realm) : here);
    }
  }
}
