// Plain records an AccountRegistrar hands across RPC. Times are ms since the epoch.
// Secrets (HA1 values) appear only in DeviceCredentials, which only switch adapters receive.
import type { Binding, RegisterRequest, RegistrationPolicy } from "../../registrar/types";
import type { RegistrarError } from "../../registrar/errors";
import type { DigestCredentials } from "../../registrar/digest";
import type { LockoutPolicy } from "../../registrar/lockout";
import type { CallPolicy } from "../../registrar/routing";

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
  lockout: LockoutPolicy;
  calls: CallPolicy;
  createdAt: number;
  updatedAt: number;
}

export type AccountInit = Omit<AccountRecord, "createdAt" | "updatedAt" | "calls"> & { calls?: CallPolicy };

export interface AccountChanges {
  name?: string;
  policy?: Partial<RegistrationPolicy>;
  lockout?: Partial<LockoutPolicy>;
  calls?: CallPolicy;
}

export interface DeviceRecord {
  id: string;
  username: string;
  callerIdName: string | null;
  callerIdNumber: string | null;
  enabled: boolean;
  /** Set while wrong digests from many sources keep the device locked (but for its own addresses). */
  lockedUntil: number | null;
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
  lockedUntil: number | null;
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
  /** The device's contacts after the REGISTER, each with its expiry (ms since the epoch). */
  | { status: "registered"; contacts: { contact: string; expiresAt: number }[] }
  | { status: "rejected"; error: RegistrarError }
  | { status: "unknown_device" };

/** How the object guards a digest's nonce against reuse (registrar/replay.ts). */
export interface NonceGuard {
  /** When the nonce stops being accepted: its uses are remembered until then. */
  expiresAt: number;
  /**
   * `every-use`: a nonce the edge issued; every use is recorded (the count must grow; without qop,
   * good once). `without-qop`: the switch issued it and counts qop uses itself; only a use without
   * qop is recorded (good once).
   */
  record: "every-use" | "without-qop";
}

/** A switch asks whether a device's digest is right (FreeSWITCH directory `sip_auth`): `authenticate`. */
export interface AuthenticateRequest {
  username: string;
  /** SIP method the digest was computed for: REGISTER, INVITE… */
  method: string;
  digest: DigestCredentials;
  nonce: NonceGuard;
  /** Where the request came from (`ip` or `ip:port`): recorded with each failure. */
  source: string;
  switchId: string;
  /** For a REGISTER: the binding it refreshes when the Call-ID and contact match one. */
  refresh?: { callId: string; contactUser: string; contactHost: string; stamp?: number };
  /** Force at most this interval (s; the asking switch is draining). Never below the account's minimum. */
  capExpires?: number;
  /** The device's IP address (canonical): a verified REGISTER from it vouches for the switch's event (registrar/proof.ts). */
  address?: string;
  /** The REGISTER's Call-ID: the proof vouches for an event with this Call-ID only. */
  callId?: string;
}

export type AuthorizationResult = { status: "authorized"; credentials: DeviceCredentials; forceExpires: number; refreshed: boolean } | DigestFailure;

/** Where a dialed destination leads inside one account: a device (by username or by number) and its live bindings. */
export type DestinationResult =
  | { kind: "device"; realm: string; username: string; bindings: Binding[] }
  /** A disabled device, or a number that rings no device: 480. */
  | { kind: "unavailable" }
  /** Nothing of this account: 404, or another account's number. */
  | { kind: "unknown" };

/**
 * Who vouches for a REGISTER given to `register`:
 * - `digest`: the edge checks the device's digest first (Kamailio `authorize`; failures count toward
 *   the lockout), and a draining switch caps the intervals;
 * - `reportedFrom`: a switch reports a registration it handled (FreeSWITCH `sofia::register`) for a
 *   device at this address: applied only when this object verified a REGISTER digest of the device
 *   through that switch from that address lately (registrar/proof.ts);
 * - none: the caller has authenticated the REGISTER itself.
 */
export type RegisterBy =
  | { digest: DigestCredentials; nonce: NonceGuard; source: string; capExpires?: number }
  | { reportedFrom: string | null };

/**
 * Why a digest was not accepted; `authorized` otherwise. An unknown or disabled username, a wrong
 * answer and a refused source (locked out) are all `bad_digest`: the switch answers them alike.
 */
export type DigestFailure =
  /** No account behind this object. */
  | { status: "unknown_device" }
  | { status: "bad_digest" }
  /** The right answer, but its nonce was used already (with this count, or once without qop). */
  | { status: "replayed" };

/** What `register` answers: `unproven` only for a reported registration, a `DigestFailure` only with a digest. */
export type RegisterAnswer = RegisterResult | DigestFailure | { status: "unproven" };

/** A call (Kamailio `locate`, the FreeSWITCH dialplan, a number's owner): optionally the caller to authenticate, and the destination. */
export interface RouteRequest {
  caller: { username: string; digest: DigestCredentials; nonce: NonceGuard; method: string; source: string } | null;
  /** The dialed user or number; null to authenticate the caller only. */
  destination: string | null;
  /** The realm the request names (Request-URI host) with its account id; null when the switch reports none. */
  requested?: { realm: string; accountId: string } | null;
  /** The switch that asked (counted in the metrics). */
  switchId?: string;
}

export type RouteResult =
  | DigestFailure
  /** `elsewhere`: the caller's call policy sends the call to the account of this realm, to be looked up there. */
  | { status: "authorized"; destination: DestinationResult | { kind: "elsewhere"; realm: string } | null };

/** Everyone refused in an account now (AccountRegistrar.lockouts). */
export interface AccountLockouts {
  /** Devices locked as a whole (wrong digests from many addresses). */
  devices: { deviceId: string; username: string; lockedUntil: number }[];
  /** Source addresses locked out of a device; `deviceId` null for a username the account does not have. */
  sources: { deviceId: string | null; username: string | null; source: string; failures: number; lockedUntil: number; lastAt: number }[];
  /** Either list had more than was asked for. */
  truncated: boolean;
}
