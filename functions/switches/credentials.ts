// Switch credentials: `wsc1.<claims>.<HMAC>`, signed by the edge with the Worker secret
// SWITCH_SIGNING_KEY and checked on every switch callback without a catalog round trip: the HMAC
// once per isolate and credential, revocation and rotation against the isolate's snapshot of the
// switch list (snapshot.ts) on every call.
import { base64url, fromBase64url, hmacSha256, hmacVerify } from "../../registrar/bytes";
import type { Env } from "../env";
import { knownSwitch } from "./snapshot";

const PREFIX = "wsc1";

export interface SwitchIdentity {
  id: string;
  name: string;
  address: string;
  jurisdiction: "eu" | null;
  /** An operator is moving its devices off: they get a short forced expiry. */
  draining: boolean;
  /** The accounts (ids) this switch may act for; null: every account (see scope.ts). */
  accounts: string[] | null;
}

interface Claims {
  /** switch id */
  s: string;
  /** issued at, ms */
  i: number;
}

export async function issueSwitchCredential(env: Env, switchId: string, issuedAt: number): Promise<string> {
  const payload = base64url(new TextEncoder().encode(JSON.stringify({ s: switchId, i: issuedAt } satisfies Claims)));
  const signature = base64url(await hmacSha256(signingKey(env), `${PREFIX}.${payload}`));
  return `${PREFIX}.${payload}.${signature}`;
}

/**
 * Credentials whose signature this isolate has already checked, with their claims: a switch sends
 * the same credential on every callback, so the HMAC is computed once per isolate. Revocation and
 * rotation are still checked on every call (against the switch snapshot).
 */
const signedClaims = new Map<string, Claims>();
const SIGNED_CLAIMS_KEPT = 1_000;
/** The signing key the remembered claims were checked with; another key forgets them all. */
let claimsCheckedWith: string | null = null;

/** The switch a credential belongs to, or null when it is forged, revoked, rotated away or malformed. */
export async function verifySwitchCredential(env: Env, credential: string, now: number): Promise<SwitchIdentity | null> {
  const key = signingKey(env);
  if (key !== claimsCheckedWith) {
    signedClaims.clear();
    claimsCheckedWith = key;
  }
  const claims = signedClaims.get(credential) ?? (await checkSignature(key, credential));
  if (!claims) return null;
  const row = await knownSwitch(env, claims.s, now);
  if (!row || claims.i < row.credentialNotBefore) return null;
  return {
    id: row.id,
    name: row.name,
    address: row.address,
    jurisdiction: row.jurisdiction === "eu" ? "eu" : null,
    draining: row.draining,
    accounts: row.accounts ?? null,
  };
}

async function checkSignature(key: string, credential: string): Promise<Claims | null> {
  const parts = credential.split(".");
  if (parts.length !== 3 || parts[0] !== PREFIX) return null;
  const [, payload, signatureText] = parts as [string, string, string];
  const signature = fromBase64url(signatureText);
  if (!signature || !(await hmacVerify(key, `${PREFIX}.${payload}`, signature))) return null;
  const claims = parseClaims(payload);
  if (!claims) return null;
  if (claimsCheckedWith !== key) return claims; // the key changed while the HMAC was computed
  if (signedClaims.size >= SIGNED_CLAIMS_KEPT) signedClaims.clear();
  signedClaims.set(credential, claims);
  return claims;
}

function parseClaims(payload: string): Claims | null {
  const bytes = fromBase64url(payload);
  if (!bytes) return null;
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof value !== "object" || value === null) return null;
    const { s, i } = value as Record<string, unknown>;
    return typeof s === "string" && typeof i === "number" ? { s, i } : null;
  } catch {
    return null;
  }
}

function signingKey(env: Env): string {
  const key = env.SWITCH_SIGNING_KEY ?? "";
  if (key.length < 32) throw new Error("SWITCH_SIGNING_KEY is missing or shorter than 32 characters");
  return key;
}
