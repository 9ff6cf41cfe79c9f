// What the edge tells a proxy to answer: a SIP status, its reason, the headers to add, and for a
// call the targets to fork to. One JSON shape for every answer, so the proxy script stays simple.
import { sipReplyFor, type RegistrarError } from "../../registrar/errors";

export interface Target {
  /** Request URI of the branch. */
  uri: string;
  /** Next hop ($du): the device's source address, or the switch holding its binding; "" for none. */
  destination: string;
}

export interface Decision {
  status: number;
  reason: string;
  /** Header lines to add to the reply, each ending in CRLF; "" for none. */
  headers: string;
  targets?: Target[];
}

const lines = (headers: string[]) => headers.map((h) => `${h}\r\n`).join("");

export const decide = (status: number, reason: string, headers: string[] = []): Decision => ({ status, reason, headers: lines(headers) });

/** A 401/407 with one WWW-Authenticate / Proxy-Authenticate header per value, in order. */
export const challenge = (status: 401 | 407, values: string[]): Decision =>
  decide(
    status,
    status === 401 ? "Unauthorized" : "Proxy Authentication Required",
    values.map((value) => `${status === 401 ? "WWW-Authenticate" : "Proxy-Authenticate"}: ${value}`),
  );

export function registrarRefusal(error: RegistrarError): Decision {
  const reply = sipReplyFor(error);
  return decide(reply.status, reply.reason, Object.entries(reply.headers).map(([name, value]) => `${name}: ${value}`));
}

export const route = (targets: Target[]): Decision => ({ status: 200, reason: "OK", headers: "", targets });
