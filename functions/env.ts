import type { AccountRegistrar } from "../durable-objects/account-registrar/AccountRegistrar";

/** Bindings and secrets the edge Worker runs with (wrangler.toml, `wrangler secret put`, `.dev.vars`). */
export interface Env {
  REGISTRAR: DurableObjectNamespace<AccountRegistrar>;
  CATALOG: D1Database;
  /** The web console's static files (public/). */
  ASSETS: Fetcher;
  /** Operator-wide API key (secret). Full access to every account, switches and keys. */
  OPERATOR_API_KEY: string;
  /** HMAC key that signs switch credentials (secret). Rotating it revokes every switch credential. */
  SWITCH_SIGNING_KEY: string;
  /** Milliseconds an isolate trusts its cached switch list; revocation takes effect within it. */
  SWITCH_CACHE_TTL_MS?: string;
  /** "emulated" where the runtime has no Durable Object jurisdictions (workerd locally); unset in production. */
  JURISDICTIONS?: string;
  /** Seconds an edge-issued digest nonce stays fresh (Kamailio API); older ones get stale=true. */
  NONCE_TTL_SECONDS?: string;
  /** "enabled" serves /bench/noop and /bench/object, the ceilings the benchmarks compare against. */
  BENCH_ROUTES?: string;
  /** First webhook retry delay (ms, default 1000; doubles per attempt) and attempts before dead-lettering (default 8). */
  WEBHOOK_RETRY_BASE_MS?: string;
  WEBHOOK_MAX_ATTEMPTS?: string;
  /** "true" lets webhooks target loopback and private addresses (local development and tests only). */
  WEBHOOK_ALLOW_PRIVATE?: string;
}
