// Placement: an account's object is named by its realm (switch callbacks need no lookup),
// in the EU jurisdiction when asked, and the API reaches it by id either way.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { accountIdForRealm, registrarForId, registrarForRealm } from "../../functions/accounts";
import { call, createAccount, createDevice, uniqueRealm } from "../helpers";

describe("account placement", () => {
  it("a switch callback reaches the account's object from the realm alone", async () => {
    const account = await createAccount({ regionHint: "weur" });
    expect(account).toMatchObject({ regionHint: "weur", jurisdiction: null });
    expect(account.id).toBe(accountIdForRealm(env, account.realm, null));
    await createDevice(account.id, "1001");
    const credentials = await registrarForRealm(env, account.realm, null).credentials("1001");
    expect(credentials).toMatchObject({ username: "1001", realm: account.realm });
  });

  it("an EU account lives in the EU namespace and is reached by its id and by EU switches", async () => {
    const realm = uniqueRealm("eu");
    const created = await call("POST", "/accounts", { body: { realm, name: "EU customer", jurisdiction: "eu" } });
    expect(created.status).toBe(201);
    expect(created.body.jurisdiction).toBe("eu");
    expect(created.body.id).toBe(accountIdForRealm(env, realm, "eu"));
    expect(created.body.id).not.toBe(accountIdForRealm(env, realm, null));

    await createDevice(created.body.id, "2001");
    const read = await call("GET", `/accounts/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(await registrarForId(env, created.body.id)!.credentials("2001")).toMatchObject({ realm });
    expect(await registrarForRealm(env, realm, "eu").credentials("2001")).toMatchObject({ realm });
    // A switch outside the EU fleet addresses a different (empty) object: it never sees EU data.
    expect(await registrarForRealm(env, realm, null).credentials("2001")).toBeNull();
  });

  it("a realm is one account, whatever the jurisdiction", async () => {
    const realm = uniqueRealm("dup");
    expect((await call("POST", "/accounts", { body: { realm, name: "one" } })).status).toBe(201);
    const again = await call("POST", "/accounts", { body: { realm, name: "two", jurisdiction: "eu" } });
    expect(again.status).toBe(409);
    expect(again.body.errors).toEqual([{ field: "realm", message: "already in use" }]);
  });
});
