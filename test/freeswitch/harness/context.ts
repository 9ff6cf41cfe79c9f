// What a test file of the FreeSWITCH suite needs: the bed's description, the API, the requests the
// edge received (counted by the pass-through), the switches' own view (fs_cli), processes to stop
// and start, and a clean slate of registrations.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { beforeAll, inject } from "vitest";
import { optionsStatus } from "../../e2e/harness/kamailio";
import { apiClient } from "../../e2e/harness/edge";
import { sleep } from "../../e2e/harness/ports";
import { sipp, startSipp, type Device } from "../../e2e/harness/sipp";
import type { EdgeRequest } from "./counter";
import { cli } from "./freeswitch";
import type { SwitchName } from "./bed";

export interface Phone {
  device: Device & { id: string };
  /** Its SIP port, once it has registered. */
  port: number | undefined;
  callId: string;
  cseq: number;
}

export interface Registration {
  id: number;
  deviceId?: string;
  aor: string;
  contact: string;
  received: string | null;
  switchId: string | null;
  callId: string;
  expiresIn: number;
}

export interface SwitchStatus {
  id: string;
  state: "alive" | "draining" | "lost" | "unseen";
  lastSeenAt: string | null;
  bindingsHeld: number;
}
export const SCENARIOS = join(import.meta.dirname, "..", "scenarios");

export function testBed() {
  const bed = inject("bed");
  const api = apiClient(bed.edge);
  const account = `/accounts/${bed.accountId}`;

  // Each file starts with both switches out of standby: an earlier file's outage ends when the
  // hook's deliverer next reaches the edge (its pause grows to 5 s), which can be after that file
  // has finished. Waiting here keeps a file's outcome independent of the one before it.
  beforeAll(async () => {
    for (const name of Object.keys(bed.switches) as SwitchName[]) {
      await until(`switch ${name} answering (not in standby)`, () => optionsStatus(bed.switches[name].ip, 5060), (status) => status === 200, 30_000);
    }
  }, 40_000);

  async function registrations(deviceId?: string): Promise<Registration[]> {
    const query = deviceId ? `?deviceId=${deviceId}&limit=500` : "?limit=500";
    return (await api<{ items: Registration[] }>("GET", `${account}/registrations${query}`)).items;
  }

  async function clearRegistrations(): Promise<void> {
    for (const registration of await registrations()) {
      await api("DELETE", `${account}/registrations/${registration.id}`, undefined, undefined).catch(() => undefined);
    }
  }

  /** Poll until `check` holds; answers the last value. */
  async function until<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (check(value)) return value;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
      await sleep(100);
    }
  }

  const switchStatus = (id: string) => api<SwitchStatus>("GET", `/switches/${id}`);

  async function control(path: string): Promise<unknown> {
    const response = await fetch(`${bed.control}${path}`, { method: path === "/requests" ? "GET" : "POST" });
    const body = await response.json();
    if (!response.ok) throw new Error(`control ${path}: ${JSON.stringify(body)}`);
    return body;
  }

  /** Every request the edge received so far, in order. */
  const requests = async () => (await control("/requests")) as EdgeRequest[];

  /**
   * The requests that arrive after `since` (a count taken before), waiting until `settled` holds
   * for them and then a quiet moment, so a request that should not come has had its chance.
   */
  async function requestsAfter(since: number, settled: (list: EdgeRequest[]) => boolean, quietMs = 1_500): Promise<EdgeRequest[]> {
    await until("the edge requests expected", async () => (await requests()).slice(since), settled, 10_000);
    await sleep(quietMs);
    return (await requests()).slice(since);
  }

  /** A switch's own registrations of a phone (its contact), as `sofia status profile internal reg` lists them. */
  async function switchRegistrations(name: SwitchName, who: Phone): Promise<string[]> {
    const output = await cli(bed.switches[name].ip, `sofia status profile internal reg ${who.device.username}`);
    return output.split("\n").filter((line) => line.startsWith("Contact:") && line.includes(`@127.0.0.1:${who.port}>`));
  }

  /** A phone: one device at one contact (its SIP port, fixed by its first REGISTER) with one Call-ID. */
  function phone(device: Device & { id: string }): Phone {
    return { device, port: undefined, callId: `${device.username}-${randomBytes(8).toString("hex")}@whistle.test`, cseq: 1 };
  }

  /**
   * The phone registers (or refreshes) through a switch with SIPp: same contact and Call-ID each
   * time, CSeq counting up. `final` is the answer expected after the digest (200 by default).
   */
  async function register(name: string, sw: SwitchName, who: Phone, options: { expires?: number; final?: string; password?: string; ip?: string } = {}) {
    const run = await sipp(bed.logDir, {
      name,
      ...(options.ip && { ip: options.ip }),
      scenario: join(SCENARIOS, "register.xml"),
      remote: bed.switches[sw].remote,
      device: who.device,
      ...(options.password && { password: options.password }),
      ...(who.port !== undefined && { port: who.port }),
      callId: who.callId,
      authUri: who.device.realm,
      keys: { expires: String(options.expires ?? 120), cseq: String(who.cseq), cseq2: String(who.cseq + 1) },
      final: options.final ?? "200",
    });
    who.port = run.port;
    who.cseq += 2;
    return run;
  }

  /** The phone answers its next call (SIPp UAS on its registered port); `done` ends after the BYE. */
  async function answer(name: string, who: Phone) {
    if (who.port === undefined) throw new Error("the phone has not registered");
    const uas = await startSipp(bed.logDir, { name, scenario: "uas", port: who.port, pauseMs: 100, timeoutSeconds: 30 });
    await uas.listening();
    return uas;
  }

  /** The phone calls `destination` through a switch (407, then the digest); `final` is what it expects. */
  function call(name: string, sw: SwitchName, who: Phone, destination: string, final?: string) {
    return sipp(bed.logDir, {
      name,
      scenario: final ? join(SCENARIOS, "call-refused.xml") : "call",
      remote: bed.switches[sw].remote,
      device: who.device,
      service: destination,
      authUri: `${destination}@${who.device.realm}`,
      ...(final && { final }),
      timeoutSeconds: 30,
    });
  }

  return {
    answer,
    call,
    bed,
    api,
    account,
    registrations,
    clearRegistrations,
    until,
    switchStatus,
    control,
    requests,
    requestsAfter,
    switchRegistrations,
    phone,
    register,
    logDir: bed.logDir,
  };
}

/** What the switches asked the edge, heartbeats left out: "a directory:sip_auth 1001 200". */
export function asked(list: EdgeRequest[]): string[] {
  return list.filter((r) => r.event !== "HEARTBEAT").map((r) => `${r.switch} ${r.event ?? r.kind} ${r.user ?? ""} ${r.status}`.replace("  ", " "));
}

/** The expiry a 200 OK granted the contact at `port` (from its Contact header). */
export function grantedExpiry(ok: string, port: number): number {
  const line = ok.split(/\r?\n/).find((l) => /^Contact:/i.test(l) && l.includes(`:${port}`));
  const match = line && /expires=(\d+)/i.exec(line);
  if (!match) throw new Error(`no Contact with expires for port ${port} in:\n${ok}`);
  return Number(match[1]);
}
