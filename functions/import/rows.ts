// From the records of an import file to device rows: the column mapping of each source (the edge's
// own columns, Kamailio's `subscriber` table, FusionPBX extensions, Kazoo devices), then every row
// checked with the single-device API's rules. Pure: the account's realm comes in as a parameter;
// what depends on the account's state (existing usernames, numbers) is checked by the caller.
import type { z } from "@hono/zod-openapi";
import { CallerIdNumber, DisplayName, E164, Password, Username } from "../api/schemas";
import type { SourceRecord } from "./read";
import { nextTurn } from "./turns";

export const IMPORT_FORMATS = ["edge", "kamailio", "fusionpbx", "kazoo"] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

type Field = "username" | "password" | "ha1" | "realm" | "callerIdName" | "callerIdNumber" | "enabled" | "numbers";

/**
 * For each field, the columns it is read from (names match whatever their case), first present wins. Every format also takes the
 * edge's `numbers` column. Kamailio's `ha1b` (an HA1 over `user@domain`) is not used: devices
 * authenticate here with the bare username.
 */
export const COLUMN_MAPPINGS: Record<ImportFormat, Partial<Record<Field, string[]>>> = {
  edge: {
    username: ["username"],
    password: ["password"],
    ha1: ["ha1"],
    realm: ["realm"],
    callerIdName: ["callerIdName"],
    callerIdNumber: ["callerIdNumber"],
    enabled: ["enabled"],
    numbers: ["numbers"],
  },
  kamailio: { username: ["username"], realm: ["domain", "realm"], password: ["password"], ha1: ["ha1"], numbers: ["numbers"] },
  fusionpbx: {
    username: ["extension"],
    password: ["password"],
    // Not a FusionPBX column: an MD5 HA1 the export computes for a password the edge cannot take.
    ha1: ["ha1"],
    realm: ["domain_name"],
    callerIdName: ["effective_caller_id_name"],
    callerIdNumber: ["effective_caller_id_number"],
    enabled: ["enabled"],
    numbers: ["numbers"],
  },
  kazoo: {
    username: ["sip.username"],
    password: ["sip.password"],
    realm: ["sip.realm"],
    callerIdName: ["caller_id.internal.name", "caller_id.external.name"],
    callerIdNumber: ["caller_id.internal.number", "caller_id.external.number"],
    enabled: ["enabled"],
    numbers: ["numbers"],
  },
};

/** A refused row, naming the file's column at fault. */
export interface RowError {
  row: number;
  line?: number;
  field: string;
  message: string;
}

/** A valid row: fields present are set, fields absent are kept (an existing device) or defaulted. */
export interface DeviceRow {
  row: number;
  line: number | null;
  username: string;
  /** Column named for errors that come later (existing username, numbers). */
  usernameColumn: string;
  password?: string;
  /** An MD5 HA1 made with the account's realm, lowercase hex. */
  ha1Md5?: string;
  callerIdName?: string | null;
  callerIdNumber?: string | null;
  enabled?: boolean;
  numbers?: string[];
  numbersColumn: string;
}

export type MappedRow = { ok: true; device: DeviceRow } | { ok: false; error: RowError };

const TRUE = new Set(["true", "t", "1", "yes", "y", "on"]);
const FALSE = new Set(["false", "f", "0", "no", "n", "off"]);

/** The columns of the file that the format does not read. */
export function ignoredColumns(format: ImportFormat, columns: string[]): string[] {
  const read = new Set(Object.values(COLUMN_MAPPINGS[format]).flat().map((name) => name.toLowerCase()));
  return columns.filter((name) => !read.has(name));
}

