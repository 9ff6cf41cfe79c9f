// Child processes of the suite: each in its own process group (so its children go with it), its
// output written straight into a log file, stopped with SIGTERM then SIGKILL.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { sleep } from "./ports.ts";

export interface Logged {
  child: ChildProcess;
  log: string;
  /** Resolves with the exit code, or -1 when a signal ended the process. */
  exited: Promise<number>;
  alive(): boolean;
  output(): string;
}

export function spawnLogged(command: string, args: string[], options: { log: string; cwd?: string; env?: NodeJS.ProcessEnv }): Logged {
  mkdirSync(dirname(options.log), { recursive: true });
  const fd = openSync(options.log, "a");
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  let code: number | null = null;
  const exited = new Promise<number>((resolve) => {
    child.once("exit", (exitCode) => {
      code = exitCode ?? -1;
      resolve(code);
    });
    child.once("error", () => {
      code = -1;
      resolve(-1);
    });
  });
  return {
    child,
    log: options.log,
    exited,
    alive: () => code === null,
    output: () => (existsSync(options.log) ? readFileSync(options.log, "utf8") : ""),
  };
}

/** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the leader has exited. */
export async function stopGroup(process_: Logged, graceMs = 10_000): Promise<void> {
  if (!process_.alive() || process_.child.pid === undefined) return;
  signalGroup(process_.child.pid, "SIGTERM");
  const stopped = await Promise.race([process_.exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!stopped) {
    signalGroup(process_.child.pid, "SIGKILL");
    await Promise.race([process_.exited, sleep(5_000)]);
  }
}

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

/** Wait for `predicate` (polled), failing early when the process died or after `timeoutMs`. */
export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs: number, process_?: Logged): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (process_ && !process_.alive()) throw new Error(`${what}: the process exited early; log ${process_.log}:\n${tail(process_.output())}`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${process_ ? `; log ${process_.log}:\n${tail(process_.output())}` : ""}`);
    await sleep(100);
  }
}

export function tail(text: string, lines = 40): string {
  return text.split("\n").slice(-lines).join("\n");
}
