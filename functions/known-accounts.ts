// Which account ids are accounts, for the request log and the callback metrics: a switch callback
// names its account by realm, and a realm no account has (a phone's typo, a scan) hashes to an id
// like any other. Such an id must not reach a log field or a metric label, where each made-up realm
// would be one more value. The catalog answers; each isolate keeps the answers for a minute, at
// most 10,000 of them, and asks the catalog at most 100 times in 10 s: past that, an id it has not
// seen counts as unknown until the next window.
import type { Env } from "./env";

/** How long an answer is kept. */
export const KNOWN_TTL_MS = 60_000;
/** Answers kept per isolate (the oldest are dropped first). */
export const KNOWN_MAX_ENTRIES = 10_000;
/** Catalog lookups per window per isolate. */
export const KNOWN_LOOKUPS_PER_WINDOW = 100;
const WINDOW_MS = 10_000;

const answers = new Map<string, { known: boolean; until: number }>();
let windowStart = 0;
let lookups = 0;

/** Whether `accountId` is an account now: at once from the isolate's answers, else from the catalog. */
export function isKnownAccount(env: Env, accountId: string, now: number): boolean | Promise<boolean> {
  const held = answers.get(accountId);
  if (held && held.until > now) return held.known;
  if (now - windowStart >= WINDOW_MS) {
    windowStart = now;
    lookups = 0;
  }
  if (lookups >= KNOWN_LOOKUPS_PER_WINDOW) return false;
  lookups += 1;
  return env.CATALOG.prepare("SELECT 1 FROM accounts WHERE id = ?")
    .bind(accountId)
    .first()
    .then(
      (row) => {
        remember(accountId, row !== null, now);
        return row !== null;
      },
      () => false,
    );
}

function remember(accountId: string, known: boolean, now: number): void {
  answers.delete(accountId);
  answers.set(accountId, { known, until: now + KNOWN_TTL_MS });
  while (answers.size > KNOWN_MAX_ENTRIES) answers.delete(answers.keys().next().value!);
}

/** Forget every answer (an account created or removed through this isolate's API). */
export function forgetKnownAccounts(): void {
  answers.clear();
}
