// What switches send, built the way the tests build it: FreeSWITCH mod_xml_curl form bodies from the
// captures in test/fixtures/freeswitch/, hook events, Kamailio JSON with digest answers. The
// edge's Kamailio nonces are made here with the same HMAC the edge uses (registrar/nonce.ts), keyed
// from the SWITCH_SIGNING_KEY the bench server was started with, so every timed request can carry a
// fresh nonce without a challenge round trip.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const md5 = (text) => createHash("md5").update(text).digest("hex");
export const ha1 = (username, realm, password) => md5(`${username}:${realm}:${password}`);

export function fixtures(root) {
  const dir = join(root, "test", "fixtures", "freeswitch");
  const read = (name) => readFileSync(join(dir, name), "utf8");
  return {
    sipAuthRegister: read("directory-sip_auth-REGISTER-user1000.body.txt").trim(),
    dialplanInvite: read("dialplan-INVITE-9196.body.txt").trim(),
    registerEvent: JSON.parse(read("event-sofia_register.json")),
  };
}

/** Replace (or add) one field of a captured form body, leaving every other byte as captured. */
export function withField(body, name, value) {
  const pairs = body.split("&");
  const encoded = `${name}=${encodeURIComponent(value)}`;
  const index = pairs.findIndex((p) => p.startsWith(`${name}=`));
  if (index === -1) pairs.push(encoded);
  else pairs[index] = encoded;
  return pairs.join("&");
}

export function formField(body, name) {
  const pair = body.split("&").find((p) => p.startsWith(`${name}=`));
  return pair === undefined ? undefined : decodeURIComponent(pair.slice(name.length + 1));
}

/**
 * The captured directory sip_auth body, re-addressed to another device/realm/Call-ID and re-signed
 * (qop=auth, the capture's nonce/cnonce/nc/uri) for REGISTER or INVITE.
 */
export function sipAuthBody(capture, { username, realm, password, method = "REGISTER", callId, contactUser = username }) {
  let body = capture;
  for (const [name, value] of [
    ["key_value", realm],
    ["sip_auth_username", username],
    ["sip_auth_realm", realm],
    ["sip_contact_user", contactUser],
    ["sip_to_user", username],
    ["sip_to_host", realm],
    ["sip_from_user", username],
    ["sip_from_host", realm],
    ["user", username],
    ["domain", realm],
    ["sip_auth_method", method],
  ]) {
    body = withField(body, name, value);
  }
  if (callId) body = withField(body, "sip_call_id", callId);
  const nonce = formField(body, "sip_auth_nonce");
  const nc = formField(body, "sip_auth_nc");
  const cnonce = formField(body, "sip_auth_cnonce");
  const uri = formField(body, "sip_auth_uri");
  const response = md5(`${ha1(username, realm, password)}:${nonce}:${nc}:${cnonce}:auth:${md5(`${method}:${uri}`)}`);
  return withField(body, "sip_auth_response", response);
}

/** The hook's sofia::register event for a device, as `event=<URL-encoded JSON>`. */
export function registerEventBody(capture, { username, realm, callId, contactHost = "127.0.0.1", contactPort, expires, timestampUs }) {
  const event = {
    ...capture,
    "Event-Date-Timestamp": String(timestampUs),
    "from-user": username,
    "from-host": realm,
    "to-user": username,
    "to-host": realm,
    username,
    realm,
    contact: `"" <sip:${username}@${contactHost}:${contactPort}>`,
    "call-id": callId,
    expires: String(expires),
    "network-ip": contactHost,
    "network-port": String(contactPort),
  };
  delete event["sip-force-expires"];
  return `event=${encodeURIComponent(JSON.stringify(event))}`;
}

/**
 * An edge nonce (registrar/nonce.ts): 8-byte issue time, 8 random bytes, 16 bytes of HMAC-SHA-256
 * over the realm, the request's source and Call-ID it is issued for, and those 16 bytes.
 */
export function edgeNonce(secret, realm, { source, callId }, now = Date.now()) {
  const head = Buffer.alloc(16);
  head.writeBigUInt64BE(BigInt(Math.floor(now)), 0);
  randomBytes(8).copy(head, 8);
  const bound = Buffer.from(JSON.stringify([realm, source, callId]));
  const mac = createHmac("sha256", `nonce:${secret}`).update(Buffer.concat([bound, head])).digest().subarray(0, 16);
  return Buffer.concat([head, mac]).toString("base64url");
}

/** The Authorization header a phone sends for a challenge (qop=auth, as SIPp does). */
export function digestAuthorization({ username, realm, password, method, uri, nonce, nc = "00000001", cnonce = "0a4f113b" }) {
  const response = md5(`${ha1(username, realm, password)}:${nonce}:${nc}:${cnonce}:auth:${md5(`${method}:${uri}`)}`);
  return `Digest username="${username}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}"`;
}
