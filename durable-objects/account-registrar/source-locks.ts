// The account's failure counts and locks per device and source address (registrar/lockout.ts
// decides from them). One row per device and source; the key is the row's primary key, so a
// digest check reads at most one row, and a row is written only by a wrong or refused attempt, or
// by the right answer that clears a count.
import type { SourceRecord } from "../../registrar/lockout";

/** Rows removed per sweep. */
export const SOURCE_SWEEP_BATCH = 500;

/** A source lock in force, as the operator sees it. */
export interface SourceLock {
  source: string;
  failures: number;
  lockedUntil: number;
  lastAt: number;
}

/** A source lock in force anywhere in the account: the device's id as counted (`unknown:<username>` for a username the account does not have). */
export interface AccountSourceLock extends SourceLock {
  deviceId: string;
}

export class SourceLocks {
  private readonly readOne = `SELECT "window_start" AS "windowStart", "failures", "locked_until" AS "lockedUntil" FROM "auth_sources" WHERE "device_id" = ? AND "source" = ?`;
  private readonly upsert = `INSERT INTO "auth_sources" ("device_id", "source", "window_start", "failures", "locked_until", "last_at") VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT ("device_id", "source") DO UPDATE SET "window_start" = excluded."window_start", "failures" = excluded."failures", "locked_until" = excluded."locked_until", "last_at" = excluded."last_at"`;
  private readonly deleteOne = `DELETE FROM "auth_sources" WHERE "device_id" = ? AND "source" = ?`;
  private readonly countOpen = `SELECT count(*) AS "n" FROM "auth_sources" WHERE "device_id" = ? AND "window_start" > ?`;
  private readonly lockedOf = `SELECT "source", "failures", "locked_until" AS "lockedUntil", "last_at" AS "lastAt" FROM "auth_sources" WHERE "device_id" = ? AND "locked_until" > ? ORDER BY "source"`;
  private readonly lockedInAccountQuery = `SELECT "device_id" AS "deviceId", "source", "failures", "locked_until" AS "lockedUntil", "last_at" AS "lastAt" FROM "auth_sources" WHERE "locked_until" > ? ORDER BY "locked_until" DESC, "device_id", "source" LIMIT ?`;
  private readonly deleteDevice = `DELETE FROM "auth_sources" WHERE "device_id" = ?`;
  private readonly sweepSome = `DELETE FROM "auth_sources" WHERE rowid IN (SELECT rowid FROM "auth_sources" WHERE "window_start" <= ? AND ("locked_until" IS NULL OR "locked_until" <= ?) LIMIT ?) RETURNING 1`;

  constructor(private readonly sql: SqlStorage) {}

  get(deviceId: string, source: string): SourceRecord | undefined {
    return this.sql.exec<{ windowStart: number; failures: number; lockedUntil: number | null }>(this.readOne, deviceId, source).toArray()[0];
  }

  write(deviceId: string, source: string, record: SourceRecord, now: number): void {
    this.sql.exec(this.upsert, deviceId, source, record.windowStart, record.failures, record.lockedUntil, now).toArray();
  }

  forget(deviceId: string, source: string): void {
    this.sql.exec(this.deleteOne, deviceId, source).toArray();
  }

  /** Sources of the device whose counting window opened after `since`. */
  failingSince(deviceId: string, since: number): number {
    return this.sql.exec<{ n: number }>(this.countOpen, deviceId, since).one().n;
  }

  /** The device's source locks in force at `now`. */
  locked(deviceId: string, now: number): SourceLock[] {
    return this.sql.exec<{ source: string; failures: number; lockedUntil: number; lastAt: number }>(this.lockedOf, deviceId, now).toArray();
  }

  /**
   * Source locks in force at `now` across the account, the latest-ending first, at most `limit`. The
   * table holds only the sources that failed within the window or are still locked (the sweep).
   */
  lockedInAccount(now: number, limit: number): AccountSourceLock[] {
    return this.sql.exec<{ deviceId: string; source: string; failures: number; lockedUntil: number; lastAt: number }>(this.lockedInAccountQuery, now, limit).toArray();
  }

  clear(deviceId: string): void {
    this.sql.exec(this.deleteDevice, deviceId).toArray();
  }

  /** Remove rows whose window opened before `windowCutoff` and whose lock has ended; answers how many. */
  sweep(windowCutoff: number, now: number): number {
    return this.sql.exec(this.sweepSome, windowCutoff, now, SOURCE_SWEEP_BATCH).toArray().length;
  }

  any(): boolean {
    return this.sql.exec(`SELECT 1 FROM "auth_sources" LIMIT 1`).toArray().length > 0;
  }
}
