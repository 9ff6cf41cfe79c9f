// What each resource of the provisioning API does: accounts, devices, numbers, API keys, switches.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { verifySwitchCredential } from "../../../functions/switches/credentials";
import { freezeClock } from "../../clock";
import { accountKey, call, createAccount, createDevice, uniqueRealm } from "../../helpers";
import { expectJson, expectProblem, listAll, uniqueNumber } from "./support";

/** The documented defaults; the policy may carry more fields than these. */
const DEFAULTS = { minExpires: 60, maxExpires: 3600, defaultExpires: 300, maxBindingsPerDevice: 5, overflow: "reject" };
let DEFAULT_POLICY: Record<string, unknown>;

beforeAll(async () => {
  // The policy an account gets when none is given: the baseline every merge below starts from.
  DEFAULT_POLICY = (await createAccount()).policy;
});

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe("accounts", () => {
  it("an account created without a policy gets the documented defaults", () => {
    expect(DEFAULT_POLICY).toMatchObject(DEFAULTS);
  });

  it("an account is created with the default policy merged under the one given, and read back the same", async () => {
    const realm = uniqueRealm();
    const created = expectJson(
      await call("POST", "/accounts", { body: { realm, name: "Acme Ltd", regionHint: "weur", policy: { maxExpires: 7200, overflow: "replace_oldest" } } }),
      201,
    );
    expect(created).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f]{64}$/),
      realm,
      name: "Acme Ltd",
      regionHint: "weur",
      jurisdiction: null,
      policy: { ...DEFAULT_POLICY, maxExpires: 7200, overflow: "replace_oldest" },
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
    expect(expectJson(await call("GET", `/accounts/${created.id}`), 200)).toEqual(created);
    const listed = (await listAll("/accounts")).find((a) => (a as { id: string }).id === created.id);
    expect(listed).toEqual({ id: created.id, realm, name: "Acme Ltd", regionHint: "weur", jurisdiction: null, createdAt: created.createdAt });
  });

  it("the same realm always gets the same account id", async () => {
    const realm = uniqueRealm();
    const first = expectJson(await call("POST", "/accounts", { body: { realm, name: "First" } }), 201);
    expectJson(await call("DELETE", `/accounts/${first.id}`), 200);
    const again = expectJson(await call("POST", "/accounts", { body: { realm, name: "Again" } }), 201);
    expect(again.id).toBe(first.id);
  });

  it("PATCH merges the policy: fields not sent keep their values", async () => {
    const account = await createAccount({ policy: { minExpires: 120 } });
    const renamed = expectJson(await call("PATCH", `/accounts/${account.id}`, { body: { name: "Renamed" } }), 200);
    expect(renamed).toMatchObject({ name: "Renamed", policy: { ...DEFAULT_POLICY, minExpires: 120 } });
    const changed = expectJson(await call("PATCH", `/accounts/${account.id}`, { body: { policy: { maxBindingsPerDevice: 2, defaultExpires: 600 } } }), 200);
    expect(changed).toMatchObject({ name: "Renamed", policy: { ...DEFAULT_POLICY, minExpires: 120, maxBindingsPerDevice: 2, defaultExpires: 600 } });
    expect(changed.realm).toBe(account.realm);
    expect(expectJson(await call("GET", `/accounts/${account.id}`), 200)).toEqual(changed);
  });

  it("an account key may rename its own account", async () => {
    const account = await createAccount();
    const key = await accountKey(account.id);
    const renamed = expectJson(await call("PATCH", `/accounts/${account.id}`, { auth: key, body: { name: "Self-service" } }), 200);
    expect(renamed.name).toBe("Self-service");
  });

  it("deleting an account removes its devices, numbers and keys, frees its realm and numbers, and revokes its keys", async () => {
    const account = await createAccount();
    const key = await accountKey(account.id);
    const device = await createDevice(account.id, "1001", "device-1001-pass");
    const number = uniqueNumber();
    expectJson(await call("POST", `/accounts/${account.id}/numbers`, { body: { number, deviceId: device.id } }), 201);

    expect(expectJson(await call("DELETE", `/accounts/${account.id}`), 200)).toEqual({ deleted: account.id });

    expectProblem(await call("GET", `/accounts/${account.id}`), 404, "accountId");
    expectProblem(await call("GET", `/accounts/${account.id}/devices`), 404, "accountId");
    expectProblem(await call("GET", `/accounts/${account.id}/numbers`), 404, "accountId");
    expectProblem(await call("GET", `/accounts/${account.id}/api-keys`), 404, "accountId");
    expectProblem(await call("DELETE", `/accounts/${account.id}`), 404, "accountId");
    expect((await listAll("/accounts")).map((a) => (a as { id: string }).id)).not.toContain(account.id);
    expectProblem(await call("GET", `/accounts/${account.id}`, { auth: key }), 401, "Authorization");

    // The realm can be used again, and the new account starts empty.
    const reborn = expectJson(await call("POST", "/accounts", { body: { realm: account.realm, name: "Reborn" } }), 201);
    expect(reborn.id).toBe(account.id);
    expect(reborn.policy).toEqual(DEFAULT_POLICY);
    expect(await listAll(`/accounts/${reborn.id}/devices`)).toEqual([]);
    expect(await listAll(`/accounts/${reborn.id}/numbers`)).toEqual([]);
    expect(await listAll(`/accounts/${reborn.id}/api-keys`)).toEqual([]);
    expectProblem(await call("GET", `/accounts/${reborn.id}`, { auth: key }), 401, "Authorization");

    // The number went back to the pool.
    const other = await createAccount();
    expectJson(await call("POST", `/accounts/${other.id}/numbers`, { body: { number } }), 201);
  });
});

