// A counting pass-through in front of the edge: the switches' edge_url points here, every request
// is forwarded unchanged and recorded with what it was (a directory or dialplan question, or which
// event the hook posted), so a test can count what one REGISTER cost. While the edge is stopped
// this listener is closed too, so a switch meets a refused connection, as with the edge's own port.
// It can also play an edge the switch cannot hear from: `swallow` keeps every request unanswered
// (the switch's own timeout ends the wait, as when packets are dropped), and `failEvents` answers
// one user's registration event posts 503 while the directory, the dialplan, heartbeats and other
// users' events still reach the edge (an event lost between a REGISTER's directory request and its
// event). Only that user's posts fail, so nothing else the switches post meanwhile (a heartbeat, a
// late event of an earlier test) can put a switch in standby before the lost event does.
// `onlyHeartbeats` answers the hook's HEARTBEAT posts and 503 to everything else (the switch's
// heartbeats alone cannot tell it of the outage).
import { createServer, request as forward, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface EdgeRequest {
  at: number;
  /** The switch that asked (by its credential): "a", "b", or "?" for an unknown one. */
  switch: string;
  method: string;
  path: string;
  status: number;
  /** Form fields of a mod_xml_curl request (section, action, user…) or the event's name. */
  kind: string;
  /** `sofia::register`, `HEARTBEAT`, … for an event post. */
  event?: string;
  /** The directory request's or event's user, when it has one. */
  user?: string;
}

export interface Counter {
  port: number;
  requests: EdgeRequest[];
  close(): Promise<void>;
  open(): Promise<void>;
  /** Hold every new request unanswered (true) or answer again (false; held connections are cut). */
  swallow(on: boolean): void;
  /** Answer `user`'s registration event posts 503 without forwarding them, or (null) forward them all again. */
  failEvents(user: string | null): void;
  /** Forward only HEARTBEAT posts and answer every other request 503 (true), or forward all again (false). */
  onlyHeartbeats(on: boolean): void;
  stop(): Promise<void>;
}

function describe(path: string, body: string): Pick<EdgeRequest, "kind" | "event" | "user"> {
  const form = new URLSearchParams(body);
  if (path.endsWith("/events")) {
    try {
      const event = JSON.parse(form.get("event") ?? body) as Record<string, string>;
      const name = event["Event-Subclass"] ?? event["Event-Name"] ?? "unnamed";
      const user = event["from-user"] ?? event["user"];
      return { kind: "event", event: name, ...(user && { user }) };
    } catch {
      return { kind: "event", event: "unparsed" };
    }
  }
  const section = form.get("section") ?? "";
  const action = form.get("action") ?? form.get("Caller-Destination-Number") ?? "";
  const user = form.get("sip_auth_username") ?? form.get("user") ?? undefined;
  return { kind: `${section}:${action}`, ...(user && { user }) };
}

export async function startCounter(edgePort: () => number, identify: (headers: IncomingHttpHeaders) => string): Promise<Counter> {
  const requests: EdgeRequest[] = [];
  let swallowing = false;
  let failingEventsOf: string | null = null;
  let heartbeatsOnly = false;
  const held = new Set<IncomingMessage>();
  const handle = (incoming: IncomingMessage, reply: ServerResponse) => {
    if (swallowing) {
      held.add(incoming);
      incoming.resume();
      incoming.socket.on("close", () => held.delete(incoming));
      return;
    }
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const body = Buffer.concat(chunks);
      const entry: EdgeRequest = {
        at: Date.now(),
        switch: identify(incoming.headers),
        method: incoming.method ?? "",
        path: incoming.url ?? "",
        status: 0,
        ...describe(incoming.url ?? "", body.toString("utf8")),
      };
      requests.push(entry);
      if ((failingEventsOf !== null && entry.kind === "event" && entry.event !== "HEARTBEAT" && entry.user === failingEventsOf) || (heartbeatsOnly && entry.event !== "HEARTBEAT")) {
        entry.status = 503;
        reply.writeHead(503, { "content-type": "text/plain" });
        reply.end("edge unavailable (test)");
        return;
      }
      const upstream = forward(
        { host: "127.0.0.1", port: edgePort(), method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: `127.0.0.1:${edgePort()}` } },
        (answer) => {
          entry.status = answer.statusCode ?? 0;
          reply.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(reply);
        },
      );
      upstream.on("error", () => {
        entry.status = 502;
        reply.destroy();
      });
      upstream.end(body);
    });
  };

  let server: Server | null = null;
  let port = 0;
  const open = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer(handle);
      next.once("error", reject);
      // The switches bind their own loopback addresses; they reach this listener from those.
      next.listen(port, "127.0.0.1", () => {
        port = (next.address() as AddressInfo).port;
        server = next;
        resolve();
      });
    });
  const close = () =>
    new Promise<void>((resolve) => {
      const current = server;
      server = null;
      if (!current) return resolve();
      current.closeAllConnections();
      current.close(() => resolve());
    });
  await open();
  return {
    get port() {
      return port;
    },
    requests,
    open,
    close,
    stop: close,
    swallow: (on: boolean) => {
      swallowing = on;
      if (!on) {
        for (const incoming of held) incoming.socket.destroy();
        held.clear();
      }
    },
    failEvents: (user: string | null) => {
      failingEventsOf = user;
    },
    onlyHeartbeats: (on: boolean) => {
      heartbeatsOnly = on;
    },
  };
}
