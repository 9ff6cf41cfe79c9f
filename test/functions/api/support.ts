// Shared pieces of the provisioning API tests: raw requests with headers, problem assertions,
// and reading collections back to show that a refused write changed nothing.
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { OPERATOR, call, type Reply } from "../../helpers";

export const PROBLEM = "application/problem+json";
export const JSON_TYPE = "application/json";

export interface RawReply {
  status: number;
  headers: Headers;
  text: string;
}

/** A request exactly as given: no default content type, any body, any headers. */
export async function send(method: string, path: string, init: { headers?: Record<string, string>; body?: BodyInit } = {}): Promise<RawReply> {
  const response = await exports.default.fetch(
    new Request(`https://edge.test/api/v1${path}`, { method, headers: init.headers ?? {}, body: init.body }),
  );
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Assert a problem document: status, content type, `status` member, and the fields named in `errors`. */
export function expectProblem(reply: Reply, status: number, ...fields: string[]): void {
  expect({ status: reply.status, contentType: reply.contentType }).toEqual({ status, contentType: PROBLEM });
  expect(reply.body).toMatchObject({ type: `https://whistle-edge.dev/problems/${status}`, status });
  expect(typeof reply.body.title).toBe("string");
  expect(typeof reply.body.detail).toBe("string");
  if (fields.length > 0) expect(reply.body.errors.map((e: { field: string }) => e.field)).toEqual(fields);
}

/** Assert a JSON success answer and hand back its body. */
export function expectJson<T = any>(reply: Reply<T>, status: number): T {
  expect({ status: reply.status, contentType: reply.contentType }).toEqual({ status, contentType: JSON_TYPE });
  return reply.body;
}

/** Every item of a collection, following `next` (operator key unless told). */
export async function listAll(path: string, auth: string = OPERATOR): Promise<unknown[]> {
  const items: unknown[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 100; pages += 1) {
    const separator = path.includes("?") ? "&" : "?";
    const reply: Reply = await call("GET", `${path}${separator}limit=500${after === null ? "" : `&after=${encodeURIComponent(after)}`}`, { auth });
    expect(reply.status).toBe(200);
    items.push(...reply.body.items);
    after = reply.body.next;
    if (after === null) return items;
  }
  throw new Error(`${path}: more than 100 pages`);
}

/** What an account holds, read back with the operator key. */
export async function accountSnapshot(accountId: string) {
  const account = await call("GET", `/accounts/${accountId}`);
  return {
    account: { status: account.status, body: account.body },
    devices: await listAll(`/accounts/${accountId}/devices`),
    numbers: await listAll(`/accounts/${accountId}/numbers`),
    registrations: await listAll(`/accounts/${accountId}/registrations`),
    apiKeys: await listAll(`/accounts/${accountId}/api-keys`),
  };
}

/** A fresh E.164 number for this file. */
let numberCounter = 0;
export function uniqueNumber(): string {
  numberCounter += 1;
  return `+1415${String(Math.floor(Math.random() * 1000)).padStart(3, "0")}${String(numberCounter).padStart(4, "0")}`;
}

