// The account's devices: their credentials (HA1 values only, never a password), caller ids, and
// whether they are enabled or locked. Devices by username are kept in memory (device-cache.ts) for
// the callbacks; every change to the devices table forgets them, committed or not.
import { asc, desc, eq, gt, inArray, sql } from "drizzle-orm";
import { randomId } from "../../registrar/bytes";
import type { Account } from "./account";
import type { Bindings } from "./bindings";
import { DeviceCache } from "./device-cache";
import type { EventStream } from "./event-stream";
import type { Numbers } from "./numbers";
import { ok, refuse, type Outcome } from "./outcome";
import type { DeviceChanges, DeviceCredentials, DeviceInput, DeviceRecord, Page } from "./records";
import { pageByKey } from "./paging";
import { credentialsOf, ha1Pair, toDevice, type Db, type DeviceRow } from "./rows";
import { devices } from "./schema";

export const NO_DEVICE = (deviceId: string) => refuse("not_found", `no device ${deviceId} in this account`, "deviceId");
const TAKEN = (username: string) => refuse("conflict", `username ${username} already exists in this account`, "username");

export class Devices {
  private readonly cache = new DeviceCache();
  private readonly byUsernameQuery;
  private readonly byIdQuery;

  constructor(
    private readonly db: Db,
    private readonly storage: DurableObjectStorage,
    private readonly account: Account,
    private readonly bindings: Bindings,
    private readonly numbers: Numbers,
    private readonly stream: EventStream,
  ) {
    // Prepared once: building a query costs more than running it.
    const p = sql.placeholder;
    this.byUsernameQuery = db.select().from(devices).where(eq(devices.username, p("username"))).prepare();
    this.byIdQuery = db.select().from(devices).where(eq(devices.id, p("deviceId"))).prepare();
  }

  // ── reads ───────────────────────────────────────────────────────────────

  byUsername(username: string): DeviceRow | undefined {
    if (!this.account.hasSchema) return undefined;
    return this.cache.get(username, () => this.byUsernameQuery.get({ username }));
  }

  byId(deviceId: string): DeviceRow | undefined {
    if (!this.account.hasSchema) return undefined;
    return this.byIdQuery.get({ deviceId });
  }

  /** Devices locked at `now` (their own lock: wrong digests from many addresses), the latest-ending first, at most `limit`. */
  locked(now: number, limit: number): { id: string; username: string; lockedUntil: number }[] {
    if (!this.account.hasSchema) return [];
    return this.db
      .select({ id: devices.id, username: devices.username, lockedUntil: devices.lockedUntil })
      .from(devices)
      .where(gt(devices.lockedUntil, now))
      .orderBy(desc(devices.lockedUntil), asc(devices.username))
      .limit(limit)
      .all() as { id: string; username: string; lockedUntil: number }[];
  }

  /** Usernames by device id (the events of a sweep name their devices). */
  usernames(deviceIds: string[]): Map<string, string> {
    const names = new Map<string, string>();
    // A statement takes at most 100 bound parameters.
    for (let i = 0; i < deviceIds.length; i += 90) {
      const chunk = deviceIds.slice(i, i + 90);
      for (const row of this.db.select({ id: devices.id, username: devices.username }).from(devices).where(inArray(devices.id, chunk)).all()) {
        names.set(row.id, row.username);
      }
    }
    return names;
  }

  /** Credentials for a switch to challenge a device with. Reads one row at most; writes nothing. */
  credentials(username: string): DeviceCredentials | null {
    const acct = this.account.row();
    const device = this.byUsername(username);
    return acct && device ? credentialsOf(acct, device) : null;
  }

  // ── the provisioning API ────────────────────────────────────────────────

  async create(input: DeviceInput): Promise<Outcome<DeviceRecord>> {
    const acct = this.account.row();
    if (!acct) return refuse("not_found", "no such account", "accountId");
    if (this.byUsername(input.username)) return TAKEN(input.username);
    const hashes = await ha1Pair(input.username, acct.realm, input.password);
    // The digest computation awaited: check again before writing, in the same synchronous step.
    if (this.byUsername(input.username)) return TAKEN(input.username);
    const now = Date.now();
    // The cache remembers the username as absent: forget it with the insert.
    const row = this.changing(() =>
      this.db
        .insert(devices)
        .values({
          id: randomId("dev"),
          username: input.username,
          ...hashes,
          callerIdName: input.callerIdName ?? null,
          callerIdNumber: input.callerIdNumber ?? null,
          enabled: input.enabled ?? true,
          createdAt: now,
          updatedAt: now,
        })
        .returning()
        .get(),
    );
    return ok(toDevice(row));
  }

