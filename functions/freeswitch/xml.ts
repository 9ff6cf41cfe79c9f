// The XML documents FreeSWITCH accepts from mod_xml_curl: small fixed shapes, serialised from an
// element tree with every attribute value escaped by Hono's escaper (`& < > " '`), which is what
// XML attribute values need. (A general XML builder cost about 20 µs a document, more than
// the rest of an INVITE's authentication; see docs/benchmarks.md.) The declaration must end its own
// line (verified on FreeSWITCH 1.10.12: a declaration on the same line as <document> is rejected
// with "Error Parsing Result!").
import { escapeToBuffer } from "hono/utils/html";

const DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n';

interface Element {
  tag: string;
  attributes: [name: string, value: string][];
  children: Element[];
}

function element(tag: string, attributes: Record<string, string>, children: (Element | false)[] = []): Element {
  return { tag, attributes: Object.entries(attributes), children: children.filter((c): c is Element => c !== false) };
}

/** Indented two spaces a level; an element without children is self-closed. */
function render(node: Element, indent: string, out: [string]): void {
  out[0] += `${indent}<${node.tag}`;
  for (const [name, value] of node.attributes) {
    out[0] += ` ${name}="`;
    escapeToBuffer(value, out);
    out[0] += '"';
  }
  if (node.children.length === 0) {
    out[0] += "/>\n";
    return;
  }
  out[0] += ">\n";
  for (const child of node.children) render(child, `${indent}  `, out);
  out[0] += `${indent}</${node.tag}>\n`;
}

function documentOf(section: Element): string {
  const out: [string] = [DECLARATION];
  render(element("document", { type: "freeswitch/xml" }, [section]), "", out);
  return out[0];
}

export function xmlResponse(xml: string, status = 200): Response {
  return new Response(xml, { status, headers: { "content-type": "text/xml; charset=utf-8" } });
}

const NOT_FOUND = documentOf(element("section", { name: "result" }, [element("result", { status: "not found" })]));

/** The answer that makes FreeSWITCH treat the lookup as unanswered: the device gets 403, the call falls through. */
export function notFoundDocument(): string {
  return NOT_FOUND;
}

const pairs = (tag: string, entries: [string, string][]) => entries.map(([name, value]) => element(tag, { name, value }));

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
    element("section", { name: "directory" }, [
      element("domain", { name: user.realm }, [
        user.domainParams.length > 0 && element("params", {}, pairs("param", user.domainParams)),
        element("user", { id: user.username }, [
          user.params.length > 0 && element("params", {}, pairs("param", user.params)),
          user.variables.length > 0 && element("variables", {}, pairs("variable", user.variables)),
        ]),
      ]),
    ]),
  );
}

/** One extension that runs these dialplan applications, in order. */
export function dialplanDocument(context: string, actions: [application: string, data: string][]): string {
  return documentOf(
    element("section", { name: "dialplan", description: "Whistle Edge route" }, [
      element("context", { name: context }, [
        element("extension", { name: "whistle-edge" }, [
          element(
            "condition",
            { field: "destination_number", expression: "^(.*)$" },
            actions.map(([application, data]) => element("action", { application, data })),
          ),
        ]),
      ]),
    ]),
  );
}
