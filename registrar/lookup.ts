// How long a binding has left (Kamailio registrar's lookup.c, time part). Which bindings are live
// (expiresAt strictly after now) is decided where they are read, in the object's SQL.

import type { Binding } from "./types";

/** Whole seconds left before the binding expires, rounded up; 0 once expired. What a 200 OK's Contact `expires` says. */
export function remainingSeconds(binding: Pick<Binding, "expiresAt">, now: number): number {
  return Math.max(0, Math.ceil((binding.expiresAt - now) / 1000));
}
