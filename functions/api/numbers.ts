// /accounts/{accountId}/numbers: DIDs, unique across every account (catalog), routed by the account's object.
// The operator keeps each account's inventory (adds and releases numbers); an account points its own
// numbers at its own devices. A number comes from a carrier contract, so no account key may take one.
import { createRoute } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { numbers } from "../../catalog/schema";
import { catalog } from "../catalog";
import { type Api, json, jsonBody, numberView, operatorOnly, problems, registrarFor, security } from "./common";
import { ProblemError, unwrap } from "./problem";
import { AccountParams, Deleted, NumberCreate, NumberParams, NumberUpdate, Pagination, PhoneNumber, pageOf } from "./schemas";

const tags = ["Numbers"];

export function registerNumberRoutes(api: Api) {
  api.openapi(
    createRoute({
      method: "post",
      path: "/accounts/{accountId}/numbers",
      tags,
      security,
      summary: "Add a number (DID) to the account's inventory, optionally ringing one device (operator only)",
      request: { params: AccountParams, body: jsonBody(NumberCreate) },
      responses: { 201: json(PhoneNumber, "The number."), ...problems(400, 401, 403, 404, 409, 413, 415, 422) },
    }),
    async (c) => {
      const { accountId } = c.req.valid("param");
      const stub = await registrarFor(c, accountId);
      operatorOnly(c);
      const { number, deviceId } = c.req.valid("json");
      const claimed = await catalog(c.env)
        .insert(numbers)
        .values({ number, accountId, createdAt: Date.now() })
        .onConflictDoNothing()
        .returning({ number: numbers.number })
        .all();
      if (claimed.length === 0) {
        throw new ProblemError(409, `number ${number} is already assigned`, [{ field: "number", message: "already assigned" }]);
      }
      try {
        const outcome = await stub.assignNumber(number, deviceId ?? null);
        return c.json(numberView(unwrap(outcome)), 201);
      } catch (error) {
        // The object refused or failed: give the number back so that nothing half-done remains.
        await releaseClaim(c.env, number, accountId);
        throw error;
      }
    },
  );

  api.openapi(
    createRoute({
      method: "get",
      path: "/accounts/{accountId}/numbers",
      tags,
      security,
      summary: "List the account's numbers",
      request: { params: AccountParams, query: Pagination },
      responses: { 200: json(pageOf(PhoneNumber, "NumberPage"), "A page of numbers."), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const stub = await registrarFor(c, c.req.valid("param").accountId);
      const { limit, after } = c.req.valid("query");
      const result = await stub.listNumbers(limit, after ?? null);
      return c.json({ items: result.items.map(numberView), next: result.next }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: "get",
      path: "/accounts/{accountId}/numbers/{number}",
      tags,
      security,
      summary: "Read a number",
      request: { params: NumberParams },
      responses: { 200: json(PhoneNumber, "The number."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { accountId, number } = c.req.valid("param");
      const stub = await registrarFor(c, accountId);
      const outcome = await stub.getNumber(number);
      return c.json(numberView(unwrap(outcome)), 200);
    },
  );

  api.openapi(
    createRoute({
      method: "patch",
      path: "/accounts/{accountId}/numbers/{number}",
      tags,
      security,
      summary: "Point one of the account's numbers at one of its devices, or at the account (null)",
      request: { params: NumberParams, body: jsonBody(NumberUpdate) },
      responses: { 200: json(PhoneNumber, "The number."), ...problems(400, 401, 403, 404, 413, 415, 422) },
    }),
    async (c) => {
      const { accountId, number } = c.req.valid("param");
      const stub = await registrarFor(c, accountId);
      const current = await stub.getNumber(number);
      unwrap(current);
      const outcome = await stub.assignNumber(number, c.req.valid("json").deviceId);
      return c.json(numberView(unwrap(outcome)), 200);
    },
  );

  api.openapi(
    createRoute({
      method: "delete",
      path: "/accounts/{accountId}/numbers/{number}",
      tags,
      security,
      summary: "Release a number from the account's inventory (operator only)",
      request: { params: NumberParams },
      responses: { 200: json(Deleted, "The number is released."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { accountId, number } = c.req.valid("param");
      const stub = await registrarFor(c, accountId);
      operatorOnly(c);
      const released = unwrap(await stub.releaseNumber(number));
      await releaseClaim(c.env, number, accountId);
      return c.json(released, 200);
    },
  );
}

function releaseClaim(env: Parameters<typeof catalog>[0], number: string, accountId: string) {
  return catalog(env).delete(numbers).where(and(eq(numbers.number, number), eq(numbers.accountId, accountId))).run();
}
