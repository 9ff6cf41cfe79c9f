// Hosts, IP addresses, transport addresses and ports as SIP writes them: what a Contact's host, a
// switch's address or a request's source may be, and the one canonical text each is written back as.
import { describe, expect, it } from "vitest";
import { hostOf, ipAddressOf, ipv4Of, ipv6Of, portOf, transportAddressOf } from "../../registrar/host";

describe("ipv4Of", () => {
  it("reads dotted decimal with every part 0-255 and writes it without leading zeros", () => {
    expect(ipv4Of("192.0.2.1")).toBe("192.0.2.1");
    expect(ipv4Of("0.0.0.0")).toBe("0.0.0.0");
    expect(ipv4Of("255.255.255.255")).toBe("255.255.255.255");
    // Leading zeros are decimal, never octal: 010 is ten.
    expect(ipv4Of("010.001.000.009")).toBe("10.1.0.9");
    expect(ipv4Of("109.209.9.99")).toBe("109.209.9.99");
  });

  it("refuses a part above 255, a part of four digits, three or five parts, and anything around the address", () => {
    for (const text of ["256.0.0.1", "1.256.0.1", "1.0.256.1", "1.0.0.256", "0255.1.1.1", "1.2.3", "1.2.3.4.5", " 1.2.3.4", "1.2.3.4 ", "x1.2.3.4", "1.2.3.4x", "1..2.3", "a.b.c.d", "0x7f.0.0.1", ""]) {
      expect(ipv4Of(text), JSON.stringify(text)).toBeNull();
    }
  });
});

describe("ipv6Of", () => {
  it("reads an IPv6 address in any case and writes it in RFC 5952 form", () => {
    expect(ipv6Of("2001:DB8:0:0::1")).toBe("2001:db8::1");
    expect(ipv6Of("0:0:0:0:0:0:0:1")).toBe("::1");
    expect(ipv6Of("::ffff:192.0.2.1")).toBe("::ffff:c000:201");
    expect(ipv6Of("A:F:a:f:9:0:19AF:af09")).toBe("a:f:a:f:9:0:19af:af09");
  });

  it("refuses brackets, a zone, an embedded IPv4 tail that is not strict dotted decimal, and non-addresses", () => {
    for (const text of ["[::1]", "fe80::1%eth0", "::ffff:0177.0.0.1", "::ffff:1.2.3.256", "1::2::3", "1:2:3:4:5:6:7:8:9", "2001:db8::g", " ::1", "::1 ", "192.0.2.1", ""]) {
      expect(ipv6Of(text), JSON.stringify(text)).toBeNull();
    }
  });
});

describe("hostOf", () => {
  it("an IPv6 reference is bracketed and canonical", () => {
    expect(hostOf("[2001:DB8::1]")).toEqual({ kind: "ipv6", text: "[2001:db8::1]" });
    for (const text of ["[2001:db8::1", "2001:db8::1]", "[]", "[example.com]", "[::1]x"]) expect(hostOf(text), text).toBeNull();
  });

  it("digits and dots are an IPv4 address or nothing, never a name", () => {
    expect(hostOf("010.0.0.1")).toEqual({ kind: "ipv4", text: "10.0.0.1" });
    for (const text of ["1.2.3", "300.1.1.1", "1.2.3.4.5", "12", "1.2.3.4."]) expect(hostOf(text), text).toBeNull();
  });

  it("a name is lowercased; labels of letters, digits and inner hyphens, a trailing dot allowed", () => {
    expect(hostOf("PBX.Example.COM")).toEqual({ kind: "name", text: "pbx.example.com" });
    expect(hostOf("pbx.example.com.")).toEqual({ kind: "name", text: "pbx.example.com." });
    expect(hostOf("a")).toEqual({ kind: "name", text: "a" });
    expect(hostOf("1a-b2.example")).toEqual({ kind: "name", text: "1a-b2.example" });
    expect(hostOf("a--b.example")).toEqual({ kind: "name", text: "a--b.example" });
    expect(hostOf("sip1.2")).toEqual({ kind: "name", text: "sip1.2" });
    // Labels starting, going on and ending with each end of a-z and 0-9.
    expect(hostOf("a0z9a.za-z09z.0z9-a0.9a09")?.text).toBe("a0z9a.za-z09z.0z9-a0.9a09");
    for (const text of ["", ".", "-a.example", "a-.example", "a_b.example", "a..b", ".a", "a.b..", "a b", "a:b", "ex*mple.com", "münchen.de"]) {
      expect(hostOf(text), JSON.stringify(text)).toBeNull();
    }
  });

  it("a label holds at most 63 characters and a name at most 254", () => {
    const label63 = "a".repeat(63);
    expect(hostOf(`${label63}.example`)?.text).toBe(`${label63}.example`);
    expect(hostOf(`${label63}b.example`)).toBeNull();
    // 127 labels of one letter and their dots: 253 characters, then one more label or dot.
    const name253 = Array.from({ length: 127 }, () => "a").join(".");
    expect(name253.length).toBe(253);
    expect(hostOf(name253)?.text).toBe(name253);
    expect(hostOf(`${name253}.`)?.text).toBe(`${name253}.`);
    expect(hostOf(`${name253}.b`)).toBeNull();
  });
});

describe("transportAddressOf and ipAddressOf", () => {
  it("an IPv4 or IPv6 address (bracketed or as Kamailio writes it) with a port, written canonical", () => {
    expect(transportAddressOf("010.0.2.1:05060")).toBe("10.0.2.1:5060");
    expect(transportAddressOf("[2001:DB8::1]:5060")).toBe("[2001:db8::1]:5060");
    expect(transportAddressOf("::1:5060")).toBe("[::1]:5060");
    expect(transportAddressOf("192.0.2.1:1")).toBe("192.0.2.1:1");
    expect(transportAddressOf("192.0.2.1:65535")).toBe("192.0.2.1:65535");
    for (const text of ["192.0.2.1", "192.0.2.1:", "192.0.2.1:0", "192.0.2.1:65536", "192.0.2.1:+5060", "host.example:5060", ":5060", "[::1]5060", "[::1:5060"]) {
      expect(transportAddressOf(text), text).toBeNull();
    }
  });

  it("an address alone: IPv4 canonical, IPv6 bracketed whether it came with brackets or not", () => {
    expect(ipAddressOf("192.0.2.1")).toBe("192.0.2.1");
    expect(ipAddressOf("2001:DB8::1")).toBe("[2001:db8::1]");
    expect(ipAddressOf("[2001:db8::1]")).toBe("[2001:db8::1]");
    for (const text of ["[2001:db8::1", "2001:db8::1]", "host.example", "[192.0.2.1]", ""]) expect(ipAddressOf(text), text).toBeNull();
  });
});

describe("portOf", () => {
  it("a port is 1-65535 in at most five decimal digits", () => {
    expect(portOf("1")).toBe(1);
    expect(portOf("5060")).toBe(5060);
    expect(portOf("05060")).toBe(5060);
    expect(portOf("65535")).toBe(65_535);
    for (const text of ["0", "00000", "65536", "99999", "005060", "", "50 60", "+1", "-1", "5e3", "0x10", " 5060", "5060 "]) expect(portOf(text), JSON.stringify(text)).toBeNull();
  });
});
