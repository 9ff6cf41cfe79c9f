// Exports: every device (with its numbers, never a secret), number and switch, as JSON and CSV,
// streamed page by page; a device export imports back as format=edge.
import { parse } from "csv-parse/sync";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { OPERATOR, accountKey, call, createAccount } from "../../helpers";
import { expectJson, expectProblem, uniqueNumber } from "./support";

async function download(path: string, auth = OPERATOR) {
  const response = await exports.default.fetch(new Request(`https://edge.test/api/v1${path}`, { headers: { authorization: auth } }));
  return { status: response.status, type: response.headers.get("content-type") ?? "", text: await response.text() };
}

async function importAndWait(accountId: string, csv: string) {
  const job = expectJson(await call("POST", `/accounts/${accountId}/imports`, { raw: csv, contentType: "text/csv" }), 202);
  for (let i = 0; i < 100_000; i += 1) {
    const now = expectJson(await call("GET", `/accounts/${accountId}/imports/${job.id}`), 200);
    if (now.state === "done") return now;
    if (now.state === "failed") throw new Error(JSON.stringify(now));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error("the import did not end");
}

describe("exports", () => {
  it("devices as JSON and CSV across several pages, with their numbers and never an HA1", async () => {
    const account = await createAccount();
    const number = uniqueNumber();
    const both = [uniqueNumber(), uniqueNumber()];
    // 2,500 devices: three pages of the object's list. Device 30008 rings two numbers.
    const numbersOf = (i: number) => (i === 7 ? number : i === 8 ? both.join(" ") : "");
    const rows = Array.from({ length: 2_500 }, (_, i) => `${30_000 + i},export-pass-${i},"Name, ${i}",${numbersOf(i)}`);
    await importAndWait(account.id, ["username,password,callerIdName,numbers", ...rows].join("\n"));

    const asJson = await download(`/accounts/${account.id}/exports/devices`);
    expect(asJson.status).toBe(200);
    expect(asJson.type).toBe("application/json");
    const devices = JSON.parse(asJson.text) as Record<string, unknown>[];
    expect(devices).toHaveLength(2_500);
    expect(new Set(devices.map((d) => d.username)).size).toBe(2_500);
    expect(devices.find((d) => d.username === "30007")).toMatchObject({ callerIdName: "Name, 7", numbers: number, enabled: true });
    expect(String(devices.find((d) => d.username === "30008")?.numbers).split(" ").sort()).toEqual([...both].sort());
    expect(asJson.text).not.toMatch(/ha1|password|export-pass/i);

    const asCsv = await download(`/accounts/${account.id}/exports/devices?format=csv`);
    expect(asCsv.type).toBe("text/csv; charset=utf-8");
    const records = parse(asCsv.text, { columns: true }) as Record<string, string>[];
    expect(records).toHaveLength(2_500);
    expect(records.find((r) => r.username === "30007")).toMatchObject({ callerIdName: "Name, 7", numbers: number, enabled: "true" });
    expect(asCsv.text).not.toMatch(/export-pass/);

    // The CSV export, edited, imports back: the caller ID changes, the credentials stay.
    const edited = asCsv.text.replace('"Name, 7"', "Renamed");
    const job = await importAndWait(account.id, edited);
    expect(job).toMatchObject({ updated: 2_500, created: 0, refused: 0 });
    const again = JSON.parse((await download(`/accounts/${account.id}/exports/devices`)).text) as Record<string, unknown>[];
    expect(again.find((d) => d.username === "30007")).toMatchObject({ callerIdName: "Renamed", numbers: number });
  });

  it("an empty account exports an empty array and a header line", async () => {
    const account = await createAccount();
    expect(JSON.parse((await download(`/accounts/${account.id}/exports/devices`)).text)).toEqual([]);
    expect((await download(`/accounts/${account.id}/exports/numbers?format=csv`)).text).toBe("number,deviceId,createdAt\n");
  });

  it("numbers with the device each rings; switches for the operator only, never a credential", async () => {
    const account = await createAccount();
    const n = uniqueNumber();
    expectJson(await call("POST", `/accounts/${account.id}/numbers`, { body: { number: n } }), 201);
    expect(JSON.parse((await download(`/accounts/${account.id}/exports/numbers`)).text)).toEqual([expect.objectContaining({ number: n, deviceId: null })]);

    const created = expectJson(await call("POST", "/switches", { body: { name: `export-${Date.now()}`, address: "sip:192.0.2.77:5060" } }), 201);
    const listed = JSON.parse((await download("/exports/switches")).text) as { id: string }[];
    expect(listed.map((s) => s.id)).toContain(created.switch.id);
    const csv = await download("/exports/switches?format=csv");
    expect(csv.text.split("\n")[0]).toBe("id,name,address,jurisdiction,accounts,state,draining,lastSeenAt,credentialIssuedAt,createdAt,updatedAt");
    expect(csv.text).not.toContain(created.credential);

    const key = await accountKey(account.id);
    expectProblem(await call("GET", "/exports/switches", { auth: key }), 403, "Authorization");
    const other = await createAccount();
    expectProblem(await call("GET", `/accounts/${other.id}/exports/devices`, { auth: key }), 403, "accountId");
    expectProblem(await call("GET", `/accounts/${account.id}/exports/devices?format=xml`), 400, "format");
  });
});
