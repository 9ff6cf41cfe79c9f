// Contact, Path and URI reading by the RFC 3261 grammar: the injection forms seen in the wild are
// refused, anything accepted is written back to a text that reads the same and carries no line break.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AddressError, contactIs, contactUriOf, formatNameAddr, parseAddressList, parseContacts, parsePath, userAndHost } from "../../registrar/contact";
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

// ── the grammar piece by piece, with the reason a switch is answered ───────────────────────────

const refusedFor = (value: string, reason: RegExp) => expect(() => parseAddressList(value), value).toThrow(reason);
const only = (value: string) => {
  const addresses = parseAddressList(value);
  expect(addresses).toHaveLength(1);
  return addresses[0]!;
};

describe("control characters", () => {
  it("every C0 control but TAB, DEL, every C1 control, U+FFFE, U+FFFF and lone surrogates are refused, even quoted", () => {
    for (const c of ["\u0000", "\u0001", "\u0008", "\n", "\u000b", "\r", "\u001f", "\u007f", "\u0080", "\u0085", "\u009f", "\ufffe", "\uffff", "\ud800", "\udfff"]) {
      refusedFor(`"a${c}b" <sip:bob@host>`, /a control character/);
    }
  });

  it("TAB, space, printable ASCII, the first non-C1 character and whole surrogate pairs are fine inside quotes", () => {
    for (const c of ["\t", " ", "~", "\u00a0", "é", "\ufffd", "😀"]) {
      expect(only(`"a${c}b" <sip:bob@host>`).displayName).toBe(`a${c}b`);
    }
  });
});

describe("display names", () => {
  it("a quoted name keeps its escaped characters; unquoted words are joined with one space", () => {
    expect(only('"Alice \\"A\\" \\\\ Smith" <sip:alice@host>').displayName).toBe('Alice "A" \\ Smith');
    expect(only("Bob   Smith <sip:bob@host>").displayName).toBe("Bob Smith");
    expect(only("Bob\tSmith<sip:bob@host>").displayName).toBe("Bob Smith");
    expect(only("  Bob.O'Neil-2 <sip:bob@host>").displayName).toBe("Bob.O'Neil-2");
    expect(only("<sip:bob@host>").displayName).toBeNull();
    expect(only("sip:bob@host").displayName).toBeNull();
    expect(only('""<sip:bob@host>').displayName).toBe("");
  });

  it("a quoted name must be followed by <URI> and end its quote", () => {
    refusedFor('"Bob" sip:bob@host', /a display name must be followed by <URI>/);
    refusedFor('"Bob"', /a display name must be followed by <URI>/);
    refusedFor('"Bob <sip:bob@host>', /an unterminated quoted string/);
    refusedFor('"Bob\\', /an unterminated quoted string/);
    refusedFor('"Bob\\"', /an unterminated quoted string/);
  });
});

describe("the URI of an address", () => {
  it("inside <> it must close and hold no space, quote or second <", () => {
    refusedFor("Bob <sip:bob@host", /an unbalanced </);
    refusedFor("<sip:bob@host >", /an unbalanced < or a quote inside <URI>/);
    refusedFor("<sip:bob\t@host>", /an unbalanced < or a quote inside <URI>/);
    refusedFor('<sip:bob"@host>', /an unbalanced < or a quote inside <URI>/);
    refusedFor("<sip:bob@host<>", /an unbalanced < or a quote inside <URI>/);
    refusedFor("<tel:+14155550100>", /not a valid SIP URI: "tel:\+14155550100"/);
    // The reason quotes at most 80 characters of what was sent.
    const long = `tel:${"1".repeat(200)}`;
    expect(() => parseAddressList(`<${long}>`)).toThrow(`not a valid SIP URI: ${JSON.stringify(long.slice(0, 80))}`);
    expect(only("<sip:bob@host?Subject=hi>").uri.headers).toEqual([["Subject", "hi"]]);
  });

  it("a bare URI ends at a parameter, a comma or a space, and carries no '?', '>' or quote", () => {
    expect(only("sip:bob@host;expires=30")).toMatchObject({ uri: { params: [] }, params: [{ name: "expires", value: "30" }] });
    expect(parseAddressList("sip:bob@host,sip:carol@host").map((a) => a.uri.user)).toEqual(["bob", "carol"]);
    expect(only("sip:bob@host  ").uri.user).toBe("bob");
    refusedFor("sip:bob@host?Subject=hi", /an unbalanced > or quote/);
    refusedFor("sip:bob@host>", /an unbalanced > or quote/);
    refusedFor('sip:bob@host"', /an unbalanced > or quote/);
    refusedFor("sip:bob@host sip:carol@host", /unexpected "s" after an address/);
  });

  it("Path entries must be bracketed", () => {
    expect(() => parseAddressList("sip:proxy.example;lr", true)).toThrow(/a Path entry must be <URI>/);
    expect(parseAddressList("<sip:proxy.example;lr>", true)).toHaveLength(1);
  });
});

