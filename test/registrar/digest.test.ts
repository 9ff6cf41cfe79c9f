import { describe, expect, it } from "vitest";
import sipAuthBody from "../fixtures/freeswitch/directory-sip_auth-REGISTER-user1000.body.txt?raw";
import {
  computeHa1,
  digestAlgorithmOf,
  isDigestAnswer,
  parseDigestAuthorization,
  verifyDigestResponse,
  type DigestCredentials,
} from "../../registrar/digest";

/** The sip_auth_* fields of FreeSWITCH's directory request, as digest credentials. */
function credentialsFromSipAuth(body: string): { credentials: DigestCredentials; method: string } {
  const form = new URLSearchParams(body.trim());
  const field = (name: string): string => {
    const value = form.get(name);
    if (value === null) throw new Error(`fixture has no ${name}`);
    return value;
  };
  return {
    credentials: {
      username: field("sip_auth_username"),
      realm: field("sip_auth_realm"),
      nonce: field("sip_auth_nonce"),
      uri: field("sip_auth_uri"),
      response: field("sip_auth_response"),
      qop: field("sip_auth_qop"),
      nc: field("sip_auth_nc"),
      cnonce: field("sip_auth_cnonce"),
    },
    method: field("sip_auth_method"),
  };
}

/** One character of a hex string changed to another hex digit. */
function changeOneHexDigit(hex: string, at: number): string {
  const digit = hex.charAt(at);
  return hex.slice(0, at) + (digit === "0" ? "1" : "0") + hex.slice(at + 1);
}

// RFC 7616 §3.9.1.
const rfc7616 = {
  username: "Mufasa",
  realm: "http-auth@example.org",
  password: "Circle of Life",
  method: "GET",
  uri: "/dir/index.html",
  nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
  cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
  nc: "00000001",
  qop: "auth",
  opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
};

function rfc7616Credentials(response: string, algorithm: string): DigestCredentials {
  const { username, realm, uri, nonce, cnonce, nc, qop, opaque } = rfc7616;
  return { username, realm, uri, nonce, cnonce, nc, qop, opaque, response, algorithm };
}

