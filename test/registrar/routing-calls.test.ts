// The one rule both switches follow for a device's call: which account it is looked up in.
import { describe, expect, it } from "vitest";
import { calleeAccount, DEFAULT_CALL_POLICY } from "../../registrar/routing";

const A = { accountId: "a".repeat(64), realm: "alpha.test", calls: DEFAULT_CALL_POLICY };
const B = { realm: "bravo.test", accountId: "b".repeat(64) };

describe("calleeAccount", () => {
  it("keeps a call in the caller's account when the request names no host, its own realm, or its own account", () => {
    expect(calleeAccount(A, null)).toEqual({ kind: "own" });
    expect(calleeAccount(A, { realm: "alpha.test", accountId: A.accountId })).toEqual({ kind: "own" });
    expect(calleeAccount({ ...A, calls: { allowedAccounts: [B.accountId] } }, { realm: "alpha.test", accountId: B.accountId })).toEqual({ kind: "own" });
    // The caller's own account under another host name stays its own, even when the policy lists it.
    expect(calleeAccount({ ...A, calls: { allowedAccounts: [A.accountId] } }, { realm: "ALPHA.test", accountId: A.accountId })).toEqual({ kind: "own" });
  });

  it("keeps a call for another account's realm in the caller's account unless the caller's policy names that account", () => {
    expect(calleeAccount(A, B)).toEqual({ kind: "own" });
    expect(calleeAccount({ ...A, calls: { allowedAccounts: ["c".repeat(64)] } }, B)).toEqual({ kind: "own" });
    expect(calleeAccount({ ...A, calls: { allowedAccounts: ["c".repeat(64), B.accountId] } }, B)).toEqual({ kind: "other", realm: "bravo.test" });
  });

  it("treats a host that is no account of the policy (a switch address) as the caller's own account", () => {
    const open = { ...A, calls: { allowedAccounts: [B.accountId] } };
    expect(calleeAccount(open, { realm: "10.0.0.4", accountId: "d".repeat(64) })).toEqual({ kind: "own" });
  });
});
