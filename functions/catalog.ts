// The global catalog (D1) through drizzle.
import { drizzle } from "drizzle-orm/d1";
import * as schema from "../catalog/schema";
import type { Env } from "./env";

export function catalog(env: Env) {
  return drizzle(env.CATALOG, { schema });
}

export type Catalog = ReturnType<typeof catalog>;
