// Browser tests of the web console (public/): the edge started as `npm start` runs it, driven
// through Debian's Chromium by playwright-core. `npm run test:browser` (its pretest installs Chromium).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "browser",
    include: ["test/browser/**/*.test.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 240_000,
    teardownTimeout: 60_000,
  },
});
