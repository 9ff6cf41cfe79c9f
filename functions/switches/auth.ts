// Every switch callback carries its switch's credential: HTTP Basic `SWITCH_ID:CREDENTIAL`
// (mod_xml_curl's gateway-credentials, Kamailio), or `X-Edge-Token: CREDENTIAL` (the FreeSWITCH
// event hook, which can only add a header). Without a valid one, nothing else runs.
import type { Context, MiddlewareHandler } from "hono";
import type { Env } from "../env";
import { verifySwitchCredential, type SwitchIdentity } from "./credentials";
import { markAlive } from "./liveness";

export type SwitchVariables = { switch: SwitchIdentity };

function presented(c: Context): { credential: string; claimedId: string | null } | null {
  const token = c.req.header("x-edge-token");
  if (token) return { credential: token.trim(), claimedId: null };
  const authorization = c.req.header("authorization") ?? "";
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (bearer) return { credential: bearer[1]!, claimedId: null };
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization);
  if (!basic) return null;
  let decoded: string;
  try {
    decoded = atob(basic[1]!);
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  if (colon === -1) return null;
  return { claimedId: decoded.slice(0, colon), credential: decoded.slice(colon + 1) };
}

/**
 * Authenticate the calling switch; `refuse` renders the answer the switch understands
 * (an XML "not found" for FreeSWITCH, a JSON problem for the event hook and Kamailio).
 */
export function requireSwitch<V extends SwitchVariables>(
  refuse: (c: Context<{ Bindings: Env; Variables: V }>) => Response,
): MiddlewareHandler<{ Bindings: Env; Variables: V }> {
  return async (c, next) => {
    const offered = presented(c);
    const identity = offered ? await verifySwitchCredential(c.env, offered.credential, Date.now()) : null;
    if (!identity || (offered?.claimedId !== null && offered?.claimedId !== identity.id)) {
      const response = refuse(c);
      response.headers.set("www-authenticate", 'Basic realm="whistle-edge switches"');
      return response;
    }
    c.set("switch", identity);
    await markAlive(c.env, identity.id, Date.now(), (work) => c.executionCtx.waitUntil(work));
    await next();
  };
}
