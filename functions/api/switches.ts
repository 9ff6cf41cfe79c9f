// /switches: the operator's switch fleet. Each switch gets a signed credential, shown once.
import { createRoute } from "@hono/zod-openapi";
import { asc, eq, gt } from "drizzle-orm";
import { switches } from "../../catalog/schema";
import { catalog } from "../catalog";
import { randomId } from "../../registrar/bytes";
import { accounts } from "../../catalog/schema";
import { switchState } from "../../registrar/fleet";
import { registrarForId } from "../accounts";
import { issueSwitchCredential } from "../switches/credentials";
import { lostAfterMs } from "../switches/fleet";
import { forgetSwitchSnapshot, type SwitchRow } from "../switches/snapshot";
import { fleetMonitor } from "./fleet";
import { type Api, type ApiContext, existingAccounts, iso, json, jsonBody, operatorOnly, problems, security } from "./common";
import { ProblemError } from "./problem";
import { Deleted, Pagination, Switch, SwitchCreate, SwitchParams, SwitchUpdate, SwitchWithCredential, pageOf } from "./schemas";

const tags = ["Switches"];

export const switchView = (row: SwitchRow, lostAfter: number) => ({
  id: row.id,
  name: row.name,
  address: row.address,
  jurisdiction: row.jurisdiction === "eu" ? ("eu" as const) : null,
  accounts: row.accounts ?? null,
  credentialIssuedAt: iso(row.credentialNotBefore),
  state: switchState(row, Date.now(), lostAfter),
  draining: row.draining,
  lastSeenAt: row.lastSeenAt === null ? null : iso(row.lastSeenAt),
  createdAt: iso(row.createdAt),
  updatedAt: iso(row.updatedAt),
});

/** Live bindings a switch holds, added up over every account's object (an operator's read, not a hot path). */
async function bindingsHeld(c: ApiContext, switchId: string): Promise<number> {
  let total = 0;
  let after: string | undefined;
  for (;;) {
    const page = await catalog(c.env)
      .select({ id: accounts.id })
      .from(accounts)
      .where(after === undefined ? undefined : gt(accounts.id, after))
      .orderBy(asc(accounts.id))
      .limit(100)
      .all();
    const counts = await Promise.all(page.map((a) => registrarForId(c.env, a.id)?.countBindingsHeldBy(switchId) ?? 0));
    total += counts.reduce((sum, n) => sum + n, 0);
    if (page.length < 100) return total;
    after = page.at(-1)!.id;
  }
}

/** After a change: this isolate re-reads the switch list, and the fleet monitor looks at once. */
function switchChanged(c: ApiContext): void {
  forgetSwitchSnapshot();
  c.executionCtx.waitUntil(fleetMonitor(c.env).poke().catch((error: unknown) => console.error("fleet monitor", error)));
}

/** Change a switch's catalog row; answers the new row, or 404 for an unknown switch. */
async function updateSwitch(c: ApiContext, switchId: string, changes: Partial<typeof switches.$inferInsert>): Promise<SwitchRow> {
  const row = await catalog(c.env).update(switches).set(changes).where(eq(switches.id, switchId)).returning().get();
  if (!row) throw unknownSwitch(switchId);
  switchChanged(c);
  return row;
}

const nameTaken = (name: string) =>
  new ProblemError(409, `a switch named ${name} already exists`, [{ field: "name", message: "already in use" }]);

const unknownSwitch = (id: string) =>
  new ProblemError(404, `no switch ${id}`, [{ field: "switchId", message: "unknown switch" }]);

async function switchByName(c: ApiContext, name: string) {
  return catalog(c.env).select({ id: switches.id }).from(switches).where(eq(switches.name, name)).get();
}

