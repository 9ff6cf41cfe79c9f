// mod_xml_curl dialplan requests through the Worker, with the bodies FreeSWITCH 1.10.12 sent.
import { beforeEach, describe, expect, it } from "vitest";
import inviteBody from "../../fixtures/freeswitch/dialplan-INVITE-9196.body.txt?raw";
import secondHopBody from "../../fixtures/freeswitch/dialplan-second-hop-from-peer-switch.body.txt?raw";
import { call } from "../../helpers";
import { addDevice, createSwitch, dialplanActions, freshAccount, isNotFound, parseXml, postXml, registerOn, withField, withoutField, type TestSwitch } from "./support";

// The INVITE capture: device 1000 of realm 127.0.0.4 dials 9196 through the switch on 127.0.0.4.
let accountId: string;
let switchA: TestSwitch; // the switch that asks
let switchB: TestSwitch; // a peer switch at 127.0.0.5

beforeEach(async () => {
  accountId = (await freshAccount("127.0.0.4")).id;
  await addDevice(accountId, "1000", "s3cret-1000");
  await addDevice(accountId, "9196", "s3cret-9196");
  switchA = await createSwitch("sip:127.0.0.4:5060");
  switchB = await createSwitch("sip:127.0.0.5:5060");
});


describe("dialplan", () => {
  it("a callee registered on the asking switch is bridged to its contacts on that switch, with no user/ bridge (no directory request)", async () => {
    await registerOn(accountId, "9196", "127.0.0.4", "192.0.2.50", switchA.id);
    const answer = await postXml(inviteBody, switchA.basic);
    expect(answer.status).toBe(200);
    const doc = parseXml(answer.text).document;
    expect(doc.section.name).toBe("dialplan");
    expect(doc.section.context.name).toBe("default");
    expect(dialplanActions(answer.text)).toEqual([
      ["set", "hangup_after_bridge=true"],
      ["bridge", "{presence_id=9196@127.0.0.4}${sofia_contact(9196@127.0.0.4)}"],
    ]);
  });

  it("a callee held by another switch is reached through that switch with the realm in X-Edge-Realm", async () => {
    await registerOn(accountId, "9196", "127.0.0.4", "192.0.2.51", switchB.id);
    const answer = await postXml(inviteBody, switchA.basic);
    expect(dialplanActions(answer.text)).toContainEqual(["bridge", "{sip_h_X-Edge-Realm=127.0.0.4}sofia/internal/sip:9196@127.0.0.5:5060"]);
  });

  it("bindings on several switches ring in parallel, one leg per switch", async () => {
    await registerOn(accountId, "9196", "127.0.0.4", "192.0.2.50", switchA.id);
    await registerOn(accountId, "9196", "127.0.0.4", "192.0.2.51", switchB.id);
    await registerOn(accountId, "9196", "127.0.0.4", "192.0.2.52", switchB.id);
    const bridge = dialplanActions((await postXml(inviteBody, switchA.basic)).text).find(([app]) => app === "bridge")![1];
    expect(bridge.split(",").sort()).toEqual(["{presence_id=9196@127.0.0.4}${sofia_contact(9196@127.0.0.4)}", "{sip_h_X-Edge-Realm=127.0.0.4}sofia/internal/sip:9196@127.0.0.5:5060"].sort());
  });

  it("a device with no registration gets 480, an unknown destination 404", async () => {
    expect(dialplanActions((await postXml(inviteBody, switchA.basic)).text)).toEqual([["respond", "480 Temporarily Unavailable"]]);
    const unknown = withField(inviteBody, "Caller-Destination-Number", "7777");
    expect(dialplanActions((await postXml(unknown, switchA.basic)).text)).toEqual([["respond", "404 Not Found"]]);
  });

  it("a binding held by a switch that was removed from the fleet is not offered", async () => {
    await registerOn(accountId, "9196", "127.0.0.4", "192.0.2.51", switchB.id);
    expect((await call("DELETE", `/switches/${switchB.id}`)).status).toBe(200);
    expect(dialplanActions((await postXml(inviteBody, switchA.basic)).text)).toEqual([["respond", "480 Temporarily Unavailable"]]);
  });

  it("a number (DID) of the caller's account reaches the device it points to", async () => {
    const devices = (await call("GET", `/accounts/${accountId}/devices`)).body.items;
    const callee = devices.find((d: { username: string }) => d.username === "9196");
    await call("POST", `/accounts/${accountId}/numbers`, { body: { number: "+14155550196", deviceId: callee.id } });
    await registerOn(accountId, "9196", "127.0.0.4", "192.0.2.50", switchA.id);
    const dialed = withField(inviteBody, "Caller-Destination-Number", "14155550196");
    expect(dialplanActions((await postXml(dialed, switchA.basic)).text)).toContainEqual(["bridge", "{presence_id=9196@127.0.0.4}${sofia_contact(9196@127.0.0.4)}"]);
  });
});