  get(deviceId: string): Outcome<DeviceRecord> {
    const row = this.byId(deviceId);
    return row ? ok(toDevice(row)) : NO_DEVICE(deviceId);
  }

  list(limit: number, after: string | null): Page<DeviceRecord> {
    if (!this.account.hasSchema) return { items: [], next: null };
    const rows = pageByKey(this.db, devices, "id", limit, after);
    return { items: rows.items.map(toDevice), next: rows.next };
  }

  async update(deviceId: string, changes: DeviceChanges): Promise<Outcome<DeviceRecord>> {
    const acct = this.account.row();
    const current = this.byId(deviceId);
    if (!acct || !current) return NO_DEVICE(deviceId);
    const username = changes.username ?? current.username;
    if (username !== current.username) {
      if (changes.password === undefined) {
        return refuse("invalid", "a new username needs a new password (HA1 values include the username)", "password");
      }
      if (this.byUsername(username)) return TAKEN(username);
    }
    const hashes = changes.password === undefined ? {} : await ha1Pair(username, acct.realm, changes.password);
    if (username !== current.username && this.byUsername(username)) return TAKEN(username);
    if (!this.byId(deviceId)) return NO_DEVICE(deviceId);
    const { row, published } = this.changing(() =>
      this.storage.transactionSync(() => {
        const row = this.db
          .update(devices)
          .set({
            username,
            ...hashes,
            ...(changes.callerIdName !== undefined && { callerIdName: changes.callerIdName }),
            ...(changes.callerIdNumber !== undefined && { callerIdNumber: changes.callerIdNumber }),
            ...(changes.enabled !== undefined && { enabled: changes.enabled }),
            updatedAt: Date.now(),
          })
          .where(eq(devices.id, deviceId))
          .returning()
          .get();
        // Bindings were made under the old address of record: the device must register again.
        const dropped = username === current.username ? [] : this.bindings.dropDevice(deviceId);
        const published = this.stream.record(
          dropped.map((b) => ({ type: "binding.removed", deviceId, username: current.username, contact: b.contact, switchId: b.switchId })),
          Date.now(),
        );
        return { row, published };
      }),
    );
    this.stream.publish(published);
    return ok(toDevice(row!));
  }

  /** Remove a device with its bindings; numbers that rang it fall back to the account. */
  delete(deviceId: string): Outcome<{ deleted: string }> {
    const device = this.byId(deviceId);
    if (!device) return NO_DEVICE(deviceId);
    const published = this.changing(() =>
      this.storage.transactionSync(() => {
        const removed = this.bindings.dropDevice(deviceId);
        this.numbers.unassignDevice(deviceId);
        this.db.delete(devices).where(eq(devices.id, deviceId)).run();
        return this.stream.record(
          removed.map((b) => ({ type: "binding.removed", deviceId, username: device.username, contact: b.contact, switchId: b.switchId })),
          Date.now(),
        );
      }),
    );
    this.stream.publish(published);
    return ok({ deleted: deviceId });
  }

  // ── locks (authentication.ts decides them) ──────────────────────────────

  /** Set or lift the device's lock, inside the caller's transaction; the caller forgets the cache. */
  writeLock(deviceId: string, lockedUntil: number | null): void {
    this.db.update(devices).set({ lockedUntil }).where(eq(devices.id, deviceId)).run();
  }

  /** Run a change to the devices table; the cache is forgotten whether it commits or not. */
  changing<T>(change: () => T): T {
    try {
      return change();
    } finally {
      this.cache.forget();
    }
  }

  /** After a bulk import's chunk: only its usernames' rows changed. */
  forgetUsernames(usernames: string[]): void {
    this.cache.forgetUsernames(usernames);
  }

  forget(): void {
    this.cache.forget();
  }
}
