// The account's live chart in a real Chromium: registrations and authentication failures drawn from
// the account's counters (GET /accounts/{id}/metrics), moving with the callbacks a switch sends,
// without a reload; an account key reads its own account's numbers only.
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifiedRegister } from "../node/freeswitch-sip-auth";
import { artifacts, launchChromium, postSwitchEvent, signIn, startEdge, switchEvent, watchPage, type Edge } from "./harness";

let edge: Edge;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const metricsPaths: string[] = [];

interface Summary {
  bindings: number;
  authentications: Record<string, { ok: number; failed: number; locked: number }>;
}

async function summary(key: string, accountId = edge.demo.account.id) {
  const response = await fetch(`${edge.base}/api/v1/accounts/${accountId}/metrics`, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, body: (await response.json()) as Summary };
}

/** The numbers the chart shows: the figure's data, the caption, and the bars and marks summed. */
function charted(p: Page) {
  return p.evaluate(() => {
    const figure = document.getElementById("chart")!;
    const bars = [...figure.querySelectorAll<SVGGElement>("g[data-failures]")];
    const marks = [...figure.querySelectorAll<SVGRectElement>("rect[data-bindings]")];
    return {
      bindings: figure.dataset.bindings,
      failures: figure.dataset.failures,
      caption: document.getElementById("chart-summary")!.textContent,
      barFailures: bars.reduce((sum, g) => sum + Number(g.dataset.failures), 0),
      bars: bars.length,
      lastMark: marks.at(-1)?.dataset.bindings,
    };
  });
}

beforeAll(async () => {
  [edge, browser] = await Promise.all([startEdge(), launchChromium()]);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  watchPage(page, pageErrors);
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (path.endsWith("/metrics")) metricsPaths.push(path);
  });
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await edge?.stop();
});

describe("the account's live chart", () => {
  it("draws registrations and authentication failures as the switch reports them, without a reload", async () => {
    await page.goto(`${edge.base}/`);
    await signIn(page, edge.demo.accountApiKey);
    await page.getByRole("heading", { level: 1, name: "Demo account" }).waitFor();
    await page.locator('#live-state[data-state="live"]').waitFor();
    await page.locator("#chart[data-bindings]:not([data-bindings=''])").waitFor();
    const before = await summary(edge.demo.accountApiKey);
    expect(before.status).toBe(200);
    expect(await charted(page)).toMatchObject({ bindings: String(before.body.bindings), failures: "0", barFailures: 0, bars: 20 });
    await page.evaluate(() => ((window as unknown as { noReload: boolean }).noReload = true));

    // A registration through the demo switch: one more registered.
    const registered = await postSwitchEvent(edge, switchEvent("event-sofia_register.json", "1000", edge.demo.account.realm));
    expect(registered.outcome).toBe("registered");
    const bindings = String(before.body.bindings + 1);
    await page.locator(`#chart[data-bindings="${bindings}"]`).waitFor({ timeout: 20_000 });
    expect(await page.locator("#chart-bindings").innerText()).toBe(bindings);
    expect((await charted(page)).lastMark).toBe(bindings);

    // Three wrong passwords for 1001 from one address (below the lockout threshold of 5).
    for (let i = 0; i < 3; i++) {
      const outcome = await verifiedRegister(edge.base, edge.demo.switch.credential, {
        realm: edge.demo.account.realm,
        username: "1001",
        password: `wrong-${i}`,
        ip: "203.0.113.9",
        callId: `chart-wrong-${i}`,
      }).then(
        () => "accepted",
        () => "refused",
      );
      expect(outcome).toBe("refused");
    }
    await page.locator('#chart[data-failures="3"]').waitFor({ timeout: 20_000 });
    const shown = await charted(page);
    expect(shown.barFailures).toBe(3);
    expect(shown.caption).toContain("Failed authentications in the last 5 minutes: 3");
    expect(shown.caption).toContain(`Registered now: ${bindings}`);
    // The chart's numbers are the account's counters.
    const after = await summary(edge.demo.accountApiKey);
    expect(after.body.authentications.REGISTER!.failed - before.body.authentications.REGISTER!.failed).toBe(3);
    expect(after.body.bindings).toBe(Number(bindings));
    expect(await page.evaluate(() => (window as unknown as { noReload?: boolean }).noReload)).toBe(true);
    await page.locator("#chart").scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, "20-chart.png"), fullPage: true });
    await page.locator("#chart").screenshot({ path: join(artifacts, "21-chart-close.png") });
    expect(pageErrors).toEqual([]);
  });

  it("reads only the signed-in account's numbers; another account's are refused to its key", async () => {
    expect(metricsPaths.length).toBeGreaterThan(0);
    expect(new Set(metricsPaths)).toEqual(new Set([`/api/v1/accounts/${edge.demo.account.id}/metrics`]));
    const other = await fetch(`${edge.base}/api/v1/accounts`, {
      method: "POST",
      headers: { authorization: `Bearer ${edge.operatorKey}`, "content-type": "application/json" },
      body: JSON.stringify({ realm: "chart-other.example.test", name: "Other" }),
    });
    expect(other.status).toBe(201);
    const otherId = ((await other.json()) as { id: string }).id;
    // From the page itself, with the key it holds.
    const status = await page.evaluate(async (id) => {
      const key = sessionStorage.getItem("whistle-edge.console.apiKey");
      return (await fetch(`/api/v1/accounts/${id}/metrics`, { headers: { authorization: `Bearer ${key}` } })).status;
    }, otherId);
    expect(status).toBe(403);
    expect((await summary(edge.operatorKey, otherId)).status).toBe(200);
  });
});
