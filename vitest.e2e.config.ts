// End-to-end suite: the edge (`npm start`), two Kamailio switches from switches/kamailio and SIPp
// devices, all on loopback. `npm run test:e2e` (its pretest installs the Debian packages).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "e2e",
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    globalSetup: ["./test/e2e/global-setup.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
  },
});
