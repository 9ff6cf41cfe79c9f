// Plain records an AccountRegistrar hands across RPC. Times are ms since the epoch.
// Secrets (HA1 values) appear only in DeviceCredentials, which only switch adapters receive.
import type { Binding, RegistrationPolicy } from "../../registrar/types";
import type { RegistrarError } from "../../registrar/errors";

/** Durable Object location hints: where an account's object is created. */
export const REGION_HINTS = ["wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"] as const;
export type RegionHint = (typeof REGION_HINTS)[number];

export interface AccountRecord {
  id: string;
  realm: string;
  name: string;
  jurisdiction: "eu" | null;
  regionHint: RegionHint | null;
  policy: RegistrationPolicy;
  createdAt: number;
  updatedAt: number;
}

export interface AccountInit {
  id: string;
  realm: string;
  name: string;
  jurisdiction: "eu" | null;
  regionHint: RegionHint | null;
  policy: RegistrationPolicy;
}

export interface AccountChanges {
  name?: string;
  policy?: Partial<RegistrationPolicy>;
}

export interface DeviceRecord {
  id: string;
  username: string;
  callerIdName: string | null;
  callerIdNumber: string | null;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface DeviceInput {
  username: string;
  password: string;
  callerIdName?: string | null;
  callerIdNumber?: string | null;
  enabled?: boolean;
}

export interface DeviceChanges {
  /** A new username needs a new password: HA1 values are bound to the username. */
  username?: string;
  password?: string;
  callerIdName?: string | null;
  callerIdNumber?: string | null;
  enabled?: boolean;
}

/** What a switch needs to challenge and admit a device: HA1 values, never a password. */
export interface DeviceCredentials {
  deviceId: string;
  username: string;
  realm: string;
  ha1Md5: string;
  ha1Sha256: string;
  callerIdName: string | null;
  callerIdNumber: string | null;
  enabled: boolean;
  policy: RegistrationPolicy;
}

export interface NumberRecord {
  number: string;
  deviceId: string | null;
  createdAt: number;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `after` for the next page; null on the last page. */
  next: string | null;
}

export type RegisterResult =
  | { status: "registered"; bindings: Binding[] }
  | { status: "rejected"; error: RegistrarError }
  | { status: "unknown_device" };
