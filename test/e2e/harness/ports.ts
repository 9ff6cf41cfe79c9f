// Free ports on loopback, found by binding them: TCP for the edge, runs of UDP ports for SIPp
// (its SIP port, control port and media ports). A port handed out once is never handed out again
// in this run, so two SIPp processes started back to back cannot collide.
import { createSocket } from "node:dgram";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";

const handedOut = new Set<number>();

export function freeTcpPort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Whether a UDP port can be bound right now (false while some process holds it). */
export function udpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    socket.once("error", () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}

function ephemeralUdpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, host, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** The first of `count` consecutive UDP ports that are all free (SIPp's media port uses a run). */
export async function freeUdpPorts(count: number, host = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = await ephemeralUdpPort(host);
    if (base + count > 65535) continue;
    const run = Array.from({ length: count }, (_, i) => base + i);
    if (run.some((port) => handedOut.has(port))) continue;
    const free = await Promise.all(run.map((port) => udpPortFree(host, port)));
    if (free.every(Boolean)) {
      run.forEach((port) => handedOut.add(port));
      return base;
    }
  }
  throw new Error(`no run of ${count} free UDP ports on ${host}`);
}

/**
 * Whether some process has bound host:port (UDP), read from the kernel's socket table
 * (/proc/net/udp) rather than by binding the port: a probe that binds, even for an instant, can
 * take the port from the very process that is starting to bind it, which then exits.
 */
export async function udpPortBound(host: string, port: number): Promise<boolean> {
  const table = await readFile("/proc/net/udp", "utf8");
  const octets = host.split(".").map(Number);
  // Little-endian hex of the IPv4 address, as the table writes it (127.0.0.1 is 0100007F).
  const address = octets.reverse().map((o) => o.toString(16).padStart(2, "0")).join("").toUpperCase();
  const wanted = port.toString(16).toUpperCase().padStart(4, "0");
  return table
    .split("\n")
    .slice(1)
    .some((line) => {
      const local = line.trim().split(/\s+/)[1];
      if (!local) return false;
      const [ip, hexPort] = local.split(":");
      return hexPort === wanted && (ip === address || ip === "00000000");
    });
}

/** Wait until some process has bound host:port (UDP), e.g. a SIPp UAS that must be listening. */
export async function waitUntilUdpBound(host: string, port: number, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await udpPortBound(host, port))) {
    if (!alive()) throw new Error(`the process meant to listen on ${host}:${port} exited`);
    if (Date.now() > deadline) throw new Error(`nothing listens on udp ${host}:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
