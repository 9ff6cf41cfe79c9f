// Which of a device's bindings are still live at a given time (Kamailio registrar's lookup.c, time part).

import type { Binding } from "./types";

/** The bindings that have not expired at `now` (expiresAt strictly after now). */
export function liveBindings(bindings: Binding[], now: number): Binding[] {
  return bindings.filter((binding) => binding.expiresAt > now);
}

/** Whole seconds left before the binding expires, rounded up; 0 once expired. What a 200 OK's Contact `expires` says. */
export function remainingSeconds(binding: Pick<Binding, "expiresAt">, now: number): number {
  return Math.max(0, Math.ceil((binding.expiresAt - now) / 1000));
}
