// Wrong digests lock a source out of a device, not the device out of its owner (in the spirit of
// Kamailio's pike and Kazoo's antiflood, per address). Failures are counted per device and source
// address: a source with `threshold` wrong digests within the window is refused for that device,
// on every switch, for `durationSeconds`, while the device keeps working from anywhere else. Only
// guessing from many sources at once (`deviceThreshold` distinct sources failing within the
// window) locks the device as a whole, and even then not for the addresses it is registered from.
import ipaddr from "ipaddr.js";
import { ipAddressOf, transportAddressOf } from "./host";

/** Seconds throughout. */
export interface LockoutPolicy {
  /** Wrong digests from one source within the window that lock that source out of the device. */
  threshold: number;
  windowSeconds: number;
  /** How long a lock lasts once reached. */
  durationSeconds: number;
  /** Distinct sources with wrong digests within the window that lock the whole device. */
  deviceThreshold: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { threshold: 5, windowSeconds: 300, durationSeconds: 900, deviceThreshold: 10 };

export function isLocked(lockedUntil: number | null, now: number): boolean {
  return lockedUntil !== null && lockedUntil > now;
}

/** What is kept per device and source: the current window's failures and the source's lock. */
export interface SourceRecord {
  /** When the current counting window opened (ms). */
  windowStart: number;
  /** Wrong digests since then. */
  failures: number;
  lockedUntil: number | null;
}

/** Is the record's window still open at `now`? */
export function windowOpen(record: SourceRecord, policy: LockoutPolicy, now: number): boolean {
  return now - record.windowStart < policy.windowSeconds * 1000;
}

/**
 * The record after one more wrong digest (or any attempt from a refused source). A window that has
 * closed starts over; a lock in force is left as it is (attempts do not extend it); reaching the
 * threshold locks the source from now for the duration. `locked` says this failure set a new lock.
 */
export function afterFailure(record: SourceRecord | null, policy: LockoutPolicy, now: number): SourceRecord & { locked: boolean } {
  const open = record !== null && windowOpen(record, policy, now);
  const failures = open ? record.failures + 1 : 1;
  const windowStart = open ? record.windowStart : now;
  if (record !== null && isLocked(record.lockedUntil, now)) return { windowStart, failures, lockedUntil: record.lockedUntil, locked: false };
  const locking = failures >= policy.threshold;
  return { windowStart, failures, lockedUntil: locking ? now + policy.durationSeconds * 1000 : null, locked: locking };
}

/** The whole device's lock once `failingSources` distinct sources have failed within the window; null below. */
export function deviceLockAfter(failingSources: number, policy: LockoutPolicy, now: number): number | null {
  return failingSources >= policy.deviceThreshold ? now + policy.durationSeconds * 1000 : null;
}

/**
 * The address failures are counted under: the IP address of `ip:port` or `ip` (a port is free to
 * change), and for IPv6 its /64 (one host's share of a network). Unreadable text counts as itself.
 */
export function sourceAddress(source: string): string {
  const transport = transportAddressOf(source);
  const ip = transport !== null ? transport.slice(0, transport.lastIndexOf(":")) : ipAddressOf(source);
  if (ip === null) return source;
  if (!ip.startsWith("[")) return ip;
  const parts = ipaddr.IPv6.parse(ip.slice(1, -1)).parts;
  return `[${new ipaddr.IPv6([...parts.slice(0, 4), 0, 0, 0, 0]).toRFC5952String()}]/64`;
}
