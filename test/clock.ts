// The tests' clock. In the vitest pool the Worker, its Durable Objects and the test code share one
// isolate, so vitest's fake `Date` is the clock every `Date.now()` of the edge reads: a test that
// decides an outcome by time sets and moves this clock instead of sleeping. Only `Date` is faked;
// timers and I/O run as usual, and storage alarms are still scheduled by the runtime's real clock
// (run them with `runDurableObjectAlarm` rather than waiting for them).
import { afterEach, vi } from "vitest";

export interface TestClock {
  now(): number;
  /** Moves the clock forward and returns the new time. */
  advance(ms: number): number;
}

/** Freezes the clock at `start` for the current test; it is released after the test. */
export function freezeClock(start: number = Date.now()): TestClock {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(start);
  return {
    now: () => Date.now(),
    advance(ms) {
      vi.setSystemTime(Date.now() + ms);
      return Date.now();
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});
