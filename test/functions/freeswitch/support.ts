// FreeSWITCH-side helpers: a switch with its credential, posting mod_xml_curl bodies and hook
// events the way a switch does, and reading the XML answers back with a real parser.
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { XMLParser } from "fast-xml-parser";
import sipAuthBody from "../../fixtures/freeswitch/directory-sip_auth-REGISTER-user1000.body.txt?raw";
import { registrarForId } from "../../../functions/accounts";
import { computeHa1 } from "../../../registrar/digest";
import { call } from "../../helpers";

export interface TestSwitch {
  id: string;
  credential: string;
  basic: string;
}

let switches = 0;
export async function createSwitch(address = "sip:10.0.0.4:5060"): Promise<TestSwitch> {
  switches += 1;
  const reply = await call("POST", "/switches", { body: { name: `fs-${switches}-${Math.random().toString(36).slice(2, 7)}`, address } });
  if (reply.status !== 201) throw new Error(`switch create failed: ${JSON.stringify(reply.body)}`);
  const { switch: sw, credential } = reply.body;
  return { id: sw.id, credential, basic: `Basic ${btoa(`${sw.id}:${credential}`)}` };
}

/** POST a mod_xml_curl body as FreeSWITCH does (form-encoded, Basic credentials). */
export async function postXml(body: string, auth: string | null) {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", "user-agent": "freeswitch-xml/1.0" };
  if (auth) headers.authorization = auth;
  const response = await exports.default.fetch(new Request("https://edge.test/freeswitch/v1/xml", { method: "POST", headers, body }));
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", text: await response.text() };
}

/** POST an event as the shipped hook does after mod_curl's one URL-decode: `event=<URL-encoded JSON>`. */
export async function postEvent(event: unknown, sw: TestSwitch | null, options: { json?: boolean } = {}) {
  const text = typeof event === "string" ? event : JSON.stringify(event);
  const headers: Record<string, string> = {
    "content-type": options.json ? "application/json" : "application/x-www-form-urlencoded",
  };
  if (sw) headers["x-edge-token"] = sw.credential;
  const body = options.json ? text : `event=${encodeURIComponent(text)}`;
  const response = await exports.default.fetch(new Request("https://edge.test/freeswitch/v1/events", { method: "POST", headers, body }));
  const raw = await response.text();
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", body: raw.startsWith("{") ? JSON.parse(raw) : raw };
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (name) => ["param", "variable", "action", "user"].includes(name) });

export function parseXml(text: string) {
  return parser.parse(text);
}

/** Params and variables of the single user in a directory answer, as plain maps. */
export function directoryUser(text: string) {
  const doc = parseXml(text).document;
  const domain = doc.section.domain;
  const user = domain.user[0];
  const toMap = (list: { name: string; value: string }[] | undefined) => Object.fromEntries((list ?? []).map((p) => [p.name, p.value]));
  return {
    realm: domain.name as string,
    id: user.id as string,
    domainParams: toMap(domain.params?.param),
    params: toMap(user.params?.param),
    variables: toMap(user.variables?.variable),
  };
}

export function isNotFound(text: string): boolean {
  const doc = parseXml(text).document;
  return doc?.section?.name === "result" && doc.section.result?.status === "not found";
}

export function dialplanActions(text: string): [string, string][] {
  const condition = parseXml(text).document.section.context.extension.condition;
  return condition.action.map((a: { application: string; data: string }) => [a.application, a.data]);
}

/** Replace (or add) one field of a captured form body, leaving every other byte as captured. */
export function withField(body: string, name: string, value: string): string {
  const pairs = body.split("&");
  const encoded = `${name}=${encodeURIComponent(value)}`;
  const index = pairs.findIndex((p) => p.startsWith(`${name}=`));
  if (index === -1) pairs.push(encoded);
  else pairs[index] = encoded;
  return pairs.join("&");
}

