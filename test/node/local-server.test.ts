// `npm start` as an operator uses it: serves on a chosen port, seeds a demo account once,
// and keeps every account, device and number across a restart.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const stateDir = mkdtempSync(join(tmpdir(), "whistle-state-"));
let server: ChildProcess | null = null;

type Page = { items: Record<string, unknown>[] };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function start(port: number): Promise<string> {
  const child = spawn(process.execPath, [join(root, "scripts", "start.mjs")], {
    cwd: root,
    env: { ...process.env, PORT: String(port), STATE_DIR: stateDir },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  server = child;
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const deadline = Date.now() + 180_000;
  while (!output.includes("Whistle Edge is serving")) {
    if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return output;
}

async function stop(): Promise<void> {
  const child = server;
  server = null;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  process.kill(-child.pid!, "SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null) process.kill(-child.pid!, "SIGKILL");
}

afterAll(async () => {
  await stop();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("the local server", () => {
  it("keeps accounts, devices and numbers across a restart and seeds the demo only once", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/api/v1`;
    const firstOutput = await start(port);
    const demo = JSON.parse(readFileSync(join(stateDir, "demo.json"), "utf8"));
    expect(firstOutput).toContain(demo.account.id);
    expect(firstOutput).toContain(demo.accountApiKey);
    const auth = { authorization: `Bearer ${demo.accountApiKey}`, "content-type": "application/json" };

    const created = await fetch(`${base}/accounts/${demo.account.id}/devices`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ username: "2000", password: "persist-me-2000" }),
    });
    expect(created.status).toBe(201);
    const device = (await created.json()) as { id: string };
    // The demo's inventory came from the operator: the account key points its free number, and may not add one.
    const number = await fetch(`${base}/accounts/${demo.account.id}/numbers/${encodeURIComponent("+14155550102")}`, {
      method: "PATCH",
      headers: auth,
      body: JSON.stringify({ deviceId: device.id }),
    });
    expect(number.status).toBe(200);
    const claimed = await fetch(`${base}/accounts/${demo.account.id}/numbers`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ number: "+14155550199", deviceId: device.id }),
    });
    expect(claimed.status).toBe(403);

    await stop();
    const secondOutput = await start(port);
    expect(secondOutput).toContain(demo.account.id);
    expect(JSON.parse(readFileSync(join(stateDir, "demo.json"), "utf8")).account.id).toBe(demo.account.id);

    const devices = (await (await fetch(`${base}/accounts/${demo.account.id}/devices`, { headers: auth })).json()) as Page;
    expect(devices.items.map((d) => d.username).sort()).toEqual(["1000", "1001", "2000"]);
    const numbers = (await (await fetch(`${base}/accounts/${demo.account.id}/numbers`, { headers: auth })).json()) as Page;
    const byUsername = new Map(devices.items.map((d) => [d.username, d.id]));
    expect(numbers.items).toEqual([
      expect.objectContaining({ number: "+14155550100", deviceId: byUsername.get("1000") }),
      expect.objectContaining({ number: "+14155550101", deviceId: byUsername.get("1001") }),
      expect.objectContaining({ number: "+14155550102", deviceId: device.id }),
    ]);
    expect(secondOutput).toContain("+14155550102  rings 2000");
    // The catalog persisted too: the number is still taken for every other account.
    const accounts = (await (await fetch(`${base}/accounts`, { headers: auth })).json()) as Page;
    expect(accounts.items.map((a) => a.realm)).toEqual(["demo.whistle.test"]);
  });
});
