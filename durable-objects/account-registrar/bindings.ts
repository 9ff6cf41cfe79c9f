// The account's registrations (bindings): a REGISTER saved, a refresh applied, a contact removed,
// an expiry a switch confirms, and where a device can be reached now. The rules are the core's
// (registrar/save.ts `planRegister`, registrar/refresh.ts `planRefresh`); this module reads the
// rows they plan over and writes what they decide, each callback's write in the group commit.
import { and, asc, eq, gt, inArray, lte, min, sql } from "drizzle-orm";
import { sourceAddress } from "../../registrar/lockout";
import { planRefresh, type RefreshAsked } from "../../registrar/refresh";
import { planRegister } from "../../registrar/save";
import type { Binding, BindingFields, RegisterRequest, RegistrationPolicy } from "../../registrar/types";
import type { Account } from "./account";
import { BindingStatements } from "./binding-sql";
import type { CommitGroup } from "./commit-group";
import type { NewEvent, RegistrarEvent } from "./events";
import type { EventStream } from "./event-stream";
import type { Alarm } from "./expiry";
import { ok, refuse, type Outcome } from "./outcome";
import type { Page, RegisterResult } from "./records";
import { page, toBinding, type Db, type DeviceRow } from "./rows";
import { bindings } from "./schema";

/** Expired bindings removed per alarm run; more are left to an immediate follow-up run. */
export const SWEEP_BATCH = 50;

/** A condition a REGISTER is saved under, checked in the same step: the claim of its digest's nonce use. */
export interface SaveGuard {
  /** False: the nonce use was claimed already (a replay); nothing is saved. */
  claim(): boolean;
  /** The claim must be kept until then (the alarm sweeps it). */
  keepUntil: number;
}

/** The binding rows removed, as events name them. */
type Removed = { contact: string; switchId: string | null };

export class Bindings {
  /** The statements of the callbacks' hot path. */
  private readonly statements: BindingStatements;

  constructor(
    private readonly db: Db,
    private readonly storage: DurableObjectStorage,
    sqlStorage: SqlStorage,
    private readonly account: Account,
    private readonly group: CommitGroup,
    private readonly stream: EventStream,
    private readonly alarm: Alarm,
  ) {
    this.statements = new BindingStatements(sqlStorage);
  }

  // ── the switches' callbacks ─────────────────────────────────────────────

  /** Apply a REGISTER of `device` (already authenticated) to its bindings, in one step with the guard's claim (without one, no replay). */
  save(device: DeviceRow, request: RegisterRequest, policy: RegistrationPolicy, guard: null): Promise<RegisterResult>;
  save(device: DeviceRow, request: RegisterRequest, policy: RegistrationPolicy, guard: SaveGuard | null): Promise<RegisterResult | { status: "replayed" }>;
  async save(device: DeviceRow, request: RegisterRequest, policy: RegistrationPolicy, guard: SaveGuard | null): Promise<RegisterResult | { status: "replayed" }> {
    const now = Date.now();
    const about = { deviceId: device.id, username: device.username, source: request.received ?? null, switchId: request.switchId ?? null };
    // Read, plan and write in one synchronous step of the group commit.
    const applied = await this.group.run(() => {
      if (guard && !guard.claim()) return { ok: false as const, replayed: true as const };
      // One read of the device's rows: the live ones are planned over, expired ones the sweep has
      // not reached yet are removed first (one may hold a contact the request re-registers).
      const rows = this.statements.ofDevice(device.id);
      const existing = rows.filter((b) => b.expiresAt > now);
      const expired = rows.filter((b) => b.expiresAt <= now);
      const outcome = planRegister(existing, request, policy, now);
      if (!outcome.ok) return outcome;
      const { inserts, updates, deletes } = outcome.plan;
      const gone = [...expired.map((b) => b.id), ...deletes];
      if (gone.length > 0) this.db.delete(bindings).where(inArray(bindings.id, gone)).run();
      const contactOf = new Map(existing.map((b) => [b.id, b.contact]));
      for (const { id, fields } of updates) this.statements.update(id, device.id, fields, contactOf.get(id) ?? "", now);
      for (const fields of inserts) this.statements.insert(device.id, fields, now);
      const removedContacts = existing.filter((b) => deletes.includes(b.id));
      const published = this.stream.record(
        [
          ...expired.map((b): NewEvent => ({ ...about, type: "binding.expired", contact: b.contact, source: null, switchId: b.switchId })),
          ...removedContacts.map((b): NewEvent => ({ ...about, type: "binding.removed", contact: b.contact })),
          ...updates.map(({ fields }): NewEvent => ({ ...about, type: "binding.refreshed", contact: fields.contact })),
          ...inserts.map((fields): NewEvent => ({ ...about, type: "binding.created", contact: fields.contact })),
        ],
        now,
      );
      const deadlines = [...inserts, ...updates.map((u) => u.fields)].map((f: BindingFields) => f.expiresAt);
      if (guard) deadlines.push(guard.keepUntil);
      // The device's contacts now, from what was written (no second read).
      const updated = new Map(updates.map((u) => [u.id, u.fields]));
      const contacts = [
        ...existing.filter((b) => !deletes.includes(b.id)).map((b) => updated.get(b.id) ?? b),
        ...inserts,
      ].map(({ contact, expiresAt }) => ({ contact, expiresAt }));
      return { ok: true as const, published, deadlines, contacts };
    });
    if (!applied.ok) return "replayed" in applied ? { status: "replayed" } : { status: "rejected", error: applied.error };
    this.stream.publish(applied.published);
    if (applied.deadlines.length > 0) await this.alarm.noLaterThan(Math.min(...applied.deadlines));
    return { status: "registered", contacts: applied.contacts };
  }

