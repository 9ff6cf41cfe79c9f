// Kamailio's (or OpenSIPS's) entry points: `authorize` for each REGISTER, `locate` for each call.
// JSON in, one JSON decision out; each switch authenticated by its own credential.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import { answerError, problemResponse, ProblemError } from "../problem";
import type { Env } from "../env";
import { noteOutcome } from "../request-log";
import { requireSwitch, type SwitchVariables } from "../switches/auth";
import { authorize, AuthorizeRequest } from "./authorize";
import { locate, LocateRequest } from "./locate";

type KamailioEnv = { Bindings: Env; Variables: SwitchVariables };

export const MAX_BODY_BYTES = 64 * 1024;

async function body<T extends z.ZodType>(request: Request, schema: T): Promise<z.infer<T>> {
  let value: unknown;
  try {
    value = JSON.parse(await request.text());
  } catch {
    throw new ProblemError(400, "the body is not JSON", [{ field: "body", message: "not JSON" }]);
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors = parsed.error.issues.map((issue) => ({ field: issue.path.map(String).join(".") || "body", message: issue.message }));
  throw new ProblemError(400, `invalid ${errors.map((e) => e.field).join(", ")}`, errors);
}

/** The decision's SIP status is the callback's outcome in the request log. */
function decided<T extends { status: number }>(decision: T): T {
  noteOutcome(String(decision.status));
  return decision;
}

export function createKamailioApp() {
  const app = new Hono<KamailioEnv>();
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => problemResponse(413, `the body is larger than ${MAX_BODY_BYTES} bytes`, [{ field: "body", message: "too large" }]),
    }),
  );
  app.use(
    requireSwitch<SwitchVariables>(() =>
      problemResponse(401, "a switch credential is required", [{ field: "Authorization", message: "missing or invalid switch credential" }]),
    ),
  );
  // An idle proxy's timer says it is alive (the switch middleware records it); nothing else happens.
  app.post("/keepalive", (c) => c.json({ status: "alive" }));
  app.post("/authorize", async (c) => c.json(decided(await authorize(c.env, await body(c.req.raw, AuthorizeRequest), c.get("switch")))));
  app.post("/locate", async (c) => c.json(decided(await locate(c.env, await body(c.req.raw, LocateRequest), c.get("switch")))));
  app.onError(answerError);
  return app;
}
