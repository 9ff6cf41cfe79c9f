// /metrics: the fleet's metrics in the Prometheus text format, for the operator's Prometheus; and
// /accounts/{accountId}/metrics: one account's counters as JSON, for the console and account keys.
import { createRoute, z } from "@hono/zod-openapi";
import { summarise } from "../metrics/account-summary";
import { CONTENT_TYPE, render } from "../metrics/exposition";
import { gatherFamilies } from "../metrics/gather";
import { type Api, json, operatorOnly, problems, registrarFor, security } from "./common";
import { ProblemError } from "./problem";
import { AccountMetricsSummary, AccountParams } from "./schemas";

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
  api.openapi(
    createRoute({
      method: "get",
      path: "/accounts/{accountId}/metrics",
      tags: ["Accounts"],
      security,
      summary: "The account's counters as JSON: live registrations, authentications by method and outcome, lockouts, webhook deliveries",
      request: { params: AccountParams },
      responses: {
        200: json(AccountMetricsSummary, "The same numbers as the account's series in GET /metrics, summed over switches."),
        ...problems(401, 403, 404),
      },
    }),
    async (c) => {
      const { accountId } = c.req.valid("param");
      const stub = await registrarFor(c, accountId);
      const metrics = await stub.metrics();
      if (!metrics) throw new ProblemError(404, `no account ${accountId}`, [{ field: "accountId", message: "unknown account" }]);
      return c.json(summarise(metrics, Date.now()), 200, { "cache-control": "no-store" });
    },
  );
}
