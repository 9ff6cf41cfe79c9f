// Switch callbacks as the Worker sees them: how many, of which kind, how long each took. One
// isolate sees only part of the traffic, so each isolate adds its callbacks up here and ships
// the sums to the fleet monitor (one object for the fleet) at most every METRICS_FLUSH_MS
// (default 10 s), after the answer has gone out; the metrics endpoint ships its own isolate's
// sums before reading. Each callback also becomes one Workers Analytics Engine data point, when
// the CALLBACK_ANALYTICS binding exists (production), for Grafana over the SQL API.
import type { Env } from "../env";
import { UNKNOWN_ACCOUNT, type RequestLogLine } from "../request-log";

/** Histogram bucket upper bounds, seconds: 1 ms to 2 s. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2] as const;

/** Callbacks of one (account, switch, kind): counts per bucket (cumulative at render time), sum, count. */
export interface CallbackSeries {
  account: string;
  switch: string;
  kind: string;
  /** One count per DURATION_BUCKETS bound (not cumulative) plus one for above the last. */
  buckets: number[];
  sumSeconds: number;
  count: number;
}

const DEFAULT_FLUSH_MS = 10_000;

const pending = new Map<string, CallbackSeries>();
let lastFlush = 0;

function keyOf(s: Pick<CallbackSeries, "account" | "switch" | "kind">): string {
  return `${s.account}\t${s.switch}\t${s.kind}`;
}

/** Add series into a map of series (the isolate's pending sums, the fleet monitor's totals). */
export function mergeSeries(into: Map<string, CallbackSeries>, series: Iterable<CallbackSeries>): void {
  for (const s of series) {
    const key = keyOf(s);
    const held = into.get(key);
    if (!held) {
      into.set(key, { ...s, buckets: [...s.buckets] });
      continue;
    }
    s.buckets.forEach((n, i) => (held.buckets[i] = (held.buckets[i] ?? 0) + n));
    held.sumSeconds += s.sumSeconds;
    held.count += s.count;
  }
}

/** The bucket index of a duration: the first bound it does not exceed, else the overflow bucket. */
export function bucketOf(seconds: number): number {
  const i = DURATION_BUCKETS.findIndex((bound) => seconds <= bound);
  return i === -1 ? DURATION_BUCKETS.length : i;
}

/** Count one finished switch callback (API calls are not callbacks and are not counted here). */
export function recordCallback(env: Env, line: RequestLogLine, now: number, later: (work: Promise<unknown>) => void): void {
  if (line.kind === "api" || line.kind === "other") return;
  // A realm no account has is counted with the callbacks that name no account: no series of its own.
  const account = line.account === null || line.account === UNKNOWN_ACCOUNT ? "" : line.account;
  const seconds = line.durationMs / 1000;
  const buckets = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
  buckets[bucketOf(seconds)] = 1;
  mergeSeries(pending, [{ account, switch: line.switch ?? "", kind: line.kind, buckets, sumSeconds: seconds, count: 1 }]);
  env.CALLBACK_ANALYTICS?.writeDataPoint({
    indexes: [account],
    blobs: [line.kind, line.outcome, line.switch ?? "", account, String(line.status)],
    doubles: [line.durationMs],
  });
  const every = Number(env.METRICS_FLUSH_MS ?? DEFAULT_FLUSH_MS);
  if (now - lastFlush >= (Number.isFinite(every) ? every : DEFAULT_FLUSH_MS)) {
    lastFlush = now;
    later(flushCallbacks(env));
  }
}

/** Ship this isolate's sums to the fleet monitor; on failure they are kept for the next try. */
export async function flushCallbacks(env: Env): Promise<void> {
  if (pending.size === 0) return;
  const batch = [...pending.values()];
  pending.clear();
  try {
    await env.FLEET.get(env.FLEET.idFromName("fleet")).recordCallbacks(batch);
  } catch (error) {
    mergeSeries(pending, batch);
    console.error("could not ship callback metrics", error);
  }
}
