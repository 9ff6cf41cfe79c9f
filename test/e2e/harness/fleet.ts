// The whole test bed: the edge, the account acme.test with devices 1001–1004, switches A and B
// provisioned on the edge, and two Kamailio instances from the shipped cfg.
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { apiClient, startEdge, type Edge, type EdgeInfo } from "./edge.ts";
import { kamailioRunDir, startKamailio, type KamailioSwitch, type SwitchSettings } from "./kamailio.ts";
import { udpPortFree } from "./ports.ts";
import type { Device } from "./sipp.ts";

export const REALM = "acme.test";
export const NONCE_TTL_SECONDS = 4;
export const LOCKOUT = { threshold: 3, windowSeconds: 300, durationSeconds: 600 };
/**
 * Fleet timing, shortened so switch loss and draining show within seconds: a switch silent for
 * SWITCH_LOST_AFTER_MS is lost; switch records (credential, state) are cached SWITCH_CACHE_TTL_MS;
 * a draining switch's devices are registered for SWITCH_DRAIN_EXPIRES s (the account's minExpires
 * is 2); each Kamailio posts a keepalive every KEEPALIVE_INTERVAL s. The threshold is suite-wide:
 * a keepalive every second (the edge records one at most every threshold / 3 = 2 s) leaves a few
 * seconds of margin, so an edge stalled for a moment on a busy machine does not make a switch look
 * lost to the other files' calls.
 */
export const FLEET_TIMING = { lostAfterMs: 6_000, cacheTtlMs: 1_000, drainExpires: 3, keepaliveInterval: 1 };

export interface SwitchInfo {
  name: string;
  id: string;
  ip: string;
  /** ip:5060, what SIPp sends to. */
  remote: string;
  log: string;
  /** What it was started with and where its pid file is: enough to stop and start it again. */
  settings: SwitchSettings;
  runDir: string;
}

export interface FleetInfo {
  logDir: string;
  edge: EdgeInfo;
  accountId: string;
  devices: Record<string, Device & { id: string }>;
  switches: { a: SwitchInfo; b: SwitchInfo };
}

export interface Fleet {
  info: FleetInfo;
  stop(): Promise<void>;
}

export async function startFleet(logDir: string): Promise<Fleet> {
  mkdirSync(logDir, { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    for (const ip of ["127.0.0.2", "127.0.0.3"]) {
      if (!(await udpPortFree(ip, 5060))) throw new Error(`udp ${ip}:5060 is taken: another switch is running there`);
    }

    const edge: Edge = await startEdge(logDir, {
      NONCE_TTL_SECONDS: String(NONCE_TTL_SECONDS),
      // SIPp 3.6.1 joins two WWW-Authenticate headers into one and reads the first algorithm it
      // finds (SHA-256), which it cannot compute: its phones get MD5 challenges only.
      DIGEST_ALGORITHMS: "MD5",
      SWITCH_LOST_AFTER_MS: String(FLEET_TIMING.lostAfterMs),
      SWITCH_CACHE_TTL_MS: String(FLEET_TIMING.cacheTtlMs),
      SWITCH_DRAIN_EXPIRES: String(FLEET_TIMING.drainExpires),
    });
    stops.push(edge.stop);
    const api = apiClient(edge);

    // `npm start` seeds a demo switch at sip:127.0.0.1:5060. The edge recognises fleet switches by
    // source host alone, so with it in place every SIPp device on 127.0.0.1 would look like a
    // switch; this suite's fleet is A and B only.
    const seeded = await api<{ items: { id: string }[] }>("GET", "/switches?limit=500");
    for (const old of seeded.items) await api("DELETE", `/switches/${old.id}`);

    const account = await api<{ id: string }>("POST", "/accounts", {
      realm: REALM,
      name: "Acme (e2e)",
      policy: { minExpires: 2 },
      lockout: LOCKOUT,
    });
    const devices: FleetInfo["devices"] = {};
    for (const username of ["1001", "1002", "1003", "1004"]) {
      const password = `pw-${username}-${randomBytes(6).toString("hex")}`;
      const device = await api<{ id: string }>("POST", `/accounts/${account.id}/devices`, { username, password });
      devices[username] = { id: device.id, username, password, realm: REALM };
    }

    const created: Record<string, { switch: { id: string }; credential: string }> = {};
    for (const [name, ip] of [["a", "127.0.0.2"], ["b", "127.0.0.3"]] as const) {
      created[name] = await api("POST", "/switches", { name: `e2e-${name}`, address: `sip:${ip}:5060` });
    }
    const edgeHostPort = new URL(edge.base).host;
    const kamailios: Record<string, KamailioSwitch> = {};
    const settings: Record<string, SwitchSettings> = {};
    for (const [name, ip, peer] of [["a", "127.0.0.2", "127.0.0.3"], ["b", "127.0.0.3", "127.0.0.2"]] as const) {
      settings[name] = {
        name,
        ip,
        edgeHostPort,
        switchId: created[name]!.switch.id,
        credential: created[name]!.credential,
        peers: [peer],
        keepaliveInterval: FLEET_TIMING.keepaliveInterval,
      };
      const sw = await startKamailio(settings[name]!, logDir);
      stops.push(sw.stop);
      kamailios[name] = sw;
    }
    const info = (name: "a" | "b"): SwitchInfo => ({
      name,
      id: created[name]!.switch.id,
      ip: kamailios[name]!.ip,
      remote: `${kamailios[name]!.ip}:5060`,
      log: kamailios[name]!.log,
      settings: settings[name]!,
      runDir: kamailioRunDir(logDir, name),
    });
    return {
      info: {
        logDir,
        edge: { base: edge.base, operatorKey: edge.operatorKey, log: edge.log },
        accountId: account.id,
        devices,
        switches: { a: info("a"), b: info("b") },
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export function runLogDir(root: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return join(root, `run-${stamp}-${process.pid}`);
}
