// Test helpers: call the Worker the way a client does, with the operator or an account key.
import { env, exports } from "cloudflare:workers";

export const OPERATOR = `Bearer ${env.OPERATOR_API_KEY}`;

export interface Reply<T = any> {
  status: number;
  contentType: string;
  body: T;
}

export async function call<T = any>(
  method: string,
  path: string,
  options: { auth?: string | null; body?: unknown; raw?: string; contentType?: string } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = {};
  const auth = options.auth === undefined ? OPERATOR : options.auth;
  if (auth !== null) headers.authorization = auth;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers["content-type"] = options.contentType ?? "application/json";
  const response = await exports.default.fetch(new Request(`https://edge.test/api/v1${path}`, { method, headers, body }));
  const text = await response.text();
  const contentType = response.headers.get("content-type") ?? "";
  return { status: response.status, contentType, body: text && contentType.includes("json") ? JSON.parse(text) : (text as T) };
}

let counter = 0;
/** A realm no other test in this file uses. */
export function uniqueRealm(label = "acme"): string {
  counter += 1;
  return `${label}-${counter}-${Math.random().toString(36).slice(2, 8)}.sip.test`;
}

export async function createAccount(overrides: Record<string, unknown> = {}) {
  const reply = await call("POST", "/accounts", { body: { realm: uniqueRealm(), name: "Acme", ...overrides } });
  if (reply.status !== 201) throw new Error(`account create failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body as { id: string; realm: string; policy: Record<string, unknown> };
}

export async function accountKey(accountId: string): Promise<string> {
  const reply = await call("POST", `/accounts/${accountId}/api-keys`, { body: { name: "test" } });
  if (reply.status !== 201) throw new Error(`key create failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return `Bearer ${reply.body.key}`;
}

export async function createDevice(accountId: string, username = "1001", password = "s3cret-1001", auth?: string) {
  const reply = await call("POST", `/accounts/${accountId}/devices`, { auth, body: { username, password } });
  if (reply.status !== 201) throw new Error(`device create failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body as { id: string; username: string };
}
