// Text modules bundled by wrangler's [[rules]] (drizzle-kit's SQL migrations).
declare module "*.sql" {
  const text: string;
  export default text;
}
