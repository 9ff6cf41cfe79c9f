// The fleet monitor turns switch changes into events the operator can read: lost, back, draining, drained.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { fleetMonitor } from "../../functions/api/fleet";
import { transitions } from "../../durable-objects/fleet-monitor/FleetMonitor";
import { accountKey, call } from "../helpers";
import { createSwitch, freshAccount } from "./freeswitch/support";

const events = async (since = 0) => (await call("GET", `/fleet/events?since=${since}`)).body;
const typesFor = async (switchId: string) =>
  (await events()).items.filter((e: { switchId: string }) => e.switchId === switchId).map((e: { type: string }) => e.type);
const lastSeen = (switchId: string, msAgo: number | null) =>
  env.CATALOG.prepare("UPDATE switches SET last_seen_at = ? WHERE id = ?").bind(msAgo === null ? null : Date.now() - msAgo, switchId).run();

describe("fleet events", () => {
  it("a switch going silent is lost, and back when it talks again", async () => {
    const sw = await createSwitch("sip:10.9.0.1:5060");
    await lastSeen(sw.id, 1_000);
    await fleetMonitor(env).poke();
    await lastSeen(sw.id, 120_000);
    await fleetMonitor(env).poke();
    expect(await typesFor(sw.id)).toEqual(["switch.lost"]);
    await lastSeen(sw.id, 0);
    // The monitor's own alarm notices too.
    expect(await runDurableObjectAlarm(fleetMonitor(env))).toBe(true);
    expect(await typesFor(sw.id)).toEqual(["switch.lost", "switch.back"]);
    const page = await events();
    expect(page.items.at(-1)).toMatchObject({ type: "switch.back", switchId: sw.id, name: expect.any(String), at: expect.any(String) });
  });

  it("a drained switch is reported when its last registration is gone", async () => {
    await freshAccount("fleet.test");
    const sw = await createSwitch("sip:10.9.0.2:5060");
    await lastSeen(sw.id, 0);
    await call("POST", `/switches/${sw.id}/drain`);
    await fleetMonitor(env).poke();
    // Nothing registered through it: draining, and at once drained.
    expect(await typesFor(sw.id)).toEqual(["switch.draining", "switch.drained"]);
  });

  it("only the operator reads them", async () => {
    const account = await freshAccount("fleet-key.test");
    const key = await accountKey(account.id);
    expect((await call("GET", "/fleet/events", { auth: key })).status).toBe(403);
  });

  it("each change is reported once", () => {
    expect(transitions("alive", "alive")).toEqual([]);
    expect(transitions("alive", "lost")).toEqual(["switch.lost"]);
    expect(transitions("lost", "alive")).toEqual(["switch.back"]);
    expect(transitions("alive", "draining")).toEqual(["switch.draining"]);
    expect(transitions("draining", "drained")).toEqual(["switch.drained"]);
    expect(transitions("drained", "lost")).toEqual(["switch.lost"]);
    expect(transitions("unseen", "alive")).toEqual([]);
  });
});
