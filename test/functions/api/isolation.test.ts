// An account key reaches its own account and nothing else, on every route.
import { beforeAll, describe, expect, it } from "vitest";
import { OPERATOR, accountKey, call, createAccount, createDevice } from "../../helpers";
import { PROBLEM, accountSnapshot, expectJson, expectProblem, listAll, send, uniqueNumber } from "./support";

interface Tenant {
  id: string;
  key: string;
  keyId: string;
  deviceId: string;
  number: string;
}

async function provisionTenant(label: string): Promise<Tenant> {
  const account = await createAccount({ name: label });
  const issued = expectJson(await call("POST", `/accounts/${account.id}/api-keys`, { body: { name: `${label} key` } }), 201);
  const device = await createDevice(account.id, `${label}-1001`, `${label}-s3cret-pass`);
  const number = uniqueNumber();
  expectJson(await call("POST", `/accounts/${account.id}/numbers`, { body: { number, deviceId: device.id } }), 201);
  return { id: account.id, key: `Bearer ${issued.key}`, keyId: issued.apiKey.id, deviceId: device.id, number };
}

interface AccountRoute {
  /** `METHOD /path` as the OpenAPI document names the operation. */
  operation: string;
  path: (target: Tenant) => string;
  body?: unknown;
  /** The field the 403 names: `accountId` for account-scoped checks, `Authorization` for operator-only routes. */
  field: string;
}

/** Every route under /accounts/{accountId}: one row each. */
const ACCOUNT_ROUTES: AccountRoute[] = [
  { operation: "GET /accounts/{accountId}", path: (t) => `/accounts/${t.id}`, field: "accountId" },
  { operation: "PATCH /accounts/{accountId}", path: (t) => `/accounts/${t.id}`, body: { name: "taken over", policy: { maxExpires: 7200 } }, field: "accountId" },
  // Deleting an account is operator-only, so an account key is refused for that reason first.
  { operation: "DELETE /accounts/{accountId}", path: (t) => `/accounts/${t.id}`, field: "Authorization" },
  { operation: "POST /accounts/{accountId}/devices", path: (t) => `/accounts/${t.id}/devices`, body: { username: "intruder", password: "intruder-pass" }, field: "accountId" },
  { operation: "GET /accounts/{accountId}/devices", path: (t) => `/accounts/${t.id}/devices`, field: "accountId" },
  { operation: "GET /accounts/{accountId}/devices/{deviceId}", path: (t) => `/accounts/${t.id}/devices/${t.deviceId}`, field: "accountId" },
  { operation: "PATCH /accounts/{accountId}/devices/{deviceId}", path: (t) => `/accounts/${t.id}/devices/${t.deviceId}`, body: { enabled: false, password: "hijacked-pass" }, field: "accountId" },
  { operation: "DELETE /accounts/{accountId}/devices/{deviceId}", path: (t) => `/accounts/${t.id}/devices/${t.deviceId}`, field: "accountId" },
  { operation: "GET /accounts/{accountId}/devices/{deviceId}/lockout", path: (t) => `/accounts/${t.id}/devices/${t.deviceId}/lockout`, field: "accountId" },
  { operation: "DELETE /accounts/{accountId}/devices/{deviceId}/lockout", path: (t) => `/accounts/${t.id}/devices/${t.deviceId}/lockout`, field: "accountId" },
  { operation: "GET /accounts/{accountId}/lockouts", path: (t) => `/accounts/${t.id}/lockouts`, field: "accountId" },
  { operation: "POST /accounts/{accountId}/numbers", path: (t) => `/accounts/${t.id}/numbers`, body: { number: "+14155559999" }, field: "accountId" },
  { operation: "GET /accounts/{accountId}/numbers", path: (t) => `/accounts/${t.id}/numbers`, field: "accountId" },
  { operation: "GET /accounts/{accountId}/numbers/{number}", path: (t) => `/accounts/${t.id}/numbers/${encodeURIComponent(t.number)}`, field: "accountId" },
  { operation: "PATCH /accounts/{accountId}/numbers/{number}", path: (t) => `/accounts/${t.id}/numbers/${encodeURIComponent(t.number)}`, body: { deviceId: null }, field: "accountId" },
  { operation: "DELETE /accounts/{accountId}/numbers/{number}", path: (t) => `/accounts/${t.id}/numbers/${encodeURIComponent(t.number)}`, field: "accountId" },
  { operation: "POST /accounts/{accountId}/imports", path: (t) => `/accounts/${t.id}/imports`, body: [{ username: "intruder", password: "intruder-pass" }], field: "accountId" },
  { operation: "GET /accounts/{accountId}/imports", path: (t) => `/accounts/${t.id}/imports`, field: "accountId" },
  { operation: "GET /accounts/{accountId}/imports/{importId}", path: (t) => `/accounts/${t.id}/imports/imp_unknown`, field: "accountId" },
  { operation: "GET /accounts/{accountId}/exports/devices", path: (t) => `/accounts/${t.id}/exports/devices`, field: "accountId" },
  { operation: "GET /accounts/{accountId}/exports/numbers", path: (t) => `/accounts/${t.id}/exports/numbers`, field: "accountId" },
  { operation: "GET /accounts/{accountId}/registrations", path: (t) => `/accounts/${t.id}/registrations`, field: "accountId" },
  { operation: "DELETE /accounts/{accountId}/registrations/{registrationId}", path: (t) => `/accounts/${t.id}/registrations/1`, field: "accountId" },
  { operation: "POST /accounts/{accountId}/api-keys", path: (t) => `/accounts/${t.id}/api-keys`, body: { name: "backdoor" }, field: "accountId" },
  { operation: "GET /accounts/{accountId}/api-keys", path: (t) => `/accounts/${t.id}/api-keys`, field: "accountId" },
  { operation: "DELETE /accounts/{accountId}/api-keys/{keyId}", path: (t) => `/accounts/${t.id}/api-keys/${t.keyId}`, field: "accountId" },
  { operation: "GET /accounts/{accountId}/events", path: (t) => `/accounts/${t.id}/events`, field: "accountId" },
  { operation: "GET /accounts/{accountId}/metrics", path: (t) => `/accounts/${t.id}/metrics`, field: "accountId" },
  { operation: "POST /accounts/{accountId}/webhooks", path: (t) => `/accounts/${t.id}/webhooks`, body: { url: "https://hooks.example.net/steal" }, field: "accountId" },
  { operation: "GET /accounts/{accountId}/webhooks", path: (t) => `/accounts/${t.id}/webhooks`, field: "accountId" },
  { operation: "DELETE /accounts/{accountId}/webhooks/{webhookId}", path: (t) => `/accounts/${t.id}/webhooks/wh_unknown`, field: "accountId" },
  { operation: "GET /accounts/{accountId}/webhooks/{webhookId}/dead-letters", path: (t) => `/accounts/${t.id}/webhooks/wh_unknown/dead-letters`, field: "accountId" },
];

