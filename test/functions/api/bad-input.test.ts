// Bad input gets a problem document naming the field at fault, and nothing is written.
import { beforeAll, describe, expect, it } from "vitest";
import { OPERATOR, call, createAccount, createDevice, uniqueRealm } from "../../helpers";
import { PROBLEM, accountSnapshot, expectJson, expectProblem, listAll, send, uniqueNumber } from "./support";

let account: { id: string; realm: string };
let device: { id: string; username: string };

beforeAll(async () => {
  account = await createAccount();
  device = await createDevice(account.id, "2001", "device-2001-pass");
});

/** Run a refused write and show that the collection it aimed at did not change. */
async function refusedWithoutChange(collection: string, attempt: () => Promise<void>) {
  const before = await listAll(collection);
  await attempt();
  expect(await listAll(collection)).toEqual(before);
}

describe("malformed bodies", () => {
  it("malformed JSON is a 400 naming `body`", async () => {
    await refusedWithoutChange(`/accounts/${account.id}/devices`, async () => {
      const reply = await call("POST", `/accounts/${account.id}/devices`, { raw: '{"username": "3001", "password": ' });
      expectProblem(reply, 400, "body");
      expect(reply.body.detail).toBe("Malformed JSON in request body");
    });
  });

  it("an empty body sent as JSON is a 400 naming `body`", async () => {
    await refusedWithoutChange("/accounts", async () => {
      expectProblem(await call("POST", "/accounts", { raw: "" }), 400, "body");
    });
  });

  it("a JSON array or null where an object is expected is a 400 naming `body`", async () => {
    await refusedWithoutChange("/accounts", async () => {
      expectProblem(await call("POST", "/accounts", { body: [] }), 400, "body");
      expectProblem(await call("POST", "/accounts", { raw: "null" }), 400, "body");
    });
  });

  it("a body with no Content-Type is a 415 naming `Content-Type`", async () => {
    await refusedWithoutChange("/accounts", async () => {
      const reply = await send("POST", "/accounts", {
        headers: { authorization: OPERATOR },
        body: new TextEncoder().encode(JSON.stringify({ realm: uniqueRealm(), name: "No type" })),
      });
      expect(reply.status).toBe(415);
      expect(reply.headers.get("content-type")).toBe(PROBLEM);
      expect(JSON.parse(reply.text)).toMatchObject({ status: 415, errors: [{ field: "Content-Type" }] });
    });
  });

  it.each(["text/plain", "application/x-www-form-urlencoded", "application/xml"])(
    "a body sent as %s is a 415 naming `Content-Type`",
    async (contentType) => {
      await refusedWithoutChange(`/accounts/${account.id}/devices`, async () => {
        const reply = await call("POST", `/accounts/${account.id}/devices`, {
          raw: JSON.stringify({ username: "3002", password: "device-3002-pass" }),
          contentType,
        });
        expectProblem(reply, 415, "Content-Type");
      });
    },
  );

  it("a body larger than 64 KiB is a 413 naming `body`", async () => {
    await refusedWithoutChange(`/accounts/${account.id}/devices`, async () => {
      const reply = await call("POST", `/accounts/${account.id}/devices`, {
        raw: JSON.stringify({ username: "3003", password: "device-3003-pass", callerIdName: "x".repeat(64 * 1024) }),
      });
      expectProblem(reply, 413, "body");
    });
  });

  it("a body of exactly 64 KiB is read (and judged on its fields)", async () => {
    const padding = 64 * 1024 - JSON.stringify({ username: "3004", password: "device-3004-pass", callerIdName: "" }).length;
    const raw = JSON.stringify({ username: "3004", password: "device-3004-pass", callerIdName: "x".repeat(padding) });
    expect(new TextEncoder().encode(raw).byteLength).toBe(64 * 1024);
    await refusedWithoutChange(`/accounts/${account.id}/devices`, async () => {
      // Not refused for its size: refused because a caller ID name is at most 100 characters.
      expectProblem(await call("POST", `/accounts/${account.id}/devices`, { raw }), 400, "callerIdName");
    });
  });
});

