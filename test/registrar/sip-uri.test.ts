// SIP and SIPS URIs read by the RFC 3261 grammar and written back from their parts: what a Contact,
// a Path entry or a digest's uri may hold, and the text the edge stores and answers.
import { describe, expect, it } from "vitest";
import { canonicalSipUri, formatSipUri, parseSipUri, portOrDefault, sameHostPort } from "../../registrar/sip-uri";

const refused = (text: string) => expect(parseSipUri(text), JSON.stringify(text)).toBeNull();

describe("parseSipUri", () => {
  it("reads every part: scheme, user, password, host, port, parameters and headers", () => {
    expect(parseSipUri("SIPS:Bob:s%65cret@PBX.Example.COM:5061;transport=tcp;lr;maddr=[2001:db8::1]?Subject=hi%20there&Priority=")).toEqual({
      scheme: "sips",
      user: "Bob",
      password: "s%65cret",
      host: { kind: "name", text: "pbx.example.com" },
      port: 5061,
      params: [
        { name: "transport", value: "tcp" },
        { name: "lr", value: null },
        { name: "maddr", value: "[2001:db8::1]" },
      ],
      headers: [
        ["Subject", "hi%20there"],
        ["Priority", ""],
      ],
    });
    expect(parseSipUri("sip:192.0.2.1")).toEqual({ scheme: "sip", user: null, password: null, host: { kind: "ipv4", text: "192.0.2.1" }, port: null, params: [], headers: [] });
  });

  it("a user may hold the telephone-subscriber characters and escapes; the password may be empty", () => {
    expect(parseSipUri("sip:+1-212-555-0100;npdi;rn=+1212@gw.example;user=phone")?.user).toBe("+1-212-555-0100;npdi;rn=+1212");
    expect(parseSipUri("sip:a&b=c+d$e,f?g/h@host")?.user).toBe("a&b=c+d$e,f?g/h");
    expect(parseSipUri("sip:%41lice@host")?.user).toBe("%41lice");
    expect(parseSipUri("sip:bob:@host")).toMatchObject({ user: "bob", password: "" });
    expect(parseSipUri("sip:bob:a&b=c+d$e,f@host")?.password).toBe("a&b=c+d$e,f");
  });

  it("each part accepts every character its grammar allows, escapes of any hex digit included", () => {
    const alphabet = "AZaz09-_.!~*'()%09%AF%af";
    const user = `${alphabet}&=+$,;?/`;
    const password = `${alphabet}&=+$,`;
    const param = `${alphabet}[]/:&+$`;
    const header = `${alphabet}[]/?:+$`;
    const text = `sip:${user}:${password}@host;${param}=${param}?${header}=${header}`;
    expect(parseSipUri(text)).toMatchObject({ user, password, params: [{ name: param, value: param }], headers: [[header, header]] });
    expect(canonicalSipUri(text)).toBe(text);
  });

  it("refuses a scheme other than sip or sips", () => {
    for (const text of ["tel:+14155550100", "sipx:bob@host", "http://host/", ":bob@host", "bob@host", "xsip:host", "sips"]) refused(text);
  });

  it("refuses a user or password outside the grammar, at its start, inside or at its end", () => {
    for (const text of ["sip:@host", "sip:bob smith@host", "sip:<bob@host", "sip:bob>@host", "sip:bob\"@host", "sip:%4@host", "sip:%zzbob@host", "sip:bob%@host", "sip:bob:pa ss@host", "sip:bob:<pw@host", "sip:bob:pw>@host", "sip:bob:p;w@host", "sip:bob:p?w@host", "sip:bob:p/w@host", "sip:bob:%4@host"]) refused(text);
  });

  it("refuses a parameter with an empty name, an empty value, or a character outside the grammar", () => {
    for (const text of ["sip:host;", "sip:host;;lr", "sip:host;=udp", "sip:host;transport=", "sip:host;a=b=c", "sip:host;a b", "sip:host;<a", "sip:host;a>", "sip:host;a=<b", "sip:host;a=b>", "sip:host;a=b,c", "sip:host;a\"=b"]) refused(text);
    expect(parseSipUri("sip:host;a-_.!~*'()[]/:&+$%41=b-_.!~*'()[]/:&+$%41")?.params).toEqual([{ name: "a-_.!~*'()[]/:&+$%41", value: "b-_.!~*'()[]/:&+$%41" }]);
  });

  it("refuses a header without '=', with an empty name, or a character outside the grammar", () => {
    for (const text of ["sip:host?", "sip:host?a", "sip:host?=b", "sip:host?a=b&", "sip:host?a=b&c", "sip:host?Subject", "sip:host?a=b&Priority", "sip:host?<a=b", "sip:host?a>=b", "sip:host?a=<b", "sip:host?a=b>", "sip:host?a=b c", "sip:host?a;=b", "sip:host?a=b;c"]) refused(text);
    expect(parseSipUri("sip:host?a-_.!~*'()[]/?:+$%41=b-_.!~*'()[]/?:+$%41")?.headers).toEqual([["a-_.!~*'()[]/?:+$%41", "b-_.!~*'()[]/?:+$%41"]]);
    expect(parseSipUri("sip:host?a=b&c=")?.headers).toEqual([["a", "b"], ["c", ""]]);
  });

  it("the port follows the last ':' outside an IPv6 reference and is 1-65535 in decimal digits", () => {
    expect(parseSipUri("sip:[2001:db8::1]")).toMatchObject({ host: { kind: "ipv6", text: "[2001:db8::1]" }, port: null });
    expect(parseSipUri("sip:[2001:db8::1]:5070")).toMatchObject({ host: { kind: "ipv6", text: "[2001:db8::1]" }, port: 5070 });
    expect(parseSipUri("sip:bob@host:1")?.port).toBe(1);
    expect(parseSipUri("sip:bob@host:65535")?.port).toBe(65_535);
    expect(parseSipUri("sip:bob@host:05060")?.port).toBe(5060);
    // A one-letter host: the port's ':' is the second character.
    expect(parseSipUri("sip:a:5060")).toMatchObject({ user: null, host: { text: "a" }, port: 5060 });
    expect(parseSipUri("sip:bob@a:5070")).toMatchObject({ user: "bob", host: { text: "a" }, port: 5070 });
    for (const text of ["sip:bob@host:", "sip:bob@host:0", "sip:bob@host:65536", "sip:bob@host:99999", "sip:bob@host:123456", "sip:bob@host:+5060", "sip:bob@host:50a", "sip:bob@host: 5060", "sip:bob@host:5060 ", "sip:2001:db8::1", "sip:[2001:db8::1]:"]) refused(text);
  });

  it("refuses a host outside the grammar", () => {
    for (const text of ["sip:", "sip:bob@", "sip:bob@ho st", "sip:bob@300.1.1.1", "sip:bob@[::1", "sip:bob@host@other", "sip:;lr", "sip:?a=b"]) refused(text);
  });
});

