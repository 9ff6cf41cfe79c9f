// Webhook deliveries from the account's outbox, driven by the object's alarm: each subscription
// walks the outbox in sequence order, one event at a time, signed, retried with exponential
// backoff, and dead-lettered after the last attempt. At least once: the receiver de-duplicates
// on the event id. Before every attempt the target is checked against the current rule (private
// addresses, WEBHOOK_ALLOW_PRIVATE): a subscription the rule refuses is not delivered, its events
// wait. A redirect is a failed attempt, never followed.
import { asc, eq } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import { hex, hmacSha256 } from "../../registrar/bytes";
import { webhookTargetProblem } from "../../registrar/webhook-target";
import type { EventLog, RegistrarEvent } from "./events";
import * as schema from "./schema";

const { webhooks, deadLetters } = schema;

export type WebhookRow = typeof webhooks.$inferSelect;

export interface WebhookPolicy {
  /** First retry after this; each further one doubles, up to an hour. */
  retryBaseMs: number;
  /** Attempts per event before it is dead-lettered. */
  maxAttempts: number;
  /** Per-attempt timeout. */
  timeoutMs: number;
}

/** The local-development allowance, read when it is needed (at each delivery run and each view). */
export type AllowPrivate = () => boolean;

export const DEFAULT_WEBHOOK_POLICY: WebhookPolicy = { retryBaseMs: 1_000, maxAttempts: 8, timeoutMs: 5_000 };

/** The delivery policy, with the retry base and attempts the Worker's variables set (the tests shorten them). */
export function webhookPolicyOf(env: { WEBHOOK_RETRY_BASE_MS?: string; WEBHOOK_MAX_ATTEMPTS?: string }): WebhookPolicy {
  const { retryBaseMs, maxAttempts } = DEFAULT_WEBHOOK_POLICY;
  return {
    ...DEFAULT_WEBHOOK_POLICY,
    retryBaseMs: Number(env.WEBHOOK_RETRY_BASE_MS ?? retryBaseMs) || retryBaseMs,
    maxAttempts: Number(env.WEBHOOK_MAX_ATTEMPTS ?? maxAttempts) || maxAttempts,
  };
}
const MAX_BACKOFF_MS = 3_600_000;
/** Events handled per subscription per alarm run, so one run stays short. */
const BATCH = 20;

export const SIGNATURE_HEADER = "Whistle-Signature";
export const EVENT_ID_HEADER = "Whistle-Event-Id";
export const EVENT_TYPE_HEADER = "Whistle-Event-Type";

