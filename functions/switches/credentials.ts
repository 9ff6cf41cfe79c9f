// Switch credentials: signed by the edge, checked on every switch callback without a catalog
// round trip. Each isolate keeps a snapshot of the switch list, re-read at most every
// SWITCH_CACHE_TTL_MS, so deleting a switch or rotating its credential takes effect within that.
// Liveness is the exception: a switch the snapshot takes for lost is read again from the catalog
// before a call is refused for it (see `Fleet.recheck`).
import { inArray } from "drizzle-orm";
import { catalog } from "../catalog";
import type { Env } from "../env";
import { base64url, fromBase64url, hmacSha256, hmacVerify } from "../../registrar/bytes";
import { switches } from "../../catalog/schema";
import { DEFAULT_LOST_AFTER_MS, switchState } from "../../registrar/fleet";
import type { PeerSwitch } from "../../registrar/routing";

const PREFIX = "wsc1";
const DEFAULT_TTL_MS = 5_000;
/** An unknown switch id forces a re-read of the list at most this often (a switch just added). */
const UNKNOWN_REFRESH_MS = 1_000;

export type SwitchRow = typeof switches.$inferSelect;

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
 * rotation are still checked on every call (against the switch snapshot below).
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

// ── the isolate's snapshot of the switch list ────────────────────────────────

interface Snapshot {
  loadedAt: number;
  byId: Map<string, SwitchRow>;
}

let snapshot: Snapshot | null = null;
let loading: Promise<Snapshot> | null = null;

async function knownSwitch(env: Env, switchId: string, now: number): Promise<SwitchRow | undefined> {
  const ttl = Number(env.SWITCH_CACHE_TTL_MS ?? DEFAULT_TTL_MS) || DEFAULT_TTL_MS;
  let current = snapshot;
  if (!current || now - current.loadedAt >= ttl) current = await reload(env, now);
  const row = current.byId.get(switchId);
  if (row || now - current.loadedAt < UNKNOWN_REFRESH_MS) return row;
  return (await reload(env, now)).byId.get(switchId);
}

function reload(env: Env, now: number): Promise<Snapshot> {
  loading ??= catalog(env)
    .select()
    .from(switches)
    .all()
    .then((rows) => {
      snapshot = { loadedAt: now, byId: new Map(rows.map((r) => [r.id, r])) };
      return snapshot;
    })
    .finally(() => {
      loading = null;
    });
  return loading;
}

/** The fleet as routing sees it, from this isolate's snapshot; a switch's state is worked out only when asked. */
export interface Fleet {
  peer(switchId: string): PeerSwitch | undefined;
  /** Every switch's peer address (to recognise a hand-over from another switch). */
  addresses(): string[];
  /**
   * Read again from the catalog those of these switches the snapshot takes for lost. A switch's
   * first callback after a silence writes its last-seen time before it is answered (`markAlive`),
   * so a switch heard from since the snapshot was loaded counts as alive at once, in every isolate.
   * Costs one catalog read, and only when a call would otherwise skip a lost switch.
   */
  recheck(switchIds: Iterable<string>): Promise<void>;
}

export async function fleet(env: Env, now: number): Promise<Fleet> {
  const ttl = Number(env.SWITCH_CACHE_TTL_MS ?? DEFAULT_TTL_MS) || DEFAULT_TTL_MS;
  const current = snapshot && now - snapshot.loadedAt < ttl ? snapshot : await reload(env, now);
  const lostAfter = lostAfterMs(env);
  const state = (row: SwitchRow) => switchState(row, now, lostAfter);
  return {
    peer(switchId) {
      const row = current.byId.get(switchId);
      return row && { address: row.address, state: state(row) };
    },
    addresses: () => [...current.byId.values()].map((row) => row.address),
    async recheck(switchIds) {
      const lost = [...new Set(switchIds)].filter((id) => {
        const row = current.byId.get(id);
        return row !== undefined && state(row) === "lost";
      });
      if (lost.length === 0) return;
      const fresh = await catalog(env).select({ id: switches.id, lastSeenAt: switches.lastSeenAt }).from(switches).where(inArray(switches.id, lost)).all();
      for (const { id, lastSeenAt } of fresh) heard(current, id, lastSeenAt);
    },
  };
}

/** Raise a snapshot row's last-seen time (never lower it: the catalog's value only grows). */
function heard(current: Snapshot, switchId: string, lastSeenAt: number | null): void {
  const row = current.byId.get(switchId);
  if (row && lastSeenAt !== null && (row.lastSeenAt === null || lastSeenAt > row.lastSeenAt)) {
    current.byId.set(switchId, { ...row, lastSeenAt });
  }
}

/** This isolate's last-seen time for a switch (null: never seen, or not in the snapshot). */
export function snapshotLastSeen(switchId: string): number | null {
  return snapshot?.byId.get(switchId)?.lastSeenAt ?? null;
}

/** Record in this isolate's snapshot that a switch was heard from (after the catalog was written). */
export function heardInSnapshot(switchId: string, at: number): void {
  if (snapshot) heard(snapshot, switchId, at);
}

export function lostAfterMs(env: Env): number {
  return Number(env.SWITCH_LOST_AFTER_MS ?? DEFAULT_LOST_AFTER_MS) || DEFAULT_LOST_AFTER_MS;
}

/** Forget the snapshot (this isolate only): the API calls it after changing a switch. */
export function forgetSwitchSnapshot(): void {
  snapshot = null;
}
