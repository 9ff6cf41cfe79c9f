// An import from the Worker's side: everything that can refuse a row is decided here, before the
// first row reaches the account's object (the file's syntax, each row's fields, the HA1 realm rule,
// repeated usernames and numbers, rows without credentials for a username the account does not have,
// numbers the caller may not use); then the HA1 values are computed here, so the object spends no
// time on digests, and the rows are sent to the object in chunks, which applies them in the
// background (durable-objects/account-registrar/device-import.ts).
import { and, eq, inArray } from "drizzle-orm";
import { numbers as catalogNumbers } from "../../catalog/schema";
import type { AccountRegistrar } from "../../durable-objects/account-registrar/AccountRegistrar";
import type { ImportJob, ImportMode, StagedRow } from "../../durable-objects/account-registrar/device-import";
import { ha1Pair } from "../../durable-objects/account-registrar/rows";
import { hex } from "../../registrar/bytes";
import { catalog } from "../catalog";
import type { Env } from "../env";
import type { DeviceRow, RowError } from "./rows";
import { nextTurn } from "./turns";

/** Rows sent to the object per call. */
export const STAGE_ROWS = 500;
/** Usernames and numbers looked up per call. */
const LOOKUP_ROWS = 1_000;
/** Digests computed between two turns of the event loop. */
const HASH_BATCH = 100;
/** D1 takes at most 100 bound parameters per statement. */
const D1_CHUNK = 30;

export type ImportRun = { ok: true; job: ImportJob } | { ok: false; errors: RowError[] };

const at = (device: DeviceRow) => ({ row: device.row, ...(device.line !== null && { line: device.line }) });

/**
 * Check the rows against the account, and claim the operator's new numbers in the catalog. In mode
 * `all`, any refusal answers `{ ok: false }` with nothing written (claims made are given back).
 */
export async function runImport(
  env: Env,
  stub: DurableObjectStub<AccountRegistrar>,
  input: { accountId: string; realm: string; format: string; mode: ImportMode; total: number; operator: boolean },
  valid: DeviceRow[],
  refused: RowError[],
): Promise<ImportRun> {
  const errors = [...refused];
  let devices = await checkAgainstAccount(stub, input, valid, errors);
  if (input.mode === "all" && errors.length > 0) return { ok: false, errors: sorted(errors) };
  const claimed = input.operator ? await claimNumbers(env, input.accountId, devices, errors) : [];
  if (errors.length > refused.length) devices = devices.filter((d) => !errors.some((e) => e.row === d.row));
  if (input.mode === "all" && errors.length > 0) {
    await releaseNumbers(env, input.accountId, claimed);
    return { ok: false, errors: sorted(errors) };
  }
  let jobId: string | null = null;
  try {
    const staged = await hashed(devices, input.realm, new Set(claimed));
    const opened = await stub.openImport({ mode: input.mode, format: input.format, total: input.total, errors: sorted(errors), mayAddNumbers: input.operator });
    if (!opened.ok) {
      await releaseNumbers(env, input.accountId, claimed);
      return { ok: false, errors: [{ row: 0, field: "body", message: opened.refusal.detail }] };
    }
    jobId = opened.value.id;
    for (let i = 0; i < staged.length; i += STAGE_ROWS) {
      // A turn of the event loop between calls: answers to the object come back without any wait
      // on the network, and would otherwise keep other requests of the isolate waiting.
      if (i > 0) await nextTurn();
      if (!(await stub.stageImport(jobId, staged.slice(i, i + STAGE_ROWS)))) throw new Error(`import ${jobId} stopped receiving`);
    }
    const started = await stub.startImport(jobId);
    if (!started.ok) throw new Error(started.refusal.detail);
    return { ok: true, job: started.value };
  } catch (error) {
    if (jobId !== null) await stub.discardImport(jobId);
    await releaseNumbers(env, input.accountId, claimed);
    throw error;
  }
}

