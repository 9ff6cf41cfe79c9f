// Where a call to a device goes (Kamailio registrar's lookup.c, routing part): to the switch's own
// registrations, and through each other switch that holds a binding. Plain data in, decision out.
import { reachable, type SwitchState } from "./fleet";
import type { Binding } from "./types";

export type Leg =
  /** The asking switch holds these bindings: it reaches them itself. */
  | { kind: "local"; bindings: Binding[] }
  /** Another switch holds bindings: send the call there, it reaches them. */
  | { kind: "peer"; switchId: string; address: string; draining: boolean };

/** What routing needs to know of another switch. */
export interface PeerSwitch {
  address: string;
  state: SwitchState;
}

export type RouteDecision =
  | { kind: "ring"; legs: Leg[] }
  /** The device exists but has no reachable binding: 480 Temporarily Unavailable. */
  | { kind: "unavailable" }
  /** No such device: 404 Not Found. */
  | { kind: "not_found" };

/**
 * Legs for a device's live bindings, seen from the asking switch: one local leg when the asking
 * switch holds any binding, one leg per other holding switch that can be reached. Bindings with
 * no holding switch (recorded by a proxy that reaches devices itself) count as local. Bindings on a
 * lost or removed switch are skipped (kept, not offered); a draining switch is used only when no
 * other leg exists. The order follows the bindings (best q first, as `locate` answers them).
 * `bindings === null`: no device.
 */
export function routeToDevice(
  bindings: Binding[] | null,
  askingSwitchId: string,
  peer: (switchId: string) => PeerSwitch | undefined,
): RouteDecision {
  if (bindings === null) return { kind: "not_found" };
  const legs: Leg[] = [];
  const seen = new Set<string>();
  for (const binding of bindings) {
    const holder = binding.switchId ?? askingSwitchId;
    if (holder === askingSwitchId) {
      const local = legs.find((leg): leg is Extract<Leg, { kind: "local" }> => leg.kind === "local");
      if (local) local.bindings.push(binding);
      else legs.push({ kind: "local", bindings: [binding] });
      continue;
    }
    if (seen.has(holder)) continue;
    seen.add(holder);
    const other = peer(holder);
    if (!other || !reachable(other.state)) continue; // removed or lost: that binding cannot be reached now
    legs.push({ kind: "peer", switchId: holder, address: other.address, draining: other.state === "draining" });
  }
  const preferred = legs.filter((leg) => leg.kind === "local" || !leg.draining);
  const chosen = preferred.length > 0 ? preferred : legs;
  return chosen.length > 0 ? { kind: "ring", legs: chosen } : { kind: "unavailable" };
}

/** The switches holding any of these bindings (those recorded by a proxy hold none). */
export function holdingSwitches(bindings: Binding[] | null): string[] {
  const ids = new Set<string>();
  for (const binding of bindings ?? []) if (binding.switchId !== null) ids.add(binding.switchId);
  return [...ids];
}

/**
 * The E.164 forms a dialed destination may stand for: `+14155550100` as is, `14155550100` and
 * `0014155550100` as `+14155550100`. Empty when it cannot be a number.
 */
export function numberCandidates(destination: string): string[] {
  const text = destination.trim();
  if (/^\+[1-9]\d{6,14}$/.test(text)) return [text];
  if (/^00[1-9]\d{6,14}$/.test(text)) return [`+${text.slice(2)}`];
  if (/^[1-9]\d{6,14}$/.test(text)) return [`+${text}`];
  return [];
}

/** Which other accounts' devices an account's devices may call by address (`user@realm`): their account ids. */
export interface CallPolicy {
  allowedAccounts: string[];
}

export const DEFAULT_CALL_POLICY: CallPolicy = { allowedAccounts: [] };

/** The account a device's call is looked up in. */
export type CalleeAccount = { kind: "own" } | { kind: "other"; realm: string };

/**
 * Where a call from a device of `caller` to `user@requested.realm` is looked up: in the caller's own
 * account, unless the request names another account's realm and the caller's call policy names that
 * account. A realm the policy does not name (another tenant, or just the switch's address a phone
 * dialed) leaves the call in the caller's account: a call never leaves it without the policy.
 * `requested` is null when the switch reports no request host.
 */
export function calleeAccount(
  caller: { accountId: string; realm: string; calls: CallPolicy },
  requested: { realm: string; accountId: string } | null,
): CalleeAccount {
  if (requested === null || requested.realm === caller.realm || requested.accountId === caller.accountId) return { kind: "own" };
  return caller.calls.allowedAccounts.includes(requested.accountId) ? { kind: "other", realm: requested.realm } : { kind: "own" };
}
