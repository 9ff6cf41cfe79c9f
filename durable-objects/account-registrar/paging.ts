// Paging through a table of the object in the order of its text key (the provisioning lists and
// exports: devices by id, numbers by number).
import { asc, getTableColumns, gt } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Page } from "./records";
import { page, type Db } from "./rows";

/** The `limit` rows of `table` after `after` by `key` (null: from the start); one row more is read to know whether a next page exists. */
export function pageByKey<T extends SQLiteTable, K extends keyof T["$inferSelect"] & string>(
  db: Db,
  table: T,
  key: K,
  limit: number,
  after: string | null,
): Page<T["$inferSelect"]> {
  const column = getTableColumns(table)[key] as SQLiteColumn;
  const rows = db
    .select()
    .from(table as SQLiteTable)
    .where(after === null ? undefined : gt(column, after))
    .orderBy(asc(column))
    .limit(limit + 1)
    .all() as T["$inferSelect"][];
  return page(rows, limit, (row) => String(row[key]));
}