export function withoutField(body: string, name: string): string {
  return body
    .split("&")
    .filter((p) => !p.startsWith(`${name}=`))
    .join("&");
}

/** The account for a realm the captures use, created anew (any earlier one in this test file is deleted). */
export async function freshAccount(realm: string, body: Record<string, unknown> = {}) {
  const list = await call("GET", "/accounts?limit=500");
  for (const account of list.body.items.filter((a: { realm: string }) => a.realm === realm)) {
    await call("DELETE", `/accounts/${account.id}`);
  }
  const created = await call("POST", "/accounts", { body: { realm, name: realm, ...body } });
  if (created.status !== 201) throw new Error(`account create failed: ${JSON.stringify(created.body)}`);
  return created.body as { id: string; realm: string };
}

export async function addDevice(accountId: string, username: string, password: string, extra: Record<string, unknown> = {}) {
  const reply = await call("POST", `/accounts/${accountId}/devices`, { body: { username, password, ...extra } });
  if (reply.status !== 201) throw new Error(`device create failed: ${JSON.stringify(reply.body)}`);
  return reply.body as { id: string; username: string };
}

const md5Hex = async (text: string) =>
  [...new Uint8Array(await crypto.subtle.digest("MD5", new TextEncoder().encode(text)))].map((b) => b.toString(16).padStart(2, "0")).join("");

/**
 * The directory `sip_auth` a switch sends for a device's REGISTER (the captured body, with this
 * device's digest over a fresh nonce, from `ip`), answered with the device: the edge has now seen
 * the digest, so this switch may report the registration with a `sofia::register` event carrying
 * the same Call-ID (by default the captured event's, event-sofia_register.json).
 */
export const EVENT_CALL_ID = "1-14106@127.0.0.1";

export async function verifiedRegister(
  sw: TestSwitch,
  device: { realm: string; username: string; password: string; ip?: string; callId?: string },
  method = "REGISTER",
  /** Fields to set besides the digest's (a refresh's contact, the switch's timestamp). */
  extra: Record<string, string> = {},
): Promise<string> {
  const { realm, username, password, ip = "127.0.0.1", callId = EVENT_CALL_ID } = device;
  const nonce = crypto.randomUUID();
  const uri = `sip:${realm}:5060`;
  const response = await digestResponse(username, realm, password, method, uri, nonce);
  const fields: Record<string, string> = {
    user: username,
    domain: realm,
    sip_auth_username: username,
    sip_auth_realm: realm,
    sip_auth_nonce: nonce,
    sip_auth_uri: uri,
    sip_request_host: realm,
    sip_auth_response: response,
    sip_auth_method: method,
    sip_call_id: callId,
    ip,
    ...extra,
  };
  const body = Object.entries(fields).reduce((text, [name, value]) => withField(text, name, value), sipAuthBody);
  const reply = await postXml(body, sw.basic);
  if (isNotFound(reply.text)) throw new Error(`the edge did not verify ${username}@${realm}'s REGISTER through ${sw.id}`);
  return reply.text;
}

/** A phone's MD5 digest response (qop auth, nc 00000001, the captured cnonce) for `method` on `uri`. */
export async function digestResponse(username: string, realm: string, password: string, method: string, uri: string, nonce: string): Promise<string> {
  const ha1 = await computeHa1("MD5", username, realm, password);
  return md5Hex(`${ha1}:${nonce}:00000001:6b8b4567:auth:${await md5Hex(`${method}:${uri}`)}`);
}

/** `username` of the account registered at `host` through the switch `switchId`, straight on its object. */
export async function registerOn(accountId: string, username: string, realm: string, host: string, switchId: string): Promise<void> {
  const result = await registrarForId(env, accountId)!.register(username, {
    aor: `sip:${username}@${realm}`,
    callId: `${username}-${host}-${switchId}`,
    cseq: 1,
    contacts: [{ uri: `sip:${username}@${host}:5060` }],
    expires: 300,
    switchId,
  });
  expect(result.status).toBe("registered");
}
