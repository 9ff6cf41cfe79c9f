// Bulk device imports through the API, against the account's real Durable Object SQLite storage:
// the column mappings of each source, the HA1 realm rule, errors per row with their line, both
// modes, upsert by username, numbers, isolation between accounts, and callbacks served meanwhile.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { registrarForId } from "../../../functions/accounts";
import { computeHa1 } from "../../../registrar/digest";
import { OPERATOR, accountKey, call, createAccount, createDevice } from "../../helpers";
import { accountSnapshot, expectJson, expectProblem, listAll, uniqueNumber } from "./support";

const md5 = (text: string) => computeHa1("MD5", ...(text.split(":") as [string, string, string]));

function upload(accountId: string, body: string, query: string, options: { auth?: string; type?: string } = {}) {
  const type = options.type ?? (body.trimStart().startsWith("[") || body.trimStart().startsWith("{") ? "application/json" : "text/csv");
  return call("POST", `/accounts/${accountId}/imports?${query}`, { raw: body, contentType: type, auth: options.auth });
}

/** Follow a job until it ends (each poll is a request the object answers between chunks). */
async function finished(accountId: string, jobId: string, auth = OPERATOR) {
  for (let i = 0; i < 100_000; i += 1) {
    const job = expectJson(await call("GET", `/accounts/${accountId}/imports/${jobId}`, { auth }), 200);
    if (job.state === "done" || job.state === "failed") return job;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error("the import did not end");
}

async function imported(accountId: string, body: string, query: string, auth = OPERATOR) {
  const reply = await upload(accountId, body, query, { auth });
  const job = expectJson(reply, 202);
  return { accepted: job, job: await finished(accountId, job.id, auth) };
}

async function credentials(accountId: string, username: string) {
  return registrarForId(env, accountId)!.credentials(username);
}

const devicesOf = async (accountId: string) =>
  (await listAll(`/accounts/${accountId}/devices`)) as { id: string; username: string; callerIdName: string | null; callerIdNumber: string | null; enabled: boolean }[];

describe("column mappings", () => {
  it("Kamailio subscriber rows: a password becomes both HA1 values; an MD5 HA1 of the account's realm is kept as is", async () => {
    const account = await createAccount();
    const kept = await md5(`2001:${account.realm}:kept-secret`);
    const csv = ["username,domain,password,ha1,ha1b", `2000,${account.realm},first-secret,,`, `2001,${account.realm},,${kept.toUpperCase()},ignored`].join("\n");
    const { job } = await imported(account.id, csv, "format=kamailio");
    expect(job).toMatchObject({ state: "done", total: 2, done: 2, created: 2, updated: 0, refused: 0 });
    const a = (await credentials(account.id, "2000"))!;
    expect(a.ha1Md5).toBe(await md5(`2000:${account.realm}:first-secret`));
    expect(a.ha1Sha256).toBe(await computeHa1("SHA-256", "2000", account.realm, "first-secret"));
    const b = (await credentials(account.id, "2001"))!;
    expect(b.ha1Md5).toBe(kept);
    // SHA-256 needs the password: the device gets a random value no answer matches.
    expect(b.ha1Sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(b.ha1Sha256).not.toBe(await computeHa1("SHA-256", "2001", account.realm, "kept-secret"));
  });

  it("an MD5 HA1 made for another realm, or with no realm, is refused with that reason", async () => {
    const account = await createAccount();
    const other = await md5("2002:old.example.net:secret-pass");
    const csv = ["username,domain,ha1", `2002,old.example.net,${other}`].join("\n");
    const reply = await upload(account.id, csv, "format=kamailio");
    expectProblem(reply, 422, "domain");
    expect(reply.body.errors[0]).toMatchObject({ row: 1, line: 2 });
    expect(reply.body.errors[0].message).toContain("old.example.net");
    expect(reply.body.errors[0].message).toContain(account.realm);
    const noRealm = await upload(account.id, JSON.stringify([{ username: "2003", ha1: other }]), "format=edge");
    expectProblem(noRealm, 422, "realm");
    expect(await devicesOf(account.id)).toEqual([]);
  });

  it("a legacy password shorter than 8 characters comes in through the row's HA1 for the realm, else the row is refused saying how to carry it over", async () => {
    const account = await createAccount();
    const short = await md5(`2010:${account.realm}:1234`);
    const shortFusion = await md5(`2011:${account.realm}:42`);
    const otherRealm = await md5(`2013:old.example.net:abc`);
    const kamailio = ["username,domain,password,ha1", `2010,${account.realm},1234,${short}`, `2012,${account.realm},1234,`, `2013,old.example.net,abc,${otherRealm}`].join("\n");
    const refused = await upload(account.id, kamailio, "format=kamailio&mode=all");
    expectProblem(refused, 422, "password", "domain");
    expect(refused.body.errors[0]).toMatchObject({ row: 2, line: 3 });
    expect(refused.body.errors[0].message).toBe(
      "at least 8 characters: the edge cannot take this password; give the device a new one, or add the row's MD5 HA1 for this realm (an ha1 column) to keep the old one",
    );
    expect(refused.body.errors[1]).toMatchObject({ row: 3, line: 4 });
    expect(await devicesOf(account.id)).toEqual([]);
    // The row with its HA1 comes in (MD5 only: SHA-256 would need the password); so does a
    // FusionPBX extension whose export added the HA1 column.
    const { job } = await imported(account.id, kamailio, "format=kamailio&mode=good-rows");
    expect(job).toMatchObject({ state: "done", created: 1, refused: 2 });
    expect((await credentials(account.id, "2010"))!.ha1Md5).toBe(short);
    const fusion = ["extension,password,ha1,domain_name", `2011,42,${shortFusion},${account.realm}`].join("\n");
    expect((await imported(account.id, fusion, "format=fusionpbx")).job).toMatchObject({ state: "done", created: 1, refused: 0 });
    expect((await credentials(account.id, "2011"))!.ha1Md5).toBe(shortFusion);
  });

  it("FusionPBX extensions: extension, password, effective caller ID and enabled", async () => {
    const account = await createAccount();
    const csv = [
      "extension_uuid,extension,password,effective_caller_id_name,effective_caller_id_number,enabled,user_context",
      `9a1,101,fusion-pass-101,"Front Desk, Lobby",101,true,${account.realm}`,
      `9a2,102,fusion-pass-102,,,false,${account.realm}`,
    ].join("\r\n");
    const { accepted, job } = await imported(account.id, csv, "format=fusionpbx");
    expect(accepted.ignoredColumns).toEqual(["extension_uuid", "user_context"]);
    expect(job).toMatchObject({ state: "done", created: 2 });
    const devices = await devicesOf(account.id);
    expect(devices.map((d) => [d.username, d.callerIdName, d.callerIdNumber, d.enabled]).sort()).toEqual([
      ["101", "Front Desk, Lobby", "101", true],
      ["102", null, null, false],
    ]);
    expect((await credentials(account.id, "101"))!.ha1Md5).toBe(await md5(`101:${account.realm}:fusion-pass-101`));
  });

  it("Kazoo devices as the API returns them (nested JSON under data), caller ID internal before external", async () => {
    const account = await createAccount();
    const body = {
      data: [
        { name: "Kitchen", sip: { username: "user_k1", password: "kazoo-pass-1", method: "password" }, caller_id: { internal: { name: "Kitchen", number: "1201" }, external: { number: "+14155550199" } }, enabled: true },
        { name: "Hall", sip: { username: "user_k2", password: "kazoo-pass-2" }, caller_id: { external: { name: "Hall Ext", number: "+14155550198" } }, enabled: false },
      ],
    };
    const { job } = await imported(account.id, JSON.stringify(body), "format=kazoo");
    expect(job).toMatchObject({ state: "done", created: 2 });
    const devices = await devicesOf(account.id);
    expect(devices.map((d) => [d.username, d.callerIdName, d.callerIdNumber, d.enabled]).sort()).toEqual([
      ["user_k1", "Kitchen", "1201", true],
      ["user_k2", "Hall Ext", "+14155550198", false],
    ]);
    // The same documents flattened to CSV columns map the same way.
    const csv = ["sip.username,sip.password,caller_id.internal.name", "user_k3,kazoo-pass-3,Den"].join("\n");
    await imported(account.id, csv, "format=kazoo");
    expect((await devicesOf(account.id)).find((d) => d.username === "user_k3")?.callerIdName).toBe("Den");
  });
});

describe("errors per row", () => {
  it("mode all: every refused row is named with its line and column, and nothing is written", async () => {
    const account = await createAccount();
    await createDevice(account.id, "3000", "existing-pass");
    const before = await accountSnapshot(account.id);
    const csv = [
      "username,password,callerIdNumber",
      "3001,good-pass-3001,3001",
      '3002,"short",3002', // line 3: password too short
      "3003,good-pass-3003,not a number", // line 4
      '"30',
      '04",good-pass-3004,', // lines 5-6: a quoted line break makes an invalid username
      "3001,good-pass-again,", // line 7: repeated username
      "3009,,", // line 8: a new device with no password
    ].join("\n");
    const reply = await upload(account.id, csv, "mode=all");
    expectProblem(reply, 422, "password", "callerIdNumber", "username", "username", "username");
    expect(reply.body.errors.map((e: { row: number; line: number }) => [e.row, e.line])).toEqual([[2, 3], [3, 4], [4, 5], [5, 7], [6, 8]]);
    expect(reply.body.errors[3].message).toContain("row 1");
    expect(reply.body.detail).toContain("line 3: password");
    expect(await accountSnapshot(account.id)).toEqual(before);
    expect(expectJson(await call("GET", `/accounts/${account.id}/imports`), 200)).toEqual([]);
  });

  it("mode good-rows: the valid rows are imported and the refused ones reported on the job", async () => {
    const account = await createAccount();
    const csv = ["username,password", "3101,good-pass-3101", "3102,short", "3103,good-pass-3103"].join("\n");
    const { accepted, job } = await imported(account.id, csv, "mode=good-rows");
    expect(accepted.errors).toEqual([{ row: 2, line: 3, field: "password", message: expect.stringMatching(/^at least 8 characters: the edge cannot take this password/) }]);
    expect(job).toMatchObject({ state: "done", total: 3, done: 3, created: 2, refused: 1 });
    expect((await devicesOf(account.id)).map((d) => d.username).sort()).toEqual(["3101", "3103"]);
  });

  it("a file read in several slices: a quoted field and a multi-byte character split by a slice boundary, and line numbers after it", async () => {
    const account = await createAccount();
    // Rows of 40 bytes; the file passes 64 KiB, a boundary between the parser's 16 KiB slices, around data row 1,638.
    const rows = Array.from({ length: 2_000 }, (_, i) => `${50_000 + i},pass-word-${String(i).padStart(6, "0")},Desk ${String(i).padStart(7, "0")}`);
    const header = "username,password,callerIdName";
    const bytes = (text: string) => new TextEncoder().encode(text).length;
    const offsetOf = (row: number) => bytes([header, ...rows.slice(0, row - 1)].join("\n") + "\n");
    // A row whose quoted name (with a comma) holds "ë" (2 bytes) on bytes 65,535 and 65,536: the
    // boundary between the first two slices falls inside the character.
    const prefix = (row: number) => `${50_000 + row - 1},pass-word-spanning,"Zo`;
    let target = 1;
    while (offsetOf(target + 1) + bytes(prefix(target + 1)) <= 65_535) target += 1;
    const filler = "o".repeat(65_535 - offsetOf(target) - bytes(prefix(target)));
    const name = `Zo${filler}ë, front desk`;
    rows[target - 1] = `${prefix(target)}${filler}ë, front desk"`;
    expect(offsetOf(target) + bytes(rows[target - 1]!.slice(0, rows[target - 1]!.indexOf("ë")))).toBe(65_535);
    rows[1_999] = `${50_000 + 1_999},short,Desk last`; // data row 2,000, line 2,001
    const { job } = await imported(account.id, [header, ...rows].join("\n"), "mode=good-rows");
    expect(job).toMatchObject({ state: "done", total: 2_000, created: 1_999, refused: 1 });
    expect(job.errors).toEqual([{ row: 2_000, line: 2_001, field: "password", message: expect.stringMatching(/^at least 8 characters: /) }]);
    const devices = await devicesOf(account.id);
    expect(devices.find((d) => d.username === String(50_000 + target - 1))?.callerIdName).toBe(name);
    expect(devices.find((d) => d.username === "51998")?.callerIdName).toBe("Desk 0001998");
  });

  it("a file that is not CSV, an unknown format or the wrong content type is a problem document", async () => {
    const account = await createAccount();
    const broken = await upload(account.id, 'username,password\n3201,"unclosed\n', "");
    expectProblem(broken, 400, "body");
    expectProblem(await upload(account.id, "username\n1", "format=asterisk"), 400, "format");
    expectProblem(await upload(account.id, "username\n1", "", { type: "text/plain" }), 415, "Content-Type");
    expectProblem(await upload(account.id, '{"nope":1}', "", { type: "application/json" }), 400, "body");
  });
});

describe("upsert and numbers", () => {
  it("an existing username is updated, keeping its id, and columns the file lacks are kept", async () => {
    const account = await createAccount();
    const existing = await createDevice(account.id, "4000", "old-password-4000");
    expectJson(await call("PATCH", `/accounts/${account.id}/devices/${existing.id}`, { body: { callerIdName: "Keep Me", callerIdNumber: "4000" } }), 200);
    const { job } = await imported(account.id, ["username,password,enabled", "4000,new-password-4000,false", "4001,pass-word-4001,true"].join("\n"), "");
    expect(job).toMatchObject({ created: 1, updated: 1 });
    const device = (await devicesOf(account.id)).find((d) => d.username === "4000")!;
    expect(device).toMatchObject({ id: existing.id, callerIdName: "Keep Me", callerIdNumber: "4000", enabled: false });
    expect((await credentials(account.id, "4000"))!.ha1Md5).toBe(await md5(`4000:${account.realm}:new-password-4000`));
    // A row without credentials changes an existing device's other fields only.
    await imported(account.id, ["username,callerIdName", "4000,"].join("\n"), "");
    expect((await devicesOf(account.id)).find((d) => d.username === "4000")!.callerIdName).toBeNull();
    expect((await credentials(account.id, "4000"))!.ha1Md5).toBe(await md5(`4000:${account.realm}:new-password-4000`));
  });

  it("the operator's file adds numbers to the inventory; an account's file may only use numbers it holds", async () => {
    const account = await createAccount();
    const key = await accountKey(account.id);
    const [n1, n2, n3] = [uniqueNumber(), uniqueNumber(), uniqueNumber()];
    const { job } = await imported(account.id, ["username,password,numbers", `5000,pass-word-5000,${n1} ${n2}`].join("\n"), "");
    expect(job.state).toBe("done");
    const devices = await devicesOf(account.id);
    const numbers = (await listAll(`/accounts/${account.id}/numbers`)) as { number: string; deviceId: string }[];
    expect(numbers.map((n) => [n.number, n.deviceId]).sort()).toEqual([[n1, devices[0]!.id], [n2, devices[0]!.id]].sort());
    const refused = await upload(account.id, ["username,password,numbers", `5001,pass-word-5001,${n3}`].join("\n"), "", { auth: key });
    expectProblem(refused, 422, "numbers");
    expect(refused.body.errors[0].message).toContain("inventory");
    const moved = await imported(account.id, ["username,password,numbers", `5001,pass-word-5001,${n2}`].join("\n"), "", key);
    expect(moved.job).toMatchObject({ state: "done", created: 1 });
    const after = (await listAll(`/accounts/${account.id}/numbers`)) as { number: string; deviceId: string }[];
    const d5001 = (await devicesOf(account.id)).find((d) => d.username === "5001")!;
    expect(after.find((n) => n.number === n2)!.deviceId).toBe(d5001.id);
  });

  it("a number another account holds refuses the row, and a refused file gives back the numbers it claimed", async () => {
    const a = await createAccount();
    const b = await createAccount();
    const [taken, fresh] = [uniqueNumber(), uniqueNumber()];
    expectJson(await call("POST", `/accounts/${b.id}/numbers`, { body: { number: taken } }), 201);
    const csv = ["username,password,numbers", `6000,pass-word-6000,${fresh}`, `6001,pass-word-6001,${taken}`].join("\n");
    const reply = await upload(a.id, csv, "mode=all");
    expectProblem(reply, 422, "numbers");
    expect(reply.body.errors[0]).toMatchObject({ row: 2, line: 3 });
    // The fresh number is free again: another account can take it.
    expectJson(await call("POST", `/accounts/${b.id}/numbers`, { body: { number: fresh } }), 201);
    expect(await devicesOf(a.id)).toEqual([]);
  });

  it("good-rows: a row refused while it is applied gives back the numbers the import claimed for it", async () => {
    const a = await createAccount();
    const b = await createAccount();
    const kept = await createDevice(a.id, "6100", "pass-word-6100");
    await createDevice(a.id, "6101", "pass-word-6101");
    const [lost, held] = [uniqueNumber(), uniqueNumber()];
    // As the Worker does for the operator's file (functions/import/run.ts): the rows passed every
    // check, so their new numbers are claimed in the catalog, and the rows staged in the object.
    const now = Date.now();
    for (const number of [lost, held]) await env.CATALOG.prepare("INSERT INTO numbers (number, account_id, created_at) VALUES (?, ?, ?)").bind(number, a.id, now).run();
    const stub = registrarForId(env, a.id)!;
    const opened = await stub.openImport({ mode: "good-rows", format: "edge", total: 2, errors: [], mayAddNumbers: true });
    if (!opened.ok) throw new Error(opened.refusal.detail);
    // Rows without credentials: each names an existing device and gives it a number.
    expect(await stub.stageImport(opened.value.id, [
      { row: 1, line: 2, username: "6100", numbers: [lost], claimed: [lost] },
      { row: 2, line: 3, username: "6101", numbers: [held], claimed: [held] },
    ])).toBe(true);
    // Device 6100 goes away between the Worker's checks and the object applying its row.
    expectJson(await call("DELETE", `/accounts/${a.id}/devices/${kept.id}`), 200);
    const started = await stub.startImport(opened.value.id);
    if (!started.ok) throw new Error(started.refusal.detail);
    const job = await finished(a.id, opened.value.id);
    expect(job).toMatchObject({ state: "done", created: 0, updated: 1, refused: 1 });
    expect(job.errors).toEqual([{ row: 1, line: 2, field: "password", message: "no device 6100 yet: a new device needs a password (or an MD5 HA1)" }]);
    // The refused row's number is free again: another account can take it; the applied row's is a's.
    expectJson(await call("POST", `/accounts/${b.id}/numbers`, { body: { number: lost } }), 201);
    expectProblem(await call("POST", `/accounts/${b.id}/numbers`, { body: { number: held } }), 409, "number");
    expect(((await listAll(`/accounts/${a.id}/numbers`)) as { number: string }[]).map((n) => n.number)).toEqual([held]);
  });
});

describe("isolation and jobs", () => {
  it("an account key imports into its own account only, and cannot read another account's jobs", async () => {
    const a = await createAccount();
    const b = await createAccount();
    const keyA = await accountKey(a.id);
    const into = await upload(b.id, "username,password\n7000,pass-word-7000", "", { auth: keyA });
    expectProblem(into, 403, "accountId");
    const { accepted } = await imported(a.id, "username,password\n7000,pass-word-7000", "", keyA);
    expectProblem(await call("GET", `/accounts/${b.id}/imports/${accepted.id}`, { auth: keyA }), 403, "accountId");
    expectProblem(await call("GET", `/accounts/${b.id}/imports/${accepted.id}`), 404, "importId");
    expect(await devicesOf(b.id)).toEqual([]);
    expect((await devicesOf(a.id)).map((d) => d.username)).toEqual(["7000"]);
  });

  it("switch callbacks are answered while a long import is applied, between its chunks", async () => {
    const account = await createAccount();
    await createDevice(account.id, "8000", "callback-pass");
    const rows = Array.from({ length: 5_000 }, (_, i) => `${10_000 + i},pass-word-${i}`);
    const accepted = expectJson(await upload(account.id, ["username,password", ...rows].join("\n"), ""), 202);
    const stub = registrarForId(env, account.id)!;
    // A callback, then the job: the object answered the callback with the import part-way done.
    const during = await stub.credentials("8000");
    const job = expectJson(await call("GET", `/accounts/${account.id}/imports/${accepted.id}`), 200);
    expect(during?.username).toBe("8000");
    expect(job.state).toBe("running");
    expect(job.done).toBeLessThan(5_000);
    const done = await finished(account.id, accepted.id);
    expect(done).toMatchObject({ state: "done", created: 5_000 });
    expect((await stub.credentials("14999"))?.ha1Md5).toBe(await md5(`14999:${account.realm}:pass-word-4999`));
  });

  it("one import at a time per account: a second file while one runs is a conflict", async () => {
    const account = await createAccount();
    const rows = Array.from({ length: 3_000 }, (_, i) => `${20_000 + i},pass-word-${i}`);
    const first = expectJson(await upload(account.id, ["username,password", ...rows].join("\n"), ""), 202);
    const second = await upload(account.id, "username,password\n9999,pass-word-9999", "");
    expectProblem(second, 409, "body");
    await finished(account.id, first.id);
    expect((await devicesOf(account.id)).some((d) => d.username === "9999")).toBe(false);
  });
});
