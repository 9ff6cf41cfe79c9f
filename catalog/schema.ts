// The global catalog (D1): what must be unique or findable across every account.
// Account state itself lives in each account's AccountRegistrar object, never here.
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const accounts = sqliteTable("accounts", {
  /** The account's Durable Object id (hex); it addresses the object directly. */
  id: text("id").primaryKey(),
  realm: text("realm").notNull().unique(),
  name: text("name").notNull(),
  /** "eu" when the account's object lives in the EU jurisdiction, else null. */
  jurisdiction: text("jurisdiction"),
  regionHint: text("region_hint"),
  createdAt: integer("created_at").notNull(),
});

export const numbers = sqliteTable(
  "numbers",
  {
    /** E.164, e.g. +14155550100: unique across every account. */
    number: text("number").primaryKey(),
    accountId: text("account_id").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("numbers_account").on(t.accountId)],
);

export const switches = sqliteTable("switches", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  /** SIP URI peers use to reach this switch, e.g. sip:10.0.0.4:5060. */
  address: text("address").notNull(),
  /** Accounts of this jurisdiction are served by this switch; null = the default namespace. */
  jurisdiction: text("jurisdiction"),
  /** Credentials issued before this instant (ms) are refused: rotation and revocation. */
  credentialNotBefore: integer("credential_not_before").notNull(),
  /** Last authenticated callback or keepalive (ms), written at most every few seconds per edge isolate. */
  lastSeenAt: integer("last_seen_at"),
  /** The accounts (ids, JSON array) this switch may act for; null: every account of its jurisdiction. */
  accounts: text("accounts", { mode: "json" }).$type<string[]>(),
  /** Set by an operator before maintenance: devices move off, calls avoid the switch. */
  draining: integer("draining", { mode: "boolean" }).notNull().default(false),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    name: text("name").notNull(),
    /** SHA-256 of the key's secret part, hex. The key itself is shown once and never stored. */
    secretHash: text("secret_hash").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("api_keys_account").on(t.accountId)],
);
