// /fleet/events: the switch fleet's changes (lost, back, draining, drained), for the operator.
import { createRoute, z } from "@hono/zod-openapi";
import { FLEET_EVENT_TYPES } from "../../durable-objects/fleet-monitor/FleetMonitor";
import type { Env } from "../env";
import { type Api, iso, json, operatorOnly, problems, security } from "./common";

/** The one FleetMonitor object. */
export function fleetMonitor(env: Env) {
  return env.FLEET.get(env.FLEET.idFromName("fleet"));
}

const FleetEvent = z
  .object({
    seq: z.number().int(),
    type: z.enum(FLEET_EVENT_TYPES),
    at: z.string(),
    switchId: z.string(),
    name: z.string(),
  })
  .openapi("FleetEvent");

const FleetEventsQuery = z.object({
  since: z.coerce.number().int().min(0).default(0).openapi({ param: { name: "since", in: "query" } }),
  limit: z.coerce.number().int().min(1).max(500).default(100).openapi({ param: { name: "limit", in: "query" } }),
});

export function registerFleetRoutes(api: Api) {
  api.openapi(
    createRoute({
      method: "get",
      path: "/fleet/events",
      tags: ["Switches"],
      security,
      summary: "The fleet's events after a sequence number: switch.lost, switch.back, switch.draining, switch.drained (operator key)",
      request: { query: FleetEventsQuery },
      responses: {
        200: json(z.object({ items: z.array(FleetEvent), next: z.number().int() }).openapi("FleetEventPage"), "Events, oldest first."),
        ...problems(400, 401, 403),
      },
    }),
    async (c) => {
      operatorOnly(c);
      const { since, limit } = c.req.valid("query");
      const items = (await fleetMonitor(c.env).eventsSince(since, limit)).map((e) => ({ ...e, at: iso(e.at) }));
      return c.json({ items, next: items.at(-1)?.seq ?? since }, 200);
    },
  );
}
