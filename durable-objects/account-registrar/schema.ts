// One account's state, in its AccountRegistrar object's SQLite storage.
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** The account this object serves: a single row (id = 1). */
export const account = sqliteTable("account", {
  id: integer("id").primaryKey(),
  accountId: text("account_id").notNull(),
  realm: text("realm").notNull(),
  name: text("name").notNull(),
  jurisdiction: text("jurisdiction"),
  regionHint: text("region_hint"),
  minExpires: integer("min_expires").notNull(),
  maxExpires: integer("max_expires").notNull(),
  defaultExpires: integer("default_expires").notNull(),
  maxBindingsPerDevice: integer("max_bindings_per_device").notNull(),
  overflow: text("overflow", { enum: ["reject", "replace_oldest"] }).notNull(),
  /** Fraction by which a forced registration interval is spread (0.1 = ±10 %). */
  expiresJitter: real("expires_jitter").notNull().default(0.1),
  lockoutThreshold: integer("lockout_threshold").notNull().default(5),
  lockoutWindow: integer("lockout_window").notNull().default(300),
  lockoutDuration: integer("lockout_duration").notNull().default(900),
  /** Distinct sources failing within the window that lock the whole device. */
  lockoutDeviceThreshold: integer("lockout_device_threshold").notNull().default(10),
  /** Account ids whose devices this account's devices may call by address; none: calls stay in the account. */
  callsAllowedAccounts: text("calls_allowed_accounts", { mode: "json" }).$type<string[]>().notNull().default([]),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const devices = sqliteTable("devices", {
  id: text("id").primaryKey(),
  username: text("username").notNull().unique(),
  /** MD5(username:realm:password), hex. The password itself is never stored. */
  ha1Md5: text("ha1_md5").notNull(),
  /** SHA-256(username:realm:password), hex, for RFC 7616/8760 clients. */
  ha1Sha256: text("ha1_sha256").notNull(),
  callerIdName: text("caller_id_name"),
  callerIdNumber: text("caller_id_number"),
  enabled: integer("enabled", { mode: "boolean" }).notNull(),
  /**
   * While in the future, the device is refused from every source but the addresses it is registered
   * from (wrong digests from many sources: distributed guessing).
   */
  lockedUntil: integer("locked_until"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
}, (t) => [
  // Only devices ever locked have an entry (a partial index): the account's lockout list finds them
  // without reading every device, and a new or imported device writes no entry here.
  index("devices_locked_until").on(t.lockedUntil).where(sql`${t.lockedUntil} IS NOT NULL`),
]);

export const numbers = sqliteTable("numbers", {
  number: text("number").primaryKey(),
  /** The device this DID rings; null routes it to the account as a whole. */
  deviceId: text("device_id"),
  createdAt: integer("created_at").notNull(),
});

export const bindings = sqliteTable(
  "bindings",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    deviceId: text("device_id").notNull(),
    aor: text("aor").notNull(),
    contact: text("contact").notNull(),
    instanceId: text("instance_id"),
    regId: integer("reg_id"),
    callId: text("call_id").notNull(),
    cseq: integer("cseq").notNull(),
    expiresAt: integer("expires_at").notNull(),
    q: real("q"),
    /** Path URIs as a JSON array. */
    path: text("path", { mode: "json" }).$type<string[]>().notNull(),
    received: text("received"),
    userAgent: text("user_agent"),
    switchId: text("switch_id"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("bindings_device_contact").on(t.deviceId, t.contact),
    index("bindings_expires_at").on(t.expiresAt),
  ],
);

/**
 * Wrong digests per device and source address (registrar/lockout.ts): the current window's count
 * and the source's lock. Rows whose window closed and whose lock ended are swept. `device_id` is a
 * device's id, or `unknown:<username>` for a username the account does not have (counted alike).
 */
export const authSources = sqliteTable(
  "auth_sources",
  {
    deviceId: text("device_id").notNull(),
    /** IP address (IPv6: its /64), registrar/lockout.ts `sourceAddress`. */
    source: text("source").notNull(),
    windowStart: integer("window_start").notNull(),
    failures: integer("failures").notNull(),
    lockedUntil: integer("locked_until"),
    /** The last refused or wrong attempt (ms). */
    lastAt: integer("last_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.source] })],
);

/**
 * Digest nonces used, by key (registrar/replay.ts): the highest nonce-count seen (null: used
 * without one), kept until the nonce can no longer be accepted anywhere, then swept. Keyed by
 * SQLite's rowid, so a use writes one row and no index entry.
 */
export const nonceUses = sqliteTable("nonce_uses", {
  key: integer("key").primaryKey(),
  nc: integer("nc"),
  expiresAt: integer("expires_at").notNull(),
});

/**
 * The account's event outbox: every change the object decides, written in the same transaction as
 * the change, numbered per account. Listeners resume from a sequence; old entries are trimmed.
 */
export const events = sqliteTable("events", {
  seq: integer("seq").primaryKey({ autoIncrement: true }),
  at: integer("at").notNull(),
  type: text("type").notNull(),
  deviceId: text("device_id"),
  username: text("username"),
  contact: text("contact"),
  source: text("source"),
  switchId: text("switch_id"),
});

/** Webhook subscriptions: where to post which events. Each keeps its own place in the outbox. */
export const webhooks = sqliteTable("webhooks", {
  id: text("id").primaryKey(),
  url: text("url").notNull(),
  /** Event types to deliver, JSON array; null = every type. */
  types: text("types", { mode: "json" }).$type<string[] | null>(),
  includeRefreshed: integer("include_refreshed", { mode: "boolean" }).notNull(),
  /** HMAC-SHA256 key for the signature header; shown once when the subscription is made. */
  secret: text("secret").notNull(),
  /** The last event sequence handled (delivered, skipped or dead-lettered). */
  cursor: integer("cursor").notNull(),
  /** Failed attempts at the event after the cursor. */
  attempts: integer("attempts").notNull(),
  /** When the next attempt is due (ms); null while nothing is pending. */
  nextAttemptAt: integer("next_attempt_at"),
  lastError: text("last_error"),
  createdAt: integer("created_at").notNull(),
});

/** Events a webhook could not take after every retry. */
export const deadLetters = sqliteTable("dead_letters", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  webhookId: text("webhook_id").notNull(),
  seq: integer("seq").notNull(),
  event: text("event", { mode: "json" }).$type<Record<string, string | number | null>>().notNull(),
  attempts: integer("attempts").notNull(),
  lastError: text("last_error").notNull(),
  failedAt: integer("failed_at").notNull(),
});

/**
 * Bulk device imports (durable-objects/account-registrar/device-import.ts): one row per job, kept
 * after it ends so its caller can read the outcome; the oldest are dropped past a bound.
 */
export const imports = sqliteTable("imports", {
  id: text("id").primaryKey(),
  /** receiving (rows arriving), running (applied in chunks), done, failed. */
  state: text("state", { enum: ["receiving", "running", "done", "failed"] }).notNull(),
  /** all: a file with a bad row imports nothing; good-rows: the valid rows are imported. */
  mode: text("mode", { enum: ["all", "good-rows"] }).notNull(),
  format: text("format").notNull(),
  /** Data rows in the file. */
  total: integer("total").notNull(),
  /** Rows handled so far (imported or refused). */
  done: integer("done").notNull(),
  created: integer("created").notNull(),
  updated: integer("updated").notNull(),
  refused: integer("refused").notNull(),
  /** The first refused rows: [{ row, line?, field, message }]. */
  errors: text("errors", { mode: "json" }).$type<{ row: number; line?: number; field: string; message: string }[]>().notNull(),
  detail: text("detail"),
  /** The operator's import: numbers in it join the inventory (claimed in the catalog first). */
  mayAddNumbers: integer("may_add_numbers", { mode: "boolean" }).notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * The rows of the import being received or applied (one at a time per account), keyed by their
 * position in the file so that each costs one row and no index entry. HA1 values and fields only,
 * never a password.
 */
export const importRows = sqliteTable("import_rows", {
  /** 1-based position among the file's data rows. */
  row: integer("row").primaryKey(),
  jobId: text("job_id").notNull(),
  /** The line of the file where the row starts (CSV only). */
  line: integer("line"),
  username: text("username").notNull(),
  /** What to set (durable-objects/account-registrar/device-import.ts StagedChanges), JSON. */
  changes: text("changes", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
});
