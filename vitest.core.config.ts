// The pure registrar core's unit tests (test/registrar/) in plain Node: they need no workerd (Web
// Crypto is Node's own; test/core-setup.ts adds the MD5 digest workerd has and Node lacks), so
// Stryker can run them quickly for every mutant of registrar/ (`npm run test:mutation`).
// `npm test` runs the same files inside workerd.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "core",
    include: ["test/registrar/**/*.test.ts"],
    environment: "node",
    setupFiles: ["./test/core-setup.ts"],
    // The property tests run thousands of cases; under Stryker's instrumentation on a loaded machine
    // they can take longer than the 5 s default. The timeout only turns a hang into a failure.
    testTimeout: 60_000,
  },
});
