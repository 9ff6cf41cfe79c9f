// `npm run bench:outage`: the measured edge outages, one project per kind of switch (run one with
// `npm run bench:outage -- --project freeswitch` or `--project kamailio`). A bench, not a test:
// nothing here runs in CI.
//   freeswitch: bench/outage/freeswitch-outage.ts on the FreeSWITCH test bed (test/freeswitch/harness):
//     two switches, SIPp phones, the edge behind the counting pass-through that can refuse or swallow.
//   kamailio: bench/outage/kamailio-outage.ts, which starts its own bed (the edge, the same
//     pass-through, two switches from switches/kamailio/kamailio.cfg on 127.0.0.41 and .42).
import { defineConfig } from "vitest/config";

// The FreeSWITCH bed with the shipped heartbeat (20 s) and the edge's default fleet timing, not the
// suite's shortened ones: how soon a switch notices an outage is what is measured.
process.env.FREESWITCH_BED_TIMING ??= "production";

const common = { environment: "node" as const, testTimeout: 900_000, hookTimeout: 300_000, teardownTimeout: 60_000 };

export default defineConfig({
  test: {
    fileParallelism: false,
    projects: [
      { test: { ...common, name: "freeswitch", include: ["bench/outage/freeswitch-outage.ts"], globalSetup: ["./test/freeswitch/global-setup.ts"] } },
      { test: { ...common, name: "kamailio", include: ["bench/outage/kamailio-outage.ts"] } },
    ],
  },
});
