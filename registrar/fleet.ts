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
 * `draining` while an operator says so (even if silent: it is being worked on); `lost` when silent
 * for longer than `lostAfterMs`; `unseen` before its first callback; `alive` otherwise.
 */
export function switchState(liveness: SwitchLiveness, now: number, lostAfterMs: number): SwitchState {
  if (liveness.draining) return "draining";
  if (liveness.lastSeenAt === null) return "unseen";
  return now - liveness.lastSeenAt > lostAfterMs ? "lost" : "alive";
}

/**
 * Can calls be sent through a switch in this state? Not a lost one. A draining one still can, as a
 * last resort; one never heard from yet is given the benefit of the doubt.
 */
export function reachable(state: SwitchState): boolean {
  return state !== "lost";
}
