// Watches the switch fleet and records its changes as events: a switch lost (silent past the
// threshold), back, draining, and drained (draining with no registrations left). One object for
// the whole fleet; it wakes on its alarm every FLEET_CHECK_MS while switches exist, and when the
// API changes a switch. Switch state itself lives in the catalog; this object keeps only what it
// last saw, and the events, written together.
import { DurableObject } from "cloudflare:workers";
import { DEFAULT_LOST_AFTER_MS, switchState, type SwitchState } from "../../registrar/fleet";
import { mergeSeries, type CallbackSeries } from "../../functions/metrics/callbacks";

export const FLEET_EVENT_TYPES = ["switch.lost", "switch.back", "switch.draining", "switch.drained"] as const;
export type FleetEventType = (typeof FLEET_EVENT_TYPES)[number];

export interface FleetEvent {
  seq: number;
  type: FleetEventType;
  at: number;
  switchId: string;
  name: string;
}

/** What the monitor last saw of a switch: its state, and whether its drain has been reported done. */
type Seen = SwitchState | "drained";

const DEFAULT_CHECK_MS = 10_000;
const KEEP_EVENTS = 10_000;

interface SwitchRow {
  id: string;
  name: string;
  last_seen_at: number | null;
  draining: number;
}

const CALLBACKS_KEY = "metrics.callbacks";

export class FleetMonitor extends DurableObject<Cloudflare.Env> {
  /**
   * The fleet's switch callbacks, as the isolates ship them (functions/metrics/callbacks.ts). Kept
   * in memory; stored (one row) when a scrape reads them, so a counter Prometheus has seen never
   * goes backwards; what arrived after the last scrape is lost if the object is evicted first.
   */
  private callbacks = new Map<string, CallbackSeries>();
  private callbacksChanged = false;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    mergeSeries(this.callbacks, ctx.storage.kv.get<CallbackSeries[]>(CALLBACKS_KEY) ?? []);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS seen (switch_id TEXT PRIMARY KEY, state TEXT NOT NULL)`);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS fleet_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, type TEXT NOT NULL, switch_id TEXT NOT NULL, name TEXT NOT NULL)`,
    );
  }

  /** Look now (the API changed a switch), and keep looking while the fleet has switches. */
  async poke(): Promise<void> {
    await this.check();
  }

  recordCallbacks(batch: CallbackSeries[]): void {
    mergeSeries(this.callbacks, batch);
    this.callbacksChanged = true;
  }

  /**
   * The fleet's callback sums since the first one (GET /api/v1/metrics). Given the accounts that
   * exist now, the series of every other account (a removed one) are dropped for good; those of no
   * account (a challenge answered before any account was asked) stay.
   */
  callbackMetrics(accounts?: string[]): CallbackSeries[] {
    if (accounts) {
      const live = new Set(accounts);
      for (const [key, series] of this.callbacks) {
        if (series.account !== "" && !live.has(series.account)) {
          this.callbacks.delete(key);
          this.callbacksChanged = true;
        }
      }
    }
    const all = [...this.callbacks.values()];
    if (this.callbacksChanged) {
      this.ctx.storage.kv.put(CALLBACKS_KEY, all);
      this.callbacksChanged = false;
    }
    return all;
  }

  eventsSince(seq: number, limit: number): FleetEvent[] {
    return this.ctx.storage.sql
      .exec<{ seq: number; at: number; type: string; switch_id: string; name: string }>(
        "SELECT seq, at, type, switch_id, name FROM fleet_events WHERE seq > ? ORDER BY seq LIMIT ?",
        seq,
        limit,
      )
      .toArray()
      .map((row) => ({ seq: row.seq, at: row.at, type: row.type as FleetEventType, switchId: row.switch_id, name: row.name }));
  }

  override async alarm(): Promise<void> {
    await this.check();
  }

  private async check(): Promise<void> {
    const now = Date.now();
    const lostAfter = Number(this.env.SWITCH_LOST_AFTER_MS ?? DEFAULT_LOST_AFTER_MS) || DEFAULT_LOST_AFTER_MS;
    const { results } = await this.env.CATALOG.prepare("SELECT id, name, last_seen_at, draining FROM switches").all<SwitchRow>();
    const held = new Map<string, number>();
    for (const row of results) {
      if (row.draining) held.set(row.id, await this.bindingsHeld(row.id));
    }
    // Everything below is synchronous: what it reads and writes is one step.
    const seen = new Map(
      this.ctx.storage.sql
        .exec<{ switch_id: string; state: string }>("SELECT switch_id, state FROM seen")
        .toArray()
        .map((r) => [r.switch_id, r.state as Seen]),
    );
    this.ctx.storage.transactionSync(() => {
      for (const row of results) {
        const state = switchState({ lastSeenAt: row.last_seen_at, draining: row.draining === 1 }, now, lostAfter);
        const before = seen.get(row.id) ?? "unseen";
        const next: Seen = state === "draining" && held.get(row.id) === 0 ? "drained" : state;
        for (const type of transitions(before, next)) {
          this.ctx.storage.sql.exec("INSERT INTO fleet_events (at, type, switch_id, name) VALUES (?, ?, ?, ?)", now, type, row.id, row.name);
        }
        if (next !== before) this.ctx.storage.sql.exec("INSERT OR REPLACE INTO seen (switch_id, state) VALUES (?, ?)", row.id, next);
        seen.delete(row.id);
      }
      for (const gone of seen.keys()) this.ctx.storage.sql.exec("DELETE FROM seen WHERE switch_id = ?", gone);
      this.ctx.storage.sql.exec("DELETE FROM fleet_events WHERE seq <= (SELECT MAX(seq) FROM fleet_events) - ?", KEEP_EVENTS);
    });
    if (results.length > 0) {
      const every = Number(this.env.FLEET_CHECK_MS ?? DEFAULT_CHECK_MS) || DEFAULT_CHECK_MS;
      const current = await this.ctx.storage.getAlarm();
      if (current === null || current > now + every) await this.ctx.storage.setAlarm(now + every);
    }
  }

  /** Live registrations a switch holds, over every account. */
  private async bindingsHeld(switchId: string): Promise<number> {
    const { results } = await this.env.CATALOG.prepare("SELECT id FROM accounts").all<{ id: string }>();
    const counts = await Promise.all(
      results.map((account) => this.env.REGISTRAR.get(this.env.REGISTRAR.idFromString(account.id)).countBindingsHeldBy(switchId)),
    );
    return counts.reduce((sum, n) => sum + n, 0);
  }
}

/** The events a change of what the monitor sees amounts to. */
export function transitions(before: Seen, next: Seen): FleetEventType[] {
  if (before === next) return [];
  const events: FleetEventType[] = [];
  if (next === "lost") events.push("switch.lost");
  else if (before === "lost") events.push("switch.back");
  if ((next === "draining" || next === "drained") && before !== "draining" && before !== "drained") events.push("switch.draining");
  if (next === "drained") events.push("switch.drained");
  return events;
}
