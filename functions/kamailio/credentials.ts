// Reading a device's digest out of a proxy's request and checking the edge's own nonce in it.
import { isDigestAnswer, parseDigestAuthorization, type DigestCredentials } from "../../registrar/digest";
import { challengeAlgorithms, checkNonce, digestChallenges, issueNonce, type NonceBinding } from "../../registrar/nonce";
import { sameSipUri } from "../../registrar/uri-equality";
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

/** The request a challenge answers or a digest comes with, as the proxy reports it. */
export interface Asked extends NonceBinding {
  realm: string;
  status: 401 | 407;
  requestUri: string;
}

/**
 * A challenge with a fresh nonce issued for this request's source and Call-ID: one header per
 * algorithm offered (`DIGEST_ALGORITHMS`, SHA-256 then MD5 by default).
 */
export async function challengeFor(env: Env, asked: Asked, stale: boolean, now: number): Promise<Decision> {
  const nonce = await issueNonce(nonceSecret(env), asked.realm, asked, now);
  return challenge(asked.status, digestChallenges(asked.realm, nonce, stale, challengeAlgorithms(env.DIGEST_ALGORITHMS)));
}

/** A digest whose nonce the edge issued for this request: what the account's object checks next. */
export interface OfferedDigest {
  digest: DigestCredentials;
  /** When the nonce stops being accepted: the object remembers its uses until then. */
  nonceExpiresAt: number;
}

/**
 * The digest in an Authorization / Proxy-Authorization header, when it is for this realm, signs
 * this request's Request-URI, and carries a nonce the edge issued for this source and Call-ID that
 * is still fresh; otherwise the challenge to answer (a fresh nonce, with stale=true when the old
 * one merely aged). None of these counts as a wrong password, nor does a header that carries no
 * answer at all (an empty or cut-short response).
 */
export async function credentialsOrChallenge(env: Env, header: string, asked: Asked, now: number): Promise<OfferedDigest | { decision: Decision }> {
  const digest = header.trim() === "" ? null : parseDigestAuthorization(header);
  if (!digest || !isDigestAnswer(digest) || digest.realm !== asked.realm || !sameSipUri(digest.uri, asked.requestUri)) {
    return { decision: await challengeFor(env, asked, false, now) };
  }
  const nonce = await checkNonce(nonceSecret(env), asked.realm, digest.nonce, asked, now, nonceLifetime(env));
  if (nonce.verdict !== "valid") return { decision: await challengeFor(env, asked, nonce.verdict === "stale", now) };
  return { digest, nonceExpiresAt: nonce.expiresAt };
}
