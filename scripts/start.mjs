#!/usr/bin/env node
// `npm start`: serve the edge locally on workerd with state persisted under .wrangler/state.
// First start: creates local secrets (.dev.vars), applies the catalog migrations, and seeds a
// demo account (realm, two devices, three numbers, one switch) whose credentials it prints. Makes no outbound
// connection. Port: PORT (default 8787); address: HOST (default 127.0.0.1); state: STATE_DIR
// (default .wrangler/state). Each EDGE_VAR_<NAME>=<value> in the environment becomes a Worker
// variable <NAME> (e.g. EDGE_VAR_NONCE_TTL_SECONDS=5), overriding wrangler.toml and .dev.vars.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const stateDir = process.env.STATE_DIR ?? join(root, ".wrangler", "state");
const demoFile = join(stateDir, "demo.json");
// With the default state the secrets live in .dev.vars (wrangler reads it); with STATE_DIR (tests,
// several edges side by side) they live beside that state and are passed as --var.
const ownState = process.env.STATE_DIR !== undefined;
const devVars = ownState ? join(stateDir, "local.vars") : join(root, ".dev.vars");
const port = Number(process.env.PORT ?? 8787);
const host = process.env.HOST ?? "127.0.0.1";
const base = `http://${host}:${port}`;

const offline = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  NO_UPDATE_NOTIFIER: "1",
};
const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");

function ensureLocalSecrets() {
  const wanted = {
    // workerd has no Durable Object jurisdictions: emulate them locally (see functions/accounts.ts).
    JURISDICTIONS: () => "emulated",
    // Local development may point webhooks at http://127.0.0.1 (refused in production).
    WEBHOOK_ALLOW_PRIVATE: () => "true",
    OPERATOR_API_KEY: () => `op_${randomBytes(24).toString("base64url")}`,
    SWITCH_SIGNING_KEY: () => randomBytes(32).toString("base64url"),
  };
  const vars = existsSync(devVars) ? readVars() : {};
  const missing = Object.keys(wanted).filter((name) => !vars[name]);
  if (missing.length === 0) return vars;
  for (const name of missing) vars[name] = wanted[name]();
  mkdirSync(dirname(devVars), { recursive: true });
  writeFileSync(devVars, Object.entries(vars).map(([k, v]) => `${k}=${v}`).join("\n") + "\n", { mode: 0o600 });
  console.log(`${ownState ? devVars : ".dev.vars"}: created ${missing.join(", ")}`);
  return vars;
}

function readVars() {
  return Object.fromEntries(
    readFileSync(devVars, "utf8")
      .split("\n")
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1).replace(/^"|"$/g, "")]),
  );
}

function applyCatalogMigrations() {
  mkdirSync(stateDir, { recursive: true });
  const result = spawnSync(
    process.execPath,
    [wrangler, "d1", "migrations", "apply", "CATALOG", "--local", "--persist-to", stateDir],
    { cwd: root, env: { ...offline, CI: "true" }, encoding: "utf8" },
  );
  if (result.status !== 0) {
    process.stderr.write(result.stdout + result.stderr);
    throw new Error("applying the catalog migrations failed");
  }
}

async function waitUntilServing(child) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${base}/healthz`);
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the edge did not answer on ${base} within 150 s`);
}

async function api(operatorKey, method, path, body) {
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${operatorKey}`, ...(body && { "content-type": "application/json" }) },
    body: body && JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${json.detail ?? ""}`);
  return json;
}

/** The demo account's numbers (operator inventory): two ring a device, one is free for the walkthrough. */
const DEMO_NUMBERS = [
  ["+14155550100", "1000"],
  ["+14155550101", "1001"],
  ["+14155550102", null],
];

