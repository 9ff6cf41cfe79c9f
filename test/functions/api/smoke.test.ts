import { describe, expect, it } from "vitest";
import { call, createAccount, createDevice } from "../../helpers";

describe("smoke", () => {
  it("creates an account and a device", async () => {
    const account = await createAccount();
    const device = await createDevice(account.id);
    expect(device.username).toBe("1001");
    const list = await call("GET", `/accounts/${account.id}/devices`);
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
  });
});
