// The object's one alarm and what it does when it fires. Every read filters `expires_at > now`, so
// an expired binding is never answered whether or not the alarm has run; the alarm removes them
// (SWEEP_BATCH a run, an immediate follow-up run when more are left), sweeps used nonces and lapsed
// failure counts, runs the webhook deliveries, resumes a device import a restart interrupted, and
// aims itself at the next deadline. Each `setAlarm` bills as a row written, so the alarm moves only
// when a deadline comes earlier.
import type { Account } from "./account";
import type { Authentication } from "./authentication";
import { SWEEP_BATCH, type Bindings } from "./bindings";
import { IMPORT_RESUME_AFTER_MS, type DeviceImports } from "./device-import";
import type { Devices } from "./devices";
import type { EventStream } from "./event-stream";
import type { SqlMeter } from "./meter";
import type { WebhookDispatcher } from "./webhooks";

/** While used nonces or failure counts are kept, the alarm comes back at least this often to sweep them. */
export const NONCE_SWEEP_INTERVAL_MS = 60_000;

export class Alarm {
  /** When the alarm is set to fire, as this instance knows it. */
  private at: number | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly meter: SqlMeter,
  ) {}

  /** When the object wakes. */
  async open(): Promise<void> {
    this.at = await this.storage.getAlarm();
  }

  /** Move the alarm only when a deadline comes earlier than the one already set. */
  async noLaterThan(deadline: number): Promise<void> {
    if (this.at !== null && this.at <= deadline) return;
    this.at = deadline;
    this.meter.alarmSet();
    await this.storage.setAlarm(deadline);
  }

  fired(): void {
    this.at = null;
  }

  async cancel(): Promise<void> {
    await this.storage.deleteAlarm();
    this.at = null;
  }
}

/** What the alarm's run works on. */
export interface Expiring {
  storage: DurableObjectStorage;
  account: Account;
  devices: Devices;
  bindings: Bindings;
  authentication: Authentication;
  stream: EventStream;
  webhooks: WebhookDispatcher;
  alarm: Alarm;
  imports: DeviceImports;
}

/** One alarm run: sweep in bounded batches, deliver webhooks, then aim the alarm at the next deadline. */
export async function runAlarm(the: Expiring): Promise<void> {
  the.alarm.fired();
  if (!the.account.hasSchema) return;
  const now = Date.now();
  let swept = 0;
  const published = the.storage.transactionSync(() => {
    const sweep = the.bindings.sweep(now, (ids) => the.devices.usernames(ids));
    swept = sweep.swept;
    return the.stream.record(sweep.events, now);
  });
  the.stream.publish(published);
  const left = the.authentication.sweep(now);
  // An import left running (the object restarted mid-way) resumes; it pauses between its chunks.
  const importing = the.imports.pending();
  if (importing) void the.imports.drive();
  const acct = the.account.row();
  if (acct) await the.webhooks.run(acct.accountId, now);
  // The account may have been removed (its tables dropped) while a delivery was in flight.
  if (!the.account.hasSchema) return;
  const deadlines = [
    swept === SWEEP_BATCH || left.nonces === "many" || left.sources === "many" ? now : the.bindings.earliestDeadline(),
    left.nonces === "some" || left.sources === "some" ? now + NONCE_SWEEP_INTERVAL_MS : null,
    the.webhooks.nextDue(the.stream.log.latest(), Date.now()),
    importing ? now + IMPORT_RESUME_AFTER_MS : null,
  ].filter((t): t is number => t !== null);
  if (deadlines.length > 0) await the.alarm.noLaterThan(Math.min(...deadlines));
}