describe("computeHa1", () => {
  it("is the lowercase hex MD5 of username:realm:password", async () => {
    // MD5("Mufasa:testrealm@host.com:Circle Of Life"), RFC 2617 §3.5.
    expect(await computeHa1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life")).toBe(
      "939e7578ed9e3c518a452acee763bce9",
    );
  });

  it("gives 64 hex digits for SHA-256", async () => {
    expect(await computeHa1("SHA-256", "1000", "127.0.0.4", "s3cret-1000")).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("verifyDigestResponse on a real FreeSWITCH REGISTER (directory sip_auth capture)", () => {
  const { credentials, method } = credentialsFromSipAuth(sipAuthBody);

  it("reads the capture's digest fields", () => {
    expect(credentials.username).toBe("1000");
    expect(credentials.realm).toBe("127.0.0.4");
    expect(credentials.uri).toBe("sip:127.0.0.4:5060");
    expect(method).toBe("REGISTER");
  });

  it("accepts the device's response with HA1 of its password", async () => {
    const ha1 = await computeHa1("MD5", "1000", "127.0.0.4", "s3cret-1000");
    expect(await verifyDigestResponse(ha1, "MD5", credentials, method)).toBe(true);
  });

  it("accepts an HA1 stored in uppercase hex", async () => {
    const ha1 = await computeHa1("MD5", "1000", "127.0.0.4", "s3cret-1000");
    expect(await verifyDigestResponse(ha1.toUpperCase(), "MD5", credentials, method)).toBe(true);
  });

  it("refuses a response with one character changed", async () => {
    const ha1 = await computeHa1("MD5", "1000", "127.0.0.4", "s3cret-1000");
    for (const at of [0, 15, 31]) {
      const tampered = { ...credentials, response: changeOneHexDigit(credentials.response, at) };
      expect(await verifyDigestResponse(ha1, "MD5", tampered, method)).toBe(false);
    }
  });

  it("refuses the response under a wrong password's HA1", async () => {
    const ha1 = await computeHa1("MD5", "1000", "127.0.0.4", "s3cret-1001");
    expect(await verifyDigestResponse(ha1, "MD5", credentials, method)).toBe(false);
  });

  it("refuses the response for another method", async () => {
    const ha1 = await computeHa1("MD5", "1000", "127.0.0.4", "s3cret-1000");
    expect(await verifyDigestResponse(ha1, "MD5", credentials, "INVITE")).toBe(false);
  });

  it("refuses a truncated response", async () => {
    const ha1 = await computeHa1("MD5", "1000", "127.0.0.4", "s3cret-1000");
    const truncated = { ...credentials, response: credentials.response.slice(0, -1) };
    expect(await verifyDigestResponse(ha1, "MD5", truncated, method)).toBe(false);
  });

  it("refuses qop=auth-int, which needs the body the registrar never sees", async () => {
    const ha1 = await computeHa1("MD5", "1000", "127.0.0.4", "s3cret-1000");
    expect(await verifyDigestResponse(ha1, "MD5", { ...credentials, qop: "auth-int" }, method)).toBe(false);
  });

  it("refuses qop=auth without nc or cnonce", async () => {
    const ha1 = await computeHa1("MD5", "1000", "127.0.0.4", "s3cret-1000");
    const { nc: _nc, ...withoutNc } = credentials;
    const { cnonce: _cnonce, ...withoutCnonce } = credentials;
    expect(await verifyDigestResponse(ha1, "MD5", withoutNc, method)).toBe(false);
    expect(await verifyDigestResponse(ha1, "MD5", withoutCnonce, method)).toBe(false);
  });

  it("refuses MD5-sess, which the registrar does not support", async () => {
    const ha1 = await computeHa1("MD5", "1000", "127.0.0.4", "s3cret-1000");
    expect(await verifyDigestResponse(ha1, "MD5", { ...credentials, algorithm: "MD5-sess" }, method)).toBe(false);
  });

  it("refuses credentials naming SHA-256 against an MD5 HA1", async () => {
    const ha1 = await computeHa1("MD5", "1000", "127.0.0.4", "s3cret-1000");
    expect(await verifyDigestResponse(ha1, "MD5", { ...credentials, algorithm: "SHA-256" }, method)).toBe(false);
  });
});

describe("verifyDigestResponse on RFC 7616 §3.9.1", () => {
  it("accepts the SHA-256 example response", async () => {
    const ha1 = await computeHa1("SHA-256", rfc7616.username, rfc7616.realm, rfc7616.password);
    const credentials = rfc7616Credentials("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", "SHA-256");
    expect(await verifyDigestResponse(ha1, "SHA-256", credentials, rfc7616.method)).toBe(true);
  });

  it("accepts the MD5 example response", async () => {
    const ha1 = await computeHa1("MD5", rfc7616.username, rfc7616.realm, rfc7616.password);
    const credentials = rfc7616Credentials("8ca523f5e9506fed4657c9700eebdbec", "MD5");
    expect(await verifyDigestResponse(ha1, "MD5", credentials, rfc7616.method)).toBe(true);
  });

  it("matches algorithm names case-insensitively", async () => {
    const ha1 = await computeHa1("SHA-256", rfc7616.username, rfc7616.realm, rfc7616.password);
    const credentials = rfc7616Credentials("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", "sha-256");
    expect(await verifyDigestResponse(ha1, "SHA-256", credentials, rfc7616.method)).toBe(true);
  });

  it("accepts a response sent in uppercase hex", async () => {
    const ha1 = await computeHa1("MD5", rfc7616.username, rfc7616.realm, rfc7616.password);
    const credentials = rfc7616Credentials("8CA523F5E9506FED4657C9700EEBDBEC", "MD5");
    expect(await verifyDigestResponse(ha1, "MD5", credentials, rfc7616.method)).toBe(true);
  });

  it("refuses SHA-256-sess", async () => {
    const ha1 = await computeHa1("SHA-256", rfc7616.username, rfc7616.realm, rfc7616.password);
    const credentials = rfc7616Credentials("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", "SHA-256-sess");
    expect(await verifyDigestResponse(ha1, "SHA-256", credentials, rfc7616.method)).toBe(false);
  });
});

describe("verifyDigestResponse without qop (RFC 2069 compatibility)", () => {
  it("accepts H(HA1:nonce:HA2) and refuses it for another nonce", async () => {
    // RFC 2617 §3.5's example, computed without qop: response = MD5(HA1:nonce:HA2).
    const ha1 = await computeHa1("MD5", "1000", "example.com", "pw");
    const md5 = async (text: string): Promise<string> =>
      [...new Uint8Array(await crypto.subtle.digest("MD5", new TextEncoder().encode(text)))]
        .map((byte) => byte.toString(16).padStart(2, "0"))
        .join("");
    const ha2 = await md5("REGISTER:sip:example.com");
    const response = await md5(`${ha1}:abc123:${ha2}`);
    const credentials: DigestCredentials = {
      username: "1000",
      realm: "example.com",
      nonce: "abc123",
      uri: "sip:example.com",
      response,
    };
    expect(await verifyDigestResponse(ha1, "MD5", credentials, "REGISTER")).toBe(true);
    expect(await verifyDigestResponse(ha1, "MD5", { ...credentials, nonce: "abc124" }, "REGISTER")).toBe(false);
  });
});

describe("digestAlgorithmOf", () => {
  const base: DigestCredentials = { username: "u", realm: "r", nonce: "n", uri: "sip:r", response: "x" };

  it("takes a missing algorithm as MD5", () => {
    expect(digestAlgorithmOf(base)).toBe("MD5");
  });

  it("reads MD5 and SHA-256 in any case", () => {
    expect(digestAlgorithmOf({ ...base, algorithm: "md5" })).toBe("MD5");
    expect(digestAlgorithmOf({ ...base, algorithm: "Sha-256" })).toBe("SHA-256");
  });

  it("gives null for -sess variants and unknown algorithms", () => {
    expect(digestAlgorithmOf({ ...base, algorithm: "MD5-sess" })).toBeNull();
    expect(digestAlgorithmOf({ ...base, algorithm: "SHA-512-256" })).toBeNull();
    expect(digestAlgorithmOf({ ...base, algorithm: "AKAv1-MD5" })).toBeNull();
  });
});

describe("parseDigestAuthorization", () => {
  it("reads a SIP Authorization header with quoted and unquoted parameters", () => {
    const header =
      'Digest username="1000", realm="127.0.0.4", nonce="491e83ce-9b62-4034-8a90-08c99c20f0c2", ' +
      'uri="sip:127.0.0.4:5060", response="1740c1d347d28fddfd5964f8f8582687", algorithm=MD5, ' +
      'cnonce="6b8b4567", qop=auth, nc=00000001';
    expect(parseDigestAuthorization(header)).toEqual({
      username: "1000",
      realm: "127.0.0.4",
      nonce: "491e83ce-9b62-4034-8a90-08c99c20f0c2",
      uri: "sip:127.0.0.4:5060",
      response: "1740c1d347d28fddfd5964f8f8582687",
      algorithm: "MD5",
      cnonce: "6b8b4567",
      qop: "auth",
      nc: "00000001",
    });
  });

  it("parses to credentials that verify against the real capture", async () => {
    const header =
      'Digest username="1000",realm="127.0.0.4",nonce="491e83ce-9b62-4034-8a90-08c99c20f0c2",' +
      'uri="sip:127.0.0.4:5060",response="1740c1d347d28fddfd5964f8f8582687",cnonce="6b8b4567",qop=auth,nc=00000001';
    const credentials = parseDigestAuthorization(header);
    expect(credentials).not.toBeNull();
    const ha1 = await computeHa1("MD5", "1000", "127.0.0.4", "s3cret-1000");
    expect(await verifyDigestResponse(ha1, "MD5", credentials!, "REGISTER")).toBe(true);
  });

  it("keeps commas and escaped quotes inside quoted strings", () => {
    const header =
      'Digest username="al\\"ice", realm="a, b", nonce="n", uri="sip:x", response="r", opaque="o,p"';
    const credentials = parseDigestAuthorization(header);
    expect(credentials?.username).toBe('al"ice');
    expect(credentials?.realm).toBe("a, b");
    expect(credentials?.opaque).toBe("o,p");
  });

  it("reads scheme and parameter names case-insensitively, with spaces around =", () => {
    const header = 'digest USERNAME = "1000" , Realm="r" ,NONCE="n", Uri="sip:r", RESPONSE="abc", QOP=auth';
    expect(parseDigestAuthorization(header)).toEqual({
      username: "1000",
      realm: "r",
      nonce: "n",
      uri: "sip:r",
      response: "abc",
      qop: "auth",
    });
  });

  it("gives null for another scheme", () => {
    expect(parseDigestAuthorization('Basic dXNlcjpwYXNz')).toBeNull();
    expect(parseDigestAuthorization('Digested username="1000"')).toBeNull();
  });

  it("gives null when a required parameter is missing", () => {
    const full = { username: "1000", realm: "r", nonce: "n", uri: "sip:r", response: "abc" };
    for (const missing of Object.keys(full)) {
      const header =
        "Digest " +
        Object.entries(full)
          .filter(([name]) => name !== missing)
          .map(([name, value]) => `${name}="${value}"`)
          .join(", ");
      expect(parseDigestAuthorization(header)).toBeNull();
    }
  });

  it("gives null for an unterminated quoted string", () => {
    expect(parseDigestAuthorization('Digest username="1000, realm="r", nonce="n", uri="u", response="x')).toBeNull();
  });
});

describe("digest rules no well-formed response can get around", () => {
  const md5 = async (text: string): Promise<string> =>
    [...new Uint8Array(await crypto.subtle.digest("MD5", new TextEncoder().encode(text)))]
      .map((byte) => byte.toString(16).padStart(2, "0"))
      .join("");
  const base = { username: "1000", realm: "example.com", nonce: "abc123", uri: "sip:example.com" };
  /** The response the registrar's own formula gives for these fields (qop form). */
  const qopResponse = async (ha1: string, qop: string, nc: string | undefined, cnonce: string | undefined) =>
    md5(`${ha1}:${base.nonce}:${nc}:${cnonce}:${qop}:${await md5(`REGISTER:${base.uri}`)}`);

  it("qop=auth-int is refused even with the response computed as for auth", async () => {
    const ha1 = await computeHa1("MD5", "1000", "example.com", "pw");
    const credentials = { ...base, qop: "auth-int", nc: "00000001", cnonce: "c", response: await qopResponse(ha1, "auth-int", "00000001", "c") };
    expect(await verifyDigestResponse(ha1, "MD5", credentials, "REGISTER")).toBe(false);
    // The same fields with qop=auth are right: only the qop refuses it.
    const auth = { ...credentials, qop: "auth", response: await qopResponse(ha1, "auth", "00000001", "c") };
    expect(await verifyDigestResponse(ha1, "MD5", auth, "REGISTER")).toBe(true);
  });

  it("qop=auth without nc or without cnonce is refused whatever the response", async () => {
    const ha1 = await computeHa1("MD5", "1000", "example.com", "pw");
    const withoutNc = { ...base, qop: "auth", cnonce: "c", response: await qopResponse(ha1, "auth", undefined, "c") };
    const withoutCnonce = { ...base, qop: "auth", nc: "00000001", response: await qopResponse(ha1, "auth", "00000001", undefined) };
    expect(await verifyDigestResponse(ha1, "MD5", withoutNc, "REGISTER")).toBe(false);
    expect(await verifyDigestResponse(ha1, "MD5", withoutCnonce, "REGISTER")).toBe(false);
  });

  it("a right response with anything appended is refused", async () => {
    const ha1 = await computeHa1("MD5", "1000", "example.com", "pw");
    const response = await qopResponse(ha1, "auth", "00000001", "c");
    const credentials = { ...base, qop: "auth", nc: "00000001", cnonce: "c", response };
    expect(await verifyDigestResponse(ha1, "MD5", credentials, "REGISTER")).toBe(true);
    expect(await verifyDigestResponse(ha1, "MD5", { ...credentials, response: `${response}0` }, "REGISTER")).toBe(false);
  });

  it("an empty or blank algorithm is MD5", () => {
    expect(digestAlgorithmOf({ ...base, response: "x", algorithm: "" })).toBe("MD5");
    expect(digestAlgorithmOf({ ...base, response: "x", algorithm: "  " })).toBe("MD5");
    expect(digestAlgorithmOf({ ...base, response: "x", algorithm: " md5 " })).toBe("MD5");
  });
});

describe("parseDigestAuthorization refuses what is not one well-formed header", () => {
  const required = 'username="1000", realm="r", nonce="n", uri="sip:r", response="abc"';

  it("gives only the parameters present: absent ones are not there at all", () => {
    expect(parseDigestAuthorization(`Digest ${required}`)).toStrictEqual({ username: "1000", realm: "r", nonce: "n", uri: "sip:r", response: "abc" });
  });

  it("a repeated parameter keeps its first value", () => {
    expect(parseDigestAuthorization(`Digest ${required}, username="2000", response="def"`)).toMatchObject({ username: "1000", response: "abc" });
  });

  it("gives null for a parameter without a value or without a name", () => {
    expect(parseDigestAuthorization(`Digest ${required}, opaque`)).toBeNull();
    expect(parseDigestAuthorization(`Digest opaque, ${required}`)).toBeNull();
    expect(parseDigestAuthorization(`Digest ="x", ${required}`)).toBeNull();
    expect(parseDigestAuthorization(`Digest ${required}, ="x"`)).toBeNull();
  });

  it("gives null when a comma is missing between parameters", () => {
    expect(parseDigestAuthorization('Digest username="1000" realm="r", nonce="n", uri="sip:r", response="abc"')).toBeNull();
    expect(parseDigestAuthorization('Digest username=1000 realm="r", nonce="n", uri="sip:r", response="abc"')).toBeNull();
  });

  it("gives null when the last quoted value is not closed", () => {
    expect(parseDigestAuthorization('Digest username="1000", realm="r", nonce="n", uri="sip:r", response="abc')).toBeNull();
  });

  it("gives null unless the header starts with the Digest scheme", () => {
    expect(parseDigestAuthorization(`XDigest ${required}`)).toBeNull();
    expect(parseDigestAuthorization(`Basic Digest ${required}`)).toBeNull();
    expect(parseDigestAuthorization(`  Digest ${required}`)).toMatchObject({ username: "1000" });
  });
});

describe("isDigestAnswer: an answer at all, or a request to be challenged and counted as nothing", () => {
  const answer: DigestCredentials = { username: "1000", realm: "acme.test", nonce: "n0nce", uri: "sip:acme.test", response: "0123456789abcdefABCDEF0123456789" };
  const sha256 = `${"0123456789abcdef".repeat(3)}0123456789ABCDEF`;

  it("a username, a nonce, a known algorithm and a response of that algorithm's length in hex", () => {
    expect(isDigestAnswer(answer)).toBe(true);
    expect(isDigestAnswer({ ...answer, algorithm: "md5" })).toBe(true);
    expect(isDigestAnswer({ ...answer, algorithm: "SHA-256", response: sha256 })).toBe(true);
  });

  it("anything less is not one: no username, no nonce, an unknown algorithm, a response cut short, too long, or not hex", () => {
    for (const [what, credentials] of [
      ["no username", { ...answer, username: "" }],
      ["no nonce", { ...answer, nonce: "" }],
      ["an unknown algorithm", { ...answer, algorithm: "MD5-sess" }],
      ["an unknown algorithm with a response of SHA-256 length", { ...answer, algorithm: "SHA-512-256", response: sha256 }],
      ["no response", { ...answer, response: "" }],
      ["a response cut short", { ...answer, response: answer.response.slice(1) }],
      ["a response too long", { ...answer, response: `${answer.response}0` }],
      ["a non-hex character first", { ...answer, response: `g${answer.response.slice(1)}` }],
      ["a non-hex character last", { ...answer, response: `${answer.response.slice(1)}g` }],
      ["an MD5 answer of SHA-256 length", { ...answer, response: sha256 }],
      ["a SHA-256 answer of MD5 length", { ...answer, algorithm: "SHA-256" }],
      ["a SHA-256 answer cut short", { ...answer, algorithm: "SHA-256", response: sha256.slice(1) }],
      ["a SHA-256 answer too long", { ...answer, algorithm: "SHA-256", response: `${sha256}0` }],
      ["a SHA-256 answer with a non-hex character first", { ...answer, algorithm: "SHA-256", response: `x${sha256.slice(1)}` }],
      ["a SHA-256 answer with a non-hex character last", { ...answer, algorithm: "SHA-256", response: `${sha256.slice(1)}x` }],
    ] as const) {
      expect(isDigestAnswer(credentials), what).toBe(false);
    }
  });
});
