import type { ContactSpec } from "./types";

// Reading the parts of SIP addresses the registrar compares: a name-addr's URI, a URI's user and host.

/** The URI of a name-addr (`"Bob" <sip:bob@host;transport=udp>;expires=60`), or the text itself if it is a bare URI. */
export function uriOfNameAddr(nameAddr: string): string {
  const open = nameAddr.indexOf("<");
  const close = nameAddr.indexOf(">", open + 1);
  if (open !== -1 && close !== -1) return nameAddr.slice(open + 1, close).trim();
  return nameAddr.trim().split(";")[0]!.trim();
}

/** User and host (no port, lowercase host) of a `sip:`/`sips:` URI; null when it is not one. */
export function userAndHost(uri: string): { user: string | null; host: string } | null {
  const match = /^sips?:(?:([^@;?]*)@)?(\[[^\]]+\]|[^:;?>]+)/i.exec(uri.trim());
  if (!match) return null;
  return { user: match[1] ?? null, host: match[2]!.toLowerCase() };
}

/** Does a stored contact URI name this user at this host (any port, any parameters)? */
export function contactIs(uri: string, user: string, host: string): boolean {
  const parts = userAndHost(uri);
  return parts !== null && parts.user === user && parts.host === host.toLowerCase();
}


/** Split a header value on commas that are outside quotes and angle brackets. */
function splitOutside(value: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === "<") depth++;
    else if (c === ">") depth = Math.max(0, depth - 1);
    else if (c === "," && depth === 0) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

function unquote(text: string): string {
  const t = text.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/\\(.)/g, "$1") : t;
}

/**
 * The Contacts of a REGISTER (RFC 3261 §20.10, several headers joined with commas): each URI with
 * its `expires`, `q`, `+sip.instance` and `reg-id` parameters; `"*"` for the wildcard; null when a
 * contact cannot be read. Parameters of a bare URI (no angle brackets) are header parameters.
 */
export function parseContacts(value: string): ContactSpec[] | "*" | null {
  const parts = splitOutside(value);
  if (parts.length === 1 && parts[0] === "*") return "*";
  const contacts: ContactSpec[] = [];
  for (const part of parts) {
    let uri: string;
    let params: string;
    const open = part.indexOf("<");
    if (open !== -1) {
      const close = part.indexOf(">", open);
      if (close === -1) return null;
      uri = part.slice(open + 1, close).trim();
      params = part.slice(close + 1);
    } else {
      const semi = part.indexOf(";");
      uri = (semi === -1 ? part : part.slice(0, semi)).trim();
      params = semi === -1 ? "" : part.slice(semi);
    }
    if (!userAndHost(uri)) return null;
    const contact: ContactSpec = { uri };
    for (const param of splitParams(params)) {
      const eq = param.indexOf("=");
      const name = (eq === -1 ? param : param.slice(0, eq)).trim().toLowerCase();
      const raw = eq === -1 ? "" : param.slice(eq + 1).trim();
      if (name === "expires" && /^\d{1,10}$/.test(raw)) contact.expires = Number(raw);
      else if (name === "q" && /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(raw)) contact.q = Number(raw);
      else if (name === "+sip.instance" && raw !== "") contact.instanceId = unquote(raw);
      else if (name === "reg-id" && /^\d{1,10}$/.test(raw)) contact.regId = Number(raw);
    }
    contacts.push(contact);
  }
  return contacts;
}

/** `;a=1;b="x;y"` → [`a=1`, `b="x;y"`] */
function splitParams(text: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      current += c;
      if (c === "\\" && i + 1 < text.length) current += text[++i];
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
      current += c;
    } else if (c === ";") {
      if (current.trim() !== "") out.push(current.trim());
      current = "";
    } else current += c;
  }
  if (current.trim() !== "") out.push(current.trim());
  return out;
}

/** Path header values (RFC 3327), in order: each `<uri;lr>` as sent. */
export function parsePath(value: string): string[] {
  return splitOutside(value);
}
