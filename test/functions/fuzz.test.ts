// The fuzz run: a fixed-seed stream of requests over every switch endpoint and every API route the
// OpenAPI document lists, valid and invalid mixed. Checked on every answer: no 5xx; every FreeSWITCH
// answer is well-formed XML 1.0 (a `freeswitch/xml` document); every refused request (an HTTP 4xx,
// or a Kamailio decision 400) left the catalog and the account's object exactly as they were.
// The counts are printed and reported in docs/security.md ("Fuzz run").
import fc from "fast-check";
import { XMLValidator } from "fast-xml-parser";
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import userCallBody from "../fixtures/freeswitch/directory-user_call-1000.body.txt?raw";
import sipAuthBody from "../fixtures/freeswitch/directory-sip_auth-REGISTER-user1000.body.txt?raw";
import dialplanBody from "../fixtures/freeswitch/dialplan-INVITE-9196.body.txt?raw";
import registerEvent from "../fixtures/freeswitch/event-sofia_register.json";
import unregisterEvent from "../fixtures/freeswitch/event-sofia_unregister.json";
import expireEvent from "../fixtures/freeswitch/event-sofia_expire.json";
import { registrarForId } from "../../functions/accounts";
import { OPERATOR, accountKey, call } from "../helpers";
import { addDevice, createSwitch, freshAccount, type TestSwitch } from "./freeswitch/support";

const SEED = 20261202;
const REQUESTS = 2000;
const REALM = "127.0.0.6";

