// The Worker's bindings and settings (wrangler.toml, `wrangler secret put`, `.dev.vars`), as seen
// by `env` from "cloudflare:workers" everywhere, tests included. functions/env.ts names it `Env`.
declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import("../functions/index");
    durableNamespaces: "AccountRegistrar" | "FleetMonitor";
  }

  interface Env {
    REGISTRAR: DurableObjectNamespace<import("../durable-objects/account-registrar/AccountRegistrar").AccountRegistrar>;
    CATALOG: D1Database;
    FLEET: DurableObjectNamespace<import("../durable-objects/fleet-monitor/FleetMonitor").FleetMonitor>;
    /** The web console's static files (public/). */
    ASSETS: Fetcher;
    /** Operator-wide API key (secret). Full access to every account, switches and keys. */
    OPERATOR_API_KEY: string;
    /** HMAC key that signs switch credentials and keys the edge's nonces (secret). Rotating it revokes every switch credential. */
    SWITCH_SIGNING_KEY: string;
    /** Milliseconds an isolate trusts its cached switch list; revocation takes effect within it. */
    SWITCH_CACHE_TTL_MS?: string;
    /** "emulated" where the runtime has no Durable Object jurisdictions (workerd locally); unset in production. */
    JURISDICTIONS?: string;
    /** Seconds an edge-issued digest nonce stays fresh (Kamailio API); older ones get stale=true. */
    NONCE_TTL_SECONDS?: string;
    /**
     * Digest algorithms the Kamailio challenges offer, most preferred first (default "SHA-256,MD5":
     * RFC 8760, one challenge each). "MD5" for clients that misread two challenges.
     */
    DIGEST_ALGORITHMS?: string;
    /** A switch silent for longer than this (ms, default 60000) is lost: calls skip its bindings. */
    SWITCH_LOST_AFTER_MS?: string;
    /** How often (ms, default 10000) the fleet monitor looks for lost, returned and drained switches. */
    FLEET_CHECK_MS?: string;
    /** Forced registration interval (s, default 60) for devices of a draining switch. */
    SWITCH_DRAIN_EXPIRES?: string;
    /** "enabled" serves /bench/noop and /bench/object, the ceilings the benchmarks compare against. */
    BENCH_ROUTES?: string;
    /** First webhook retry delay (ms, default 1000; doubles per attempt) and attempts before dead-lettering (default 8). */
    WEBHOOK_RETRY_BASE_MS?: string;
    WEBHOOK_MAX_ATTEMPTS?: string;
    /** "true" lets webhooks target loopback and private addresses (local development and tests only). */
    WEBHOOK_ALLOW_PRIVATE?: string;
    /** Workers Analytics Engine: one data point per switch callback (optional; absent locally). */
    CALLBACK_ANALYTICS?: AnalyticsEngineDataset;
    /** How often (ms, default 10000) an isolate ships its callback sums to the fleet monitor. */
    METRICS_FLUSH_MS?: string;
    /** Tests only: the catalog migrations read by vitest.config.ts. */
    CATALOG_MIGRATIONS?: import("@cloudflare/vitest-plugin").D1Migration[];
  }
}
