import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// The catalog's schema, applied to each test file's own D1 database (idempotent).
if (!env.CATALOG_MIGRATIONS) throw new Error("vitest.config.ts must provide CATALOG_MIGRATIONS");
await applyD1Migrations(env.CATALOG, env.CATALOG_MIGRATIONS);
