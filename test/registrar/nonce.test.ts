// The edge's own digest nonces: bound to realm, source and Call-ID, aged by an injected clock.
import { describe, expect, it } from "vitest";
import { base64url, fromBase64url } from "../../registrar/bytes";
import { challengeAlgorithms, checkNonce, CLOCK_SKEW_MS, digestChallenges, issueNonce } from "../../registrar/nonce";

const SECRET = "nonce-test-secret";
const REALM = "acme.test";
const ASKED = { source: "192.0.2.10:5060", callId: "a84b4c76e66710@pc33" };
const T0 = 1_800_000_000_000;
const LIFETIME = 300;

describe("edge nonces", () => {
  it("a nonce checks valid for the realm, source and Call-ID it was issued for, until its lifetime ends", async () => {
    const nonce = await issueNonce(SECRET, REALM, ASKED, T0);
    expect(await checkNonce(SECRET, REALM, nonce, ASKED, T0, LIFETIME)).toEqual({ verdict: "valid", expiresAt: T0 + LIFETIME * 1000 });
    expect(await checkNonce(SECRET, REALM, nonce, ASKED, T0 + LIFETIME * 1000, LIFETIME)).toMatchObject({ verdict: "valid" });
    expect(await checkNonce(SECRET, REALM, nonce, ASKED, T0 + LIFETIME * 1000 + 1, LIFETIME)).toEqual({ verdict: "stale" });
  });

  it("presented from another source, another port, under another Call-ID or for another realm it is invalid", async () => {
    const nonce = await issueNonce(SECRET, REALM, ASKED, T0);
    for (const [realm, asked] of [
      [REALM, { ...ASKED, source: "198.51.100.7:5060" }],
      [REALM, { ...ASKED, source: "192.0.2.10:5061" }],
      [REALM, { ...ASKED, callId: "another-call@pc33" }],
      ["other.test", ASKED],
    ] as const) {
      expect(await checkNonce(SECRET, realm, nonce, asked, T0, LIFETIME)).toEqual({ verdict: "invalid" });
    }
    // Under another secret (another deployment) too.
    expect(await checkNonce("another-secret", REALM, nonce, ASKED, T0, LIFETIME)).toEqual({ verdict: "invalid" });
  });

  it("texts cannot slide from one bound field into another", async () => {
    const nonce = await issueNonce(SECRET, REALM, { source: "192.0.2.10:5060", callId: "x" }, T0);
    expect(await checkNonce(SECRET, REALM, nonce, { source: "192.0.2.10:506", callId: "0x" }, T0, LIFETIME)).toEqual({ verdict: "invalid" });
  });

  it("a nonce dated in the future is invalid, beyond a few seconds of clock skew", async () => {
    const ahead = await issueNonce(SECRET, REALM, ASKED, T0 + CLOCK_SKEW_MS + 1);
    expect(await checkNonce(SECRET, REALM, ahead, ASKED, T0, LIFETIME)).toEqual({ verdict: "invalid" });
    const farAhead = await issueNonce(SECRET, REALM, ASKED, T0 + 3_600_000);
    expect(await checkNonce(SECRET, REALM, farAhead, ASKED, T0, LIFETIME)).toEqual({ verdict: "invalid" });
    const slightlyAhead = await issueNonce(SECRET, REALM, ASKED, T0 + CLOCK_SKEW_MS);
    expect(await checkNonce(SECRET, REALM, slightlyAhead, ASKED, T0, LIFETIME)).toMatchObject({ verdict: "valid" });
  });

  it("anything that is not a whole nonce of ours is invalid", async () => {
    const nonce = await issueNonce(SECRET, REALM, ASKED, T0);
    for (const text of ["", "not-base64!", nonce.slice(0, -4), `${nonce}AAAA`, "A".repeat(nonce.length)]) {
      expect(await checkNonce(SECRET, REALM, text, ASKED, T0, LIFETIME)).toEqual({ verdict: "invalid" });
    }
  });

  it("a nonce with its issue time moved on, or its random part changed, is invalid: the MAC covers both", async () => {
    const nonce = await issueNonce(SECRET, REALM, ASKED, T0);
    const bytes = fromBase64url(nonce)!;
    // The first 8 bytes are the issue time (ms, big-endian): dated an hour later it would live longer.
    const later = bytes.slice();
    new DataView(later.buffer).setBigUint64(0, BigInt(T0 + 3_600_000));
    expect(await checkNonce(SECRET, REALM, base64url(later), ASKED, T0 + 3_600_000, LIFETIME)).toEqual({ verdict: "invalid" });
    const otherRandom = bytes.slice();
    otherRandom[8] = otherRandom[8]! ^ 1;
    expect(await checkNonce(SECRET, REALM, base64url(otherRandom), ASKED, T0, LIFETIME)).toEqual({ verdict: "invalid" });
    // Unaltered, the same bytes check valid.
    expect(await checkNonce(SECRET, REALM, base64url(bytes), ASKED, T0, LIFETIME)).toMatchObject({ verdict: "valid" });
  });

  it("two nonces issued at the same instant differ", async () => {
    expect(await issueNonce(SECRET, REALM, ASKED, T0)).not.toBe(await issueNonce(SECRET, REALM, ASKED, T0));
  });

  it("challenges: one per algorithm in the order given, the same nonce, realm quoted, stale when asked", () => {
    expect(digestChallenges('a"b\\c', "NONCE", true, ["SHA-256", "MD5"])).toEqual([
      'Digest realm="a\\"b\\\\c", nonce="NONCE", qop="auth", algorithm=SHA-256, stale=true',
      'Digest realm="a\\"b\\\\c", nonce="NONCE", qop="auth", algorithm=MD5, stale=true',
    ]);
    expect(digestChallenges("acme.test", "NONCE", false, ["MD5"])).toEqual(['Digest realm="acme.test", nonce="NONCE", qop="auth", algorithm=MD5']);
  });

  it("the algorithms offered: SHA-256 then MD5 unless configured, unknown names ignored", () => {
    expect(challengeAlgorithms(undefined)).toEqual(["SHA-256", "MD5"]);
    expect(challengeAlgorithms("md5")).toEqual(["MD5"]);
    expect(challengeAlgorithms("MD5, sha-256, MD5")).toEqual(["MD5", "SHA-256"]);
    expect(challengeAlgorithms("SHA-512-256")).toEqual(["SHA-256", "MD5"]);
  });
});
