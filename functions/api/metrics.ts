// /metrics: the fleet's metrics in the Prometheus text format, for the operator's Prometheus.
import { createRoute, z } from "@hono/zod-openapi";
import { CONTENT_TYPE, render } from "../metrics/exposition";
import { gatherFamilies } from "../metrics/gather";
import { type Api, operatorOnly, problems, security } from "./common";

export function registerMetricsRoute(api: Api) {
  api.openapi(
    createRoute({
      method: "get",
      path: "/metrics",
      tags: ["Switches"],
      security,
      summary: "Metrics in the Prometheus text exposition format 0.0.4 (operator key)",
      responses: {
        200: { description: "Bindings, authentications, lockouts, callbacks, webhook deliveries, outbox depth and switch state.", content: { "text/plain": { schema: z.string() } } },
        ...problems(401, 403),
      },
    }),
    async (c) => {
      operatorOnly(c);
      const body = render(await gatherFamilies(c.env, Date.now()));
      return c.text(body, 200, { "content-type": CONTENT_TYPE, "cache-control": "no-store" });
    },
  );
}
