// The account's events: written with the change that caused them or not at all, paged from a
// sequence number, streamed over a WebSocket that resumes where a listener left off.
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { registrarForId } from "../../functions/accounts";
import { accountKey, call, createAccount, createDevice, OPERATOR } from "../helpers";

let account: { id: string; realm: string };
let key: string;

beforeEach(async () => {
  account = await createAccount();
  key = await accountKey(account.id);
  await createDevice(account.id, "1001");
});

const stub = () => registrarForId(env, account.id)!;
const reg = (cseq: number, extra: Record<string, unknown> = {}) =>
  stub().register("1001", {
    aor: `sip:1001@${account.realm}`,
    callId: "c1",
    cseq,
    contacts: [{ uri: "sip:1001@192.0.2.10:5060" }],
    expires: 300,
    received: "192.0.2.10:5060",
    switchId: "sw_a",
    ...extra,
  });
const events = async (since = 0) => (await call("GET", `/accounts/${account.id}/events?since=${since}`, { auth: key })).body;

async function openStream(query = "", headers: Record<string, string> = { authorization: key }) {
  const response = await exports.default.fetch(
    new Request(`https://edge.test/api/v1/accounts/${account.id}/events${query}`, { headers: { upgrade: "websocket", ...headers } }),
  );
  const ws = response.webSocket;
  if (!ws) return { response, received: [] as any[], ws: null };
  const received: any[] = [];
  ws.accept();
  ws.addEventListener("message", (m) => received.push(JSON.parse(m.data as string)));
  return { response, received, ws };
}

const settle = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe("event outbox", () => {
  it("each change writes its event, numbered per account", async () => {
    await reg(1);
    await stub().unregister("1001", "sip:1001@192.0.2.10:5060");
    const page = await events();
    expect(page.items.map((e: any) => [e.type, e.username, e.contact])).toEqual([
      ["binding.created", "1001", "sip:1001@192.0.2.10:5060"],
      ["binding.removed", "1001", "sip:1001@192.0.2.10:5060"],
    ]);
    expect(page.items[0]).toMatchObject({ source: "192.0.2.10:5060", switchId: "sw_a" });
    expect(page.items[1].seq).toBe(page.items[0].seq + 1);
    expect((await events(page.items[0].seq)).items).toHaveLength(1);
    expect((await events(page.next)).items).toEqual([]);
  });

  it("a refused change writes no event", async () => {
    await reg(5);
    const before = await events();
    expect((await reg(4)).status).toBe("rejected");
    expect(await events()).toEqual(before);
  });

  it("if the event cannot be written, the change is not made either", async () => {
    await reg(1);
    const before = await stub().locate("1001");
    const failed = await runInDurableObject(stub(), async (instance, state) => {
      state.storage.sql.exec("ALTER TABLE events RENAME TO events_away");
      try {
        await instance.register("1001", {
          aor: `sip:1001@${account.realm}`,
          callId: "c2",
          cseq: 1,
          contacts: [{ uri: "sip:1001@192.0.2.99:5060" }],
          expires: 300,
        });
        return null;
      } catch (error) {
        return String(error);
      } finally {
        state.storage.sql.exec("ALTER TABLE events_away RENAME TO events");
      }
    });
    expect(failed).toContain("no such table: events");
    expect(await stub().locate("1001")).toEqual(before);
    expect((await events()).items.map((e: any) => e.type)).toEqual(["binding.created"]);
  });

  it("expiry by the alarm, wrong digests and lockouts are events too", async () => {
    await reg(1, { expires: 60 });
    await runInDurableObject(stub(), (_i, state) => state.storage.sql.exec("UPDATE bindings SET expires_at = ?", Date.now() - 1));
    await runInDurableObject(stub(), (instance) => instance.alarm());
    const devices = (await call("GET", `/accounts/${account.id}/devices`)).body.items;
    for (let i = 0; i < 5; i++) {
      await stub().authenticate({
        username: "1001",
        method: "REGISTER",
        digest: { username: "1001", realm: account.realm, nonce: "n", uri: "sip:x", response: "0".repeat(32) },
        nonce: { expiresAt: Date.now() + 60_000, record: "without-qop" },
        source: "198.51.100.7:5060",
        switchId: "sw_a",
      });
    }
    await call("DELETE", `/accounts/${account.id}/devices/${devices[0].id}/lockout`);
    const types = (await events()).items.map((e: any) => e.type);
    expect(types).toEqual([
      "binding.created",
      "binding.expired",
      "auth.failed",
      "auth.failed",
      "auth.failed",
      "auth.failed",
      "auth.failed",
      "source.locked",
      "device.unlocked",
    ]);
    // Who was refused, and why: the locked address is the event's source.
    expect((await events()).items.find((e: any) => e.type === "source.locked").source).toBe("198.51.100.7");
    expect((await events()).items.find((e: any) => e.type === "auth.failed").source).toBe("198.51.100.7:5060");
  });

  it("refreshes are not kept unless someone listens for them", async () => {
    await reg(1);
    await reg(2);
    expect((await events()).items.map((e: any) => e.type)).toEqual(["binding.created"]);
  });
});

