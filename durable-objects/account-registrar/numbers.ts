// The account's numbers (DIDs): which device each rings, or the account when none. The catalog
// holds which account a number belongs to; this module, where it rings.
import { eq, inArray } from "drizzle-orm";
import type { Account } from "./account";
import { ok, refuse, type Outcome } from "./outcome";
import type { NumberRecord, Page } from "./records";
import { pageByKey } from "./paging";
import type { Db, DeviceRow } from "./rows";
import { numbers } from "./schema";

const NOT_HERE = (number: string) => refuse("not_found", `number ${number} is not in this account`, "number");

export class Numbers {
  constructor(
    private readonly db: Db,
    private readonly account: Account,
    private readonly deviceById: (deviceId: string) => DeviceRow | undefined,
  ) {}

  assign(number: string, deviceId: string | null): Outcome<NumberRecord> {
    if (!this.account.row()) return refuse("not_found", "no such account", "accountId");
    if (deviceId !== null && !this.deviceById(deviceId)) return refuse("invalid", `no device ${deviceId} in this account`, "deviceId");
    const existing = this.db.select().from(numbers).where(eq(numbers.number, number)).get();
    if (existing) {
      const row = this.db.update(numbers).set({ deviceId }).where(eq(numbers.number, number)).returning().get();
      return ok(row!);
    }
    return ok(this.db.insert(numbers).values({ number, deviceId, createdAt: Date.now() }).returning().get());
  }

  get(number: string): Outcome<NumberRecord> {
    if (!this.account.hasSchema) return NOT_HERE(number);
    const row = this.db.select().from(numbers).where(eq(numbers.number, number)).get();
    return row ? ok(row) : NOT_HERE(number);
  }

  list(limit: number, after: string | null): Page<NumberRecord> {
    if (!this.account.hasSchema) return { items: [], next: null };
    return pageByKey(this.db, numbers, "number", limit, after);
  }

  release(number: string): Outcome<{ deleted: string }> {
    if (!this.account.hasSchema) return NOT_HERE(number);
    const removed = this.db.delete(numbers).where(eq(numbers.number, number)).returning().all();
    return removed.length > 0 ? ok({ deleted: number }) : NOT_HERE(number);
  }

  /** The first of these numbers the account holds (the E.164 forms of one dialed destination). */
  firstOf(candidates: string[]): NumberRecord | undefined {
    return candidates.length === 0 ? undefined : this.db.select().from(numbers).where(inArray(numbers.number, candidates)).get();
  }

  /** A device went away: its numbers ring the account (inside the caller's transaction). */
  unassignDevice(deviceId: string): void {
    this.db.update(numbers).set({ deviceId: null }).where(eq(numbers.deviceId, deviceId)).run();
  }
}
