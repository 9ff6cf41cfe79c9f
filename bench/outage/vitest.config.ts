// `npm run bench:outage`: the measured edge outages (bench/outage/freeswitch-outage.ts) on the
// FreeSWITCH test bed (test/freeswitch/harness): two switches, SIPp phones, the edge behind the
// counting pass-through that can refuse or swallow. A bench, not a test: nothing here runs in CI.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "bench-outage",
    include: ["bench/outage/freeswitch-outage.ts"],
    environment: "node",
    globalSetup: ["./test/freeswitch/global-setup.ts"],
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
  },
});