describe("event stream", () => {
  it("streams live events over a WebSocket", async () => {
    const { response, received, ws } = await openStream();
    expect(response.status).toBe(101);
    await reg(1);
    await settle(() => received.length === 1);
    expect(received).toEqual([expect.objectContaining({ type: "binding.created", contact: "sip:1001@192.0.2.10:5060" })]);
    ws!.close();
  });

  it("a listener reconnecting with its last sequence gets what it missed, then live events", async () => {
    const first = await openStream();
    await reg(1);
    await settle(() => first.received.length === 1);
    const lastSeen = first.received[0].seq;
    first.ws!.close();
    // Missed while away:
    await stub().unregister("1001", "*");
    await reg(2, { callId: "c2", contacts: [{ uri: "sip:1001@192.0.2.11:5060" }] });
    const again = await openStream(`?since=${lastSeen}`);
    await settle(() => again.received.length === 2);
    expect(again.received.map((e) => e.type)).toEqual(["binding.removed", "binding.created"]);
    await stub().unregister("1001", "*");
    await settle(() => again.received.length === 3);
    expect(again.received.map((e) => e.seq)).toEqual([lastSeen + 1, lastSeen + 2, lastSeen + 3]);
    again.ws!.close();
  });

  it("refreshes are streamed only to listeners that ask, and then also kept", async () => {
    const plain = await openStream();
    const withRefreshes = await openStream("?refreshed=true");
    await reg(1);
    await reg(2);
    await settle(() => withRefreshes.received.length === 2);
    expect(withRefreshes.received.map((e) => e.type)).toEqual(["binding.created", "binding.refreshed"]);
    expect(plain.received.map((e) => e.type)).toEqual(["binding.created"]);
    plain.ws!.close();
    withRefreshes.ws!.close();
  });

  it("a browser offers its key as a subprotocol", async () => {
    const token = key.replace(/^Bearer /, "");
    const { response, ws } = await openStream("", { "sec-websocket-protocol": `whistle-edge.events.v1, bearer.${token}` });
    expect(response.status).toBe(101);
    expect(response.headers.get("sec-websocket-protocol")).toBe("whistle-edge.events.v1");
    ws!.close();
  });

  it("no key, or another account's key, gets no stream", async () => {
    expect((await openStream("", {})).response.status).toBe(401);
    const other = await createAccount();
    const otherKey = await accountKey(other.id);
    const refused = await openStream("", { authorization: otherKey });
    expect(refused.response.status).toBe(403);
    expect(refused.ws).toBeNull();
    expect((await openStream("", { authorization: OPERATOR })).response.status).toBe(101);
  });
});
