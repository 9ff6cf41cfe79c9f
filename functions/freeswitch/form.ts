// mod_xml_curl and the event hook post application/x-www-form-urlencoded bodies. FreeSWITCH
// encodes spaces as %20 and never as "+", so "+" is kept as a plus (E.164 numbers); a key that
// appears twice keeps its first value; a malformed escape keeps its raw text.
//
// A dialplan request carries a few hundred fields and a callback reads about a dozen, so values are
// decoded when read, not when the body is split.

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

class LazyForm implements Form {
  /** Raw (still encoded) value per decoded key; a string once decoded is kept in `decoded`. */
  private readonly raw = new Map<string, string>();
  private readonly decoded = new Map<string, string>();

  constructor(body: string) {
    let start = 0;
    while (start <= body.length) {
      let end = body.indexOf("&", start);
      if (end === -1) end = body.length;
      if (end > start) {
        const eq = body.indexOf("=", start);
        const split = eq !== -1 && eq < end;
        const key = decode(body.slice(start, split ? eq : end));
        if (!this.raw.has(key)) this.raw.set(key, split ? body.slice(eq + 1, end) : "");
      }
      start = end + 1;
    }
  }

  get(name: string): string | undefined {
    const done = this.decoded.get(name);
    if (done !== undefined) return done;
    const raw = this.raw.get(name);
    if (raw === undefined) return undefined;
    const value = decode(raw);
    this.decoded.set(name, value);
    return value;
  }
}

export function parseForm(body: string): Form {
  return new LazyForm(body);
}

/** A field's value, trimmed; undefined when absent or empty. */
export function field(form: Form, name: string): string | undefined {
  const value = form.get(name)?.trim();
  return value === undefined || value === "" ? undefined : value;
}
