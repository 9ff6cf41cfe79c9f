// The account itself: its row (realm, name, registration, lockout and call policies), read once and
// kept, since every callback needs it and only the API changes it; whether the object holds an
// account's tables at all (an object reached for an unknown realm stays empty until `initialize`).
import { eq } from "drizzle-orm";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import type { LockoutPolicy } from "../../registrar/lockout";
import { policyInconsistency } from "../../registrar/policy";
import type { RegistrationPolicy } from "../../registrar/types";
import migrations from "./migrations/migrations.js";
import { ok, refuse, type Outcome } from "./outcome";
import type { AccountChanges, AccountInit, AccountRecord } from "./records";
import { lockoutColumns, lockoutOf, policyOf, toAccount, type AccountRow, type Db } from "./rows";
import { account } from "./schema";

export const NO_ACCOUNT = () => refuse("not_found", "no such account", "accountId");

export class Account {
  /** Whether this object holds an account's tables: nothing is written until `initialize`. */
  hasSchema = false;
  private cached: AccountRow | undefined = undefined;
  private readonly read;

  constructor(
    private readonly db: Db,
    private readonly sql: SqlStorage,
  ) {
    this.read = db.select().from(account).where(eq(account.id, 1)).prepare();
  }

  /** When the object wakes: existing accounts pick up new migrations the first time. */
  async open(): Promise<void> {
    this.hasSchema = this.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'account'").toArray().length > 0;
    if (this.hasSchema) await migrate(this.db, migrations);
  }

  row(): AccountRow | undefined {
    if (!this.hasSchema) return undefined;
    this.cached ??= this.read.get();
    return this.cached;
  }

  async initialize(init: AccountInit): Promise<Outcome<AccountRecord>> {
    if (this.row()) return refuse("conflict", "this account object is already initialised", "realm");
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
    this.cached = undefined;
    return ok(toAccount(this.row()!));
  }

  describe(): Outcome<AccountRecord> {
    const row = this.row();
    return row ? ok(toAccount(row)) : NO_ACCOUNT();
  }

  update(changes: AccountChanges): Outcome<AccountRecord> {
    const row = this.row();
    if (!row) return NO_ACCOUNT();
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
    this.cached = undefined;
    return ok(toAccount(this.row()!));
  }

  /** After every table was erased: the object is empty and uninitialised again. */
  erased(): void {
    this.hasSchema = false;
    this.cached = undefined;
  }
}
