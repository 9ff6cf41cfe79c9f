// REGISTER digests the object verified lately (FreeSWITCH directory `sip_auth`), by device, switch
// and device address: what a switch's `sofia::register` report must be vouched for by
// (registrar/proof.ts). In memory only: a proof matters for seconds, and the object is awake between
// a switch's sip_auth and its event, which follow each other within milliseconds. Bounded: the
// oldest proofs are forgotten first.
import { proofKey, vouches, type RegisterProofKey } from "../../registrar/proof";

export class RegisterProofs {
  private readonly verifiedAt = new Map<string, number>();

  constructor(private readonly limit = 10_000) {}

  note(key: RegisterProofKey, now: number): void {
    const text = proofKey(key);
    this.verifiedAt.delete(text);
    this.verifiedAt.set(text, now);
    if (this.verifiedAt.size > this.limit) this.verifiedAt.delete(this.verifiedAt.keys().next().value!);
  }

  vouches(key: RegisterProofKey, now: number): boolean {
    return vouches(this.verifiedAt.get(proofKey(key)), now);
  }
}
