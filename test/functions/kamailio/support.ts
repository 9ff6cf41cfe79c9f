// Kamailio-side helpers: post to the edge as http_client does, and answer a digest challenge as a phone would.
import { exports } from "cloudflare:workers";
import { computeHa1 } from "../../../registrar/digest";
import type { TestSwitch } from "../freeswitch/support";

export async function kamailio(path: "authorize" | "locate" | "keepalive", body: unknown, sw: TestSwitch | null) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (sw) headers.authorization = sw.basic;
  const response = await exports.default.fetch(
    new Request(`https://edge.test/kamailio/v1/${path}`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) }),
  );
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", body: text.startsWith("{") ? JSON.parse(text) : text };
}

const md5 = async (text: string) =>
  [...new Uint8Array(await crypto.subtle.digest("MD5", new TextEncoder().encode(text)))].map((b) => b.toString(16).padStart(2, "0")).join("");

/** The challenge's parameters from a decision's headers. */
export function challengeOf(headers: string): Record<string, string> {
  const value = headers.replace(/^(WWW|Proxy)-Authenticate:\s*Digest\s*/i, "").trim();
  const params: Record<string, string> = {};
  for (const match of value.matchAll(/([a-z]+)=("([^"]*)"|[^,\s]+)/gi)) params[match[1]!.toLowerCase()] = match[3] ?? match[2]!;
  return params;
}

/** The Authorization header a phone sends for this challenge (qop=auth, as SIPp does). */
export async function answer(challengeHeaders: string, username: string, password: string, method: string, uri: string, nc = "00000001") {
  const { realm, nonce } = challengeOf(challengeHeaders);
  const ha1 = await computeHa1("MD5", username, realm!, password);
  const cnonce = "0a4f113b";
  const response = await md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${await md5(`${method}:${uri}`)}`);
  return `Digest username="${username}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}"`;
}
