// Reading an import file into records: CSV (RFC 4180, through csv-parse, with the line each record
// starts on) or JSON (an array of objects, or an object holding one under `rows` or `data`, as
// Kazoo's API answers). Nested JSON objects are flattened to dotted names (`sip.username`), so a
// CSV written from the same documents uses the same column names. Names are matched lowercase.
// A CSV file is parsed a slice at a time, with a turn of the event loop between slices, so a
// 100,000-row file never holds the isolate (and the callbacks it serves) for long.
import { Buffer } from "node:buffer";
import { parse } from "csv-parse/stream";
import { nextTurn } from "./turns";

/** One data row: its 1-based position, the line it starts on (CSV), its values by column name. */
export interface SourceRecord {
  row: number;
  line: number | null;
  values: Map<string, unknown>;
}

export type ReadResult =
  | { ok: true; records: SourceRecord[]; columns: string[] }
  | { ok: false; line?: number; message: string };

/** Bytes handed to the parser at once. */
const CSV_SLICE_BYTES = 16 * 1024;

export async function readCsv(text: string, maxRows: number): Promise<ReadResult> {
  const parser = parse({ bom: true, info: true, skip_empty_lines: true, relax_column_count: true, to_line: maxRows + 2 });
  const bytes = new TextEncoder().encode(text);
  const writer = parser.writable.getWriter();
  const reader = parser.readable.getReader();
  // The parser works on bytes and keeps a character split between slices for the next one.
  const feeding = (async () => {
    for (let at = 0; at < bytes.length; at += CSV_SLICE_BYTES) {
      await writer.write(Buffer.from(bytes.buffer, bytes.byteOffset + at, Math.min(CSV_SLICE_BYTES, bytes.length - at)));
      await nextTurn();
    }
    await writer.close();
  })().catch(() => {}); // a parse error reaches the reader too
  let columns: string[] | null = null;
  const records: SourceRecord[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const { record, info } = value as { record: string[]; info: { lines: number } };
      if (columns === null) {
        columns = record.map((name) => name.trim().toLowerCase());
        continue;
      }
      // info.lines is the line the record ends on; a quoted field may hold line breaks.
      const breaks = record.reduce((n, field) => n + (field.match(/\r\n|\r|\n/g)?.length ?? 0), 0);
      const values = new Map<string, unknown>();
      columns.forEach((name, c) => {
        if (name !== "" && record[c] !== undefined && !values.has(name)) values.set(name, record[c]);
      });
      records.push({ row: records.length + 1, line: info.lines - breaks, values });
    }
  } catch (error) {
    await feeding;
    const e = error as { message?: string; lines?: number };
    return { ok: false, ...(typeof e.lines === "number" && { line: e.lines }), message: e.message ?? "not CSV" };
  }
  await feeding;
  if (columns === null) return { ok: false, message: "the file is empty" };
  return { ok: true, records, columns: columns.filter((name) => name !== "") };
}

export function readJson(text: string, maxRows: number): ReadResult {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, message: "the body is not JSON" };
  }
  const items = Array.isArray(body) ? body : isObject(body) ? (body.rows ?? body.data) : undefined;
  if (!Array.isArray(items)) return { ok: false, message: "expected an array of rows, or an object with `rows` (or `data`) holding one" };
  const columns = new Set<string>();
  const records = items.slice(0, maxRows + 1).map((item, i) => {
    const values = new Map<string, unknown>();
    if (isObject(item)) flatten(item, "", values);
    else values.set("", item);
    for (const name of values.keys()) columns.add(name);
    return { row: i + 1, line: null, values };
  });
  return { ok: true, records, columns: [...columns].filter((name) => name !== "") };
}

function flatten(object: Record<string, unknown>, prefix: string, into: Map<string, unknown>, depth = 0): void {
  for (const [key, value] of Object.entries(object)) {
    const name = `${prefix}${key.toLowerCase()}`;
    if (isObject(value) && depth < 4) flatten(value, `${name}.`, into, depth + 1);
    else into.set(name, value);
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