const XML_CHARS = /^[\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

let accountId: string;
let otherAccountId: string;
let accountAuth: string;
let otherAuth: string;
let sw: TestSwitch;
const ids: Record<string, string[]> = {};

beforeAll(async () => {
  accountId = (await freshAccount(REALM)).id;
  otherAccountId = (await freshAccount("fuzz-other.test")).id;
  accountAuth = await accountKey(accountId);
  otherAuth = await accountKey(otherAccountId);
  const device = await addDevice(accountId, "1000", "s3cret-1000", { callerIdName: "Desk" });
  await addDevice(accountId, "9196", "s3cret-9196");
  sw = await createSwitch(`sip:${REALM}:5060`);
  // What the run may remove, rotate or drain: never the account and the switch it works through.
  const spare = await createSwitch("sip:192.0.2.99:5060");
  const number = await call("POST", `/accounts/${accountId}/numbers`, { body: { number: "+14155550100", deviceId: device.id } });
  const hook = await call("POST", `/accounts/${accountId}/webhooks`, { body: { url: "https://hooks.example.net/fuzz" } });
  const key = await call("POST", `/accounts/${accountId}/api-keys`, { body: { name: "fuzz" } });
  const registered = await registrarForId(env, accountId)!.register("1000", {
    aor: `sip:1000@${REALM}`, callId: "fuzz-1", cseq: 1, contacts: [{ uri: "sip:1000@192.0.2.10:5060" }], expires: 3600, switchId: sw.id,
  });
  const registrations = (await call("GET", `/accounts/${accountId}/registrations`)).body.items;
  ids.accountId = [accountId];
  ids.deviceId = [device.id];
  ids.number = [number.body.number ?? "+14155550100"];
  ids.webhookId = [hook.body.webhook?.id];
  ids.keyId = [key.body.apiKey?.id];
  ids.switchId = [sw.id];
  ids.spareSwitchId = [spare.id];
  ids.spareAccountId = [(await freshAccount("fuzz-spare.test")).id];
  ids.registrationId = registrations.map((r: { id: number }) => String(r.id));
  expect(registered.status).toBe("registered");
});

// ── state: the catalog and the account's object, read whole ────────────────────────────────────

/**
 * Columns that change in the background whatever the request: a switch's liveness, and webhook
 * delivery progress (the object's alarm posts events while the run goes on). Left out.
 */
const VOLATILE = /seen|^(cursor|attempts|next_attempt_at|last_error)$/i;
const BACKGROUND_TABLES = new Set(["dead_letters"]);
/** A refusal may be recorded for the operator (an event saying so): that is the refusal, not a partial write. */
const isRefusalRecord = (table: string, row: Record<string, unknown>) => table === "events" && row.type === "binding.refused";

let catalogTables: string[] | null = null;

async function catalogState(): Promise<string> {
  catalogTables ??= (
    await env.CATALOG.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%' ORDER BY name").all<{ name: string }>()
  ).results.map((t) => t.name);
  const results = await env.CATALOG.batch(catalogTables.map((name) => env.CATALOG.prepare(`SELECT * FROM "${name}" ORDER BY rowid`)));
  return results
    .map((rows, i) => `${catalogTables![i]}\n${JSON.stringify((rows.results as Record<string, unknown>[]).map((row) => Object.entries(row).filter(([k]) => !VOLATILE.test(k))))}`)
    .join("\n");
}

async function objectState(): Promise<string> {
  return runInDurableObject(registrarForId(env, accountId)!, (_instance, state) => {
    const sql = state.storage.sql;
    const tables = sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE '__drizzle%' ORDER BY name").toArray();
    return tables
      .filter(({ name }) => !BACKGROUND_TABLES.has(name))
      .map(({ name }) => {
        const rows = sql.exec(`SELECT * FROM "${name}"`).toArray().filter((row) => !isRefusalRecord(name, row));
        return `${name}\n${JSON.stringify(rows.map((row) => Object.entries(row).filter(([k]) => !VOLATILE.test(k))))}`;
      })
      .join("\n");
  });
}

/** The first line that differs, for the failure message. */
function changed(before: string, after: string): string {
  const a = before.split("\n");
  const b = after.split("\n");
  const i = a.findIndex((line, n) => line !== b[n]);
  return `${a[i - 1] ?? ""}: ${a[i]?.slice(0, 400)} → ${b[i]?.slice(0, 400)}`;
}

const state = async () => `${await catalogState()}\n--\n${await objectState()}`;

// ── requests ───────────────────────────────────────────────────────────────────────────────────

interface FuzzRequest {
  endpoint: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const junk = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.constantFrom("", "0", "-1", "99999999999999999999", "null", "<x>", "&amp;", "\r\nX: 1", "%00", "sip:1000@127.0.0.6", "*", "../..", "😀", "\uD800"),
);
const jsonish = fc.oneof(fc.jsonValue({ maxDepth: 2 }), junk);

// The switch's credential, most of the time; none, garbage or another's now and then.
const switchAuth = fc.oneof(
  { arbitrary: fc.constant("good"), weight: 8 },
  { arbitrary: fc.constantFrom("none", "garbage"), weight: 1 },
);

/** A captured form body with a few fields replaced (or added) by anything. */
function mutatedForm(body: string) {
  const names = body.split("&").map((pair) => pair.split("=")[0]!);
  return fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...names), fc.constantFrom("action", "section", "user", "domain", "sip_auth_response", "Caller-Destination-Number", "variable_sofia_profile_name", "variable_sip_acl_authed_by")), junk), { maxLength: 4 })
    .map((changes) => {
      let text = body;
      for (const [name, value] of changes) {
        const pairs = text.split("&");
        const encoded = `${name}=${encodeURIComponent(value.toWellFormed())}`;
        const at = pairs.findIndex((p) => p.startsWith(`${name}=`));
        if (at === -1) pairs.push(encoded);
        else pairs[at] = encoded;
        text = pairs.join("&");
      }
      return text;
    });
}

const xmlRequest = fc
  .tuple(fc.oneof(mutatedForm(userCallBody), mutatedForm(sipAuthBody), mutatedForm(dialplanBody), junk), switchAuth)
  .map(([body, auth]): FuzzRequest => ({
    endpoint: "POST /freeswitch/v1/xml",
    method: "POST",
    path: "/freeswitch/v1/xml",
    headers: { "content-type": "application/x-www-form-urlencoded", ...(auth === "good" ? { authorization: sw.basic } : auth === "garbage" ? { authorization: "Basic Zm9vOmJhcg==" } : {}) },
    body,
  }));

