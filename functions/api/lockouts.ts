// /accounts/{accountId}/lockouts: everyone the account refuses now for wrong passwords, in one list:
// the devices locked as a whole and each source address locked out of a device (or of a username
// the account does not have). A device's own lockout, and lifting it, are under its device
// (devices.ts: …/devices/{deviceId}/lockout).
import { createRoute } from "@hono/zod-openapi";
import { type Api, iso, json, problems, registrarFor, security } from "./common";
import { AccountLockouts, AccountParams, LockoutsQuery } from "./schemas";

export function registerLockoutRoutes(api: Api) {
  api.openapi(
    createRoute({
      method: "get",
      path: "/accounts/{accountId}/lockouts",
      tags: ["Devices"],
      security,
      summary: "Who is locked out in the account now: locked devices and locked source addresses",
      request: { params: AccountParams, query: LockoutsQuery },
      responses: { 200: json(AccountLockouts, "The locks in force, the latest-ending first."), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const stub = await registrarFor(c, c.req.valid("param").accountId);
      const lockouts = await stub.lockouts(c.req.valid("query").limit);
      return c.json(
        {
          devices: lockouts.devices.map((d) => ({ deviceId: d.deviceId, username: d.username, lockedUntil: iso(d.lockedUntil) })),
          sources: lockouts.sources.map((s) => ({
            deviceId: s.deviceId,
            username: s.username,
            source: s.source,
            failures: s.failures,
            lockedUntil: iso(s.lockedUntil),
            lastAttemptAt: iso(s.lastAt),
          })),
          truncated: lockouts.truncated,
        },
        200,
      );
    },
  );
}
