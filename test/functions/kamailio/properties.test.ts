// Whatever a proxy sends, the edge answers a decision or an HTTP 4xx problem, never a 500, and
// nothing is written unless the REGISTER carried the device's right digest.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { registrarForId } from "../../../functions/accounts";
import { issueNonce } from "../../../registrar/nonce";
import { addDevice, createSwitch, freshAccount, type TestSwitch } from "../freeswitch/support";
import { kamailio } from "./support";

let sw: TestSwitch;
let accountId: string;
let nonce: string;

beforeAll(async () => {
  accountId = (await freshAccount("acme.test", { lockout: { threshold: 100 } })).id;
  await addDevice(accountId, "1001", "alice-pass-1001");
  sw = await createSwitch("sip:127.0.0.2:5060");
  nonce = await issueNonce(env.SWITCH_SIGNING_KEY, "acme.test", { source: "127.0.0.1:5070", callId: "c1" }, Date.now());
});

const stored = async () => JSON.stringify(await registrarForId(env, accountId)!.listBindings({}, 500, null));

const authorizationArb = fc.oneof(
  fc.constant(""),
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.constant(`Digest username="1001", realm="acme.test", nonce="${"x".repeat(10)}", uri="sip:x", response="00"`),
  fc
    .record({
      username: fc.constantFrom("1001", "", "1001\"", "x".repeat(500)),
      realm: fc.constantFrom("acme.test", "other.test", ""),
      nonce: fc.oneof(fc.string(), fc.constant("NONCE")),
      response: fc.stringMatching(/^[0-9a-f]{32}$/),
      qop: fc.constantFrom("auth", "auth-int", ""),
    })
    .map((d) => `Digest username="${d.username}", realm="${d.realm}", nonce="${d.nonce === "NONCE" ? nonce : d.nonce}", uri="sip:127.0.0.2", response="${d.response}", qop=${d.qop}, nc=00000001, cnonce="abc"`),
);

const contactArb = fc.oneof(
  fc.string(),
  fc.constant("*"),
  fc.array(fc.constantFrom("<sip:1001@10.0.0.1>", "sip:1001@10.0.0.2;expires=0", "<sip:1001@10.0.0.3>;expires=x;q=9", '"a,b" <sip:1001@h>', "<>", "<sip:"), {
    maxLength: 40,
  }).map((list) => list.join(",")),
);

const textArb = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.constantFrom("", "sip:1001@acme.test", "1", "-1", "99999999999999999999"));

describe("kamailio bodies", () => {
  it("authorize never answers a 500 and never writes without the right digest", async () => {
    const before = await stored();
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            method: fc.constantFrom("REGISTER", "register", "INVITE", ""),
            requestUri: textArb,
            to: fc.oneof(textArb, fc.constant("sip:1001@acme.test")),
            from: textArb,
            authorization: authorizationArb,
            source: textArb,
            contact: contactArb,
            expires: textArb,
            callId: textArb,
            cseq: textArb,
            path: textArb,
            supported: textArb,
            userAgent: textArb,
          },
          // Missing fields are an HTTP 400 (tested elsewhere): keep the ones that reach the digest.
          { requiredKeys: ["method", "requestUri", "to", "source", "callId", "cseq"] },
        ),
        async (body) => {
          const reply = await kamailio("authorize", body, sw);
          expect(reply.status).not.toBe(500);
          if (reply.status === 200) {
            seen.add(reply.body.status);
            expect(typeof reply.body.status).toBe("number");
            expect(reply.body.status).not.toBe(200); // no right digest anywhere in these bodies
            expect(typeof reply.body.reason).toBe("string");
          } else {
            expect(reply.status).toBe(400);
            expect(reply.contentType).toBe("application/problem+json");
          }
        },
      ),
      { numRuns: 150 },
    );
    expect(await stored()).toBe(before);
    // The runs reached the digest checks, not only the shape checks.
    expect(seen.has(401)).toBe(true);
  });

  it("locate never answers a 500, and untrusted callers without the right digest get no targets", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            method: fc.constantFrom("INVITE", "MESSAGE", ""),
            requestUri: fc.oneof(textArb, fc.constantFrom("sip:1001@acme.test", "sip:+14155550100@x")),
            from: fc.oneof(textArb, fc.constant("sip:1001@acme.test")),
            authorization: authorizationArb,
            source: textArb,
            callId: textArb,
            trusted: fc.constantFrom("false", "maybe"),
          },
          { requiredKeys: ["requestUri", "source", "from", "callId"] },
        ),
        async (body) => {
          const reply = await kamailio("locate", body, sw);
          expect(reply.status).not.toBe(500);
          if (reply.status === 200) expect(reply.body.targets).toBeUndefined();
          else expect(reply.status).toBe(400);
        },
      ),
      { numRuns: 150 },
    );
  });
});
