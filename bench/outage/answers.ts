// What a phone of the outage benches was answered: the first final answer of a SIPp run (a 401 or
// 407 challenge is not one), how long after the request it answers was first sent, and its Retry-After.
import { sleep } from "../../test/e2e/harness/ports";
import { receivedMessages, timeline, type SippResult } from "../../test/e2e/harness/sipp";

export interface FinalAnswer {
  /** Its start line ("SIP/2.0 503 Edge unavailable"), or "no answer". */
  answer: string;
  /** ms from the request it answers to the answer (NaN without one). */
  ms: number;
  retryAfter: number | null;
}

export function finalAnswer(run: SippResult): FinalAnswer {
  const trace = timeline(run);
  const index = trace.findIndex((m) => m.direction === "received" && /^SIP\/2\.0 [2-6]\d\d/.test(m.startLine) && !/^SIP\/2\.0 40[17] /.test(m.startLine));
  if (index < 0) return { answer: "no answer", ms: NaN, retryAfter: null };
  // Timed from the request's first sending, not from its last retransmission (SIPp resends every
  // 500 ms): the first request, an ACK aside, sent after the last final answer received before this one.
  const before = trace.slice(0, index);
  const lastReceived = before.map((m) => m.direction === "received" && !/^SIP\/2\.0 1\d\d/.test(m.startLine)).lastIndexOf(true);
  const sent = before.slice(lastReceived + 1).find((m) => m.direction === "sent" && !m.startLine.startsWith("ACK "));
  const message = receivedMessages(run).find((text) => text.startsWith(trace[index]!.startLine)) ?? "";
  const retryAfter = /^Retry-After:\s*(\d+)/im.exec(message)?.[1];
  return { answer: trace[index]!.startLine, ms: sent ? trace[index]!.at - sent.at : NaN, retryAfter: retryAfter ? Number(retryAfter) : null };
}

/** One REGISTER of a looped phone and what it got. */
export interface Attempt {
  phone: string;
  switch: string;
  at: number;
  answer: string;
  /** ms from the request to its final answer. */
  ms: number;
  retryAfter?: number | null;
}

/**
 * A phone refreshing every `refreshS` while `running()` holds, its first refresh `offsetMs` late so
 * the phones spread over the interval; a failed run is recorded by `register` and does not stop it.
 */
export function refreshLoop(register: () => Promise<unknown>, refreshS: number, offsetMs: number, running: () => boolean): Promise<void> {
  return (async () => {
    await sleep(offsetMs);
    while (running()) {
      const started = Date.now();
      await register().catch(() => undefined);
      const wait = refreshS * 1000 - (Date.now() - started);
      if (wait > 0) await sleep(wait);
    }
  })();
}

/** How many attempts got each answer. */
export function summary(list: Attempt[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of list) counts[a.answer] = (counts[a.answer] ?? 0) + 1;
  return counts;
}

/** For each phone, ms from `backAt` to its first 200 after it; waits up to `limitMs` for all `count`. */
export async function registeredAgain(attempts: Attempt[], count: number, backAt: number, limitMs: number): Promise<Record<string, number>> {
  const again: Record<string, number> = {};
  while (Object.keys(again).length < count && Date.now() - backAt < limitMs) {
    for (const a of attempts.filter((x) => x.at >= backAt && x.answer === "SIP/2.0 200 OK")) again[a.phone] ??= a.at - backAt;
    await sleep(250);
  }
  return again;
}
