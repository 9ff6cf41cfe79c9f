// The statements every REGISTER, refresh and call lookup runs on the bindings table, as SQL on the
// object's storage. The column names come from the drizzle schema, so the schema stays the one
// description of the table; only the per-call work of a query builder (placeholder filling, row
// mapping column by column) is left out, which on these paths cost more than SQLite itself
// (docs/benchmarks.md). Everything else in the object goes through drizzle.
import { getTableColumns } from "drizzle-orm";
import type { RefreshCandidate } from "../../registrar/refresh";
import type { Binding, BindingFields } from "../../registrar/types";
import { bindings } from "./schema";

type Key = keyof Binding;

const columns = getTableColumns(bindings);
const column = (key: Key): string => `"${columns[key].name}"`;
const keys = Object.keys(columns) as Key[];

/** Every column, named as the Binding's properties, so a result row needs no renaming. */
const SELECT = `SELECT ${keys.map((key) => `${column(key)} AS "${key}"`).join(", ")} FROM "bindings"`;

/** The fields a REGISTER writes, in one order for both statements. */
const FIELDS = ["aor", "contact", "instanceId", "regId", "callId", "cseq", "expiresAt", "q", "path", "received", "userAgent", "switchId"] as const satisfies readonly (keyof BindingFields)[];

const SAME_CONTACT_FIELDS = FIELDS.filter((key) => key !== "contact");

const fieldValues = (fields: BindingFields, keys: readonly (keyof BindingFields)[] = FIELDS): SqlStorageValue[] =>
  keys.map((key) => (key === "path" ? JSON.stringify(fields.path) : fields[key]));

type Row = Omit<Binding, "path"> & { path: string | null };

function toBinding(row: Row): Binding {
  return { ...row, path: row.path === null ? [] : (JSON.parse(row.path) as string[]) };
}

export class BindingStatements {
  private readonly byDevice = `${SELECT} WHERE ${column("deviceId")} = ?`;
  private readonly liveByDevice = `${SELECT} WHERE ${column("deviceId")} = ? AND ${column("expiresAt")} > ?`;
  private readonly candidates = `SELECT ${(["id", "contact", "callId", "expiresAt"] as const).map((key) => `${column(key)} AS "${key}"`).join(", ")} FROM "bindings" WHERE ${column("deviceId")} = ?`;
  private readonly refreshOne = `UPDATE "bindings" SET ${column("expiresAt")} = ?, ${column("switchId")} = ?, ${column("updatedAt")} = ?, ${column("cseq")} = MAX(${column("cseq")}, ?) WHERE ${column("id")} = ?`;
  private readonly updateOne = `UPDATE "bindings" SET ${FIELDS.map((key) => `${column(key)} = ?`).join(", ")}, ${column("updatedAt")} = ? WHERE ${column("id")} = ? AND ${column("deviceId")} = ?`;
  /**
   * The same update for a binding whose contact stays: SQLite rewrites an index entry whenever a
   * column of that index is SET, even to the same value, and each index entry bills as a row
   * written, so leaving `contact` out keeps a refresh at the row and its expiry index entry.
   */
  private readonly updateSameContact = `UPDATE "bindings" SET ${SAME_CONTACT_FIELDS.map((key) => `${column(key)} = ?`).join(", ")}, ${column("updatedAt")} = ? WHERE ${column("id")} = ? AND ${column("deviceId")} = ?`;
  private readonly insertOne = `INSERT INTO "bindings" (${[...FIELDS, "deviceId", "createdAt", "updatedAt"].map((key) => column(key as Key)).join(", ")}) VALUES (${Array(FIELDS.length + 3).fill("?").join(", ")})`;

  constructor(private readonly sql: SqlStorage) {}

  /** Every row of a device, expired or not. */
  ofDevice(deviceId: string): Binding[] {
    return this.sql.exec<Row>(this.byDevice, deviceId).toArray().map(toBinding);
  }

  /** A device's rows that have not expired at `now`. */
  liveOfDevice(deviceId: string, now: number): Binding[] {
    return this.sql.exec<Row>(this.liveByDevice, deviceId, now).toArray().map(toBinding);
  }

  /** What matching a refresh reads of a device's rows (registrar/refresh.ts decides which one, if any). */
  refreshCandidates(deviceId: string): RefreshCandidate[] {
    return this.sql.exec<RefreshCandidate>(this.candidates, deviceId).toArray();
  }

  /** `stamp`: the switch's time of the REGISTER (µs, FreeSWITCH's Event-Date-Timestamp), kept when newer than the row's. */
  refresh(id: number, expiresAt: number, switchId: string, now: number, stamp = 0): void {
    this.sql.exec(this.refreshOne, expiresAt, switchId, now, stamp, id).toArray();
  }

  /** Replace a binding's fields; `previousContact` is the contact it had. */
  update(id: number, deviceId: string, fields: BindingFields, previousContact: string, now: number): void {
    if (fields.contact === previousContact) {
      this.sql.exec(this.updateSameContact, ...fieldValues(fields, SAME_CONTACT_FIELDS), now, id, deviceId).toArray();
    } else {
      this.sql.exec(this.updateOne, ...fieldValues(fields), now, id, deviceId).toArray();
    }
  }

  insert(deviceId: string, fields: BindingFields, now: number): void {
    this.sql.exec(this.insertOne, ...fieldValues(fields), deviceId, now, now).toArray();
  }
}
