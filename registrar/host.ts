// Hosts and transport addresses as SIP writes them (RFC 3261 §25.1 `host`, `hostport`): a host
// name, a dotted-decimal IPv4 address or a bracketed IPv6 reference, read strictly and written
// back canonical (lowercase name, decimal IPv4 without leading zeros, RFC 5952 IPv6).
import ipaddr from "ipaddr.js";

export type Host =
  | { kind: "name"; text: string }
  | { kind: "ipv4"; text: string }
  /** `text` is the bracketed reference, `[2001:db8::1]`. */
  | { kind: "ipv6"; text: string };

const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const IPV4 = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/;

/** `a.b.c.d` with each part 0-255 in decimal (never octal), written without leading zeros; else null. */
export function ipv4Of(text: string): string | null {
  const match = IPV4.exec(text);
  if (!match) return null;
  const parts = match.slice(1).map(Number);
  return parts.every((part) => part <= 255) ? parts.join(".") : null;
}

/** An IPv6 address without brackets or zone, in RFC 5952 form; else null. */
export function ipv6Of(text: string): string | null {
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || !ipaddr.IPv6.isValid(text)) return null;
  const embedded = text.lastIndexOf(":");
  // An embedded IPv4 tail must itself be strict dotted decimal.
  if (text.includes(".") && ipv4Of(text.slice(embedded + 1)) === null) return null;
  return ipaddr.IPv6.parse(text).toRFC5952String();
}

/** A `host` of the grammar; null when it is none. */
export function hostOf(text: string): Host | null {
  if (text.startsWith("[")) {
    if (!text.endsWith("]")) return null;
    const v6 = ipv6Of(text.slice(1, -1));
    return v6 === null ? null : { kind: "ipv6", text: `[${v6}]` };
  }
  if (/^[0-9.]+$/.test(text)) {
    const v4 = ipv4Of(text);
    return v4 === null ? null : { kind: "ipv4", text: v4 };
  }
  const name = text.toLowerCase();
  if (name.length > 254) return null;
  // Labels of letters, digits and inner hyphens (an empty name is one empty label); a name of digits
  // and dots only was IPv4 or nothing.
  for (const label of (name.endsWith(".") ? name.slice(0, -1) : name).split(".")) {
    if (!LABEL.test(label) || label.length > 63) return null;
  }
  return { kind: "name", text: name };
}

/**
 * A transport address `ip:port` as a proxy reports a request's source (Kamailio `$si:$sp`, which
 * writes IPv6 without brackets) or a switch's event names it: IPv4 or IPv6 (bracketed or not), then
 * a port 1-65535. Written back as `a.b.c.d:port` or `[v6]:port`; null when it is not one.
 */
export function transportAddressOf(text: string): string | null {
  const colon = text.lastIndexOf(":");
  if (colon === -1) return null;
  const port = portOf(text.slice(colon + 1));
  if (port === null) return null;
  const ip = ipAddressOf(text.slice(0, colon));
  return ip === null ? null : `${ip}:${port}`;
}

/** An IP address alone (IPv6 bracketed or not), canonical, IPv6 bracketed; else null. */
export function ipAddressOf(text: string): string | null {
  const v4 = ipv4Of(text);
  if (v4 !== null) return v4;
  const v6 = ipv6Of(text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text);
  return v6 === null ? null : `[${v6}]`;
}

/** A port 1-65535 written in decimal digits; else null. */
export function portOf(text: string): number | null {
  if (!/^[0-9]{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port >= 1 && port <= 65_535 ? port : null;
}
