// The FreeSWITCH test bed: the edge (`npm start` on a free port, its own state), a counting
// pass-through the switches talk to, the account acme.test with devices and a number, and two
// FreeSWITCH switches, A on 127.0.0.4 and B on 127.0.0.5, configured from switches/freeswitch/.
// The test files run in other processes: they stop and start the edge and the switches through a
// small control server here, which owns every process.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiClient, startEdge, type EdgeInfo } from "../../e2e/harness/edge";
import { freeTcpPort, udpPortFree } from "../../e2e/harness/ports";
import type { Device } from "../../e2e/harness/sipp";
import { startCounter, type Counter } from "./counter";
import { configure, freeswitchDirs, startFreeswitch, stopFreeswitch, type FreeswitchDirs, type FreeswitchSettings } from "./freeswitch";

export const REALM = "acme.test";
/** A carrier sends calls to numbers from here; both switches trust it (peers ACL), as a peer. */
export const CARRIER_IP = "127.0.0.6";
export const NUMBER = "+15105550101";
export const LOCKOUT = { threshold: 3, windowSeconds: 300, durationSeconds: 600 };
/** Forced registration interval the account hands out (seconds, no jitter): short, so expiry shows. */
export const POLICY = { minExpires: 2, defaultExpires: 120, maxExpires: 3600, expiresJitter: 0 };
/**
 * Fleet timing, shortened so loss and draining show within seconds: a heartbeat every 2 s, a switch
 * silent for 8 s is lost, a draining switch's devices get 3 s. The edge's switch snapshot lives
 * SWITCH_CACHE_TTL_MS, here 15 s (5 s in production): long enough for a switch to restart within
 * one snapshot's life, so the test of its return would fail if routing waited for a new snapshot.
 */
export const FLEET_TIMING =
  // `npm run bench:outage` measures with the shipped heartbeat (20 s) and the edge's own defaults.
  process.env.FREESWITCH_BED_TIMING === "production"
    ? { heartbeatSeconds: 20, lostAfterMs: 60_000, cacheTtlMs: 5_000, drainExpires: 60 }
    : { heartbeatSeconds: 2, lostAfterMs: 8_000, cacheTtlMs: 15_000, drainExpires: 3 };

export type SwitchName = "a" | "b";

export interface SwitchInfo {
  name: SwitchName;
  id: string;
  ip: string;
  /** ip:5060, what SIPp sends to. */
  remote: string;
  home: string;
  log: string;
}

export interface BedInfo {
  logDir: string;
  edge: EdgeInfo;
  /** The control server: requests counted, processes stopped and started. */
  control: string;
  accountId: string;
  devices: Record<string, Device & { id: string }>;
  switches: Record<SwitchName, SwitchInfo>;
}

export interface Bed {
  info: BedInfo;
  stop(): Promise<void>;
}

const IPS: Record<SwitchName, string> = { a: "127.0.0.4", b: "127.0.0.5" };

