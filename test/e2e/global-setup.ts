// Starts the test bed once for every e2e file and stops all of it at the end, whatever happened.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { runLogDir, startFleet, type FleetInfo } from "./harness/fleet";

declare module "vitest" {
  export interface ProvidedContext {
    fleet: FleetInfo;
  }
}

/** Runs whose logs are kept (the newest ones); older run directories are removed. */
const KEEP_RUNS = 5;

function pruneOldRuns(root: string): void {
  if (!existsSync(root)) return;
  const runs = readdirSync(root).filter((name) => name.startsWith("run-")).sort();
  for (const old of runs.slice(0, Math.max(0, runs.length - (KEEP_RUNS - 1)))) rmSync(join(root, old), { recursive: true, force: true });
}

export default async function setup(project: TestProject) {
  const root = join(import.meta.dirname, "logs");
  pruneOldRuns(root);
  const logDir = runLogDir(root);
  console.log(`e2e: logs in ${logDir}`);
  const fleet = await startFleet(logDir);
  project.provide("fleet", fleet.info);
  return async () => {
    await fleet.stop();
  };
}
