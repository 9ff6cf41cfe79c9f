// Who a device is: its digest checked against its HA1 (registrar/digest.ts), wrong answers counted
// toward the lockout per source address and per device (registrar/lockout.ts), nonce uses claimed
// against replay (registrar/replay.ts), and the proofs a switch's later report of a REGISTER must
// be vouched for by (registrar/proof.ts). Also what the metrics count of each check.
import { randomHex } from "../../registrar/bytes";
import { digestAlgorithmOf, verifyDigestResponse, type DigestCredentials } from "../../registrar/digest";
import { afterFailure, deviceLockAfter, isLocked, sourceAddress, type LockoutPolicy, type SourceRecord } from "../../registrar/lockout";
import type { RegisterProofKey } from "../../registrar/proof";
import { nonceCount, nonceKey } from "../../registrar/replay";
import type { Account } from "./account";
import type { Bindings, SaveGuard } from "./bindings";
import type { CommitGroup } from "./commit-group";
import { NO_DEVICE, type Devices } from "./devices";
import type { NewEvent } from "./events";
import type { EventStream } from "./event-stream";
import type { Alarm } from "./expiry";
import { authOutcomeOf, type Counters } from "./meter";
import { NonceUses, NONCE_SWEEP_BATCH, NONCE_USE_MARGIN_MS, type NonceUse } from "./nonce-uses";
import { ok, type Outcome } from "./outcome";
import type { DeviceRecord, DigestFailure, NonceGuard } from "./records";
import { RegisterProofs } from "./register-proofs";
import { lockoutOf, toDevice, type AccountRow, type DeviceRow } from "./rows";
import { SourceLocks, SOURCE_SWEEP_BATCH, type SourceLock } from "./source-locks";
import type { AccountLockouts } from "./records";

/** Device id under which a username the account does not have is counted (docs/security.md, "Enumeration"). */
export const UNKNOWN_DEVICE_PREFIX = "unknown:";

/** A right digest: the account, the device, when it was checked, and the nonce use to claim (if its nonce is guarded). */
export interface Authenticated {
  acct: AccountRow;
  device: DeviceRow;
  now: number;
  use: NonceUse | null;
}

/** How much of a table the alarm's sweep left behind. */
export type Leftover = "many" | "some" | "none";

export class Authentication {
  /** Digest nonces used, against replay. */
  private readonly nonces: NonceUses;
  /** Wrong digests and locks per device and source address. */
  private readonly sourceLocks: SourceLocks;
  private readonly proofs = new RegisterProofs();
  /** What the last counted failure was (refused by a lock, set a lock), for `counted`. */
  private lastFailure: { refused: boolean; sourceLocked: boolean; deviceLocked: boolean } | null = null;
  /**
   * The HA1 values a username the account does not have is checked against: random, never matched,
   * so an unknown user costs the digest work a known one does and gets the same answer.
   */
  private readonly unknownHa1 = {
    md5: randomHex(16),
    sha256: randomHex(32),
  };

  constructor(
    private readonly storage: DurableObjectStorage,
    sql: SqlStorage,
    private readonly account: Account,
    private readonly devices: Devices,
    private readonly bindings: Bindings,
    private readonly stream: EventStream,
    private readonly alarm: Alarm,
    private readonly group: CommitGroup,
    private readonly counters: Counters,
  ) {
    this.nonces = new NonceUses(sql);
    this.sourceLocks = new SourceLocks(sql);
  }

