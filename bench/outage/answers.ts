// What a phone of the outage benches was answered: the first final answer of a SIPp run (a 401 or
// 407 challenge is not one), how long after the request it answers was first sent, and its Retry-After.
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
