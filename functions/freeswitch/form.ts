// mod_xml_curl and the event hook post application/x-www-form-urlencoded bodies. FreeSWITCH
// encodes spaces as %20 and never as "+", so "+" is kept as a plus (E.164 numbers); a key that
// appears twice keeps its first value; a malformed escape keeps its raw text.

export type Form = ReadonlyMap<string, string>;

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function parseForm(body: string): Form {
  const form = new Map<string, string>();
  for (const pair of body.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = decode(eq === -1 ? pair : pair.slice(0, eq));
    if (!form.has(key)) form.set(key, eq === -1 ? "" : decode(pair.slice(eq + 1)));
  }
  return form;
}

/** A field's value, trimmed; undefined when absent or empty. */
export function field(form: Form, name: string): string | undefined {
  const value = form.get(name)?.trim();
  return value === undefined || value === "" ? undefined : value;
}
