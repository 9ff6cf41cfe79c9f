// Group commit. Every SQLite commit of an object is a separate durable write (locally an fsync on
// the object's thread; on Cloudflare a round of replication), so callbacks that write and arrive
// together share one. A callback hands its synchronous work to `run`; the work is queued, and on
// the next turn of the event loop every queued work runs inside one transaction, each in its own
// savepoint: a work that throws is rolled back alone and its caller gets the error, the others
// commit together. A caller's promise settles only after the group's transaction has committed,
// and the runtime's output gate holds its answer until that commit is durable, so nothing is
// acknowledged that a crash could lose.

type Settle = { resolve: (value: unknown) => void; reject: (error: unknown) => void };

export interface Transactional {
  transactionSync<T>(work: () => T): T;
}

export class CommitGroup {
  private queue: ({ work: () => unknown } & Settle)[] = [];
  private scheduled = false;
  private commits = 0;
  private works = 0;

  constructor(private readonly storage: Transactional) {}

  /** Run `work` in the next group commit; settles with its result once the group has committed. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // The next turn of the event loop, so callbacks already waiting to run join this group.
        setTimeout(() => this.flush(), 0);
      }
    });
  }

  /** Commits made and works they carried, since the object started (benchmarks and diagnostics). */
  stats(): { commits: number; works: number } {
    return { commits: this.commits, works: this.works };
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      this.storage.transactionSync(() => {
        for (const { work } of batch) {
          try {
            outcomes.push({ ok: true, value: batch.length === 1 ? work() : this.storage.transactionSync(work) });
          } catch (error) {
            if (batch.length === 1) throw error;
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      // The commit itself failed (or the only work threw): nothing of the group was written.
      for (const { reject } of batch) reject(error);
      return;
    }
    this.commits += 1;
    this.works += batch.length;
    batch.forEach(({ resolve, reject }, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) resolve(outcome.value);
      else reject(outcome.error);
    });
  }
}
