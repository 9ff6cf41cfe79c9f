// The provisioning API (/api/v1): authentication, body limits, validation errors as problem
// documents, the resource routes, and the OpenAPI document generated from the same schemas.
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import type { ZodError } from "zod";
import { registerAccountRoutes } from "./accounts";
import { registerApiKeyRoutes } from "./api-keys";
import { requireApiKey } from "./auth";
import type { ApiEnv } from "./common";
import { registerDeviceRoutes } from "./devices";
import { registerEventRoutes } from "./events";
import { registerFleetRoutes } from "./fleet";
import { registerExportRoutes } from "./exports";
import { MAX_IMPORT_BYTES, isImportUpload, registerImportRoutes } from "./imports";
import { registerLockoutRoutes } from "./lockouts";
import { registerMeRoute } from "./me";
import { registerMetricsRoute } from "./metrics";
import { registerWebhookRoutes } from "./webhooks";
import { registerNumberRoutes } from "./numbers";
import { answerError, problemResponse, type FieldError } from "./problem";
import { registerRegistrationRoutes } from "./registrations";
import { registerSwitchRoutes } from "./switches";

export const MAX_BODY_BYTES = 64 * 1024;

function fieldErrors(error: ZodError, fallback: string): FieldError[] {
  return error.issues.flatMap((issue) => {
    const base = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({ field: base ? `${base}.${key}` : key, message: "unknown field" }));
    }
    return [{ field: base || fallback, message: issue.message }];
  });
}

export function createApi() {
  const api = new OpenAPIHono<ApiEnv>({
    defaultHook: (result, _c) => {
      if (result.success) return;
      const errors = fieldErrors(result.error as ZodError, result.target === "json" ? "body" : result.target);
      // A malformed id in the path names something that does not exist.
      if (result.target === "param") return problemResponse(404, `not found: ${errors.map((e) => e.field).join(", ")}`, errors);
      return problemResponse(400, `invalid ${errors.map((e) => e.field).join(", ")}`, errors);
    },
  });

  api.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "The operator key (Worker secret OPERATOR_API_KEY) or an account key (`wek_…`).",
  });

  api.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Whistle Edge provisioning API",
      version: "1",
      description: "Accounts, devices, numbers, switches, registrations and API keys of a Whistle Edge registrar. Errors are RFC 9457 problem documents.",
    },
    servers: [{ url: "/api/v1" }],
  });

  api.onError(answerError);
  const limit = (maxSize: number) =>
    bodyLimit({ maxSize, onError: () => problemResponse(413, `the body is larger than ${maxSize} bytes`, [{ field: "body", message: "too large" }]) });
  const apiLimit = limit(MAX_BODY_BYTES);
  const importLimit = limit(MAX_IMPORT_BYTES);
  // An import file may be large; every other body is small.
  api.use("*", (c, next) => (isImportUpload(c.req.method, c.req.path) ? importLimit(c, next) : apiLimit(c, next)));
  api.use("*", requireApiKey);

  registerMeRoute(api);
  registerAccountRoutes(api);
  registerDeviceRoutes(api);
  registerLockoutRoutes(api);
  registerNumberRoutes(api);
  registerImportRoutes(api);
  registerExportRoutes(api);
  registerRegistrationRoutes(api);
  registerApiKeyRoutes(api);
  registerSwitchRoutes(api);
  registerFleetRoutes(api);
  registerEventRoutes(api);
  registerWebhookRoutes(api);
  registerMetricsRoute(api);
  return api;
}
