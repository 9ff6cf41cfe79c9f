// The OpenAPI document describes the API the Worker actually serves.
import { Validator } from "@seriousme/openapi-schema-validator";
import openApi31Schema from "@seriousme/openapi-schema-validator/schemas/v3.1/schema.json";
import Ajv2020 from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, createDevice } from "../../helpers";
import { JSON_TYPE, send } from "./support";

/** Every operation the provisioning API serves, as `METHOD /path` relative to /api/v1. */
const SERVED = [
  "GET /me",
  "POST /accounts",
  "GET /accounts",
  "GET /accounts/{accountId}",
  "PATCH /accounts/{accountId}",
  "DELETE /accounts/{accountId}",
  "POST /accounts/{accountId}/devices",
  "GET /accounts/{accountId}/devices",
  "GET /accounts/{accountId}/devices/{deviceId}",
  "PATCH /accounts/{accountId}/devices/{deviceId}",
  "DELETE /accounts/{accountId}/devices/{deviceId}",
  "GET /accounts/{accountId}/devices/{deviceId}/lockout",
  "DELETE /accounts/{accountId}/devices/{deviceId}/lockout",
  "GET /accounts/{accountId}/lockouts",
  "POST /accounts/{accountId}/numbers",
  "GET /accounts/{accountId}/numbers",
  "GET /accounts/{accountId}/numbers/{number}",
  "PATCH /accounts/{accountId}/numbers/{number}",
  "DELETE /accounts/{accountId}/numbers/{number}",
  "POST /accounts/{accountId}/imports",
  "GET /accounts/{accountId}/imports",
  "GET /accounts/{accountId}/imports/{importId}",
  "GET /accounts/{accountId}/exports/devices",
  "GET /accounts/{accountId}/exports/numbers",
  "GET /exports/switches",
  "GET /accounts/{accountId}/registrations",
  "DELETE /accounts/{accountId}/registrations/{registrationId}",
  "POST /accounts/{accountId}/api-keys",
  "GET /accounts/{accountId}/api-keys",
  "DELETE /accounts/{accountId}/api-keys/{keyId}",
  "GET /accounts/{accountId}/events",
  "GET /accounts/{accountId}/metrics",
  "POST /accounts/{accountId}/webhooks",
  "GET /accounts/{accountId}/webhooks",
  "DELETE /accounts/{accountId}/webhooks/{webhookId}",
  "GET /accounts/{accountId}/webhooks/{webhookId}/dead-letters",
  "POST /switches",
  "GET /switches",
  "GET /switches/{switchId}",
  "PATCH /switches/{switchId}",
  "POST /switches/{switchId}/credential",
  "POST /switches/{switchId}/drain",
  "DELETE /switches/{switchId}/drain",
  "GET /fleet/events",
  "GET /metrics",
  "DELETE /switches/{switchId}",
];

type Operation = {
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
};
type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};

/** The validator reads its meta-schemas from disk, which workerd does not have: hand it the compiled 3.1 schema. */
function openApiValidator(): Validator {
  const ajv = new Ajv2020({ strict: false });
  const addFormats = (addFormatsModule as unknown as { default?: (a: unknown) => void }).default ?? (addFormatsModule as unknown as (a: unknown) => void);
  addFormats(ajv);
  ajv.addFormat("media-range", true);
  const validator = new Validator();
  (validator as unknown as { ajvValidators: Record<string, unknown> }).ajvValidators["3.1"] = ajv.compile(openApi31Schema);
  return validator;
}

function operations(doc: Doc): [string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op] as [string, Operation]));
}

let doc: Doc;

beforeAll(async () => {
  const reply = await call("GET", "/openapi.json", { auth: null });
  expect({ status: reply.status, contentType: reply.contentType }).toEqual({ status: 200, contentType: JSON_TYPE });
  doc = reply.body;
});

