// The account's record of digest nonces used (registrar/replay.ts decides from it). Every switch
// and every edge location reaches this one object for the account, so a nonce used through one
// switch is used for all of them. One row per nonce, keyed by rowid; rows live until the nonce can
// no longer be accepted (plus a margin for clocks that disagree) and are swept in batches.
import { acceptsUse } from "../../registrar/replay";

/** Rows are kept this long past the nonce's own end, so an edge clock ahead of this object's cannot let a replay through. */
export const NONCE_USE_MARGIN_MS = 60_000;
/** Rows removed per sweep. */
export const NONCE_SWEEP_BATCH = 500;

/** One nonce use to claim: its key, nonce-count (null without qop) and when the nonce ends. */
export interface NonceUse {
  key: number;
  count: number | null;
  expiresAt: number;
}

export class NonceUses {
  private readonly readOne = `SELECT "nc" FROM "nonce_uses" WHERE "key" = ?`;
  private readonly upsert = `INSERT INTO "nonce_uses" ("key", "nc", "expires_at") VALUES (?, ?, ?) ON CONFLICT ("key") DO UPDATE SET "nc" = excluded."nc", "expires_at" = MAX("expires_at", excluded."expires_at")`;
  private readonly sweepSome = `DELETE FROM "nonce_uses" WHERE "key" IN (SELECT "key" FROM "nonce_uses" WHERE "expires_at" <= ? LIMIT ?)`;

  constructor(private readonly sql: SqlStorage) {}

  /**
   * Record a use if the rules allow it; false for a replay (the count did not grow, or a nonce
   * without qop used again). Call inside the transaction that acts on the use.
   */
  claim(use: NonceUse): boolean {
    const row = this.sql.exec<{ nc: number | null }>(this.readOne, use.key).toArray()[0];
    if (!acceptsUse(row === undefined ? undefined : row.nc, use.count)) return false;
    this.sql.exec(this.upsert, use.key, use.count, use.expiresAt + NONCE_USE_MARGIN_MS).toArray();
    return true;
  }

  /** Remove rows past their end; answers how many were removed (a full batch: more may remain). */
  sweep(now: number): number {
    return this.sql.exec(this.sweepSome, now, NONCE_SWEEP_BATCH).rowsWritten;
  }

  /** Whether any row is left (the sweep must come back). */
  any(): boolean {
    return this.sql.exec(`SELECT 1 FROM "nonce_uses" LIMIT 1`).toArray().length > 0;
  }
}
