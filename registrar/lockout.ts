// Repeated wrong digests lock a device for a while, across every switch (in the spirit of
// Kamailio's pike and Kazoo's antiflood): N failures within a window lock it for a duration.

/** Seconds throughout. */
export interface LockoutPolicy {
  /** Failures within the window that lock the device. */
  threshold: number;
  windowSeconds: number;
  /** How long the lock lasts once reached. */
  durationSeconds: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { threshold: 5, windowSeconds: 300, durationSeconds: 900 };

export function isLocked(lockedUntil: number | null, now: number): boolean {
  return lockedUntil !== null && lockedUntil > now;
}

/** Failures older than this instant no longer count. */
export function windowStart(policy: LockoutPolicy, now: number): number {
  return now - policy.windowSeconds * 1000;
}

/**
 * After a failure: `failuresInWindow` counts the failures within the window, this one included.
 * Answers the instant the device is locked until, or null while under the threshold.
 */
export function lockAfterFailure(failuresInWindow: number, policy: LockoutPolicy, now: number): number | null {
  return failuresInWindow >= policy.threshold ? now + policy.durationSeconds * 1000 : null;
}