describe("invalid fields", () => {
  it("a number where a username belongs is a 400 naming `username`", async () => {
    await refusedWithoutChange(`/accounts/${account.id}/devices`, async () => {
      const reply = await call("POST", `/accounts/${account.id}/devices`, { body: { username: 3005, password: "device-3005-pass" } });
      expectProblem(reply, 400, "username");
    });
  });

  it("every invalid field is named, not just the first", async () => {
    await refusedWithoutChange(`/accounts/${account.id}/devices`, async () => {
      const reply = await call("POST", `/accounts/${account.id}/devices`, { body: { username: "bad user", password: "short", enabled: "yes" } });
      expectProblem(reply, 400, "username", "password", "enabled");
    });
  });

  it("an unknown field is a 400 naming that key", async () => {
    await refusedWithoutChange(`/accounts/${account.id}/devices`, async () => {
      const reply = await call("POST", `/accounts/${account.id}/devices`, { body: { username: "3006", password: "device-3006-pass", colour: "red" } });
      expectProblem(reply, 400, "colour");
      expect(reply.body.errors).toEqual([{ field: "colour", message: "unknown field" }]);
    });
  });

  it("an unknown field inside the policy is named with its path", async () => {
    const before = await accountSnapshot(account.id);
    const reply = await call("PATCH", `/accounts/${account.id}`, { body: { policy: { maxExpires: 600, colour: "red" } } });
    expectProblem(reply, 400, "policy.colour");
    expect(await accountSnapshot(account.id)).toEqual(before);
  });

  it("a policy field of the wrong type is a 400 naming `policy.minExpires`", async () => {
    const before = await accountSnapshot(account.id);
    expectProblem(await call("PATCH", `/accounts/${account.id}`, { body: { policy: { minExpires: "60" } } }), 400, "policy.minExpires");
    expectProblem(await call("PATCH", `/accounts/${account.id}`, { body: { policy: { minExpires: 0 } } }), 400, "policy.minExpires");
    expectProblem(await call("PATCH", `/accounts/${account.id}`, { body: { policy: { minExpires: 1.5 } } }), 400, "policy.minExpires");
    expect(await accountSnapshot(account.id)).toEqual(before);
  });

  it("a policy whose minimum exceeds its maximum is a 422 naming `policy.minExpires`", async () => {
    const before = await accountSnapshot(account.id);
    const reply = await call("PATCH", `/accounts/${account.id}`, { body: { policy: { minExpires: 3000, maxExpires: 120 } } });
    expectProblem(reply, 422, "policy.minExpires");
    expect(await accountSnapshot(account.id)).toEqual(before);
  });

  it("a policy change inconsistent with the stored policy is a 422 naming `policy.defaultExpires`", async () => {
    // Stored: min 60, default 300, max 3600. A max below the default is inconsistent once merged.
    const before = await accountSnapshot(account.id);
    const reply = await call("PATCH", `/accounts/${account.id}`, { body: { policy: { maxExpires: 120 } } });
    expectProblem(reply, 422, "policy.defaultExpires");
    expect(await accountSnapshot(account.id)).toEqual(before);
  });

  it("creating an account with an inconsistent policy is a 422 and creates nothing", async () => {
    const realm = uniqueRealm("inconsistent");
    await refusedWithoutChange("/accounts", async () => {
      const reply = await call("POST", "/accounts", { body: { realm, name: "Bad policy", policy: { minExpires: 900, maxExpires: 600 } } });
      expectProblem(reply, 422, "policy.minExpires");
    });
    // The realm was not taken by the refused attempt.
    expectJson(await call("POST", "/accounts", { body: { realm, name: "Good policy" } }), 201);
  });
});

