// /accounts/{accountId}/registrations: live bindings, and forcing a device to register again.
import { createRoute } from "@hono/zod-openapi";
import { type Api, json, problems, registrarFor, registrationView, security } from "./common";
import { ProblemError, unwrap } from "./problem";
import { AccountParams, Deleted, Registration, RegistrationParams, RegistrationQuery, pageOf } from "./schemas";

const tags = ["Registrations"];

export function registerRegistrationRoutes(api: Api) {
  api.openapi(
    createRoute({
      method: "get",
      path: "/accounts/{accountId}/registrations",
      tags,
      security,
      summary: "List live registrations (expired ones are never listed)",
      request: { params: AccountParams, query: RegistrationQuery },
      responses: { 200: json(pageOf(Registration, "RegistrationPage"), "A page of live registrations."), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const stub = await registrarFor(c, c.req.valid("param").accountId);
      const { limit, after, deviceId } = c.req.valid("query");
      const afterId = after === undefined ? null : Number(after);
      if (afterId !== null && !Number.isSafeInteger(afterId)) {
        throw new ProblemError(400, "`after` must be the `next` value of a previous page", [{ field: "after", message: "not a cursor" }]);
      }
      const result = await stub.listBindings(deviceId === undefined ? {} : { deviceId }, limit, afterId);
      const now = Date.now();
      return c.json({ items: result.items.map((b) => registrationView(b, now)), next: result.next }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: "delete",
      path: "/accounts/{accountId}/registrations/{registrationId}",
      tags,
      security,
      summary: "Remove one registration; the device must register again to be reached there",
      request: { params: RegistrationParams },
      responses: { 200: json(Deleted, "The registration is removed."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { accountId, registrationId } = c.req.valid("param");
      const stub = await registrarFor(c, accountId);
      const outcome = await stub.removeBinding(registrationId);
      return c.json(unwrap(outcome), 200);
    },
  );
}
