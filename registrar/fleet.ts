// The state of a switch of the fleet, from when it was last heard from (time passed in).

export type SwitchState = "alive" | "draining" | "lost" | "unseen";

export interface SwitchLiveness {
  lastSeenAt: number | null;
  draining: boolean;
}

/** Three FreeSWITCH heartbeats (every 20 s by default). */
export const DEFAULT_LOST_AFTER_MS = 60_000;
/** Forced registration interval for devices of a draining switch. */
export const DEFAULT_DRAIN_EXPIRES = 60;

/**
 * `lost` when silent for longer than `lostAfterMs` (draining or not: a switch that stopped answering
 * cannot carry calls); otherwise `draining` while an operator says so; `unseen` before its first
 * callback; `alive`.
 */
export function switchState(liveness: SwitchLiveness, now: number, lostAfterMs: number): SwitchState {
  if (liveness.lastSeenAt !== null && now - liveness.lastSeenAt > lostAfterMs) return "lost";
  if (liveness.draining) return "draining";
  return liveness.lastSeenAt === null ? "unseen" : "alive";
}

/**
 * Can calls be sent through a switch in this state? Not a lost one. A draining one still can, as a
 * last resort; one never heard from yet is given the benefit of the doubt.
 */
export function reachable(state: SwitchState): boolean {
  return state !== "lost";
}