function mutatedEvent(event: Record<string, string>) {
  const names = Object.keys(event);
  return fc
    .array(
      fc.tuple(
        fc.oneof({ arbitrary: fc.constantFrom(...names), weight: 1 }, { arbitrary: fc.constantFrom("contact", "network-ip", "network-port", "expires", "call-id", "user-agent", "Event-Subclass"), weight: 3 }),
        fc.oneof(jsonish, fc.constantFrom("<sip:1000@127.0.0.1:5080>", '"x" <sip:1000@[::1]:5070;ob>', "192.0.2.1", "2001:db8::1", "5070", "65536")),
      ),
      { maxLength: 2 },
    )
    .map((changes) => {
      const copy: Record<string, unknown> = { ...event };
      for (const [name, value] of changes) copy[name] = value;
      return JSON.stringify(copy);
    });
}

const eventRequest = fc
  .tuple(fc.oneof(mutatedEvent(registerEvent), mutatedEvent(unregisterEvent), mutatedEvent(expireEvent), junk), fc.boolean(), switchAuth)
  .map(([json, form, auth]): FuzzRequest => ({
    endpoint: "POST /freeswitch/v1/events",
    method: "POST",
    path: "/freeswitch/v1/events",
    headers: {
      "content-type": form ? "application/x-www-form-urlencoded" : "application/json",
      ...(auth === "good" ? { "x-edge-token": sw.credential } : auth === "garbage" ? { "x-edge-token": "wsc1.garbage" } : {}),
    },
    body: form ? `event=${encodeURIComponent(json.toWellFormed())}` : json,
  }));

const sipText = fc.oneof(junk, fc.constantFrom(`sip:1000@${REALM}`, `sip:9196@${REALM}`, "sip:+14155550100@x", `<sip:1000@192.0.2.10:5060>;expires=60`, '<sip:1000@127.0.0.1:5098>;x="a', "<sip:1000@127.0.0.1:99999>"));
const kamailioRequest = fc
  .tuple(
    fc.constantFrom("authorize", "locate", "keepalive"),
    fc.record(
      { method: fc.oneof(fc.constantFrom("REGISTER", "INVITE"), junk), requestUri: sipText, to: sipText, from: sipText, authorization: fc.oneof(junk, fc.constant('Digest username="1000", realm="127.0.0.6", nonce="x", uri="sip:127.0.0.6", response="00"')), source: fc.oneof(junk, fc.constant("127.0.0.1:5070")), contact: sipText, expires: junk, callId: junk, cseq: junk, path: sipText, trusted: fc.constantFrom("true", "false", "x") },
      { requiredKeys: [] },
    ),
    fc.oneof({ arbitrary: fc.constant(null), weight: 6 }, { arbitrary: jsonish, weight: 1 }),
    switchAuth,
  )
  .map(([verb, record, replaced, auth]): FuzzRequest => ({
    endpoint: `POST /kamailio/v1/${verb}`,
    method: "POST",
    path: `/kamailio/v1/${verb}`,
    headers: { "content-type": "application/json", ...(auth === "good" ? { authorization: sw.basic } : auth === "garbage" ? { authorization: "Basic Zm9vOmJhcg==" } : {}) },
    body: JSON.stringify(replaced === null ? record : replaced),
  }));

// ── API requests, from the OpenAPI document ────────────────────────────────────────────────────

type Schema = Record<string, any>;
let components: Record<string, Schema> = {};
const resolve = (schema: Schema): Schema => (schema?.$ref ? resolve(components[schema.$ref.split("/").pop()!]!) : schema);

