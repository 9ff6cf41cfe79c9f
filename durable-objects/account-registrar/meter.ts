// Counts what the object's SQLite work costs, the way Cloudflare bills it: rows read and rows
// written (index entries included) reported by each SQL cursor, plus each alarm set (billed as a
// row written). The benchmarks read it through `usage()` before and after a batch of operations.

export interface Usage {
  rowsRead: number;
  rowsWritten: number;
  alarmsSet: number;
}

/** A storage view whose `sql.exec` records its cursors, for drizzle to run on. */
export class SqlMeter {
  private pending: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
  private totals: Usage = { rowsRead: 0, rowsWritten: 0, alarmsSet: 0 };

  constructor(private readonly storage: DurableObjectStorage) {}

  /** What drizzle's durable-sqlite driver uses of the storage: `sql.exec` and `transactionSync`. */
  view(): DurableObjectStorage {
    const storage = this.storage;
    const sql = {
      exec: (query: string, ...bindings: unknown[]) => {
        const cursor = storage.sql.exec(query, ...bindings);
        this.pending.push(cursor);
        if (this.pending.length > 256) this.settle();
        return cursor;
      },
    };
    return { sql, transactionSync: <T>(fn: () => T) => storage.transactionSync(fn) } as unknown as DurableObjectStorage;
  }

  alarmSet(): void {
    this.totals.alarmsSet += 1;
  }

  /** Totals since the object started. Cursors are read once their statements have run. */
  usage(): Usage {
    this.settle();
    return { ...this.totals };
  }

  private settle(): void {
    for (const cursor of this.pending) {
      this.totals.rowsRead += cursor.rowsRead;
      this.totals.rowsWritten += cursor.rowsWritten;
    }
    this.pending = [];
  }
}

// ── operational counters (GET /api/v1/metrics) ──────────────────────────────
// What the account's callbacks came to, counted where it is decided: authentications by switch,
// method and outcome, lockouts by switch, webhook deliveries by outcome. Kept in memory; written
// to storage (one row, the object's key-value store) only when a scrape reads them and they have
// changed. So what Prometheus has seen is always stored and a counter never goes backwards; what
// was counted after the last scrape is lost if the object is evicted before the next one (a
// scrape every 15 s writes at most one row per account per 15 s, ~5,800 a day).

/** How a digest check ended, for the counters: `locked` is an attempt refused by a lock (of its source or of the device). */
export type AuthOutcome = "ok" | "failed" | "locked";
export type DeliveryOutcome = "ok" | "failed" | "dead_lettered";
export type LockScope = "source" | "device";

export interface CounterSnapshot {
  /** Switch id ("" when the callback names none), method, outcome, count. */
  auth: { switch: string; method: string; outcome: AuthOutcome; count: number }[];
  /** Locks set: `source` (one address locked out of a device) or `device` (the whole device). */
  lockouts: { switch: string; scope: LockScope; count: number }[];
  deliveries: Record<DeliveryOutcome, number>;
}

const STORED_KEY = "metrics.counters";

export class Counters {
  private auth = new Map<string, number>();
  private lockouts = new Map<string, number>();
  private deliveries: Record<DeliveryOutcome, number> = { ok: 0, failed: 0, dead_lettered: 0 };
  private dirty = false;

  constructor(private readonly storage: DurableObjectStorage) {
    const stored = storage.kv.get<CounterSnapshot>(STORED_KEY);
    if (stored) {
      for (const a of stored.auth) this.auth.set(`${a.switch}\t${a.method}\t${a.outcome}`, a.count);
      for (const l of stored.lockouts) this.lockouts.set(`${l.switch}\t${l.scope}`, l.count);
      this.deliveries = { ...this.deliveries, ...stored.deliveries };
    }
  }

  authenticated(switchId: string, method: string, outcome: AuthOutcome): void {
    // Methods are a fixed set for the label: anything else a switch names counts as OTHER.
    const m = method.toUpperCase();
    const key = `${switchId}\t${m === "REGISTER" || m === "INVITE" ? m : "OTHER"}\t${outcome}`;
    this.auth.set(key, (this.auth.get(key) ?? 0) + 1);
    this.dirty = true;
  }

  lockedOut(switchId: string, scope: LockScope): void {
    const key = `${switchId}\t${scope}`;
    this.lockouts.set(key, (this.lockouts.get(key) ?? 0) + 1);
    this.dirty = true;
  }

  delivered(outcome: DeliveryOutcome): void {
    this.deliveries[outcome] += 1;
    this.dirty = true;
  }

  /** The counters now; stored first when they changed since the last read. */
  read(): CounterSnapshot {
    const snapshot: CounterSnapshot = {
      auth: [...this.auth].map(([key, count]) => {
        const [sw, method, outcome] = key.split("\t") as [string, string, AuthOutcome];
        return { switch: sw, method, outcome, count };
      }),
      lockouts: [...this.lockouts].map(([key, count]) => {
        const [sw, scope] = key.split("\t") as [string, LockScope];
        return { switch: sw, scope, count };
      }),
      deliveries: { ...this.deliveries },
    };
    if (this.dirty) {
      this.storage.kv.put(STORED_KEY, snapshot);
      this.dirty = false;
    }
    return snapshot;
  }

  /** The account is removed: nothing to count any more. */
  reset(): void {
    this.auth.clear();
    this.lockouts.clear();
    this.deliveries = { ok: 0, failed: 0, dead_lettered: 0 };
    this.dirty = false;
  }
}

/** The counters' outcome for a digest check's result. */
export function authOutcomeOf(status: string): AuthOutcome {
  // `rejected`: the digest was right, the registrar rules refused the REGISTER.
  return status === "authorized" || status === "registered" || status === "rejected" ? "ok" : "failed";
}
