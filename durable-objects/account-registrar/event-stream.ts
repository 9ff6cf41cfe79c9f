// The account's events as they happen: appended to the outbox (events.ts) inside the transaction
// that makes the change, then, once committed, sent to every WebSocket listener and handed to the
// webhook deliveries (the alarm wakes them). Listeners are hibernatable WebSockets: an idle one
// costs nothing.
import type { Account } from "./account";
import { EVENTS_PROTOCOL, EventLog, eventView, wants, type Listener, type NewEvent, type RegistrarEvent } from "./events";
import type { Alarm } from "./expiry";
import type { WebhookDispatcher } from "./webhooks";

/** Events sent per read of the backlog when a listener connects. */
const BACKLOG_BATCH = 500;

export class EventStream {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly account: Account,
    readonly log: EventLog,
    private readonly webhooks: WebhookDispatcher,
    private readonly alarm: Alarm,
  ) {}

  /** Append events inside the caller's transaction; publish what this answers once it committed. */
  record(batch: NewEvent[], now: number): RegistrarEvent[] {
    if (batch.length === 0) return [];
    return this.log.append(batch, now, this.listensForRefreshed());
  }

  /** After the transaction: hand the events to every listener, and wake the webhook deliveries. */
  publish(published: RegistrarEvent[]): void {
    if (published.length === 0) return;
    if (this.webhooks.interestedIn(published)) void this.alarm.noLaterThan(Date.now());
    for (const ws of this.ctx.getWebSockets()) {
      const listener = (ws.deserializeAttachment() ?? { refreshed: false }) as Listener;
      for (const event of published) {
        if (!wants(listener, event)) continue;
        try {
          ws.send(JSON.stringify(eventView(event)));
        } catch {
          // A listener that went away; its close handler tidies up.
        }
      }
    }
  }

  /** Events after a sequence number, oldest first (the stream's backlog; the polling API). */
  since(seq: number, limit: number): RegistrarEvent[] {
    if (!this.account.hasSchema) return [];
    return this.log.since(seq, limit);
  }

  /**
   * A listener's WebSocket (the Worker has checked its API key and account). It gets every event
   * after `since`, then live events.
   */
  listen(request: Request): Response {
    const url = new URL(request.url);
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
    if (!this.account.row()) return new Response("no such account", { status: 404 });
    const sinceText = url.searchParams.get("since");
    const since = sinceText !== null && /^\d{1,15}$/.test(sinceText) ? Number(sinceText) : this.log.latest();
    const listener: Listener = { refreshed: url.searchParams.get("refreshed") === "true" };
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment(listener);
    for (let cursor = since; ; ) {
      const batch = this.log.since(cursor, BACKLOG_BATCH);
      for (const event of batch) if (wants(listener, event)) server.send(JSON.stringify(eventView(event)));
      if (batch.length < BACKLOG_BATCH) break;
      cursor = batch.at(-1)!.seq;
    }
    const offered = request.headers.get("sec-websocket-protocol") ?? "";
    const headers: HeadersInit = offered.split(",").some((p) => p.trim() === EVENTS_PROTOCOL) ? { "sec-websocket-protocol": EVENTS_PROTOCOL } : {};
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  message(ws: WebSocket, message: string | ArrayBuffer): void {
    if (message === "ping") ws.send("pong");
  }

  close(ws: WebSocket, code: number, reason: string): void {
    // 1005/1006 say "no code was sent"; they may not be sent back.
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }

  private listensForRefreshed(): boolean {
    return (
      this.webhooks.wantsRefreshed() ||
      this.ctx.getWebSockets().some((ws) => ((ws.deserializeAttachment() ?? {}) as Partial<Listener>).refreshed === true)
    );
  }
}
