// The catalog re-reads of lost switches (functions/switches/fleet.ts, LastSeenRereads): bounded to
// one read in flight and one queued per switch and isolate, and never answering a call from a read
// sent before the call arrived.
import { describe, expect, it } from "vitest";
import { LastSeenRereads } from "../../../functions/switches/fleet";

/** A catalog whose reads the test answers one by one. */
function catalogReads() {
  const reads: { ids: string[]; answer: (seen: Record<string, number | null>) => void; fail: (error: Error) => void }[] = [];
  const reader = (ids: string[]) =>
    new Promise<Map<string, number | null>>((resolve, reject) => {
      reads.push({ ids, answer: (seen) => resolve(new Map(Object.entries(seen))), fail: reject });
    });
  return { reads, reader };
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("re-reading lost switches", () => {
  it("calls that arrived before a read was sent share it", async () => {
    const rereads = new LastSeenRereads();
    const { reads, reader } = catalogReads();
    const first = rereads.arrive();
    const second = rereads.arrive();
    const a = rereads.lastSeen(["sw_b"], first, reader);
    const b = rereads.lastSeen(["sw_b"], second, reader);
    expect(reads).toHaveLength(1);
    reads[0]!.answer({ sw_b: 1000 });
    expect(await a).toEqual(new Map([["sw_b", 1000]]));
    expect(await b).toEqual(new Map([["sw_b", 1000]]));
  });

  it("a call that arrived after a read was sent gets a read of its own: a switch back in between is seen", async () => {
    const rereads = new LastSeenRereads();
    const { reads, reader } = catalogReads();
    const before = rereads.lastSeen(["sw_b"], rereads.arrive(), reader);
    // The switch's first callback is answered here (its last-seen time written), then a call arrives.
    const after = rereads.lastSeen(["sw_b"], rereads.arrive(), reader);
    expect(reads).toHaveLength(1); // the second waits for the read in flight to end, then sends its own
    reads[0]!.answer({ sw_b: 1000 });
    expect(await before).toEqual(new Map([["sw_b", 1000]]));
    await turn();
    expect(reads).toHaveLength(2);
    reads[1]!.answer({ sw_b: 5000 });
    expect(await after).toEqual(new Map([["sw_b", 5000]]));

    // Settled reads are never reused by a later call.
    const later = rereads.lastSeen(["sw_b"], rereads.arrive(), reader);
    expect(reads).toHaveLength(3);
    reads[2]!.answer({ sw_b: 6000 });
    expect(await later).toEqual(new Map([["sw_b", 6000]]));
  });

  it("however many calls arrive during a read, they share the one read queued behind it", async () => {
    const rereads = new LastSeenRereads();
    const { reads, reader } = catalogReads();
    const first = rereads.lastSeen(["sw_b"], rereads.arrive(), reader);
    const burst = Array.from({ length: 50 }, () => rereads.lastSeen(["sw_b"], rereads.arrive(), reader));
    expect(reads).toHaveLength(1);
    reads[0]!.answer({ sw_b: 1000 });
    await first;
    await turn();
    expect(reads).toHaveLength(2);
    reads[1]!.answer({ sw_b: 2000 });
    for (const answer of await Promise.all(burst)) expect(answer.get("sw_b")).toBe(2000);
    expect(reads).toHaveLength(2);
  });

  it("each switch has its own reads; one call's lost switches go in one read", async () => {
    const rereads = new LastSeenRereads();
    const { reads, reader } = catalogReads();
    const both = rereads.lastSeen(["sw_b", "sw_c", "sw_b"], rereads.arrive(), reader);
    expect(reads.map((read) => read.ids)).toEqual([["sw_b", "sw_c"]]);
    const onlyD = rereads.lastSeen(["sw_d"], rereads.arrive(), reader);
    expect(reads.map((read) => read.ids)).toEqual([["sw_b", "sw_c"], ["sw_d"]]);
    reads[0]!.answer({ sw_b: 1, sw_c: null });
    reads[1]!.answer({ sw_d: 2 });
    expect(await both).toEqual(new Map([["sw_b", 1], ["sw_c", null]]));
    expect(await onlyD).toEqual(new Map([["sw_d", 2]]));
  });

  it("a failed read fails the calls that waited for it and is not reused", async () => {
    const rereads = new LastSeenRereads();
    const { reads, reader } = catalogReads();
    const failing = rereads.lastSeen(["sw_b"], rereads.arrive(), reader);
    reads[0]!.fail(new Error("catalog unavailable"));
    await expect(failing).rejects.toThrow("catalog unavailable");
    const next = rereads.lastSeen(["sw_b"], rereads.arrive(), reader);
    expect(reads).toHaveLength(2);
    reads[1]!.answer({ sw_b: 3 });
    expect(await next).toEqual(new Map([["sw_b", 3]]));
  });
});
