// The single authority for one account: its devices, numbers and live registrations. This class is
// the RPC face only: each method hands its work to the module of its concern (account.ts,
// devices.ts, numbers.ts, switch-verbs.ts for the switch callbacks, authentication.ts, bindings.ts,
// destinations.ts, import-jobs.ts, expiry.ts, event-stream.ts, webhook-subscriptions.ts), and the
// rules to the registrar core (registrar/).
import { DurableObject } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/durable-sqlite";
import type { Binding, RegisterRequest } from "../../registrar/types";
import { Account } from "./account";
import { Authentication } from "./authentication";
import { Bindings } from "./bindings";
import { CommitGroup } from "./commit-group";
import { Destinations } from "./destinations";
import { DeviceImports, releaseCatalogNumbers, type ImportJob, type ImportOpening, type StagedRow } from "./device-import";
import { Devices } from "./devices";
import { EventLog, type RegistrarEvent } from "./events";
import { EventStream } from "./event-stream";
import { Alarm, runAlarm } from "./expiry";
import { ImportJobs } from "./import-jobs";
import { Counters, SqlMeter, type Usage } from "./meter";
import { gatherMetrics, type AccountMetrics } from "./metrics";
import { Numbers } from "./numbers";
import type { Outcome } from "./outcome";
import type * as records from "./records";
import type { Db } from "./rows";
import * as schema from "./schema";
import { SwitchVerbs } from "./switch-verbs";
import { WebhookSubscriptions } from "./webhook-subscriptions";
import { WebhookDispatcher, webhookPolicyOf, type WebhookView } from "./webhooks";

export { SWEEP_BATCH } from "./bindings";
export { UNKNOWN_DEVICE_PREFIX } from "./authentication";
export { NONCE_SWEEP_INTERVAL_MS } from "./expiry";

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
  private readonly verbs: SwitchVerbs;
  /** Bulk device imports, applied in chunks between the callbacks (the alarm resumes them). */
  private readonly importJobs: ImportJobs;

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
    this.dispatcher = new WebhookDispatcher(db, this.log, webhookPolicyOf(env), () => env.WEBHOOK_ALLOW_PRIVATE === "true", () => this.account.hasSchema, this.counters);
    this.stream = new EventStream(ctx, this.account, this.log, this.dispatcher, this.alarmClock);
    this.bindings = new Bindings(db, ctx.storage, metered.sql, this.account, this.group, this.stream, this.alarmClock);
    this.numbers = new Numbers(db, this.account, (deviceId) => this.devices.byId(deviceId));
    this.devices = new Devices(db, ctx.storage, this.account, this.bindings, this.numbers, this.stream);
    this.auth = new Authentication(ctx.storage, metered.sql, this.account, this.devices, this.bindings, this.stream, this.alarmClock, this.group, this.counters);
    this.destinations = new Destinations(this.account, this.devices, this.numbers, this.bindings);
    this.webhooks = new WebhookSubscriptions(db, this.account, this.dispatcher, this.log);
    this.verbs = new SwitchVerbs(this.account, this.devices, this.auth, this.bindings, this.destinations, this.stream, this.group);
    const imports = new DeviceImports({
      db,
      sql: metered.sql,
      storage: ctx.storage,
      devicesChanged: (usernames) => this.devices.forgetUsernames(usernames),
      releaseNumbers: (numbers) => releaseCatalogNumbers(env.CATALOG, ctx.id.toString(), numbers),
    });
    this.importJobs = new ImportJobs(this.account, imports, this.alarmClock);
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

  // ── bulk imports (import-jobs.ts, device-import.ts) ─────────────────────

  openImport(opening: ImportOpening): Outcome<ImportJob> {
    return this.importJobs.open(opening);
  }

  importLookups(usernames: string[], numbers: string[]): { usernames: string[]; numbers: string[] } {
    return this.importJobs.lookups(usernames, numbers);
  }

  stageImport(jobId: string, rows: StagedRow[]): boolean {
    return this.importJobs.stage(jobId, rows);
  }

  startImport(jobId: string): Promise<Outcome<ImportJob>> {
    return this.importJobs.start(jobId);
  }

  discardImport(jobId: string): void {
    this.importJobs.discard(jobId);
  }

  importJob(jobId: string): Outcome<ImportJob> {
    return this.importJobs.job(jobId);
  }

  listImports(): ImportJob[] {
    return this.importJobs.list();
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

  // ── switch callbacks, the same verbs for every switch (see switch-verbs.ts) ──

  credentials(username: string): records.DeviceCredentials | null {
    return this.verbs.credentials(username);
  }

  authenticate(request: records.AuthenticateRequest): Promise<records.AuthorizationResult> {
    return this.verbs.authenticate(request);
  }

  register(username: string, request: RegisterRequest, by?: records.RegisterBy): Promise<records.RegisterAnswer> {
    return this.verbs.register(username, request, by);
  }

  unregister(username: string, contact: string | "*", expiredOn?: string, reportedAt?: number): Promise<Outcome<{ removed: number }>> {
    return this.verbs.unregister(username, contact, expiredOn, reportedAt);
  }

  route(request: records.RouteRequest): Promise<records.RouteResult> {
    return this.verbs.route(request);
  }

  locate(username: string): Binding[] | null {
    return this.verbs.locate(username);
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
    const { ctx, account, devices, bindings, auth, stream, dispatcher, alarmClock, importJobs } = this;
    await runAlarm({ storage: ctx.storage, account, devices, bindings, authentication: auth, stream, webhooks: dispatcher, alarm: alarmClock, imports: importJobs.imports });
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
    return acct ? gatherMetrics(this.db, acct.accountId, this.counters.read(), this.dispatcher.backlog(this.log.latest()), Date.now()) : null;
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
