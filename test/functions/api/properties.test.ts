// Property tests: whatever body a client sends, the API answers a 2xx or a well-formed problem
// document, never a 500, and a refused write leaves the collection as it was.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { REGION_HINTS } from "../../../durable-objects/account-registrar/records";
import { call, createAccount, createDevice, type Reply } from "../../helpers";
import { JSON_TYPE, PROBLEM, listAll } from "./support";

const NUM_RUNS = 80;

/** A body as sent on the wire: JSON text, or any text at all. */
type Wire = { raw: string };

function isJsonSerialisable(value: unknown): boolean {
  try {
    return JSON.stringify(value) !== undefined;
  } catch {
    return false;
  }
}

/** Bodies of every shape: JSON values, JS values that serialise, and arbitrary text. */
const anyBody: fc.Arbitrary<Wire> = fc.oneof(
  fc.jsonValue().map((v) => ({ raw: JSON.stringify(v) })),
  fc
    .anything()
    .filter(isJsonSerialisable)
    .map((v) => ({ raw: JSON.stringify(v) })),
  fc.string().map((raw) => ({ raw })),
  fc.string({ unit: "binary" }).map((raw) => ({ raw })),
  // Almost JSON: a JSON text with one character cut out.
  fc
    .tuple(fc.json(), fc.nat())
    .map(([text, at]) => ({ raw: text.length === 0 ? text : text.slice(0, at % text.length) + text.slice((at % text.length) + 1) })),
);

/** A field that is usually plausible and sometimes any JSON value. */
const either = <T>(plausible: fc.Arbitrary<T>) => fc.oneof({ arbitrary: plausible, weight: 10 }, { arbitrary: fc.jsonValue(), weight: 1 });

/** An object with the route's fields (plausible or not; optional ones sometimes left out) and now and then a stray one. */
function nearlyValid(fields: Record<string, fc.Arbitrary<unknown>>, required: string[]): fc.Arbitrary<Wire> {
  return fc
    .tuple(
      fc.record(fields, { requiredKeys: required }),
      fc.oneof(
        { arbitrary: fc.constant(null), weight: 4 },
        { arbitrary: fc.tuple(fc.string({ minLength: 0, maxLength: 8 }), fc.jsonValue()), weight: 1 },
      ),
    )
    .map(([body, extra]) => ({ raw: JSON.stringify(extra ? { ...body, [extra[0]]: extra[1] } : body) }));
}

const bodies = (fields: Record<string, fc.Arbitrary<unknown>>, required: string[] = []) =>
  fc.oneof({ arbitrary: nearlyValid(fields, required), weight: 2 }, { arbitrary: anyBody, weight: 1 });

