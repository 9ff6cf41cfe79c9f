import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const catalogMigrations = await readD1Migrations("./catalog/migrations");

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          CATALOG_MIGRATIONS: catalogMigrations,
          OPERATOR_API_KEY: "test-operator-key-0123456789abcdef",
          SWITCH_SIGNING_KEY: "test-switch-signing-key-0123456789abcdef",
          SWITCH_CACHE_TTL_MS: "200",
        },
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**", "test/browser/**"],
    setupFiles: ["./test/setup.ts"],
  },
});