describe("header parameters", () => {
  it("read with spaces around ';' and '=', valueless, quoted (unescaped) or a token or host", () => {
    expect(only('<sip:bob@host> ; expires = 60 ;lr; x="a\\"b\\\\c";maddr=[2001:db8::1];tok=A-z.!%*_+`\'~').params).toEqual([
      { name: "expires", value: "60", quoted: false },
      { name: "lr", value: null, quoted: false },
      { name: "x", value: 'a"b\\c', quoted: true },
      { name: "maddr", value: "[2001:db8::1]", quoted: false },
      { name: "tok", value: "A-z.!%*_+`'~", quoted: false },
    ]);
  });

  it("names and unquoted values may use every token character (values also ':' '[' ']')", () => {
    const token = "AZaz09-.!%*_+`'~";
    expect(only(`<sip:bob@host>;${token}=${token}:[]`).params).toEqual([{ name: token, value: `${token}:[]`, quoted: false }]);
    expect(only(`${token} <sip:bob@host>`).displayName).toBe(token);
    expect(formatNameAddr(only(`<sip:bob@host>;x=${token}:[]`))).toBe(`<sip:bob@host>;x=${token}:[]`);
    for (const c of ["@", "/", "(", ")", "{", "?", "^", "|"]) refusedFor(`<sip:bob@host>;x=a${c}b`, /after an address/);
  });

  it("refuse an empty name, an empty value, an unterminated quote and anything after the last one", () => {
    refusedFor("<sip:bob@host>;", /an empty parameter name/);
    refusedFor("<sip:bob@host>;=1", /an empty parameter name/);
    refusedFor("<sip:bob@host>;x=", /parameter x has an empty value/);
    refusedFor("<sip:bob@host>;x=;y", /parameter x has an empty value/);
    refusedFor('<sip:bob@host>;x="a', /an unterminated quoted string/);
    refusedFor("<sip:bob@host>;x=a b", /unexpected "b" after an address/);
    refusedFor("<sip:bob@host>;x=a/b", /unexpected "\/" after an address/);
    refusedFor("<sip:bob@host> junk", /unexpected "j" after an address/);
  });

  it("written back quoted when they were quoted or their value is not a token or host", () => {
    const address = only('<sip:bob@host>;a="tok";b=tok;c');
    expect(formatNameAddr(address)).toBe('<sip:bob@host>;a="tok";b=tok;c');
    expect(formatNameAddr({ ...address, displayName: 'Al "B" \\C', params: [{ name: "x", value: "a b", quoted: false }] })).toBe('"Al \\"B\\" \\\\C" <sip:bob@host>;x="a b"');
  });
});

describe("lists", () => {
  it("addresses are separated by commas with any spaces; an empty entry is refused", () => {
    expect(parseAddressList(" <sip:a@b>;x=1 ,  Bob <sip:c@d> ").map((a) => formatNameAddr(a))).toEqual(["<sip:a@b>;x=1", '"Bob" <sip:c@d>']);
    refusedFor("<sip:a@b>,", /not a valid SIP URI: ""/);
    refusedFor("<sip:a@b>,,<sip:c@d>", /not a valid SIP URI: ""/);
    refusedFor("", /not a valid SIP URI: ""/);
    refusedFor("<sip:a@b> <sip:c@d>", /unexpected "<" after an address/);
  });
});

