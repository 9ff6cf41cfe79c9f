// Contact, Path and URI reading by the RFC 3261 grammar: the injection forms seen in the wild are
// refused, anything accepted is written back to a text that reads the same and carries no line break.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AddressError, contactUriOf, formatNameAddr, parseAddressList, parseContacts, parsePath } from "../../registrar/contact";
import { ipAddressOf, transportAddressOf } from "../../registrar/host";
import { canonicalSipUri, formatSipUri, parseSipUri } from "../../registrar/sip-uri";

const refused = (value: string) => expect(() => parseContacts(value), value).toThrow(AddressError);

describe("Contact values", () => {
  it("refuse the injection forms: CR/LF in a parameter, an unterminated quote, a quote inside <>, a port beyond 65535", () => {
    refused('sip:2002@192.0.2.81:5060;x="a\r\nX-Injected: 1"');
    refused('<sip:2001@127.0.0.1:5098>;x="a');
    refused('<sip:2001@127.0.0.1:5098;x="a>');
    refused("<sip:2001@127.0.0.1:99999>");
    refused("<sip:2001@127.0.0.1:0>");
    refused("<sip:2001@127.0.0.1:5060");
    refused("sip:2001@127.0.0.1:5060>");
    refused("<sip:2001@127.0.0.1\u0000:5060>");
    refused("<sip:2001@host\n.example>");
    refused("<sip:2001@[::1>");
    refused("<sip:2001@300.1.1.1>");
    refused("<sip:20 01@host>");
    refused("<sip:2001@host>;expires=soon");
    refused("<sip:2001@host>;q=1.5");
    refused("<sip:2001@host>;reg-id=0");
    refused("<sip:2001@host> junk");
    refused("<http://example.com/>");
    refused('"Bob <sip:bob@host>');
    refused("<sip:bob@host>;\u0085x=1");
  });

  it("read name-addr and addr-spec forms with their parameters, hosts canonical", () => {
    expect(parseContacts('"Alice \\"A\\"" <sip:Alice@Example.COM:5060;transport=UDP>;expires=60;q=0.5, sip:bob@[2001:DB8:0::1];expires=0')).toEqual([
      { uri: "sip:Alice@example.com:5060;transport=UDP", expires: 60, q: 0.5 },
      { uri: "sip:bob@[2001:db8::1]", expires: 0 },
    ]);
    expect(parseContacts('<sip:1001@192.0.2.10:5060;ob>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1')).toEqual([
      { uri: "sip:1001@192.0.2.10:5060;ob", instanceId: "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>", regId: 1 },
    ]);
    expect(parseContacts("  *  ")).toBe("*");
    expect(parseContacts("Bob Smith <sips:bob@host.example.>")).toEqual([{ uri: "sips:bob@host.example." }]);
    // The bare form: parameters after the URI are the header's, not the URI's.
    expect(parseContacts("sip:1001@10.0.0.1;expires=30")).toEqual([{ uri: "sip:1001@10.0.0.1", expires: 30 }]);
    expect(contactUriOf('"" <sip:1000@127.0.0.1:5080>')).toBe("sip:1000@127.0.0.1:5080");
  });

  it("Path entries must be <URI>, written back from their parts", () => {
    expect(parsePath("<sip:proxy.example;lr>, <sip:[::1]:5070;lr>")).toEqual(["<sip:proxy.example;lr>", "<sip:[::1]:5070;lr>"]);
    expect(() => parsePath("sip:proxy.example;lr")).toThrow(AddressError);
    expect(() => parsePath("<sip:proxy.example;lr>\r\nX: y")).toThrow(AddressError);
  });

  it("transport addresses: IPv4 and IPv6 (with or without brackets) with a port 1-65535", () => {
    expect(transportAddressOf("192.0.2.1:5060")).toBe("192.0.2.1:5060");
    expect(transportAddressOf("2001:DB8::1:5060")).toBe("[2001:db8::1]:5060");
    expect(transportAddressOf("[2001:db8::1]:5060")).toBe("[2001:db8::1]:5060");
    for (const bad of ["192.0.2.1", "192.0.2.1:99999", "192.0.2.1:0", "host:5060", "192.0.2.1:50\r\n60", "0x7f.1:5060", "1.2.3.256:5060"]) {
      expect(transportAddressOf(bad), bad).toBeNull();
    }
    expect(ipAddressOf("010.001.0.1")).toBe("10.1.0.1");
  });
});

