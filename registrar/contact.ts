// Contact and Path header values by the RFC 3261 grammar (§20.10, §25.1; RFC 3327 for Path):
// each address a name-addr (`"Bob" <sip:bob@host>;expires=60`) or an addr-spec (`sip:bob@host`),
// then header parameters. Read strictly, refused whole when any part is off (an unbalanced `<` or
// `"`, a control character, a bad port), and written back from the parsed parts only.
import { formatSipUri, parseSipUri, type SipUri } from "./sip-uri";
import type { ContactSpec } from "./types";

/** A header parameter (`generic-param`): `expires=60`, `+sip.instance="<urn:uuid:…>"`, `lr`. */
export interface HeaderParam {
  name: string;
  /** The value, unquoted; null when the parameter has none. */
  value: string | null;
  /** Whether the value was a quoted-string (it is written back quoted). */
  quoted: boolean;
}

/** One address of a Contact, Path or similar header. */
export interface NameAddr {
  displayName: string | null;
  uri: SipUri;
  params: HeaderParam[];
}

/** Why a header value was refused, for the answer's reason and the problem document. */
export class AddressError extends Error {}

const TOKEN_CHAR = /[A-Za-z0-9\-.!%*_+`'~]/;
// gen-value: a token or a host (which adds ':' '[' ']' for IPv6 references).
const GEN_VALUE = /^[A-Za-z0-9\-.!%*_+`'~:[\]]+$/;

/**
 * Characters no header value here may hold, even quoted: C0 controls but TAB, DEL, C1 controls,
 * U+FFFE/U+FFFF and lone surrogates. CR, LF and NUL are among them.
 */
export function hasForbiddenCharacter(text: string): boolean {
  return /[\u0000-\u0008\u000A-\u001F\u007F-\u009F\uFFFE\uFFFF]/.test(text) || !text.isWellFormed();
}

class Reader {
  i = 0;
  constructor(readonly text: string) {}
  get done(): boolean {
    return this.i >= this.text.length;
  }
  peek(): string {
    return this.text[this.i] ?? "";
  }
  skipSpace(): void {
    while (this.peek() === " " || this.peek() === "\t") this.i++;
  }
  fail(message: string): never {
    throw new AddressError(message);
  }
  token(): string {
    const start = this.i;
    while (TOKEN_CHAR.test(this.peek())) this.i++;
    return this.text.slice(start, this.i);
  }
  /** A quoted-string starting at the current `"`; answers its content, unescaped. */
  quoted(): string {
    this.i++; // the opening quote
    let value = "";
    for (;;) {
      if (this.done) this.fail("an unterminated quoted string");
      const c = this.text[this.i++]!;
      if (c === '"') return value;
      if (c === "\\") {
        if (this.done) this.fail("an unterminated quoted string");
        value += this.text[this.i++];
      } else value += c;
    }
  }
}

/** The URI inside `<…>` or a bare addr-spec, parsed. */
function uriOf(text: string): SipUri {
  const uri = parseSipUri(text);
  if (!uri) throw new AddressError(`not a valid SIP URI: ${JSON.stringify(text.slice(0, 80))}`);
  return uri;
}

/** One name-addr or addr-spec with its parameters, ending at a comma or the end. */
function readAddress(r: Reader, requireBrackets: boolean): NameAddr {
  r.skipSpace();
  let displayName: string | null = null;
  let uri: SipUri;
  const start = r.i;
  if (r.peek() === '"') {
    displayName = r.quoted();
    r.skipSpace();
    if (r.peek() !== "<") r.fail("a display name must be followed by <URI>");
  } else {
    // *(token LWS) then '<' is a name-addr; anything else is an addr-spec.
    const words: string[] = [];
    for (;;) {
      const word = r.token();
      if (word === "") break;
      words.push(word);
      r.skipSpace();
    }
    if (r.peek() === "<") displayName = words.length > 0 ? words.join(" ") : null;
    else r.i = start;
  }
  if (r.peek() === "<") {
    const close = r.text.indexOf(">", r.i);
    if (close === -1) r.fail("an unbalanced <");
    const inside = r.text.slice(r.i + 1, close);
    if (/[<"\s]/.test(inside)) r.fail("an unbalanced < or a quote inside <URI>");
    uri = uriOf(inside);
    r.i = close + 1;
  } else {
    if (requireBrackets) r.fail("a Path entry must be <URI>");
    // An addr-spec ends at the header parameters, the next address or a space.
    const from = r.i;
    while (!r.done && !/[;,\s]/.test(r.peek())) r.i++;
    const bare = r.text.slice(from, r.i);
    // A bare URI cannot carry '?' headers (RFC 3261 §20: such a URI needs the <> form).
    if (bare.includes("?") || bare.includes(">") || bare.includes('"')) r.fail("an unbalanced > or quote");
    uri = uriOf(bare);
  }
  const params: HeaderParam[] = [];
  for (;;) {
    r.skipSpace();
    if (r.peek() !== ";") break;
    r.i++;
    r.skipSpace();
    const name = r.token();
    if (name === "") r.fail("an empty parameter name");
    r.skipSpace();
    if (r.peek() !== "=") {
      params.push({ name, value: null, quoted: false });
      continue;
    }
    r.i++;
    r.skipSpace();
    if (r.peek() === '"') {
      params.push({ name, value: r.quoted(), quoted: true });
      continue;
    }
    const from = r.i;
    while (!r.done && GEN_VALUE.test(r.peek())) r.i++;
    const value = r.text.slice(from, r.i);
    if (value === "") r.fail(`parameter ${name} has an empty value`);
    params.push({ name, value, quoted: false });
  }
  r.skipSpace();
  if (!r.done && r.peek() !== ",") r.fail(`unexpected ${JSON.stringify(r.peek())} after an address`);
  return { displayName, uri, params };
}

/** Every address of a comma-separated header value; throws AddressError on the first bad one. */
export function parseAddressList(value: string, requireBrackets = false): NameAddr[] {
  if (hasForbiddenCharacter(value)) throw new AddressError("a control character");
  const r = new Reader(value);
  const addresses: NameAddr[] = [];
  for (;;) {
    addresses.push(readAddress(r, requireBrackets));
    if (r.done) return addresses;
    r.i++; // the comma
  }
}

function quote(text: string): string {
  return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** A header parameter written back: quoted when it was, or when its value is not a token/host. */
function formatParam(param: HeaderParam): string {
  if (param.value === null) return `;${param.name}`;
  const quoted = param.quoted || !GEN_VALUE.test(param.value);
  return `;${param.name}=${quoted ? quote(param.value) : param.value}`;
}

/** A name-addr written from its parts: `"Name" <uri>;param=value`. */
export function formatNameAddr(address: NameAddr): string {
  const name = address.displayName === null ? "" : `${quote(address.displayName)} `;
  return `${name}<${formatSipUri(address.uri)}>${address.params.map(formatParam).join("")}`;
}

function paramOf(address: NameAddr, name: string): HeaderParam | undefined {
  return address.params.find((p) => p.name.toLowerCase() === name);
}

const DELTA_SECONDS = /^[0-9]{1,10}$/;
const QVALUE = /^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * The Contacts of a REGISTER (RFC 3261 §20.10, several headers joined with commas): each URI
 * written back canonical, with its `expires`, `q`, `+sip.instance` and `reg-id` parameters; `"*"`
 * for the wildcard. Throws AddressError, saying why, when any contact is malformed.
 */
export function parseContacts(value: string): ContactSpec[] | "*" {
  if (value.trim() === "*") return "*";
  const contacts: ContactSpec[] = [];
  for (const address of parseAddressList(value)) {
    const contact: ContactSpec = { uri: formatSipUri(address.uri) };
    const expires = paramOf(address, "expires");
    if (expires) {
      if (expires.value === null || expires.quoted || !DELTA_SECONDS.test(expires.value)) throw new AddressError("expires must be whole seconds");
      contact.expires = Number(expires.value);
    }
    const q = paramOf(address, "q");
    if (q) {
      if (q.value === null || q.quoted || !QVALUE.test(q.value)) throw new AddressError("q must be between 0 and 1");
      contact.q = Number(q.value);
    }
    const instance = paramOf(address, "+sip.instance");
    if (instance) {
      if (instance.value === null || instance.value === "") throw new AddressError("+sip.instance needs a value");
      contact.instanceId = instance.value;
    }
    const regId = paramOf(address, "reg-id");
    if (regId) {
      if (regId.value === null || regId.quoted || !/^[0-9]{1,9}$/.test(regId.value) || Number(regId.value) < 1) {
        throw new AddressError("reg-id must be a positive integer");
      }
      contact.regId = Number(regId.value);
    }
    contacts.push(contact);
  }
  return contacts;
}

/** Path header values (RFC 3327), in order: each `<uri;lr>` written back from its parts. */
export function parsePath(value: string): string[] {
  return parseAddressList(value, true).map(formatNameAddr);
}

/** The URI of one name-addr or addr-spec (a FreeSWITCH event's `contact`), canonical. */
export function contactUriOf(value: string): string {
  const addresses = parseAddressList(value);
  if (addresses.length !== 1) throw new AddressError("one contact expected");
  return formatSipUri(addresses[0]!.uri);
}

/** User and host (no port, lowercase host) of a `sip:`/`sips:` URI; null when it is not one. */
export function userAndHost(uri: string): { user: string | null; host: string } | null {
  const parsed = parseSipUri(uri.trim());
  if (!parsed) return null;
  // Only a name can end with a dot (an IPv6 reference ends with "]", an IPv4 address with a digit).
  return { user: parsed.user, host: parsed.host.text.replace(/\.$/, "") };
}

/** Does a stored contact URI name this user at this host (any port, any parameters)? */
export function contactIs(uri: string, user: string, host: string): boolean {
  const parts = userAndHost(uri);
  return parts !== null && parts.user === user && parts.host === host.toLowerCase();
}
