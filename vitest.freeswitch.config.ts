// FreeSWITCH end-to-end suite: the edge (`npm start`), two FreeSWITCH 1.10.12 switches configured
// from switches/freeswitch/ and SIPp phones, all on loopback. `npm run test:freeswitch` (its pretest
// installs FreeSWITCH and SIPp when missing).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "freeswitch",
    include: ["test/freeswitch/**/*.test.ts"],
    environment: "node",
    globalSetup: ["./test/freeswitch/global-setup.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
  },
});
