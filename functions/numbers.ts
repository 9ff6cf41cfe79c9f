// A dialed number (DID) of any account: the catalog says whose it is, that account's object says where it rings.
import { eq, inArray } from "drizzle-orm";
import type { AccountRegistrar } from "../durable-objects/account-registrar/AccountRegistrar";
import type { DestinationResult } from "../durable-objects/account-registrar/records";
import { numberCandidates } from "../registrar/routing";
import { numbers } from "../catalog/schema";
import { registrarForId } from "./accounts";
import { catalog } from "./catalog";
import type { Env } from "./env";

/** `serves`: the accounts the asking switch may act for (a number of any other account is unknown to it). */
export async function locateNumber(env: Env, dialed: string, serves: (accountId: string) => boolean): Promise<DestinationResult> {
  const candidates = numberCandidates(dialed);
  if (candidates.length === 0) return { kind: "unknown" };
  const owner = await catalog(env)
    .select({ accountId: numbers.accountId, number: numbers.number })
    .from(numbers)
    .where(candidates.length === 1 ? eq(numbers.number, candidates[0]!) : inArray(numbers.number, candidates))
    .get();
  if (!owner || !serves(owner.accountId)) return { kind: "unknown" };
  const registrar = registrarForId(env, owner.accountId);
  return registrar ? destinationIn(registrar, owner.number) : { kind: "unknown" };
}

/** A destination looked up in one account, no caller to authenticate: a device by username, then a number. */
export async function destinationIn(registrar: DurableObjectStub<AccountRegistrar>, destination: string): Promise<DestinationResult> {
  const routed = await registrar.route({ caller: null, destination });
  // With no caller there is no call policy to send it elsewhere.
  return routed.status === "authorized" && routed.destination !== null && routed.destination.kind !== "elsewhere" ? routed.destination : { kind: "unknown" };
}