describe("calls between switches and from carriers", () => {
  it("the second hop from a peer switch is routed to the callee's contacts on the switch that holds it", async () => {
    const acme = (await freshAccount("acme.test")).id;
    await addDevice(acme, "1000", "acme-pass-1000");
    await registerOn(acme, "1000", "acme.test", "192.0.2.60", switchA.id);
    const answer = await postXml(secondHopBody, switchA.basic);
    expect(dialplanActions(answer.text)).toEqual([
      ["set", "hangup_after_bridge=true"],
      ["bridge", "{presence_id=1000@acme.test}${sofia_contact(1000@acme.test)}"],
    ]);
  });

  it("a handed-over call whose callee is not held here is refused, never passed on again", async () => {
    const acme = (await freshAccount("acme.test")).id;
    await addDevice(acme, "1000", "acme-pass-1000");
    await registerOn(acme, "1000", "acme.test", "192.0.2.60", switchB.id);
    expect(dialplanActions((await postXml(secondHopBody, switchA.basic)).text)).toEqual([["respond", "480 Temporarily Unavailable"]]);
  });

  it("a device that sends the realm header gains nothing: its own realm decides", async () => {
    const acme = (await freshAccount("acme.test")).id;
    await addDevice(acme, "9196", "acme-pass-9196");
    await registerOn(acme, "9196", "acme.test", "192.0.2.70", switchA.id);
    // Device 1000 of 127.0.0.4 adds X-Edge-Realm: acme.test to reach acme's 9196.
    const spoofed = withField(inviteBody, "variable_sip_h_X-Edge-Realm", "acme.test");
    const actions = dialplanActions((await postXml(spoofed, switchA.basic)).text);
    expect(actions).toEqual([["respond", "480 Temporarily Unavailable"]]); // 127.0.0.4's own 9196, unregistered
    expect(JSON.stringify(actions)).not.toContain("acme.test");
  });

  it("a carrier that sends the realm header gains nothing: only numbers reach a device from it", async () => {
    const acme = (await freshAccount("acme.test")).id;
    await addDevice(acme, "1000", "acme-pass-1000");
    await registerOn(acme, "1000", "acme.test", "192.0.2.60", switchA.id);
    // The peer capture as it comes from a carrier the ACL trusts, at no switch's address.
    const carrier = withField(secondHopBody, "variable_sip_network_ip", "198.51.100.20");
    expect(dialplanActions((await postXml(carrier, switchA.basic)).text)).toEqual([["respond", "404 Not Found"]]);
  });

  it("a carrier call to a number reaches its device from any switch", async () => {
    const acme = (await freshAccount("acme.test")).id;
    const device = await addDevice(acme, "2000", "acme-pass-2000");
    await call("POST", `/accounts/${acme}/numbers`, { body: { number: "+14155550100", deviceId: device.id } });
    await registerOn(acme, "2000", "acme.test", "192.0.2.80", switchB.id);
    // The peer capture, as a carrier trusted by ACL sends it: a number, no realm header.
    const carrier = withField(withoutField(secondHopBody, "variable_sip_h_X-Edge-Realm"), "Caller-Destination-Number", "+14155550100");
    expect(dialplanActions((await postXml(carrier, switchA.basic)).text)).toContainEqual([
      "bridge",
      "{sip_h_X-Edge-Realm=acme.test}sofia/internal/sip:2000@127.0.0.5:5060",
    ]);
    expect(dialplanActions((await postXml(carrier, switchB.basic)).text)).toContainEqual(["bridge", "{presence_id=2000@acme.test}${sofia_contact(2000@acme.test)}"]);
    const nobody = withField(carrier, "Caller-Destination-Number", "+14155550999");
    expect(dialplanActions((await postXml(nobody, switchA.basic)).text)).toEqual([["respond", "404 Not Found"]]);
  });

  it("an unauthenticated call that no ACL trusts gets the not-found document", async () => {
    const anonymous = withoutField(withoutField(inviteBody, "variable_sip_authorized"), "variable_sip_acl_authed_by");
    expect(isNotFound((await postXml(anonymous, switchA.basic)).text)).toBe(true);
  });
});
