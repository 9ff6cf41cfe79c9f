import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const catalogMigrations = await readD1Migrations("./catalog/migrations");

export default defineConfig({
  test: {
    // The request log's line per call stays out of the output (test/functions/request-log.test.ts reads it through a spy).
    onConsoleLog: (log) => !log.includes('{"msg":"request"'),
    projects: [
      {
        // Unit and integration tests inside workerd, with real Durable Object SQLite storage and D1.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                CATALOG_MIGRATIONS: catalogMigrations,
                OPERATOR_API_KEY: "test-operator-key-0123456789abcdef",
                SWITCH_SIGNING_KEY: "test-switch-signing-key-0123456789abcdef",
                SWITCH_CACHE_TTL_MS: "200",
                JURISDICTIONS: "emulated",
                WEBHOOK_RETRY_BASE_MS: "5",
                WEBHOOK_MAX_ATTEMPTS: "3",
                // Production behaviour, whatever a local .dev.vars says.
                WEBHOOK_ALLOW_PRIVATE: "false",
                NONCE_TTL_SECONDS: "300",
              },
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/**/*.test.ts"],
          exclude: ["test/node/**", "test/e2e/**", "test/freeswitch/**", "test/browser/**"],
          setupFiles: ["./test/setup.ts"],
          // Property and fuzz tests run hundreds of requests: a generous limit keeps a loaded
          // machine from failing them. No test decides an outcome by elapsed time.
          testTimeout: 60_000,
        },
      },
      {
        // The local server as an operator runs it (`npm start`), driven from Node.
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          testTimeout: 240_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