  /**
   * The one place a device's digest is checked. A username the account does not have (or a disabled
   * device) is checked against a random HA1 and counted like a wrong password, so it gets the same
   * answer after the same work. A source locked out of the device, or any source but the device's
   * own addresses while the whole device is locked, is refused whatever it sends, and that attempt
   * is counted too; the answer is the one a wrong password gets. The code after the digest
   * computation runs without awaiting, so what it reads and writes is one step. A right digest
   * comes with the nonce use to claim (in the transaction that acts on it), if its nonce is guarded.
   */
  async check(username: string, method: string, digest: DigestCredentials, source: string, guard: NonceGuard): Promise<DigestFailure | Authenticated> {
    const acct = this.account.row();
    if (!acct) return { status: "unknown_device" };
    const device = this.deviceForDigest(username);
    const algorithm = digestAlgorithmOf(digest);
    const count = nonceCount(digest.nc);
    const [verified, key] = await Promise.all([
      algorithm !== null && verifyDigestResponse(algorithm === "MD5" ? device.ha1Md5 : device.ha1Sha256, algorithm, digest, method),
      nonceKey(digest.nonce),
    ]);
    const now = Date.now();
    const current = this.deviceForDigest(username);
    const address = sourceAddress(source);
    const record = this.sourceLocks.get(current.id, address);
    const refused =
      (record !== undefined && isLocked(record.lockedUntil, now)) ||
      (isLocked(current.lockedUntil, now) && !this.bindings.registeredFrom(current.id, address, now));
    const right =
      verified &&
      current.id === device.id &&
      current.enabled &&
      digest.username === current.username &&
      digest.realm === acct.realm &&
      !Number.isNaN(count);
    if (!right || refused) {
      this.countFailure(current, address, source, record, refused, lockoutOf(acct), now);
      return { status: "bad_digest" };
    }
    // The right answer from a source with wrong ones before it: its count starts over.
    if (record !== undefined) this.sourceLocks.forget(current.id, address);
    const guarded = guard.record === "every-use" || digest.qop === undefined;
    return { acct, device: current, now, use: guarded ? { key, count, expiresAt: guard.expiresAt } : null };
  }

  /** Claim a nonce use in a commit of its own (nothing else is written); false for a replay. */
  async claim(use: NonceUse | null): Promise<boolean> {
    if (use === null) return true;
    const claimed = await this.group.run(() => this.nonces.claim(use));
    if (claimed) await this.alarm.noLaterThan(use.expiresAt + NONCE_USE_MARGIN_MS);
    return claimed;
  }

  /** The claim of a nonce use, to make in the same step as the write it allows (bindings.ts `save`). */
  guardOf(use: NonceUse | null): SaveGuard | null {
    return use === null ? null : { claim: () => this.nonces.claim(use), keepUntil: use.expiresAt + NONCE_USE_MARGIN_MS };
  }

  /**
   * Count a digest check's outcome (and the locks it set) for the metrics. A `bad_digest` comes
   * straight from `countFailure`, with no await between, so `lastFailure` is this check's own.
   */
  counted<T extends { status: string }>(switchId: string, method: string, result: T): T {
    const failure = result.status === "bad_digest" ? this.lastFailure : null;
    this.lastFailure = null;
    this.counters.authenticated(switchId, method, failure?.refused ? "locked" : authOutcomeOf(result.status));
    if (failure?.sourceLocked) this.counters.lockedOut(switchId, "source");
    if (failure?.deviceLocked) this.counters.lockedOut(switchId, "device");
    return result;
  }

  /** A switch verified a REGISTER of this device from this address: it may now report the registration. */
  noteProof(key: RegisterProofKey, now: number): void {
    this.proofs.note(key, now);
  }

  vouches(key: RegisterProofKey, now: number): boolean {
    return this.proofs.vouches(key, now);
  }

  /** The device's lock and the source locks in force: who is refused, and why. */
  lockout(deviceId: string): Outcome<{ deviceId: string; lockedUntil: number | null; sources: SourceLock[] }> {
    const device = this.devices.byId(deviceId);
    if (!device) return NO_DEVICE(deviceId);
    const now = Date.now();
    return ok({ deviceId, lockedUntil: isLocked(device.lockedUntil, now) ? device.lockedUntil : null, sources: this.sourceLocks.locked(deviceId, now) });
  }

  /**
   * Everyone refused in the account now: the devices locked as a whole, and each source address
   * locked out of a device (or of a username the account does not have), at most `limit` of each,
   * the latest-ending first; `truncated` when either list had more.
   */
  lockouts(limit: number): AccountLockouts {
    const now = Date.now();
    const locked = this.devices.locked(now, limit + 1);
    const sources = this.sourceLocks.lockedInAccount(now, limit + 1);
    const known = sources.filter((s) => !s.deviceId.startsWith(UNKNOWN_DEVICE_PREFIX)).map((s) => s.deviceId);
    const names = this.devices.usernames([...new Set(known)]);
    return {
      devices: locked.slice(0, limit).map((d) => ({ deviceId: d.id, username: d.username, lockedUntil: d.lockedUntil })),
      sources: sources.slice(0, limit).map((s) => {
        const unknown = s.deviceId.startsWith(UNKNOWN_DEVICE_PREFIX);
        return {
          deviceId: unknown ? null : s.deviceId,
          username: unknown ? s.deviceId.slice(UNKNOWN_DEVICE_PREFIX.length) : (names.get(s.deviceId) ?? null),
          source: s.source,
          failures: s.failures,
          lockedUntil: s.lockedUntil,
          lastAt: s.lastAt,
        };
      }),
      truncated: locked.length > limit || sources.length > limit,
    };
  }