// ── property: accepted values round-trip and stay on one line ──────────────────────────────────

const alnum = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".split(""));
const word = (chars: string, max = 8) => fc.string({ unit: fc.constantFrom(...chars.split("")), minLength: 1, maxLength: max });
const label = fc.tuple(alnum, word("abc-xyz019", 6), alnum).map(([a, b, c]) => `${a}${b}${c}`);
const hostArb = fc.oneof(
  fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join(".")),
  fc.ipV4(),
  fc.ipV6().map((v6) => `[${v6}]`),
);
const paramText = word("abcXYZ019-_.!~*'()[]/:&+$%41", 10).filter((t) => !/%(?![0-9A-Fa-f]{2})/.test(t));
const uriArb = fc
  .record({
    scheme: fc.constantFrom("sip", "SIPS", "sip"),
    user: fc.option(word("abcXYZ019-_.!~*'()&=+$,;?/", 12), { nil: null }),
    host: hostArb,
    port: fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: null }),
    params: fc.array(fc.tuple(paramText, fc.option(paramText, { nil: null })), { maxLength: 3 }),
  })
  .map(({ scheme, user, host, port, params }) =>
    `${scheme}:${user === null ? "" : `${user}@`}${host}${port === null ? "" : `:${port}`}${params.map(([n, v]) => (v === null ? `;${n}` : `;${n}=${v}`)).join("")}`,
  );
// Quoted text may hold anything but the forbidden controls, written with the quoted-pair escapes.
const quotedArb = fc.string({ maxLength: 12, unit: "grapheme" }).map((t) => `"${t.replace(/["\\]/g, (c) => `\\${c}`)}"`);
const headerParamArb = fc.oneof(
  fc.constantFrom(";expires=60", ";q=0.7", ";reg-id=2", ";+sip.instance=\"<urn:uuid:1234>\"", ";lr"),
  fc.tuple(word("abcxyz-.!%*_+`'~", 8), fc.oneof(word("abcxyz019-.", 8), quotedArb)).map(([n, v]) => `;${n}=${v}`),
);
const addressArb = fc
  .tuple(fc.option(fc.oneof(quotedArb, word("abcXYZ", 6)), { nil: null }), uriArb, fc.array(headerParamArb, { maxLength: 3 }))
  .map(([name, uri, params]) => `${name === null ? "" : `${name} `}<${uri}>${params.join("")}`);
// Accepted and refused alike: well-formed lists, then lists with one character changed anywhere.
const valueArb = fc.oneof(
  fc.array(addressArb, { minLength: 1, maxLength: 3 }).map((list) => list.join(", ")),
  fc
    .tuple(fc.array(addressArb, { minLength: 1, maxLength: 2 }), fc.nat(), fc.constantFrom("\r", "\n", "\u0000", '"', "<", ">", ":", ";", ",", " ", "\u007f", "\ud800", "9"))
    .map(([list, at, c]) => {
      const text = list.join(",");
      const i = at % (text.length + 1);
      return text.slice(0, i) + c + text.slice(i);
    }),
  fc.string({ unit: "binary", maxLength: 40 }),
);

describe("written back from the parsed form", () => {
  it("any value the parser accepts is written to a text that reads the same and holds no CR, LF or NUL", () => {
    let accepted = 0;
    fc.assert(
      fc.property(valueArb, (value) => {
        let addresses;
        try {
          addresses = parseAddressList(value);
        } catch (error) {
          expect(error).toBeInstanceOf(AddressError);
          return;
        }
        accepted += 1;
        const written = addresses.map(formatNameAddr).join(", ");
        expect(written).not.toMatch(/[\r\n\u0000]/);
        expect(parseAddressList(written)).toEqual(addresses);
        for (const address of addresses) {
          const uri = formatSipUri(address.uri);
          expect(parseSipUri(uri)).toEqual(address.uri);
          expect(canonicalSipUri(uri)).toBe(uri);
          expect(uri).not.toMatch(/[\s"<>]/);
        }
      }),
      { numRuns: 3000, seed: 20261202 },
    );
    // The runs reached the accepting side, not only refusals.
    expect(accepted).toBeGreaterThan(1000);
  });
});
