// The web console in a real browser: sign in with the demo account key, watch a FreeSWITCH
// registration appear and go without a reload (desktop and a 390 px phone), refuse a wrong key,
// show a problem document next to the field it names. Screenshots go to test/browser/artifacts/.
import { join } from "node:path";
import type { Browser, BrowserContext, Page, WebSocketRoute } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifiedRegister } from "../node/freeswitch-sip-auth";
import { artifacts, launchChromium, postSwitchEvent, signIn, startEdge, switchEvent, watchPage, type Edge } from "./harness";

let edge: Edge;
let browser: Browser;
let desktop: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

const CONTACT = "sip:1000@127.0.0.1:5080";
const USER_AGENT = "sipp-xmlcurl-test";

const shot = (p: Page, name: string) => p.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

beforeAll(async () => {
  [edge, browser] = await Promise.all([startEdge(), launchChromium()]);
  desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await desktop.newPage();
  watchPage(page, pageErrors);
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await edge?.stop();
});

describe("the web console", () => {
  it("is served with a Content-Security-Policy without inline script, frame-ancestors 'none', nosniff and no referrer", async () => {
    const response = await page.goto(edge.base);
    const headers = response!.headers();
    expect(headers["content-security-policy"]).toMatch(/script-src 'self'(;|$)/);
    expect(headers["content-security-policy"]).toMatch(/frame-ancestors 'none'/);
    expect(headers["content-security-policy"]).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(headers["x-content-type-options"]).toBe("nosniff");
    expect(headers["referrer-policy"]).toBe("no-referrer");
    const api = await fetch(`${edge.base}/api/v1/openapi.json`);
    expect(api.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
    expect(api.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("signs in with the demo account key and shows the account's devices", async () => {
    await page.goto(`${edge.base}/`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await shot(page, "01-sign-in-desktop");

    await signIn(page, edge.demo.accountApiKey);
    await page.getByRole("heading", { level: 1, name: "Demo account" }).waitFor();
    expect(page.url()).toBe(`${edge.base}/#/accounts/${edge.demo.account.id}`);
    const devices = page.locator("#devices-body tr");
    await expect.poll(() => devices.count()).toBe(2);
    expect(await page.locator("#devices-body .username").allInnerTexts()).toEqual(["1000", "1001"]);
    expect(await devices.first().locator(".caller").innerText()).toContain("Reception");
    // The key stays in this tab's sessionStorage only.
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([edge.demo.accountApiKey]);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    await page.locator('#live-state[data-state="live"]').waitFor();
    await shot(page, "02-account-desktop");
  });

  it("shows a registration the switch reports, live, and removes it on unregister", async () => {
    // A marker that a reload would lose.
    await page.evaluate(() => ((window as unknown as { noReload: boolean }).noReload = true));
    const rows = page.locator("#registrations-body tr");
    expect(await rows.count()).toBe(0);

    const registered = await postSwitchEvent(edge, switchEvent("event-sofia_register.json", "1000", edge.demo.account.realm));
    expect(registered.outcome).toBe("registered");

    const row = page.locator("#registrations-body tr", { hasText: CONTACT });
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator(".device").innerText()).toContain("1000");
    expect(await row.locator(".contact").innerText()).toContain(CONTACT);
    expect(await row.locator(".agent").innerText()).toBe(USER_AGENT);
    expect(await row.locator(".switch").innerText()).toContain(edge.demo.switch.id);
    // Time to expiry counts down (the captured event asks for 123 s).
    const before = parseSeconds(await row.locator(".expires").innerText());
    expect(before).toBeGreaterThan(100);
    expect(before).toBeLessThanOrEqual(123);
    await page.waitForTimeout(2_200);
    expect(parseSeconds(await row.locator(".expires").innerText())).toBeLessThan(before);
    await page.locator("#activity li", { hasText: `registered at ${CONTACT}` }).waitFor();
    expect(await page.locator("#announcer").innerText()).toContain("registered");
    await shot(page, "03-registered-desktop");

    // The same account on a phone: the table becomes stacked rows, nothing scrolls sideways.
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      const small = await phone.newPage();
      watchPage(small, pageErrors);
      await small.goto(`${edge.base}/`);
      await signIn(small, edge.demo.accountApiKey);
      const phoneRow = small.locator("#registrations-body tr", { hasText: CONTACT });
      await phoneRow.waitFor();
      await small.locator('#live-state[data-state="live"]').waitFor();
      expect(await small.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      expect(await phoneRow.locator("td.agent").evaluate((td) => getComputedStyle(td).display)).toBe("grid");
      expect(await phoneRow.locator("td.agent").evaluate((td) => getComputedStyle(td, "::before").content)).toBe('"User agent"');
      await shot(small, "04-registered-phone");

      const unregistered = await postSwitchEvent(edge, switchEvent("event-sofia_unregister.json", "1000", edge.demo.account.realm));
      expect(unregistered.outcome).toBe("unregistered");
      await row.waitFor({ state: "detached", timeout: 10_000 });
      await phoneRow.waitFor({ state: "detached", timeout: 10_000 });
      expect(await rows.count()).toBe(0);
      await page.locator("#registrations-empty").waitFor();
      await page.locator("#activity li", { hasText: `unregistered ${CONTACT}` }).waitFor();
      await shot(small, "05-unregistered-phone");
    } finally {
      await phone.close();
    }
    expect(await page.evaluate(() => (window as unknown as { noReload?: boolean }).noReload)).toBe(true);
    await shot(page, "05-unregistered-desktop");
  });

  it("reconnects after the event stream drops and resumes after the last event it saw", async () => {
    const context = await browser.newContext({ viewport: { width: 1024, height: 800 } });
    const streams: { url: string; route: WebSocketRoute; server: WebSocketRoute }[] = [];
    // Pass the stream through unchanged, keeping a handle to cut it.
    await context.routeWebSocket(/\/events(\?|$)/, (route) => {
      streams.push({ url: route.url(), route, server: route.connectToServer() });
    });
    try {
      const p = await context.newPage();
      watchPage(p, pageErrors);
      await p.goto(`${edge.base}/`);
      await signIn(p, edge.demo.accountApiKey);
      await p.locator('#live-state[data-state="live"]').waitFor();
      expect(streams).toHaveLength(1);
      expect(streams[0]!.url).not.toContain("since=");

      const contact = "sip:1001@127.0.0.1:5081";
      const register = switchEvent("event-sofia_register.json", "1001", edge.demo.account.realm, {
        contact: `<${contact}>`,
        "call-id": "console-reconnect-1",
        "network-port": "5081",
        "user-agent": "Reconnect Phone",
      });
      await postSwitchEvent(edge, register);
      const row = p.locator("#registrations-body tr", { hasText: contact });
      await row.waitFor();
      const lastSeq = await latestSeq();

      // The connection drops: the console says so, then reconnects asking for what it missed.
      await streams[0]!.server.close({ code: 1012, reason: "test drop" });
      await streams[0]!.route.close({ code: 1012, reason: "test drop" });
      await p.locator('#live-state[data-state="down"]').waitFor();
      await shot(p, "05b-stream-dropped");
      await postSwitchEvent(edge, switchEvent("event-sofia_unregister.json", "1001", edge.demo.account.realm, { contact: `<${contact}>` }));
      await p.locator('#live-state[data-state="live"]').waitFor({ timeout: 15_000 });
      expect(streams).toHaveLength(2);
      expect(new URL(streams[1]!.url).searchParams.get("since")).toBe(String(lastSeq));
      await row.waitFor({ state: "detached", timeout: 10_000 });
      await p.locator("#activity li", { hasText: `unregistered ${contact}` }).waitFor();
    } finally {
      await context.close();
    }
  });

  it("shows the problem document's field error next to the password field", async () => {
    const form = page.locator("#create-device-form");
    await form.getByLabel("Username").fill("1002");
    await form.getByLabel("Password").fill("short");
    await form.getByLabel("Caller ID name").fill("Warehouse");
    await form.getByRole("button", { name: "Add device" }).click();

    const error = form.locator('[data-error-for="password"]');
    await error.waitFor();
    expect(await error.innerText()).toContain("at least 8 characters");
    const password = form.getByLabel("Password");
    expect(await password.getAttribute("aria-invalid")).toBe("true");
    expect(await password.getAttribute("aria-describedby")).toBe(await error.getAttribute("id"));
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("new-password");
    expect(await form.locator('[data-error-for="_form"]').innerText()).toContain("The device was not added: invalid password (400 Bad Request)");
    expect(await form.locator('[data-error-for="username"]').isHidden()).toBe(true);
    await shot(page, "06-device-password-error");

    // Corrected, the device is created and the error goes away.
    await password.fill("long-enough-1002");
    await form.getByRole("button", { name: "Add device" }).click();
    await page.locator("#devices-body tr", { hasText: "Warehouse" }).waitFor();
    expect(await error.isHidden()).toBe(true);
    expect(await password.getAttribute("aria-invalid")).toBeNull();
  });

  it("disables a device and assigns it one of the account's numbers, refusing one that is not E.164 or not the account's", async () => {
    const row = page.locator("#devices-body tr", { hasText: "Warehouse" });
    await row.getByRole("button", { name: "Disable device 1002" }).click();
    await row.locator(".badge", { hasText: "Disabled" }).waitFor();

    await row.getByText("Assign number").click();
    const numberForm = row.locator('form[data-form="number"]');
    await numberForm.getByLabel("Number (E.164)").fill("4155550102");
    await numberForm.getByRole("button", { name: "Assign" }).click();
    const numberError = numberForm.locator('[data-error-for="number"]');
    await numberError.waitFor();
    expect(await numberError.innerText()).toContain("E.164");

    // A number outside the account's inventory (only the operator adds numbers) is refused on the form.
    await numberForm.getByLabel("Number (E.164)").fill("+14155550199");
    await numberForm.getByRole("button", { name: "Assign" }).click();
    await numberForm.locator('[data-error-for="number"]', { hasText: "not in this account" }).waitFor();
    expect(await page.locator("#numbers-body tr", { hasText: "+14155550199" }).count()).toBe(0);

    // The demo's free number, stocked by the operator, is the account's to assign.
    await numberForm.getByLabel("Number (E.164)").fill("+14155550102");
    await numberForm.getByRole("button", { name: "Assign" }).click();
    await row.locator(".numbers", { hasText: "+14155550102" }).waitFor();
    await page.locator("#numbers-body tr", { hasText: "+14155550102" }).waitFor();
    await row.getByRole("button", { name: "Enable device 1002" }).click();
    await row.locator(".badge", { hasText: "Enabled" }).waitFor();
    await shot(page, "07-device-added");
  });

  it("signs out, and refuses a wrong key with a clear error", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

    await signIn(page, "wek_0123456789abcdef0123_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    const fieldError = page.locator('[data-error-for="Authorization"]');
    await fieldError.waitFor();
    expect(await fieldError.innerText()).toContain("This API key is unknown or has been revoked.");
    expect(await page.locator('#sign-in-form [data-error-for="_form"]').innerText()).toContain("The API key was not accepted");
    expect(await page.getByLabel("API key").getAttribute("aria-invalid")).toBe("true");
    expect(await page.locator("#view-account").isHidden()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await shot(page, "08-wrong-key");
  });

  it("lists every account for the operator key", async () => {
    await signIn(page, edge.operatorKey);
    await page.getByRole("heading", { level: 1, name: "Accounts" }).waitFor();
    const link = page.getByRole("link", { name: "Demo account" });
    await link.waitFor();
    await shot(page, "09-operator-accounts");
    await link.click();
    await page.getByRole("heading", { level: 1, name: "Demo account" }).waitFor();
    await page.locator('#live-state[data-state="live"]').waitFor();
    await expect.poll(() => page.locator("#devices-body tr").count()).toBe(3);
    expect(await page.locator("#nav-who").innerText()).toBe("Signed in as operator");
    expect(pageErrors).toEqual([]);
  });

  it("tells, live, when an address is locked out of a device and when it is refused", async () => {
    // Five wrong passwords for 1001 from one address (the account's threshold), then the right one.
    const device = edge.demo.devices.find((d) => d.username === "1001")!;
    const attempt = (password: string) =>
      verifiedRegister(edge.base, edge.demo.switch.credential, { realm: edge.demo.account.realm, username: "1001", password, ip: "198.51.100.7", callId: "console-lockout" }).then(
        () => "accepted",
        () => "refused",
      );
    for (let i = 0; i < 5; i++) expect(await attempt("not-the-password")).toBe("refused");
    await page.locator("#activity li", { hasText: "198.51.100.7 is locked out of 1001 after repeated wrong passwords" }).waitFor();
    expect(await attempt(device.password)).toBe("refused");
    await page.locator("#activity li", { hasText: "Refused 1001 from 198.51.100.7" }).waitFor();
    expect(await page.locator("#activity li", { hasText: /^\S+\s+(auth|source)\.\w+$/ }).count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it("lists the address locked out of a device in the account's lockouts, and clears it from there", async () => {
    // The address the test above locked out of 1001 (the list was re-read on its source.locked event).
    const row = page.locator("#lockouts-body tr", { hasText: "198.51.100.7" });
    await row.waitFor();
    expect(await page.locator("#lockouts-empty").isHidden()).toBe(true);
    expect(await row.getAttribute("data-username")).toBe("1001");
    expect(await row.innerText()).toMatch(/1001\s+198\.51\.100\.7\s+6\s+/);
    await shot(page, "console-lockouts");
    await row.getByRole("button", { name: "Clear lockout" }).click();
    await expect.poll(() => page.locator("#lockouts-body tr").count()).toBe(0);
    expect(await page.locator("#lockouts-empty").isVisible()).toBe(true);
    await page.locator("#announcer", { hasText: "The lockout of device 1001 is cleared." }).waitFor();
    // The address is served again.
    const device = edge.demo.devices.find((d) => d.username === "1001")!;
    await verifiedRegister(edge.base, edge.demo.switch.credential, { realm: edge.demo.account.realm, username: "1001", password: device.password, ip: "198.51.100.7", callId: "console-lockout-cleared" });
    expect(pageErrors).toEqual([]);
  });
});

/** The account's newest event sequence number, from the paged events API. */
async function latestSeq(): Promise<number> {
  let since = 0;
  for (;;) {
    const response = await fetch(`${edge.base}/api/v1/accounts/${edge.demo.account.id}/events?since=${since}&limit=500`, {
      headers: { authorization: `Bearer ${edge.demo.accountApiKey}` },
    });
    const page = (await response.json()) as { items: unknown[]; next: number };
    if (page.next === since) return since;
    since = page.next;
  }
}

function parseSeconds(text: string): number {
  const minutes = /(\d+) min (\d+) s/.exec(text);
  if (minutes) return Number(minutes[1]) * 60 + Number(minutes[2]);
  const seconds = /(\d+) s/.exec(text);
  if (seconds) return Number(seconds[1]);
  throw new Error(`not a time to expiry: ${text}`);
}
