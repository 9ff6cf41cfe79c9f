// One account's counters as a small JSON document: what the console charts, and what an account
// key may read of the metrics (its own account only; the Prometheus text is the operator's). The
// same numbers as the account's series in GET /api/v1/metrics, summed over switches.
import type { AccountMetrics } from "../../durable-objects/account-registrar/metrics";

const METHODS = ["REGISTER", "INVITE", "OTHER"] as const;
type Method = (typeof METHODS)[number];

export interface AuthCounts {
  ok: number;
  failed: number;
  locked: number;
}

export interface AccountSummary {
  accountId: string;
  /** When the object counted (ISO time). */
  at: string;
  /** Live registrations (bindings) now. */
  bindings: number;
  /** Digest authentications since the counters began, by method and outcome. */
  authentications: Record<Method, AuthCounts>;
  /** Locks set since the counters began. */
  lockouts: { source: number; device: number };
  webhookDeliveries: { ok: number; failed: number; dead_lettered: number };
  outboxDepth: number;
}

export function summarise(metrics: AccountMetrics, now: number): AccountSummary {
  const authentications = Object.fromEntries(METHODS.map((m) => [m, { ok: 0, failed: 0, locked: 0 }])) as Record<Method, AuthCounts>;
  for (const a of metrics.auth) {
    const method: Method = (METHODS as readonly string[]).includes(a.method) ? (a.method as Method) : "OTHER";
    authentications[method][a.outcome] += a.count;
  }
  const lockouts = { source: 0, device: 0 };
  for (const l of metrics.lockouts) lockouts[l.scope] += l.count;
  return {
    accountId: metrics.accountId,
    at: new Date(now).toISOString(),
    bindings: metrics.bindings.reduce((sum, b) => sum + b.count, 0),
    authentications,
    lockouts,
    webhookDeliveries: { ...metrics.deliveries },
    outboxDepth: metrics.outboxDepth,
  };
}
