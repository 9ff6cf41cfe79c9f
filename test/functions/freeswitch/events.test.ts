// Registration events from the shipped hook, with the events FreeSWITCH 1.10.12 produced.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import expireEvent from "../../fixtures/freeswitch/event-sofia_expire.json";
import registerEvent from "../../fixtures/freeswitch/event-sofia_register.json";
import refreshEvent from "../../fixtures/freeswitch/event-sofia_register-refresh-with-edge-variable.json";
import unregisterEvent from "../../fixtures/freeswitch/event-sofia_unregister.json";
import unregisterWithVariable from "../../fixtures/freeswitch/event-sofia_unregister-with-edge-variable.json";
import { registrarForId } from "../../../functions/accounts";
import { freezeClock } from "../../clock";
import { call } from "../../helpers";
import { addDevice, createSwitch, directoryUser, freshAccount, postEvent, verifiedRegister, type TestSwitch } from "./support";

let switchA: TestSwitch;
let switchB: TestSwitch;
let account6: string;
let account4: string;

beforeEach(async () => {
  // The captures come from profiles on 127.0.0.6 (register/unregister) and 127.0.0.4 (refresh/expire).
  account6 = (await freshAccount("127.0.0.6")).id;
  account4 = (await freshAccount("127.0.0.4")).id;
  await addDevice(account6, "1000", "s3cret-1000");
  await addDevice(account4, "1000", "s3cret-1000");
  switchA = await createSwitch("sip:127.0.0.6:5060");
  switchB = await createSwitch("sip:127.0.0.5:5060");
});

const registrations = async (accountId: string) => (await call("GET", `/accounts/${accountId}/registrations`)).body.items;

/** The directory sip_auth of device 1000's REGISTER through `sw`: it may then report the registration. */
const verified = (sw: TestSwitch, realm = "127.0.0.6") => verifiedRegister(sw, { realm, username: "1000", password: "s3cret-1000" });

