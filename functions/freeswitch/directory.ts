// mod_xml_curl directory requests. `sip_auth`: a device authenticates (REGISTER or INVITE); the
// edge checks the digest itself, counts failures toward the lockout, refreshes a matching binding,
// and answers the device's a1-hash with the account's forced interval; an INVITE's answer carries
// the call's route as well (invite-route.ts). `user_call`: a `user/`
// bridge on this switch needs the domain's dial-string. Anything else: "not found".
import { isDigestAnswer, type DigestCredentials } from "../../registrar/digest";
import { uriNames } from "../../registrar/uri-equality";
import { ipAddressOf } from "../../registrar/host";
import { drainExpires } from "../switches/liveness";
import type { Env } from "../env";
import type { SwitchIdentity } from "../switches/credentials";
import { registrarForSwitch } from "../switches/scope";
import { field, type Form } from "./form";
import { inviteRouteVariables } from "./invite-route";
import { directoryDocument, notFoundDocument } from "./xml";

/** A user variable in the answer that says "this REGISTER refreshed a binding already": the hook then skips the event. */
export const REFRESHED_VARIABLE = "edge_binding";
export const REFRESHED_VALUE = "refreshed";

/** Reaches every registration of the dialed user on this switch (`user/USER@REALM`). */
export const DIAL_STRING = "{presence_id=${dialed_user}@${dialed_domain}}${sofia_contact(${dialed_user}@${dialed_domain})}";

/**
 * How long a FreeSWITCH nonce used without qop is remembered (good once). FreeSWITCH keeps such a
 * nonce for its profile's `nonce-ttl` (at least 60 s) plus 32 s (sofia_reg.c: the challenge's
 * insert into sip_authentication), and never extends it without a count: an hour covers any
 * `nonce-ttl` up to 3,500 s.
 */
export const FREESWITCH_NONCE_MEMORY_MS = 3_600_000;

/** The dialplan context devices' calls run in. */
export const USER_CONTEXT = "default";

export async function answerDirectory(env: Env, form: Form, caller: SwitchIdentity): Promise<string> {
  switch (field(form, "action")) {
    case "sip_auth":
      return sipAuth(env, form, caller);
    case "user_call":
      return userCall(env, form, caller);
    default:
      return notFoundDocument();
  }
}

function digestOf(form: Form): DigestCredentials | null {
  const username = field(form, "sip_auth_username");
  const realm = field(form, "sip_auth_realm");
  const nonce = field(form, "sip_auth_nonce");
  const uri = field(form, "sip_auth_uri");
  const response = field(form, "sip_auth_response");
  if (!username || !realm || !nonce || !uri || !response) return null;
  const digest: DigestCredentials = { username, realm, nonce, uri, response };
  const qop = field(form, "sip_auth_qop");
  const nc = field(form, "sip_auth_nc");
  const cnonce = field(form, "sip_auth_cnonce");
  const algorithm = field(form, "sip_auth_algorithm");
  if (qop !== undefined) digest.qop = qop;
  if (nc !== undefined) digest.nc = nc;
  if (cnonce !== undefined) digest.cnonce = cnonce;
  if (algorithm !== undefined) digest.algorithm = algorithm;
  return digest;
}

async function sipAuth(env: Env, form: Form, caller: SwitchIdentity): Promise<string> {
  const digest = digestOf(form);
  const method = field(form, "sip_auth_method")?.toUpperCase();
  const realm = field(form, "domain") ?? digest?.realm;
  const username = field(form, "user") ?? digest?.username;
  // No answer at all (empty or cut-short response) is not a wrong password: not counted.
  if (!digest || !isDigestAnswer(digest) || !method || !realm || !username) return notFoundDocument();
  // FreeSWITCH hashes the digest's uri but never compares it with the Request-URI: a digest
  // captured for one request must not pass for another.
  if (!signsRequestUri(form, digest.uri)) return notFoundDocument();

  const ip = field(form, "ip");
  const address = ip === undefined ? null : ipAddressOf(ip);
  const port = field(form, "client_port");
  const callId = field(form, "sip_call_id");
  const contactUser = field(form, "sip_contact_user");
  const contactHost = field(form, "sip_contact_host");
  // The switch's time of this REGISTER (µs): a refreshed binding keeps it, so an older event that
  // arrives late (a replay after an outage) does not remove it (functions/freeswitch/events.ts).
  const stamp = Number(field(form, "Event-Date-Timestamp") ?? "");
  // Outside the switch's scope: the same "not found" as a realm no account has.
  const registrar = registrarForSwitch(env, caller, realm);
  if (!registrar) return notFoundDocument();
  const result = await registrar.authenticate({
    username,
    method,
    digest,
    // FreeSWITCH counts qop uses of its nonces itself; a nonce without qop it would take again.
    nonce: { expiresAt: Date.now() + FREESWITCH_NONCE_MEMORY_MS, record: "without-qop" },
    source: ip ? (port ? `${ip}:${port}` : ip) : "unknown",
    ...(address !== null && { address }),
    ...(callId && { callId }),
    switchId: caller.id,
    ...(caller.draining && { capExpires: drainExpires(env) }),
    ...(method === "REGISTER" &&
      callId &&
      contactUser &&
      contactHost && { refresh: { callId, contactUser, contactHost, ...(Number.isSafeInteger(stamp) && stamp > 0 && { stamp }) } }),
  });
  if (result.status !== "authorized") return notFoundDocument();

  const { credentials } = result;
  // An INVITE's answer carries the call's route too: no dialplan request follows (invite-route.ts).
  const route = method === "INVITE" ? await inviteRouteVariables(env, form, caller, credentials.realm) : [];
  return directoryDocument({
    realm: credentials.realm,
    username: credentials.username,
    domainParams: [["dial-string", DIAL_STRING]],
    params: [
      ["a1-hash", credentials.ha1Md5],
      ["sip-force-expires", String(result.forceExpires)],
    ],
    variables: [
      ["user_context", USER_CONTEXT],
      ...callerIdVariables(credentials),
      ...(result.refreshed ? [[REFRESHED_VARIABLE, REFRESHED_VALUE] as [string, string]] : []),
      ...route,
    ],
  });
}

/** Does the digest's uri name the Request-URI FreeSWITCH reports (user, host and port)? */
function signsRequestUri(form: Form, uri: string): boolean {
  const host = field(form, "sip_request_host");
  const port = field(form, "sip_request_port");
  if (!host || (port !== undefined && !/^\d{1,5}$/.test(port))) return false;
  return uriNames(uri, { user: field(form, "sip_request_user") ?? null, host, port: port === undefined ? null : Number(port) });
}

async function userCall(env: Env, form: Form, caller: SwitchIdentity): Promise<string> {
  const realm = field(form, "domain");
  const username = field(form, "user");
  if (!realm || !username) return notFoundDocument();
  const credentials = (await registrarForSwitch(env, caller, realm)?.credentials(username)) ?? null;
  if (!credentials || !credentials.enabled) return notFoundDocument();
  return directoryDocument({
    realm: credentials.realm,
    username: credentials.username,
    domainParams: [["dial-string", DIAL_STRING]],
    params: [],
    variables: [["user_context", USER_CONTEXT], ...callerIdVariables(credentials)],
  });
}

function callerIdVariables(device: { username: string; callerIdName: string | null; callerIdNumber: string | null }): [string, string][] {
  return [
    ["effective_caller_id_name", device.callerIdName ?? device.username],
    ["effective_caller_id_number", device.callerIdNumber ?? device.username],
  ];
}
