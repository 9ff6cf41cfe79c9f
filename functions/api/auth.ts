// Who is calling the provisioning API: the operator (a Worker secret) or one account (a hashed key in the catalog).
import { eq } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { apiKeys } from "../../catalog/schema";
import { catalog } from "../catalog";
import type { Env } from "../env";
import { constantTimeEqual, randomHex, randomSecret, sha256Hex } from "../../registrar/bytes";
import { problemResponse } from "./problem";

export type Principal = { kind: "operator" } | { kind: "account"; accountId: string; keyId: string };

export type ApiVariables = { principal: Principal };

/** Account keys look like `wek_<key id>_<secret>`; only SHA-256(secret) is stored. */
const ACCOUNT_KEY = /^wek_([0-9a-f]{20})_([A-Za-z0-9_-]{32})$/;

export interface IssuedKey {
  id: string;
  key: string;
  secretHash: string;
}

export async function issueAccountKey(): Promise<IssuedKey> {
  const id = randomHex(10);
  const secret = randomSecret(24);
  return { id, key: `wek_${id}_${secret}`, secretHash: await sha256Hex(secret) };
}

export async function principalFor(env: Env, presented: string): Promise<Principal | null> {
  const operatorKey = env.OPERATOR_API_KEY ?? "";
  if (operatorKey.length >= 16 && constantTimeEqual(await sha256Hex(presented), await sha256Hex(operatorKey))) {
    return { kind: "operator" };
  }
  const match = ACCOUNT_KEY.exec(presented);
  if (!match) return null;
  const [, keyId, secret] = match as unknown as [string, string, string];
  const row = await catalog(env).select().from(apiKeys).where(eq(apiKeys.id, keyId)).get();
  if (!row || !constantTimeEqual(await sha256Hex(secret), row.secretHash)) return null;
  return { kind: "account", accountId: row.accountId, keyId: row.id };
}

/** Every API call carries `Authorization: Bearer <key>`. */
export const requireApiKey: MiddlewareHandler<{ Bindings: Env; Variables: ApiVariables }> = async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  // Browsers cannot set headers on a WebSocket: they offer the key as a subprotocol `bearer.<key>`.
  const fromProtocol = (c.req.header("sec-websocket-protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .find((p) => p.startsWith("bearer."))
    ?.slice("bearer.".length);
  const presented = /^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? fromProtocol;
  if (!presented) return problemResponse(401, "send an API key as `Authorization: Bearer <key>`", [{ field: "Authorization", message: "missing API key" }]);
  const principal = await principalFor(c.env, presented);
  if (!principal) return problemResponse(401, "the API key is not valid", [{ field: "Authorization", message: "unknown or revoked API key" }]);
  c.set("principal", principal);
  await next();
};

export function isOperator(principal: Principal): boolean {
  return principal.kind === "operator";
}

export function mayAccess(principal: Principal, accountId: string): boolean {
  return principal.kind === "operator" || principal.accountId === accountId;
}
