// Whatever a switch (or anything holding its credential) posts, the answer is a well-formed
// document or a clear 4xx, never a 500, and no binding changes unless the request was right.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { XMLValidator } from "fast-xml-parser";
import { beforeAll, describe, expect, it, vi } from "vitest";
import inviteBody from "../../fixtures/freeswitch/dialplan-INVITE-9196.body.txt?raw";
import registerBody from "../../fixtures/freeswitch/directory-sip_auth-REGISTER-user1000.body.txt?raw";
import userCallBody from "../../fixtures/freeswitch/directory-user_call-1000.body.txt?raw";
import registerEvent from "../../fixtures/freeswitch/event-sofia_register.json";
import { registrarForId } from "../../../functions/accounts";
import { addDevice, createSwitch, dialplanActions, directoryUser, freshAccount, postEvent, postXml, type TestSwitch } from "./support";

let sw: TestSwitch;
let accountId: string;

beforeAll(async () => {
  accountId = (await freshAccount("127.0.0.4", { lockout: { threshold: 100 } })).id;
  await addDevice(accountId, "1000", "s3cret-1000");
  keptDevice = (await addDevice(accountId, "9196", "s3cret-9196")).id;
  await freshAccount("127.0.0.6");
  sw = await createSwitch("sip:127.0.0.4:5060");
  await registrarForId(env, accountId)!.register("9196", {
    aor: "sip:9196@127.0.0.4",
    callId: "keep-me",
    cseq: 1,
    contacts: [{ uri: "sip:9196@192.0.2.9:5060" }],
    expires: 3600,
    switchId: sw.id,
  });
});

let keptDevice: string;
/** Device 9196's bindings: no mangled body names it, so nothing may change them. */
const bindingsNow = async () => JSON.stringify(await registrarForId(env, accountId)!.listBindings({ deviceId: keptDevice }, 500, null));

const captured = [registerBody, inviteBody, userCallBody].map((body) => body.split("&"));

/** A captured body, mangled: pairs dropped, repeated, reordered, values replaced by anything. */
const mangledBody = fc
  .tuple(
    fc.constantFrom(...captured),
    fc.array(
      fc.oneof(
        fc.record({ op: fc.constant("drop" as const), index: fc.nat() }),
        fc.record({ op: fc.constant("repeat" as const), index: fc.nat() }),
        fc.record({
          op: fc.constant("set" as const),
          index: fc.nat(),
          value: fc.oneof(
            fc.string(),
            fc.string({ unit: "binary" }),
            fc.constantFrom("%", "%zz", "%E0%A4%A", "+", "&&", "==", "REGISTER", "sip_auth", "user_call", "dialplan", "directory", "true"),
            fc.string({ minLength: 5000, maxLength: 20000 }),
          ),
        }),
        fc.record({ op: fc.constant("raw" as const), text: fc.string({ unit: "binary", maxLength: 200 }) }),
      ),
      { maxLength: 8 },
    ),
  )
  .map(([pairs, edits]) => {
    const out = [...pairs];
    for (const edit of edits) {
      if (out.length === 0) break;
      const i = "index" in edit ? edit.index % out.length : 0;
      if (edit.op === "drop") out.splice(i, 1);
      else if (edit.op === "repeat") out.splice(i, 0, out[i]!);
      else if (edit.op === "set") out[i] = `${out[i]!.split("=")[0]}=${encodeURIComponent(edit.value)}`;
      else out.push(edit.text);
    }
    return out.join("&");
  });

describe("mod_xml_curl bodies", () => {
  it("the captured bodies, unmangled, get their real answers", async () => {
    const directory = directoryUser((await postXml(registerBody, sw.basic)).text);
    expect(directory).toMatchObject({ realm: "127.0.0.4", id: "1000" });
    expect(directory.params["a1-hash"]).toMatch(/^[0-9a-f]{32}$/);
    const acme = await freshAccount("acme.test"); // the user_call capture's domain
    await addDevice(acme.id, "1000", "acme-pass-1000");
    expect(directoryUser((await postXml(userCallBody, sw.basic)).text)).toMatchObject({ realm: "acme.test", id: "1000" });
    // 9196 is registered through this same switch: it bridges to its own registration.
    expect(dialplanActions((await postXml(inviteBody, sw.basic)).text)).toContainEqual(["bridge", "{presence_id=9196@127.0.0.4}${sofia_contact(9196@127.0.0.4)}"]);
  });

  it("any mangled body gets a well-formed XML document and never a 500, and no callback fails on it", async () => {
    const before = await bindingsNow();
    // The handler of last resort answers "not found" to an exception as well: a request it catches
    // is a callback that failed, not one refused for its input.
    const failures = vi.spyOn(console, "error");
    await fc.assert(
      fc.asyncProperty(mangledBody, async (body) => {
        const answer = await postXml(body, sw.basic);
        expect([200, 413]).toContain(answer.status);
        expect(answer.contentType).toContain("text/xml");
        expect(answer.text.startsWith('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n')).toBe(true);
        expect(XMLValidator.validate(answer.text)).toBe(true);
      }),
      { numRuns: 150 },
    );
    expect(failures.mock.calls.filter(([message]) => message === "freeswitch xml callback failed")).toEqual([]);
    failures.mockRestore();
    // The one live binding is untouched: no mangled request refreshed, moved or removed it.
    expect(await bindingsNow()).toBe(before);
  });
});

describe("event bodies", () => {
  const anyEvent = fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.string({ unit: "binary" }),
    fc
      .record(
        Object.fromEntries(Object.keys(registerEvent).map((k) => [k, fc.oneof(fc.string(), fc.constant((registerEvent as Record<string, string>)[k]))])),
        { requiredKeys: [] },
      )
      .map((e) => JSON.stringify({ ...e, "Event-Subclass": "sofia::register", "from-host": "127.0.0.4" })),
  );

  it("any body gets a JSON answer: 200, or a 4xx problem document, never a 500", async () => {
    const before = await bindingsNow();
    await fc.assert(
      fc.asyncProperty(anyEvent, fc.boolean(), async (text, asJson) => {
        const reply = await postEvent(text, sw, { json: asJson });
        expect(reply.status).not.toBe(500);
        if (reply.status === 200) {
          expect(["registered", "unregistered", "expired", "ignored"]).toContain(reply.body.outcome);
        } else {
          // 403: a well-formed sofia::register no verified REGISTER vouches for (proof of registration).
          expect([400, 403, 404, 413, 422]).toContain(reply.status);
          expect(reply.contentType).toBe("application/problem+json");
          expect(reply.body.status).toBe(reply.status);
          expect(reply.body.errors.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 150 },
    );
    expect(await bindingsNow()).toBe(before);
  });
});
