// The fleet as routing sees it: each switch's peer address and state (alive, lost, draining), from
// the isolate's snapshot (snapshot.ts), with a lost switch read again from the catalog before a
// call is refused for it.
import { inArray } from "drizzle-orm";
import { switches } from "../../catalog/schema";
import { DEFAULT_LOST_AFTER_MS, switchState } from "../../registrar/fleet";
import type { PeerSwitch } from "../../registrar/routing";
import { catalog } from "../catalog";
import type { Env } from "../env";
import { currentSnapshot, heard, type SwitchRow } from "./snapshot";

export function lostAfterMs(env: Env): number {
  return Number(env.SWITCH_LOST_AFTER_MS ?? DEFAULT_LOST_AFTER_MS) || DEFAULT_LOST_AFTER_MS;
}

/** Last-seen times (ms, null: never) of these switches, read from the catalog. */
export type LastSeenReader = (switchIds: string[]) => Promise<Map<string, number | null>>;

type LastSeen = Map<string, number | null>;

interface Read {
  /** The arrival count when the read was sent: it sees every write finished before that arrival. */
  sentAt: number;
  settled: boolean;
  result: Promise<LastSeen>;
}

/**
 * Catalog re-reads of lost switches' last-seen times, shared within one isolate. A switch's first
 * callback after a silence is answered only after its last-seen time is written (liveness.ts), so
 * a call that arrived after that answer must be decided on a read sent after the call arrived; a
 * read sent earlier may predate the switch's return. Per switch, a call therefore joins a read sent
 * after it arrived, or else the one read queued to go when the read in flight ends, or else sends
 * one. At most one read is in flight and one queued per switch, whatever the call rate, and a
 * switch that came back is seen by the very next call. (A time-based bound, "no re-read for a
 * second", would answer a call arriving just after the switch's return from a read made just
 * before it: the window issue 11 closed.)
 */
export class LastSeenRereads {
  private arrivals = 0;
  private readonly newest = new Map<string, Read>();
  private readonly queued = new Map<string, Promise<LastSeen>>();

  /** Counts a call in: the reads it may use are those sent after this. */
  arrive(): number {
    return ++this.arrivals;
  }

  /** The last-seen times of these switches, from reads sent after `arrival`. */
  async lastSeen(switchIds: Iterable<string>, arrival: number, read: LastSeenReader): Promise<LastSeen> {
    const answers: Promise<LastSeen>[] = [];
    const now: string[] = [];
    const after = new Map<Promise<LastSeen>, string[]>();
    for (const id of new Set(switchIds)) {
      const newest = this.newest.get(id);
      const queued = this.queued.get(id);
      if (newest && newest.sentAt >= arrival) answers.push(newest.result);
      else if (queued) answers.push(queued);
      else if (newest && !newest.settled) after.set(newest.result, [...(after.get(newest.result) ?? []), id]);
      else now.push(id);
    }
    if (now.length > 0) answers.push(this.send(now, read));
    for (const [inFlight, ids] of after) {
      const next = inFlight.then(
        () => this.send(ids, read),
        () => this.send(ids, read),
      );
      for (const id of ids) this.queued.set(id, next);
      answers.push(next);
    }
    const merged: LastSeen = new Map();
    for (const answer of await Promise.all(answers)) for (const [id, at] of answer) merged.set(id, at);
    return merged;
  }

  private send(switchIds: string[], read: LastSeenReader): Promise<LastSeen> {
    const sent: Read = { sentAt: this.arrivals, settled: false, result: read(switchIds) };
    for (const id of switchIds) {
      this.queued.delete(id);
      this.newest.set(id, sent);
    }
    sent.result.then(
      () => {
        sent.settled = true;
      },
      () => {
        sent.settled = true;
        // A failed read is not reused: the next call sends its own.
        for (const id of switchIds) if (this.newest.get(id) === sent) this.newest.delete(id);
      },
    );
    return sent.result;
  }
}

const rereads = new LastSeenRereads();

/** The fleet as routing sees it, from this isolate's snapshot; a switch's state is worked out only when asked. */
export interface Fleet {
  peer(switchId: string): PeerSwitch | undefined;
  /** Every switch's peer address (to recognise a hand-over from another switch). */
  addresses(): string[];
  /**
   * Read again from the catalog those of these switches the snapshot takes for lost. A switch's
   * first callback after a silence writes its last-seen time before it is answered (`markAlive`),
   * so a switch heard from since the snapshot was loaded counts as alive at once, in every isolate.
   * Costs a catalog read only when a call would otherwise skip a lost switch, shared with the
   * other calls of this isolate as `LastSeenRereads` allows.
   */
  recheck(switchIds: Iterable<string>): Promise<void>;
}

/** The fleet for one call, which counts as arrived now (see `LastSeenRereads`). */
export async function fleet(env: Env, now: number): Promise<Fleet> {
  const arrival = rereads.arrive();
  const current = await currentSnapshot(env, now);
  const lostAfter = lostAfterMs(env);
  const state = (row: SwitchRow) => switchState(row, now, lostAfter);
  return {
    peer(switchId) {
      const row = current.byId.get(switchId);
      return row && { address: row.address, state: state(row) };
    },
    addresses: () => [...current.byId.values()].map((row) => row.address),
    async recheck(switchIds) {
      const lost = [...new Set(switchIds)].filter((id) => {
        const row = current.byId.get(id);
        return row !== undefined && state(row) === "lost";
      });
      if (lost.length === 0) return;
      const fresh = await rereads.lastSeen(lost, arrival, (ids) => readLastSeen(env, ids));
      for (const [id, lastSeenAt] of fresh) heard(current, id, lastSeenAt);
    },
  };
}

async function readLastSeen(env: Env, switchIds: string[]): Promise<LastSeen> {
  const rows = await catalog(env).select({ id: switches.id, lastSeenAt: switches.lastSeenAt }).from(switches).where(inArray(switches.id, switchIds)).all();
  return new Map(rows.map((row) => [row.id, row.lastSeenAt]));
}