/** Delay before attempt `attempt + 1` after `attempt` failures. */
export function backoff(attempt: number, policy: WebhookPolicy): number {
  return Math.min(policy.retryBaseMs * 2 ** Math.max(0, attempt - 1), MAX_BACKOFF_MS);
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` */
export async function signature(secret: string, body: string, unixSeconds: number): Promise<string> {
  return `t=${unixSeconds},v1=${hex(await hmacSha256(secret, `${unixSeconds}.${body}`))}`;
}

export function wantsEvent(hook: Pick<WebhookRow, "types" | "includeRefreshed">, event: RegistrarEvent): boolean {
  if (event.type === "binding.refreshed" && !hook.includeRefreshed) return false;
  return hook.types === null || hook.types.includes(event.type);
}

export class WebhookDispatcher {
  /** Subscriptions, read once and kept current by this class: checked on every published event. */
  private cache: WebhookRow[] | null = null;

  constructor(
    private readonly db: DrizzleSqliteDODatabase<typeof schema>,
    private readonly outbox: EventLog,
    private readonly policy: WebhookPolicy,
    private readonly allowPrivate: AllowPrivate,
    /** False once the account is removed: its tables are gone, even in the middle of a run. */
    private readonly present: () => boolean = () => true,
    /** Counts each attempt's outcome for the metrics. */
    private readonly counters: { delivered(outcome: "ok" | "failed" | "dead_lettered"): void } = { delivered: () => {} },
  ) {}

  /** Why the current rule refuses this subscription's target; null when it may be delivered. */
  refusal(hook: Pick<WebhookRow, "url">): string | null {
    return webhookTargetProblem(hook.url, this.allowPrivate());
  }

  /** Subscriptions the current rule lets deliver. */
  private deliverable(): WebhookRow[] {
    return this.all().filter((hook) => this.refusal(hook) === null);
  }

  all(): WebhookRow[] {
    this.cache ??= this.db.select().from(webhooks).orderBy(asc(webhooks.createdAt)).all();
    return this.cache;
  }

  forget(): void {
    this.cache = null;
  }

  wantsRefreshed(): boolean {
    return this.all().some((hook) => hook.includeRefreshed);
  }

  /** Whether any subscription takes one of these events: then a delivery run is due now. */
  interestedIn(published: RegistrarEvent[]): boolean {
    return this.deliverable().some((hook) => published.some((event) => wantsEvent(hook, event)));
  }

  /** Events published but not yet passed by the slowest subscription (the outbox's depth). */
  backlog(latestSeq: number): number {
    return this.all().reduce((depth, hook) => Math.max(depth, latestSeq - hook.cursor), 0);
  }

  /** When the next delivery run is due; null when every subscription is idle and caught up. */
  nextDue(latestSeq: number, now: number): number | null {
    let due: number | null = null;
    for (const hook of this.deliverable()) {
      const at = hook.nextAttemptAt ?? (hook.cursor < latestSeq ? now : null);
      if (at !== null && (due === null || at < due)) due = at;
    }
    return due;
  }

  /** One delivery run: each due subscription posts its next events in order, stopping at a failure. */
  async run(accountId: string, now: number): Promise<void> {
    for (const hook of this.deliverable()) {
      if (hook.nextAttemptAt !== null && hook.nextAttemptAt > now) continue;
      if (!this.present()) return;
      await this.deliverSome(accountId, hook.id);
    }
    this.forget();
  }

  private async deliverSome(accountId: string, hookId: string): Promise<void> {
    for (let handled = 0; handled < BATCH && this.present(); ) {
      const hook = this.db.select().from(webhooks).where(eq(webhooks.id, hookId)).get();
      if (!hook) return; // removed meanwhile
      if (this.refusal(hook) !== null) return; // checked again before each attempt
      const pending = this.outbox.since(hook.cursor, BATCH);
      if (pending.length === 0) {
        if (hook.nextAttemptAt !== null) this.db.update(webhooks).set({ nextAttemptAt: null }).where(eq(webhooks.id, hookId)).run();
        return;
      }
      const skipped = pending.findIndex((event) => wantsEvent(hook, event));
      if (skipped === -1) {
        this.db.update(webhooks).set({ cursor: pending.at(-1)!.seq }).where(eq(webhooks.id, hookId)).run();
        handled += pending.length;
        continue;
      }
      const event = pending[skipped]!;
      const error = await this.post(accountId, hook, event);
      // Re-read: the subscription (or the whole account) may have been removed while the post was in flight.
      if (!this.present() || !this.db.select({ id: webhooks.id }).from(webhooks).where(eq(webhooks.id, hookId)).get()) return;
      const at = Date.now();
      if (error === null) {
        this.counters.delivered("ok");
        this.db
          .update(webhooks)
          .set({ cursor: event.seq, attempts: 0, nextAttemptAt: null, lastError: null })
          .where(eq(webhooks.id, hookId))
          .run();
        handled += 1;
        continue;
      }
      const attempts = hook.attempts + 1;
      this.counters.delivered(attempts >= this.policy.maxAttempts ? "dead_lettered" : "failed");
      if (attempts >= this.policy.maxAttempts) {
        this.db.transaction((tx) => {
          tx.insert(deadLetters)
            .values({ webhookId: hookId, seq: event.seq, event: eventBody(accountId, event), attempts, lastError: error, failedAt: at })
            .run();
          tx.update(webhooks)
            .set({ cursor: event.seq, attempts: 0, nextAttemptAt: null, lastError: error })
            .where(eq(webhooks.id, hookId))
            .run();
        });
        handled += 1;
        continue;
      }
      this.db
        .update(webhooks)
        .set({ attempts, nextAttemptAt: at + backoff(attempts, this.policy), lastError: error })
        .where(eq(webhooks.id, hookId))
        .run();
      return;
    }
  }

  /** One attempt; null on a 2xx answer, else what went wrong. */
  private async post(accountId: string, hook: WebhookRow, event: RegistrarEvent): Promise<string | null> {
    const body = JSON.stringify(eventBody(accountId, event));
    try {
      const response = await fetch(hook.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "whistle-edge-webhooks/1",
          [EVENT_ID_HEADER]: `${accountId}:${event.seq}`,
          [EVENT_TYPE_HEADER]: event.type,
          [SIGNATURE_HEADER]: await signature(hook.secret, body, Math.floor(Date.now() / 1000)),
        },
        body,
        // A redirect could aim anywhere (and a 307 would post the body again): never followed.
        redirect: "manual",
        signal: AbortSignal.timeout(this.policy.timeoutMs),
      });
      await response.body?.cancel();
      if (response.status >= 300 && response.status < 400) return `HTTP ${response.status}: redirects are not followed`;
      return response.ok ? null : `HTTP ${response.status}`;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }
}

export function eventBody(accountId: string, event: RegistrarEvent): Record<string, string | number | null> {
  return { id: `${accountId}:${event.seq}`, accountId, ...event, at: new Date(event.at).toISOString() };
}

export interface WebhookView {
  id: string;
  url: string;
  types: string[] | null;
  includeRefreshed: boolean;
  /** The last event sequence handled. */
  cursor: number;
  /** Failed attempts at the next event. */
  attempts: number;
  nextAttemptAt: number | null;
  lastError: string | null;
  createdAt: number;
  /** `refused`: the current rule refuses the target; nothing is delivered until it allows it again. */
  state: "active" | "refused";
  refusedReason: string | null;
}

export function webhookView(row: WebhookRow, refusedReason: string | null): WebhookView {
  const { secret: _secret, ...view } = row;
  return { ...view, state: refusedReason === null ? "active" : "refused", refusedReason };
}