export function registerSwitchRoutes(api: Api) {
  api.openapi(
    createRoute({
      method: "post",
      path: "/switches",
      tags,
      security,
      summary: "Add a switch to the fleet (operator key); answers its credential once",
      request: { body: jsonBody(SwitchCreate) },
      responses: { 201: json(SwitchWithCredential, "The switch and its credential."), ...problems(400, 401, 403, 409, 413, 415, 422) },
    }),
    async (c) => {
      operatorOnly(c);
      const input = c.req.valid("json");
      const scope = input.accounts ? await existingAccounts(c, input.accounts, "accounts") : null;
      const now = Date.now();
      const id = randomId("sw");
      const credential = await issueSwitchCredential(c.env, id, now);
      const rows = await catalog(c.env)
        .insert(switches)
        .values({ id, name: input.name, address: input.address, jurisdiction: input.jurisdiction ?? null, accounts: scope, credentialNotBefore: now, createdAt: now, updatedAt: now })
        .onConflictDoNothing()
        .returning()
        .all();
      if (rows.length === 0) throw nameTaken(input.name);
      switchChanged(c);
      return c.json({ switch: switchView(rows[0]!, lostAfterMs(c.env)), credential }, 201);
    },
  );

  api.openapi(
    createRoute({
      method: "get",
      path: "/switches",
      tags,
      security,
      summary: "List switches (operator key)",
      request: { query: Pagination },
      responses: { 200: json(pageOf(Switch, "SwitchPage"), "A page of switches."), ...problems(400, 401, 403) },
    }),
    async (c) => {
      operatorOnly(c);
      const { limit, after } = c.req.valid("query");
      const rows = await catalog(c.env)
        .select()
        .from(switches)
        .where(after === undefined ? undefined : gt(switches.id, after))
        .orderBy(asc(switches.id))
        .limit(limit + 1)
        .all();
      const items = rows.slice(0, limit).map((row) => switchView(row, lostAfterMs(c.env)));
      return c.json({ items, next: rows.length > limit ? items.at(-1)!.id : null }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: "get",
      path: "/switches/{switchId}",
      tags,
      security,
      summary: "Read a switch (operator key)",
      request: { params: SwitchParams },
      responses: { 200: json(Switch, "The switch."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      operatorOnly(c);
      const { switchId } = c.req.valid("param");
      const row = await catalog(c.env).select().from(switches).where(eq(switches.id, switchId)).get();
      if (!row) throw unknownSwitch(switchId);
      return c.json({ ...switchView(row, lostAfterMs(c.env)), bindingsHeld: await bindingsHeld(c, switchId) }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: "patch",
      path: "/switches/{switchId}",
      tags,
      security,
      summary: "Rename a switch, change its peer address or the accounts it may act for (operator key)",
      request: { params: SwitchParams, body: jsonBody(SwitchUpdate) },
      responses: { 200: json(Switch, "The switch."), ...problems(400, 401, 403, 404, 409, 413, 415, 422) },
    }),
    async (c) => {
      operatorOnly(c);
      const { switchId } = c.req.valid("param");
      const changes = c.req.valid("json");
      if (changes.name !== undefined) {
        const holder = await switchByName(c, changes.name);
        if (holder && holder.id !== switchId) throw nameTaken(changes.name);
      }
      const { accounts: scope, ...rest } = changes;
      const row = await updateSwitch(c, switchId, {
        ...rest,
        ...(scope !== undefined && { accounts: scope === null ? null : await existingAccounts(c, scope, "accounts") }),
        updatedAt: Date.now(),
      });
      return c.json(switchView(row, lostAfterMs(c.env)), 200);
    },
  );

  api.openapi(
    createRoute({
      method: "post",
      path: "/switches/{switchId}/credential",
      tags,
      security,
      summary: "Issue a new credential; the previous one stops working within the switch cache interval (operator key)",
      request: { params: SwitchParams },
      responses: { 201: json(SwitchWithCredential, "The switch and its new credential."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      operatorOnly(c);
      const { switchId } = c.req.valid("param");
      const now = Date.now();
      const row = await updateSwitch(c, switchId, { credentialNotBefore: now, updatedAt: now });
      return c.json({ switch: switchView(row, lostAfterMs(c.env)), credential: await issueSwitchCredential(c.env, switchId, now) }, 201);
    },
  );

  api.openapi(
    createRoute({
      method: "delete",
      path: "/switches/{switchId}",
      tags,
      security,
      summary: "Remove a switch; its credential stops working within the switch cache interval (operator key)",
      request: { params: SwitchParams },
      responses: { 200: json(Deleted, "The switch is removed."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      operatorOnly(c);
      const { switchId } = c.req.valid("param");
      const removed = await catalog(c.env).delete(switches).where(eq(switches.id, switchId)).returning({ id: switches.id }).all();
      if (removed.length === 0) throw unknownSwitch(switchId);
      switchChanged(c);
      return c.json({ deleted: switchId }, 200);
    },
  );

  for (const [method, draining] of [["post", true], ["delete", false]] as const) {
    api.openapi(
      createRoute({
        method,
        path: "/switches/{switchId}/drain",
        tags,
        security,
        summary: draining
          ? "Start draining a switch: its devices get a short forced expiry on their next registration, calls avoid it where they can (operator key)"
          : "Stop draining a switch (operator key)",
        request: { params: SwitchParams },
        responses: { 200: json(Switch, "The switch."), ...problems(401, 403, 404) },
      }),
      async (c) => {
        operatorOnly(c);
        const { switchId } = c.req.valid("param");
        const row = await updateSwitch(c, switchId, { draining, updatedAt: Date.now() });
        return c.json(switchView(row, lostAfterMs(c.env)), 200);
      },
    );
  }
}
