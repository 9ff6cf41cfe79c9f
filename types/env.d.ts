// The Worker's bindings as seen by `env` from "cloudflare:workers" (tests included).
declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import("../functions/index");
    durableNamespaces: "AccountRegistrar";
  }
  interface Env {
    REGISTRAR: DurableObjectNamespace<import("../durable-objects/account-registrar/AccountRegistrar").AccountRegistrar>;
    CATALOG: D1Database;
    ASSETS: Fetcher;
    OPERATOR_API_KEY: string;
    SWITCH_SIGNING_KEY: string;
    SWITCH_CACHE_TTL_MS?: string;
    JURISDICTIONS?: string;
    NONCE_TTL_SECONDS?: string;
    BENCH_ROUTES?: string;
    WEBHOOK_RETRY_BASE_MS?: string;
    WEBHOOK_MAX_ATTEMPTS?: string;
    WEBHOOK_ALLOW_PRIVATE?: string;
    /** Tests only: the catalog migrations read by vitest.config.ts. */
    CATALOG_MIGRATIONS: import("@cloudflare/vitest-plugin").D1Migration[];
  }
}
