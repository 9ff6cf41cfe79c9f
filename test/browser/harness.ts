// The pieces the console's browser tests need: the edge as `npm start` runs it (its own port,
// state directory and process group) and Debian's Chromium through playwright-core.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { verifiedRegister } from "../node/freeswitch-sip-auth";

export const root = join(import.meta.dirname, "..", "..");
export const artifacts = join(import.meta.dirname, "artifacts");
const fixtures = join(root, "test", "fixtures", "freeswitch");

export const CHROMIUM = "/usr/bin/chromium";
/** The flags the machine's probe used; Playwright adds --headless and its own fresh --user-data-dir. */
export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Demo {
  account: { id: string; realm: string };
  devices: { username: string; password: string }[];
  switch: { id: string; name: string; credential: string };
  accountApiKey: string;
}

export interface Edge {
  base: string;
  demo: Demo;
  operatorKey: string;
  output(): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
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

/** `node scripts/start.mjs` on a free port with a temporary state directory, in its own process group. */
export async function startEdge(): Promise<Edge> {
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), "whistle-console-"));
  const child: ChildProcess = spawn(process.execPath, [join(root, "scripts", "start.mjs")], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", STATE_DIR: stateDir },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        // already gone
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
    // Whatever is left of the group (wrangler's workerd children) goes too.
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // the group is empty
    }
    rmSync(stateDir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + 180_000;
    while (!output.includes("Whistle Edge is serving") || !/switch credential\s+\S+/.test(output)) {
      if (child.exitCode !== null) throw new Error(`start.mjs exited early:\n${output}`);
      if (Date.now() > deadline) throw new Error(`the edge did not come up:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const demo = JSON.parse(readFileSync(join(stateDir, "demo.json"), "utf8")) as Demo;
    const operatorKey = /operator API key\s+(\S+)/.exec(output)?.[1];
    if (!operatorKey) throw new Error(`no operator key in the start output:\n${output}`);
    return { base: `http://127.0.0.1:${port}`, demo, operatorKey, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`npm run pretest:browser\` first`);
  mkdirSync(artifacts, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, chromiumSandbox: false, args: CHROMIUM_FLAGS });
}

/** A captured FreeSWITCH event (test/fixtures/freeswitch) aimed at a device of the demo realm. */
export function switchEvent(
  name: "event-sofia_register.json" | "event-sofia_unregister.json",
  user: string,
  realm: string,
  overrides: Record<string, string> = {},
) {
  const event = JSON.parse(readFileSync(join(fixtures, name), "utf8")) as Record<string, string>;
  return {
    ...event,
    "from-user": user,
    "from-host": realm,
    "to-host": realm,
    realm,
    "Event-Date-Timestamp": String(Date.now() * 1000),
    ...overrides,
  };
}

/**
 * Posts an event as the shipped hook does: `event=<URL-encoded JSON>` with the switch's credential.
 * A `sofia::register` is preceded, as on a real FreeSWITCH, by the directory `sip_auth` of the
 * device's REGISTER (its digest from the demo password), without which the edge refuses the event.
 * `credential` is the demo switch's unless another switch reports it.
 */
export async function postSwitchEvent(
  edge: Edge,
  event: Record<string, string>,
  credential = edge.demo.switch.credential,
): Promise<{ outcome: string }> {
  if (event["Event-Subclass"] === "sofia::register") {
    const device = edge.demo.devices.find((d) => d.username === event["from-user"]);
    if (!device) throw new Error(`no demo device ${event["from-user"]}`);
    await verifiedRegister(edge.base, credential, {
      realm: event["from-host"]!,
      username: device.username,
      password: device.password,
      ip: event["network-ip"]!,
      callId: event["call-id"]!,
    });
  }
  const response = await fetch(`${edge.base}/freeswitch/v1/events`, {
    method: "POST",
    headers: { "x-edge-token": credential, "content-type": "application/x-www-form-urlencoded" },
    body: `event=${encodeURIComponent(JSON.stringify(event))}`,
  });
  const body = await response.text();
  if (!response.ok) throw new Error(`POST /freeswitch/v1/events: ${response.status} ${body}`);
  return JSON.parse(body) as { outcome: string };
}

/**
 * Collects what a page reports going wrong into `errors`: uncaught errors, console errors (other
 * than a failed resource load, which some tests cause on purpose) and every Content-Security-Policy
 * violation (the browser blocks the resource and reports it).
 */
export function watchPage(p: Page, errors: string[]): void {
  p.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  void p.addInitScript(() =>
    document.addEventListener("securitypolicyviolation", (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`)),
  );
  p.on("console", (message) => {
    if (message.type() === "error" && !/Failed to load resource/.test(message.text())) errors.push(`console: ${message.text()}`);
  });
}

/** Signs in on the console's sign-in form with an API key. */
export async function signIn(p: Page, key: string): Promise<void> {
  await p.getByLabel("API key").fill(key);
  await p.getByRole("button", { name: "Sign in" }).click();
}
