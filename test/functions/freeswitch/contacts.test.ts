// FreeSWITCH registration events with a malformed contact or network address: refused with a
// problem naming the field and the reason, nothing stored; an accepted one is stored canonical.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import inviteBody from "../../fixtures/freeswitch/dialplan-INVITE-9196.body.txt?raw";
import registerEvent from "../../fixtures/freeswitch/event-sofia_register.json";
import { registrarForId } from "../../../functions/accounts";
import { call } from "../../helpers";
import { addDevice, createSwitch, dialplanActions, freshAccount, isNotFound, postEvent, postXml, verifiedRegister, withField, type TestSwitch } from "./support";

let sw: TestSwitch;
let accountId: string;

beforeEach(async () => {
  // The capture comes from a profile on 127.0.0.6.
  accountId = (await freshAccount("127.0.0.6")).id;
  await addDevice(accountId, "1000", "s3cret-1000");
  sw = await createSwitch("sip:127.0.0.6:5060");
});

const registrations = async () => (await call("GET", `/accounts/${accountId}/registrations`)).body.items;

describe("contacts in registration events", () => {
  it("the injection forms are refused with a clear reason, and nothing is stored", async () => {
    for (const contact of [
      'sip:1000@192.0.2.81:5060;x="a\r\nX-Injected: 1"',
      '<sip:1000@127.0.0.1:5098>;x="a',
      '<sip:1000@127.0.0.1:5098;x="a>',
      "<sip:1000@127.0.0.1:99999>",
    ]) {
      const reply = await postEvent({ ...registerEvent, contact }, sw);
      expect(reply.status, contact).toBe(400);
      expect(reply.contentType).toBe("application/problem+json");
      expect(reply.body.errors[0].field).toBe("event.contact");
      expect(reply.body.detail).toMatch(/^the event's contact is malformed: .+/);
    }
    for (const [field, value] of [["network-ip", "127.0.0.1\r\nX: 1"], ["network-port", "99999"]] as const) {
      const reply = await postEvent({ ...registerEvent, [field]: value }, sw);
      expect(reply.status, field).toBe(400);
      expect(reply.body.errors[0].field).toBe(`event.${field}`);
    }
    expect(await registrations()).toEqual([]);
  });

  it("an unregister event with a malformed contact removes nothing", async () => {
    await verifiedRegister(sw, { realm: "127.0.0.6", username: "1000", password: "s3cret-1000" });
    expect((await postEvent(registerEvent, sw)).status).toBe(200);
    const reply = await postEvent({ "Event-Subclass": "sofia::unregister", "from-user": "1000", "from-host": "127.0.0.6", contact: "<sip:1000@127.0.0.1:5080" }, sw);
    expect(reply.status).toBe(400);
    expect(await registrations()).toHaveLength(1);
  });

  it("an accepted contact is stored in canonical form", async () => {
    await verifiedRegister(sw, { realm: "127.0.0.6", username: "1000", password: "s3cret-1000", ip: "2001:DB8::9" });
    const reply = await postEvent({ ...registerEvent, contact: '"Desk" <sip:1000@Phone.Example:5080;Transport=TCP>', "network-ip": "2001:DB8::9" }, sw);
    expect(reply.status).toBe(200);
    const [binding] = await registrations();
    expect(binding).toMatchObject({ contact: "sip:1000@phone.example:5080;Transport=TCP", received: "[2001:db8::9]:5080" });
  });
});

describe("bridge strings", () => {
  it("a profile name that could split or wrap a bridge string gets not-found; a switch address is written from its parts", async () => {
    const account = (await freshAccount("127.0.0.4")).id;
    await addDevice(account, "1000", "s3cret-1000");
    await addDevice(account, "9196", "s3cret-9196");
    const asking = await createSwitch("sip:127.0.0.4:5060");
    const holder = await createSwitch("sip:Peer.Example:5070;transport=tcp");
    const result = await registrarForId(env, account)!.register("9196", {
      aor: "sip:9196@127.0.0.4", callId: "c1", cseq: 1, contacts: [{ uri: "sip:9196@192.0.2.51:5060" }], expires: 300, switchId: holder.id,
    });
    expect(result.status).toBe("registered");
    const answer = await postXml(inviteBody, asking.basic);
    expect(dialplanActions(answer.text)).toContainEqual(["bridge", "{sip_h_X-Edge-Realm=127.0.0.4}sofia/internal/sip:9196@peer.example:5070;transport=tcp"]);
    for (const profile of ["internal,sofia/external/sip:x@evil", "a}b", "in ternal"]) {
      expect(isNotFound((await postXml(withField(inviteBody, "variable_sofia_profile_name", profile), asking.basic)).text), profile).toBe(true);
    }
    const refused = await call("POST", "/switches", { body: { name: "bad-address", address: "sip:10.0.0.4:99999" } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].field).toBe("address");
  });
});