describe("registration events", () => {
  it("sofia::register records the binding with contact, network address, user agent, Call-ID and holding switch", async () => {
    await verified(switchA);
    const reply = await postEvent(registerEvent, switchA);
    expect(reply).toMatchObject({ status: 200, body: { outcome: "registered" } });
    const [binding] = await registrations(account6);
    expect(binding).toMatchObject({
      aor: "sip:1000@127.0.0.6",
      contact: "sip:1000@127.0.0.1:5080",
      received: "127.0.0.1:5080",
      userAgent: "sipp-xmlcurl-test",
      callId: "1-14106@127.0.0.1",
      switchId: switchA.id,
    });
    expect(binding.expiresIn).toBeGreaterThan(118);
    expect(binding.expiresIn).toBeLessThanOrEqual(123);
  });

  it("accepts the event as a JSON body too", async () => {
    await verified(switchA);
    expect((await postEvent(registerEvent, switchA, { json: true })).status).toBe(200);
    expect(await registrations(account6)).toHaveLength(1);
  });

  it("a register event through another switch moves the binding there", async () => {
    await verified(switchA);
    await verified(switchB);
    expect((await postEvent(registerEvent, switchA)).status).toBe(200);
    const later = { ...registerEvent, "Event-Date-Timestamp": String(Number(registerEvent["Event-Date-Timestamp"]) + 1_000_000) };
    expect((await postEvent(later, switchB)).status).toBe(200);
    const list = await registrations(account6);
    expect(list).toHaveLength(1);
    expect(list[0].switchId).toBe(switchB.id);
  });

  it("an older event for the same Call-ID does not replace the newer binding", async () => {
    const newer = { ...registerEvent, "Event-Date-Timestamp": String(Number(registerEvent["Event-Date-Timestamp"]) + 5_000_000) };
    await verified(switchA);
    await verified(switchB);
    expect((await postEvent(newer, switchB)).status).toBe(200);
    const stale = await postEvent(registerEvent, switchA);
    expect(stale.status).toBe(422);
    expect(stale.contentType).toBe("application/problem+json");
    expect((await registrations(account6))[0].switchId).toBe(switchB.id);
  });

  it("sofia::unregister (Expires: 0) removes the binding", async () => {
    await verified(switchA);
    expect((await postEvent(registerEvent, switchA)).status).toBe(200);
    expect(await registrations(account6)).toHaveLength(1);
    expect(await postEvent(unregisterEvent, switchA)).toMatchObject({ status: 200, body: { outcome: "unregistered" } });
    expect(await registrations(account6)).toEqual([]);
  });

  it("an unregister carrying the refresh variable still removes the binding", async () => {
    const stub = registrarForId(env, account4)!;
    await stub.register("1000", {
      aor: "sip:1000@127.0.0.4",
      callId: unregisterWithVariable["call-id"],
      cseq: 1,
      contacts: [{ uri: "sip:1000@127.0.0.1:5070" }],
      expires: 300,
      switchId: switchA.id,
    });
    expect(unregisterWithVariable.edge_binding).toBe("refreshed");
    expect((await postEvent(unregisterWithVariable, switchA)).status).toBe(200);
    expect(await registrations(account4)).toEqual([]);
  });

  it("sofia::expire removes the binding held by the switch that reports it, and no other", async () => {
    const stub = registrarForId(env, account4)!;
    const bindingOn = (switchId: string) =>
      stub.register("1000", {
        aor: "sip:1000@127.0.0.4",
        callId: expireEvent["call-id"],
        cseq: Date.now(),
        contacts: [{ uri: "sip:1000@127.0.0.1:5070" }],
        expires: 300,
        switchId,
      });
    await bindingOn(switchB.id);
    // Switch A's late expiry: the device has since registered through B.
    expect(await postEvent(expireEvent, switchA)).toMatchObject({ status: 200, body: { outcome: "expired" } });
    expect(await registrations(account4)).toHaveLength(1);
    expect((await postEvent(expireEvent, switchB)).status).toBe(200);
    expect(await registrations(account4)).toEqual([]);
  });

  it("a refresh event the hook did not skip is harmless: the binding is refreshed", async () => {
    await verifiedRegister(switchA, { realm: "127.0.0.4", username: "1000", password: "s3cret-1000", callId: refreshEvent["call-id"] });
    expect((await postEvent(refreshEvent, switchA)).status).toBe(200);
    expect((await postEvent({ ...refreshEvent, "Event-Date-Timestamp": String(Number(refreshEvent["Event-Date-Timestamp"]) + 1) }, switchA)).status).toBe(200);
    expect(await registrations(account4)).toHaveLength(1);
  });

  it("heartbeats and other events are accepted and change nothing", async () => {
    const reply = await postEvent({ "Event-Name": "HEARTBEAT", "Up-Time": "0 years, 0 days" }, switchA);
    expect(reply).toMatchObject({ status: 200, body: { outcome: "ignored" } });
  });
});

