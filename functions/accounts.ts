// Addressing an account's AccountRegistrar object.
// The object is named by the account's realm, so a switch callback that carries a realm reaches it
// with no lookup; the API addresses it by its id (the object id, hex), which encodes its jurisdiction.
import type { AccountRegistrar } from "../durable-objects/account-registrar/AccountRegistrar";
import type { Env } from "./env";

export type Jurisdiction = "eu";

/**
 * The object id for a realm. workerd (the local runtime) has no jurisdictions; with
 * JURISDICTIONS=emulated (set for `npm start` and tests) an EU account's object is named
 * `eu:<realm>` in the default namespace instead, so the separation is still exercised.
 * In production the jurisdiction-bound namespace is used and never silently replaced.
 */
export function objectIdForRealm(env: Env, realm: string, jurisdiction: Jurisdiction | null): DurableObjectId {
  if (jurisdiction === null) return env.REGISTRAR.idFromName(realm);
  if (env.JURISDICTIONS === "emulated") return env.REGISTRAR.idFromName(`${jurisdiction}:${realm}`);
  return env.REGISTRAR.jurisdiction(jurisdiction).idFromName(realm);
}

/** The account id for a realm: the hex form of its object id. */
export function accountIdForRealm(env: Env, realm: string, jurisdiction: Jurisdiction | null): string {
  return objectIdForRealm(env, realm, jurisdiction).toString();
}

/** The account's object from a realm (switch callbacks: no catalog round trip). */
export function registrarForRealm(env: Env, realm: string, jurisdiction: Jurisdiction | null): DurableObjectStub<AccountRegistrar> {
  return env.REGISTRAR.get(objectIdForRealm(env, realm, jurisdiction));
}

/** The account's object from its id; null when the text is not an id of this namespace. */
export function registrarForId(
  env: Env,
  accountId: string,
  locationHint?: DurableObjectLocationHint,
): DurableObjectStub<AccountRegistrar> | null {
  if (!/^[0-9a-f]{64}$/.test(accountId)) return null;
  try {
    const id = env.REGISTRAR.idFromString(accountId);
    return env.REGISTRAR.get(id, locationHint ? { locationHint } : undefined);
  } catch {
    return null;
  }
}
