// The single authority for one account: its devices, numbers and live registrations.
// Every read and write of account state goes through the RPC methods below.
import { DurableObject } from "cloudflare:workers";
import { and, asc, eq, gt, inArray, lte, min, sql } from "drizzle-orm";
import { drizzle, type DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import { hex } from "../../registrar/bytes";
import { digestAlgorithmOf, verifyDigestResponse, type DigestCredentials } from "../../registrar/digest";
import { drainRegister, forcedInterval, policyInconsistency } from "../../registrar/policy";
import { planRefresh } from "../../registrar/refresh";
import { afterFailure, deviceLockAfter, isLocked, sourceAddress, type LockoutPolicy, type SourceRecord } from "../../registrar/lockout";
import { nonceCount, nonceKey } from "../../registrar/replay";
import { calleeAccount, numberCandidates } from "../../registrar/routing";
import { planRegister } from "../../registrar/save";
import type { Binding, BindingFields, RegisterRequest, RegistrationPolicy } from "../../registrar/types";
import { EVENTS_PROTOCOL, EventLog, eventView, wants, type Listener, type NewEvent, type RegistrarEvent } from "./events";
import { BindingStatements } from "./binding-sql";
import { CommitGroup } from "./commit-group";
import { DeviceCache } from "./device-cache";
import { NonceUses, NONCE_SWEEP_BATCH, NONCE_USE_MARGIN_MS, type NonceUse } from "./nonce-uses";
import { RegisterProofs } from "./register-proofs";
import { SourceLocks, SOURCE_SWEEP_BATCH, type SourceLock } from "./source-locks";
import { authOutcomeOf, Counters, SqlMeter, type Usage } from "./meter";
import { gatherMetrics, type AccountMetrics } from "./metrics";
import { DEFAULT_WEBHOOK_POLICY, WebhookDispatcher, webhookView, type WebhookView } from "./webhooks";
import {
  credentialsOf,
  ha1Pair,
  lockoutColumns,
  lockoutOf,
  newId,
  page,
  policyOf,
  toAccount,
  toBinding,
  toDevice,
  type AccountRow,
  type DeviceRow,
} from "./rows";
import migrations from "./migrations/migrations.js";
import { ok, refuse, type Outcome } from "./outcome";
import type {
  AccountChanges,
  AccountInit,
  AccountRecord,
  AuthorizationResult,
  CallRouting,
  CallRoutingResult,
  DestinationResult,
  DeviceAuthorization,
  DigestFailure,
  DigestRegistration,
  DigestRegistrationResult,
  DeviceChanges,
  NonceGuard,
  DeviceCredentials,
  DeviceInput,
  DeviceRecord,
  NumberRecord,
  Page,
  RegisterResult,
  ReportedRegisterResult,
} from "./records";
import * as schema from "./schema";

const { account, bindings, deadLetters, devices, numbers, webhooks } = schema;

/** Device id under which a username the account does not have is counted (docs/security.md, "Enumeration"). */
export const UNKNOWN_DEVICE_PREFIX = "unknown:";

/** Expired bindings removed per alarm run; more are left to an immediate follow-up run. */
export const SWEEP_BATCH = 50;
/** While used nonces or failure counts are kept, the alarm comes back at least this often to sweep them. */
export const NONCE_SWEEP_INTERVAL_MS = 60_000;


export class AccountRegistrar extends DurableObject {
  private readonly db: DrizzleSqliteDODatabase<typeof schema>;
  private readonly meter: SqlMeter;
  /** Authentications, lockouts and webhook deliveries, for GET /api/v1/metrics. */
  private readonly counters: Counters;
  /** What the last counted failure was (refused by a lock, set a lock), for `counted`. */
  private lastFailure: { refused: boolean; sourceLocked: boolean; deviceLocked: boolean } | null = null;
  private readonly events: EventLog;
  private readonly webhooks: WebhookDispatcher;
  /** When the object's single alarm is set to fire, as this instance knows it. */
  private alarmAt: number | null = null;
  /**
   * Whether this object holds an account's tables. An object reached for an unknown realm or id
   * stays empty: nothing is written until `initialize`.
   */
  private hasSchema = false;
  /** The account row, read once and kept: every callback needs it, only the API changes it. */
  private accountCache: AccountRow | undefined = undefined;
  /** The callbacks' queries, built once (building a query costs more than running it). */
  private readonly q;
  /** Devices by username, for the callbacks; forgotten on every change to the devices table. */
  private readonly deviceCache = new DeviceCache();
  private readonly registerProofs = new RegisterProofs();
  /** The callbacks' writes, committed together when they arrive together. */
  private readonly group: CommitGroup;
  /** The bindings statements of the callbacks' hot path. */
  private readonly bindingSql: BindingStatements;
  /** Digest nonces used, against replay. */
  private readonly nonces: NonceUses;
  /** Wrong digests and locks per device and source address. */
  private readonly sourceLocks: SourceLocks;
  /**
   * The HA1 values a username the account does not have is checked against: random, never matched,
   * so an unknown user costs the digest work a known one does and gets the same answer.
   */
  private readonly unknownHa1 = {
    md5: hex(crypto.getRandomValues(new Uint8Array(16))),
    sha256: hex(crypto.getRandomValues(new Uint8Array(32))),
  };

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.meter = new SqlMeter(ctx.storage);
    this.counters = new Counters(ctx.storage);
    const metered = this.meter.view();
    this.db = drizzle(metered, { schema });
    this.bindingSql = new BindingStatements(metered.sql);
    this.nonces = new NonceUses(metered.sql);
    this.sourceLocks = new SourceLocks(metered.sql);
    this.q = prepareQueries(this.db);
    this.group = new CommitGroup(ctx.storage);
    this.events = new EventLog(this.db);
    this.webhooks = new WebhookDispatcher(this.db, this.events, {
      ...DEFAULT_WEBHOOK_POLICY,
      retryBaseMs: Number(env.WEBHOOK_RETRY_BASE_MS ?? DEFAULT_WEBHOOK_POLICY.retryBaseMs) || DEFAULT_WEBHOOK_POLICY.retryBaseMs,
      maxAttempts: Number(env.WEBHOOK_MAX_ATTEMPTS ?? DEFAULT_WEBHOOK_POLICY.maxAttempts) || DEFAULT_WEBHOOK_POLICY.maxAttempts,
    }, () => env.WEBHOOK_ALLOW_PRIVATE === "true", () => this.hasSchema, this.counters);
    void ctx.blockConcurrencyWhile(async () => {
      this.hasSchema =
        ctx.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'account'").toArray().length > 0;
      // Existing accounts pick up new migrations the first time their object wakes.
      if (this.hasSchema) await migrate(this.db, migrations);
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  // ── account ──────────────────────────────────────────────────────────────

  async initialize(init: AccountInit): Promise<Outcome<AccountRecord>> {
    if (this.accountRow()) return refuse("conflict", "this account object is already initialised", "realm");
    if (!this.hasSchema) {
      await migrate(this.db, migrations);
      this.hasSchema = true;
    }
    const now = Date.now();
    this.db
      .insert(account)
      .values({
        id: 1,
        accountId: init.id,
        realm: init.realm,
        name: init.name,
        jurisdiction: init.jurisdiction,
        regionHint: init.regionHint,
        ...init.policy,
        ...lockoutColumns(init.lockout),
        callsAllowedAccounts: [...(init.calls?.allowedAccounts ?? [])],
        createdAt: now,
        updatedAt: now,
      })
      .run();
    this.accountCache = undefined;
    return ok(toAccount(this.accountRow()!));
  }

  describe(): Outcome<AccountRecord> {
    const row = this.accountRow();
    return row ? ok(toAccount(row)) : refuse("not_found", "no such account", "accountId");
  }

  updateAccount(changes: AccountChanges): Outcome<AccountRecord> {
    const row = this.accountRow();
    if (!row) return refuse("not_found", "no such account", "accountId");
    const policy: RegistrationPolicy = { ...policyOf(row), ...changes.policy };
    const lockout: LockoutPolicy = { ...lockoutOf(row), ...changes.lockout };
    const inconsistency = policyInconsistency(policy);
    if (inconsistency) return refuse("invalid", inconsistency.detail, inconsistency.field);
    this.db
      .update(account)
      .set({
        name: changes.name ?? row.name,
        ...policy,
        ...lockoutColumns(lockout),
        ...(changes.calls && { callsAllowedAccounts: [...changes.calls.allowedAccounts] }),
        updatedAt: Date.now(),
      })
      .where(eq(account.id, 1))
      .run();
    this.accountCache = undefined;
    return ok(toAccount(this.accountRow()!));
  }

  /** Erase everything the account holds; the object is left empty and uninitialised. */
  async destroy(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.alarmAt = null;
    this.hasSchema = false;
    this.accountCache = undefined;
    this.deviceCache.forget();
    this.webhooks.forget();
    this.counters.reset();
  }

  // ── devices ──────────────────────────────────────────────────────────────

  async createDevice(input: DeviceInput): Promise<Outcome<DeviceRecord>> {
    const acct = this.accountRow();
    if (!acct) return refuse("not_found", "no such account", "accountId");
    if (this.deviceByUsername(input.username)) {
      return refuse("conflict", `username ${input.username} already exists in this account`, "username");
    }
    const hashes = await ha1Pair(input.username, acct.realm, input.password);
    // The digest computation awaited: check again before writing, in the same synchronous step.
    if (this.deviceByUsername(input.username)) {
      return refuse("conflict", `username ${input.username} already exists in this account`, "username");
    }
    const now = Date.now();
    // The cache remembers the username as absent: forget it with the insert.
    const row = this.changingDevices(() => this.db
      .insert(devices)
      .values({
        id: newId("dev"),
        username: input.username,
        ...hashes,
        callerIdName: input.callerIdName ?? null,
        callerIdNumber: input.callerIdNumber ?? null,
        enabled: input.enabled ?? true,
        createdAt: now,
        updatedAt: now,
      })
      .returning()
      .get());
    return ok(toDevice(row));
  }

  getDevice(deviceId: string): Outcome<DeviceRecord> {
    const row = this.deviceById(deviceId);
    return row ? ok(toDevice(row)) : refuse("not_found", `no device ${deviceId} in this account`, "deviceId");
  }

  listDevices(limit: number, after: string | null): Page<DeviceRecord> {
    if (!this.hasSchema) return { items: [], next: null };
    const rows = this.db
      .select()
      .from(devices)
      .where(after === null ? undefined : gt(devices.id, after))
      .orderBy(asc(devices.id))
      .limit(limit + 1)
      .all();
    return page(rows.map(toDevice), limit, (d) => d.id);
  }

  async updateDevice(deviceId: string, changes: DeviceChanges): Promise<Outcome<DeviceRecord>> {
    const acct = this.accountRow();
    const current = this.deviceById(deviceId);
    if (!acct || !current) return refuse("not_found", `no device ${deviceId} in this account`, "deviceId");
    const username = changes.username ?? current.username;
    if (username !== current.username) {
      if (changes.password === undefined) {
        return refuse("invalid", "a new username needs a new password (HA1 values include the username)", "password");
      }
      if (this.deviceByUsername(username)) {
        return refuse("conflict", `username ${username} already exists in this account`, "username");
      }
    }
    const hashes = changes.password === undefined ? {} : await ha1Pair(username, acct.realm, changes.password);
    if (username !== current.username && this.deviceByUsername(username)) {
      return refuse("conflict", `username ${username} already exists in this account`, "username");
    }
    if (!this.deviceById(deviceId)) return refuse("not_found", `no device ${deviceId} in this account`, "deviceId");
    const { row, published } = this.changingDevices(() => this.ctx.storage.transactionSync(() => {
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
      const dropped =
        username === current.username
          ? []
          : this.db
              .delete(bindings)
              .where(eq(bindings.deviceId, deviceId))
              .returning({ contact: bindings.contact, switchId: bindings.switchId })
              .all();
      const published = this.record(
        dropped.map((b) => ({ type: "binding.removed", deviceId, username: current.username, contact: b.contact, switchId: b.switchId })),
        Date.now(),
      );
      return { row, published };
    }));
    this.publish(published);
    return ok(toDevice(row!));
  }

  /** Remove a device with its bindings; numbers that rang it fall back to the account. */
  deleteDevice(deviceId: string): Outcome<{ deleted: string }> {
    if (!this.deviceById(deviceId)) return refuse("not_found", `no device ${deviceId} in this account`, "deviceId");
    const username = this.deviceById(deviceId)!.username;
    const published = this.changingDevices(() => this.ctx.storage.transactionSync(() => {
      const removed = this.db.delete(bindings).where(eq(bindings.deviceId, deviceId)).returning({ contact: bindings.contact, switchId: bindings.switchId }).all();
      this.db.update(numbers).set({ deviceId: null }).where(eq(numbers.deviceId, deviceId)).run();
      this.db.delete(devices).where(eq(devices.id, deviceId)).run();
      return this.record(removed.map((b) => ({ type: "binding.removed", deviceId, username, contact: b.contact, switchId: b.switchId })), Date.now());
    }));
    this.publish(published);
    return ok({ deleted: deviceId });
  }

  // ── numbers (DIDs) ───────────────────────────────────────────────────────

  assignNumber(number: string, deviceId: string | null): Outcome<NumberRecord> {
    if (!this.accountRow()) return refuse("not_found", "no such account", "accountId");
    if (deviceId !== null && !this.deviceById(deviceId)) {
      return refuse("invalid", `no device ${deviceId} in this account`, "deviceId");
    }
    const existing = this.db.select().from(numbers).where(eq(numbers.number, number)).get();
    if (existing) {
      const row = this.db.update(numbers).set({ deviceId }).where(eq(numbers.number, number)).returning().get();
      return ok(row!);
    }
    const row = this.db.insert(numbers).values({ number, deviceId, createdAt: Date.now() }).returning().get();
    return ok(row);
  }

  getNumber(number: string): Outcome<NumberRecord> {
    if (!this.hasSchema) return refuse("not_found", `number ${number} is not in this account`, "number");
    const row = this.db.select().from(numbers).where(eq(numbers.number, number)).get();
    return row ? ok(row) : refuse("not_found", `number ${number} is not in this account`, "number");
  }

  listNumbers(limit: number, after: string | null): Page<NumberRecord> {
    if (!this.hasSchema) return { items: [], next: null };
    const rows = this.db
      .select()
      .from(numbers)
      .where(after === null ? undefined : gt(numbers.number, after))
      .orderBy(asc(numbers.number))
      .limit(limit + 1)
      .all();
    return page(rows, limit, (n) => n.number);
  }

  releaseNumber(number: string): Outcome<{ deleted: string }> {
    if (!this.hasSchema) return refuse("not_found", `number ${number} is not in this account`, "number");
    const removed = this.db.delete(numbers).where(eq(numbers.number, number)).returning().all();
    return removed.length > 0 ? ok({ deleted: number }) : refuse("not_found", `number ${number} is not in this account`, "number");
  }

  // ── switch callbacks ─────────────────────────────────────────────────────

  /** Credentials for a switch to challenge a device with. Reads one row; writes nothing. */
  authenticate(username: string): DeviceCredentials | null {
    const acct = this.accountRow();
    const device = this.deviceByUsername(username);
    return acct && device ? credentialsOf(acct, device) : null;
  }

  /**
   * Check a device's digest the switch received (FreeSWITCH directory `sip_auth`), in one call:
   * a locked device is refused whatever it sends; a wrong digest counts toward the lockout; a right
   * REGISTER digest refreshes the binding it belongs to (same Call-ID and contact), so the switch
   * needs no second request for a refresh. A right INVITE digest writes nothing.
   */
  async authorizeDevice(request: DeviceAuthorization): Promise<AuthorizationResult> {
    return this.counted(request.switchId, request.method, await this.authorizeDeviceUncounted(request));
  }

  private async authorizeDeviceUncounted(request: DeviceAuthorization): Promise<AuthorizationResult> {
    const checked = await this.checkDigest(request.username, request.method, request.digest, request.source, request.nonce);
    if ("status" in checked) return checked;
    const { acct, now } = checked;
    if (checked.use && !(await this.claimNonce(checked.use))) return { status: "replayed" };
    const policy = policyOf(acct);
    const forceExpires = forcedInterval(policy, Math.random(), request.capExpires);
    // This switch may now report this device's registration from this address (registrar/proof.ts).
    if (request.method === "REGISTER" && request.address !== undefined) {
      this.registerProofs.note({ deviceId: checked.device.id, switchId: request.switchId, address: request.address }, now);
    }
    const refreshed = request.refresh ? await this.refreshAtAuth(checked.device, request.refresh, request.switchId, forceExpires, policy, now) : false;
    return { status: "authorized", credentials: credentialsOf(acct, checked.device), forceExpires, refreshed };
  }

  /**
   * A registration a switch handled and reports afterwards (FreeSWITCH `sofia::register`). Applied
   * only when this object verified a REGISTER digest of the device through that switch, from that
   * address, within the proof window (registrar/proof.ts); otherwise refused and recorded as a
   * `binding.refused` event, so the operator sees a switch reporting what it cannot have seen.
   */
  async registerReported(username: string, request: RegisterRequest & { switchId: string }, address: string | null): Promise<ReportedRegisterResult> {
    const device = this.deviceByUsername(username);
    if (!this.accountRow() || !device || !device.enabled) return { status: "unknown_device" };
    const now = Date.now();
    if (address !== null && this.registerProofs.vouches({ deviceId: device.id, switchId: request.switchId, address }, now)) {
      return this.register(username, request);
    }
    const contact = request.contacts === "*" ? null : (request.contacts[0]?.uri ?? null);
    const published = await this.group.run(() =>
      this.record(
        [{ type: "binding.refused", deviceId: device.id, username: device.username, contact, source: request.received ?? address, switchId: request.switchId }],
        now,
      ),
    );
    this.publish(published);
    return { status: "unproven" };
  }

  /**
   * A REGISTER a proxy received, digest and all (Kamailio `authorize`), in one call: the digest is
   * checked here (failures count toward the lockout), then the registration is applied.
   */
  async registerWithDigest(request: DigestRegistration): Promise<DigestRegistrationResult> {
    return this.counted(request.switchId, "REGISTER", await this.registerWithDigestUncounted(request));
  }

  private async registerWithDigestUncounted(request: DigestRegistration): Promise<DigestRegistrationResult> {
    const checked = await this.checkDigest(request.username, "REGISTER", request.digest, request.source, request.nonce);
    if ("status" in checked) return checked;
    const register = { ...request.register, switchId: request.switchId };
    return this.applyRegister(request.username, request.capExpires === undefined ? register : drainRegister(register, request.capExpires, policyOf(checked.acct)), checked.use);
  }

  /**
   * A call from one of this account's devices (Kamailio `locate`, the FreeSWITCH dialplan):
   * authenticate the caller when asked (a right digest writes nothing), then find the destination in
   * this account, or name the other account the call policy lets it reach (`calleeAccount`).
   */
  async routeCall(request: CallRouting): Promise<CallRoutingResult> {
    const result = await this.routeCallUncounted(request);
    return request.caller ? this.counted(request.switchId ?? "", request.caller.method, result) : result;
  }

  /**
   * Count a digest check's outcome (and the locks it set) for the metrics. A `bad_digest` comes
   * straight from `countFailure`, with no await between, so `lastFailure` is this check's own.
   */
  private counted<T extends { status: string }>(switchId: string, method: string, result: T): T {
    const failure = result.status === "bad_digest" ? this.lastFailure : null;
    this.lastFailure = null;
    this.counters.authenticated(switchId, method, failure?.refused ? "locked" : authOutcomeOf(result.status));
    if (failure?.sourceLocked) this.counters.lockedOut(switchId, "source");
    if (failure?.deviceLocked) this.counters.lockedOut(switchId, "device");
    return result;
  }

  /** The account's metrics (GET /api/v1/metrics gathers one of these per account). */
  metrics(): AccountMetrics | null {
    const acct = this.accountRow();
    if (!acct) return null;
    return gatherMetrics(this.db, acct.accountId, this.counters.read(), this.webhooks.backlog(this.events.latest()), Date.now());
  }

  private async routeCallUncounted(request: CallRouting): Promise<CallRoutingResult> {
    if (request.caller) {
      const { username, method, digest, source, nonce } = request.caller;
      const checked = await this.checkDigest(username, method, digest, source, nonce);
      if ("status" in checked) return checked;
      if (checked.use && !(await this.claimNonce(checked.use))) return { status: "replayed" };
    }
    if (request.destination === null) return { status: "authorized", destination: null };
    const acct = this.accountRow();
    if (!acct) return { status: "authorized", destination: { kind: "unknown" } };
    const where = calleeAccount(
      { accountId: acct.accountId, realm: acct.realm, calls: { allowedAccounts: acct.callsAllowedAccounts } },
      request.requested ?? null,
    );
    if (where.kind === "other") return { status: "authorized", destination: { kind: "elsewhere", realm: where.realm } };
    return { status: "authorized", destination: this.locateDestination(request.destination) };
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
  private async checkDigest(
    username: string,
    method: string,
    digest: DigestCredentials,
    source: string,
    guard: NonceGuard,
  ): Promise<DigestFailure | { acct: AccountRow; device: DeviceRow; now: number; use: NonceUse | null }> {
    const acct = this.accountRow();
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
      (isLocked(current.lockedUntil, now) && !this.registeredFrom(current.id, address, now));
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

  /** The enabled device `username`, or a stand-in that no digest matches (unknown or disabled). */
  private deviceForDigest(username: string): DeviceRow {
    const device = this.deviceByUsername(username);
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

  /** Is `address` one the device holds a live binding from (where its owner is)? */
  private registeredFrom(deviceId: string, address: string, now: number): boolean {
    return this.liveBindingsOf(deviceId, now).some((b) => b.received !== null && sourceAddress(b.received) === address);
  }

  /** Claim a nonce use in a commit of its own; false for a replay. */
  private async claimNonce(use: NonceUse): Promise<boolean> {
    const claimed = await this.group.run(() => this.nonces.claim(use));
    if (claimed) await this.expireNoLaterThan(use.expiresAt + NONCE_USE_MARGIN_MS);
    return claimed;
  }

  /**
   * Record a wrong digest, or an attempt from a refused source, against the device and source
   * address: the source is locked at its threshold; the whole device once enough sources fail
   * within the window. An unknown username goes through the same statements (its device row does
   * not exist, so no lock of it is written), and only its events differ.
   */
  private countFailure(
    device: DeviceRow,
    address: string,
    source: string,
    record: SourceRecord | undefined,
    refused: boolean,
    lockout: LockoutPolicy,
    now: number,
  ): void {
    const known = device.enabled;
    const next = afterFailure(record ?? null, lockout, now);
    let deviceLocked: number | null = null;
    const published = this.ctx.storage.transactionSync(() => {
      this.sourceLocks.write(device.id, address, next, now);
      if (!isLocked(device.lockedUntil, now)) {
        deviceLocked = deviceLockAfter(this.sourceLocks.failingSince(device.id, now - lockout.windowSeconds * 1000), lockout, now);
        if (deviceLocked !== null) this.db.update(devices).set({ lockedUntil: deviceLocked }).where(eq(devices.id, device.id)).run();
      }
      const about = { deviceId: known ? device.id : null, username: device.username, source };
      const batch: NewEvent[] = [{ ...about, type: refused ? "auth.refused" : "auth.failed" }];
      if (known && next.locked) batch.push({ ...about, type: "source.locked", source: address });
      if (known && deviceLocked !== null) batch.push({ ...about, type: "device.locked" });
      return this.record(batch, now);
    });
    if (deviceLocked !== null) this.deviceCache.forget();
    this.lastFailure = { refused, sourceLocked: known && next.locked, deviceLocked: known && deviceLocked !== null };
    this.publish(published);
    void this.expireNoLaterThan(now + Math.max(lockout.windowSeconds, lockout.durationSeconds) * 1000);
  }

  /**
   * A REGISTER whose Call-ID and contact match a live binding extends it here and now, held by the
   * switch that asked: one row updated, and the switch's register event can be skipped.
   */
  private async refreshAtAuth(
    device: DeviceRow,
    refresh: NonNullable<DeviceAuthorization["refresh"]>,
    switchId: string,
    seconds: number,
    policy: RegistrationPolicy,
    now: number,
  ): Promise<boolean> {
    let outcome: { refreshed: boolean; published: RegistrarEvent[] };
    try {
      outcome = await this.group.run(() => {
        const plan = planRefresh(this.bindingSql.refreshCandidates(device.id), refresh, seconds, policy, now);
        if (!plan) return { refreshed: false, published: [] };
        this.bindingSql.refresh(plan.id, plan.expiresAt, switchId, now);
        const event: NewEvent = { type: "binding.refreshed", deviceId: device.id, username: device.username, contact: plan.contact, switchId };
        return { refreshed: true, published: this.record([event], now) };
      });
    } catch (error) {
      // The digest was right; without the refresh the switch reports the registration instead.
      console.error("refresh at auth failed", error);
      return false;
    }
    this.publish(outcome.published);
    return outcome.refreshed;
  }

  /** The device's lock and the source locks in force: who is refused, and why. */
  lockoutOf(deviceId: string): Outcome<{ deviceId: string; lockedUntil: number | null; sources: SourceLock[] }> {
    const device = this.deviceById(deviceId);
    if (!device) return refuse("not_found", `no device ${deviceId} in this account`, "deviceId");
    const now = Date.now();
    return ok({ deviceId, lockedUntil: isLocked(device.lockedUntil, now) ? device.lockedUntil : null, sources: this.sourceLocks.locked(deviceId, now) });
  }

  /** Lift the device's lock and every source lock now, and forget the failures that led to them. */
  clearLockout(deviceId: string): Outcome<DeviceRecord> {
    if (!this.deviceById(deviceId)) return refuse("not_found", `no device ${deviceId} in this account`, "deviceId");
    const now = Date.now();
    const wasLocked = isLocked(this.deviceById(deviceId)!.lockedUntil, now) || this.sourceLocks.locked(deviceId, now).length > 0;
    const published = this.changingDevices(() => this.ctx.storage.transactionSync(() => {
      this.db.update(devices).set({ lockedUntil: null }).where(eq(devices.id, deviceId)).run();
      this.sourceLocks.clear(deviceId);
      const device = this.deviceById(deviceId)!;
      return wasLocked ? this.record([{ type: "device.unlocked", deviceId, username: device.username }], Date.now()) : [];
    }));
    this.publish(published);
    return ok(toDevice(this.deviceById(deviceId)!));
  }

  /** Apply a REGISTER (already authenticated by the switch or the edge) to the device's bindings. */
  async register(username: string, request: RegisterRequest): Promise<RegisterResult> {
    const result = await this.applyRegister(username, request, null);
    // With no nonce use to claim there is no replay.
    return result.status === "replayed" ? { status: "unknown_device" } : result;
  }

  /** A REGISTER applied in the same transaction as the claim of its digest's nonce use, if any. */
  private async applyRegister(username: string, request: RegisterRequest, use: NonceUse | null): Promise<RegisterResult | { status: "replayed" }> {
    const acct = this.accountRow();
    const device = this.deviceByUsername(username);
    if (!acct || !device || !device.enabled) return { status: "unknown_device" };
    const now = Date.now();
    const policy = policyOf(acct);
    const about = { deviceId: device.id, username: device.username, source: request.received ?? null, switchId: request.switchId ?? null };
    // Read, plan and write in one synchronous step of the group commit.
    const applied = await this.group.run(() => {
      if (use && !this.nonces.claim(use)) return { ok: false as const, replayed: true as const };
      // One read of the device's rows: the live ones are planned over, expired ones the sweep has
      // not reached yet are removed first (one may hold a contact the request re-registers).
      const rows = this.bindingSql.ofDevice(device.id);
      const existing = rows.filter((b) => b.expiresAt > now);
      const expired = rows.filter((b) => b.expiresAt <= now);
      const outcome = planRegister(existing, request, policy, now);
      if (!outcome.ok) return outcome;
      const { inserts, updates, deletes } = outcome.plan;
      const gone = [...expired.map((b) => b.id), ...deletes];
      if (gone.length > 0) this.db.delete(bindings).where(inArray(bindings.id, gone)).run();
      const contactOf = new Map(existing.map((b) => [b.id, b.contact]));
      for (const { id, fields } of updates) this.bindingSql.update(id, device.id, fields, contactOf.get(id) ?? "", now);
      for (const fields of inserts) this.bindingSql.insert(device.id, fields, now);
      const removedContacts = existing.filter((b) => deletes.includes(b.id));
      const published = this.record(
        [
          ...expired.map((b): NewEvent => ({ ...about, type: "binding.expired", contact: b.contact, source: null, switchId: b.switchId })),
          ...removedContacts.map((b): NewEvent => ({ ...about, type: "binding.removed", contact: b.contact })),
          ...updates.map(({ fields }): NewEvent => ({ ...about, type: "binding.refreshed", contact: fields.contact })),
          ...inserts.map((fields): NewEvent => ({ ...about, type: "binding.created", contact: fields.contact })),
        ],
        now,
      );
      const deadlines = [...inserts, ...updates.map((u) => u.fields)].map((f: BindingFields) => f.expiresAt);
      if (use) deadlines.push(use.expiresAt + NONCE_USE_MARGIN_MS);
      // The device's contacts now, from what was written (no second read).
      const updated = new Map(updates.map((u) => [u.id, u.fields]));
      const contacts = [
        ...existing.filter((b) => !deletes.includes(b.id)).map((b) => updated.get(b.id) ?? b),
        ...inserts,
      ].map(({ contact, expiresAt }) => ({ contact, expiresAt }));
      return { ok: true as const, published, deadlines, contacts };
    });
    if (!applied.ok) return "replayed" in applied ? { status: "replayed" } : { status: "rejected", error: applied.error };
    this.publish(applied.published);
    if (applied.deadlines.length > 0) await this.expireNoLaterThan(Math.min(...applied.deadlines));
    return { status: "registered", contacts: applied.contacts };
  }

  /** Remove one contact of a device, or all of them with "*". Returns how many were removed. */
  async unregister(username: string, contact: string | "*"): Promise<Outcome<{ removed: number }>> {
    const device = this.deviceByUsername(username);
    if (!device) return refuse("not_found", `no device ${username} in this account`, "username");
    const where =
      contact === "*"
        ? eq(bindings.deviceId, device.id)
        : and(eq(bindings.deviceId, device.id), eq(bindings.contact, contact));
    const now = Date.now();
    const published = await this.group.run(() => {
      const removed = this.db.delete(bindings).where(where).returning({ contact: bindings.contact, switchId: bindings.switchId }).all();
      return this.record(
        removed.map((b) => ({ type: "binding.removed", deviceId: device.id, username: device.username, contact: b.contact, switchId: b.switchId })),
        now,
      );
    });
    this.publish(published);
    return ok({ removed: published.length });
  }

  /** Where a device can be reached now: its live bindings, best q first, newest first. */
  locate(username: string): Binding[] | null {
    const device = this.deviceByUsername(username);
    if (!device || !device.enabled) return null;
    return this.reachableAt(device.id);
  }

  /** A device's live bindings, best q first, newest first. */
  private reachableAt(deviceId: string): Binding[] {
    return this.liveBindingsOf(deviceId, Date.now()).sort((a, b) => (b.q ?? 1) - (a.q ?? 1) || b.updatedAt - a.updatedAt);
  }

  /** A dialed destination: a device's username first, then one of the account's numbers. */
  locateDestination(destination: string): DestinationResult {
    const acct = this.accountRow();
    if (!acct) return { kind: "unknown" };
    let device = this.deviceByUsername(destination);
    if (!device) {
      const candidates = numberCandidates(destination);
      const number = candidates.length === 0 ? undefined : this.db.select().from(numbers).where(inArray(numbers.number, candidates)).get();
      if (!number) return { kind: "unknown" };
      device = number.deviceId === null ? undefined : this.deviceById(number.deviceId);
      if (!device) return { kind: "unavailable" };
    }
    if (!device.enabled) return { kind: "unavailable" };
    return { kind: "device", realm: acct.realm, username: device.username, bindings: this.reachableAt(device.id) };
  }

  /**
   * The switch that holds a binding says it expired (FreeSWITCH `sofia::expire`): remove it if that
   * switch still holds it. A binding re-registered through another switch since then stays.
   */
  async confirmExpiry(username: string, contact: string, switchId: string): Promise<Outcome<{ removed: number }>> {
    const device = this.deviceByUsername(username);
    if (!device) return refuse("not_found", `no device ${username} in this account`, "username");
    const published = await this.group.run(() => {
      const removed = this.db
        .delete(bindings)
        .where(and(eq(bindings.deviceId, device.id), eq(bindings.contact, contact), eq(bindings.switchId, switchId)))
        .returning({ contact: bindings.contact })
        .all();
      return this.record(
        removed.map((b) => ({ type: "binding.expired", deviceId: device.id, username: device.username, contact: b.contact, switchId })),
        Date.now(),
      );
    });
    this.publish(published);
    return ok({ removed: published.length });
  }

  // ── registrations (provisioning view) ────────────────────────────────────

  listBindings(filter: { deviceId?: string }, limit: number, after: number | null): Page<Binding> {
    if (!this.hasSchema) return { items: [], next: null };
    const now = Date.now();
    const rows = this.db
      .select()
      .from(bindings)
      .where(
        and(
          gt(bindings.expiresAt, now),
          filter.deviceId === undefined ? undefined : eq(bindings.deviceId, filter.deviceId),
          after === null ? undefined : gt(bindings.id, after),
        ),
      )
      .orderBy(asc(bindings.id))
      .limit(limit + 1)
      .all();
    return page(rows.map(toBinding), limit, (b) => String(b.id));
  }

  /** Drop one binding so that the device has to register again. */
  removeBinding(bindingId: number): Outcome<{ deleted: number }> {
    if (!this.hasSchema) return refuse("not_found", `no live registration ${bindingId} in this account`, "registrationId");
    const now = Date.now();
    let removed: { deviceId: string; contact: string; switchId: string | null }[] = [];
    const published = this.ctx.storage.transactionSync(() => {
      removed = this.db
        .delete(bindings)
        .where(and(eq(bindings.id, bindingId), gt(bindings.expiresAt, now)))
        .returning({ deviceId: bindings.deviceId, contact: bindings.contact, switchId: bindings.switchId })
        .all();
      return this.record(
        removed.map((b) => ({ type: "binding.removed", deviceId: b.deviceId, username: this.deviceById(b.deviceId)?.username ?? null, contact: b.contact, switchId: b.switchId })),
        now,
      );
    });
    this.publish(published);
    return removed.length > 0
      ? ok({ deleted: bindingId })
      : refuse("not_found", `no live registration ${bindingId} in this account`, "registrationId");
  }

  // ── expiry ───────────────────────────────────────────────────────────────

  /** Sweep expired bindings in bounded batches, then aim the alarm at the next deadline. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    if (!this.hasSchema) return;
    const now = Date.now();
    let swept: { id: number; deviceId: string; contact: string; switchId: string | null }[] = [];
    const published = this.ctx.storage.transactionSync(() => {
      swept = this.db
        .delete(bindings)
        .where(
          inArray(
            bindings.id,
            this.db
              .select({ id: bindings.id })
              .from(bindings)
              .where(lte(bindings.expiresAt, now))
              .orderBy(asc(bindings.expiresAt))
              .limit(SWEEP_BATCH),
          ),
        )
        .returning({ id: bindings.id, deviceId: bindings.deviceId, contact: bindings.contact, switchId: bindings.switchId })
        .all();
      const names = this.usernames([...new Set(swept.map((b) => b.deviceId))]);
      return this.record(
        swept.map((b) => ({ type: "binding.expired", deviceId: b.deviceId, username: names.get(b.deviceId) ?? null, contact: b.contact, switchId: b.switchId })),
        now,
      );
    });
    this.publish(published);
    const noncesLeft = this.nonces.sweep(now) === NONCE_SWEEP_BATCH ? "many" : this.nonces.any() ? "some" : "none";
    const policy = this.accountRow() ? lockoutOf(this.accountRow()!) : null;
    const sourcesLeft =
      policy === null ? "none" : this.sourceLocks.sweep(now - policy.windowSeconds * 1000, now) === SOURCE_SWEEP_BATCH ? "many" : this.sourceLocks.any() ? "some" : "none";
    const acct = this.accountRow();
    if (acct) await this.webhooks.run(acct.accountId, now);
    // The account may have been removed (its tables dropped) while a delivery was in flight.
    if (!this.hasSchema) return;
    const deadlines = [
      swept.length === SWEEP_BATCH || noncesLeft === "many" || sourcesLeft === "many" ? now : this.earliestDeadline(),
      noncesLeft === "some" || sourcesLeft === "some" ? now + NONCE_SWEEP_INTERVAL_MS : null,
      this.webhooks.nextDue(this.events.latest(), Date.now()),
    ].filter((t): t is number => t !== null);
    if (deadlines.length > 0) await this.expireNoLaterThan(Math.min(...deadlines));
  }

  /** Move the alarm only when a deadline comes earlier than the one already set (each set bills a write). */
  private async expireNoLaterThan(deadline: number): Promise<void> {
    if (this.alarmAt !== null && this.alarmAt <= deadline) return;
    this.alarmAt = deadline;
    this.meter.alarmSet();
    await this.ctx.storage.setAlarm(deadline);
  }

  private earliestDeadline(): number | null {
    const row = this.db.select({ at: min(bindings.expiresAt) }).from(bindings).get();
    return row?.at ?? null;
  }

  // ── events ───────────────────────────────────────────────────────────────

  /** Events after a sequence number, oldest first (the stream's backlog; the polling API). */
  eventsSince(seq: number, limit: number): RegistrarEvent[] {
    if (!this.hasSchema) return [];
    return this.events.since(seq, limit);
  }

  /**
   * A listener's WebSocket (the Worker has checked its API key and account). It gets every event
   * after `since`, then live events. Hibernatable: an idle listener costs nothing.
   */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
    if (!this.accountRow()) return new Response("no such account", { status: 404 });
    const sinceText = url.searchParams.get("since");
    const since = sinceText !== null && /^\d{1,15}$/.test(sinceText) ? Number(sinceText) : this.events.latest();
    const listener: Listener = { refreshed: url.searchParams.get("refreshed") === "true" };
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment(listener);
    for (let cursor = since; ; ) {
      const batch = this.events.since(cursor, 500);
      for (const event of batch) if (wants(listener, event)) server.send(JSON.stringify(eventView(event)));
      if (batch.length < 500) break;
      cursor = batch.at(-1)!.seq;
    }
    const offered = request.headers.get("sec-websocket-protocol") ?? "";
    const headers: HeadersInit = offered.split(",").some((p) => p.trim() === EVENTS_PROTOCOL) ? { "sec-websocket-protocol": EVENTS_PROTOCOL } : {};
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    if (message === "ping") ws.send("pong");
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    // 1005/1006 say "no code was sent"; they may not be sent back.
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }

  /** Append events inside the caller's transaction. */
  private record(batch: NewEvent[], now: number): RegistrarEvent[] {
    if (batch.length === 0) return [];
    return this.events.append(batch, now, this.listensForRefreshed());
  }

  /** After the transaction: hand the events to every listener, and wake the webhook deliveries. */
  private publish(published: RegistrarEvent[]): void {
    if (published.length === 0) return;
    if (this.webhooks.interestedIn(published)) void this.expireNoLaterThan(Date.now());
    for (const ws of this.ctx.getWebSockets()) {
      const listener = (ws.deserializeAttachment() ?? { refreshed: false }) as Listener;
      for (const event of published) {
        if (!wants(listener, event)) continue;
        try {
          ws.send(JSON.stringify(eventView(event)));
        } catch {
          // A listener that went away; its close handler tidies up.
        }
      }
    }
  }

  private listensForRefreshed(): boolean {
    return (
      this.webhooks.wantsRefreshed() ||
      this.ctx.getWebSockets().some((ws) => ((ws.deserializeAttachment() ?? {}) as Partial<Listener>).refreshed === true)
    );
  }

  // ── webhooks ─────────────────────────────────────────────────────────────

  /** Subscribe a URL to the account's events from now on. Answers the signing secret, once. */
  subscribeWebhook(input: { url: string; types: string[] | null; includeRefreshed: boolean }): Outcome<{ webhook: WebhookView; secret: string }> {
    if (!this.accountRow()) return refuse("not_found", "no such account", "accountId");
    const secret = `whsec_${Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => b.toString(16).padStart(2, "0")).join("")}`;
    const row = this.db
      .insert(webhooks)
      .values({
        id: newId("wh"),
        url: input.url,
        types: input.types,
        includeRefreshed: input.includeRefreshed,
        secret,
        cursor: this.events.latest(),
        attempts: 0,
        nextAttemptAt: null,
        lastError: null,
        createdAt: Date.now(),
      })
      .returning()
      .get();
    this.webhooks.forget();
    return ok({ webhook: webhookView(row, this.webhooks.refusal(row)), secret });
  }

  listWebhooks(): WebhookView[] {
    if (!this.hasSchema) return [];
    return this.webhooks.all().map((row) => webhookView(row, this.webhooks.refusal(row)));
  }

  removeWebhook(webhookId: string): Outcome<{ deleted: string }> {
    if (!this.hasSchema) return refuse("not_found", `no webhook ${webhookId} in this account`, "webhookId");
    const removed = this.db.delete(webhooks).where(eq(webhooks.id, webhookId)).returning({ id: webhooks.id }).all();
    this.webhooks.forget();
    return removed.length > 0 ? ok({ deleted: webhookId }) : refuse("not_found", `no webhook ${webhookId} in this account`, "webhookId");
  }

  /** Events a subscription gave up on, oldest first. */
  deadLetters(webhookId: string, limit: number, after: number | null): Outcome<Page<typeof deadLetters.$inferSelect>> {
    if (!this.hasSchema || !this.webhooks.all().some((hook) => hook.id === webhookId)) {
      return refuse("not_found", `no webhook ${webhookId} in this account`, "webhookId");
    }
    const rows = this.db
      .select()
      .from(deadLetters)
      .where(and(eq(deadLetters.webhookId, webhookId), after === null ? undefined : gt(deadLetters.id, after)))
      .orderBy(asc(deadLetters.id))
      .limit(limit + 1)
      .all();
    return ok(page(rows, limit, (row) => String(row.id)));
  }

  private usernames(deviceIds: string[]): Map<string, string> {
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

  // ── reads ────────────────────────────────────────────────────────────────

  private accountRow(): AccountRow | undefined {
    if (!this.hasSchema) return undefined;
    this.accountCache ??= this.q.account.get();
    return this.accountCache;
  }

  private deviceByUsername(username: string): DeviceRow | undefined {
    if (!this.hasSchema) return undefined;
    return this.deviceCache.get(username, () => this.q.deviceByUsername.get({ username }));
  }

  /** Run a change to the devices table; the device cache is forgotten whether it commits or not. */
  private changingDevices<T>(change: () => T): T {
    try {
      return change();
    } finally {
      this.deviceCache.forget();
    }
  }

  private deviceById(deviceId: string): DeviceRow | undefined {
    if (!this.hasSchema) return undefined;
    return this.q.deviceById.get({ deviceId });
  }

  private liveBindingsOf(deviceId: string, now: number): Binding[] {
    if (!this.hasSchema) return [];
    return this.bindingSql.liveOfDevice(deviceId, now);
  }

  /** An empty round trip: the ceiling for anything that must ask the account's object. */
  ping(): number {
    return 1;
  }

  /** Live bindings held by a switch (the fleet API adds these up over every account). */
  countBindingsHeldBy(switchId: string): number {
    if (!this.hasSchema) return 0;
    return (
      this.db
        .select({ n: sql<number>`count(*)` })
        .from(bindings)
        .where(and(eq(bindings.switchId, switchId), gt(bindings.expiresAt, Date.now())))
        .get()?.n ?? 0
    );
  }

  /**
   * Rows read and written by this object's SQL (index entries included) and alarms set, since it
   * started; and the callbacks' group commits: how many, carrying how many writes.
   */
  usage(): Usage & { groupCommits: number; groupedWrites: number } {
    const { commits, works } = this.group.stats();
    return { ...this.meter.usage(), groupCommits: commits, groupedWrites: works };
  }

  /** Counts for tests and diagnostics: all rows, expired or not. */
  storedBindingCount(): number {
    if (!this.hasSchema) return 0;
    return this.db.select({ n: sql<number>`count(*)` }).from(bindings).get()?.n ?? 0;
  }
}

/** The account and device reads, prepared once per object (the bindings statements are in binding-sql.ts). */
function prepareQueries(db: DrizzleSqliteDODatabase<typeof schema>) {
  const p = sql.placeholder;
  return {
    account: db.select().from(account).where(eq(account.id, 1)).prepare(),
    deviceByUsername: db.select().from(devices).where(eq(devices.username, p("username"))).prepare(),
    deviceById: db.select().from(devices).where(eq(devices.id, p("deviceId"))).prepare(),
  };
}