  /** Lift the device's lock and every source lock now, and forget the failures that led to them. */
  clearLockout(deviceId: string): Outcome<DeviceRecord> {
    const device = this.devices.byId(deviceId);
    if (!device) return NO_DEVICE(deviceId);
    const now = Date.now();
    const wasLocked = isLocked(device.lockedUntil, now) || this.sourceLocks.locked(deviceId, now).length > 0;
    const published = this.devices.changing(() =>
      this.storage.transactionSync(() => {
        this.devices.writeLock(deviceId, null);
        this.sourceLocks.clear(deviceId);
        return wasLocked ? this.stream.record([{ type: "device.unlocked", deviceId, username: device.username }], Date.now()) : [];
      }),
    );
    this.stream.publish(published);
    return ok(toDevice(this.devices.byId(deviceId)!));
  }

  /** The alarm's sweep of used nonces and lapsed failure counts: how much of each is left. */
  sweep(now: number): { nonces: Leftover; sources: Leftover } {
    const nonces = this.nonces.sweep(now) === NONCE_SWEEP_BATCH ? "many" : this.nonces.any() ? "some" : "none";
    const acct = this.account.row();
    const policy = acct ? lockoutOf(acct) : null;
    const sources =
      policy === null ? "none" : this.sourceLocks.sweep(now - policy.windowSeconds * 1000, now) === SOURCE_SWEEP_BATCH ? "many" : this.sourceLocks.any() ? "some" : "none";
    return { nonces, sources };
  }

  /** The enabled device `username`, or a stand-in that no digest matches (unknown or disabled). */
  private deviceForDigest(username: string): DeviceRow {
    const device = this.devices.byUsername(username);
    if (device?.enabled) return device;
    return {
      id: `${UNKNOWN_DEVICE_PREFIX}${username}`,
      username,
      ha1Md5: this.unknownHa1.md5,
      ha1Sha256: this.unknownHa1.sha256,
      callerIdName: null,
      callerIdNumber: null,
      enabled: false,
      lockedUntil: null,
      createdAt: 0,
      updatedAt: 0,
    };
  }

  /**
   * Record a wrong digest, or an attempt from a refused source, against the device and source
   * address: the source is locked at its threshold; the whole device once enough sources fail
   * within the window. An unknown username goes through the same statements (its device row does
   * not exist, so no lock of it is written), and only its events differ.
   */
  private countFailure(device: DeviceRow, address: string, source: string, record: SourceRecord | undefined, refused: boolean, lockout: LockoutPolicy, now: number): void {
    const known = device.enabled;
    const next = afterFailure(record ?? null, lockout, now);
    let deviceLocked: number | null = null;
    const published = this.storage.transactionSync(() => {
      this.sourceLocks.write(device.id, address, next, now);
      if (!isLocked(device.lockedUntil, now)) {
        deviceLocked = deviceLockAfter(this.sourceLocks.failingSince(device.id, now - lockout.windowSeconds * 1000), lockout, now);
        if (deviceLocked !== null) this.devices.writeLock(device.id, deviceLocked);
      }
      const about = { deviceId: known ? device.id : null, username: device.username, source };
      const batch: NewEvent[] = [{ ...about, type: refused ? "auth.refused" : "auth.failed" }];
      if (known && next.locked) batch.push({ ...about, type: "source.locked", source: address });
      if (known && deviceLocked !== null) batch.push({ ...about, type: "device.locked" });
      return this.stream.record(batch, now);
    });
    if (deviceLocked !== null) this.devices.forget();
    this.lastFailure = { refused, sourceLocked: known && next.locked, deviceLocked: known && deviceLocked !== null };
    this.stream.publish(published);
    void this.alarm.noLaterThan(now + Math.max(lockout.windowSeconds, lockout.durationSeconds) * 1000);
  }
}
