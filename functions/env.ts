/** The Worker's bindings and settings; declared once, in types/env.d.ts. */
export type Env = Cloudflare.Env;
