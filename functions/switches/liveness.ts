// Every authenticated switch callback says "this switch is alive". Writing that on every callback
// would cost a catalog write per request; each isolate writes it at most once per interval per
// switch instead (a third of the loss threshold, at most 10 s), after the answer has gone out.
import { eq } from "drizzle-orm";
import { switches } from "../../catalog/schema";
import { catalog } from "../catalog";
import type { Env } from "../env";
import { DEFAULT_DRAIN_EXPIRES } from "../../registrar/fleet";
import { lostAfterMs } from "./credentials";

const lastWritten = new Map<string, number>();

export function markAlive(env: Env, switchId: string, now: number, later: (work: Promise<unknown>) => void): void {
  const interval = Math.min(10_000, lostAfterMs(env) / 3);
  if (now - (lastWritten.get(switchId) ?? 0) < interval) return;
  lastWritten.set(switchId, now);
  later(
    catalog(env)
      .update(switches)
      .set({ lastSeenAt: now })
      .where(eq(switches.id, switchId))
      .run()
      .catch((error: unknown) => {
        lastWritten.delete(switchId);
        console.error("could not record a switch as alive", error);
      }),
  );
}

/** Seconds a draining switch's devices are registered for, so they move off quickly. */
export function drainExpires(env: Env): number {
  return Number(env.SWITCH_DRAIN_EXPIRES ?? DEFAULT_DRAIN_EXPIRES) || DEFAULT_DRAIN_EXPIRES;
}
