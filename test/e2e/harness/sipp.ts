// SIPp user agents on 127.0.0.1: each run gets its own SIP, control and media ports, a bounded
// lifetime (-timeout, and a kill from here if SIPp itself hangs), and its message trace, error
// trace and screen output in the log directory.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freeUdpPorts, waitUntilUdpBound } from "./ports.ts";
import { spawnLogged, stopGroup, type Logged } from "./processes.ts";

const SCENARIOS = join(import.meta.dirname, "..", "scenarios");

export interface Device {
  username: string;
  password: string;
  realm: string;
}

export interface SippOptions {
  /** Unique name of this run: names its files in the log directory. */
  name: string;
  /** Scenario file in test/e2e/scenarios (without .xml), or the path of a scenario file (with). */
  scenario: string;
  /** Local address to send from (127.0.0.1 when omitted). */
  ip?: string;
  /** ip:port of the switch the scenario talks to (a UAS needs none). */
  remote?: string;
  /** The device whose credentials the scenario uses ([field0..2]). */
  device?: Device;
  /** Password to use instead of the device's own (a wrong one). */
  password?: string;
  /** -s: user part of the request URI ([service]). */
  service?: string;
  /** -key NAME VALUE pairs. */
  keys?: Record<string, string>;
  /** Replaces @@FINAL@@ in the scenario: the final response expected. */
  final?: string;
  /** -d in ms: the length of <pause/> in the scenario. */
  pauseMs?: number;
  /** Local SIP port; a free one when omitted. */
  port?: number;
  /** Seconds before SIPp gives up (-timeout). */
  timeoutSeconds?: number;
  /** The Call-ID to use ([call_id]), e.g. to refresh a registration under its first Call-ID. */
  callId?: string;
  /**
   * The uri the digest signs, without `sip:` (-auth_uri). SIPp's own default is the remote
   * address and port, not the Request-URI, which the edge refuses; without this option the
   * Request-URI of the scenarios here is used.
   */
  authUri?: string;
}

export interface SippResult {
  name: string;
  code: number;
  port: number;
  /** Every SIP message sent and received (-trace_msg). */
  messages: string;
  /** Unexpected messages (-trace_err). */
  errors: string;
  screen: string;
}

export interface SippRun {
  port: number;
  process: Logged;
  done: Promise<SippResult>;
  /** Resolves once SIPp listens on its SIP port (for a UAS that must be up before a call). */
  listening(): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<SippRun>();

/**
 * Every SIP port a SIPp of this process has used: a phone registers from one, then its UAS runs on
 * the same one, so no other SIPp may take it for a control or media port in between.
 */
const claimed = new Set<number>();

/** `count` consecutive free UDP ports, none of them a claimed SIP port. */
async function unclaimedPorts(count: number): Promise<number> {
  for (;;) {
    const first = await freeUdpPorts(count);
    if (!Array.from({ length: count }, (_, i) => first + i).some((p) => claimed.has(p))) return first;
  }
}

export async function startSipp(logDir: string, options: SippOptions): Promise<SippRun> {
  const port = options.port ?? (await unclaimedPorts(1));
  claimed.add(port);
  const control = await unclaimedPorts(1);
  const media = await unclaimedPorts(4);
  const file = (suffix: string) => join(logDir, `sipp-${options.name}.${suffix}`);

  const ip = options.ip ?? "127.0.0.1";
  let scenario = readFileSync(options.scenario.endsWith(".xml") ? options.scenario : join(SCENARIOS, `${options.scenario}.xml`), "utf8");
  if (scenario.includes("@@FINAL@@")) {
    if (!options.final) throw new Error(`${options.scenario}.xml needs a final response`);
    scenario = scenario.replaceAll("@@FINAL@@", options.final);
  }
  writeFileSync(file("xml"), scenario);

  const timeoutSeconds = options.timeoutSeconds ?? 30;
  const args = [
    ...(options.remote ? [options.remote] : []),
    "-sf", file("xml"),
    "-i", ip,
    "-p", String(port),
    "-cp", String(control),
    "-mp", String(media),
    "-m", "1",
    "-l", "1",
    "-nostdin",
    "-timeout", `${timeoutSeconds}s`,
    "-timeout_error",
    "-trace_msg", "-message_file", file("messages.log"),
    "-trace_err", "-error_file", file("errors.log"),
  ];
  if (options.device) {
    const password = options.password ?? options.device.password;
    writeFileSync(
      file("csv"),
      `SEQUENTIAL\n${options.device.username};[authentication username=${options.device.username} password=${password}];${options.device.realm}\n`,
    );
    args.push("-inf", file("csv"));
  }
  if (options.service) args.push("-s", options.service);
  if (options.callId) args.push("-cid_str", options.callId.replaceAll("%", "%%"));
  // The digest signs the Request-URI the scenarios send (sip:[field2], or
  // sip:[service]@[field2] / @[callee_realm] for a call), as a phone's does.
  const authUri =
    options.authUri ??
    (options.device && (options.service ? `${options.service}@${options.keys?.callee_realm ?? options.device.realm}` : options.device.realm));
  if (authUri) args.push("-auth_uri", authUri);
  if (options.pauseMs !== undefined) args.push("-d", String(options.pauseMs));
  for (const [key, value] of Object.entries(options.keys ?? {})) args.push("-key", key, value);

  const process_ = spawnLogged("sipp", args, { log: file("screen.log") });
  const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "");
  // SIPp's own -timeout bounds the run; this kill only catches a SIPp that hangs anyway.
  const guard = setTimeout(() => void stopGroup(process_, 2_000), (timeoutSeconds + 15) * 1000);
  const run: SippRun = {
    port,
    process: process_,
    done: process_.exited.then((code) => {
      clearTimeout(guard);
      running.delete(run);
      return {
        name: options.name,
        code,
        port,
        messages: read(file("messages.log")),
        errors: read(file("errors.log")),
        screen: process_.output(),
      };
    }),
    listening: () => waitUntilUdpBound(ip, port, 10_000, process_.alive),
    stop: async () => {
      clearTimeout(guard);
      await stopGroup(process_, 2_000);
    },
  };
  running.add(run);
  return run;
}

