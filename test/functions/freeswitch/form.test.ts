// Form bodies as mod_xml_curl and the hook post them, read field by field.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import registerBody from "../../fixtures/freeswitch/directory-sip_auth-REGISTER-user1000.body.txt?raw";
import { field, parseForm } from "../../../functions/freeswitch/form";

/** The reading rules, written the plain way: split everything, decode names and values, first wins. */
function reference(body: string): Map<string, string> {
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  const fields = new Map<string, string>();
  for (const pair of body.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = decode(eq === -1 ? pair : pair.slice(0, eq));
    if (!fields.has(key)) fields.set(key, eq === -1 ? "" : decode(pair.slice(eq + 1)));
  }
  return fields;
}

const piece = fc.string({ unit: fc.constantFrom("a", "b", "_", "-", "%", "2", "0", "4", "1", "=", "+", " ", "é", "&"), maxLength: 8 });

describe("FreeSWITCH form bodies", () => {
  it("read the captured sip_auth request", () => {
    const form = parseForm(registerBody.trim());
    expect(field(form, "action")).toBe("sip_auth");
    expect(field(form, "sip_auth_username")).toBe("1000");
    expect(form.get("no_such_field")).toBeUndefined();
  });

  it("agree with the plain reading rules on any body", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(piece, fc.option(piece)), { maxLength: 12 }), fc.array(piece, { maxLength: 4 }), (pairs, probes) => {
        const body = pairs.map(([k, v]) => (v === null ? k : `${k}=${v}`)).join("&");
        const expected = reference(body);
        const form = parseForm(body);
        for (const name of [...expected.keys(), ...probes]) expect(form.get(name)).toBe(expected.get(name));
      }),
      { numRuns: 2000 },
    );
  });

  it("keep the first of two values, a plus as a plus, and a bad escape as it is", () => {
    const form = parseForm("a=1&b=%2B14155550100&a=2&c=%E0%A4%A&d&e=x%20y");
    expect([form.get("a"), form.get("b"), form.get("c"), form.get("d"), form.get("e")]).toEqual(["1", "+14155550100", "%E0%A4%A", "", "x y"]);
    // A name that is escaped is compared decoded.
    expect(parseForm("x%5Fy=1&x_y=2").get("x_y")).toBe("1");
  });
});
