// Bulk device imports inside the account's object. The Worker parses and validates the file,
// checks it against the account (usernames, numbers) and computes the HA1 values (functions/import/),
// so no password reaches this object and no digest work holds it; here the rows are received into
// `import_rows`, then applied as upserts by username, a bounded chunk per transaction with a pause
// between chunks, so the switches' callbacks are served while a 100,000-row import runs
// (docs/api.md, "Imports"). One import at a time per account: receiving → running → done | failed.
import { asc, desc, eq, inArray, notInArray } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import { randomId as newId } from "../../registrar/bytes";
import * as schema from "./schema";

const { importRows, imports } = schema;

/** Rows applied per transaction: small enough that a callback waits a few ms at most behind one. */
export const IMPORT_CHUNK_ROWS = 200;
/** Errors kept on a job (the count of refused rows is always exact). */
export const IMPORT_ERRORS_KEPT = 1_000;
/** Finished jobs kept for their callers to read. */
export const IMPORT_JOBS_KEPT = 20;
/** While a job is checking or running, the alarm comes back this often to resume it after a restart. */
export const IMPORT_RESUME_AFTER_MS = 30_000;
/** A job still receiving rows after this long was abandoned by its sender. */
export const IMPORT_RECEIVE_TIMEOUT_MS = 10 * 60_000;

export type ImportMode = "all" | "good-rows";
export type ImportState = "receiving" | "running" | "done" | "failed";

/** A refused row: its 1-based position among the data rows, its line in a CSV file, the field at fault. */
export interface RowError {
  row: number;
  line?: number;
  field: string;
  message: string;
}

/** One valid row as the Worker hands it over: fields present are set, fields absent are kept. */
export interface StagedRow {
  row: number;
  line: number | null;
  username: string;
  ha1Md5?: string;
  ha1Sha256?: string;
  callerIdName?: string | null;
  callerIdNumber?: string | null;
  enabled?: boolean;
  /** Numbers (DIDs) that ring this device. */
  numbers?: string[];
  /**
   * Those of `numbers` this import claimed in the catalog for the account (the operator's import
   * adds numbers): a row refused while it is applied gives them back, so none stays held.
   */
  claimed?: string[];
}

type StagedChanges = Omit<StagedRow, "row" | "line" | "username">;

export interface ImportJob {
  id: string;
  state: ImportState;
  mode: ImportMode;
  format: string;
  total: number;
  done: number;
  created: number;
  updated: number;
  refused: number;
  errors: RowError[];
  detail: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface ImportOpening {
  mode: ImportMode;
  format: string;
  /** Data rows in the file, the refused ones included. */
  total: number;
  /** Rows the Worker refused already (mode good-rows only: in mode all it answers 422 itself). */
  errors: RowError[];
  /** The operator's imports add numbers to the inventory (claimed in the catalog first); an account's may only use its own. */
  mayAddNumbers: boolean;
}

type JobRow = typeof imports.$inferSelect;

const toJob = ({ mayAddNumbers: _, ...row }: JobRow): ImportJob => ({ ...row, state: row.state as ImportState, mode: row.mode as ImportMode });

const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** D1 takes at most 100 bound parameters per statement. */
const RELEASE_CHUNK = 90;

/** Give numbers the account claimed back to the catalog (only those still the account's). */
export async function releaseCatalogNumbers(catalog: D1Database, accountId: string, numbers: string[]): Promise<void> {
  for (let i = 0; i < numbers.length; i += RELEASE_CHUNK) {
    const chunk = numbers.slice(i, i + RELEASE_CHUNK);
    await catalog
      .prepare(`DELETE FROM "numbers" WHERE "account_id" = ? AND "number" IN (${chunk.map(() => "?").join(", ")})`)
      .bind(accountId, ...chunk)
      .run();
  }
}

/** What the importer needs from its object. */
export interface ImportHost {
  db: DrizzleSqliteDODatabase<typeof schema>;
  sql: SqlStorage;
  storage: DurableObjectStorage;
  /** Usernames whose rows changed: the device cache forgets them. */
  devicesChanged(usernames: string[]): void;
  /** Give numbers claimed for the account back to the catalog (rows refused while applied). */
  releaseNumbers(numbers: string[]): Promise<void>;
}

export class DeviceImports {
  private readonly byUsername = `SELECT "id" FROM "devices" WHERE "username" = ?`;
  private readonly upsert = `INSERT INTO "devices" ("id", "username", "ha1_md5", "ha1_sha256", "caller_id_name", "caller_id_number", "enabled", "locked_until", "created_at", "updated_at")
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, ?8)
    ON CONFLICT ("username") DO UPDATE SET
      "ha1_md5" = CASE WHEN ?9 THEN excluded."ha1_md5" ELSE "ha1_md5" END,
      "ha1_sha256" = CASE WHEN ?9 THEN excluded."ha1_sha256" ELSE "ha1_sha256" END,
      "caller_id_name" = CASE WHEN ?10 THEN excluded."caller_id_name" ELSE "caller_id_name" END,
      "caller_id_number" = CASE WHEN ?11 THEN excluded."caller_id_number" ELSE "caller_id_number" END,
      "enabled" = CASE WHEN ?12 THEN excluded."enabled" ELSE "enabled" END,
      "updated_at" = excluded."updated_at"
    RETURNING "id"`;
  private readonly numberOwner = `SELECT "device_id" AS "deviceId" FROM "numbers" WHERE "number" = ?`;
  private readonly setNumber = `INSERT INTO "numbers" ("number", "device_id", "created_at") VALUES (?, ?, ?) ON CONFLICT ("number") DO UPDATE SET "device_id" = excluded."device_id"`;
  private readonly pointNumber = `UPDATE "numbers" SET "device_id" = ? WHERE "number" = ?`;
  /** Whether this instance is applying a job now (an alarm finds the job otherwise and resumes it). */
  private driving = false;