/** Values shaped by a JSON schema most of the time, anything now and then. */
function fromSchema(input: Schema, depth = 0): fc.Arbitrary<unknown> {
  const schema = resolve(input) ?? {};
  const shaped = ((): fc.Arbitrary<unknown> => {
    if (schema.anyOf || schema.oneOf) return fc.oneof(...(schema.anyOf ?? schema.oneOf).map((s: Schema) => fromSchema(s, depth + 1)));
    if (schema.enum) return fc.constantFrom(...schema.enum);
    switch (schema.type) {
      case "object": {
        const properties: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [name, sub] of Object.entries(schema.properties ?? {})) properties[name] = depth > 3 ? jsonish : fromSchema(sub as Schema, depth + 1);
        return fc.record(properties, { requiredKeys: (schema.required ?? []).filter((name: string) => name in properties) });
      }
      case "array":
        return fc.array(fromSchema(schema.items ?? {}, depth + 1), { maxLength: 3 });
      case "string":
        // A negated class (the API's plain-text rule) says what is not allowed: any text of the right length mostly fits.
        if (schema.pattern && !String(schema.pattern).startsWith("^[^")) {
          try {
            return fc.oneof(fc.stringMatching(new RegExp(schema.pattern)), junk);
          } catch {
            return junk;
          }
        }
        return fc.oneof(fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) }), junk);
      case "integer":
        return fc.integer({ min: schema.minimum ?? -10, max: Math.min(schema.maximum ?? 100_000, 1_000_000) });
      case "number":
        return fc.double({ min: schema.minimum ?? -10, max: schema.maximum ?? 10, noNaN: true });
      case "boolean":
        return fc.boolean();
      case "null":
        return fc.constant(null);
      default:
        return jsonish;
    }
  })();
  return fc.oneof({ arbitrary: shaped, weight: 6 }, { arbitrary: jsonish, weight: 1 });
}