// Plausible values are valid ones; invalid values come from `either` (any JSON value) and from `anyBody`.
const seconds = fc.integer({ min: 1, max: 86_400 });
const policy = either(
  fc.record(
    {
      minExpires: either(seconds),
      maxExpires: either(seconds),
      defaultExpires: either(seconds),
      maxBindingsPerDevice: either(fc.integer({ min: 1, max: 100 })),
      overflow: either(fc.constantFrom("reject", "replace_oldest")),
      expiresJitter: either(fc.double({ min: 0, max: 0.5, noNaN: true })),
    },
    { requiredKeys: [] },
  ),
);
const lockout = either(
  fc.record(
    {
      threshold: either(fc.integer({ min: 1, max: 100 })),
      windowSeconds: either(seconds),
      durationSeconds: either(fc.integer({ min: 1, max: 604_800 })),
      deviceThreshold: either(fc.integer({ min: 2, max: 10_000 })),
    },
    { requiredKeys: [] },
  ),
);
const displayName = either(fc.string({ minLength: 1, maxLength: 110 }));
const realm = either(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{2,12}[a-z0-9])?\.prop\.test$/));
const username = either(fc.stringMatching(/^[A-Za-z0-9._~+-]{1,10}$/));
const password = either(fc.string({ minLength: 0, maxLength: 20 }));
const callerIdNumber = either(fc.oneof(fc.constant(null), fc.stringMatching(/^\+?[0-9*#]{1,12}$/)));
/** Every field of a device create or change, each valid or not. */
const deviceFields = {
  username,
  password,
  callerIdName: either(fc.oneof(fc.constant(null), fc.string({ maxLength: 110 }))),
  callerIdNumber,
  enabled: either(fc.boolean()),
};
const e164 = either(fc.oneof(fc.stringMatching(/^\+1415[0-9]{7}$/), fc.string({ maxLength: 16 })));

/** The invariants every answer keeps; `unchanged` is checked only when the write was refused. */
function expectWellFormed(reply: Reply): boolean {
  expect(reply.status).toBeGreaterThanOrEqual(200);
  expect(reply.status).toBeLessThan(500);
  if (reply.status >= 200 && reply.status < 300) {
    expect(reply.contentType).toBe(JSON_TYPE);
    return true;
  }
  expect(reply.contentType).toBe(PROBLEM);
  expect(reply.body.status).toBe(reply.status);
  expect(reply.body.type).toBe(`https://whistle-edge.dev/problems/${reply.status}`);
  expect(Array.isArray(reply.body.errors)).toBe(true);
  expect(reply.body.errors.length).toBeGreaterThan(0);
  for (const error of reply.body.errors) {
    expect(Object.keys(error).sort()).toEqual(["field", "message"]);
    // A field is named by its path; an unknown key "" is named "" (the key itself), so it may be empty.
    expect(typeof error.field).toBe("string");
    expect(typeof error.message).toBe("string");
    expect(error.message.length).toBeGreaterThan(0);
  }
  return false;
}

/** Send each generated body; check the answer and, when refused, that the `state` read back did not change. */
async function holds(method: string, path: () => string, state: () => Promise<unknown>, arbitrary: fc.Arbitrary<Wire>, valid: unknown) {
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(arbitrary, async ({ raw }) => {
      const before = await state();
      const reply = await call(method, path(), { raw });
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      const accepted = expectWellFormed(reply);
      if (!accepted) expect(await state()).toEqual(before);
    }),
    // One known-good body runs first, so the accepted branch is always exercised.
    { numRuns: NUM_RUNS, examples: [[{ raw: JSON.stringify(valid) }]] },
  );
  return statuses;
}

let accountId: string;
let deviceId: string;

beforeAll(async () => {
  accountId = (await createAccount()).id;
  deviceId = (await createDevice(accountId, "7001", "device-7001-pass")).id;
});

describe("arbitrary bodies", () => {
  it("POST /accounts never answers 500 and a refusal creates no account", async () => {
    const statuses = await holds(
      "POST",
      () => "/accounts",
      () => listAll("/accounts"),
      bodies({
        realm,
        name: displayName,
        regionHint: either(fc.constantFrom(...REGION_HINTS)),
        jurisdiction: either(fc.constant("eu")),
        policy,
        lockout,
      }, ["realm", "name"]),
      { realm: "example.prop.test", name: "Example", regionHint: "weur", policy: { maxExpires: 7200 } },
    );
    // The generators reach both sides: some bodies are accepted, some refused.
    expect([...statuses.keys()]).toEqual(expect.arrayContaining([201, 400]));
  });

  it("PATCH /accounts/{id} never answers 500 and a refusal leaves its name and policy as they were", async () => {
    const statuses = await holds(
      "PATCH",
      () => `/accounts/${accountId}`,
      async () => ({ account: await call("GET", `/accounts/${accountId}`), list: await listAll("/accounts") }),
      bodies({ name: displayName, policy, lockout }),
      { name: "Renamed", policy: { defaultExpires: 600 } },
    );
    expect([...statuses.keys()]).toEqual(expect.arrayContaining([200, 400]));
  });

  it("POST devices never answers 500 and a refusal creates no device", async () => {
    const statuses = await holds(
      "POST",
      () => `/accounts/${accountId}/devices`,
      () => listAll(`/accounts/${accountId}/devices`),
      bodies(deviceFields, ["username", "password"]),
      { username: "example", password: "example-pass", callerIdName: "Example" },
    );
    expect([...statuses.keys()]).toEqual(expect.arrayContaining([201, 400]));
  });

  it("PATCH devices never answers 500 and a refusal changes no device", async () => {
    const statuses = await holds(
      "PATCH",
      () => `/accounts/${accountId}/devices/${deviceId}`,
      () => listAll(`/accounts/${accountId}/devices`),
      bodies(deviceFields),
      { callerIdName: "Front desk", enabled: true },
    );
    expect([...statuses.keys()]).toEqual(expect.arrayContaining([200, 400]));
  });

  it("POST numbers never answers 500 and a refusal adds no number", async () => {
    const statuses = await holds(
      "POST",
      () => `/accounts/${accountId}/numbers`,
      () => listAll(`/accounts/${accountId}/numbers`),
      bodies({
        number: e164,
        deviceId: either(fc.oneof(fc.constant(deviceId), fc.constant(null), fc.string({ minLength: 1, maxLength: 70 }))),
      }, ["number"]),
      { number: "+14155557777", deviceId: null },
    );
    expect([...statuses.keys()]).toEqual(expect.arrayContaining([201, 400]));
  });

  it("POST /switches never answers 500 and a refusal adds no switch", async () => {
    const statuses = await holds(
      "POST",
      () => "/switches",
      () => listAll("/switches"),
      bodies({
        name: either(fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/)),
        address: either(fc.oneof(fc.stringMatching(/^sips?:[a-z0-9.:;=]{1,24}$/), fc.string({ maxLength: 30 }))),
        jurisdiction: either(fc.constantFrom("eu", "us")),
      }, ["name", "address"]),
      { name: "example-switch", address: "sip:192.0.2.7:5060" },
    );
    expect([...statuses.keys()]).toEqual(expect.arrayContaining([201, 400]));
  });
});
