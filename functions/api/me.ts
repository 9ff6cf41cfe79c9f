// /me: who the presented key is, so a client (the console) knows what it may show.
import { createRoute, z } from "@hono/zod-openapi";
import { type Api, json, problems, security } from "./common";

const Me = z
  .object({
    kind: z.enum(["operator", "account"]),
    accountId: z.string().nullable().openapi({ description: "The key's account; null for the operator key." }),
  })
  .openapi("Me");

export function registerMeRoute(api: Api) {
  api.openapi(
    createRoute({
      method: "get",
      path: "/me",
      tags: ["API keys"],
      security,
      summary: "Who this API key is: the operator, or an account",
      responses: { 200: json(Me, "The key's principal."), ...problems(401) },
    }),
    (c) => {
      const principal = c.get("principal");
      return c.json(principal.kind === "operator" ? { kind: "operator" as const, accountId: null } : { kind: "account" as const, accountId: principal.accountId }, 200);
    },
  );
}