export function mapRecord(record: SourceRecord, format: ImportFormat, realm: string): MappedRow {
  const at = { row: record.row, ...(record.line !== null && { line: record.line }) };
  const fail = (field: string, message: string): MappedRow => ({ ok: false, error: { ...at, field, message } });
  const mapping = COLUMN_MAPPINGS[format];
  /** The first mapped column the record has (empty cells count as absent), with its value. */
  const pick = (field: Field): { column: string; value: unknown } | { column: string; value: undefined; present: boolean } => {
    const names = mapping[field] ?? [];
    for (const name of names) {
      const value = record.values.get(name.toLowerCase());
      if (value !== undefined && value !== "") return { column: name, value };
    }
    const present = names.find((name) => record.values.has(name.toLowerCase()));
    return { column: present ?? names[0] ?? field, value: undefined, present: present !== undefined };
  };
  const check = <T>(schema: z.ZodType<T>, column: string, value: unknown): { ok: true; value: T } | { ok: false; row: MappedRow } => {
    const result = schema.safeParse(value);
    return result.success ? { ok: true, value: result.data } : { ok: false, row: fail(column, result.error.issues[0]?.message ?? "invalid") };
  };

  const user = pick("username");
  if (user.value === undefined) return fail(user.column, "required");
  const username = check(Username, user.column, typeof user.value === "number" ? String(user.value) : user.value);
  if (!username.ok) return username.row;
  const device: DeviceRow = { row: record.row, line: record.line, username: username.value, usernameColumn: user.column, numbersColumn: pick("numbers").column };

  const password = pick("password");
  const ha1 = pick("ha1");
  // A password the edge would refuse (shorter than 8 characters: legacy Kamailio and FusionPBX
  // systems allowed them) comes in through the row's MD5 HA1 when it has one made with the
  // account's realm; without one the row is refused, saying so (docs/operations.md, "Moving in").
  const checkedPassword =
    password.value === undefined ? undefined : check(Password, password.column, typeof password.value === "number" ? String(password.value) : password.value);
  if (checkedPassword?.ok) {
    device.password = checkedPassword.value;
  } else if (checkedPassword !== undefined && ha1.value === undefined) {
    const reason = checkedPassword.ok ? "" : (checkedPassword.row as { ok: false; error: RowError }).error.message;
    return fail(password.column, `${reason}: the edge cannot take this password; give the device a new one, or add the row's MD5 HA1 for this realm (an ha1 column) to keep the old one`);
  } else if (ha1.value !== undefined) {
    if (typeof ha1.value !== "string" || !/^[0-9a-fA-F]{32}$/.test(ha1.value)) return fail(ha1.column, "an MD5 HA1: 32 hex digits");
    const rowRealm = pick("realm");
    if (rowRealm.value === undefined) {
      return fail(rowRealm.column, `an HA1 binds the realm it was made with: give it (${rowRealm.column}); it must be the account's realm ${realm}`);
    }
    if (String(rowRealm.value).toLowerCase() !== realm) {
      return fail(rowRealm.column, `the HA1 was made for realm ${String(rowRealm.value)}, not the account's realm ${realm}: it cannot be used here; import the password instead`);
    }
    device.ha1Md5 = ha1.value.toLowerCase();
  }

  for (const field of ["callerIdName", "callerIdNumber"] as const) {
    const given = pick(field);
    if (given.value !== undefined) {
      const checked = check(field === "callerIdName" ? DisplayName : CallerIdNumber, given.column, typeof given.value === "number" ? String(given.value) : given.value);
      if (!checked.ok) return checked.row;
      device[field] = checked.value;
    } else if ("present" in given && given.present) {
      // The column is in the file and this row leaves it empty (or null): no caller ID.
      device[field] = null;
    }
  }

  const enabled = pick("enabled");
  if (enabled.value !== undefined) {
    const text = String(enabled.value).trim().toLowerCase();
    if (typeof enabled.value === "boolean") device.enabled = enabled.value;
    else if (TRUE.has(text)) device.enabled = true;
    else if (FALSE.has(text)) device.enabled = false;
    else return fail(enabled.column, "true or false");
  }

  const numbers = pick("numbers");
  if (numbers.value !== undefined) {
    const list = Array.isArray(numbers.value) ? numbers.value : String(numbers.value).split(/[\s,;]+/).filter((n) => n !== "");
    const valid: string[] = [];
    for (const number of list) {
      const checked = check(E164, numbers.column, number);
      if (!checked.ok) return checked.row;
      if (!valid.includes(checked.value)) valid.push(checked.value);
    }
    if (valid.length > 0) device.numbers = valid;
  }
  return { ok: true, device };
}

/** Records checked between two turns of the event loop. */
const MAP_SLICE_ROWS = 250;

/**
 * Map and check every record; a username or number named by an earlier row refuses the later one.
 * A turn of the event loop after every slice of rows lets the isolate serve other requests meanwhile.
 */
export async function mapRecords(records: SourceRecord[], format: ImportFormat, realm: string): Promise<{ devices: DeviceRow[]; errors: RowError[] }> {
  const devices: DeviceRow[] = [];
  const errors: RowError[] = [];
  const usernames = new Map<string, number>();
  const numbers = new Map<string, number>();
  for (const [i, record] of records.entries()) {
    if (i > 0 && i % MAP_SLICE_ROWS === 0) await nextTurn();
    const mapped = mapRecord(record, format, realm);
    if (!mapped.ok) {
      errors.push(mapped.error);
      continue;
    }
    const { device } = mapped;
    const at = { row: device.row, ...(device.line !== null && { line: device.line }) };
    const earlier = usernames.get(device.username);
    if (earlier !== undefined) {
      errors.push({ ...at, field: device.usernameColumn, message: `username ${device.username} is already on row ${earlier}` });
      continue;
    }
    const taken = device.numbers?.find((number) => numbers.has(number));
    if (taken !== undefined) {
      errors.push({ ...at, field: device.numbersColumn, message: `number ${taken} is already on row ${numbers.get(taken)}` });
      continue;
    }
    usernames.set(device.username, device.row);
    for (const number of device.numbers ?? []) numbers.set(number, device.row);
    devices.push(device);
  }
  return { devices, errors };
}
