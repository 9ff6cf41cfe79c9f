// /accounts/{accountId}/imports: devices (and their numbers) in bulk, from a CSV or JSON file in the
// edge's own columns or those of Kamailio, FusionPBX or Kazoo. The file is checked whole here and
// answered with a job that applies it in the background; GET follows the job (docs/api.md, "Imports").
import { createRoute } from "@hono/zod-openapi";
import type { ImportJob } from "../../durable-objects/account-registrar/device-import";
import { readCsv, readJson } from "../import/read";
import { ignoredColumns, mapRecords } from "../import/rows";
import { runImport } from "../import/run";
import { type Api, type ApiContext, iso, json, problems, registrarFor, security } from "./common";
import { ProblemError, unwrap } from "./problem";
import { AccountParams, ImportJobSchema, ImportParams, ImportQuery } from "./schemas";

const tags = ["Imports and exports"];

/** The largest import file (the rest of the API takes 64 KiB). */
export const MAX_IMPORT_BYTES = 32 * 1024 * 1024;
/** The most data rows one file may hold. */
export const MAX_IMPORT_ROWS = 200_000;

export const isImportUpload = (method: string, path: string) => method === "POST" && /\/accounts\/[^/]+\/imports$/.test(path);

export function jobView(job: ImportJob, extra: { ignoredColumns?: string[] } = {}) {
  return { ...job, ...extra, createdAt: iso(job.createdAt), updatedAt: iso(job.updatedAt) };
}

export function registerImportRoutes(api: Api) {
  api.openapi(
    createRoute({
      method: "post",
      path: "/accounts/{accountId}/imports",
      tags,
      security,
      summary: "Import devices (and numbers) from CSV or JSON; answers a job to follow",
      description:
        "Upsert by username. Every row is checked first (the single-device rules, the HA1 realm rule, repeated usernames and numbers, numbers the key may use). Mode `all` answers 422 naming each refused row and imports nothing; mode `good-rows` imports the rest and reports the refused rows on the job. Up to 32 MiB and 200,000 rows.",
      request: {
        params: AccountParams,
        query: ImportQuery,
        body: {
          required: true,
          content: {
            "text/csv": { schema: { type: "string", description: "A header line, then one device per line (RFC 4180)." } },
            "application/json": { schema: { type: "array", items: { type: "object" }, description: "Rows as objects, or an object with `rows` (or `data`) holding them." } },
          },
        },
      },
      responses: { 202: json(ImportJobSchema, "The job: follow it at the Location header."), ...problems(400, 401, 403, 404, 409, 413, 415, 422) },
    }),
    async (c) => {
      const { accountId } = c.req.valid("param");
      const { format, mode } = c.req.valid("query");
      const stub = await registrarFor(c, accountId);
      const realm = unwrap(await stub.describe()).realm;
      const read = await readBody(c);
      if (!read.ok) throw new ProblemError(400, `the file cannot be read: ${read.message}`, [{ field: "body", message: read.message, ...(read.line !== undefined && { line: read.line }) }]);
      if (read.records.length > MAX_IMPORT_ROWS) {
        throw new ProblemError(413, `a file holds at most ${MAX_IMPORT_ROWS} rows`, [{ field: "body", message: "too many rows" }]);
      }
      const { devices, errors } = await mapRecords(read.records, format, realm);
      const run = await runImport(
        c.env,
        stub,
        { accountId, realm, format, mode, total: read.records.length, operator: c.get("principal").kind === "operator" },
        devices,
        errors,
      );
      if (!run.ok) {
        const first = run.errors.slice(0, 3).map((e) => `${e.line !== undefined ? `line ${e.line}` : `row ${e.row}`}: ${e.field}: ${e.message}`);
        const status = run.errors.some((e) => e.row === 0) ? 409 : 422;
        throw new ProblemError(
          status,
          status === 409 ? run.errors[0]!.message : `${run.errors.length === 1 ? "1 row is" : `${run.errors.length} rows are`} refused, so nothing was imported (mode all): ${first.join("; ")}`,
          run.errors.slice(0, 1_000),
        );
      }
      c.header("location", `/api/v1/accounts/${accountId}/imports/${run.job.id}`);
      return c.json(jobView(run.job, { ignoredColumns: ignoredColumns(format, read.columns) }), 202);
    },
  );

  api.openapi(
    createRoute({
      method: "get",
      path: "/accounts/{accountId}/imports",
      tags,
      security,
      summary: "The account's recent imports, newest first",
      request: { params: AccountParams },
      responses: { 200: json(ImportJobSchema.array(), "The last 20 jobs."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const stub = await registrarFor(c, c.req.valid("param").accountId);
      return c.json((await stub.listImports()).map((job) => jobView(job)), 200);
    },
  );

  api.openapi(
    createRoute({
      method: "get",
      path: "/accounts/{accountId}/imports/{importId}",
      tags,
      security,
      summary: "Follow an import: state, rows done, devices created and updated, refused rows",
      request: { params: ImportParams },
      responses: { 200: json(ImportJobSchema, "The job."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { accountId, importId } = c.req.valid("param");
      const stub = await registrarFor(c, accountId);
      return c.json(jobView(unwrap(await stub.importJob(importId))), 200);
    },
  );
}

async function readBody(c: ApiContext) {
  const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "text/csv" && type !== "application/json") {
    throw new ProblemError(415, "send the file as text/csv or application/json", [{ field: "Content-Type", message: "text/csv or application/json" }]);
  }
  const text = await c.req.text();
  return type === "text/csv" ? await readCsv(text, MAX_IMPORT_ROWS) : readJson(text, MAX_IMPORT_ROWS);
}