/** Rows without credentials must name existing devices; an account's rows only its own numbers. */
async function checkAgainstAccount(
  stub: DurableObjectStub<AccountRegistrar>,
  input: { operator: boolean },
  devices: DeviceRow[],
  errors: RowError[],
): Promise<DeviceRow[]> {
  const uncredentialed = devices.filter((d) => d.password === undefined && d.ha1Md5 === undefined);
  const numbered = input.operator ? [] : devices.filter((d) => d.numbers !== undefined);
  const existing = new Set<string>();
  const held = new Set<string>();
  const allNumbers = numbered.flatMap((d) => d.numbers!);
  for (let i = 0; i < Math.max(uncredentialed.length, allNumbers.length); i += LOOKUP_ROWS) {
    const found = await stub.importLookups(
      uncredentialed.slice(i, i + LOOKUP_ROWS).map((d) => d.username),
      allNumbers.slice(i, i + LOOKUP_ROWS),
    );
    for (const username of found.usernames) existing.add(username);
    for (const number of found.numbers) held.add(number);
  }
  const refusedRows = new Set<number>();
  for (const device of uncredentialed) {
    if (existing.has(device.username)) continue;
    errors.push({ ...at(device), field: device.usernameColumn, message: `no device ${device.username} in this account: a new device needs a password (or an MD5 HA1)` });
    refusedRows.add(device.row);
  }
  for (const device of numbered) {
    const missing = device.numbers!.find((number) => !held.has(number));
    if (missing === undefined || refusedRows.has(device.row)) continue;
    errors.push({ ...at(device), field: device.numbersColumn, message: `number ${missing} is not in this account's inventory (the operator adds numbers)` });
    refusedRows.add(device.row);
  }
  return devices.filter((d) => !refusedRows.has(d.row));
}

/** The operator's import adds its numbers to the account: each is claimed in the catalog unless another account has it. */
async function claimNumbers(env: Env, accountId: string, devices: DeviceRow[], errors: RowError[]): Promise<string[]> {
  const owner = new Map<string, DeviceRow>();
  for (const device of devices) for (const number of device.numbers ?? []) owner.set(number, device);
  const all = [...owner.keys()];
  const db = catalog(env);
  const claimed: string[] = [];
  for (let i = 0; i < all.length; i += D1_CHUNK) {
    const chunk = all.slice(i, i + D1_CHUNK);
    const now = Date.now();
    const won = await db
      .insert(catalogNumbers)
      .values(chunk.map((number) => ({ number, accountId, createdAt: now })))
      .onConflictDoNothing()
      .returning({ number: catalogNumbers.number })
      .all();
    claimed.push(...won.map((w) => w.number));
    const lost = chunk.filter((number) => !won.some((w) => w.number === number));
    if (lost.length === 0) continue;
    const holders = await db.select().from(catalogNumbers).where(inArray(catalogNumbers.number, lost)).all();
    for (const holder of holders) {
      if (holder.accountId === accountId) continue;
      const device = owner.get(holder.number)!;
      if (errors.some((e) => e.row === device.row)) continue;
      errors.push({ ...at(device), field: device.numbersColumn, message: `number ${holder.number} is assigned to another account` });
    }
  }
  // A row refused for one of its numbers gives back the others it claimed.
  const refusedRows = new Set(errors.map((e) => e.row));
  const giveBack = claimed.filter((number) => refusedRows.has(owner.get(number)!.row));
  await releaseNumbers(env, accountId, giveBack);
  return claimed.filter((number) => !giveBack.includes(number));
}

async function releaseNumbers(env: Env, accountId: string, claimed: string[]): Promise<void> {
  const db = catalog(env);
  for (let i = 0; i < claimed.length; i += D1_CHUNK) {
    await db.delete(catalogNumbers).where(and(eq(catalogNumbers.accountId, accountId), inArray(catalogNumbers.number, claimed.slice(i, i + D1_CHUNK)))).run();
  }
}

/**
 * The rows as the object stores them: a password becomes its MD5 and SHA-256 HA1 values; an MD5
 * HA1 imported alone is kept, and the device gets a random SHA-256 HA1 that no answer can match
 * (SHA-256 needs the password: docs/operations.md, "Moving in").
 */
async function hashed(devices: DeviceRow[], realm: string, claimed: Set<string>): Promise<StagedRow[]> {
  const out: StagedRow[] = [];
  for (let i = 0; i < devices.length; i += HASH_BATCH) {
    if (i > 0) await nextTurn();
    out.push(
      ...(await Promise.all(
        devices.slice(i, i + HASH_BATCH).map(async (d): Promise<StagedRow> => {
          const row: StagedRow = { row: d.row, line: d.line, username: d.username };
          if (d.password !== undefined) Object.assign(row, await ha1Pair(d.username, realm, d.password));
          else if (d.ha1Md5 !== undefined) Object.assign(row, { ha1Md5: d.ha1Md5, ha1Sha256: hex(crypto.getRandomValues(new Uint8Array(32))) });
          if (d.callerIdName !== undefined) row.callerIdName = d.callerIdName;
          if (d.callerIdNumber !== undefined) row.callerIdNumber = d.callerIdNumber;
          if (d.enabled !== undefined) row.enabled = d.enabled;
          if (d.numbers !== undefined) row.numbers = d.numbers;
          const mine = d.numbers?.filter((number) => claimed.has(number)) ?? [];
          if (mine.length > 0) row.claimed = mine;
          return row;
        }),
      )),
    );
  }
  return out;
}

const sorted = (errors: RowError[]) => [...errors].sort((a, b) => a.row - b.row);

