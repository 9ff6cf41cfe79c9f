// Addressing an account's AccountRegistrar object.
// The object is named by the account's realm, so a switch callback that carries a realm reaches it
// with no lookup; the API addresses it by its id (the object id, hex), which encodes its jurisdiction.
import type { AccountRegistrar } from "../durable-objects/account-registrar/AccountRegistrar";
import type { Env } from "./env";

export type Jurisdiction = "eu";

function namespaceFor(env: Env, jurisdiction: Jurisdiction | null): DurableObjectNamespace<AccountRegistrar> {
  return jurisdiction === null ? env.REGISTRAR : env.REGISTRAR.jurisdiction(jurisdiction);
}

/** The object id for a realm: what the API calls the account id. */
export function accountIdForRealm(env: Env, realm: string, jurisdiction: Jurisdiction | null): string {
  return namespaceFor(env, jurisdiction).idFromName(realm).toString();
}

/** The account's object from a realm (switch callbacks: no catalog round trip). */
export function registrarForRealm(env: Env, realm: string, jurisdiction: Jurisdiction | null): DurableObjectStub<AccountRegistrar> {
  const ns = namespaceFor(env, jurisdiction);
  return ns.get(ns.idFromName(realm));
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