interface OperatorRoute {
  operation: string;
  path: (ctx: { own: Tenant; switchId: string }) => string;
  body?: unknown;
}

/** Routes only the operator key may use. */
const OPERATOR_ROUTES: OperatorRoute[] = [
  { operation: "POST /accounts", path: () => "/accounts", body: { realm: "rogue.sip.test", name: "Rogue" } },
  { operation: "DELETE /accounts/{accountId}", path: ({ own }) => `/accounts/${own.id}` },
  // Numbers enter and leave an account only through the operator (its inventory), even the key's own account.
  { operation: "POST /accounts/{accountId}/numbers", path: ({ own }) => `/accounts/${own.id}/numbers`, body: { number: "+14155559998" } },
  { operation: "DELETE /accounts/{accountId}/numbers/{number}", path: ({ own }) => `/accounts/${own.id}/numbers/${encodeURIComponent(own.number)}` },
  { operation: "POST /switches", path: () => "/switches", body: { name: "rogue-switch", address: "sip:203.0.113.9:5060" } },
  { operation: "GET /switches", path: () => "/switches" },
  { operation: "GET /switches/{switchId}", path: ({ switchId }) => `/switches/${switchId}` },
  { operation: "PATCH /switches/{switchId}", path: ({ switchId }) => `/switches/${switchId}`, body: { address: "sip:203.0.113.66:5060" } },
  { operation: "POST /switches/{switchId}/credential", path: ({ switchId }) => `/switches/${switchId}/credential` },
  { operation: "POST /switches/{switchId}/drain", path: ({ switchId }) => `/switches/${switchId}/drain` },
  { operation: "DELETE /switches/{switchId}/drain", path: ({ switchId }) => `/switches/${switchId}/drain` },
  { operation: "DELETE /switches/{switchId}", path: ({ switchId }) => `/switches/${switchId}` },
];

let a: Tenant;
let b: Tenant;

beforeAll(async () => {
  a = await provisionTenant("alpha");
  b = await provisionTenant("bravo");
});

