// What a test file needs from the running test bed: its description, the API, the edge's request
// log, and a clean slate of registrations.
import { readFileSync } from "node:fs";
import { inject } from "vitest";
import { apiClient, edgeRequests } from "./edge.ts";
import { sleep } from "./ports.ts";

export interface Registration {
  id: number;
  deviceId?: string;
  aor: string;
  contact: string;
  received: string | null;
  switchId: string | null;
  expiresIn: number;
  userAgent?: string | null;
}

export type SwitchState = "alive" | "draining" | "lost" | "unseen";

export interface SwitchStatus {
  id: string;
  name: string;
  address: string;
  state: SwitchState;
  lastSeenAt: string | null;
  bindingsHeld: number;
}

export function testBed() {
  const fleet = inject("fleet");
  const api = apiClient(fleet.edge);
  const account = `/accounts/${fleet.accountId}`;

  async function registrations(deviceId?: string): Promise<Registration[]> {
    const query = deviceId ? `?deviceId=${deviceId}&limit=500` : "?limit=500";
    return (await api<{ items: Registration[] }>("GET", `${account}/registrations${query}`)).items;
  }

  async function clearRegistrations(): Promise<void> {
    for (const registration of await registrations()) {
      await api("DELETE", `${account}/registrations/${registration.id}`);
    }
  }

  /** Poll the registrations until `check` holds (the API is the edge's truth, read live). */
  async function waitForRegistrations(what: string, check: (items: Registration[]) => boolean, timeoutMs: number, deviceId?: string) {
    const deadline = Date.now() + timeoutMs;
    let items: Registration[] = [];
    for (;;) {
      items = await registrations(deviceId);
      if (check(items)) return items;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; registrations: ${JSON.stringify(items)}`);
      await sleep(200);
    }
  }

  const edgeLog = () => readFileSync(fleet.edge.log, "utf8");

  /** Requests to `path` the edge logged since `since` (a count taken before). */
  async function edgeRequestsSince(path: string, since: number, expected: number): Promise<string[]> {
    // wrangler prints the line when the answer is sent; allow it a moment, then make sure no
    // further request trickles in.
    const deadline = Date.now() + 5_000;
    while (edgeRequests(edgeLog(), path).length - since < expected && Date.now() < deadline) await sleep(100);
    await sleep(300);
    return edgeRequests(edgeLog(), path).slice(since);
  }

  const edgeCount = (path: string) => edgeRequests(edgeLog(), path).length;

  const switchStatus = (id: string) => api<SwitchStatus>("GET", `/switches/${id}`);

  /** Poll GET /switches/{id} until `check` holds; answers the status and when it first held. */
  async function waitForSwitch(what: string, id: string, check: (status: SwitchStatus) => boolean, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    let status: SwitchStatus | undefined;
    for (;;) {
      status = await switchStatus(id);
      if (check(status)) return { status, at: Date.now() };
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; switch: ${JSON.stringify(status)}`);
      await sleep(200);
    }
  }

  return { fleet, api, account, switchStatus, waitForSwitch, registrations, clearRegistrations, waitForRegistrations, edgeLog, edgeCount, edgeRequestsSince, logDir: fleet.logDir };
}
