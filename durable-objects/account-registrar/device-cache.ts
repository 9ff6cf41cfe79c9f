// The object's devices by username, kept in memory. The object is the only writer of its devices,
// so a cached row is exact as long as every change to the devices table forgets the cache; the
// switch callbacks (digest checks, locate) then read no row for a device seen recently. A miss is
// remembered too: a digest for a username the account does not have costs the same reads as one
// for a device it has, so the work done does not tell the two apart (docs/security.md,
// "Enumeration"). Bounded: past `limit` entries the oldest is dropped, so a 100k-device account,
// or a scanner trying 100k names, holds at most `limit` entries.
import type { DeviceRow } from "./rows";

export const DEVICE_CACHE_LIMIT = 10_000;

export class DeviceCache {
  private readonly rows = new Map<string, DeviceRow | null>();

  constructor(private readonly limit = DEVICE_CACHE_LIMIT) {}

  /** The device `username`, from memory or from `load`; undefined when there is none. */
  get(username: string, load: () => DeviceRow | undefined): DeviceRow | undefined {
    const hit = this.rows.get(username);
    if (hit !== undefined) return hit ?? undefined;
    const row = load() ?? null;
    if (this.rows.size >= this.limit) this.rows.delete(this.rows.keys().next().value!);
    this.rows.set(username, row);
    return row ?? undefined;
  }

  get size(): number {
    return this.rows.size;
  }

  /** After a change to these usernames' rows only (a bulk import's chunk): the rest stays cached. */
  forgetUsernames(usernames: Iterable<string>): void {
    for (const username of usernames) this.rows.delete(username);
  }

  /** After any change to the devices table (and after it has committed or rolled back). */
  forget(): void {
    this.rows.clear();
  }
}