describe("the route tables", () => {
  it("cover every account-scoped and switch operation the OpenAPI document lists", async () => {
    const doc = await call("GET", "/openapi.json", { auth: null });
    const documented = Object.entries<Record<string, unknown>>(doc.body.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const accountScoped = documented.filter((op) => op.includes("{accountId}")).sort();
    expect(ACCOUNT_ROUTES.map((r) => r.operation).sort()).toEqual(accountScoped);
    const switchOps = documented.filter((op) => op.split(" ")[1]!.startsWith("/switches")).sort();
    expect(OPERATOR_ROUTES.map((r) => r.operation).filter((op) => op.includes("/switches")).sort()).toEqual(switchOps);
  });
});

describe("an account key aimed at another account", () => {
  it.each(ACCOUNT_ROUTES)("$operation is refused with 403 and leaves the other account unchanged", async (route) => {
    const before = await accountSnapshot(b.id);
    const reply = await call(route.operation.split(" ")[0]!, route.path(b), { auth: a.key, body: route.body });
    expectProblem(reply, 403, route.field);
    expect(await accountSnapshot(b.id)).toEqual(before);
    // B's own key still works after the attempt.
    expect((await call("GET", `/accounts/${b.id}`, { auth: b.key })).status).toBe(200);
  });

  it("cannot reach another account's device through its own account path", async () => {
    const reply = await call("GET", `/accounts/${a.id}/devices/${b.deviceId}`, { auth: a.key });
    expectProblem(reply, 404, "deviceId");
    expectProblem(await call("DELETE", `/accounts/${a.id}/devices/${b.deviceId}`, { auth: a.key }), 404, "deviceId");
    expect((await call("GET", `/accounts/${b.id}/devices/${b.deviceId}`)).status).toBe(200);
  });

  it("cannot point its own number at another account's device", async () => {
    const before = await listAll(`/accounts/${a.id}/numbers`);
    const reply = await call("PATCH", `/accounts/${a.id}/numbers/${encodeURIComponent(a.number)}`, { auth: a.key, body: { deviceId: b.deviceId } });
    expectProblem(reply, 422, "deviceId");
    expect(await listAll(`/accounts/${a.id}/numbers`)).toEqual(before);
  });

  it("cannot read or release another account's number through its own account path", async () => {
    expectProblem(await call("GET", `/accounts/${a.id}/numbers/${encodeURIComponent(b.number)}`, { auth: a.key }), 404, "number");
    // Releasing is the operator's alone, so an account key is refused before the number is even looked up.
    expectProblem(await call("DELETE", `/accounts/${a.id}/numbers/${encodeURIComponent(b.number)}`, { auth: a.key }), 403, "Authorization");
    const held = expectJson(await call("GET", `/accounts/${b.id}/numbers/${encodeURIComponent(b.number)}`), 200);
    expect(held.deviceId).toBe(b.deviceId);
  });

  it("cannot revoke another account's key through its own account path", async () => {
    expectProblem(await call("DELETE", `/accounts/${a.id}/api-keys/${b.keyId}`, { auth: a.key }), 404, "keyId");
    expect((await call("GET", `/accounts/${b.id}`, { auth: b.key })).status).toBe(200);
  });
});

describe("operator-only routes", () => {
  it.each(OPERATOR_ROUTES)("$operation refuses an account key with 403 and changes nothing", async (route) => {
    const created = expectJson(await call("POST", "/switches", { body: { name: `sw-${crypto.randomUUID().slice(0, 8)}`, address: "sip:198.51.100.4:5060" } }), 201);
    const switchId: string = created.switch.id;
    const accountsBefore = await listAll("/accounts");
    const switchBefore = await call("GET", `/switches/${switchId}`);
    const switchesBefore = await listAll("/switches");
    const ownBefore = await accountSnapshot(a.id);

    const reply = await call(route.operation.split(" ")[0]!, route.path({ own: a, switchId }), { auth: a.key, body: route.body });
    expectProblem(reply, 403, "Authorization");

    expect(await listAll("/accounts")).toEqual(accountsBefore);
    expect(await listAll("/switches")).toEqual(switchesBefore);
    expect(await call("GET", `/switches/${switchId}`)).toEqual(switchBefore);
    expect(await accountSnapshot(a.id)).toEqual(ownBefore);
  });
});

describe("numbers with an account key", () => {
  it("points the account's own numbers at its devices and back, but cannot take a free number", async () => {
    const path = `/accounts/${a.id}/numbers/${encodeURIComponent(a.number)}`;
    expect(expectJson(await call("PATCH", path, { auth: a.key, body: { deviceId: null } }), 200)).toMatchObject({ number: a.number, deviceId: null });
    expect(expectJson(await call("PATCH", path, { auth: a.key, body: { deviceId: a.deviceId } }), 200)).toMatchObject({ number: a.number, deviceId: a.deviceId });

    const free = uniqueNumber();
    expectProblem(await call("POST", `/accounts/${a.id}/numbers`, { auth: a.key, body: { number: free, deviceId: a.deviceId } }), 403, "Authorization");
    // Not in its inventory: pointing it is a 404, and the number stays free for the operator to give to anyone.
    expectProblem(await call("PATCH", `/accounts/${a.id}/numbers/${encodeURIComponent(free)}`, { auth: a.key, body: { deviceId: a.deviceId } }), 404, "number");
    expect(expectJson(await call("POST", `/accounts/${b.id}/numbers`, { body: { number: free } }), 201)).toMatchObject({ number: free, deviceId: null });
    expectProblem(await call("GET", `/accounts/${a.id}/numbers/${encodeURIComponent(free)}`, { auth: a.key }), 404, "number");
  });
});

describe("listing accounts with an account key", () => {
  it("shows only the key's own account", async () => {
    const page = expectJson(await call("GET", "/accounts", { auth: a.key }), 200);
    expect(page.items.map((item: { id: string }) => item.id)).toEqual([a.id]);
    expect(page.next).toBeNull();
    const all = (await listAll("/accounts")).map((item) => (item as { id: string }).id);
    expect(all).toEqual(expect.arrayContaining([a.id, b.id]));
  });

  it("with an `after` cursor past its own account shows nothing", async () => {
    const page = expectJson(await call("GET", `/accounts?after=${a.id}`, { auth: a.key }), 200);
    expect(page).toEqual({ items: [], next: null });
  });
});

describe("authentication", () => {
  it("a revoked account key is refused with 401 on its next call", async () => {
    const account = await createAccount();
    const key = await accountKey(account.id);
    const keys = expectJson(await call("GET", `/accounts/${account.id}/api-keys`), 200);
    expect(keys.items).toHaveLength(1);
    expect((await call("GET", `/accounts/${account.id}`, { auth: key })).status).toBe(200);
    expectJson(await call("DELETE", `/accounts/${account.id}/api-keys/${keys.items[0].id}`), 200);
    const reply = await call("GET", `/accounts/${account.id}`, { auth: key });
    expectProblem(reply, 401, "Authorization");
  });

  const CREDENTIALS: { name: string; headers: Record<string, string>; message: string }[] = [
    { name: "no Authorization header", headers: {}, message: "missing API key" },
    { name: "a wrong operator-like key", headers: { authorization: "Bearer not-the-operator-key-0123456789" }, message: "unknown or revoked API key" },
    { name: "a well-formed account key that was never issued", headers: { authorization: `Bearer wek_${"0".repeat(20)}_${"A".repeat(32)}` }, message: "unknown or revoked API key" },
    { name: "a Bearer scheme with no token", headers: { authorization: "Bearer" }, message: "missing API key" },
    { name: "a Bearer token with spaces", headers: { authorization: "Bearer two words" }, message: "missing API key" },
    { name: "the operator key under the Basic scheme", headers: { authorization: `Basic ${OPERATOR.slice("Bearer ".length)}` }, message: "missing API key" },
  ];

  it.each(CREDENTIALS)("$name gets 401 with a problem document and WWW-Authenticate", async ({ headers, message }) => {
    for (const [method, path] of [
      ["GET", "/accounts"],
      ["GET", `/accounts/${a.id}`],
      ["GET", "/switches"],
    ] as const) {
      const reply = await send(method, path, { headers });
      expect(reply.status).toBe(401);
      expect(reply.headers.get("content-type")).toBe(PROBLEM);
      expect(reply.headers.get("www-authenticate")).toBe('Bearer realm="whistle-edge"');
      expect(JSON.parse(reply.text)).toEqual({
        type: "https://whistle-edge.dev/problems/401",
        title: "Unauthorized",
        status: 401,
        detail: expect.any(String),
        errors: [{ field: "Authorization", message }],
      });
    }
  });

  it("a refused write without a key creates nothing", async () => {
    const before = await listAll(`/accounts/${a.id}/devices`);
    const reply = await send("POST", `/accounts/${a.id}/devices`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "anon", password: "anon-password" }),
    });
    expect(reply.status).toBe(401);
    expect(await listAll(`/accounts/${a.id}/devices`)).toEqual(before);
  });
});
