// SIP URI equality as RFC 3261 §19.1.4 defines it: what a digest's uri must be to name a request.
import { describe, expect, it } from "vitest";
import { sameSipUri, uriNames } from "../../registrar/uri-equality";

describe("sameSipUri", () => {
  it("equal: scheme and host in any case, escaped characters that need no escape, parameters only one side has", () => {
    for (const [a, b] of [
      ["sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"],
      ["sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"],
      ["sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5"],
      ["SIP:2001@acme.test", "sip:2001@acme.test"],
      ["sip:acme.test", "sip:acme.test"],
      ["sip:[2001:db8::10]:5060", "sip:[2001:DB8::10]:5060"],
      ["sip:carol@chicago.com;transport=udp", "sip:carol@chicago.com"],
    ]) {
      expect(sameSipUri(a!, b!), `${a} = ${b}`).toBe(true);
    }
  });

  it("not equal: user case, scheme, port given on one side only, user/ttl/method/maddr on one side, different headers", () => {
    for (const [a, b] of [
      ["SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"],
      ["sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"],
      ["sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp;user=phone"],
      ["sip:bob@biloxi.com;maddr=239.255.255.1", "sip:bob@biloxi.com"],
      ["sip:bob@biloxi.com;ttl=1", "sip:bob@biloxi.com"],
      ["sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"],
      ["sip:2001@acme.test", "sip:2002@acme.test"],
      ["sip:2001@acme.test", "sips:2001@acme.test"],
      ["sip:2001@acme.test", "sip:2001@other.test"],
      ["sip:acme.test", "sip:acme.test:5070"],
      ["sip:carol@chicago.com;transport=tcp", "sip:carol@chicago.com;transport=udp"],
    ]) {
      expect(sameSipUri(a!, b!), `${a} ≠ ${b}`).toBe(false);
    }
  });

  it("anything that is not a SIP URI equals nothing, itself included", () => {
    for (const text of ["", "tel:+14155550100", "sip:", "sip:@host", "sip:bob@", "sip:bob@host:99999", "sip:bob@ho st", "sip:b%zz@host"]) {
      expect(sameSipUri(text, text), text).toBe(false);
    }
  });
});

describe("uriNames (FreeSWITCH's sip_request_user/host/port)", () => {
  it("matches the user, the host in any case and the port as given", () => {
    expect(uriNames("sip:127.0.0.4:5060", { user: null, host: "127.0.0.4", port: 5060 })).toBe(true);
    expect(uriNames("sip:2000@Acme.Test", { user: "2000", host: "acme.test", port: null })).toBe(true);
    expect(uriNames("sip:2000@acme.test;transport=udp", { user: "2000", host: "acme.test", port: null })).toBe(true);
  });

  it("does not match another user, host or port, or a port on one side only", () => {
    expect(uriNames("sip:2000@acme.test", { user: "2002", host: "acme.test", port: null })).toBe(false);
    expect(uriNames("sip:2000@acme.test", { user: null, host: "acme.test", port: null })).toBe(false);
    expect(uriNames("sip:2000@acme.test", { user: "2000", host: "other.test", port: null })).toBe(false);
    expect(uriNames("sip:127.0.0.4:5060", { user: null, host: "127.0.0.4", port: null })).toBe(false);
    expect(uriNames("sip:127.0.0.4", { user: null, host: "127.0.0.4", port: 5060 })).toBe(false);
    expect(uriNames("not a uri", { user: null, host: "127.0.0.4", port: 5060 })).toBe(false);
  });
});

