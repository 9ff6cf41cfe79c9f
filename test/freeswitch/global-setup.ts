// Starts the FreeSWITCH test bed once for every file of the suite and stops all of it at the end.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { runLogDir } from "../e2e/harness/fleet";
import { startBed, type BedInfo } from "./harness/bed";

declare module "vitest" {
  export interface ProvidedContext {
    bed: BedInfo;
  }
}

/** Runs whose logs are kept (the newest ones); older run directories are removed. */
const KEEP_RUNS = 3;

function pruneOldRuns(root: string): void {
  if (!existsSync(root)) return;
  const runs = readdirSync(root).filter((name) => name.startsWith("run-")).sort();
  for (const old of runs.slice(0, Math.max(0, runs.length - (KEEP_RUNS - 1)))) rmSync(join(root, old), { recursive: true, force: true });
}

export default async function setup(project: TestProject) {
  const root = join(import.meta.dirname, "logs");
  pruneOldRuns(root);
  const logDir = runLogDir(root);
  console.log(`freeswitch: logs in ${logDir}`);
  const bed = await startBed(logDir);
  project.provide("bed", bed.info);
  return async () => {
    await bed.stop();
  };
}
