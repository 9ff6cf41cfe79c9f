// The edge Worker: one Hono app for every HTTP entry point, and the Durable Object classes it binds.
import { Hono } from "hono";
import { createApi } from "./api/app";
import { createFreeswitchApp } from "./freeswitch/app";
import { createKamailioApp } from "./kamailio/app";
import { answerError, problemResponse } from "./problem";
import { registrarForRealm } from "./accounts";
import type { Env } from "./env";
import { recordCallback } from "./metrics/callbacks";
import { requestLog } from "./request-log";
import { securityHeaders } from "./security-headers";

export { AccountRegistrar } from "../durable-objects/account-registrar/AccountRegistrar";
export { FleetMonitor } from "../durable-objects/fleet-monitor/FleetMonitor";

const app = new Hono<{ Bindings: Env }>();

app.use(securityHeaders());
// One JSON log line per API call and switch callback; each callback is also counted for the metrics.
const counted = requestLog((line, c) => recordCallback(c.env as Env, line, Date.now(), (work) => c.executionCtx.waitUntil(work)));
for (const path of ["/api/*", "/freeswitch/*", "/kamailio/*"]) app.use(path, ...counted);

app.get("/healthz", (c) => c.json({ ok: true }));
// The runtime's own ceilings, measured beside the real routes by the benchmarks. Off unless
// BENCH_ROUTES=enabled (never set in production).
app.use("/bench/*", async (c, next) => (c.env.BENCH_ROUTES === "enabled" ? next() : c.notFound()));
app.get("/bench/noop", (c) => c.text("ok"));
app.get("/bench/object", async (c) => c.text(String(await registrarForRealm(c.env, "bench.noop.invalid", null).ping())));

app.route("/api/v1", createApi());
app.route("/freeswitch/v1", createFreeswitchApp());
app.route("/kamailio/v1", createKamailioApp());

app.notFound(() => problemResponse(404, "no such route", [{ field: "path", message: "unknown route" }]));

app.onError(answerError);

export default app satisfies ExportedHandler<Env>;
