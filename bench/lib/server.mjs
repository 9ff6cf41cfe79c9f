// The server under test: the `wrangler deploy --dry-run` bundle served by workerd through
// Miniflare 5's API (v4-style options converted with convertV4MiniflareOptions), with a D1 catalog,
// the SQLite-backed AccountRegistrar namespace persisted on disk, and the bench helper Worker
// (bench/meter-worker.js) bound to the same namespace. Load goes to the edge Worker's direct socket
// (unsafeDirectSockets): no Miniflare entry Worker, no wrangler dev reload proxy in between.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const COMPATIBILITY_DATE = "2026-11-01";

/** Build the deployable bundle offline into `outdir`; answers the module list Miniflare needs. */
export function buildBundle(root, outdir) {
  const started = performance.now();
  const result = spawnSync(
    process.execPath,
    [join(root, "node_modules", "wrangler", "bin", "wrangler.js"), "deploy", "--dry-run", "--outdir", outdir],
    {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_UPDATE_NOTIFIER: "1", CI: "true" },
    },
  );
  if (result.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${result.stdout}\n${result.stderr}`);
  return { modules: bundleModules(outdir), seconds: (performance.now() - started) / 1000 };
}

/** The bundle's entry module and every hash-named .sql text module wrangler emitted beside it. */
export function bundleModules(outdir) {
  return [
    { type: "ESModule", path: join(outdir, "index.js") },
    ...readdirSync(outdir)
      .filter((f) => f.endsWith(".sql"))
      .map((f) => ({ type: "Text", path: join(outdir, f) })),
  ];
}

export function freshVars() {
  return {
    OPERATOR_API_KEY: `op_${randomBytes(24).toString("base64url")}`,
    SWITCH_SIGNING_KEY: randomBytes(36).toString("base64url"),
    BENCH_ROUTES: "enabled",
    JURISDICTIONS: "emulated",
    SWITCH_CACHE_TTL_MS: "5000",
  };
}

/** `quiet`: the Worker's own log lines (one per request) are dropped instead of printed. */
export async function startServer({ root, outdir, modules, vars, persistDir, inspector = false, quiet = false }) {
  const { Miniflare, convertV4MiniflareOptions } = await import(join(root, "node_modules", "miniflare", "dist", "src", "index.js"));
  const options = convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    ...(inspector && { inspectorPort: 0 }),
    ...(quiet && { handleStructuredLogs: () => {} }),
    workers: [
      {
        name: "edge",
        modules,
        modulesRoot: outdir,
        compatibilityDate: COMPATIBILITY_DATE,
        compatibilityFlags: ["nodejs_compat"],
        bindings: vars,
        durableObjects: {
          REGISTRAR: { className: "AccountRegistrar", useSQLite: true },
          FLEET: { className: "FleetMonitor", useSQLite: true },
        },
        d1Databases: { CATALOG: "whistle-catalog-bench" },
        unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
      },
      {
        name: "meter",
        modules: [{ type: "ESModule", path: join(root, "bench", "meter-worker.js") }],
        modulesRoot: join(root, "bench"),
        compatibilityDate: COMPATIBILITY_DATE,
        durableObjects: { REGISTRAR: { className: "AccountRegistrar", scriptName: "edge", useSQLite: true } },
      },
    ],
  });
  // Miniflare 5 persists every resource (D1, Durable Objects, their alarms) under this one path.
  options.resourcePersistencePath = persistDir;
  const mf = new Miniflare(options);
  await mf.ready;
  const direct = await mf.unsafeGetDirectURL("edge");
  const meter = await mf.getWorker("meter");
  return {
    mf,
    inspectorUrl: inspector ? (await mf.getInspectorURL()).href : null,
    port: Number(direct.port),
    base: direct.href.replace(/\/$/, ""),
    /** GET a helper route: /usage, /count, /seed/devices, /seed/bindings. */
    async helper(path) {
      const response = await meter.fetch(`http://meter${path}`);
      const body = await response.json();
      if (!response.ok) throw new Error(`helper ${path}: ${response.status} ${JSON.stringify(body)}`);
      return body;
    },
    async applyCatalogMigrations() {
      const db = await mf.getD1Database("CATALOG", "edge");
      const dir = join(root, "catalog", "migrations");
      for (const file of readdirSync(dir).filter((f) => f.endsWith(".sql")).sort()) {
        for (const statement of readFileSync(join(dir, file), "utf8").split("--> statement-breakpoint")) {
          if (statement.trim()) await db.prepare(statement).run();
        }
      }
    },
    async stop() {
      await mf.dispose();
    },
  };
}
