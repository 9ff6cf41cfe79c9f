// The account's webhook subscriptions as the API sees them: subscribe (the signing secret shown
// once), list, remove, and the events a subscription gave up on. Deliveries are webhooks.ts.
import { and, asc, eq, gt } from "drizzle-orm";
import { randomHex, randomId } from "../../registrar/bytes";
import type { Account } from "./account";
import type { EventLog } from "./events";
import { ok, refuse, type Outcome } from "./outcome";
import type { Page } from "./records";
import { page, type Db } from "./rows";
import { deadLetters, webhooks } from "./schema";
import { webhookView, type WebhookDispatcher, type WebhookView } from "./webhooks";

const NO_WEBHOOK = (webhookId: string) => refuse("not_found", `no webhook ${webhookId} in this account`, "webhookId");

export class WebhookSubscriptions {
  constructor(
    private readonly db: Db,
    private readonly account: Account,
    private readonly dispatcher: WebhookDispatcher,
    private readonly log: EventLog,
  ) {}

  /** Subscribe a URL to the account's events from now on. Answers the signing secret, once. */
  subscribe(input: { url: string; types: string[] | null; includeRefreshed: boolean }): Outcome<{ webhook: WebhookView; secret: string }> {
    if (!this.account.row()) return refuse("not_found", "no such account", "accountId");
    const secret = `whsec_${randomHex(24)}`;
    const row = this.db
      .insert(webhooks)
      .values({
        id: randomId("wh"),
        url: input.url,
        types: input.types,
        includeRefreshed: input.includeRefreshed,
        secret,
        cursor: this.log.latest(),
        attempts: 0,
        nextAttemptAt: null,
        lastError: null,
        createdAt: Date.now(),
      })
      .returning()
      .get();
    this.dispatcher.forget();
    return ok({ webhook: webhookView(row, this.dispatcher.refusal(row)), secret });
  }

  list(): WebhookView[] {
    if (!this.account.hasSchema) return [];
    return this.dispatcher.all().map((row) => webhookView(row, this.dispatcher.refusal(row)));
  }

  remove(webhookId: string): Outcome<{ deleted: string }> {
    if (!this.account.hasSchema) return NO_WEBHOOK(webhookId);
    const removed = this.db.delete(webhooks).where(eq(webhooks.id, webhookId)).returning({ id: webhooks.id }).all();
    this.dispatcher.forget();
    return removed.length > 0 ? ok({ deleted: webhookId }) : NO_WEBHOOK(webhookId);
  }

  /** Events a subscription gave up on, oldest first. */
  deadLetters(webhookId: string, limit: number, after: number | null): Outcome<Page<typeof deadLetters.$inferSelect>> {
    if (!this.account.hasSchema || !this.dispatcher.all().some((hook) => hook.id === webhookId)) return NO_WEBHOOK(webhookId);
    const rows = this.db
      .select()
      .from(deadLetters)
      .where(and(eq(deadLetters.webhookId, webhookId), after === null ? undefined : gt(deadLetters.id, after)))
      .orderBy(asc(deadLetters.id))
      .limit(limit + 1)
      .all();
    return ok(page(rows, limit, (row) => String(row.id)));
  }
}