export async function startBed(logDir: string): Promise<Bed> {
  mkdirSync(logDir, { recursive: true });
  const stops: [string, () => Promise<void>][] = [];
  const stop = async () => {
    for (const [what, step] of stops.reverse()) {
      const started = Date.now();
      await step().catch((error: unknown) => console.error(`freeswitch bed: stopping ${what}`, error));
      console.log(`freeswitch bed: stopped ${what} in ${Date.now() - started} ms`);
    }
  };
  try {
    for (const ip of Object.values(IPS)) {
      if (!(await udpPortFree(ip, 5060))) throw new Error(`udp ${ip}:5060 is taken: another switch is running there`);
    }
    const vars = {
      SWITCH_LOST_AFTER_MS: String(FLEET_TIMING.lostAfterMs),
      SWITCH_CACHE_TTL_MS: String(FLEET_TIMING.cacheTtlMs),
      SWITCH_DRAIN_EXPIRES: String(FLEET_TIMING.drainExpires),
    };
    const place = {
      port: await freeTcpPort(),
      stateDir: mkdtempSync(join(tmpdir(), "whistle-fs-state-")),
      operatorKey: `op_fs_${randomBytes(18).toString("base64url")}`,
    };
    stops.push(["the edge's state", async () => rmSync(place.stateDir, { recursive: true, force: true })]);
    let edge = await startEdge(logDir, vars, place);
    let edgeRunning = true;
    stops.push([
      "the edge",
      async () => {
        if (edgeRunning) await edge.stop();
      },
    ]);
    const api = apiClient(edge);

    // `npm start` seeds a demo switch; this suite's fleet is A and B only.
    const seeded = await api<{ items: { id: string }[] }>("GET", "/switches?limit=500");
    for (const old of seeded.items) await api("DELETE", `/switches/${old.id}`);

    const account = await api<{ id: string }>("POST", "/accounts", { realm: REALM, name: "Acme (FreeSWITCH)", policy: POLICY, lockout: LOCKOUT });
    const devices: BedInfo["devices"] = {};
    for (const username of ["1001", "1002", "1003", "1004", "1005", "1006", "1007"]) {
      const password = `pw-${username}-${randomBytes(6).toString("hex")}`;
      const device = await api<{ id: string }>("POST", `/accounts/${account.id}/devices`, { username, password });
      devices[username] = { id: device.id, username, password, realm: REALM };
    }
    await api("POST", `/accounts/${account.id}/numbers`, { number: NUMBER, deviceId: devices["1001"]!.id });

    const created = {} as Record<SwitchName, { switch: { id: string }; credential: string }>;
    for (const name of ["a", "b"] as const) {
      created[name] = await api("POST", "/switches", { name: `fs-${name}`, address: `sip:${IPS[name]}:5060` });
    }
    const identify = (headers: IncomingHttpHeaders) => {
      const token = headers["x-edge-token"];
      const basic = /^Basic (.+)$/.exec(headers.authorization ?? "")?.[1];
      const credential = typeof token === "string" ? token : basic ? Buffer.from(basic, "base64").toString().split(":").slice(1).join(":") : "";
      return (["a", "b"] as const).find((name) => created[name].credential === credential) ?? "?";
    };
    const counter: Counter = await startCounter(() => place.port, identify);
    stops.push(["the counting pass-through", counter.stop]);

    const settings = {} as Record<SwitchName, FreeswitchSettings>;
    const dirs = {} as Record<SwitchName, FreeswitchDirs>;
    // Both switches stop together (each takes a few seconds to shut down).
    stops.push([
      "the switches",
      async () => {
        await Promise.all(Object.values(dirs).map((switchDirs) => stopFreeswitch(switchDirs)));
      },
    ]);
    for (const [index, name] of (["a", "b"] as const).entries()) {
      settings[name] = {
        name,
        ip: IPS[name],
        edgeUrl: `http://127.0.0.1:${counter.port}`,
        switchId: created[name].switch.id,
        credential: created[name].credential,
        peers: [IPS.a, IPS.b, CARRIER_IP],
        rtpPorts: [31000 + index * 200, 31199 + index * 200],
        heartbeatSeconds: FLEET_TIMING.heartbeatSeconds,
      };
      dirs[name] = freeswitchDirs(logDir, name);
      configure(settings[name], dirs[name]);
      await startFreeswitch(settings[name], dirs[name]);
    }

    // The control server: the test files' handle on the processes and the request count.
    const control = createServer((incoming, reply) => {
      const url = new URL(incoming.url ?? "/", "http://control");
      const answer = (status: number, body: unknown) => {
        reply.writeHead(status, { "content-type": "application/json" });
        reply.end(JSON.stringify(body));
      };
      const act = async (): Promise<unknown> => {
        if (incoming.method === "GET" && url.pathname === "/requests") return counter.requests;
        const mode = /^\/edge\/(swallow|answer|fail-events|pass-events|only-heartbeats|all)$/.exec(url.pathname);
        if (incoming.method === "POST" && mode) {
          if (mode[1] === "swallow" || mode[1] === "answer") counter.swallow(mode[1] === "swallow");
          else if (mode[1] === "only-heartbeats" || mode[1] === "all") counter.onlyHeartbeats(mode[1] === "only-heartbeats");
          else if (mode[1] === "pass-events") counter.failEvents(null);
          else {
            const user = url.searchParams.get("user");
            if (!user) throw new Error("fail-events needs ?user=");
            counter.failEvents(user);
          }
          return { done: url.pathname };
        }
        const step = /^\/(edge|switch\/(a|b))\/(stop|start)$/.exec(url.pathname);
        if (incoming.method !== "POST" || !step) throw new Error(`no such control: ${incoming.method} ${url.pathname}`);
        const name = step[2] as SwitchName | undefined;
        if (name && step[3] === "stop") await stopFreeswitch(dirs[name]);
        else if (name) await startFreeswitch(settings[name], dirs[name]);
        else if (step[3] === "stop") {
          await counter.close();
          await edge.stop();
          edgeRunning = false;
        } else if (!edgeRunning) {
          edge = await startEdge(logDir, vars, place);
          edgeRunning = true;
          await counter.open();
        }
        return { done: url.pathname };
      };
      act().then(
        (body) => answer(200, body),
        (error: Error) => answer(500, { error: error.message }),
      );
    });
    await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
    stops.push([
      "the control server",
      () =>
        new Promise<void>((resolve) => {
          control.closeAllConnections();
          control.close(() => resolve());
        }),
    ]);

    const info = (name: SwitchName): SwitchInfo => ({
      name,
      id: created[name].switch.id,
      ip: IPS[name],
      remote: `${IPS[name]}:5060`,
      home: dirs[name].home,
      log: join(dirs[name].log, "freeswitch.log"),
    });
    return {
      info: {
        logDir,
        edge: { base: edge.base, operatorKey: edge.operatorKey, log: edge.log },
        control: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
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
