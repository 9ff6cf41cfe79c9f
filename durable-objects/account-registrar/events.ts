// The account's event outbox. The object appends to it inside the same SQLite transaction as the
// change an event describes, so an event exists exactly when its change does; listeners resume
// from the last sequence number they saw.
import { asc, gt, lt, lte, max, or, sql } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import * as schema from "./schema";

const { events } = schema;

export const EVENT_TYPES = [
  "binding.created",
  "binding.refreshed",
  "binding.removed",
  "binding.expired",
  "binding.refused",
  "auth.failed",
  "auth.refused",
  "source.locked",
  "device.locked",
  "device.unlocked",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface RegistrarEvent {
  /** Per-account sequence number, increasing by one per event kept. */
  seq: number;
  type: EventType;
  /** ms since the epoch */
  at: number;
  deviceId: string | null;
  username: string | null;
  contact: string | null;
  /** Where the request came from (`ip:port`), when known. */
  source: string | null;
  /** The switch that holds (or held) the binding, or that asked. */
  switchId: string | null;
}

export type NewEvent = Omit<RegistrarEvent, "seq" | "at" | "deviceId" | "username" | "contact" | "source" | "switchId"> &
  Partial<Pick<RegistrarEvent, "deviceId" | "username" | "contact" | "source" | "switchId">>;

/** Kept at most this many events, and none older than the age limit. */
export const KEEP_EVENTS = 10_000;
export const KEEP_EVENTS_MS = 7 * 24 * 3600 * 1000;
const TRIM_EVERY = 100;

export class EventLog {
  private readonly insert;

  constructor(private readonly db: DrizzleSqliteDODatabase<typeof schema>) {
    const p = sql.placeholder;
    this.insert = db
      .insert(events)
      .values({
        at: sql`${p("at")}`,
        type: sql`${p("type")}`,
        deviceId: sql`${p("deviceId")}`,
        username: sql`${p("username")}`,
        contact: sql`${p("contact")}`,
        source: sql`${p("source")}`,
        switchId: sql`${p("switchId")}`,
      })
      .returning()
      .prepare();
  }

  /**
   * Append events; call inside the transaction that makes the change. `binding.refreshed` events
   * are kept only when someone listens for them (they are the most frequent and off by default).
   */
  append(batch: NewEvent[], now: number, keepRefreshed: boolean): RegistrarEvent[] {
    const kept = batch.filter((e) => e.type !== "binding.refreshed" || keepRefreshed);
    if (kept.length === 0) return [];
    const written: RegistrarEvent[] = [];
    for (const event of kept) {
      const row = this.insert.get({
        at: now,
        type: event.type,
        deviceId: event.deviceId ?? null,
        username: event.username ?? null,
        contact: event.contact ?? null,
        source: event.source ?? null,
        switchId: event.switchId ?? null,
      })!;
      written.push(toEvent(row));
      if (row.seq % TRIM_EVERY === 0) this.trim(row.seq, now);
    }
    return written;
  }

  /** Events after `seq`, oldest first. */
  since(seq: number, limit: number): RegistrarEvent[] {
    return this.db.select().from(events).where(gt(events.seq, seq)).orderBy(asc(events.seq)).limit(limit).all().map(toEvent);
  }

  latest(): number {
    return this.db.select({ seq: max(events.seq) }).from(events).get()?.seq ?? 0;
  }

  private trim(lastSeq: number, now: number): void {
    this.db
      .delete(events)
      .where(or(lte(events.seq, lastSeq - KEEP_EVENTS), lt(events.at, now - KEEP_EVENTS_MS)))
      .run();
  }
}

function toEvent(row: typeof events.$inferSelect): RegistrarEvent {
  return { ...row, type: row.type as EventType };
}

/** The WebSocket subprotocol of the event stream. */
export const EVENTS_PROTOCOL = "whistle-edge.events.v1";

export interface Listener {
  /** Also send binding.refreshed (off by default: the most frequent event). */
  refreshed: boolean;
}

export const wants = (listener: Listener, event: RegistrarEvent) => event.type !== "binding.refreshed" || listener.refreshed;

/** An event as listeners receive it: times as ISO text. */
export function eventView(event: RegistrarEvent) {
  return { ...event, at: new Date(event.at).toISOString() };
}
