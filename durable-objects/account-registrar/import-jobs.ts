// The bulk-import verbs of the account object (device-import.ts does the work): a job is opened,
// its rows staged chunk by chunk, started (the alarm resumes it after a restart), followed and
// discarded; an account that does not exist has no jobs.
import { IMPORT_RESUME_AFTER_MS, type DeviceImports, type ImportJob, type ImportOpening, type StagedRow } from "./device-import";
import type { Account } from "./account";
import type { Alarm } from "./expiry";
import { ok, refuse, type Outcome } from "./outcome";

export class ImportJobs {
  constructor(
    private readonly account: Account,
    /** The work itself (the alarm resumes it). */
    readonly imports: DeviceImports,
    private readonly alarm: Alarm,
  ) {}

  open(opening: ImportOpening): Outcome<ImportJob> {
    if (!this.account.row()) return refuse("not_found", "no such account", "accountId");
    const opened = this.imports.open(opening, Date.now());
    return opened.ok ? ok(opened.job) : refuse("conflict", opened.detail, "body");
  }

  /** Which of these usernames (a chunk's worth) are the account's devices, and which numbers it holds. */
  lookups(usernames: string[], numbers: string[]): { usernames: string[]; numbers: string[] } {
    if (!this.account.hasSchema) return { usernames: [], numbers: [] };
    return { usernames: this.imports.existingUsernames(usernames), numbers: this.imports.heldNumbers(numbers) };
  }

  stage(jobId: string, rows: StagedRow[]): boolean {
    return this.account.hasSchema && this.imports.stage(jobId, rows, Date.now());
  }

  /** Every row received: the job applies them in the background (the alarm resumes it after a restart). */
  async start(jobId: string): Promise<Outcome<ImportJob>> {
    const job = this.account.hasSchema ? this.imports.start(jobId, Date.now()) : null;
    if (!job) return refuse("not_found", `no import ${jobId} receiving rows in this account`, "importId");
    await this.alarm.noLaterThan(Date.now() + IMPORT_RESUME_AFTER_MS);
    return ok(job);
  }

  discard(jobId: string): void {
    if (this.account.hasSchema) this.imports.discard(jobId);
  }

  job(jobId: string): Outcome<ImportJob> {
    const job = this.account.hasSchema ? this.imports.job(jobId) : null;
    return job ? ok(job) : refuse("not_found", `no import ${jobId} in this account`, "importId");
  }

  list(): ImportJob[] {
    return this.account.hasSchema ? this.imports.list() : [];
  }
}