/** Run a scenario to its end. */
export async function sipp(logDir: string, options: SippOptions): Promise<SippResult> {
  return (await startSipp(logDir, options)).done;
}

/** Stop every SIPp this test file started and that is still running. */
export async function stopAllSipp(): Promise<void> {
  await Promise.all([...running].map((run) => run.stop()));
}

/** A readable failure message: the exit code, the errors and the end of the message trace. */
export function describeRun(result: SippResult): string {
  return `sipp ${result.name} exited ${result.code}\n--- errors ---\n${result.errors.slice(-3000)}\n--- messages ---\n${result.messages.slice(-6000)}`;
}

/** Start lines of the SIP messages SIPp received ("SIP/2.0 401 Unauthorized", "INVITE sip:…"). */
export function receivedStartLines(result: SippResult): string[] {
  const lines: string[] = [];
  for (const block of result.messages.split(/-{10,} .*?\n/)) {
    const match = /^UDP message received \[\d+\] bytes :\s*\n+(.*)$/m.exec(block);
    if (match) lines.push(match[1]!.trim());
  }
  return lines;
}

/** Every received message, whole. */
export function receivedMessages(result: SippResult): string[] {
  return result.messages
    .split(/-{10,} .*?\n/)
    .map((block) => /UDP message received \[\d+\] bytes :\s*\n+([\s\S]*)$/.exec(block)?.[1]?.trim())
    .filter((text): text is string => Boolean(text));
}

export interface TracedMessage {
  /** Milliseconds since the epoch, from SIPp's trace (local time, microseconds). */
  at: number;
  direction: "sent" | "received";
  startLine: string;
}

/** Every message SIPp sent or received, with the time its trace gives (for measuring delays). */
export function timeline(result: SippResult): TracedMessage[] {
  const out: TracedMessage[] = [];
  const pattern = /^-{10,} (\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{1,6})\s*\n(?:UDP message (sent|received)[^\n]*\n)\s*\n?([^\n]*)/gm;
  for (const match of result.messages.matchAll(pattern)) {
    const [, y, mo, d, h, mi, s, frac, direction, startLine] = match;
    const at = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)).getTime() + Number(frac!.padEnd(6, "0")) / 1000;
    out.push({ at, direction: direction as "sent" | "received", startLine: startLine!.trim() });
  }
  return out;
}

/** Every message SIPp sent, whole (what a sniffer on the wire saw). */
export function sentMessages(result: SippResult): string[] {
  return result.messages
    .split(/-{10,} .*?\n/)
    .map((block) => /UDP message sent \(\d+ bytes\):\s*\n+([\s\S]*)$/.exec(block)?.[1]?.trim())
    .filter((text): text is string => Boolean(text));
}