  /**
   * A REGISTER a switch authenticates that refreshes a live binding (registrar/refresh.ts): extended
   * here and now, held by the switch that asked; one row updated. False when none matches, or when
   * the write failed (the switch then reports the registration instead). `stamp`: the switch's time
   * of the REGISTER (µs), kept on the binding so an older event does not undo it (unregister below).
   */
  async refresh(device: DeviceRow, asked: RefreshAsked, switchId: string, seconds: number, policy: RegistrationPolicy, now: number, stamp?: number): Promise<boolean> {
    let outcome: { refreshed: boolean; published: RegistrarEvent[] };
    try {
      outcome = await this.group.run(() => {
        const plan = planRefresh(this.statements.refreshCandidates(device.id), asked, seconds, policy, now);
        if (!plan) return { refreshed: false, published: [] };
        this.statements.refresh(plan.id, plan.expiresAt, switchId, now, stamp);
        const event: NewEvent = { type: "binding.refreshed", deviceId: device.id, username: device.username, contact: plan.contact, switchId };
        return { refreshed: true, published: this.stream.record([event], now) };
      });
    } catch (error) {
      console.error("refresh at auth failed", error);
      return false;
    }
    this.stream.publish(outcome.published);
    return outcome.refreshed;
  }

  /**
   * Remove one contact of a device, or all of them with "*". `reportedAt`: when the switch saw the
   * unregister, on its clock (functions/freeswitch/events.ts), compared with the stamp a FreeSWITCH
   * binding keeps in `cseq`: a binding registered or refreshed after that stays, so a late or
   * replayed event never undoes a newer registration.
   */
  async unregister(device: DeviceRow, contact: string | "*", reportedAt?: number): Promise<{ removed: number }> {
    const where = and(
      eq(bindings.deviceId, device.id),
      contact === "*" ? undefined : eq(bindings.contact, contact),
      reportedAt === undefined ? undefined : lte(bindings.cseq, reportedAt),
    );
    const now = Date.now();
    const published = await this.group.run(() => {
      const removed = this.db.delete(bindings).where(where).returning({ contact: bindings.contact, switchId: bindings.switchId }).all();
      return this.stream.record(removed.map((b) => ({ type: "binding.removed", deviceId: device.id, username: device.username, ...b })), now);
    });
    this.stream.publish(published);
    return { removed: published.length };
  }

  /** The switch that holds a binding says it expired: removed if that switch still holds it. */
  async confirmExpiry(device: DeviceRow, contact: string, switchId: string, reportedAt?: number): Promise<{ removed: number }> {
    const published = await this.group.run(() => {
      const removed = this.db
        .delete(bindings)
        .where(
          and(
            eq(bindings.deviceId, device.id),
            eq(bindings.contact, contact),
            eq(bindings.switchId, switchId),
            reportedAt === undefined ? undefined : lte(bindings.cseq, reportedAt),
          ),
        )
        .returning({ contact: bindings.contact })
        .all();
      return this.stream.record(
        removed.map((b) => ({ type: "binding.expired", deviceId: device.id, username: device.username, contact: b.contact, switchId })),
        Date.now(),
      );
    });
    this.stream.publish(published);
    return { removed: published.length };
  }

