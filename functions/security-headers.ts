// Browser protections on every answer the Worker itself gives (API, switch callbacks, not-found):
// nothing may run, load or frame it. The console's static files get the same from public/_headers.
import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

const headers = secureHeaders({
  contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
  xFrameOptions: "DENY",
  xContentTypeOptions: "nosniff",
  referrerPolicy: "no-referrer",
  crossOriginOpenerPolicy: "same-origin",
  // Switches and other servers call the API; a browser page of another origin may not read it.
  crossOriginResourcePolicy: "same-origin",
});

/** The headers on every answer but a WebSocket upgrade (its 101 answer comes from the object and cannot be changed). */
export const securityHeaders = (): MiddlewareHandler => (c, next) =>
  c.req.header("upgrade")?.toLowerCase() === "websocket" ? next() : headers(c, next);
