// One Kamailio switch from the shipped cfg, in the foreground (-DD -E) so its log goes to a file,
// with its own pid file, run dir and working dir; ready once it answers a SIP OPTIONS.
import { createSocket } from "node:dgram";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./edge.ts";
import { sleep, udpPortFree } from "./ports.ts";
import { signalGroup, spawnLogged, stopGroup, waitFor, type Logged } from "./processes.ts";

export const KAMAILIO_CFG = join(ROOT, "switches", "kamailio", "kamailio.cfg");

export interface SwitchSettings {
  name: string;
  /** Loopback address the switch listens on. */
  ip: string;
  /** SIP port; 5060 unless told. */
  port?: number;
  edgeHostPort: string;
  switchId: string;
  credential: string;
  peers: string[];
  /** Seconds between keepalives to the edge (-A KEEPALIVE_INTERVAL); the cfg's default unless told. */
  keepaliveInterval?: number;
  /** Base of the Retry-After sent when the edge is unreachable (-A EDGE_RETRY_AFTER); the cfg's default unless told. */
  retryAfter?: number;
}

export interface KamailioSwitch {
  name: string;
  ip: string;
  port: number;
  log: string;
  output(): string;
  stop(): Promise<void>;
}

/** A Kamailio process: which cfg, where it listens, its size, and the rest of its command line. */
export interface KamailioProcessSettings {
  name: string;
  cfg: string;
  ip: string;
  port: number;
  /** -m: shared memory in MB. */
  memoryMb: number;
  /** -A CHILDREN: UDP worker processes (the shipped cfg and bench/sip/classic.cfg read it). */
  children: number;
  /** Further arguments: -A defines, --substdef values, --debug. */
  extra: string[];
}

/** Kamailio in the foreground (-DD -E, log to stderr) with its pid file, run dir and working dir in `runDir`. */
export function kamailioProcessArgs(settings: KamailioProcessSettings, runDir: string): string[] {
  return [
    "-f", settings.cfg,
    "-P", join(runDir, "kamailio.pid"),
    "-Y", runDir,
    "-w", runDir,
    "-DD", "-E",
    "-m", String(settings.memoryMb),
    "-A", `LISTEN=udp:${settings.ip}:${settings.port}`,
    "-A", `CHILDREN=${settings.children}`,
    ...settings.extra,
  ];
}

/** A switch of the end-to-end fleet: the shipped cfg, asking the edge. */
export function switchProcess(settings: SwitchSettings): KamailioProcessSettings {
  return {
    name: settings.name,
    cfg: KAMAILIO_CFG,
    ip: settings.ip,
    port: settings.port ?? 5060,
    memoryMb: 64,
    children: 2,
    extra: [
      "--debug=3",
      `--substdef=!EDGE_HOSTPORT!${settings.edgeHostPort}!g`,
      `--substdef=!EDGE_SWITCH_ID!${settings.switchId}!g`,
      `--substdef=!EDGE_SWITCH_CREDENTIAL!${settings.credential}!g`,
      "-A", `PEER_SWITCHES="${settings.peers.map((ip) => `${ip}/32`).join(",")}"`,
      ...(settings.keepaliveInterval !== undefined ? ["-A", `KEEPALIVE_INTERVAL=${settings.keepaliveInterval}`] : []),
      ...(settings.retryAfter !== undefined ? ["-A", `EDGE_RETRY_AFTER=${settings.retryAfter}`] : []),
    ],
  };
}

export const kamailioRunDir = (logDir: string, name: string) => join(logDir, `kamailio-${name}`);

