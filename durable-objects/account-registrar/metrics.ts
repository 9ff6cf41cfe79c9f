// One account's metrics as the object knows them: live bindings per switch (counted now), the
// outbox's depth, and the counters (meter.ts). The Worker renders them for Prometheus.
import { gt, sql } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import type { CounterSnapshot } from "./meter";
import * as schema from "./schema";

export interface AccountMetrics extends CounterSnapshot {
  accountId: string;
  /** Live bindings per switch id ("" for bindings no switch holds). */
  bindings: { switch: string; count: number }[];
  /** Events the slowest webhook subscription has not passed yet (0 without subscriptions). */
  outboxDepth: number;
}

export function gatherMetrics(
  db: DrizzleSqliteDODatabase<typeof schema>,
  accountId: string,
  counters: CounterSnapshot,
  outboxDepth: number,
  now: number,
): AccountMetrics {
  const { bindings } = schema;
  const rows = db
    .select({ switchId: bindings.switchId, n: sql<number>`count(*)` })
    .from(bindings)
    .where(gt(bindings.expiresAt, now))
    .groupBy(bindings.switchId)
    .all();
  return { accountId, ...counters, bindings: rows.map((r) => ({ switch: r.switchId ?? "", count: r.n })), outboxDepth };
}
