// Pieces every route module shares: the API's Hono type, problem responses in route
// definitions, record formatting, and reaching an account's object with access checked.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { eq, inArray } from "drizzle-orm";
import type { AccountRegistrar } from "../../durable-objects/account-registrar/AccountRegistrar";
import type { DeviceRecord, NumberRecord } from "../../durable-objects/account-registrar/records";
import type { Binding } from "../../registrar/types";
import { accounts } from "../../catalog/schema";
import { registrarForId } from "../accounts";
import { catalog } from "../catalog";
import type { Env } from "../env";
import { mayAccess, type ApiVariables } from "./auth";
import { ProblemError } from "./problem";
import { ProblemSchema } from "./schemas";

export type ApiEnv = { Bindings: Env; Variables: ApiVariables };
export type Api = OpenAPIHono<ApiEnv>;
export type ApiContext = Context<ApiEnv>;

const PROBLEM_TEXT: Record<number, string> = {
  400: "The request is malformed or a field is invalid (see `errors`).",
  401: "No valid API key.",
  403: "The API key may not do this.",
  404: "No such resource (or not in this account).",
  409: "Conflicts with an existing resource (see `errors`).",
  413: "The body is larger than 64 KiB.",
  415: "The body is not JSON.",
  422: "Valid JSON, but not a valid change (see `errors`).",
};

/** OpenAPI response entries for the problem documents a route can answer. */
export function problems(...statuses: (keyof typeof PROBLEM_TEXT)[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: PROBLEM_TEXT[status]!, content: { "application/problem+json": { schema: ProblemSchema } } },
    ]),
  );
}

export const json = <T>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const jsonBody = <T>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

export const security = [{ apiKey: [] }];

export const iso = (ms: number) => new Date(ms).toISOString();

export function deviceView(d: DeviceRecord) {
  return {
    ...d,
    lockedUntil: d.lockedUntil !== null && d.lockedUntil > Date.now() ? iso(d.lockedUntil) : null,
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
  };
}

export function numberView(n: NumberRecord) {
  return { ...n, createdAt: iso(n.createdAt) };
}

export function registrationView(b: Binding, now: number) {
  return {
    id: b.id,
    deviceId: b.deviceId,
    aor: b.aor,
    contact: b.contact,
    instanceId: b.instanceId,
    regId: b.regId,
    callId: b.callId,
    cseq: b.cseq,
    q: b.q,
    path: b.path,
    received: b.received,
    userAgent: b.userAgent,
    switchId: b.switchId,
    expiresAt: iso(b.expiresAt),
    expiresIn: Math.max(0, Math.ceil((b.expiresAt - now) / 1000)),
    createdAt: iso(b.createdAt),
    updatedAt: iso(b.updatedAt),
  };
}

/**
 * The account's object, after checking that the caller may touch this account and that it exists.
 * An account key is only ever issued for an existing account; the operator's calls are checked
 * against the catalog, so an unknown id never creates an object.
 */
export async function registrarFor(
  c: ApiContext,
  accountId: string,
): Promise<DurableObjectStub<AccountRegistrar>> {
  const principal = c.get("principal");
  if (!mayAccess(principal, accountId)) {
    throw new ProblemError(403, "this API key is scoped to another account", [{ field: "accountId", message: "not this key's account" }]);
  }
  if (principal.kind === "operator") {
    const row = await catalog(c.env).select({ id: accounts.id }).from(accounts).where(eq(accounts.id, accountId)).get();
    if (!row) throw unknownAccount(accountId);
  }
  const stub = registrarForId(c.env, accountId);
  if (!stub) throw unknownAccount(accountId);
  return stub;
}

const unknownAccount = (accountId: string) =>
  new ProblemError(404, `no account ${accountId}`, [{ field: "accountId", message: "unknown account" }]);

/** Refuse unless the caller holds the operator key. */
export function operatorOnly(c: ApiContext): void {
  if (c.get("principal").kind !== "operator") {
    throw new ProblemError(403, "only the operator key may do this", [{ field: "Authorization", message: "operator key required" }]);
  }
}

/** Account ids as given, each once, all of existing accounts; otherwise a 422 naming `field`. */
export async function existingAccounts(c: ApiContext, ids: string[], field: string): Promise<string[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return unique;
  const found = await catalog(c.env).select({ id: accounts.id }).from(accounts).where(inArray(accounts.id, unique)).all();
  const known = new Set(found.map((row) => row.id));
  const unknown = unique.filter((id) => !known.has(id));
  if (unknown.length > 0) throw new ProblemError(422, `no account ${unknown.join(", ")}`, [{ field, message: "unknown account" }]);
  return unique;
}
