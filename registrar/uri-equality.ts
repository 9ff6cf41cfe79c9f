// Equality of SIP and SIPS URIs as RFC 3261 §19.1.4 defines it, over the grammar's reading of a URI
// (sip-uri.ts). The digest check uses it: the `uri` a device signed must name the Request-URI of
// the request it came with, or a digest captured for one request could authorise another.
import { parseSipUri } from "./sip-uri";

/** A URI's parts as §19.1.4 compares them: escapes undone, case folded where case is ignored. */
interface Comparable {
  scheme: string;
  user: string | null;
  password: string | null;
  host: string;
  port: number | null;
  params: Map<string, string | null>;
  headers: Map<string, string>;
}

function unescape(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

function comparable(text: string): Comparable | null {
  const uri = parseSipUri(text);
  if (!uri) return null;
  const user = uri.user === null ? null : unescape(uri.user);
  const password = uri.password === null ? null : unescape(uri.password);
  if ((uri.user !== null && user === null) || (uri.password !== null && password === null)) return null;
  const params = new Map<string, string | null>();
  for (const param of uri.params) {
    const name = unescape(param.name);
    const value = param.value === null ? null : unescape(param.value);
    if (name === null || (param.value !== null && value === null)) return null;
    params.set(name.toLowerCase(), value === null ? null : value.toLowerCase());
  }
  const headers = new Map<string, string>();
  for (const [rawName, rawValue] of uri.headers) {
    const name = unescape(rawName);
    const value = unescape(rawValue);
    if (name === null || value === null) return null;
    headers.set(name.toLowerCase(), value);
  }
  return { scheme: uri.scheme, user, password, host: uri.host.text, port: uri.port, params, headers };
}

/** Parameters that must match even when only one URI carries them (§19.1.4). */
const ALWAYS_COMPARED = ["user", "ttl", "method", "maddr"];

/** Are two SIP URIs equal by RFC 3261 §19.1.4? Either one unreadable: no. */
export function sameSipUri(a: string, b: string): boolean {
  const x = comparable(a);
  const y = comparable(b);
  if (!x || !y) return false;
  if (x.scheme !== y.scheme || x.user !== y.user || x.password !== y.password || x.host !== y.host || x.port !== y.port) {
    return false;
  }
  for (const [name, value] of x.params) {
    if (y.params.has(name) ? y.params.get(name) !== value : ALWAYS_COMPARED.includes(name)) return false;
  }
  for (const name of y.params.keys()) {
    if (!x.params.has(name) && ALWAYS_COMPARED.includes(name)) return false;
  }
  if (x.headers.size !== y.headers.size) return false;
  for (const [name, value] of x.headers) if (y.headers.get(name) !== value) return false;
  return true;
}

/**
 * Does a URI name this user, host and port (what FreeSWITCH reports of a Request-URI:
 * `sip_request_user`, `sip_request_host`, `sip_request_port`)? A missing port matches only a URI
 * without one (§19.1.4: an explicit port is never equal to the default).
 */
export function uriNames(uri: string, parts: { user: string | null; host: string; port: number | null }): boolean {
  const parsed = comparable(uri);
  const host = parseSipUri(`sip:${parts.host}`)?.host.text;
  return parsed !== null && host !== undefined && parsed.user === parts.user && parsed.host === host && parsed.port === parts.port;
}
