// /accounts/{accountId}/api-keys: keys scoped to one account. Shown once, stored as SHA-256.
import { createRoute } from "@hono/zod-openapi";
import { and, asc, eq, gt } from "drizzle-orm";
import { apiKeys } from "../../catalog/schema";
import { catalog } from "../catalog";
import { issueAccountKey } from "./auth";
import { type Api, iso, json, jsonBody, problems, registrarFor, security } from "./common";
import { ProblemError } from "./problem";
import { AccountParams, ApiKey, ApiKeyCreate, ApiKeyParams, ApiKeyWithSecret, Deleted, Pagination, pageOf } from "./schemas";

const tags = ["API keys"];

const keyView = (row: typeof apiKeys.$inferSelect) => ({
  id: row.id,
  accountId: row.accountId,
  name: row.name,
  createdAt: iso(row.createdAt),
});

export function registerApiKeyRoutes(api: Api) {
  api.openapi(
    createRoute({
      method: "post",
      path: "/accounts/{accountId}/api-keys",
      tags,
      security,
      summary: "Issue an API key for this account (the key is shown only in this answer)",
      request: { params: AccountParams, body: jsonBody(ApiKeyCreate) },
      responses: { 201: json(ApiKeyWithSecret, "The key and its record."), ...problems(400, 401, 403, 404, 413, 415) },
    }),
    async (c) => {
      const { accountId } = c.req.valid("param");
      await registrarFor(c, accountId); // the key may reach this account, and it exists
      const issued = await issueAccountKey();
      const row = await catalog(c.env)
        .insert(apiKeys)
        .values({ id: issued.id, accountId, name: c.req.valid("json").name, secretHash: issued.secretHash, createdAt: Date.now() })
        .returning()
        .get();
      return c.json({ apiKey: keyView(row), key: issued.key }, 201);
    },
  );

  api.openapi(
    createRoute({
      method: "get",
      path: "/accounts/{accountId}/api-keys",
      tags,
      security,
      summary: "List the account's API keys (never the keys themselves)",
      request: { params: AccountParams, query: Pagination },
      responses: { 200: json(pageOf(ApiKey, "ApiKeyPage"), "A page of keys."), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const { accountId } = c.req.valid("param");
      await registrarFor(c, accountId); // the key may reach this account, and it exists
      const { limit, after } = c.req.valid("query");
      const rows = await catalog(c.env)
        .select()
        .from(apiKeys)
        .where(and(eq(apiKeys.accountId, accountId), after === undefined ? undefined : gt(apiKeys.id, after)))
        .orderBy(asc(apiKeys.id))
        .limit(limit + 1)
        .all();
      const items = rows.slice(0, limit).map(keyView);
      return c.json({ items, next: rows.length > limit ? items.at(-1)!.id : null }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: "delete",
      path: "/accounts/{accountId}/api-keys/{keyId}",
      tags,
      security,
      summary: "Revoke an API key (effective on the next call)",
      request: { params: ApiKeyParams },
      responses: { 200: json(Deleted, "The key is revoked."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { accountId, keyId } = c.req.valid("param");
      await registrarFor(c, accountId); // the key may reach this account, and it exists
      const removed = await catalog(c.env)
        .delete(apiKeys)
        .where(and(eq(apiKeys.id, keyId), eq(apiKeys.accountId, accountId)))
        .returning({ id: apiKeys.id })
        .all();
      if (removed.length === 0) throw new ProblemError(404, `no API key ${keyId} in this account`, [{ field: "keyId", message: "unknown key" }]);
      return c.json({ deleted: keyId }, 200);
    },
  );
}
