// /accounts/{accountId}/events: the account's event outbox. A plain GET pages through it from a
// sequence number; a WebSocket upgrade on the same URL streams it (backlog after `since`, then live).
import { createRoute, z } from "@hono/zod-openapi";
import { eventView } from "../../durable-objects/account-registrar/events";
import { type Api, json, problems, registrarFor, security } from "./common";
import { AccountParams, EventsQuery, RegistrarEventSchema } from "./schemas";

const tags = ["Events"];

const EventPage = z
  .object({
    items: z.array(RegistrarEventSchema),
    next: z.number().int().openapi({ description: "Pass as `since` to continue; equals `since` when nothing new." }),
  })
  .openapi("EventPage");

export function registerEventRoutes(api: Api) {
  // The WebSocket upgrade: handed to the account's object, which holds the listeners.
  api.use("/accounts/:accountId/events", async (c, next) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return next();
    const stub = await registrarFor(c, c.req.param("accountId"));
    return stub.fetch(c.req.raw);
  });

  api.openapi(
    createRoute({
      method: "get",
      path: "/accounts/{accountId}/events",
      tags,
      security,
      summary: "Events after a sequence number; with `Upgrade: websocket`, a live stream that starts with them",
      description:
        "Event types: binding.created, binding.refreshed (streamed only with refreshed=true), binding.removed, binding.expired, auth.failed, device.locked, device.unlocked. A browser sends its key as the WebSocket subprotocol `bearer.<key>` next to `whistle-edge.events.v1`.",
      request: { params: AccountParams, query: EventsQuery },
      responses: { 200: json(EventPage, "Events, oldest first."), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const stub = await registrarFor(c, c.req.valid("param").accountId);
      const { since, limit } = c.req.valid("query");
      const items = (await stub.eventsSince(since, limit)).map(eventView);
      return c.json({ items, next: items.at(-1)?.seq ?? since }, 200);
    },
  );
}
