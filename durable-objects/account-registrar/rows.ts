// Mapping the object's SQLite rows to the records it answers, and the small helpers that go with
// it. Plain functions: no storage access here.
import { computeHa1 } from "../../registrar/digest";
import type { LockoutPolicy } from "../../registrar/lockout";
import type { Binding, RegistrationPolicy } from "../../registrar/types";
import { REGION_HINTS, type AccountRecord, type DeviceCredentials, type DeviceRecord, type Page, type RegionHint } from "./records";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import type * as schema from "./schema";

/** The object's database through drizzle (metered: every statement's rows are counted). */
export type Db = DrizzleSqliteDODatabase<typeof schema>;

export type DeviceRow = typeof schema.devices.$inferSelect;
export type BindingRow = typeof schema.bindings.$inferSelect;
export type AccountRow = typeof schema.account.$inferSelect;

export function policyOf(row: AccountRow): RegistrationPolicy {
  return {
    minExpires: row.minExpires,
    maxExpires: row.maxExpires,
    defaultExpires: row.defaultExpires,
    maxBindingsPerDevice: row.maxBindingsPerDevice,
    overflow: row.overflow,
    expiresJitter: row.expiresJitter,
  };
}

export function lockoutOf(row: AccountRow): LockoutPolicy {
  return {
    threshold: row.lockoutThreshold,
    windowSeconds: row.lockoutWindow,
    durationSeconds: row.lockoutDuration,
    deviceThreshold: row.lockoutDeviceThreshold,
  };
}

export function lockoutColumns(lockout: LockoutPolicy) {
  return {
    lockoutThreshold: lockout.threshold,
    lockoutWindow: lockout.windowSeconds,
    lockoutDuration: lockout.durationSeconds,
    lockoutDeviceThreshold: lockout.deviceThreshold,
  };
}

export function toAccount(row: AccountRow): AccountRecord {
  return {
    id: row.accountId,
    realm: row.realm,
    name: row.name,
    jurisdiction: row.jurisdiction === "eu" ? "eu" : null,
    regionHint: (REGION_HINTS as readonly string[]).includes(row.regionHint ?? "") ? (row.regionHint as RegionHint) : null,
    policy: policyOf(row),
    lockout: lockoutOf(row),
    calls: { allowedAccounts: row.callsAllowedAccounts },
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export function toDevice(row: DeviceRow): DeviceRecord {
  return {
    id: row.id,
    username: row.username,
    callerIdName: row.callerIdName,
    callerIdNumber: row.callerIdNumber,
    enabled: row.enabled,
    lockedUntil: row.lockedUntil,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export function toBinding(row: BindingRow): Binding {
  return { ...row, path: row.path ?? [] };
}

export function page<T>(rows: T[], limit: number, keyOf: (item: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next: rows.length > limit && last !== undefined ? keyOf(last) : null };
}

export async function ha1Pair(username: string, realm: string, password: string) {
  const [ha1Md5, ha1Sha256] = await Promise.all([
    computeHa1("MD5", username, realm, password),
    computeHa1("SHA-256", username, realm, password),
  ]);
  return { ha1Md5, ha1Sha256 };
}

/** What a switch needs to challenge and admit a device. */
export function credentialsOf(acct: AccountRow, device: DeviceRow): DeviceCredentials {
  return {
    deviceId: device.id,
    username: device.username,
    realm: acct.realm,
    ha1Md5: device.ha1Md5,
    ha1Sha256: device.ha1Sha256,
    callerIdName: device.callerIdName,
    callerIdNumber: device.callerIdNumber,
    enabled: device.enabled,
    lockedUntil: device.lockedUntil,
    policy: policyOf(acct),
  };
}
