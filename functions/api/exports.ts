// /accounts/{accountId}/exports/{devices,numbers} and /exports/switches: every row at once, as JSON
// or CSV, streamed page by page so that a 100,000-device account is never held whole in memory or
// in one call to its object. Never a secret: devices without HA1 values, switches without their
// credential. A device export is an import file of the edge's own format (docs/api.md, "Exports").
import { createRoute, z, type RouteConfig } from "@hono/zod-openapi";
import { stringify } from "csv-stringify/sync";
import { asc, gt } from "drizzle-orm";
import { switches } from "../../catalog/schema";
import { catalog } from "../catalog";
import { lostAfterMs } from "../switches/fleet";
import { type Api, deviceView, numberView, operatorOnly, problems, registrarFor, security } from "./common";
import { AccountParams, Device, PhoneNumber, Switch } from "./schemas";
import { switchView } from "./switches";

const tags = ["Imports and exports"];

/** Rows read per call to the account's object (or the catalog). */
export const EXPORT_PAGE = 1_000;

export const ExportQuery = z.object({
  format: z.enum(["json", "csv"]).default("json").openapi({ param: { name: "format", in: "query" }, description: "json: an array of objects; csv: a header line, then one row per line." }),
});

type Cell = string | number | boolean | null;
type Page<T> = { items: T[]; next: string | null };

/** The rows of every page, as one JSON array or one CSV file, written as the pages are read. */
function streamed<T>(format: "json" | "csv", name: string, columns: string[], read: (after: string | null) => Promise<Page<T>>, toRow: (item: T) => Record<string, Cell>): Response {
  const encoder = new TextEncoder();
  let after: string | null = null;
  let started = false;
  let rowsWritten = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const page = await read(after);
      const rows = page.items.map(toRow);
      let text = "";
      if (format === "csv") {
        if (!started) text += `${stringify([columns])}`;
        text += stringify(rows, { columns, cast: { boolean: (value) => String(value) } });
      } else {
        if (!started) text += "[";
        for (const row of rows) text += `${rowsWritten++ === 0 ? "" : ","}\n${JSON.stringify(row)}`;
      }
      started = true;
      after = page.next;
      if (after === null && format === "json") text += "\n]\n";
      if (text !== "") controller.enqueue(encoder.encode(text));
      if (after === null) controller.close();
    },
  });
  const headers = {
    "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/json",
    "content-disposition": `attachment; filename="${name}.${format}"`,
  };
  return new Response(body, { status: 200, headers });
}

/** An export's route: GET, every `what` as a JSON array or CSV (format=csv), with the problems the API answers. */
function exportRoute<const P extends string, const R extends RouteConfig["request"]>(path: P, summary: string, request: R, item: z.ZodType, what: string, accountScoped: boolean) {
  return createRoute({
    method: "get",
    path,
    tags,
    security,
    summary,
    request,
    responses: {
      200: {
        description: `Every ${what}: a JSON array, or CSV with a header line (format=csv).`,
        content: { "application/json": { schema: z.array(item) }, "text/csv": { schema: z.string() } },
      },
      ...(accountScoped ? problems(400, 401, 403, 404) : problems(400, 401, 403)),
    },
  });
}

export function registerExportRoutes(api: Api) {
  api.openapi(
    exportRoute(
      "/accounts/{accountId}/exports/devices",
      "Every device of the account with its numbers, never a secret; importable as format=edge",
      { params: AccountParams, query: ExportQuery },
      Device,
      "device",
      true,
    ),
    async (c) => {
      const { accountId } = c.req.valid("param");
      const stub = await registrarFor(c, accountId);
      // The numbers first, by device (an account holds far fewer numbers than devices).
      const numbersOf = new Map<string, string[]>();
      for (let after: string | null = null; ; ) {
        const page = await stub.listNumbers(EXPORT_PAGE, after);
        for (const n of page.items) {
          if (n.deviceId === null) continue;
          const held = numbersOf.get(n.deviceId);
          if (held) held.push(n.number);
          else numbersOf.set(n.deviceId, [n.number]);
        }
        after = page.next;
        if (after === null) break;
      }
      const columns = ["username", "callerIdName", "callerIdNumber", "enabled", "numbers", "id", "lockedUntil", "createdAt", "updatedAt"];
      return streamed(c.req.valid("query").format, "devices", columns, (after) => stub.listDevices(EXPORT_PAGE, after), (record) => {
        const d = deviceView(record);
        return {
          username: d.username,
          callerIdName: d.callerIdName,
          callerIdNumber: d.callerIdNumber,
          enabled: d.enabled,
          numbers: (numbersOf.get(d.id) ?? []).join(" "),
          id: d.id,
          lockedUntil: d.lockedUntil,
          createdAt: d.createdAt,
          updatedAt: d.updatedAt,
        };
      });
    },
  );

  api.openapi(
    exportRoute("/accounts/{accountId}/exports/numbers", "Every number (DID) of the account and the device it rings", { params: AccountParams, query: ExportQuery }, PhoneNumber, "number", true),
    async (c) => {
      const stub = await registrarFor(c, c.req.valid("param").accountId);
      return streamed(c.req.valid("query").format, "numbers", ["number", "deviceId", "createdAt"], (after) => stub.listNumbers(EXPORT_PAGE, after), (n) => numberView(n));
    },
  );

  api.openapi(
    exportRoute("/exports/switches", "Every switch of the fleet, never its credential (operator key)", { query: ExportQuery }, Switch, "switch", false),
    async (c) => {
      operatorOnly(c);
      const db = catalog(c.env);
      const lostAfter = lostAfterMs(c.env);
      const columns = ["id", "name", "address", "jurisdiction", "accounts", "state", "draining", "lastSeenAt", "credentialIssuedAt", "createdAt", "updatedAt"];
      return streamed(
        c.req.valid("query").format,
        "switches",
        columns,
        async (after) => {
          const rows = await db.select().from(switches).where(after === null ? undefined : gt(switches.id, after)).orderBy(asc(switches.id)).limit(EXPORT_PAGE + 1).all();
          const items = rows.slice(0, EXPORT_PAGE);
          return { items, next: rows.length > EXPORT_PAGE ? items.at(-1)!.id : null };
        },
        (row) => {
          const s = switchView(row, lostAfter);
          return { ...s, accounts: s.accounts === null ? null : s.accounts.join(" ") };
        },
      );
    },
  );
}

