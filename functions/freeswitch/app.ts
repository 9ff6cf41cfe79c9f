// FreeSWITCH's two entry points. `/xml`: mod_xml_curl (directory and dialplan), form in, XML out;
// whatever goes wrong, the switch gets a well-formed document. `/events`: the mod_lua hook's
// registration events, form (`event=<json>`) or JSON in, JSON out.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { answerError, problemResponse } from "../problem";
import type { Env } from "../env";
import { noteKind, noteOutcome } from "../request-log";
import { requireSwitch, type SwitchVariables } from "../switches/auth";
import { answerDialplan } from "./dialplan";
import { answerDirectory } from "./directory";
import { applyEvent } from "./events";
import { field, parseForm } from "./form";
import { notFoundDocument, xmlResponse } from "./xml";

type FreeswitchEnv = { Bindings: Env; Variables: SwitchVariables };

/** FreeSWITCH request bodies are a few KiB; anything far larger is not from a switch. */
export const MAX_FORM_BYTES = 64 * 1024;

export function createFreeswitchApp() {
  const app = new Hono<FreeswitchEnv>();

  const xml = new Hono<FreeswitchEnv>();
  xml.use(bodyLimit({ maxSize: MAX_FORM_BYTES, onError: () => xmlResponse(notFoundDocument(), 413) }));
  xml.use(requireSwitch<SwitchVariables>(() => xmlResponse(notFoundDocument(), 401)));
  xml.post("/", async (c) => {
    const form = parseForm(await c.req.text());
    const caller = c.get("switch");
    const section = field(form, "section");
    let document: string;
    switch (section) {
      case "directory":
        noteKind("freeswitch.directory");
        document = await answerDirectory(c.env, form, caller);
        break;
      case "dialplan":
        noteKind("freeswitch.dialplan");
        document = await answerDialplan(c.env, form, caller);
        break;
      default:
        document = notFoundDocument();
    }
    noteOutcome(document === notFoundDocument() ? "not_found" : "found");
    return xmlResponse(document);
  });
  xml.onError((error) => {
    // Never a 500 for the switch: log, and answer "not found" so it falls back cleanly.
    console.error("freeswitch xml callback failed", error);
    noteOutcome("error");
    return xmlResponse(notFoundDocument());
  });

  const events = new Hono<FreeswitchEnv>();
  events.use(
    bodyLimit({
      maxSize: MAX_FORM_BYTES,
      onError: () => problemResponse(413, "the event is larger than 64 KiB", [{ field: "body", message: "too large" }]),
    }),
  );
  events.use(
    requireSwitch<SwitchVariables>(() =>
      problemResponse(401, "a switch credential is required", [{ field: "X-Edge-Token", message: "missing or invalid switch credential" }]),
    ),
  );
  events.post("/", async (c) => {
    const raw = await c.req.text();
    const isJson = (c.req.header("content-type") ?? "").toLowerCase().startsWith("application/json");
    const json = isJson ? raw : parseForm(raw).get("event");
    if (json === undefined) {
      return problemResponse(400, "post the event as `event=<json>`", [{ field: "event", message: "missing" }]);
    }
    let event: unknown;
    try {
      event = JSON.parse(json);
    } catch {
      return problemResponse(400, "the event is not JSON (a hook must URL-encode it twice for mod_curl)", [{ field: "event", message: "not JSON" }]);
    }
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      return problemResponse(400, "the event must be a JSON object", [{ field: "event", message: "not an object" }]);
    }
    return c.json(await applyEvent(c.env, event as Record<string, unknown>, c.get("switch")), 200);
  });
  events.onError(answerError);

  app.route("/xml", xml);
  app.route("/events", events);
  return app;
}
