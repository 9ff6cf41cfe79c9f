// /accounts: create (operator), list, read, change, delete (operator).
import { createRoute } from "@hono/zod-openapi";
import { and, asc, eq, gt } from "drizzle-orm";
import { policyInconsistency } from "../../registrar/policy";
import type { AccountRecord, RegionHint } from "../../durable-objects/account-registrar/records";
import { DEFAULT_LOCKOUT } from "../../registrar/lockout";
import { DEFAULT_POLICY } from "../../registrar/types";
import { accounts, apiKeys, numbers } from "../../catalog/schema";
import { accountIdForRealm, registrarForId } from "../accounts";
import { catalog } from "../catalog";
import { type Api, type ApiContext, existingAccounts, iso, json, jsonBody, operatorOnly, problems, registrarFor, security } from "./common";
import { ProblemError, unwrap } from "./problem";
import { Account, AccountCreate, AccountParams, AccountSummary, AccountUpdate, Deleted, Pagination, pageOf } from "./schemas";
import { forgetKnownAccounts } from "../known-accounts";

const tags = ["Accounts"];

const accountView = (a: AccountRecord) => ({ ...a, createdAt: iso(a.createdAt), updatedAt: iso(a.updatedAt) });

export function registerAccountRoutes(api: Api) {
  api.openapi(
    createRoute({
      method: "post",
      path: "/accounts",
      tags,
      security,
      summary: "Create an account (operator key)",
      request: { body: jsonBody(AccountCreate) },
      responses: { 201: json(Account, "The new account."), ...problems(400, 401, 403, 409, 413, 415, 422) },
    }),
    async (c) => {
      operatorOnly(c);
      const input = c.req.valid("json");
      const policy = { ...DEFAULT_POLICY, ...input.policy };
      const inconsistency = policyInconsistency(policy);
      if (inconsistency) throw new ProblemError(422, inconsistency.detail, [{ field: inconsistency.field, message: inconsistency.detail }]);
      const jurisdiction = input.jurisdiction ?? null;
      const id = accountIdForRealm(c.env, input.realm, jurisdiction);
      const calls = await callPolicy(c, input.calls);
      const inserted = await catalog(c.env)
        .insert(accounts)
        .values({ id, realm: input.realm, name: input.name, jurisdiction, regionHint: input.regionHint ?? null, createdAt: Date.now() })
        .onConflictDoNothing()
        .returning({ id: accounts.id })
        .all();
      if (inserted.length === 0) {
        throw new ProblemError(409, `realm ${input.realm} is already an account`, [{ field: "realm", message: "already in use" }]);
      }
      const stub = registrarForId(c.env, id, input.regionHint)!;
      let created: AccountRecord;
      try {
        const outcome = await stub.initialize({
          id,
          realm: input.realm,
          name: input.name,
          jurisdiction,
          regionHint: input.regionHint ?? null,
          policy,
          lockout: { ...DEFAULT_LOCKOUT, ...input.lockout },
          ...(calls && { calls }),
        });
        if (!outcome.ok) throw new Error(outcome.refusal.detail);
        created = outcome.value;
      } catch (error) {
        // Keep the catalog and the object in step: no account row without an initialised object.
        await catalog(c.env).delete(accounts).where(eq(accounts.id, id)).run();
        throw error;
      }
      // The list (catalog) and the account (object) must show the same creation time.
      await catalog(c.env).update(accounts).set({ createdAt: created.createdAt }).where(eq(accounts.id, id)).run();
      forgetKnownAccounts();
      return c.json(accountView(created), 201);
    },
  );

  api.openapi(
    createRoute({
      method: "get",
      path: "/accounts",
      tags,
      security,
      summary: "List accounts (an account key sees only its own)",
      request: { query: Pagination },
      responses: { 200: json(pageOf(AccountSummary, "AccountPage"), "A page of accounts."), ...problems(400, 401) },
    }),
    async (c) => {
      const { limit, after } = c.req.valid("query");
      const principal = c.get("principal");
      const rows = await catalog(c.env)
        .select()
        .from(accounts)
        .where(
          and(
            principal.kind === "account" ? eq(accounts.id, principal.accountId) : undefined,
            after === undefined ? undefined : gt(accounts.id, after),
          ),
        )
        .orderBy(asc(accounts.id))
        .limit(limit + 1)
        .all();
      const items = rows.slice(0, limit).map((r) => ({
        id: r.id,
        realm: r.realm,
        name: r.name,
        regionHint: (r.regionHint ?? null) as RegionHint | null,
        jurisdiction: r.jurisdiction === "eu" ? ("eu" as const) : null,
        createdAt: iso(r.createdAt),
      }));
      return c.json({ items, next: rows.length > limit ? items.at(-1)!.id : null }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: "get",
      path: "/accounts/{accountId}",
      tags,
      security,
      summary: "Read an account",
      request: { params: AccountParams },
      responses: { 200: json(Account, "The account."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const stub = await registrarFor(c, c.req.valid("param").accountId);
      const outcome = await stub.describe();
      return c.json(accountView(unwrap(outcome)), 200);
    },
  );

  api.openapi(
    createRoute({
      method: "patch",
      path: "/accounts/{accountId}",
      tags,
      security,
      summary: "Rename an account or change its registration, lockout or call policy (the call policy: operator key)",
      request: { params: AccountParams, body: jsonBody(AccountUpdate) },
      responses: { 200: json(Account, "The changed account."), ...problems(400, 401, 403, 404, 413, 415, 422) },
    }),
    async (c) => {
      const stub = await registrarFor(c, c.req.valid("param").accountId);
      const changes = c.req.valid("json");
      if (changes.calls !== undefined && c.get("principal").kind !== "operator") {
        throw new ProblemError(403, "only the operator key may change which accounts an account may call", [
          { field: "calls", message: "operator key required" },
        ]);
      }
      const calls = await callPolicy(c, changes.calls);
      const outcome = await stub.updateAccount({ ...changes, ...(calls && { calls }) });
      return c.json(accountView(unwrap(outcome)), 200);
    },
  );

  api.openapi(
    createRoute({
      method: "delete",
      path: "/accounts/{accountId}",
      tags,
      security,
      summary: "Delete an account with its devices, numbers, registrations and keys (operator key)",
      request: { params: AccountParams },
      responses: { 200: json(Deleted, "The account is gone."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      operatorOnly(c);
      const { accountId } = c.req.valid("param");
      const stub = await registrarFor(c, accountId);
      await stub.destroy();
      const db = catalog(c.env);
      await db.batch([
        db.delete(numbers).where(eq(numbers.accountId, accountId)),
        db.delete(apiKeys).where(eq(apiKeys.accountId, accountId)),
        db.delete(accounts).where(eq(accounts.id, accountId)),
      ]);
      forgetKnownAccounts();
      return c.json({ deleted: accountId }, 200);
    },
  );
}

/**
 * A call policy as given, each account named once, every one an existing account; undefined when
 * none was given. Who may call into an account's devices is a matter between two tenants, so the
 * operator sets it (checked by the caller of this function).
 */
async function callPolicy(c: ApiContext, input: { allowedAccounts: string[] } | undefined) {
  if (input === undefined) return undefined;
  return { allowedAccounts: await existingAccounts(c, input.allowedAccounts, "calls.allowedAccounts") };
}
