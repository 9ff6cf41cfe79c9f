// What a FreeSWITCH switch sends the edge for every REGISTER, over HTTP from Node: the directory
// `sip_auth` request with the device's digest (over a fresh nonce, from the device's address). After
// it the switch may report the registration with a `sofia::register` event (docs/security.md).
import { createHash, randomUUID } from "node:crypto";

const md5 = (text: string) => createHash("md5").update(text).digest("hex");

export async function verifiedRegister(
  base: string,
  credential: string,
  device: { realm: string; username: string; password: string; ip: string; callId: string },
): Promise<void> {
  const { realm, username, password, ip, callId } = device;
  const nonce = randomUUID();
  const uri = `sip:${realm}`;
  const cnonce = "0a4f113b";
  const response = md5(`${md5(`${username}:${realm}:${password}`)}:${nonce}:00000001:${cnonce}:auth:${md5(`REGISTER:${uri}`)}`);
  const form = new URLSearchParams({
    section: "directory",
    action: "sip_auth",
    sip_auth_method: "REGISTER",
    user: username,
    domain: realm,
    sip_auth_username: username,
    sip_auth_realm: realm,
    sip_auth_nonce: nonce,
    sip_auth_uri: uri,
    sip_auth_qop: "auth",
    sip_auth_nc: "00000001",
    sip_auth_cnonce: cnonce,
    sip_auth_response: response,
    sip_request_host: realm,
    sip_call_id: callId,
    ip,
  });
  const reply = await fetch(`${base}/freeswitch/v1/xml`, {
    method: "POST",
    headers: { authorization: `Bearer ${credential}`, "content-type": "application/x-www-form-urlencoded" },
    body: form.toString(),
  });
  const text = await reply.text();
  if (!reply.ok || !text.includes(`id="${username}"`)) throw new Error(`the edge did not verify ${username}@${realm}'s REGISTER: ${reply.status} ${text}`);
}