describe("devices", () => {
  it("a device is created, read, listed, changed and deleted", async () => {
    const account = await createAccount();
    const base = `/accounts/${account.id}/devices`;
    const created = expectJson(
      await call("POST", base, { body: { username: "1001", password: "device-1001-pass", callerIdName: "Reception", callerIdNumber: "+14155550100" } }),
      201,
    );
    expect(created).toMatchObject({
      id: expect.stringMatching(/^dev_[0-9a-f]{20}$/),
      username: "1001",
      callerIdName: "Reception",
      callerIdNumber: "+14155550100",
      enabled: true,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
    expect(JSON.stringify(created)).not.toContain("device-1001-pass");
    expect(expectJson(await call("GET", `${base}/${created.id}`), 200)).toEqual(created);
    expect(await listAll(base)).toEqual([created]);

    const changed = expectJson(await call("PATCH", `${base}/${created.id}`, { body: { callerIdName: null, callerIdNumber: "200" } }), 200);
    expect(changed).toMatchObject({ id: created.id, username: "1001", callerIdName: null, callerIdNumber: "200", enabled: true, createdAt: created.createdAt });

    expect(expectJson(await call("DELETE", `${base}/${created.id}`), 200)).toEqual({ deleted: created.id });
    expectProblem(await call("GET", `${base}/${created.id}`), 404, "deviceId");
    expect(await listAll(base)).toEqual([]);
  });

  it("a device can be created disabled, then enabled and disabled again", async () => {
    const account = await createAccount();
    const base = `/accounts/${account.id}/devices`;
    const created = expectJson(await call("POST", base, { body: { username: "1002", password: "device-1002-pass", enabled: false } }), 201);
    expect(created.enabled).toBe(false);
    expect(expectJson(await call("PATCH", `${base}/${created.id}`, { body: { enabled: true } }), 200).enabled).toBe(true);
    const disabled = expectJson(await call("PATCH", `${base}/${created.id}`, { body: { enabled: false } }), 200);
    expect(disabled).toMatchObject({ enabled: false, username: "1002" });
    expect(expectJson(await call("GET", `${base}/${created.id}`), 200).enabled).toBe(false);
  });

  it("a new username without a new password is refused with 422 naming `password`, and the device keeps its name", async () => {
    const account = await createAccount();
    const device = await createDevice(account.id, "1003", "device-1003-pass");
    const reply = await call("PATCH", `/accounts/${account.id}/devices/${device.id}`, { body: { username: "1004" } });
    expectProblem(reply, 422, "password");
    expect(expectJson(await call("GET", `/accounts/${account.id}/devices/${device.id}`), 200).username).toBe("1003");
  });

  it("a new username with a new password is accepted, and frees the old username", async () => {
    const account = await createAccount();
    const device = await createDevice(account.id, "1005", "device-1005-pass");
    const renamed = expectJson(
      await call("PATCH", `/accounts/${account.id}/devices/${device.id}`, { body: { username: "1006", password: "device-1006-pass" } }),
      200,
    );
    expect(renamed).toMatchObject({ id: device.id, username: "1006" });
    const reused = await createDevice(account.id, "1005", "another-1005-pass");
    expect(reused.id).not.toBe(device.id);
  });

  it("the same username may exist in two accounts", async () => {
    const first = await createAccount();
    const second = await createAccount();
    await createDevice(first.id, "1001", "device-1001-pass");
    await createDevice(second.id, "1001", "device-1001-pass");
    expect(await listAll(`/accounts/${first.id}/devices`)).toHaveLength(1);
    expect(await listAll(`/accounts/${second.id}/devices`)).toHaveLength(1);
  });

  it("deleting a device points its numbers at the account", async () => {
    const account = await createAccount();
    const device = await createDevice(account.id, "1007", "device-1007-pass");
    const number = uniqueNumber();
    expectJson(await call("POST", `/accounts/${account.id}/numbers`, { body: { number, deviceId: device.id } }), 201);
    expectJson(await call("DELETE", `/accounts/${account.id}/devices/${device.id}`), 200);
    expect(expectJson(await call("GET", `/accounts/${account.id}/numbers/${encodeURIComponent(number)}`), 200).deviceId).toBeNull();
  });

  it("pages of 3 through 7 devices show each device exactly once, in order, and end with next null", async () => {
    const account = await createAccount();
    const created: string[] = [];
    for (let i = 0; i < 7; i += 1) created.push((await createDevice(account.id, `30${i}`, `device-30${i}-pass`)).id);

    const seen: string[] = [];
    const pageSizes: number[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 10; guard += 1) {
      const query: string = after === null ? "?limit=3" : `?limit=3&after=${encodeURIComponent(after)}`;
      const page = expectJson(await call("GET", `/accounts/${account.id}/devices${query}`), 200);
      pageSizes.push(page.items.length);
      seen.push(...page.items.map((d: { id: string }) => d.id));
      if (page.next !== null) expect(page.next).toBe(page.items.at(-1).id);
      after = page.next;
      if (after === null) break;
    }
    expect(pageSizes).toEqual([3, 3, 1]);
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(new Set(created));
    expect(seen).toEqual([...seen].sort());
  });

  it("a last page that is exactly full still ends with next null on the following page", async () => {
    const account = await createAccount();
    for (let i = 0; i < 3; i += 1) await createDevice(account.id, `40${i}`, `device-40${i}-pass`);
    const first = expectJson(await call("GET", `/accounts/${account.id}/devices?limit=3`), 200);
    expect(first.items).toHaveLength(3);
    expect(first.next).toBeNull();
  });
});

describe("numbers", () => {
  it("a number is assigned to a device, reassigned, pointed at the account, and released", async () => {
    const account = await createAccount();
    const first = await createDevice(account.id, "2001", "device-2001-pass");
    const second = await createDevice(account.id, "2002", "device-2002-pass");
    const number = uniqueNumber();
    const path = `/accounts/${account.id}/numbers/${encodeURIComponent(number)}`;

    const created = expectJson(await call("POST", `/accounts/${account.id}/numbers`, { body: { number, deviceId: first.id } }), 201);
    expect(created).toEqual({ number, deviceId: first.id, createdAt: expect.stringMatching(ISO) });
    expect(expectJson(await call("GET", path), 200)).toEqual(created);

    expect(expectJson(await call("PATCH", path, { body: { deviceId: second.id } }), 200)).toEqual({ ...created, deviceId: second.id });
    expect(expectJson(await call("PATCH", path, { body: { deviceId: null } }), 200)).toEqual({ ...created, deviceId: null });
    expect(await listAll(`/accounts/${account.id}/numbers`)).toEqual([{ ...created, deviceId: null }]);

    expect(expectJson(await call("DELETE", path), 200)).toEqual({ deleted: number });
    expectProblem(await call("GET", path), 404, "number");
    expect(await listAll(`/accounts/${account.id}/numbers`)).toEqual([]);
  });

  it("a number added without a device routes to the account", async () => {
    const account = await createAccount();
    const number = uniqueNumber();
    expect(expectJson(await call("POST", `/accounts/${account.id}/numbers`, { body: { number } }), 201).deviceId).toBeNull();
  });

  it("a released number can be added by another account", async () => {
    const first = await createAccount();
    const second = await createAccount();
    const number = uniqueNumber();
    expectJson(await call("POST", `/accounts/${first.id}/numbers`, { body: { number } }), 201);
    expectProblem(await call("POST", `/accounts/${second.id}/numbers`, { body: { number } }), 409, "number");
    expectJson(await call("DELETE", `/accounts/${first.id}/numbers/${encodeURIComponent(number)}`), 200);
    expectJson(await call("POST", `/accounts/${second.id}/numbers`, { body: { number } }), 201);
    expectProblem(await call("POST", `/accounts/${first.id}/numbers`, { body: { number } }), 409, "number");
  });

  it("adding a number the account already holds is a 409 and keeps its device", async () => {
    const account = await createAccount();
    const device = await createDevice(account.id, "2003", "device-2003-pass");
    const number = uniqueNumber();
    expectJson(await call("POST", `/accounts/${account.id}/numbers`, { body: { number, deviceId: device.id } }), 201);
    expectProblem(await call("POST", `/accounts/${account.id}/numbers`, { body: { number } }), 409, "number");
    expect(expectJson(await call("GET", `/accounts/${account.id}/numbers/${encodeURIComponent(number)}`), 200).deviceId).toBe(device.id);
  });
});

describe("API keys", () => {
  it("a key is shown once at creation, listed without its secret, and revoked", async () => {
    const account = await createAccount();
    const base = `/accounts/${account.id}/api-keys`;
    const issued = expectJson(await call("POST", base, { body: { name: "provisioning" } }), 201);
    expect(issued).toEqual({
      apiKey: { id: expect.stringMatching(/^[0-9a-f]{20}$/), accountId: account.id, name: "provisioning", createdAt: expect.stringMatching(ISO) },
      key: expect.stringMatching(/^wek_[0-9a-f]{20}_[A-Za-z0-9_-]{32}$/),
    });
    expect(issued.key.startsWith(`wek_${issued.apiKey.id}_`)).toBe(true);
    const secret = issued.key.split("_").slice(2).join("_");

    const listed = expectJson(await call("GET", base), 200);
    expect(listed).toEqual({ items: [issued.apiKey], next: null });
    expect(JSON.stringify(listed)).not.toContain(secret);
    // The key works, and lists itself without the secret either.
    const asKey = expectJson(await call("GET", base, { auth: `Bearer ${issued.key}` }), 200);
    expect(JSON.stringify(asKey)).not.toContain(secret);

    expect(expectJson(await call("DELETE", `${base}/${issued.apiKey.id}`), 200)).toEqual({ deleted: issued.apiKey.id });
    expect(await listAll(base)).toEqual([]);
    expectProblem(await call("GET", base, { auth: `Bearer ${issued.key}` }), 401, "Authorization");
    expectProblem(await call("DELETE", `${base}/${issued.apiKey.id}`), 404, "keyId");
  });

  it("an account key may issue and revoke keys for its own account, including itself", async () => {
    const account = await createAccount();
    const key = await accountKey(account.id);
    const second = expectJson(await call("POST", `/accounts/${account.id}/api-keys`, { auth: key, body: { name: "second" } }), 201);
    const ownId = key.slice("Bearer wek_".length, "Bearer wek_".length + 20);
    expect(expectJson(await call("DELETE", `/accounts/${account.id}/api-keys/${ownId}`, { auth: key }), 200)).toEqual({ deleted: ownId });
    expectProblem(await call("GET", `/accounts/${account.id}`, { auth: key }), 401, "Authorization");
    expect((await call("GET", `/accounts/${account.id}`, { auth: `Bearer ${second.key}` })).status).toBe(200);
  });

  it("a key with a correct id but a wrong secret is refused", async () => {
    const account = await createAccount();
    const key = await accountKey(account.id);
    const last = key.at(-1) === "A" ? "B" : "A";
    expectProblem(await call("GET", `/accounts/${account.id}`, { auth: `${key.slice(0, -1)}${last}` }), 401, "Authorization");
  });
});

describe("switches", () => {
  it("a switch is created with a credential shown once, which verifies; GET never shows it", async () => {
    const name = `sw-${crypto.randomUUID().slice(0, 8)}`;
    const created = expectJson(await call("POST", "/switches", { body: { name, address: "sip:10.0.0.4:5060" } }), 201);
    expect(created).toEqual({
      switch: {
        id: expect.stringMatching(/^sw_[0-9a-f]{20}$/),
        name,
        address: "sip:10.0.0.4:5060",
        jurisdiction: null,
        accounts: null,
        credentialIssuedAt: expect.stringMatching(ISO),
        state: "unseen",
        draining: false,
        lastSeenAt: null,
        createdAt: expect.stringMatching(ISO),
        updatedAt: expect.stringMatching(ISO),
      },
      credential: expect.stringMatching(/^wsc1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/),
    });
    const id = created.switch.id;
    expect(await verifySwitchCredential(env, created.credential, Date.now())).toEqual({ id, name, address: "sip:10.0.0.4:5060", jurisdiction: null, draining: false, accounts: null });

    const read = await call("GET", `/switches/${id}`);
    // A single read also adds up the registrations the switch holds.
    expect(expectJson(read, 200)).toEqual({ ...created.switch, bindingsHeld: 0 });
    const list = await call("GET", "/switches");
    expect(list.body.items).toContainEqual(created.switch);
    for (const reply of [read, list]) expect(JSON.stringify(reply.body)).not.toContain(created.credential.split(".")[2]);
  });

  it("a duplicate switch name is a 409 naming `name`", async () => {
    const name = `sw-${crypto.randomUUID().slice(0, 8)}`;
    expectJson(await call("POST", "/switches", { body: { name, address: "sip:10.0.0.5" } }), 201);
    const before = await listAll("/switches");
    expectProblem(await call("POST", "/switches", { body: { name, address: "sip:10.0.0.6" } }), 409, "name");
    expect(await listAll("/switches")).toEqual(before);
  });

  it("a switch is renamed and re-addressed; its credential keeps working", async () => {
    const created = expectJson(await call("POST", "/switches", { body: { name: `sw-${crypto.randomUUID().slice(0, 8)}`, address: "sip:10.0.0.7" } }), 201);
    const newName = `sw-${crypto.randomUUID().slice(0, 8)}`;
    const changed = expectJson(await call("PATCH", `/switches/${created.switch.id}`, { body: { name: newName, address: "sips:edge.example.net:5061" } }), 200);
    expect(changed).toMatchObject({ id: created.switch.id, name: newName, address: "sips:edge.example.net:5061", createdAt: created.switch.createdAt });
    // A change through the API drops this isolate's switch snapshot at once (other isolates re-read
    // it within SWITCH_CACHE_TTL_MS): no waiting.
    expect(await verifySwitchCredential(env, created.credential, Date.now())).toEqual({
      id: created.switch.id,
      name: newName,
      address: "sips:edge.example.net:5061",
      jurisdiction: null,
      draining: false,
      accounts: null,
    });
  });

  it("rotating the credential refuses the old one and accepts the new one", async () => {
    const clock = freezeClock();
    const created = expectJson(await call("POST", "/switches", { body: { name: `sw-${crypto.randomUUID().slice(0, 8)}`, address: "sip:10.0.0.8" } }), 201);
    clock.advance(1); // the new credential is issued at a later millisecond than the old one
    const rotated = expectJson(await call("POST", `/switches/${created.switch.id}/credential`), 201);
    expect(rotated.credential).not.toBe(created.credential);
    expect(rotated.switch.id).toBe(created.switch.id);
    expect(Date.parse(rotated.switch.credentialIssuedAt)).toBeGreaterThan(Date.parse(created.switch.credentialIssuedAt));
    const now = clock.now();
    expect(await verifySwitchCredential(env, created.credential, now)).toBeNull();
    expect(await verifySwitchCredential(env, rotated.credential, now)).toMatchObject({ id: created.switch.id });
    expect(expectJson(await call("GET", `/switches/${created.switch.id}`), 200).credentialIssuedAt).toBe(rotated.switch.credentialIssuedAt);
  });

  it("deleting a switch refuses its credential within the cache interval", async () => {
    const created = expectJson(await call("POST", "/switches", { body: { name: `sw-${crypto.randomUUID().slice(0, 8)}`, address: "sip:10.0.0.9" } }), 201);
    expect(await verifySwitchCredential(env, created.credential, Date.now())).not.toBeNull();
    expect(expectJson(await call("DELETE", `/switches/${created.switch.id}`), 200)).toEqual({ deleted: created.switch.id });
    expectProblem(await call("GET", `/switches/${created.switch.id}`), 404, "switchId");
    expect(await verifySwitchCredential(env, created.credential, Date.now())).toBeNull();
  });

  it("a forged or mangled credential is refused", async () => {
    const created = expectJson(await call("POST", "/switches", { body: { name: `sw-${crypto.randomUUID().slice(0, 8)}`, address: "sip:10.0.0.10" } }), 201);
    const [prefix, payload, signature] = created.credential.split(".");
    // The second-to-last character carries six bits of the MAC, so changing it always changes the bytes.
    const flipped = signature.at(-2) === "A" ? "B" : "A";
    expect(await verifySwitchCredential(env, `${prefix}.${payload}.${signature.slice(0, -2)}${flipped}${signature.at(-1)}`, Date.now())).toBeNull();
    expect(await verifySwitchCredential(env, `${prefix}.${payload}`, Date.now())).toBeNull();
    expect(await verifySwitchCredential(env, "", Date.now())).toBeNull();
  });
});

describe("me", () => {
  it("says whether a key is the operator's or an account's", async () => {
    expect((await call("GET", "/me")).body).toEqual({ kind: "operator", accountId: null });
    const account = (await call("POST", "/accounts", { body: { realm: `me-${crypto.randomUUID().slice(0, 8)}.test`, name: "Me" } })).body;
    const key = (await call("POST", `/accounts/${account.id}/api-keys`, { body: { name: "me" } })).body.key;
    expect((await call("GET", "/me", { auth: `Bearer ${key}` })).body).toEqual({ kind: "account", accountId: account.id });
    expect((await call("GET", "/me", { auth: null })).status).toBe(401);
  });
});
