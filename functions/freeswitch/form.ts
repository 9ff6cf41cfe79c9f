// mod_xml_curl and the event hook post application/x-www-form-urlencoded bodies. FreeSWITCH
// encodes spaces as %20 and never as "+", so "+" is kept as a plus (E.164 numbers); a key that
// appears twice keeps its first value; a malformed escape keeps its raw text.
//
// A dialplan request carries a few hundred fields and a callback reads about a dozen, so nothing is
// split up front: a field is found in the body when it is read, and only its value is decoded.
// FreeSWITCH never escapes a field name; a body in which some name is escaped is split into a map
// instead, so that names are compared decoded either way.

export interface Form {
  /** A field's decoded value; undefined when absent. */
  get(name: string): string | undefined;
}

function decode(text: string): string {
  if (!text.includes("%")) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const AMP = 38; // &
const EQ = 61; // =

/** Reads fields straight out of a body whose field names are all unescaped. */
class ScannedForm implements Form {
  constructor(private readonly body: string) {}

  get(name: string): string | undefined {
    const body = this.body;
    if (name === "") {
      // The empty name: a pair that starts with "=".
      const at = body.startsWith("=") ? 0 : body.indexOf("&=") + 1;
      if (at === 0 && !body.startsWith("=")) return undefined;
      const end = body.indexOf("&", at + 1);
      return decode(body.slice(at + 1, end === -1 ? body.length : end));
    }
    // No unescaped name holds "&" or "=".
    if (name.includes("&") || name.includes("=")) return undefined;
    for (let at = body.indexOf(name); at !== -1; at = body.indexOf(name, at + 1)) {
      const after = at + name.length;
      // A pair starts the body or follows "&"; its name ends at "=", "&" or the end.
      if (at > 0 && body.charCodeAt(at - 1) !== AMP) continue;
      if (after === body.length) return "";
      const next = body.charCodeAt(after);
      if (next === AMP) return "";
      if (next !== EQ) continue;
      const end = body.indexOf("&", after + 1);
      return decode(body.slice(after + 1, end === -1 ? body.length : end));
    }
    return undefined;
  }
}

/** Every pair split up front, names decoded: for bodies that escape a field name. */
class SplitForm implements Form {
  private readonly fields = new Map<string, string>();

  constructor(body: string) {
    for (const pair of body.split("&")) {
      if (pair === "") continue;
      const eq = pair.indexOf("=");
      const key = decode(eq === -1 ? pair : pair.slice(0, eq));
      if (!this.fields.has(key)) this.fields.set(key, eq === -1 ? "" : decode(pair.slice(eq + 1)));
    }
  }

  get(name: string): string | undefined {
    return this.fields.get(name);
  }
}

/** Whether some field name holds a "%" escape (one pass, no allocation). */
function escapesAName(body: string): boolean {
  let percent = body.indexOf("%");
  let start = 0;
  while (percent !== -1 && start < body.length) {
    let end = body.indexOf("&", start);
    if (end === -1) end = body.length;
    if (percent < start) {
      percent = body.indexOf("%", start);
      if (percent === -1) return false;
    }
    if (percent < end) {
      const eq = body.indexOf("=", start);
      if (eq === -1 || eq > end || percent < eq) return true;
    }
    start = end + 1;
  }
  return false;
}

export function parseForm(body: string): Form {
  return escapesAName(body) ? new SplitForm(body) : new ScannedForm(body);
}

/** A field's value, trimmed; undefined when absent or empty. */
export function field(form: Form, name: string): string | undefined {
  const value = form.get(name)?.trim();
  return value === undefined || value === "" ? undefined : value;
}
