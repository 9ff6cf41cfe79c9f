// A switch's scope: the accounts it may act for. A switch created with a list of accounts is
// answered, for any realm outside that list, exactly as for a realm no account has; a switch without
// a list serves every account of its jurisdiction (a single-operator fleet).
import type { AccountRegistrar } from "../../durable-objects/account-registrar/AccountRegistrar";
import { objectIdForRealm } from "../accounts";
import type { Env } from "../env";
import { noteAccount } from "../request-log";
import type { SwitchIdentity } from "./credentials";

/** May this switch act for this account? */
export function serves(caller: SwitchIdentity, accountId: string): boolean {
  return caller.accounts === null || caller.accounts.includes(accountId);
}

/**
 * May this switch act for this account of the catalog (a number's owner)? Only for an account of
 * its own jurisdiction (a realm names an object of the switch's jurisdiction, so no other is ever
 * reached by realm either), and of its list when it has one.
 */
export function servesAccount(caller: SwitchIdentity, account: { id: string; jurisdiction: string | null }): boolean {
  return account.jurisdiction === caller.jurisdiction && serves(caller, account.id);
}

/** The object of the account a switch named by realm; null when the account is outside the switch's scope. */
export function registrarForSwitch(env: Env, caller: SwitchIdentity, realm: string): DurableObjectStub<AccountRegistrar> | null {
  const id = objectIdForRealm(env, realm, caller.jurisdiction);
  const accountId = id.toString();
  if (!serves(caller, accountId)) return null;
  noteAccount(accountId);
  return env.REGISTRAR.get(id);
}

/**
 * Note, for the request's log line, the account a switch names by realm before anything asks its
 * object (a challenge is answered without it); nothing when the account is outside the switch's scope.
 */
export function noteRealm(env: Env, caller: SwitchIdentity, realm: string): void {
  const accountId = objectIdForRealm(env, realm, caller.jurisdiction).toString();
  if (serves(caller, accountId)) noteAccount(accountId);
}
