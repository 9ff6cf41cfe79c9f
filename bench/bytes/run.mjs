#!/usr/bin/env node
// `npm run bench:bytes`: the runtime's Uint8Array base16/base64 methods and
// crypto.subtle.timingSafeEqual against hand-written loops, inside workerd (bench/bytes/worker.js).
// Each case runs N times in one request, timed from here (workerd's clock stands still during
// computation); the best of R interleaved rounds counts, minus the empty loop of the same round.
// Options: --n N (200000), --rounds R (5). Figures go to stdout; docs/benchmarks.md keeps them.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { COMPATIBILITY_DATE } from "../lib/server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(argv[i + 1]);
};
const N = option("n", 200_000);
const ROUNDS = option("rounds", 5);

const { Miniflare, convertV4MiniflareOptions } = await import(join(root, "node_modules", "miniflare", "dist", "src", "index.js"));
const mf = new Miniflare(
  convertV4MiniflareOptions({
    workers: [{ name: "bytes", compatibilityDate: COMPATIBILITY_DATE, modules: [{ type: "ESModule", path: join(here, "worker.js") }], modulesRoot: here }],
  }),
);
try {
  await mf.ready;
  const cases = await (await mf.dispatchFetch("http://bench/cases")).json();
  const best = new Map();
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of cases) {
      const started = process.hrtime.bigint();
      const response = await mf.dispatchFetch(`http://bench/?case=${encodeURIComponent(name)}&n=${N}`);
      if (!response.ok) throw new Error(`${name}: ${response.status} ${await response.text()}`);
      await response.json();
      const ns = Number(process.hrtime.bigint() - started);
      best.set(name, Math.min(best.get(name) ?? Infinity, ns));
    }
  }
  const empty = best.get("noop");
  console.log(`workerd (Miniflare ${COMPATIBILITY_DATE}), ${N} iterations per case, best of ${ROUNDS} rounds, empty loop subtracted`);
  console.log("| case | ns per call |");
  console.log("|---|---:|");
  for (const name of cases.filter((c) => c !== "noop")) console.log(`| ${name} | ${((best.get(name) - empty) / N).toFixed(1)} |`);
} finally {
  await mf.dispose();
}
