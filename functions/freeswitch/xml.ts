// The XML documents FreeSWITCH accepts from mod_xml_curl. Built with fast-xml-parser's builder, so
// every value is escaped. The declaration must end its own line (verified on FreeSWITCH 1.10.12:
// a declaration on the same line as <document> is rejected with "Error Parsing Result!").
import { XMLBuilder } from "fast-xml-parser";

const DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n';

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  format: true,
  suppressEmptyNode: true,
});

type Node = Record<string, unknown>;

function documentOf(section: Node): string {
  return DECLARATION + builder.build({ document: { "@_type": "freeswitch/xml", section } });
}

export function xmlResponse(xml: string, status = 200): Response {
  return new Response(xml, { status, headers: { "content-type": "text/xml; charset=utf-8" } });
}

/** The answer that makes FreeSWITCH treat the lookup as unanswered: the device gets 403, the call falls through. */
export function notFoundDocument(): string {
  return documentOf({ "@_name": "result", result: { "@_status": "not found" } });
}

const pairs = (tag: string, entries: [string, string][]) => ({
  [tag]: entries.map(([name, value]) => ({ "@_name": name, "@_value": value })),
});

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
  return documentOf({
    "@_name": "directory",
    domain: {
      "@_name": user.realm,
      ...(user.domainParams.length > 0 && { params: pairs("param", user.domainParams) }),
      user: {
        "@_id": user.username,
        ...(user.params.length > 0 && { params: pairs("param", user.params) }),
        ...(user.variables.length > 0 && { variables: pairs("variable", user.variables) }),
      },
    },
  });
}

/** One extension that runs these dialplan applications, in order. */
export function dialplanDocument(context: string, actions: [application: string, data: string][]): string {
  return documentOf({
    "@_name": "dialplan",
    "@_description": "Whistle Edge route",
    context: {
      "@_name": context,
      extension: {
        "@_name": "whistle-edge",
        condition: {
          "@_field": "destination_number",
          "@_expression": "^(.*)$",
          action: actions.map(([application, data]) => ({ "@_application": application, "@_data": data })),
        },
      },
    },
  });
}
