// The single authority for one account: its devices, numbers and live registrations. This class is
// the RPC face only: each method hands its work to the module of its concern (account.ts,
// devices.ts, numbers.ts, authentication.ts, bindings.ts, destinations.ts, expiry.ts,
// event-stream.ts, webhook-subscriptions.ts), and the rules to the registrar core (registrar/).
import { DurableObject } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/durable-sqlite";
import { forcedInterval, drainRegister } from "../../registrar/policy";
import type { Binding, RegisterRequest } from "../../registrar/types";
import { Account } from "./account";
import { Authentication, type Authenticated } from "./authentication";
import { Bindings } from "./bindings";
import { CommitGroup } from "./commit-group";
import { Destinations } from "./destinations";
import { DeviceImports, IMPORT_RESUME_AFTER_MS, type ImportJob, type ImportOpening, type StagedRow } from "./device-import";
import { Devices } from "./devices";
import { EventLog, type RegistrarEvent } from "./events";
import { EventStream } from "./event-stream";
import { Alarm, runAlarm } from "./expiry";
import { Counters, SqlMeter, type Usage } from "./meter";
import { gatherMetrics, type AccountMetrics } from "./metrics";
import type { NonceUse } from "./nonce-uses";
import { Numbers } from "./numbers";
import { ok, refuse, type Outcome } from "./outcome";
import type * as records from "./records";
import { credentialsOf, policyOf, type Db } from "./rows";
import * as schema from "./schema";
import { WebhookSubscriptions } from "./webhook-subscriptions";
import { DEFAULT_WEBHOOK_POLICY, WebhookDispatcher, type WebhookView } from "./webhooks";

export { SWEEP_BATCH } from "./bindings";
export { UNKNOWN_DEVICE_PREFIX } from "./authentication";
export { NONCE_SWEEP_INTERVAL_MS } from "./expiry";

const noDevice = (username: string) => refuse("not_found", `no device ${username} in this account`, "username");

