// The console's device import in a real browser: a refused file (mode all) lists its rows with their
// line and column and imports nothing; a 1,200-row CSV with two bad rows (mode good-rows) shows its
// progress while the job runs (rows done of the total, the refused rows counted and listed), then
// the counts, and the new devices appear in the table. Its own edge (harness.ts), demo account key.
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { artifacts, launchChromium, signIn, startEdge, type Edge } from "./harness";

let edge: Edge;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

const shot = (name: string) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

beforeAll(async () => {
  [edge, browser] = await Promise.all([startEdge(), launchChromium()]);
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.on("pageerror", (error) => pageErrors.push(error.message));
  // Every text the import's status line shows, in order, however briefly.
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { importStatuses: string[] }).importStatuses = seen;
    new MutationObserver(() => {
      const text = document.getElementById("import-status")?.textContent;
      if (text && seen.at(-1) !== text) seen.push(text);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  await page.goto(`${edge.base}/`);
  await signIn(page, edge.demo.accountApiKey);
  await page.getByRole("heading", { level: 1, name: "Demo account" }).waitFor();
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await edge?.stop();
});

async function choose(name: string, csv: string) {
  await page.getByLabel("File").setInputFiles({ name, mimeType: "text/csv", buffer: Buffer.from(csv) });
}

describe("importing devices in the console", () => {
  it("a file with a refused row imports nothing and lists the row with its line and column", async () => {
    await choose("bad.csv", ["username,password", "3000,good-password", "3001,short"].join("\n"));
    await page.getByRole("button", { name: "Import" }).click();
    const alert = page.locator('#import-form [data-error-for="_form"]');
    await alert.waitFor();
    expect(await alert.innerText()).toContain("The file was not imported: 1 row is refused, so nothing was imported");
    const row = page.locator("#import-errors-body tr");
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.first().innerText()).toMatch(/2\s+3\s+password\s+at least 8 characters/);
    expect(await page.locator("#devices-body tr").count()).toBe(2);
    await shot("import-01-refused");
  });

  it("a 1,200-row file shows its progress and refused rows while it runs, then the counts, and the devices appear", async () => {
    const rows = Array.from({ length: 1_200 }, (_, i) => `${5000 + i},import-pass-${i},Desk ${i}`);
    // Two refused rows: a short password (data row 11, line 12) and a username with a space (row 1001, line 1002).
    rows[10] = "5010,short,Desk 10";
    rows[1000] = "70 00,import-pass-1000,Desk 1000";
    await choose("devices.csv", ["username,password,callerIdName", ...rows].join("\n"));
    await page.getByLabel("When a row is refused").selectOption("good-rows");
    await page.getByRole("button", { name: "Import" }).click();
    const status = page.locator("#import-status");
    await expect.poll(() => status.innerText(), { timeout: 120_000 }).toBe("Import done: 1200 rows — 1198 added, 0 updated, 2 refused.");
    const statuses = await page.evaluate(() => (window as unknown as { importStatuses: string[] }).importStatuses);
    // The job was shown while it ran (the 202 answer is a running job), with the rows done of the
    // total and the refused rows counted from the start, before its end.
    const running = statuses.filter((text) => text.startsWith("Importing:"));
    expect(running.length).toBeGreaterThan(0);
    for (const text of running) expect(text).toMatch(/^Importing: \d+ of 1200 rows — \d+ added, 0 updated, 2 refused\.$/);
    expect(statuses.indexOf(running[0]!)).toBeLessThan(statuses.indexOf("Import done: 1200 rows — 1198 added, 0 updated, 2 refused."));
    expect(await page.locator("#import-bar").evaluate((bar: HTMLProgressElement) => [bar.value, bar.max])).toEqual([1200, 1200]);
    const refused = page.locator("#import-errors-body tr");
    expect(await refused.count()).toBe(2);
    expect(await refused.nth(0).innerText()).toMatch(/^11\s+12\s+password\s+at least 8 characters/);
    expect(await refused.nth(1).innerText()).toMatch(/^1001\s+1002\s+username\s+/);
    await expect.poll(() => page.locator("#devices-body tr").count(), { timeout: 60_000 }).toBe(1_200);
    // No screenshot here: with 1,200 device rows on the page a capture takes longer than the test.
    expect(pageErrors).toEqual([]);
  });
});