function apiRequests(document: Schema): fc.Arbitrary<FuzzRequest> {
  const routes: fc.Arbitrary<FuzzRequest>[] = [];
  for (const [template, operations] of Object.entries<Schema>(document.paths)) {
    for (const [method, operation] of Object.entries<Schema>(operations)) {
      const parameters: Schema[] = operation.parameters ?? [];
      const pathParams = parameters.filter((p) => p.in === "path");
      const queryParams = parameters.filter((p) => p.in === "query");
      const bodySchema = operation.requestBody?.content?.["application/json"]?.schema;
      // Real ids most of the time (rarely on DELETE, so the run keeps its fixtures), junk otherwise.
      const realWeight = method === "delete" ? 1 : 6;
      // Removing the account, or removing, rotating or draining a switch, aims at the spare ones.
      const spare = (name: string) =>
        (name === "accountId" && method === "delete" && template === "/accounts/{accountId}") ||
        (name === "switchId" && (method !== "get" || template !== "/switches/{switchId}"));
      const pathArb = fc.record(
        Object.fromEntries(
          pathParams.map((p) => {
            const real = spare(p.name) ? ids[`spare${p.name[0]!.toUpperCase()}${p.name.slice(1)}`]! : (ids[p.name]?.filter(Boolean) ?? ["x"]);
            return [p.name, fc.oneof({ arbitrary: fc.constantFrom(...real), weight: realWeight }, { arbitrary: junk, weight: 2 })];
          }),
        ),
      );
      const queryArb = fc.record(Object.fromEntries(queryParams.map((p) => [p.name, fc.oneof(fromSchema(p.schema ?? {}), junk).map(String)])), { requiredKeys: [] });
      const bodyArb = bodySchema
        ? fc.oneof({ arbitrary: fromSchema(bodySchema).map((v) => JSON.stringify(v)), weight: 5 }, { arbitrary: junk, weight: 1 })
        : fc.constant(undefined);
      const authArb = fc.oneof(
        { arbitrary: fc.constant(OPERATOR), weight: 6 },
        { arbitrary: fc.constant(accountAuth), weight: 3 },
        { arbitrary: fc.constantFrom(otherAuth, "Bearer wek_not-a-key", "", "Basic x"), weight: 1 },
      );
      routes.push(
        fc.tuple(pathArb, queryArb, bodyArb, authArb).map(([pathValues, query, body, auth]): FuzzRequest => {
          const path = template.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(String((pathValues as Record<string, unknown>)[name]).toWellFormed()));
          const search = new URLSearchParams(query as Record<string, string>).toString();
          return {
            endpoint: `${method.toUpperCase()} /api/v1${template}`,
            method: method.toUpperCase(),
            path: `/api/v1${path}${search ? `?${search}` : ""}`,
            headers: { ...(auth ? { authorization: auth } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
            ...(body !== undefined && { body }),
          };
        }),
      );
    }
  }
  return fc.oneof(...routes);
}

// ── the run ────────────────────────────────────────────────────────────────────────────────────

describe("fuzz run", () => {
  it(`${REQUESTS} requests over every switch endpoint and API route: no 5xx, no malformed XML, no partial write`, async () => {
    const openapi = await (await exports.default.fetch(new Request("https://edge.test/api/v1/openapi.json"))).json<Schema>();
    components = openapi.components?.schemas ?? {};
    const everything = fc.oneof(
      { arbitrary: xmlRequest, weight: 3 },
      { arbitrary: eventRequest, weight: 2 },
      { arbitrary: kamailioRequest, weight: 3 },
      { arbitrary: apiRequests(openapi), weight: 6 },
    );
    const counts = { requests: 0, serverErrors: 0, xmlAnswers: 0, malformedXml: 0, refused: 0, partialWrites: 0 };
    const byEndpoint = new Map<string, Map<number, number>>();
    let before = await state();
    const started = Date.now();

    await fc.assert(
      fc.asyncProperty(everything, async (request) => {
        const response = await exports.default.fetch(
          new Request(`https://edge.test${request.path}`, { method: request.method, headers: request.headers, ...(request.body !== undefined && { body: request.body }) }),
        );
        const text = await response.text();
        counts.requests += 1;
        const statuses = byEndpoint.get(request.endpoint) ?? new Map<number, number>();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        byEndpoint.set(request.endpoint, statuses);
        if (response.status >= 500) counts.serverErrors += 1;
        expect(response.status, `${request.endpoint}: ${text.slice(0, 300)}`).toBeLessThan(500);

        if (request.path === "/freeswitch/v1/xml" && response.status === 200) {
          counts.xmlAnswers += 1;
          const wellFormed = XML_CHARS.test(text) && XMLValidator.validate(text) === true && /<document type="freeswitch\/xml">/.test(text);
          if (!wellFormed) counts.malformedXml += 1;
          expect(wellFormed, text.slice(0, 500)).toBe(true);
        }

        const refusedDecision = request.path.startsWith("/kamailio/") && response.status === 200 && text.startsWith("{") && JSON.parse(text).status === 400;
        const after = await state();
        if (response.status >= 400 || refusedDecision) {
          counts.refused += 1;
          if (after !== before) counts.partialWrites += 1;
          expect(after === before, `a refused ${request.endpoint} (${response.status}: ${text.slice(0, 200)}) changed state: ${changed(before, after)}`).toBe(true);
        }
        before = after;
      }),
      { seed: SEED, numRuns: REQUESTS, endOnFailure: true },
    );

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const lines = [...byEndpoint.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([endpoint, statuses]) => {
      const total = [...statuses.values()].reduce((a, b) => a + b, 0);
      return `${endpoint}: ${total} (${[...statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(" ")})`;
    });
    console.log(`fuzz run, seed ${SEED}, ${seconds} s: ${JSON.stringify(counts)}\n${lines.join("\n")}`);
    expect(counts).toMatchObject({ requests: REQUESTS, serverErrors: 0, malformedXml: 0, partialWrites: 0 });
    // The run covers every route the API documents and every switch endpoint.
    const apiRoutes = Object.entries<Schema>(openapi.paths).flatMap(([template, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} /api/v1${template}`));
    expect([...byEndpoint.keys()]).toEqual(expect.arrayContaining([...apiRoutes, "POST /freeswitch/v1/xml", "POST /freeswitch/v1/events", "POST /kamailio/v1/authorize", "POST /kamailio/v1/locate", "POST /kamailio/v1/keepalive"]));
    // Both sides of every check were reached: accepted writes and refusals, XML answers.
    expect(counts.refused).toBeGreaterThan(REQUESTS / 10);
    expect(counts.xmlAnswers).toBeGreaterThan(100);
  }, 180_000);
});