  constructor(private readonly host: ImportHost) {}

  /** Start a job, unless another one is unfinished. */
  open(opening: ImportOpening, now: number): { ok: true; job: ImportJob } | { ok: false; detail: string } {
    this.dropAbandoned(now);
    const busy = this.unfinished();
    if (busy) return { ok: false, detail: `import ${busy.id} is still ${busy.state}` };
    const errors = opening.errors.slice(0, IMPORT_ERRORS_KEPT);
    const row = this.host.db
      .insert(imports)
      .values({
        id: newId("imp"),
        state: "receiving",
        mode: opening.mode,
        format: opening.format,
        total: opening.total,
        done: opening.errors.length,
        created: 0,
        updated: 0,
        refused: opening.errors.length,
        errors,
        detail: null,
        mayAddNumbers: opening.mayAddNumbers,
        createdAt: now,
        updatedAt: now,
      })
      .returning()
      .get();
    this.trim();
    return { ok: true, job: toJob(row) };
  }

  /** Rows of a receiving job, in one transaction. */
  stage(jobId: string, rows: StagedRow[], now: number): boolean {
    const job = this.job(jobId);
    if (!job || job.state !== "receiving") return false;
    this.host.storage.transactionSync(() => {
      for (const { row, line, username, ...changes } of rows) {
        this.host.sql.exec(`INSERT INTO "import_rows" ("row", "job_id", "line", "username", "changes") VALUES (?, ?, ?, ?, ?)`, row, jobId, line, username, JSON.stringify(changes));
      }
      this.host.db.update(imports).set({ updatedAt: now }).where(eq(imports.id, jobId)).run();
    });
    return true;
  }

  /** Every row received: apply them in the background. Answers the job as it starts. */
  start(jobId: string, now: number): ImportJob | null {
    const job = this.job(jobId);
    if (!job || job.state !== "receiving") return null;
    this.host.db.update(imports).set({ state: "running", updatedAt: now }).where(eq(imports.id, jobId)).run();
    void this.drive();
    return this.job(jobId);
  }

  /** Which of these usernames are devices of the account (the Worker checks rows without credentials). */
  existingUsernames(usernames: string[]): string[] {
    return usernames.filter((username) => this.host.sql.exec(this.byUsername, username).toArray().length > 0);
  }

  /** Which of these numbers are in the account's inventory. */
  heldNumbers(numbers: string[]): string[] {
    return numbers.filter((number) => this.host.sql.exec(this.numberOwner, number).toArray().length > 0);
  }

  job(jobId: string): ImportJob | null {
    const row = this.host.db.select().from(imports).where(eq(imports.id, jobId)).get();
    return row ? toJob(row) : null;
  }

  list(): ImportJob[] {
    return this.host.db.select().from(imports).orderBy(desc(imports.createdAt), desc(imports.id)).all().map(toJob);
  }

  /** A job left running (the object restarted mid-way): the alarm resumes it. */
  pending(): boolean {
    const job = this.unfinished();
    return job !== undefined && job.state !== "receiving";
  }

  /** Apply the running job, chunk by chunk, pausing between chunks. */
  async drive(): Promise<void> {
    if (this.driving) return;
    this.driving = true;
    try {
      for (;;) {
        const job = this.unfinishedRow();
        if (!job || job.state === "receiving") return;
        const step = this.applyStep(job);
        if (step.release.length > 0) await this.host.releaseNumbers(step.release);
        if (!step.more) return;
        await pause();
      }
    } finally {
      this.driving = false;
    }
  }

  private refusalOf(staged: typeof importRows.$inferSelect, mayAddNumbers: boolean): RowError | null {
    const changes = staged.changes as StagedChanges;
    const at = { row: staged.row, ...(staged.line !== null && { line: staged.line }) };
    if (changes.ha1Md5 === undefined && this.host.sql.exec(this.byUsername, staged.username).toArray().length === 0) {
      return { ...at, field: "password", message: `no device ${staged.username} yet: a new device needs a password (or an MD5 HA1)` };
    }
    if (!mayAddNumbers) {
      for (const number of changes.numbers ?? []) {
        if (this.host.sql.exec(this.numberOwner, number).toArray().length === 0) {
          return { ...at, field: "numbers", message: `number ${number} is not in this account's inventory (the operator adds numbers)` };
        }
      }
    }
    return null;
  }

