// HTTP digest authentication as SIP uses it (RFC 2617, RFC 7616, RFC 8760), on Web Crypto only.
// The registrar stores HA1 = H(username:realm:password), never the password, and checks a
// device's Authorization header against it.
import { constantTimeEqual, hex } from "./bytes";

/** Digest hash algorithms the registrar accepts. The `-sess` variants are not supported. */
export type DigestAlgorithm = "MD5" | "SHA-256";

/** The parameters of a `Digest` Authorization / Proxy-Authorization header. */
export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  /** The digest-uri the device signed, e.g. `sip:127.0.0.4:5060`. */
  uri: string;
  /** The device's answer, hex. */
  response: string;
  algorithm?: string;
  qop?: string;
  /** Nonce count, 8 hex digits, present with qop. */
  nc?: string;
  /** Client nonce, present with qop. */
  cnonce?: string;
  opaque?: string;
}

const encoder = new TextEncoder();

/** Lowercase hex of H(text) with the given digest algorithm. */
async function hexDigest(algorithm: DigestAlgorithm, text: string): Promise<string> {
  return hex(await crypto.subtle.digest(algorithm, encoder.encode(text)));
}

/** HA1 = H(username:realm:password), lowercase hex: what the registrar stores per device. */
export async function computeHa1(
  algorithm: DigestAlgorithm,
  username: string,
  realm: string,
  password: string,
): Promise<string> {
  return hexDigest(algorithm, `${username}:${realm}:${password}`);
}

/** The algorithm the credentials name: none means MD5; unknown names and `-sess` variants give null. */
export function digestAlgorithmOf(credentials: DigestCredentials): DigestAlgorithm | null {
  const name = credentials.algorithm?.trim().toUpperCase();
  if (name === undefined || name === "" || name === "MD5") return "MD5";
  if (name === "SHA-256") return "SHA-256";
  return null;
}

/**
 * Are these credentials an answer at all: a username, a nonce, a known algorithm and a response of
 * its length in hex? A request without one (the empty or cut-short digest a noisy switch sends)
 * is not a wrong password: it is challenged, and counts toward no lockout.
 */
export function isDigestAnswer(credentials: DigestCredentials): boolean {
  const algorithm = digestAlgorithmOf(credentials);
  if (algorithm === null || credentials.username === "" || credentials.nonce === "") return false;
  return (algorithm === "MD5" ? /^[0-9a-fA-F]{32}$/ : /^[0-9a-fA-F]{64}$/).test(credentials.response);
}

/**
 * Checks a device's digest response against the stored HA1 for a request `method` (e.g. REGISTER).
 * Accepts no qop (RFC 2069 style) and qop=auth; qop=auth-int, `-sess` algorithms, and credentials
 * naming a different algorithm than the HA1's all give false.
 */
export async function verifyDigestResponse(
  ha1: string,
  algorithm: DigestAlgorithm,
  credentials: DigestCredentials,
  method: string,
): Promise<boolean> {
  if (digestAlgorithmOf(credentials) !== algorithm) return false;

  const ha2 = await hexDigest(algorithm, `${method}:${credentials.uri}`);
  const storedHa1 = ha1.toLowerCase();
  let expected: string;
  if (credentials.qop === undefined) {
    expected = await hexDigest(algorithm, `${storedHa1}:${credentials.nonce}:${ha2}`);
  } else {
    if (credentials.qop.toLowerCase() !== "auth") return false;
    if (credentials.nc === undefined || credentials.cnonce === undefined) return false;
    expected = await hexDigest(
      algorithm,
      `${storedHa1}:${credentials.nonce}:${credentials.nc}:${credentials.cnonce}:${credentials.qop}:${ha2}`,
    );
  }
  return constantTimeEqual(expected, credentials.response.toLowerCase());
}

/** Reads `name=value` / `name="quoted \"value\""` pairs separated by commas; null if malformed. */
function parseAuthParams(text: string): Map<string, string> | null {
  const params = new Map<string, string>();
  let i = 0;
  const skip = (chars: string): void => {
    while (i < text.length && chars.includes(text.charAt(i))) i++;
  };

  while (true) {
    skip(" \t\r\n,");
    if (i >= text.length) return params;

    const nameStart = i;
    while (i < text.length && !"= \t\r\n,\"".includes(text.charAt(i))) i++;
    const name = text.slice(nameStart, i).toLowerCase();
    skip(" \t\r\n");
    if (name === "" || text.charAt(i) !== "=") return null;
    i++;
    skip(" \t\r\n");

    let value = "";
    if (text.charAt(i) === '"') {
      i++;
      let closed = false;
      // Runs between escapes are copied whole; a backslash takes the next character as it is.
      let run = i;
      while (i < text.length) {
        const char = text.charCodeAt(i);
        if (char === 92 /* \\ */ && i + 1 < text.length) {
          value += text.slice(run, i) + text.charAt(i + 1);
          i += 2;
          run = i;
        } else if (char === 34 /* " */) {
          value += text.slice(run, i);
          i++;
          closed = true;
          break;
        } else {
          i++;
        }
      }
      if (!closed) return null;
    } else {
      const valueStart = i;
      while (i < text.length && !", \t\r\n".includes(text.charAt(i))) i++;
      value = text.slice(valueStart, i);
    }

    // A repeated parameter keeps its first value.
    if (!params.has(name)) params.set(name, value);

    skip(" \t\r\n");
    if (i < text.length && text.charAt(i) !== ",") return null;
  }
}

/**
 * Parses a SIP `Authorization:` / `Proxy-Authorization:` header value such as
 * `Digest username="1000", realm="127.0.0.4", nonce="...", uri="sip:127.0.0.4", response="..."`.
 * Returns null for another scheme, a malformed value, or a missing username, realm, nonce, uri or response.
 */
export function parseDigestAuthorization(header: string): DigestCredentials | null {
  const scheme = /^\s*digest(?:\s+|$)/i.exec(header);
  if (scheme === null) return null;
  const params = parseAuthParams(header.slice(scheme[0].length));
  if (params === null) return null;

  const username = params.get("username");
  const realm = params.get("realm");
  const nonce = params.get("nonce");
  const uri = params.get("uri");
  const response = params.get("response");
  if (username === undefined || realm === undefined || nonce === undefined || uri === undefined || response === undefined) {
    return null;
  }

  const credentials: DigestCredentials = { username, realm, nonce, uri, response };
  const algorithm = params.get("algorithm");
  const qop = params.get("qop");
  const nc = params.get("nc");
  const cnonce = params.get("cnonce");
  const opaque = params.get("opaque");
  if (algorithm !== undefined) credentials.algorithm = algorithm;
  if (qop !== undefined) credentials.qop = qop;
  if (nc !== undefined) credentials.nc = nc;
  if (cnonce !== undefined) credentials.cnonce = cnonce;
  if (opaque !== undefined) credentials.opaque = opaque;
  return credentials;
}
