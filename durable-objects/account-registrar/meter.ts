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