  /** A device's live bindings, best q first, newest first. */
  reachable(deviceId: string): Binding[] {
    return this.live(deviceId, Date.now()).sort((a, b) => (b.q ?? 1) - (a.q ?? 1) || b.updatedAt - a.updatedAt);
  }

  /** Is `address` one the device holds a live binding from (where its owner is)? */
  registeredFrom(deviceId: string, address: string, now: number): boolean {
    return this.live(deviceId, now).some((b) => b.received !== null && sourceAddress(b.received) === address);
  }

  // ── the provisioning API ────────────────────────────────────────────────

  list(filter: { deviceId?: string }, limit: number, after: number | null): Page<Binding> {
    if (!this.account.hasSchema) return { items: [], next: null };
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

  /** Drop one live binding so that the device has to register again. */
  remove(bindingId: number, usernameOf: (deviceId: string) => string | null): Outcome<{ deleted: number }> {
    const missing = () => refuse("not_found", `no live registration ${bindingId} in this account`, "registrationId");
    if (!this.account.hasSchema) return missing();
    const now = Date.now();
    let removed: { deviceId: string; contact: string; switchId: string | null }[] = [];
    const published = this.storage.transactionSync(() => {
      removed = this.db
        .delete(bindings)
        .where(and(eq(bindings.id, bindingId), gt(bindings.expiresAt, now)))
        .returning({ deviceId: bindings.deviceId, contact: bindings.contact, switchId: bindings.switchId })
        .all();
      return this.stream.record(removed.map((b) => ({ type: "binding.removed", ...b, username: usernameOf(b.deviceId) })), now);
    });
    this.stream.publish(published);
    return removed.length > 0 ? ok({ deleted: bindingId }) : missing();
  }

  /** Every binding of a device, removed inside the caller's transaction (the device changed name or went away). */
  dropDevice(deviceId: string): Removed[] {
    return this.db.delete(bindings).where(eq(bindings.deviceId, deviceId)).returning({ contact: bindings.contact, switchId: bindings.switchId }).all();
  }

  /** Live bindings held by a switch (the fleet API adds these up over every account). */
  countHeldBy(switchId: string): number {
    if (!this.account.hasSchema) return 0;
    return this.db.select({ n: sql<number>`count(*)` }).from(bindings).where(and(eq(bindings.switchId, switchId), gt(bindings.expiresAt, Date.now()))).get()?.n ?? 0;
  }

  /** All rows, expired or not (tests and diagnostics). */
  storedCount(): number {
    if (!this.account.hasSchema) return 0;
    return this.db.select({ n: sql<number>`count(*)` }).from(bindings).get()?.n ?? 0;
  }

  // ── expiry ──────────────────────────────────────────────────────────────

  /** Remove up to SWEEP_BATCH expired bindings, inside the caller's transaction; their events. */
  sweep(now: number, usernames: (deviceIds: string[]) => Map<string, string>): { swept: number; events: NewEvent[] } {
    const swept = this.db
      .delete(bindings)
      .where(inArray(bindings.id, this.db.select({ id: bindings.id }).from(bindings).where(lte(bindings.expiresAt, now)).orderBy(asc(bindings.expiresAt)).limit(SWEEP_BATCH)))
      .returning({ id: bindings.id, deviceId: bindings.deviceId, contact: bindings.contact, switchId: bindings.switchId })
      .all();
    const names = usernames([...new Set(swept.map((b) => b.deviceId))]);
    const events = swept.map((b): NewEvent => ({ type: "binding.expired", deviceId: b.deviceId, username: names.get(b.deviceId) ?? null, contact: b.contact, switchId: b.switchId }));
    return { swept: swept.length, events };
  }

  /** When the next binding expires; null without bindings. */
  earliestDeadline(): number | null {
    return this.db.select({ at: min(bindings.expiresAt) }).from(bindings).get()?.at ?? null;
  }

  private live(deviceId: string, now: number): Binding[] {
    if (!this.account.hasSchema) return [];
    return this.statements.liveOfDevice(deviceId, now);
  }
}