/** The main process of the switch `name` as its pid file names it (the latest start), or null. */
function pidFromFile(runDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(runDir, "kamailio.pid"), "utf8").trim());
    return pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stop the switch whose pid file is in `runDir`, whichever process started it (the global setup,
 * or a test file that restarted it): `signal` to its process group (Kamailio in the foreground is
 * its group's leader; its workers are in the group), SIGKILL after `graceMs`, and resolve once the
 * main process is gone and its SIP port is free. SIGKILL first is a crash: no goodbye to anyone.
 */
export async function stopByPidFile(runDir: string, ip: string, port: number, signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<void> {
  const pid = pidFromFile(runDir);
  if (pid !== null && running(pid)) {
    signalGroup(pid, signal);
    const deadline = Date.now() + graceMs;
    while (running(pid) && Date.now() < deadline) await sleep(50);
    if (running(pid)) {
      signalGroup(pid, "SIGKILL");
      const last = Date.now() + 5_000;
      while (running(pid) && Date.now() < last) await sleep(50);
    }
  }
  const portDeadline = Date.now() + 10_000;
  while (!(await udpPortFree(ip, port))) {
    if (Date.now() > portDeadline) throw new Error(`udp ${ip}:${port} still taken after stopping the switch in ${runDir}`);
    await sleep(50);
  }
}

export async function startKamailio(settings: SwitchSettings, logDir: string): Promise<KamailioSwitch> {
  return startKamailioProcess(switchProcess(settings), logDir);
}

/**
 * Start Kamailio and resolve once it answers a SIP OPTIONS (30 s at most). Its log is
 * `kamailio-<name>.log` in `logDir`; `stop` ends it by its pid file and waits for its SIP port.
 */
export async function startKamailioProcess(settings: KamailioProcessSettings, logDir: string): Promise<KamailioSwitch & { pid: number | undefined }> {
  const runDir = kamailioRunDir(logDir, settings.name);
  mkdirSync(runDir, { recursive: true });
  const process_: Logged = spawnLogged("kamailio", kamailioProcessArgs(settings, runDir), { log: join(logDir, `kamailio-${settings.name}.log`) });
  // A switch may outlive the test file that (re)started it: its stop goes by the pid file.
  process_.child.unref();
  const stop = async () => {
    // The pid file names the main process of the latest start (a test may have restarted the
    // switch since); the group holds its workers.
    await stopByPidFile(runDir, settings.ip, settings.port).catch(() => undefined);
    await stopGroup(process_);
    if (process_.child.pid !== undefined) signalGroup(process_.child.pid, "SIGKILL");
  };
  try {
    await waitFor(`kamailio ${settings.name} answers OPTIONS`, () => optionsProbe(settings.ip, settings.port), 30_000, process_);
  } catch (error) {
    await stop();
    throw error;
  }
  return { name: settings.name, ip: settings.ip, port: settings.port, log: process_.log, output: process_.output, stop, pid: process_.child.pid };
}

/** One OPTIONS to the switch itself; true when it answers 200 within 500 ms. */
export async function optionsProbe(ip: string, port: number): Promise<boolean> {
  return (await optionsStatus(ip, port)) === 200;
}

/** One OPTIONS to a switch: the status of its answer, or null without one within 500 ms. */
export function optionsStatus(ip: string, port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    const done = (status: number | null) => {
      clearTimeout(timer);
      socket.close();
      resolve(status);
    };
    const timer = setTimeout(() => done(null), 500);
    socket.on("message", (message) => {
      const status = /^SIP\/2\.0 (\d{3})/.exec(message.toString())?.[1];
      // A provisional answer is not the answer.
      if (status && Number(status) >= 200) done(Number(status));
    });
    socket.on("error", () => done(null));
    socket.bind(0, "127.0.0.1", () => {
      const { port: local } = socket.address();
      const branch = `z9hG4bK-probe-${Math.random().toString(36).slice(2)}`;
      const request = [
        `OPTIONS sip:${ip}:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=${branch};rport`,
        `From: <sip:probe@127.0.0.1>;tag=${branch.slice(-8)}`,
        `To: <sip:${ip}:${port}>`,
        `Call-ID: ${branch}@127.0.0.1`,
        "CSeq: 1 OPTIONS",
        "Max-Forwards: 70",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
      socket.send(request, port, ip);
    });
  });
}
