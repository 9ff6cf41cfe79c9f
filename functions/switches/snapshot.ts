// The isolate's snapshot of the switch list: switch callbacks are checked against it without a
// catalog round trip. It is read again at most every SWITCH_CACHE_TTL_MS, so deleting a switch or
// rotating its credential takes effect within that; the API drops it at once after a change made
// through this isolate. Liveness is the exception: see fleet.ts and liveness.ts.
import { switches } from "../../catalog/schema";
import { catalog } from "../catalog";
import type { Env } from "../env";

export type SwitchRow = typeof switches.$inferSelect;

const DEFAULT_TTL_MS = 5_000;
/** An unknown switch id forces a re-read of the list at most this often (a switch just added). */
const UNKNOWN_REFRESH_MS = 1_000;

export interface Snapshot {
  loadedAt: number;
  byId: Map<string, SwitchRow>;
}

let snapshot: Snapshot | null = null;
let loading: Promise<Snapshot> | null = null;

function ttlMs(env: Env): number {
  return Number(env.SWITCH_CACHE_TTL_MS ?? DEFAULT_TTL_MS) || DEFAULT_TTL_MS;
}

/** The snapshot, read again from the catalog when it is older than the TTL. */
export async function currentSnapshot(env: Env, now: number): Promise<Snapshot> {
  return snapshot && now - snapshot.loadedAt < ttlMs(env) ? snapshot : reload(env, now);
}

/** A switch's row; an id the snapshot does not know reads the list again, at most every second. */
export async function knownSwitch(env: Env, switchId: string, now: number): Promise<SwitchRow | undefined> {
  const current = await currentSnapshot(env, now);
  const row = current.byId.get(switchId);
  if (row || now - current.loadedAt < UNKNOWN_REFRESH_MS) return row;
  return (await reload(env, now)).byId.get(switchId);
}

function reload(env: Env, now: number): Promise<Snapshot> {
  loading ??= catalog(env)
    .select()
    .from(switches)
    .all()
    .then((rows) => {
      snapshot = { loadedAt: now, byId: new Map(rows.map((r) => [r.id, r])) };
      return snapshot;
    })
    .finally(() => {
      loading = null;
    });
  return loading;
}

/** Raise a snapshot row's last-seen time (never lower it: the catalog's value only grows). */
export function heard(current: Snapshot, switchId: string, lastSeenAt: number | null): void {
  const row = current.byId.get(switchId);
  if (row && lastSeenAt !== null && (row.lastSeenAt === null || lastSeenAt > row.lastSeenAt)) {
    current.byId.set(switchId, { ...row, lastSeenAt });
  }
}

/** This isolate's last-seen time for a switch (null: never seen, or not in the snapshot). */
export function snapshotLastSeen(switchId: string): number | null {
  return snapshot?.byId.get(switchId)?.lastSeenAt ?? null;
}

/** Record in this isolate's snapshot that a switch was heard from (after the catalog was written). */
export function heardInSnapshot(switchId: string, at: number): void {
  if (snapshot) heard(snapshot, switchId, at);
}

/** Forget the snapshot (this isolate only): the API calls it after changing a switch. */
export function forgetSwitchSnapshot(): void {
  snapshot = null;
}
