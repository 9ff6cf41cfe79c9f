// Every authenticated switch callback says "this switch is alive". Writing that on every callback
// would cost a catalog write per request; each isolate writes it at most once per interval per
// switch instead (a third of the loss threshold, at most 10 s), after the answer has gone out.
// The exception is a switch this isolate last knew as silent for half the loss threshold or more
// (lost, just restarted, never seen): then the write is made before the callback is answered, so
// every routing decision after that answer, in any isolate, finds the switch alive (routing reads
// the catalog again before skipping a switch its snapshot takes for lost).
import { eq } from "drizzle-orm";
import { switches } from "../../catalog/schema";
import { catalog } from "../catalog";
import type { Env } from "../env";
import { DEFAULT_DRAIN_EXPIRES } from "../../registrar/fleet";
import { lostAfterMs } from "./fleet";
import { heardInSnapshot, snapshotLastSeen } from "./snapshot";

const lastWritten = new Map<string, number>();

export async function markAlive(env: Env, switchId: string, now: number, later: (work: Promise<unknown>) => void): Promise<void> {
  const lostAfter = lostAfterMs(env);
  const interval = Math.min(10_000, lostAfter / 3);
  if (now - (lastWritten.get(switchId) ?? 0) < interval) return;
  lastWritten.set(switchId, now);
  const known = snapshotLastSeen(switchId);
  const write = catalog(env)
    .update(switches)
    .set({ lastSeenAt: now })
    .where(eq(switches.id, switchId))
    .run()
    .then(() => heardInSnapshot(switchId, now))
    .catch((error: unknown) => {
      lastWritten.delete(switchId);
      console.error("could not record a switch as alive", error);
    });
  if (known === null || now - known >= lostAfter / 2) await write;
  else later(write);
}

/** Seconds a draining switch's devices are registered for, so they move off quickly. */
export function drainExpires(env: Env): number {
  return Number(env.SWITCH_DRAIN_EXPIRES ?? DEFAULT_DRAIN_EXPIRES) || DEFAULT_DRAIN_EXPIRES;
}
