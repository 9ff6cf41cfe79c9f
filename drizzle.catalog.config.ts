import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./catalog/schema.ts",
  out: "./catalog/migrations",
});
