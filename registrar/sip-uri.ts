// SIP and SIPS URIs by the RFC 3261 grammar (§19.1, §25.1): read into parts, checked character by
// character, and written back from the parts. Nothing outside the grammar's character classes gets
// through, so a URI written back can carry no space, quote, angle bracket, CR, LF or NUL.
import { hostOf, ipAddressOf, transportAddressOf, type Host } from "./host";

/** A `uri-parameter` (`;transport=udp`, `;lr`): its value is null when it has none. */
export interface UriParam {
  name: string;
  value: string | null;
}

export interface SipUri {
  scheme: "sip" | "sips";
  /** The user part as written (escapes kept), or null when the URI names a host only. */
  user: string | null;
  password: string | null;
  host: Host;
  /** 1-65535, or null when the URI names none. */
  port: number | null;
  params: UriParam[];
  /** `?name=value&…` URI headers, as written. */
  headers: [string, string][];
}

const UNRESERVED = "A-Za-z0-9\\-_.!~*'()";
const ESCAPED = "%[0-9A-Fa-f]{2}";
const USER = new RegExp(`^(?:[${UNRESERVED}&=+$,;?/]|${ESCAPED})+$`);
const PASSWORD = new RegExp(`^(?:[${UNRESERVED}&=+$,]|${ESCAPED})*$`);
const PARAM_TEXT = new RegExp(`^(?:[${UNRESERVED}\\[\\]/:&+$]|${ESCAPED})+$`);
const HEADER_NAME = new RegExp(`^(?:[${UNRESERVED}\\[\\]/?:+$]|${ESCAPED})+$`);
const HEADER_VALUE = new RegExp(`^(?:[${UNRESERVED}\\[\\]/?:+$]|${ESCAPED})*$`);
const PORT = /^[0-9]{1,5}$/;

/**
 * Reads a whole SIP/SIPS URI; null when any part is outside the grammar (including a port outside
 * 1-65535). The host comes back canonical: lowercase name, dotted-decimal IPv4, RFC 5952 IPv6.
 */
export function parseSipUri(text: string): SipUri | null {
  const colon = text.indexOf(":");
  if (colon === -1) return null;
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme !== "sip" && scheme !== "sips") return null;
  let rest = text.slice(colon + 1);

  // No '@' is allowed anywhere else in a SIP URI: the first one ends the userinfo.
  let user: string | null = null;
  let password: string | null = null;
  const at = rest.indexOf("@");
  if (at !== -1) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const separator = userinfo.indexOf(":");
    user = separator === -1 ? userinfo : userinfo.slice(0, separator);
    password = separator === -1 ? null : userinfo.slice(separator + 1);
    if (!USER.test(user) || (password !== null && !PASSWORD.test(password))) return null;
  }

  let headers: [string, string][] = [];
  const question = rest.indexOf("?");
  if (question !== -1) {
    const read = readHeaders(rest.slice(question + 1));
    if (!read) return null;
    headers = read;
    rest = rest.slice(0, question);
  }

  const semicolon = rest.indexOf(";");
  const hostport = semicolon === -1 ? rest : rest.slice(0, semicolon);
  const params = semicolon === -1 ? [] : readParams(rest.slice(semicolon + 1));
  if (!params) return null;

  // The port follows the last ':' outside an IPv6 reference.
  const portColon = hostport.lastIndexOf(":");
  const hasPort = portColon !== -1 && portColon > hostport.lastIndexOf("]");
  const host = hostOf(hasPort ? hostport.slice(0, portColon) : hostport);
  if (!host) return null;
  let port: number | null = null;
  if (hasPort) {
    const digits = hostport.slice(portColon + 1);
    if (!PORT.test(digits)) return null;
    port = Number(digits);
    if (port < 1 || port > 65_535) return null;
  }
  return { scheme, user, password, host, port, params, headers };
}

function readParams(text: string): UriParam[] | null {
  const params: UriParam[] = [];
  for (const part of text.split(";")) {
    const eq = part.indexOf("=");
    const name = eq === -1 ? part : part.slice(0, eq);
    const value = eq === -1 ? null : part.slice(eq + 1);
    if (!PARAM_TEXT.test(name) || (value !== null && !PARAM_TEXT.test(value))) return null;
    params.push({ name, value });
  }
  return params;
}

function readHeaders(text: string): [string, string][] | null {
  const headers: [string, string][] = [];
  for (const part of text.split("&")) {
    const eq = part.indexOf("=");
    if (eq === -1) return null;
    const name = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) return null;
    headers.push([name, value]);
  }
  return headers;
}

/** The URI written from its parts. */
export function formatSipUri(uri: SipUri): string {
  let text = `${uri.scheme}:`;
  if (uri.user !== null) text += `${uri.user}${uri.password === null ? "" : `:${uri.password}`}@`;
  text += uri.host.text;
  if (uri.port !== null) text += `:${uri.port}`;
  for (const param of uri.params) text += param.value === null ? `;${param.name}` : `;${param.name}=${param.value}`;
  if (uri.headers.length > 0) text += `?${uri.headers.map(([name, value]) => `${name}=${value}`).join("&")}`;
  return text;
}

/** A URI read and written back in canonical form; null when it is not a SIP URI. */
export function canonicalSipUri(text: string): string | null {
  const uri = parseSipUri(text);
  return uri === null ? null : formatSipUri(uri);
}

/** The port a URI reaches: its own, else the scheme's default (RFC 3261 §19.1.2: 5060 for sip, 5061 for sips). */
export function portOrDefault(uri: Pick<SipUri, "scheme" | "port">): number {
  return uri.port ?? (uri.scheme === "sips" ? 5061 : 5060);
}

/**
 * Does a proxy's transport source (Kamailio `$si:$sp`, IPv6 unbracketed; or an address alone) name
 * the host and port of a switch's SIP URI (the scheme's default port when the URI has none)? Both
 * are read and compared in canonical form. A source without a port matches when the switch
 * listens on its scheme's default port.
 */
export function sameHostPort(address: string, source: string): boolean {
  const peer = parseSipUri(address.trim());
  const from = transportAddressOf(source) ?? ipAddressOf(source);
  if (peer === null || from === null) return false;
  const port = portOrDefault(peer);
  return from === `${peer.host.text}:${port}` || (port === portOrDefault({ scheme: peer.scheme, port: null }) && from === peer.host.text);
}

