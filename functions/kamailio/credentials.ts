// Reading a device's digest out of a proxy's request and checking the edge's own nonce in it.
import { parseDigestAuthorization, type DigestCredentials } from "../../registrar/digest";
import { checkNonce, digestChallenge, issueNonce } from "../../registrar/nonce";
import type { Env } from "../env";
import { challenge, type Decision } from "./decision";

export const DEFAULT_NONCE_TTL_SECONDS = 300;

function nonceSecret(env: Env): string {
  return env.SWITCH_SIGNING_KEY;
}

function nonceLifetime(env: Env): number {
  const seconds = Number(env.NONCE_TTL_SECONDS ?? DEFAULT_NONCE_TTL_SECONDS);
  return Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_NONCE_TTL_SECONDS;
}

export async function challengeFor(env: Env, status: 401 | 407, realm: string, stale: boolean, now: number): Promise<Decision> {
  return challenge(status, digestChallenge(realm, await issueNonce(nonceSecret(env), realm, now), stale));
}

/**
 * The digest in an Authorization / Proxy-Authorization header, when it is for this realm and
 * carries a nonce the edge issued and that is still fresh; otherwise the challenge to answer
 * (a fresh nonce, with stale=true when the old one merely aged).
 */
export async function credentialsOrChallenge(
  env: Env,
  header: string,
  realm: string,
  status: 401 | 407,
  now: number,
): Promise<{ digest: DigestCredentials } | { decision: Decision }> {
  const digest = header.trim() === "" ? null : parseDigestAuthorization(header);
  if (!digest || digest.realm !== realm) return { decision: await challengeFor(env, status, realm, false, now) };
  const nonce = await checkNonce(nonceSecret(env), realm, digest.nonce, now, nonceLifetime(env));
  if (nonce !== "valid") return { decision: await challengeFor(env, status, realm, nonce === "stale", now) };
  return { digest };
}