describe("conflicts", () => {
  it("a duplicate username in the account is a 409 naming `username`", async () => {
    await refusedWithoutChange(`/accounts/${account.id}/devices`, async () => {
      const reply = await call("POST", `/accounts/${account.id}/devices`, { body: { username: device.username, password: "another-pass-2001" } });
      expectProblem(reply, 409, "username");
    });
  });

  it("renaming a device to a username already in use is a 409 naming `username`", async () => {
    const other = await createDevice(account.id, "2002", "device-2002-pass");
    await refusedWithoutChange(`/accounts/${account.id}/devices`, async () => {
      const reply = await call("PATCH", `/accounts/${account.id}/devices/${other.id}`, { body: { username: device.username, password: "renamed-pass-2002" } });
      expectProblem(reply, 409, "username");
    });
  });

  it("a duplicate realm is a 409 naming `realm`", async () => {
    await refusedWithoutChange("/accounts", async () => {
      const reply = await call("POST", "/accounts", { body: { realm: account.realm, name: "Copycat" } });
      expectProblem(reply, 409, "realm");
    });
    const original = expectJson(await call("GET", `/accounts/${account.id}`), 200);
    expect(original.name).toBe("Acme");
  });

  it("a number another account holds is a 409 naming `number`, and stays with the first account", async () => {
    const other = await createAccount();
    const number = uniqueNumber();
    expectJson(await call("POST", `/accounts/${account.id}/numbers`, { body: { number } }), 201);
    await refusedWithoutChange(`/accounts/${other.id}/numbers`, async () => {
      const reply = await call("POST", `/accounts/${other.id}/numbers`, { body: { number } });
      expectProblem(reply, 409, "number");
    });
    const held = expectJson(await call("GET", `/accounts/${account.id}/numbers/${encodeURIComponent(number)}`), 200);
    expect(held).toMatchObject({ number, deviceId: null });
    expectProblem(await call("GET", `/accounts/${other.id}/numbers/${encodeURIComponent(number)}`), 404, "number");
  });

  it("a number pointed at an unknown device is a 422 naming `deviceId`, and the number stays free", async () => {
    const number = uniqueNumber();
    await refusedWithoutChange(`/accounts/${account.id}/numbers`, async () => {
      const reply = await call("POST", `/accounts/${account.id}/numbers`, { body: { number, deviceId: "dev_00000000000000000000" } });
      expectProblem(reply, 422, "deviceId");
    });
    // The catalog claim was released: another account can take the number.
    const other = await createAccount();
    const taken = expectJson(await call("POST", `/accounts/${other.id}/numbers`, { body: { number } }), 201);
    expect(taken).toMatchObject({ number, deviceId: null });
  });

  it("a number pointed at a device of another account is a 422 naming `deviceId`", async () => {
    const other = await createAccount();
    const foreign = await createDevice(other.id, "9001", "foreign-9001-pass");
    await refusedWithoutChange(`/accounts/${account.id}/numbers`, async () => {
      const reply = await call("POST", `/accounts/${account.id}/numbers`, { body: { number: uniqueNumber(), deviceId: foreign.id } });
      expectProblem(reply, 422, "deviceId");
    });
  });
});

