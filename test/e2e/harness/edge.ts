// The edge as `npm start` runs it (scripts/start.mjs on workerd), on a free port with a fresh
// state directory, plus a small client for the provisioning API with the operator key.
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeTcpPort } from "./ports.ts";
import { spawnLogged, stopGroup, waitFor, type Logged } from "./processes.ts";

export const ROOT = join(import.meta.dirname, "..", "..", "..");

export interface EdgeInfo {
  base: string;
  operatorKey: string;
  log: string;
}

export interface Edge extends EdgeInfo {
  stop(): Promise<void>;
}

/**
 * `again`: start on the port and state directory of an edge stopped before (same operator key),
 * keeping its state; that state directory is then left for the caller to remove.
 */
export async function startEdge(
  logDir: string,
  vars: Record<string, string>,
  again?: { port: number; stateDir: string; operatorKey: string },
): Promise<Edge & { port: number; stateDir: string; pid: number | undefined }> {
  const port = again?.port ?? (await freeTcpPort());
  const stateDir = again?.stateDir ?? mkdtempSync(join(tmpdir(), "whistle-e2e-state-"));
  const operatorKey = again?.operatorKey ?? `op_e2e_${randomBytes(18).toString("base64url")}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    STATE_DIR: stateDir,
    EDGE_VAR_OPERATOR_API_KEY: operatorKey,
  };
  for (const [name, value] of Object.entries(vars)) env[`EDGE_VAR_${name}`] = value;
  // A restart appends to the same log: wait for this start's line, not the last start's.
  const log = join(logDir, "edge.log");
  const servingLines = (text: string) => text.split("Whistle Edge is serving").length - 1;
  const servedBefore = existsSync(log) ? servingLines(readFileSync(log, "utf8")) : 0;
  const server: Logged = spawnLogged(process.execPath, [join(ROOT, "scripts", "start.mjs")], {
    cwd: ROOT,
    env,
    log: join(logDir, "edge.log"),
  });
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopGroup(server);
    if (!again) rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await waitFor("the edge prints that it is serving", () => servingLines(server.output()) > servedBefore, 240_000, server);
    await waitFor(
      "the edge answers /healthz",
      async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok === true,
      240_000,
      server,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { base, operatorKey, log: server.log, stop, port, stateDir, pid: server.child.pid };
}

export class ApiError extends Error {}

/** The provisioning API with the operator key; throws on any status but the expected one. */
export function apiClient(edge: EdgeInfo) {
  return async function api<T = any>(method: string, path: string, body?: unknown, expected?: number): Promise<T> {
    const response = await fetch(`${edge.base}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${edge.operatorKey}`, ...(body !== undefined && { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const want = expected ?? (method === "POST" ? 201 : method === "DELETE" ? 204 : 200);
    if (response.status !== want && !(expected === undefined && response.ok)) {
      throw new ApiError(`${method} ${path}: ${response.status} ${text}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

/** Lines of the edge's request log (wrangler prints one per request) for one path. */
export function edgeRequests(output: string, path: string): string[] {
  return output.split("\n").filter((line) => line.includes(`[wrangler:info]`) && line.includes(` ${path} `));
}
