// The documents the edge answers mod_xml_curl with, read back by an independent XML parser.
import fc from "fast-check";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { dialplanDocument, directoryDocument, notFoundDocument } from "../../../functions/freeswitch/xml";

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  isArray: (name) => ["param", "variable", "action"].includes(name),
  processEntities: true,
  htmlEntities: true,
  parseAttributeValue: false,
  trimValues: false,
});

/** Text XML 1.0 can carry in an attribute: no C0 controls but tab, newline and carriage return. */
const xmlText = fc.string({ unit: "grapheme" }).map((s) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, ""));

describe("FreeSWITCH documents", () => {
  it("start with the declaration on its own line and are well formed", () => {
    for (const doc of [notFoundDocument(), dialplanDocument("default", [["bridge", "user/1000@x"]])]) {
      expect(doc.startsWith('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<document type="freeswitch/xml">\n')).toBe(true);
      expect(XMLValidator.validate(doc)).toBe(true);
    }
    const section = parser.parse(notFoundDocument()).document.section;
    expect([section.name, section.result.status]).toEqual(["result", "not found"]);
  });

  it("carry any value through escaping unchanged", () => {
    fc.assert(
      fc.property(xmlText, xmlText, xmlText, (username, realm, value) => {
        const doc = directoryDocument({
          realm,
          username,
          domainParams: [["dial-string", value]],
          params: [["a1-hash", "0123456789abcdef0123456789abcdef"]],
          variables: [["effective_caller_id_name", value]],
        });
        expect(XMLValidator.validate(doc)).toBe(true);
        const domain = parser.parse(doc).document.section.domain;
        expect(domain.name).toBe(realm);
        expect(domain.user.id).toBe(username);
        expect(domain.params.param[0].value).toBe(value);
        expect(domain.user.variables.variable[0].value).toBe(value);
      }),
    );
  });

  it("escape the characters that would end or open markup", () => {
    const doc = dialplanDocument("default", [["set", `a"b'c<d>e&f`]]);
    expect(doc).toContain('data="a&quot;b&#39;c&lt;d&gt;e&amp;f"');
    expect(parser.parse(doc).document.section.context.extension.condition.action[0].data).toBe(`a"b'c<d>e&f`);
  });
});
