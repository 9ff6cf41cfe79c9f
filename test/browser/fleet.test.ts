// The operator's switch fleet in the console, in a real Chromium: a switch created through the API
// appears, its first callback turns it alive, a device it registers counts as a binding it holds,
// drain and undrain change its state, and a rotated credential is shown once and the old one stops
// working. An account key never sees the fleet.
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { artifacts, launchChromium, postSwitchEvent, signIn, startEdge, switchEvent, watchPage, type Edge } from "./harness";

let edge: Edge;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

interface SwitchDoc {
  id: string;
  name: string;
  state: string;
  draining: boolean;
  lastSeenAt: string | null;
}

const shot = (p: Page, name: string) => p.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

async function operator(method: string, path: string, body?: unknown) {
  const response = await fetch(`${edge.base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${edge.operatorKey}`, ...(body !== undefined && { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as unknown;
}

/** A Kamailio keepalive from a switch: the cheapest authenticated callback. */
function keepalive(switchId: string, credential: string) {
  return fetch(`${edge.base}/kamailio/v1/keepalive`, {
    method: "POST",
    headers: { authorization: `Basic ${btoa(`${switchId}:${credential}`)}`, "content-type": "application/json" },
    body: "{}",
  });
}

let created: { switch: SwitchDoc; credential: string };

beforeAll(async () => {
  [edge, browser] = await Promise.all([startEdge(), launchChromium()]);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  watchPage(page, pageErrors);
  created = (await operator("POST", "/switches", { name: "edge-test-fs2", address: "sip:127.0.0.7:5060" })) as typeof created;
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await edge?.stop();
});

describe("the switch fleet in the console", () => {
  const row = () => page.locator("#switches-body tr", { hasText: "edge-test-fs2" });

  it("lists a switch created through the API for the operator, not yet seen", async () => {
    await page.goto(`${edge.base}/`);
    await signIn(page, edge.operatorKey);
    await page.getByRole("heading", { level: 1, name: "Accounts" }).waitFor();
    await page.getByRole("link", { name: "Switches" }).click();
    await page.getByRole("heading", { level: 1, name: "Switches" }).waitFor();
    expect(page.url()).toBe(`${edge.base}/#/switches`);
    await row().waitFor();
    expect(await row().locator(".state").innerText()).toContain("Not seen yet");
    expect(await row().locator(".seen").innerText()).toBe("never");
    expect(await row().locator(".name").innerText()).toContain(created.switch.id);
    // The demo switch is in the fleet too.
    await page.locator("#switches-body tr", { hasText: edge.demo.switch.name }).waitFor();
    await row().locator(".bindings", { hasText: "0" }).waitFor();
  });

  it("turns the switch alive on its first callback, and counts a device it registers, without a reload", async () => {
    await page.evaluate(() => ((window as unknown as { noReload: boolean }).noReload = true));
    expect((await keepalive(created.switch.id, created.credential)).status).toBe(200);
    await row().locator(".state", { hasText: "Alive" }).waitFor({ timeout: 15_000 });
    expect(await row().locator(".seen time").getAttribute("datetime")).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await row().locator(".seen").innerText()).toMatch(/ago/);

    // A device registered through this switch is a binding it holds (counted on the next fleet event
    // or the periodic count; the drain below makes the monitor look at once).
    const registered = await postSwitchEvent(
      edge,
      switchEvent("event-sofia_register.json", "1000", edge.demo.account.realm),
      created.credential,
    );
    expect(registered.outcome).toBe("registered");
    expect(await page.evaluate(() => (window as unknown as { noReload?: boolean }).noReload)).toBe(true);
    await shot(page, "10-fleet-alive");
  });

  it("drains and undrains the switch from its row", async () => {
    await row().getByRole("button", { name: "Drain switch edge-test-fs2" }).click();
    await row().locator(".state", { hasText: "Draining" }).waitFor();
    expect(((await operator("GET", `/switches/${created.switch.id}`)) as SwitchDoc).state).toBe("draining");
    expect(await page.locator("#announcer").innerText()).toContain("edge-test-fs2 is draining");
    // The fleet monitor's switch.draining event is listed, and the bindings count is read again.
    await page.locator("#fleet-activity li", { hasText: "edge-test-fs2 is draining" }).waitFor({ timeout: 15_000 });
    await row().locator(".bindings", { hasText: "1" }).waitFor({ timeout: 15_000 });
    await shot(page, "11-fleet-draining");

    await row().getByRole("button", { name: "Stop draining switch edge-test-fs2" }).click();
    await row().locator(".state", { hasText: "Alive" }).waitFor();
    const after = (await operator("GET", `/switches/${created.switch.id}`)) as SwitchDoc;
    expect(after.state).toBe("alive");
    expect(after.draining).toBe(false);
  });

  it("rotates the credential after asking: the new one is shown once, the old one stops working", async () => {
    const rotate = row().getByRole("button", { name: "Rotate the credential of switch edge-test-fs2" });
    const panel = page.locator("#credential-once");
    // Declined, nothing changes: the switch keeps its credential.
    const asked: string[] = [];
    page.once("dialog", (dialog) => {
      asked.push(dialog.message());
      void dialog.dismiss();
    });
    await rotate.click();
    expect(asked[0]).toContain("stops working");
    expect(await panel.isHidden()).toBe(true);
    expect((await keepalive(created.switch.id, created.credential)).status).toBe(200);

    page.once("dialog", (dialog) => void dialog.accept());
    await rotate.click();
    await panel.waitFor();
    const fresh = await page.locator("#credential-value").inputValue();
    expect(fresh).not.toBe("");
    expect(fresh).not.toBe(created.credential);
    expect(await panel.innerText()).toContain("edge-test-fs2");
    await shot(page, "12-fleet-credential");

    // The old credential is refused; the one the console showed works.
    expect((await keepalive(created.switch.id, created.credential)).status).toBe(401);
    expect((await keepalive(created.switch.id, fresh)).status).toBe(200);

    // Shown once: hidden, it is gone from the page, and it was never stored in the browser.
    await page.getByRole("button", { name: "Done, hide the credential" }).click();
    await panel.waitFor({ state: "hidden" });
    expect(await page.locator("#credential-value").inputValue()).toBe("");
    expect(await page.content()).not.toContain(fresh);
    expect(await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }))).not.toContain(fresh);
    await page.reload();
    await row().waitFor();
    expect(await panel.isHidden()).toBe(true);
    expect(await page.content()).not.toContain(fresh);
    expect(pageErrors).toEqual([]);
  });

  it("is not offered to an account key", async () => {
    const context = await browser.newContext();
    try {
      const p = await context.newPage();
      await p.goto(`${edge.base}/#/switches`);
      await signIn(p, edge.demo.accountApiKey);
      await p.getByRole("heading", { level: 1, name: "Demo account" }).waitFor();
      expect(await p.getByRole("link", { name: "Switches" }).count()).toBe(0);
      await p.evaluate(() => (location.hash = "#/switches"));
      await p.waitForFunction((id) => location.hash === `#/accounts/${id}`, edge.demo.account.id);
      expect(await p.locator("#view-switches").isHidden()).toBe(true);
    } finally {
      await context.close();
    }
  });
});
