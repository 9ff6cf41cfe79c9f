// One structured log line per switch callback and API call: a JSON object written with
// console.log, which Workers Logs indexes field by field and Logpush ships as is. The line names
// who and what (request id, account, switch, kind), how it ended (HTTP status, outcome) and how
// long it took; it never carries anything from the request's body or headers beyond those ids, so
// no credential, digest, nonce, API key or password can reach it.
//
// Code deeper in the request (the adapters, the switch scope) adds the account and the outcome
// through `noteAccount`/`noteOutcome`; Hono's context storage finds the request they belong to.
import type { Context, MiddlewareHandler } from "hono";
import { contextStorage, tryGetContext } from "hono/context-storage";
import type { Env } from "./env";
import { isKnownAccount } from "./known-accounts";

export interface RequestLogLine {
  /** Always "request": tells these lines apart from any other log output. */
  msg: "request";
  /** Cloudflare's Ray ID in production; a random id where there is none (locally). */
  requestId: string;
  method: string;
  /** The route's path, without the query string. */
  path: string;
  /** What was asked: `api`, `kamailio.authorize`, `freeswitch.directory`, … (a small fixed set). */
  kind: string;
  /** Account id (hex), when the request concerned one account. */
  account: string | null;
  /** Switch id, for switch callbacks whose credential was valid. */
  switch: string | null;
  status: number;
  /** The answer in the caller's terms: the SIP status of a Kamailio decision, `found`/`not_found` for FreeSWITCH, else `ok`/`refused`/`error` from the HTTP status. */
  outcome: string;
  durationMs: number;
}

interface Notes {
  account: string | null;
  /** Whether the noted account is an account (known-accounts.ts), asked as soon as it is noted. */
  known: boolean | Promise<boolean> | null;
  kind: string | null;
  outcome: string | null;
}

/** The account field of a switch callback whose realm no account has: one value for every such realm. */
export const UNKNOWN_ACCOUNT = "unknown";

type LogVariables = { requestLog: Notes; switch?: { id: string } };
type LogEnv = { Bindings: Env; Variables: LogVariables };

/**
 * The switch callbacks by route. A kind is a log field and a metrics label, so it comes from this
 * fixed set and never from the path itself: a path no route has would otherwise mint a new kind,
 * and a new metrics series kept for good, per request.
 */
const CALLBACK_KINDS: Record<string, string> = {
  "/kamailio/v1/authorize": "kamailio.authorize",
  "/kamailio/v1/locate": "kamailio.locate",
  "/kamailio/v1/keepalive": "kamailio.keepalive",
  "/freeswitch/v1/xml": "freeswitch.xml",
  "/freeswitch/v1/events": "freeswitch.event",
};

/** The kind of a request from its path alone; adapters refine it (`noteKind`). */
export function kindOfPath(path: string): string {
  if (path.startsWith("/api/")) return "api";
  return CALLBACK_KINDS[path] ?? "other";
}

const ACCOUNT_IN_PATH = /^\/api\/v1\/accounts\/([0-9a-f]{64})(?:\/|$)/;

function outcomeOfStatus(status: number): string {
  if (status >= 500) return "error";
  if (status >= 400) return "refused";
  return "ok";
}

function notes(): Notes | undefined {
  return tryGetContext<{ Variables: LogVariables }>()?.get("requestLog");
}

/**
 * The account this request concerns (first one noted wins: a call names its caller's account
 * first). A switch callback names it by realm, so whether it is an account is asked at once, while
 * the request goes on; the line says `unknown` for a realm no account has.
 */
export function noteAccount(accountId: string): void {
  const c = tryGetContext<LogEnv>();
  const n = c?.get("requestLog");
  if (!c || !n || n.account !== null) return;
  n.account = accountId;
  n.known = isKnownAccount(c.env, accountId, Date.now());
  // A lookup that ends after the answer is still awaited by the middleware; never unhandled.
  if (n.known instanceof Promise) n.known.catch(() => {});
}

export function noteKind(kind: string): void {
  const n = notes();
  if (n) n.kind = kind;
}

export function noteOutcome(outcome: string): void {
  const n = notes();
  if (n) n.outcome = outcome;
}

/** Build the line for a finished request (exported for the metrics, which count the same facts). */
export function lineFor(c: Context, started: number, now: number): RequestLogLine {
  const n = (c.get("requestLog") as Notes | undefined) ?? { account: null, known: null, kind: null, outcome: null };
  const path = new URL(c.req.url).pathname;
  const status = c.res.status;
  const principal = c.get("principal") as { kind: string; accountId?: string } | undefined;
  // An account noted by realm counts once known to be an account (the middleware waits for the answer).
  const noted = n.account === null ? null : n.known === false ? UNKNOWN_ACCOUNT : n.account;
  const account = noted ?? ACCOUNT_IN_PATH.exec(path)?.[1] ?? (principal?.kind === "account" ? principal.accountId! : null);
  const sw = c.get("switch") as { id: string } | undefined;
  return {
    msg: "request",
    requestId: c.req.header("cf-ray") ?? crypto.randomUUID(),
    method: c.req.method,
    path,
    kind: n.kind ?? kindOfPath(path),
    account,
    switch: sw?.id ?? null,
    status,
    outcome: n.outcome ?? outcomeOfStatus(status),
    durationMs: Math.max(0, now - started),
  };
}

/**
 * The middleware: opens the request's notes, runs the request, writes the line. `written` lets
 * the caller act on the finished line as well (the metrics do).
 */
export function requestLog(written?: (line: RequestLogLine, c: Context) => void): MiddlewareHandler[] {
  const storage = contextStorage();
  const log: MiddlewareHandler = async (c, next) => {
    const n: Notes = { account: null, known: null, kind: null, outcome: null };
    c.set("requestLog", n);
    const started = performance.now();
    try {
      await next();
    } finally {
      const finished = performance.now();
      if (n.known instanceof Promise) n.known = await n.known.catch(() => false);
      const line = lineFor(c, started, finished);
      console.log(JSON.stringify(line));
      written?.(line, c);
    }
  };
  return [storage, log];
}
