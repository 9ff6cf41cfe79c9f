// The object's devices by username, kept in memory. The object is the only writer of its devices,
// so a cached row is exact as long as every change to the devices table forgets the cache; the
// switch callbacks (digest checks, locate) then read no row for a device seen recently. Bounded:
// past `limit` entries the oldest is dropped, so a 100k-device account holds at most `limit` rows.
import type { DeviceRow } from "./rows";

export const DEVICE_CACHE_LIMIT = 10_000;

export class DeviceCache {
  private readonly rows = new Map<string, DeviceRow>();

  constructor(private readonly limit = DEVICE_CACHE_LIMIT) {}

  /** The device `username`, from memory or from `load` (a miss is not remembered). */
  get(username: string, load: () => DeviceRow | undefined): DeviceRow | undefined {
    const hit = this.rows.get(username);
    if (hit !== undefined) return hit;
    const row = load();
    if (row === undefined) return undefined;
    if (this.rows.size >= this.limit) this.rows.delete(this.rows.keys().next().value!);
    this.rows.set(username, row);
    return row;
  }

  get size(): number {
    return this.rows.size;
  }

  /** After any change to the devices table (and after it has committed or rolled back). */
  forget(): void {
    this.rows.clear();
  }
}
