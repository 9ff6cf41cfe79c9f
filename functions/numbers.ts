// A dialed number (DID) of any account: the catalog says whose it is, that account's object says where it rings.
import { eq, inArray } from "drizzle-orm";
import type { AccountRegistrar } from "../durable-objects/account-registrar/AccountRegistrar";
import type { DestinationResult } from "../durable-objects/account-registrar/records";
import { numberCandidates } from "../registrar/routing";
import { accounts, numbers } from "../catalog/schema";
import { registrarForId } from "./accounts";
import { catalog } from "./catalog";
import type { Env } from "./env";
import type { SwitchIdentity } from "./switches/credentials";
import { servesAccount } from "./switches/scope";

/**
 * The device a dialed number rings, for switch `asking`: one catalog read (the number's owner and
 * the owner's jurisdiction), then one round trip to the owner's object. A number of an account the
 * switch does not serve (outside its list, or of another jurisdiction) is unknown to it.
 */
export async function locateNumber(env: Env, dialed: string, asking: SwitchIdentity): Promise<DestinationResult> {
  const candidates = numberCandidates(dialed);
  if (candidates.length === 0) return { kind: "unknown" };
  const owner = await catalog(env)
    .select({ accountId: numbers.accountId, number: numbers.number, jurisdiction: accounts.jurisdiction })
    .from(numbers)
    .innerJoin(accounts, eq(accounts.id, numbers.accountId))
    .where(candidates.length === 1 ? eq(numbers.number, candidates[0]!) : inArray(numbers.number, candidates))
    .get();
  if (!owner || !servesAccount(asking, { id: owner.accountId, jurisdiction: owner.jurisdiction })) return { kind: "unknown" };
  const registrar = registrarForId(env, owner.accountId);
  return registrar ? destinationIn(registrar, owner.number) : { kind: "unknown" };
}

/** A destination looked up in one account, no caller to authenticate: a device by username, then a number. */
export async function destinationIn(registrar: DurableObjectStub<AccountRegistrar>, destination: string): Promise<DestinationResult> {
  const routed = await registrar.route({ caller: null, destination });
  // With no caller there is no call policy to send it elsewhere.
  return routed.status === "authorized" && routed.destination !== null && routed.destination.kind !== "elsewhere" ? routed.destination : { kind: "unknown" };
}