describe("GET /api/v1/openapi.json", () => {
  it("needs no API key", async () => {
    const reply = await send("GET", "/openapi.json");
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text).openapi).toBe("3.1.0");
  });

  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = openApiValidator();
    const result = await validator.validate(structuredClone(doc) as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("the validator does refuse a broken document", async () => {
    const broken = structuredClone(doc) as unknown as Record<string, any>;
    delete broken.paths["/accounts"].get.responses["200"].description;
    const result = await openApiValidator().validate(broken);
    expect(result.valid).toBe(false);
  });

  it("lists exactly the operations the Worker serves", () => {
    expect(operations(doc).map(([name]) => name).sort()).toEqual([...SERVED].sort());
  });

  it("every listed operation is routed (no 404 'no such route')", async () => {
    for (const name of SERVED) {
      const [method, template] = name.split(" ") as [string, string];
      const path = template
        .replace("{accountId}", "0".repeat(64))
        .replace("{deviceId}", "dev_0")
        .replace("{number}", "%2B14155550100")
        .replace("{registrationId}", "1")
        .replace("{keyId}", "0".repeat(20))
        .replace("{switchId}", "sw_0");
      const reply = await call(method, path, { body: method === "POST" || method === "PATCH" ? {} : undefined });
      expect(reply.body?.errors?.[0]?.field, name).not.toBe("path");
    }
  });

  it("declares the bearer security scheme and requires it on every operation", () => {
    expect(doc.components.securitySchemes).toEqual({
      apiKey: { type: "http", scheme: "bearer", description: expect.any(String) },
    });
    for (const [name, op] of operations(doc)) expect(op.security, name).toEqual([{ apiKey: [] }]);
  });

  it("documents every error response as application/problem+json with the Problem schema", () => {
    for (const [name, op] of operations(doc)) {
      const errors = Object.entries(op.responses).filter(([status]) => Number(status) >= 400);
      expect(errors.map(([status]) => status), name).toContain("401");
      for (const [status, response] of errors) {
        expect(Object.keys(response.content ?? {}), `${name} ${status}`).toEqual(["application/problem+json"]);
        expect(response.content!["application/problem+json"]!.schema, `${name} ${status}`).toEqual({ $ref: "#/components/schemas/Problem" });
      }
      const successes = Object.entries(op.responses).filter(([status]) => Number(status) < 300);
      expect(successes.length, name).toBe(1);
      // The one exception: Prometheus reads its text format.
      // The exceptions: Prometheus reads its text format; exports come as JSON or CSV.
      const expected = name === "GET /metrics" ? ["text/plain"] : name.includes("/exports/") ? [JSON_TYPE, "text/csv"] : [JSON_TYPE];
      expect(Object.keys(successes[0]![1].content ?? {}), name).toEqual(expected);
    }
  });

  it("documents request bodies as application/json on every write that takes one", () => {
    for (const [name, op] of operations(doc)) {
      if (!op.requestBody) continue;
      // The one exception: an import file comes as CSV or JSON.
      expect(Object.keys(op.requestBody.content), name).toEqual(name === "POST /accounts/{accountId}/imports" ? ["text/csv", JSON_TYPE] : [JSON_TYPE]);
      expect(Object.keys(op.responses), name).toEqual(expect.arrayContaining(["400", "413", "415"]));
    }
    const withBody = operations(doc).filter(([, op]) => op.requestBody).map(([name]) => name).sort();
    const withoutBody = ["POST /switches/{switchId}/credential", "POST /switches/{switchId}/drain"];
    expect(withBody).toEqual(SERVED.filter((n) => /^(POST|PATCH) /.test(n) && !withoutBody.includes(n)).sort());
  });

  it("documents every path parameter of every operation", () => {
    for (const [name, op] of operations(doc)) {
      const inPath = [...name.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name).sort();
      expect(declared, name).toEqual(inPath);
    }
  });
});

describe("answers match their documented schemas", () => {
  function schemaValidator(name: string) {
    const ajv = new Ajv2020({ strict: false });
    const addFormats = (addFormatsModule as unknown as { default?: (a: unknown) => void }).default ?? (addFormatsModule as unknown as (a: unknown) => void);
    addFormats(ajv);
    ajv.addSchema({ $id: "https://whistle-edge.test/openapi.json", components: structuredClone(doc.components) });
    const validate = ajv.getSchema(`https://whistle-edge.test/openapi.json#/components/schemas/${name}`);
    if (!validate) throw new Error(`no schema ${name}`);
    return (value: unknown) => (validate(value) ? [] : validate.errors);
  }

  it("account, device, number, page and problem bodies validate against their component schemas", async () => {
    const account = await createAccount();
    const device = await createDevice(account.id, "4001", "device-4001-pass");
    const number = await call("POST", `/accounts/${account.id}/numbers`, { body: { number: "+14155554001", deviceId: device.id } });
    const problem = await call("GET", `/accounts/${account.id}/devices/dev_unknown`);

    expect(schemaValidator("Account")((await call("GET", `/accounts/${account.id}`)).body)).toEqual([]);
    expect(schemaValidator("AccountPage")((await call("GET", "/accounts")).body)).toEqual([]);
    expect(schemaValidator("Device")(device)).toEqual([]);
    expect(schemaValidator("DevicePage")((await call("GET", `/accounts/${account.id}/devices`)).body)).toEqual([]);
    expect(schemaValidator("Number")(number.body)).toEqual([]);
    expect(schemaValidator("ApiKeyWithSecret")((await call("POST", `/accounts/${account.id}/api-keys`, { body: { name: "k" } })).body)).toEqual([]);
    expect(schemaValidator("Problem")(problem.body)).toEqual([]);
  });

  it("a body that does not match is caught by the same check", () => {
    expect(schemaValidator("Account")({ id: "x" })).not.toEqual([]);
  });
});