  /**
   * Apply one chunk in one transaction: `more` while rows remain; `release`, the numbers claimed for
   * rows refused here, to give back to the catalog once the chunk is committed.
   */
  private applyStep(job: JobRow): { more: boolean; release: string[] } {
    const rows = this.host.db.select().from(importRows).where(eq(importRows.jobId, job.id)).orderBy(asc(importRows.row)).limit(IMPORT_CHUNK_ROWS).all();
    const now = Date.now();
    if (rows.length === 0) {
      this.finish(job, "done", now, {});
      return { more: false, release: [] };
    }
    const mayAddNumbers = job.mayAddNumbers;
    let created = 0;
    let updated = 0;
    const refused: RowError[] = [];
    const release: string[] = [];
    const usernames: string[] = [];
    try {
      this.host.storage.transactionSync(() => {
        for (const staged of rows) {
          // The Worker checked every row against the account before the first was sent; a device
          // removed or a number released since then is refused here, in either mode.
          const error = this.refusalOf(staged, mayAddNumbers);
          if (error) {
            refused.push(error);
            release.push(...((staged.changes as StagedChanges).claimed ?? []));
            continue;
          }
          const changes = staged.changes as StagedChanges;
          const id = newId("dev");
          const hasCredentials = changes.ha1Md5 !== undefined;
          const [written] = this.host.sql
            .exec<{ id: string }>(
              this.upsert,
              id,
              staged.username,
              changes.ha1Md5 ?? "",
              changes.ha1Sha256 ?? "",
              changes.callerIdName ?? null,
              changes.callerIdNumber ?? null,
              changes.enabled === false ? 0 : 1,
              now,
              hasCredentials ? 1 : 0,
              changes.callerIdName !== undefined ? 1 : 0,
              changes.callerIdNumber !== undefined ? 1 : 0,
              changes.enabled !== undefined ? 1 : 0,
            )
            .toArray();
          if (written!.id === id) created += 1;
          else updated += 1;
          usernames.push(staged.username);
          for (const number of changes.numbers ?? []) {
            if (mayAddNumbers) this.host.sql.exec(this.setNumber, number, written!.id, now);
            else this.host.sql.exec(this.pointNumber, written!.id, number);
          }
        }
        const last = rows.at(-1)!.row;
        this.host.sql.exec(`DELETE FROM "import_rows" WHERE "row" <= ?`, last);
        this.host.db
          .update(imports)
          .set({
            done: job.done + rows.length,
            created: job.created + created,
            updated: job.updated + updated,
            refused: job.refused + refused.length,
            errors: refused.length > 0 ? [...job.errors, ...refused].slice(0, IMPORT_ERRORS_KEPT) : job.errors,
            updatedAt: now,
          })
          .where(eq(imports.id, job.id))
          .run();
      });
    } finally {
      this.host.devicesChanged(usernames);
    }
    return { more: true, release };
  }

  private finish(job: { id: string }, state: "done" | "failed", now: number, changes: Partial<JobRow>): void {
    this.host.db.update(imports).set({ ...changes, state, updatedAt: now }).where(eq(imports.id, job.id)).run();
  }

  private unfinishedRow(): JobRow | undefined {
    return this.host.db.select().from(imports).where(inArray(imports.state, ["receiving", "running"])).get();
  }

  private unfinished(): ImportJob | undefined {
    const row = this.unfinishedRow();
    return row ? toJob(row) : undefined;
  }

  /** A job whose sender stopped sending rows: failed, its rows dropped. */
  private dropAbandoned(now: number): void {
    const stale = this.host.db
      .select()
      .from(imports)
      .where(eq(imports.state, "receiving"))
      .all()
      .filter((job) => job.updatedAt < now - IMPORT_RECEIVE_TIMEOUT_MS);
    for (const job of stale) {
      this.host.storage.transactionSync(() => {
        this.host.db.delete(importRows).where(eq(importRows.jobId, job.id)).run();
        this.finish(job, "failed", now, { detail: "the file stopped arriving; nothing was imported" });
      });
    }
  }

  /** Forget a job that was refused before any row was applied (its caller was answered 422). */
  discard(jobId: string): void {
    this.host.storage.transactionSync(() => {
      this.host.db.delete(importRows).where(eq(importRows.jobId, jobId)).run();
      this.host.db.delete(imports).where(eq(imports.id, jobId)).run();
    });
  }

  /** Keep the newest finished jobs only. */
  private trim(): void {
    const keep = this.host.db.select({ id: imports.id }).from(imports).orderBy(desc(imports.createdAt), desc(imports.id)).limit(IMPORT_JOBS_KEPT).all();
    if (keep.length < IMPORT_JOBS_KEPT) return;
    this.host.db
      .delete(imports)
      .where(notInArray(imports.id, keep.map((k) => k.id)))
      .run();
  }
}
