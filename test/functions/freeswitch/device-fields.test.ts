// Device fields end up in FreeSWITCH XML (caller ID variables, user ids, bridge strings). The API
// refuses control characters, U+FFFE/U+FFFF and lone surrogates naming the field; every string it
// accepts renders as well-formed XML 1.0, read back unchanged by an independent parser.
import fc from "fast-check";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import userCallBody from "../../fixtures/freeswitch/directory-user_call-1000.body.txt?raw";
import inviteBody from "../../fixtures/freeswitch/dialplan-INVITE-9196.body.txt?raw";
import { registrarForId } from "../../../functions/accounts";
import { call } from "../../helpers";
import { addDevice, createSwitch, freshAccount, postXml, withField, type TestSwitch } from "./support";

/** The Char production of XML 1.0 (§2.2): what a document may contain at all. */
const XML_CHARS = /^[\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
const FORBIDDEN = /[\u0000-\u001F\u007F\uFFFE\uFFFF]|[\uD800-\uDFFF]/u;

// An XML 1.0 reader: the five entities and numeric character references decoded, nothing trimmed.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  htmlEntities: true,
  trimValues: false,
  parseAttributeValue: false,
  isArray: (name) => ["param", "variable", "action"].includes(name),
});

/** The document, checked well-formed (characters and structure), parsed. */
function read(text: string) {
  expect(text).toMatch(XML_CHARS);
  expect(XMLValidator.validate(text)).toBe(true);
  return parser.parse(text).document;
}

function directoryUser(text: string) {
  const user = read(text).section.domain.user;
  return { id: user.id as string, variables: Object.fromEntries(user.variables.variable.map((v: { name: string; value: string }) => [v.name, v.value])) };
}

function dialplanActions(text: string): [string, string][] {
  return read(text).section.context.extension.condition.action.map((a: { application: string; data: string }) => [a.application, a.data]);
}

let accountId: string;
let sw: TestSwitch;
let deviceId: string;

beforeAll(async () => {
  // The user_call capture asks for 1000@acme.test; the INVITE capture comes from 127.0.0.4.
  accountId = (await freshAccount("acme.test")).id;
  deviceId = (await addDevice(accountId, "1000", "s3cret-1000")).id;
  sw = await createSwitch("sip:127.0.0.4:5060");
});

describe("control characters in device fields", () => {
  it("are refused with a problem naming the field, and the device is unchanged", async () => {
    for (const bad of ["Front\u0000desk", "Line\r\nX-Injected: 1", "Tab\there", "Del\u007F", "End\uFFFE", "Ninth\uFFFF", "Half \uD83D", "\uDE00 low"]) {
      const patched = await call("PATCH", `/accounts/${accountId}/devices/${deviceId}`, { body: { callerIdName: bad } });
      expect(patched.status, JSON.stringify(bad)).toBe(400);
      expect(patched.body.errors.map((e: { field: string }) => e.field)).toEqual(["callerIdName"]);
      const created = await call("POST", `/accounts/${accountId}/devices`, { body: { username: "2000", password: `pass${bad}word`, callerIdName: "ok" } });
      expect(created.status).toBe(400);
      expect(created.body.errors.map((e: { field: string }) => e.field)).toEqual(["password"]);
      const account = await call("PATCH", `/accounts/${accountId}`, { body: { name: bad } });
      expect(account.body.errors.map((e: { field: string }) => e.field)).toEqual(["name"]);
    }
    expect((await call("GET", `/accounts/${accountId}/devices/${deviceId}`)).body.callerIdName).toBeNull();
    expect((await call("GET", `/accounts/${accountId}/devices`)).body.items).toHaveLength(1);
    // Characters beyond the Basic Multilingual Plane are text, not controls.
    expect((await call("PATCH", `/accounts/${accountId}/devices/${deviceId}`, { body: { callerIdName: "Réception 😀 & <co>" } })).status).toBe(200);
  });
});

// Any string at all: printable, controls, lone surrogates, XML's own special characters.
const anyText = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 40 }),
  fc.string({ unit: fc.constantFrom("&", "<", ">", '"', "'", "]]>", "\u0000", "\t", "\r", "\n", "\uFFFE", "\uD800", "\uDC00", "😀", "é", " ", "a", "{", "}", ","), minLength: 1, maxLength: 20 }),
);

describe("every string the API accepts renders as well-formed XML", () => {
  it("caller ID name and number through the real directory document, read back unchanged", async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(anyText, fc.oneof(anyText, fc.stringMatching(/^\+?[0-9*#]{1,12}$/)), async (name, number) => {
        const reply = await call("PATCH", `/accounts/${accountId}/devices/${deviceId}`, { body: { callerIdName: name, callerIdNumber: number } });
        if (reply.status !== 200) {
          expect(reply.status).toBe(400);
          const fields = reply.body.errors.map((e: { field: string }) => e.field);
          if (FORBIDDEN.test(name) || name.length > 100) expect(fields).toContain("callerIdName");
          return;
        }
        expect(name).not.toMatch(FORBIDDEN);
        accepted += 1;
        const answer = await postXml(userCallBody, sw.basic);
        const user = directoryUser(answer.text);
        expect(user.variables.effective_caller_id_name).toBe(name);
        expect(user.variables.effective_caller_id_number).toBe(number);
      }),
      { numRuns: 300, seed: 1202 },
    );
    expect(accepted).toBeGreaterThan(50);
  }, 60_000);

  it("usernames through the dialplan's bridge strings and the directory's user id", async () => {
    const account = (await freshAccount("127.0.0.4")).id;
    await addDevice(account, "1000", "s3cret-1000");
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyText, fc.stringMatching(/^[A-Za-z0-9._~+-]{1,12}$/)), async (username) => {
        const created = await call("POST", `/accounts/${account}/devices`, { body: { username, password: "s3cret-pass" } });
        if (created.status !== 201) {
          expect(created.status, JSON.stringify(created.body)).toBeGreaterThanOrEqual(400);
          return;
        }
        accepted += 1;
        const result = await registrarForId(env, account)!.register(username, {
          aor: `sip:${username}@127.0.0.4`, callId: `c-${accepted}`, cseq: 1, contacts: [{ uri: "sip:x@192.0.2.50" }], expires: 300, switchId: sw.id,
        });
        expect(result.status).toBe("registered");
        const answer = await postXml(withField(inviteBody, "Caller-Destination-Number", username), sw.basic);
        expect(dialplanActions(answer.text)).toContainEqual(["bridge", `{presence_id=${username}@127.0.0.4}\${sofia_contact(${username}@127.0.0.4)}`]);
        const directory = await postXml(withField(withField(userCallBody, "user", username), "domain", "127.0.0.4"), sw.basic);
        expect(directoryUser(directory.text).id).toBe(username);
        await call("DELETE", `/accounts/${account}/devices/${created.body.id}`);
      }),
      { numRuns: 100, seed: 1203 },
    );
    expect(accepted).toBeGreaterThan(20);
  }, 60_000);
});