describe("unknown things", () => {
  const UNKNOWN_ACCOUNT = "0".repeat(64);

  it.each([
    ["GET", `/accounts/${UNKNOWN_ACCOUNT}`],
    ["GET", `/accounts/${UNKNOWN_ACCOUNT}/devices`],
    ["GET", `/accounts/${UNKNOWN_ACCOUNT}/numbers`],
    ["GET", `/accounts/${UNKNOWN_ACCOUNT}/registrations`],
    ["GET", `/accounts/${UNKNOWN_ACCOUNT}/api-keys`],
    ["DELETE", `/accounts/${UNKNOWN_ACCOUNT}`],
  ])("%s %s (a well-formed unknown account id) is a 404 naming `accountId`", async (method, path) => {
    expectProblem(await call(method, path), 404, "accountId");
  });

  it("writes to a well-formed unknown account id are 404s and create no account", async () => {
    await refusedWithoutChange("/accounts", async () => {
      expectProblem(await call("POST", `/accounts/${UNKNOWN_ACCOUNT}/devices`, { body: { username: "ghost", password: "ghost-password" } }), 404, "accountId");
      expectProblem(await call("PATCH", `/accounts/${UNKNOWN_ACCOUNT}`, { body: { name: "Ghost" } }), 404, "accountId");
      expectProblem(await call("POST", `/accounts/${UNKNOWN_ACCOUNT}/api-keys`, { body: { name: "ghost" } }), 404, "accountId");
    });
    // No key was issued for the unknown account either.
    expectProblem(await call("GET", `/accounts/${UNKNOWN_ACCOUNT}/api-keys`), 404, "accountId");
  });

  it("a number claimed for a well-formed unknown account is refused and stays free", async () => {
    const number = uniqueNumber();
    expectProblem(await call("POST", `/accounts/${UNKNOWN_ACCOUNT}/numbers`, { body: { number } }), 404, "accountId");
    expectJson(await call("POST", `/accounts/${account.id}/numbers`, { body: { number } }), 201);
  });

  it.each(["not-an-id", "A".repeat(64), "0".repeat(63), `${"0".repeat(64)}0`])("a malformed account id %s is a 404 naming `accountId`", async (id) => {
    expectProblem(await call("GET", `/accounts/${id}`), 404, "accountId");
    expectProblem(await call("GET", `/accounts/${id}/devices`), 404, "accountId");
  });

  it("unknown device, number, registration and key ids are 404s naming the id", async () => {
    const base = `/accounts/${account.id}`;
    expectProblem(await call("GET", `${base}/devices/dev_00000000000000000000`), 404, "deviceId");
    expectProblem(await call("PATCH", `${base}/devices/dev_00000000000000000000`, { body: { enabled: false } }), 404, "deviceId");
    expectProblem(await call("DELETE", `${base}/devices/dev_00000000000000000000`), 404, "deviceId");
    expectProblem(await call("GET", `${base}/numbers/%2B14155550000`), 404, "number");
    expectProblem(await call("PATCH", `${base}/numbers/%2B14155550000`, { body: { deviceId: null } }), 404, "number");
    expectProblem(await call("DELETE", `${base}/numbers/%2B14155550000`), 404, "number");
    expectProblem(await call("GET", `${base}/numbers/not-a-number`), 404, "number");
    expectProblem(await call("DELETE", `${base}/registrations/424242`), 404, "registrationId");
    expectProblem(await call("DELETE", `${base}/registrations/not-a-number`), 404, "registrationId");
    expectProblem(await call("DELETE", `${base}/api-keys/${"f".repeat(20)}`), 404, "keyId");
    expectProblem(await call("DELETE", `${base}/api-keys/not-a-key`), 404, "keyId");
    expectProblem(await call("GET", "/switches/sw_00000000000000000000"), 404, "switchId");
    expectProblem(await call("PATCH", "/switches/sw_00000000000000000000", { body: { address: "sip:192.0.2.1" } }), 404, "switchId");
    expectProblem(await call("POST", "/switches/sw_00000000000000000000/credential"), 404, "switchId");
    expectProblem(await call("DELETE", "/switches/sw_00000000000000000000"), 404, "switchId");
  });

  it("a number patched to an unknown device is a 422 and keeps its device", async () => {
    const number = uniqueNumber();
    expectJson(await call("POST", `/accounts/${account.id}/numbers`, { body: { number, deviceId: device.id } }), 201);
    const reply = await call("PATCH", `/accounts/${account.id}/numbers/${encodeURIComponent(number)}`, { body: { deviceId: "dev_00000000000000000000" } });
    expectProblem(reply, 422, "deviceId");
    const held = expectJson(await call("GET", `/accounts/${account.id}/numbers/${encodeURIComponent(number)}`), 200);
    expect(held.deviceId).toBe(device.id);
  });

  it.each(["/nope", "/accounts/x/y/z/w", "/switches/a/b/c"])("an unknown route %s is a 404 problem naming `path`", async (path) => {
    expectProblem(await call("GET", path), 404, "path");
  });

  it("a path outside the API is a 404 problem too", async () => {
    const { exports } = await import("cloudflare:workers");
    const response = await exports.default.fetch(new Request("https://edge.test/not-here"));
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe(PROBLEM);
    expect(await response.json()).toMatchObject({ status: 404, errors: [{ field: "path", message: "unknown route" }] });
  });

  it("bad pagination parameters are 400s naming the parameter", async () => {
    expectProblem(await call("GET", `/accounts/${account.id}/devices?limit=0`), 400, "limit");
    expectProblem(await call("GET", `/accounts/${account.id}/devices?limit=501`), 400, "limit");
    expectProblem(await call("GET", `/accounts/${account.id}/devices?limit=ten`), 400, "limit");
    expectProblem(await call("GET", `/accounts/${account.id}/registrations?after=abc`), 400, "after");
  });
});

describe("secrets never leave the API", () => {
  const HEX_32_OR_MORE = /[0-9a-f]{32}/i;

  it("no device answer carries the password or an HA1 value", async () => {
    const password = "Very-Secret-Pass-77";
    const newPassword = "Even-More-Secret-88";
    const base = `/accounts/${account.id}/devices`;
    const created = await call("POST", base, { body: { username: "5001", password, callerIdName: "Reception" } });
    const id = created.body.id;
    const answers = [
      created,
      await call("GET", `${base}/${id}`),
      await call("GET", base),
      await call("PATCH", `${base}/${id}`, { body: { password: newPassword } }),
      await call("PATCH", `${base}/${id}`, { body: { username: "5002", password: newPassword } }),
      await call("POST", base, { body: { username: "5002", password } }), // 409
      await call("PATCH", `${base}/${id}`, { body: { username: "5003" } }), // 422: no password
      await call("GET", `${base}/${id}`),
    ];
    expect(answers.map((r) => r.status)).toEqual([201, 200, 200, 200, 200, 409, 422, 200]);
    for (const answer of answers) {
      const text = JSON.stringify(answer.body);
      expect(text).not.toContain(password);
      expect(text).not.toContain(newPassword);
      expect(text).not.toMatch(HEX_32_OR_MORE);
      // No member named after a secret either.
      expect(text).not.toMatch(/"(ha1\w*|password)"\s*:/i);
    }
  });
});
