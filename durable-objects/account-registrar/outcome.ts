// What an AccountRegistrar method answers when it refuses: a typed reason the API maps to a
// problem document and a switch adapter maps to a "not found"/rejection. Nothing is thrown
// across the RPC boundary for input a client sent.

export type Refusal =
  | { kind: "not_found"; detail: string; field?: string }
  | { kind: "conflict"; detail: string; field?: string }
  | { kind: "invalid"; detail: string; field?: string };

export type Outcome<T> = { ok: true; value: T } | { ok: false; refusal: Refusal };

export const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const refuse = (kind: Refusal["kind"], detail: string, field?: string): Outcome<never> => ({
  ok: false,
  refusal: field === undefined ? { kind, detail } : { kind, detail, field },
});