describe("events out of order (a replay after an outage)", () => {
  const at = (event: { "Event-Date-Timestamp": string }, deltaMicroseconds: number) => String(Number(event["Event-Date-Timestamp"]) + deltaMicroseconds);
  /** The captured unregister, aimed at the captured register's binding, fired at `timestamp`. */
  const unregisterAt = (timestamp: string) => ({ ...unregisterEvent, "call-id": registerEvent["call-id"], "Event-Date-Timestamp": timestamp });

  it("an unregister that fired before the binding's last register removes nothing; one that fired after removes it", async () => {
    await verified(switchA);
    expect((await postEvent(registerEvent, switchA)).status).toBe(200);
    const stale = await postEvent(unregisterAt(at(registerEvent, -1)), switchA);
    expect(stale).toMatchObject({ status: 200, body: { outcome: "unregistered" } });
    expect(await registrations(account6)).toHaveLength(1);
    expect((await postEvent(unregisterAt(at(registerEvent, 0)), switchA)).status).toBe(200);
    expect(await registrations(account6)).toEqual([]);
  });

  it("a refresh answered at the directory stamps the binding with the switch's time: an unregister from before it removes nothing", async () => {
    await verified(switchA);
    expect((await postEvent(registerEvent, switchA)).status).toBe(200);
    // The phone unregistered at +1 s (the event was lost to the outage), then registered again at
    // +3 s under the same Call-ID and contact: the edge refreshed the binding it still had.
    const answer = await verifiedRegister(switchA, { realm: "127.0.0.6", username: "1000", password: "s3cret-1000" }, "REGISTER", {
      sip_call_id: registerEvent["call-id"],
      sip_contact_user: "1000",
      sip_contact_host: "127.0.0.1",
      "Event-Date-Timestamp": at(registerEvent, 3_000_000),
    });
    expect(directoryUser(answer).variables.edge_binding).toBe("refreshed");
    expect((await postEvent(unregisterAt(at(registerEvent, 1_000_000)), switchA)).status).toBe(200);
    expect(await registrations(account6)).toHaveLength(1);
    // An unregister from after the refresh still removes it.
    expect((await postEvent(unregisterAt(at(registerEvent, 4_000_000)), switchA)).status).toBe(200);
    expect(await registrations(account6)).toEqual([]);
  });

  it("a register replayed after the device registered again under the same Call-ID is a stale CSeq (422) and changes nothing", async () => {
    const newer = { ...registerEvent, "Event-Date-Timestamp": at(registerEvent, 2_000_000), "user-agent": "newer" };
    await verified(switchA);
    expect((await postEvent(newer, switchA)).status).toBe(200);
    expect((await postEvent(registerEvent, switchA)).status).toBe(422);
    expect((await registrations(account6))[0].userAgent).toBe("newer");
  });

  it("an expire that fired before the binding's last register removes nothing", async () => {
    const stub = registrarForId(env, account4)!;
    const stamp = Number(expireEvent["Event-Date-Timestamp"]) + 10_000_000;
    await stub.register("1000", {
      aor: "sip:1000@127.0.0.4",
      callId: expireEvent["call-id"],
      cseq: stamp,
      contacts: [{ uri: "sip:1000@127.0.0.1:5070" }],
      expires: 300,
      switchId: switchA.id,
    });
    expect((await postEvent(expireEvent, switchA)).status).toBe(200);
    expect(await registrations(account4)).toHaveLength(1);
    expect((await postEvent({ ...expireEvent, "Event-Date-Timestamp": String(stamp + 1) }, switchA)).status).toBe(200);
    expect(await registrations(account4)).toEqual([]);
  });
});

