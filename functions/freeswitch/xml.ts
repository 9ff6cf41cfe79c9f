// The XML documents FreeSWITCH accepts from mod_xml_curl: three small fixed shapes, written as
// templates in which every value goes through Hono's escaper (`& < > " '`), which is what XML
// attribute values need. (A general XML builder cost about 20 µs a document, more than the rest of
// an INVITE's authentication, and a tree of elements allocated more than the request's own parsing;
// see docs/benchmarks.md.) The tests read every answer back with an independent XML parser. The
// declaration must end its own line (verified on FreeSWITCH 1.10.12: a declaration on the same line
// as <document> is rejected with "Error Parsing Result!").
import { escapeToBuffer } from "hono/utils/html";

const DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n';

/** An attribute value, escaped. */
function esc(value: string): string {
  const out: [string] = [""];
  escapeToBuffer(value, out);
  return out[0];
}

function documentOf(section: string): string {
  return `${DECLARATION}<document type="freeswitch/xml">\n${section}</document>\n`;
}

/** `<tag name="…" value="…"/>` lines at one indentation, wrapped in `<wrapper>` unless empty. */
function pairs(indent: string, wrapper: string, tag: string, entries: [string, string][]): string {
  if (entries.length === 0) return "";
  let lines = "";
  for (const [name, value] of entries) lines += `${indent}  <${tag} name="${esc(name)}" value="${esc(value)}"/>\n`;
  return `${indent}<${wrapper}>\n${lines}${indent}</${wrapper}>\n`;
}

export function xmlResponse(xml: string, status = 200): Response {
  return new Response(xml, { status, headers: { "content-type": "text/xml; charset=utf-8" } });
}

const NOT_FOUND = documentOf('  <section name="result">\n    <result status="not found"/>\n  </section>\n');

/** The answer that makes FreeSWITCH treat the lookup as unanswered: the device gets 403, the call falls through. */
export function notFoundDocument(): string {
  return NOT_FOUND;
}

/** What a directory answer says about one device. */
export interface DirectoryUser {
  realm: string;
  username: string;
  /** Domain-level params, e.g. the dial-string used by `user/` bridges. */
  domainParams: [string, string][];
  params: [string, string][];
  variables: [string, string][];
}

export function directoryDocument(user: DirectoryUser): string {
  return documentOf(
    '  <section name="directory">\n' +
      `    <domain name="${esc(user.realm)}">\n` +
      pairs("      ", "params", "param", user.domainParams) +
      `      <user id="${esc(user.username)}">\n` +
      pairs("        ", "params", "param", user.params) +
      pairs("        ", "variables", "variable", user.variables) +
      "      </user>\n" +
      "    </domain>\n" +
      "  </section>\n",
  );
}

/** One extension that runs these dialplan applications, in order. */
export function dialplanDocument(context: string, actions: [application: string, data: string][]): string {
  let lines = "";
  for (const [application, data] of actions) lines += `          <action application="${esc(application)}" data="${esc(data)}"/>\n`;
  return documentOf(
    '  <section name="dialplan" description="Whistle Edge route">\n' +
      `    <context name="${esc(context)}">\n` +
      '      <extension name="whistle-edge">\n' +
      '        <condition field="destination_number" expression="^(.*)$">\n' +
      lines +
      "        </condition>\n" +
      "      </extension>\n" +
      "    </context>\n" +
      "  </section>\n",
  );
}