describe("sameSipUri, part by part", () => {
  it("passwords compare like users: escapes undone, case kept", () => {
    expect(sameSipUri("sip:bob:%73ecret@host", "sip:bob:secret@host")).toBe(true);
    expect(sameSipUri("sip:bob:secret@host", "sip:bob:Secret@host")).toBe(false);
    expect(sameSipUri("sip:bob:secret@host", "sip:bob@host")).toBe(false);
    expect(sameSipUri("sip:bob@host", "sip:bob:@host")).toBe(false);
  });

  it("user, ttl, method and maddr must match even when only one side has them, on either side", () => {
    for (const param of ["user=phone", "ttl=15", "method=REGISTER", "maddr=192.0.2.1"]) {
      expect(sameSipUri(`sip:bob@host;${param}`, "sip:bob@host"), param).toBe(false);
      expect(sameSipUri("sip:bob@host", `sip:bob@host;${param}`), param).toBe(false);
      expect(sameSipUri(`sip:bob@host;${param}`, `sip:bob@host;${param.toUpperCase()}`), param).toBe(true);
    }
    // Any other parameter on one side only is ignored, on either side.
    expect(sameSipUri("sip:bob@host;lr;x=1", "sip:bob@host")).toBe(true);
    expect(sameSipUri("sip:bob@host", "sip:bob@host;lr;x=1")).toBe(true);
    // A parameter both sides carry must agree, valueless or not.
    expect(sameSipUri("sip:bob@host;lr", "sip:bob@host;lr=on")).toBe(false);
    expect(sameSipUri("sip:bob@host;lr", "sip:bob@host;LR")).toBe(true);
    expect(sameSipUri("sip:bob@host;transport=%74cp", "sip:bob@host;TRANSPORT=TCP")).toBe(true);
  });

  it("headers: every one on both sides, names in any case, values exactly", () => {
    expect(sameSipUri("sip:bob@host?Subject=Hi&Priority=urgent", "sip:bob@host?priority=urgent&subject=%48i")).toBe(true);
    expect(sameSipUri("sip:bob@host?Subject=Hi", "sip:bob@host?Subject=hi")).toBe(false);
    expect(sameSipUri("sip:bob@host?Subject=Hi", "sip:bob@host?Subject=Hi&Priority=urgent")).toBe(false);
    expect(sameSipUri("sip:bob@host?Subject=Hi&Priority=urgent", "sip:bob@host?Subject=Hi")).toBe(false);
    expect(sameSipUri("sip:bob@host?Subject=Hi", "sip:bob@host?Topic=Hi")).toBe(false);
  });

  it("a password or parameter value spelled null is a value like any other, not the absence of one", () => {
    expect(sameSipUri("sip:bob@host", "sip:bob:null@host")).toBe(false);
    expect(sameSipUri("sip:bob:null@host", "sip:bob@host")).toBe(false);
    expect(sameSipUri("sip:bob:null@host", "sip:bob:NULL@host")).toBe(false);
    expect(sameSipUri("sip:bob@host;lr", "sip:bob@host;lr=null")).toBe(false);
    expect(sameSipUri("sip:bob@host;lr=null", "sip:bob@host;lr")).toBe(false);
    expect(sameSipUri("sip:bob@host;lr=null", "sip:bob@host;LR=NULL")).toBe(true);
  });

  it("one readable and one unreadable URI are not equal, in either order", () => {
    for (const unreadable of ["not a uri", "sip:b%zz@host", "sip:%ff@host", ""]) {
      expect(sameSipUri("sip:bob@host", unreadable), unreadable).toBe(false);
      expect(sameSipUri(unreadable, "sip:bob@host"), unreadable).toBe(false);
    }
  });

  it("an escape that is not UTF-8 makes the URI unreadable, wherever it is", () => {
    for (const text of ["sip:%ff@host", "sip:bob:%ff@host", "sip:bob@host;%ff=1", "sip:bob@host;x=%ff", "sip:bob@host?%ff=1", "sip:bob@host?x=%ff"]) {
      expect(sameSipUri(text, text), text).toBe(false);
    }
  });
});

describe("uriNames, part by part", () => {
  it("the reported host is read as a host, so case and IPv6 spelling do not matter; an unreadable one names nothing", () => {
    expect(uriNames("sip:2000@[2001:db8::1]:5060", { user: "2000", host: "[2001:DB8:0::1]", port: 5060 })).toBe(true);
    expect(uriNames("sip:2000@ACME.test", { user: "2000", host: "acme.TEST", port: null })).toBe(true);
    expect(uriNames("sip:%32000@acme.test", { user: "2000", host: "acme.test", port: null })).toBe(true);
    expect(uriNames("sip:2000@acme.test", { user: "2000", host: "acme test", port: null })).toBe(false);
    expect(uriNames("sip:2000@acme.test", { user: "2000", host: "", port: null })).toBe(false);
    expect(uriNames("sip:2000@acme.test:5060", { user: "2000", host: "acme.test", port: 5070 })).toBe(false);
  });
});