describe("REGISTER Contact parameters", () => {
  it("expires, q, +sip.instance and reg-id are read whatever their name's case", () => {
    expect(parseContacts('<sip:a@b>;EXPIRES=3600;Q=1.000;+SIP.Instance="<urn:uuid:1>";Reg-Id=123456789')).toEqual([
      { uri: "sip:a@b", expires: 3600, q: 1, instanceId: "<urn:uuid:1>", regId: 123_456_789 },
    ]);
    expect(parseContacts("<sip:a@b>;expires=4294967295;q=0")).toEqual([{ uri: "sip:a@b", expires: 4_294_967_295, q: 0 }]);
    expect(parseContacts("<sip:a@b>;q=0.125")).toEqual([{ uri: "sip:a@b", q: 0.125 }]);
    // RFC 3261 qvalue: 0 or 1, a dot, up to three digits (only zeros after a 1).
    for (const [q, value] of [["0", 0], ["0.", 0], ["0.9", 0.9], ["0.09", 0.09], ["0.000", 0], ["1", 1], ["1.", 1], ["1.0", 1]] as const) {
      expect(parseContacts(`<sip:a@b>;q=${q}`), q).toEqual([{ uri: "sip:a@b", q: value }]);
    }
    expect(parseContacts("<sip:a@b>;expires=0;reg-id=1")).toEqual([{ uri: "sip:a@b", expires: 0, regId: 1 }]);
    expect(parseContacts("<sip:a@b>;+sip.instance=x")).toEqual([{ uri: "sip:a@b", instanceId: "x" }]);
    expect(parseContacts("<sip:a@b>;x=1")).toEqual([{ uri: "sip:a@b" }]);
  });

  it("each is refused, saying why, when it is off", () => {
    const why = (value: string, reason: RegExp) => expect(() => parseContacts(value), value).toThrow(reason);
    for (const value of ["<sip:a@b>;expires", '<sip:a@b>;expires="60"', "<sip:a@b>;expires=-1", "<sip:a@b>;expires=1.5", "<sip:a@b>;expires=12345678901", "<sip:a@b>;expires=6o"]) {
      why(value, /expires must be whole seconds/);
    }
    for (const value of ["<sip:a@b>;q", "<sip:a@b>;q=1.5", "<sip:a@b>;q=10", "<sip:a@b>;q=00", '<sip:a@b>;q="0.5"', "<sip:a@b>;q=1.001", "<sip:a@b>;q=0.1234", "<sip:a@b>;q=2", "<sip:a@b>;q=.5", "<sip:a@b>;q=01", "<sip:a@b>;q=0.5x"]) {
      why(value, /q must be between 0 and 1/);
    }
    for (const value of ["<sip:a@b>;+sip.instance", '<sip:a@b>;+sip.instance=""']) why(value, /\+sip.instance needs a value/);
    for (const value of ["<sip:a@b>;reg-id", '<sip:a@b>;reg-id="1"', "<sip:a@b>;reg-id=0", "<sip:a@b>;reg-id=1234567890", "<sip:a@b>;reg-id=x1", "<sip:a@b>;reg-id=1x"]) {
      why(value, /reg-id must be a positive integer/);
    }
  });

  it("the wildcard stands alone", () => {
    expect(parseContacts("*")).toBe("*");
    expect(parseContacts(" \t* ")).toBe("*");
    expect(() => parseContacts("*, <sip:a@b>")).toThrow(AddressError);
  });
});

describe("contactUriOf, userAndHost, contactIs", () => {
  it("a FreeSWITCH event's contact is exactly one address, its URI canonical", () => {
    expect(contactUriOf("<sip:1000@Host.Example:05080;transport=udp>;expires=60")).toBe("sip:1000@host.example:5080;transport=udp");
    expect(() => contactUriOf("<sip:a@b>, <sip:c@d>")).toThrow(/one contact expected/);
  });

  it("user and host of a URI: host lowercase without a port or a trailing dot, IPv6 bracketed", () => {
    expect(userAndHost("  sip:Bob@PBX.Example.:5060;transport=tcp ")).toEqual({ user: "Bob", host: "pbx.example" });
    expect(userAndHost("sips:[2001:DB8::1]:5061")).toEqual({ user: null, host: "[2001:db8::1]" });
    expect(userAndHost("sip:bob@192.0.2.1")).toEqual({ user: "bob", host: "192.0.2.1" });
    expect(userAndHost("tel:+14155550100")).toBeNull();
  });

  it("a stored contact names a user at a host whatever the port, parameters or host case", () => {
    expect(contactIs("sip:1000@192.0.2.1:5080;transport=udp", "1000", "192.0.2.1")).toBe(true);
    expect(contactIs("sip:1000@pbx.example.", "1000", "PBX.Example")).toBe(true);
    expect(contactIs("sip:1000@192.0.2.1", "1001", "192.0.2.1")).toBe(false);
    expect(contactIs("sip:1000@192.0.2.1", "1000", "192.0.2.2")).toBe(false);
    expect(contactIs("sip:192.0.2.1", "1000", "192.0.2.1")).toBe(false);
    expect(contactIs("not a uri", "1000", "192.0.2.1")).toBe(false);
  });
});