describe("formatSipUri and canonicalSipUri", () => {
  it("write every part back, the host canonical, the rest as written", () => {
    const text = "sips:Bob:s%65cret@pbx.example.com:5061;transport=tcp;lr?Subject=hi%20there&Priority=";
    expect(formatSipUri(parseSipUri(text)!)).toBe(text);
    expect(canonicalSipUri("SIP:Bob@PBX.Example.COM:05060;Transport=UDP")).toBe("sip:Bob@pbx.example.com:5060;Transport=UDP");
    expect(canonicalSipUri("sip:[2001:DB8:0::1]:5060")).toBe("sip:[2001:db8::1]:5060");
    expect(canonicalSipUri("sip:010.0.0.1")).toBe("sip:10.0.0.1");
    expect(canonicalSipUri("sip:bob:@host")).toBe("sip:bob:@host");
  });

  it("an unreadable URI has no canonical form", () => {
    expect(canonicalSipUri("sip:bob@host\r\nX-Injected: 1")).toBeNull();
    expect(canonicalSipUri("tel:+14155550100")).toBeNull();
  });
});

// A switch's SIP URI against the transport source a proxy reports: how the edge recognises a call
// handed over by a switch of the fleet (Kamailio locate).
describe("portOrDefault", () => {
  it("is the URI's own port, else 5060 for sip and 5061 for sips (RFC 3261 §19.1.2)", () => {
    expect(portOrDefault({ scheme: "sip", port: null })).toBe(5060);
    expect(portOrDefault({ scheme: "sips", port: null })).toBe(5061);
    expect(portOrDefault({ scheme: "sips", port: 5070 })).toBe(5070);
  });
});

describe("sameHostPort", () => {
  it("reads a sip URI without a port as port 5060", () => {
    expect(sameHostPort("sip:10.0.0.5", "10.0.0.5:5060")).toBe(true);
    expect(sameHostPort("sip:10.0.0.5", "10.0.0.5:5061")).toBe(false);
    expect(sameHostPort("sip:10.0.0.5", "10.0.0.5")).toBe(true);
  });

  it("reads a sips URI without a port as port 5061, not 5060", () => {
    expect(sameHostPort("sips:10.0.0.5", "10.0.0.5:5061")).toBe(true);
    expect(sameHostPort("sips:10.0.0.5", "10.0.0.5:5060")).toBe(false);
    expect(sameHostPort("sips:[2001:db8::5]", "2001:db8::5:5061")).toBe(true);
    expect(sameHostPort("sips:[2001:db8::5]", "2001:db8::5:5060")).toBe(false);
    expect(sameHostPort("sips:10.0.0.5", "10.0.0.5")).toBe(true);
  });

  it("compares an explicit port whatever the scheme, hosts in canonical form", () => {
    expect(sameHostPort("sips:10.0.0.5:5060", "10.0.0.5:5060")).toBe(true);
    expect(sameHostPort("sip:10.0.0.5:5080", "10.0.0.5:5060")).toBe(false);
    expect(sameHostPort("sip:10.0.0.5:5080", "10.0.0.5")).toBe(false);
    expect(sameHostPort("sip:[2001:DB8:0:0::3]", "2001:db8::3:5060")).toBe(true);
    expect(sameHostPort("sip:10.0.0.5", "10.0.0.6:5060")).toBe(false);
    expect(sameHostPort("not a uri", "10.0.0.5:5060")).toBe(false);
  });

  it("reads the switch's address without the white space around it", () => {
    expect(sameHostPort(" sip:10.0.0.5:5070\t", "10.0.0.5:5070")).toBe(true);
    expect(sameHostPort(" sip:10.0.0.5 ", "10.0.0.5")).toBe(true);
  });
});