export class AccountRegistrar extends DurableObject {
  private readonly db: Db;
  private readonly meter: SqlMeter;
  /** Authentications, lockouts and webhook deliveries, for GET /api/v1/metrics. */
  private readonly counters: Counters;
  /** The callbacks' writes, committed together when they arrive together. */
  private readonly group: CommitGroup;
  private readonly account: Account;
  private readonly alarmClock: Alarm;
  private readonly log: EventLog;
  private readonly dispatcher: WebhookDispatcher;
  private readonly stream: EventStream;
  private readonly bindings: Bindings;
  private readonly numbers: Numbers;
  private readonly devices: Devices;
  private readonly auth: Authentication;
  private readonly destinations: Destinations;
  private readonly webhooks: WebhookSubscriptions;
  /** Bulk device imports, applied in chunks between the callbacks. */
  private readonly imports: DeviceImports;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.meter = new SqlMeter(ctx.storage);
    this.counters = new Counters(ctx.storage);
    const metered = this.meter.view();
    const db = (this.db = drizzle(metered, { schema }));
    this.group = new CommitGroup(ctx.storage);
    this.account = new Account(db, ctx.storage.sql);
    this.alarmClock = new Alarm(ctx.storage, this.meter);
    this.log = new EventLog(db);
    this.dispatcher = new WebhookDispatcher(db, this.log, {
      ...DEFAULT_WEBHOOK_POLICY,
      retryBaseMs: Number(env.WEBHOOK_RETRY_BASE_MS ?? DEFAULT_WEBHOOK_POLICY.retryBaseMs) || DEFAULT_WEBHOOK_POLICY.retryBaseMs,
      maxAttempts: Number(env.WEBHOOK_MAX_ATTEMPTS ?? DEFAULT_WEBHOOK_POLICY.maxAttempts) || DEFAULT_WEBHOOK_POLICY.maxAttempts,
    }, () => env.WEBHOOK_ALLOW_PRIVATE === "true", () => this.account.hasSchema, this.counters);
    this.stream = new EventStream(ctx, this.account, this.log, this.dispatcher, this.alarmClock);
    this.bindings = new Bindings(db, ctx.storage, metered.sql, this.account, this.group, this.stream, this.alarmClock);
    this.numbers = new Numbers(db, this.account, (deviceId) => this.devices.byId(deviceId));
    this.devices = new Devices(db, ctx.storage, this.account, this.bindings, this.numbers, this.stream);
    this.auth = new Authentication(ctx.storage, metered.sql, this.account, this.devices, this.bindings, this.stream, this.alarmClock, this.group, this.counters);
    this.destinations = new Destinations(this.account, this.devices, this.numbers, this.bindings);
    this.webhooks = new WebhookSubscriptions(db, this.account, this.dispatcher, this.log);
    this.imports = new DeviceImports({ db, sql: metered.sql, storage: ctx.storage, devicesChanged: (usernames) => this.devices.forgetUsernames(usernames) });
    void ctx.blockConcurrencyWhile(async () => {
      await this.account.open();
      await this.alarmClock.open();
    });
  }

  // ── account ──────────────────────────────────────────────────────────────

  initialize(init: records.AccountInit): Promise<Outcome<records.AccountRecord>> {
    return this.account.initialize(init);
  }

  describe(): Outcome<records.AccountRecord> {
    return this.account.describe();
  }

  updateAccount(changes: records.AccountChanges): Outcome<records.AccountRecord> {
    return this.account.update(changes);
  }

  /** Erase everything the account holds; the object is left empty and uninitialised. */
  async destroy(): Promise<void> {
    await this.alarmClock.cancel();
    await this.ctx.storage.deleteAll();
    this.account.erased();
    this.devices.forget();
    this.dispatcher.forget();
    this.counters.reset();
  }

  // ── devices, numbers, lockouts (the provisioning API) ───────────────────

  createDevice(input: records.DeviceInput): Promise<Outcome<records.DeviceRecord>> {
    return this.devices.create(input);
  }

  getDevice(deviceId: string): Outcome<records.DeviceRecord> {
    return this.devices.get(deviceId);
  }

  listDevices(limit: number, after: string | null): records.Page<records.DeviceRecord> {
    return this.devices.list(limit, after);
  }

  updateDevice(deviceId: string, changes: records.DeviceChanges): Promise<Outcome<records.DeviceRecord>> {
    return this.devices.update(deviceId, changes);
  }

  /** Remove a device with its bindings; numbers that rang it fall back to the account. */
  deleteDevice(deviceId: string): Outcome<{ deleted: string }> {
    return this.devices.delete(deviceId);
  }

  // ── bulk imports (device-import.ts) ──────────────────────────────────────

  openImport(opening: ImportOpening): Outcome<ImportJob> {
    if (!this.account.row()) return refuse("not_found", "no such account", "accountId");
    const opened = this.imports.open(opening, Date.now());
    return opened.ok ? ok(opened.job) : refuse("conflict", opened.detail, "body");
  }

  /** Which of these usernames (a chunk's worth) are the account's devices, and which numbers it holds. */
  importLookups(usernames: string[], numbers: string[]): { usernames: string[]; numbers: string[] } {
    if (!this.account.hasSchema) return { usernames: [], numbers: [] };
    return { usernames: this.imports.existingUsernames(usernames), numbers: this.imports.heldNumbers(numbers) };
  }

  stageImport(jobId: string, rows: StagedRow[]): boolean {
    return this.account.hasSchema && this.imports.stage(jobId, rows, Date.now());
  }

  /** Every row received: the job applies them in the background (the alarm resumes it after a restart). */
  async startImport(jobId: string): Promise<Outcome<ImportJob>> {
    const job = this.account.hasSchema ? this.imports.start(jobId, Date.now()) : null;
    if (!job) return refuse("not_found", `no import ${jobId} receiving rows in this account`, "importId");
    await this.alarmClock.noLaterThan(Date.now() + IMPORT_RESUME_AFTER_MS);
    return ok(job);
  }

  discardImport(jobId: string): void {
    if (this.account.hasSchema) this.imports.discard(jobId);
  }

  importJob(jobId: string): Outcome<ImportJob> {
    const job = this.account.hasSchema ? this.imports.job(jobId) : null;
    return job ? ok(job) : refuse("not_found", `no import ${jobId} in this account`, "importId");
  }

  listImports(): ImportJob[] {
    return this.account.hasSchema ? this.imports.list() : [];
  }

  assignNumber(number: string, deviceId: string | null): Outcome<records.NumberRecord> {
    return this.numbers.assign(number, deviceId);
  }

  getNumber(number: string): Outcome<records.NumberRecord> {
    return this.numbers.get(number);
  }

  listNumbers(limit: number, after: string | null): records.Page<records.NumberRecord> {
    return this.numbers.list(limit, after);
  }

  releaseNumber(number: string): Outcome<{ deleted: string }> {
    return this.numbers.release(number);
  }

  /** The device's lock and the source locks in force: who is refused, and why. */
  lockoutOf(deviceId: string) {
    return this.auth.lockout(deviceId);
  }

  /** Everyone refused in the account now: locked devices and locked source addresses, at most `limit` of each. */
  lockouts(limit: number): records.AccountLockouts {
    return this.auth.lockouts(limit);
  }

  /** Lift the device's lock and every source lock now, and forget the failures that led to them. */
  clearLockout(deviceId: string): Outcome<records.DeviceRecord> {
    return this.auth.clearLockout(deviceId);
  }

  // ── switch callbacks: one RPC each, the same verbs for every switch ──────

  /** Credentials for a switch to challenge a device with (FreeSWITCH `user_call`). Reads one row; writes nothing. */
  credentials(username: string): records.DeviceCredentials | null {
    return this.devices.credentials(username);
  }

  /**
   * Check a device's digest the switch received (FreeSWITCH directory `sip_auth`): a wrong digest,
   * or any from a locked-out source, counts toward the lockout; a right REGISTER digest notes the
   * proof a later report needs and refreshes the binding it belongs to (registrar/refresh.ts), so
   * the switch needs no second request for a refresh. A right INVITE digest writes nothing.
   */
  async authenticate(request: records.AuthenticateRequest): Promise<records.AuthorizationResult> {
    const checked = await this.auth.check(request.username, request.method, request.digest, request.source, request.nonce);
    return this.auth.counted(request.switchId, request.method, "status" in checked ? checked : await this.admitted(request, checked));
  }

  private async admitted(request: records.AuthenticateRequest, { acct, device, now, use }: Authenticated): Promise<records.AuthorizationResult> {
    if (use && !(await this.auth.claim(use))) return { status: "replayed" };
    const policy = policyOf(acct);
    const forceExpires = forcedInterval(policy, Math.random(), request.capExpires);
    // This switch may now report this registration (this Call-ID) from this address (registrar/proof.ts).
    if (request.method === "REGISTER" && request.address !== undefined && request.callId !== undefined) {
      this.auth.noteProof({ deviceId: device.id, switchId: request.switchId, address: request.address, callId: request.callId }, now);
    }
    const refreshed = request.refresh ? await this.bindings.refresh(device, request.refresh, request.switchId, forceExpires, policy, now, request.refresh.stamp) : false;
    return { status: "authorized", credentials: credentialsOf(acct, device), forceExpires, refreshed };
  }

  /**
   * Apply a REGISTER to the device's bindings (registrar/save.ts `planRegister`), vouched for as
   * `by` says (records.ts `RegisterBy`): the edge checks the digest (Kamailio), a switch reports what
   * it handled (FreeSWITCH; refused as `unproven`, and recorded as a `binding.refused` event, when no
   * verified REGISTER vouches for it), or the caller has authenticated it.
   */
  async register(username: string, request: RegisterRequest, by?: records.RegisterBy): Promise<records.RegisterAnswer> {
    if (by === undefined) return this.save(username, request, null);
    if ("reportedFrom" in by) return this.reported(username, request, by.reportedFrom);
    const checked = await this.auth.check(username, "REGISTER", by.digest, by.source, by.nonce);
    const result = "status" in checked ? checked : await this.save(username, request, checked.use, by.capExpires);
    return this.auth.counted(request.switchId ?? "", "REGISTER", result);
  }

  private async reported(username: string, request: RegisterRequest, address: string | null): Promise<records.RegisterAnswer> {
    const device = this.devices.byUsername(username);
    if (!this.account.row() || !device || !device.enabled) return { status: "unknown_device" };
    const now = Date.now();
    const switchId = request.switchId ?? null;
    if (address !== null && switchId !== null && this.auth.vouches({ deviceId: device.id, switchId, address, callId: request.callId }, now)) {
      return this.save(username, request, null);
    }
    const contact = request.contacts === "*" ? null : (request.contacts[0]?.uri ?? null);
    const event = { type: "binding.refused", deviceId: device.id, username: device.username, contact, source: request.received ?? address, switchId } as const;
    this.stream.publish(await this.group.run(() => this.stream.record([event], now)));
    return { status: "unproven" };
  }

  /** A REGISTER of the enabled device `username`, saved in one step with the claim of its nonce use, if any; under a draining switch's cap. */
  private save(username: string, request: RegisterRequest, use: null): Promise<records.RegisterResult>;
  private save(username: string, request: RegisterRequest, use: NonceUse | null, cap?: number): Promise<records.RegisterResult | { status: "replayed" }>;
  private async save(username: string, request: RegisterRequest, use: NonceUse | null, cap?: number): Promise<records.RegisterResult | { status: "replayed" }> {
    const acct = this.account.row();
    const device = this.devices.byUsername(username);
    if (!acct || !device || !device.enabled) return { status: "unknown_device" };
    const policy = policyOf(acct);
    return this.bindings.save(device, cap === undefined ? request : drainRegister(request, cap, policy), policy, this.auth.guardOf(use));
  }

  /**
   * Remove one contact of a device, or all of them with "*". With `expiredOn`, the switch that holds
   * the binding says it expired (FreeSWITCH `sofia::expire`): removed only if that switch still
   * holds it (one re-registered through another switch since then stays), as an expiry.
   */
  async unregister(username: string, contact: string | "*", expiredOn?: string, reportedAt?: number): Promise<Outcome<{ removed: number }>> {
    const device = this.devices.byUsername(username);
    if (!device) return noDevice(username);
    return ok(expiredOn === undefined || contact === "*" ? await this.bindings.unregister(device, contact, reportedAt) : await this.bindings.confirmExpiry(device, contact, expiredOn, reportedAt));
  }

  /**
   * Where a call goes (Kamailio `locate`, the FreeSWITCH dialplan, a number's owner): the caller is
   * authenticated first when given (a right digest writes nothing); then the destination is found in
   * this account, or the other account the caller's call policy lets it reach is named
   * (`calleeAccount`). A null destination authenticates the caller only.
   */
  async route(request: records.RouteRequest): Promise<records.RouteResult> {
    if (!request.caller) return this.routed(request);
    const { username, method, digest, source, nonce } = request.caller;
    const checked = await this.auth.check(username, method, digest, source, nonce);
    const result: records.RouteResult =
      "status" in checked ? checked : checked.use && !(await this.auth.claim(checked.use)) ? { status: "replayed" } : this.routed(request);
    return this.auth.counted(request.switchId ?? "", method, result);
  }

  private routed(request: records.RouteRequest): records.RouteResult {
    return { status: "authorized", destination: request.destination === null ? null : this.destinations.forCall(request.destination, request.requested ?? null) };
  }

  /** Where a device can be reached now: its live bindings, best q first, newest first. */
  locate(username: string): Binding[] | null {
    return this.destinations.ofDevice(username);
  }

  // ── registrations (provisioning view) ────────────────────────────────────

  listBindings(filter: { deviceId?: string }, limit: number, after: number | null): records.Page<Binding> {
    return this.bindings.list(filter, limit, after);
  }

  /** Drop one binding so that the device has to register again. */
  removeBinding(bindingId: number): Outcome<{ deleted: number }> {
    return this.bindings.remove(bindingId, (deviceId) => this.devices.byId(deviceId)?.username ?? null);
  }

  /** Live bindings held by a switch (the fleet API adds these up over every account). */
  countBindingsHeldBy(switchId: string): number {
    return this.bindings.countHeldBy(switchId);
  }

  // ── expiry, events, webhooks ─────────────────────────────────────────────

  override async alarm(): Promise<void> {
    const { ctx, account, devices, bindings, auth, stream, dispatcher, alarmClock, imports } = this;
    await runAlarm({ storage: ctx.storage, account, devices, bindings, authentication: auth, stream, webhooks: dispatcher, alarm: alarmClock, imports });
  }

  /** Events after a sequence number, oldest first (the stream's backlog; the polling API). */
  eventsSince(seq: number, limit: number): RegistrarEvent[] {
    return this.stream.since(seq, limit);
  }

  /** A listener's WebSocket: every event after `since`, then live events. */
  override async fetch(request: Request): Promise<Response> {
    return this.stream.listen(request);
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    this.stream.message(ws, message);
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    this.stream.close(ws, code, reason);
  }

  subscribeWebhook(input: { url: string; types: string[] | null; includeRefreshed: boolean }): Outcome<{ webhook: WebhookView; secret: string }> {
    return this.webhooks.subscribe(input);
  }

  listWebhooks(): WebhookView[] {
    return this.webhooks.list();
  }

  removeWebhook(webhookId: string): Outcome<{ deleted: string }> {
    return this.webhooks.remove(webhookId);
  }

  deadLetters(webhookId: string, limit: number, after: number | null) {
    return this.webhooks.deadLetters(webhookId, limit, after);
  }

  // ── meter ────────────────────────────────────────────────────────────────

  /** The account's metrics (GET /api/v1/metrics gathers one of these per account). */
  metrics(): AccountMetrics | null {
    const acct = this.account.row();
    if (!acct) return null;
    return gatherMetrics(this.db, acct.accountId, this.counters.read(), this.dispatcher.backlog(this.log.latest()), Date.now());
  }

  /** An empty round trip: the ceiling for anything that must ask the account's object. */
  ping(): number {
    return 1;
  }

  /** Rows read and written by this object's SQL and alarms set, since it started; the group commits. */
  usage(): Usage & { groupCommits: number; groupedWrites: number } {
    const { commits, works } = this.group.stats();
    return { ...this.meter.usage(), groupCommits: commits, groupedWrites: works };
  }

  /** Counts for tests and diagnostics: all rows, expired or not. */
  storedBindingCount(): number {
    return this.bindings.storedCount();
  }
}