async function seedDemo(operatorKey) {
  if (existsSync(demoFile)) {
    const demo = JSON.parse(readFileSync(demoFile, "utf8"));
    const found = await fetch(`${base}/api/v1/accounts/${demo.account.id}`, { headers: { authorization: `Bearer ${operatorKey}` } });
    if (found.ok) return demo;
  }
  const password = () => randomBytes(9).toString("base64url");
  const realm = "demo.whistle.test";
  const existing = await api(operatorKey, "GET", "/accounts?limit=500");
  const stale = existing.items.find((a) => a.realm === realm);
  if (stale) await api(operatorKey, "DELETE", `/accounts/${stale.id}`);
  const account = await api(operatorKey, "POST", "/accounts", { realm, name: "Demo account" });
  const devices = [];
  const ids = new Map();
  for (const [username, name] of [["1000", "Reception"], ["1001", "Sales"]]) {
    const secret = password();
    const device = await api(operatorKey, "POST", `/accounts/${account.id}/devices`, {
      username,
      password: secret,
      callerIdName: name,
      callerIdNumber: username,
    });
    devices.push({ username, password: secret });
    ids.set(username, device.id);
  }
  // The operator stocks the account's number inventory; the account points its numbers at its devices.
  for (const [number, device] of DEMO_NUMBERS) {
    const deviceId = device === null ? null : ids.get(device);
    // A number another account already holds stays there: the demo simply goes without it.
    await api(operatorKey, "POST", `/accounts/${account.id}/numbers`, { number, deviceId }).catch((error) => {
      if (!/: 409 /.test(error.message)) throw error;
    });
  }
  const switches = await api(operatorKey, "GET", "/switches?limit=500");
  for (const old of switches.items.filter((s) => s.name === "demo-switch")) {
    await api(operatorKey, "DELETE", `/switches/${old.id}`);
  }
  const sw = await api(operatorKey, "POST", "/switches", { name: "demo-switch", address: "sip:127.0.0.1:5060" });
  const key = await api(operatorKey, "POST", `/accounts/${account.id}/api-keys`, { name: "demo" });
  const demo = {
    account: { id: account.id, realm },
    devices,
    switch: { id: sw.switch.id, name: sw.switch.name, credential: sw.credential },
    accountApiKey: key.key,
  };
  writeFileSync(demoFile, JSON.stringify(demo, null, 2) + "\n", { mode: 0o600 });
  return demo;
}

async function printDemo(demo, operatorKey) {
  // Numbers as they are now (the account may have moved or the operator released some since the seed).
  const numbers = (await api(operatorKey, "GET", `/accounts/${demo.account.id}/numbers?limit=500`)).items;
  const devices = (await api(operatorKey, "GET", `/accounts/${demo.account.id}/devices?limit=500`)).items;
  const usernames = new Map(devices.map((d) => [d.id, d.username]));
  const lines = [
    "",
    `Whistle Edge is serving on ${base}  (state: ${stateDir})`,
    "",
    `  operator API key   ${operatorKey}`,
    `  demo account       ${demo.account.id}`,
    `  realm              ${demo.account.realm}`,
    `  account API key    ${demo.accountApiKey}`,
    ...demo.devices.map((d) => `  device             ${d.username}@${demo.account.realm}  password ${d.password}`),
    ...numbers.map((n) => `  number             ${n.number}  ${n.deviceId === null ? "free (rings the account)" : `rings ${usernames.get(n.deviceId) ?? n.deviceId}`}`),
    `  switch             ${demo.switch.name} (${demo.switch.id})`,
    `  switch credential  ${demo.switch.credential}`,
    "",
    `  try: curl -s -H "authorization: Bearer ${demo.accountApiKey}" ${base}/api/v1/accounts/${demo.account.id}/devices`,
    "",
  ];
  console.log(lines.join("\n"));
}

const vars = ensureLocalSecrets();
applyCatalogMigrations();
const overrides = Object.entries(process.env)
  .filter(([name]) => name.startsWith("EDGE_VAR_"))
  .map(([name, value]) => [name.slice("EDGE_VAR_".length), value]);
const extraVars = [...Object.entries(ownState ? vars : {}), ...overrides].flatMap(([name, value]) => ["--var", `${name}:${value}`]);
const child = spawn(
  process.execPath,
  [wrangler, "dev", "--persist-to", stateDir, "--ip", host, "--port", String(port), "--show-interactive-dev-session=false", ...extraVars],
  { cwd: root, env: offline, stdio: ["ignore", "inherit", "inherit"] },
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));

try {
  await waitUntilServing(child);
  const operatorKey = process.env.EDGE_VAR_OPERATOR_API_KEY ?? vars.OPERATOR_API_KEY;
  await printDemo(await seedDemo(operatorKey), operatorKey);
} catch (error) {
  console.error(`start: ${error.message}`);
  child.kill("SIGTERM");
  process.exitCode = 1;
}
