import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  driver: "durable-sqlite",
  schema: "./durable-objects/account-registrar/schema.ts",
  out: "./durable-objects/account-registrar/migrations",
});
