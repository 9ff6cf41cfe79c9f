// /accounts/{accountId}/webhooks: signed deliveries of the account's events to a URL, retried,
// with a dead-letter list. Delivery runs in the account's object (see docs/events.md).
import { createRoute, z } from "@hono/zod-openapi";
import { EVENT_TYPES } from "../../durable-objects/account-registrar/events";
import type { WebhookView } from "../../durable-objects/account-registrar/webhooks";
import { webhookTargetProblem } from "../../registrar/webhook-target";
import { type Api, iso, json, jsonBody, problems, registrarFor, security } from "./common";
import { ProblemError, unwrap } from "./problem";
import { AccountParams, Deleted, Pagination, PlainText, pageOf } from "./schemas";

const tags = ["Webhooks"];

const WebhookCreate = z
  .object({
    url: PlainText.url().max(2048).openapi({ example: "https://hooks.example.net/whistle" }),
    types: z.array(z.enum(EVENT_TYPES)).min(1).optional().openapi({ description: "Event types to deliver; all when omitted." }),
    includeRefreshed: z.boolean().optional().openapi({ description: "Also deliver binding.refreshed (off by default: the most frequent event)." }),
  })
  .strict()
  .openapi("WebhookCreate");

const Webhook = z
  .object({
    id: z.string(),
    url: z.string(),
    types: z.array(z.string()).nullable(),
    includeRefreshed: z.boolean(),
    cursor: z.number().int().openapi({ description: "The last event sequence handled." }),
    attempts: z.number().int().openapi({ description: "Failed attempts at the next event." }),
    nextAttemptAt: z.string().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    state: z.enum(["active", "refused"]).openapi({
      description: "refused: the current rule refuses the target (a private or local address, or plain http without WEBHOOK_ALLOW_PRIVATE); nothing is delivered and its events wait until the rule allows it again.",
    }),
    refusedReason: z.string().nullable().openapi({ description: "Why the target is refused; null when active." }),
  })
  .openapi("Webhook");

const WebhookWithSecret = z
  .object({ webhook: Webhook, secret: z.string().openapi({ description: "Shown once: the HMAC-SHA256 key of the Whistle-Signature header." }) })
  .openapi("WebhookWithSecret");

const DeadLetter = z
  .object({ id: z.number().int(), seq: z.number().int(), event: z.record(z.string(), z.unknown()), attempts: z.number().int(), lastError: z.string(), failedAt: z.string() })
  .openapi("DeadLetter");

const WebhookParams = AccountParams.extend({
  webhookId: PlainText.min(1).max(64).openapi({ param: { name: "webhookId", in: "path" } }),
});

const view = (w: WebhookView) => ({ ...w, nextAttemptAt: w.nextAttemptAt === null ? null : iso(w.nextAttemptAt), createdAt: iso(w.createdAt) });

export function registerWebhookRoutes(api: Api) {
  api.openapi(
    createRoute({
      method: "post",
      path: "/accounts/{accountId}/webhooks",
      tags,
      security,
      summary: "Subscribe a URL to the account's events (from now on); the signing secret is in this answer only",
      request: { params: AccountParams, body: jsonBody(WebhookCreate) },
      responses: { 201: json(WebhookWithSecret, "The subscription and its secret."), ...problems(400, 401, 403, 404, 413, 415, 422) },
    }),
    async (c) => {
      const stub = await registrarFor(c, c.req.valid("param").accountId);
      const input = c.req.valid("json");
      const refused = webhookTargetProblem(input.url, c.env.WEBHOOK_ALLOW_PRIVATE === "true");
      if (refused) throw new ProblemError(422, `this webhook URL is not allowed: ${refused}`, [{ field: "url", message: refused }]);
      const created = unwrap(await stub.subscribeWebhook({ url: input.url, types: input.types ?? null, includeRefreshed: input.includeRefreshed ?? false }));
      return c.json({ webhook: view(created.webhook), secret: created.secret }, 201);
    },
  );

  api.openapi(
    createRoute({
      method: "get",
      path: "/accounts/{accountId}/webhooks",
      tags,
      security,
      summary: "List subscriptions with their delivery state",
      request: { params: AccountParams },
      responses: { 200: json(z.object({ items: z.array(Webhook) }).openapi("WebhookList"), "Subscriptions."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const stub = await registrarFor(c, c.req.valid("param").accountId);
      return c.json({ items: (await stub.listWebhooks()).map(view) }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: "delete",
      path: "/accounts/{accountId}/webhooks/{webhookId}",
      tags,
      security,
      summary: "Remove a subscription",
      request: { params: WebhookParams },
      responses: { 200: json(Deleted, "Removed."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { accountId, webhookId } = c.req.valid("param");
      const stub = await registrarFor(c, accountId);
      return c.json(unwrap(await stub.removeWebhook(webhookId)), 200);
    },
  );

  api.openapi(
    createRoute({
      method: "get",
      path: "/accounts/{accountId}/webhooks/{webhookId}/dead-letters",
      tags,
      security,
      summary: "Events this subscription gave up on after every retry",
      request: { params: WebhookParams, query: Pagination },
      responses: { 200: json(pageOf(DeadLetter, "DeadLetterPage"), "Dead letters, oldest first."), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const { accountId, webhookId } = c.req.valid("param");
      const { limit, after } = c.req.valid("query");
      const stub = await registrarFor(c, accountId);
      const afterId = after === undefined ? null : Number(after);
      if (afterId !== null && !Number.isSafeInteger(afterId)) {
        throw new ProblemError(400, "`after` must be the `next` value of a previous page", [{ field: "after", message: "not a cursor" }]);
      }
      const result = unwrap(await stub.deadLetters(webhookId, limit, afterId));
      return c.json({ items: result.items.map((d) => ({ ...d, failedAt: iso(d.failedAt) })), next: result.next }, 200);
    },
  );
}
