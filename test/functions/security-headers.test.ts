// Browser protections on the Worker's own answers and on the console's static files.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

function expectProtected(headers: Headers, what: string) {
  const csp = headers.get("content-security-policy") ?? "";
  expect(csp, what).toMatch(/frame-ancestors 'none'/);
  expect(csp, what).not.toMatch(/unsafe-inline|unsafe-eval/);
  expect(headers.get("x-content-type-options"), what).toBe("nosniff");
  expect(headers.get("referrer-policy"), what).toBe("no-referrer");
  expect(headers.get("x-frame-options"), what).toBe("DENY");
}

describe("security headers", () => {
  it("every Worker answer carries them: API documents, problems, switch callbacks, unknown routes", async () => {
    const requests: [string, RequestInit?][] = [
      ["https://edge.test/api/v1/openapi.json"],
      ["https://edge.test/api/v1/accounts", { headers: { authorization: `Bearer ${env.OPERATOR_API_KEY}` } }],
      ["https://edge.test/api/v1/accounts"],
      ["https://edge.test/freeswitch/v1/xml", { method: "POST", body: "section=directory" }],
      ["https://edge.test/kamailio/v1/authorize", { method: "POST", body: "{}" }],
      ["https://edge.test/no/such/route"],
    ];
    for (const [url, init] of requests) {
      const response = await exports.default.fetch(new Request(url, init));
      await response.arrayBuffer();
      expectProtected(response.headers, `${init?.method ?? "GET"} ${url} → ${response.status}`);
      // The API's documents are data: nothing in them may load or run.
      expect(response.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
    }
  });

  it("the console's files carry a policy without inline script, from public/_headers", async () => {
    for (const path of ["/", "/console/main.js", "/console/api.js", "/console.css"]) {
      const response = await env.ASSETS.fetch(new Request(`https://edge.test${path}`));
      await response.arrayBuffer();
      expect(response.status, path).toBe(200);
      expectProtected(response.headers, path);
      expect(response.headers.get("content-security-policy")).toMatch(/script-src 'self'(;|$)/);
      // Module scripts are refused unless served as JavaScript (and nosniff forbids guessing).
      if (path.endsWith(".js")) expect(response.headers.get("content-type"), path).toMatch(/^(text|application)\/javascript/);
    }
  });
});