describe("bad events", () => {
  it("without a switch credential the event is refused and nothing is recorded", async () => {
    const reply = await postEvent(registerEvent, null);
    expect(reply.status).toBe(401);
    expect(reply.contentType).toBe("application/problem+json");
    const forged = await postEvent(registerEvent, { ...switchA, credential: `${switchA.credential.slice(0, -2)}xx` });
    expect(forged.status).toBe(401);
    expect(await registrations(account6)).toEqual([]);
  });

  it("an event for an unknown device or realm is a 404 problem and writes nothing", async () => {
    await verified(switchA);
    const unknownUser = await postEvent({ ...registerEvent, "from-user": "4040" }, switchA);
    expect(unknownUser.status).toBe(404);
    const unknownRealm = await postEvent({ ...registerEvent, "from-host": "nowhere.test" }, switchA);
    expect(unknownRealm.status).toBe(404);
    expect(await registrations(account6)).toEqual([]);
  });

  it("malformed bodies get a 400 naming what is wrong", async () => {
    const notJson = await postEvent("{not json", switchA);
    expect(notJson.status).toBe(400);
    expect(notJson.body.errors[0].field).toBe("event");
    const missing = await postEvent({ ...registerEvent, contact: undefined, expires: "soon" }, switchA);
    expect(missing.status).toBe(400);
    expect(missing.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(["event.contact", "event.expires"]);
    const badContact = await postEvent({ ...registerEvent, contact: "not a uri" }, switchA);
    expect(badContact.status).toBe(400);
    expect(await registrations(account6)).toEqual([]);
  });
});

describe("proof of registration", () => {
  const events = async (accountId: string) => (await call("GET", `/accounts/${accountId}/events?limit=500`)).body.items;

  it("a sofia::register no verified REGISTER vouches for is refused with 403, stores nothing and is recorded for the operator", async () => {
    const reply = await postEvent(registerEvent, switchA);
    expect(reply.status).toBe(403);
    expect(reply.contentType).toBe("application/problem+json");
    expect(reply.body.errors).toEqual([{ field: "event", message: "no verified REGISTER" }]);
    expect(await registrations(account6)).toEqual([]);
    const refused = (await events(account6)).filter((e: { type: string }) => e.type === "binding.refused");
    expect(refused).toEqual([
      expect.objectContaining({ type: "binding.refused", username: "1000", contact: "sip:1000@127.0.0.1:5080", source: "127.0.0.1:5080", switchId: switchA.id }),
    ]);
  });

  it("a REGISTER verified through another switch, from another address, or with a wrong digest vouches for nothing", async () => {
    await verified(switchB);
    await verifiedRegister(switchA, { realm: "127.0.0.6", username: "1000", password: "s3cret-1000", ip: "127.0.0.9" });
    await expect(verifiedRegister(switchA, { realm: "127.0.0.6", username: "1000", password: "wrong-password" })).rejects.toThrow();
    expect((await postEvent(registerEvent, switchA)).status).toBe(403);
    expect(await registrations(account6)).toEqual([]);
    // The REGISTER through B vouches for B's report.
    expect((await postEvent(registerEvent, switchB)).status).toBe(200);
  });

  it("a REGISTER verified with one Call-ID vouches for no report of another Call-ID", async () => {
    // The proof of one registration (its sip_auth) cannot vouch for a report of another.
    await verifiedRegister(switchA, { realm: "127.0.0.6", username: "1000", password: "s3cret-1000", callId: "another-registration@127.0.0.1" });
    expect(registerEvent["call-id"]).not.toBe("another-registration@127.0.0.1");
    const other = await postEvent(registerEvent, switchA);
    expect(other.status).toBe(403);
    expect(await registrations(account6)).toEqual([]);
    // The report of that registration itself is believed.
    expect((await postEvent({ ...registerEvent, "call-id": "another-registration@127.0.0.1" }, switchA)).status).toBe(200);
  });

  it("a sip_auth without a Call-ID vouches for nothing", async () => {
    // The device is answered (FreeSWITCH may still register it), but no proof is noted.
    await verifiedRegister(switchA, { realm: "127.0.0.6", username: "1000", password: "s3cret-1000", callId: "" });
    expect((await postEvent(registerEvent, switchA)).status).toBe(403);
  });

  it("a verified INVITE vouches for no registration", async () => {
    await verifiedRegister(switchA, { realm: "127.0.0.6", username: "1000", password: "s3cret-1000" }, "INVITE");
    expect((await postEvent(registerEvent, switchA)).status).toBe(403);
  });

  it("vouches for 30 s after the sip_auth and not after", async () => {
    const clock = freezeClock();
    await verified(switchA);
    clock.advance(30_000);
    expect((await postEvent(registerEvent, switchA)).status).toBe(200);
    await verified(switchA);
    clock.advance(30_001);
    const later = { ...registerEvent, "Event-Date-Timestamp": String(Number(registerEvent["Event-Date-Timestamp"]) + 1_000_000) };
    expect((await postEvent(later, switchA)).status).toBe(403);
  });
});
