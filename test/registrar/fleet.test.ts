import { describe, expect, it } from "vitest";
import { switchState } from "../../registrar/fleet";
import { holdingSwitches, routeToDevice, type PeerSwitch } from "../../registrar/routing";
import type { Binding } from "../../registrar/types";

const binding = (id: number, switchId: string | null): Binding => ({
  id,
  deviceId: "dev",
  aor: "sip:1001@acme.test",
  contact: `sip:1001@192.0.2.${id}`,
  instanceId: null,
  regId: null,
  callId: `c${id}`,
  cseq: 1,
  expiresAt: 2_000_000,
  q: null,
  path: [],
  received: null,
  userAgent: null,
  switchId,
  createdAt: 0,
  updatedAt: 0,
});

describe("switch state", () => {
  it("is unseen, then alive while heard from, lost after the threshold, draining when an operator says so", () => {
    expect(switchState({ lastSeenAt: null, draining: false }, 1_000, 60_000)).toBe("unseen");
    expect(switchState({ lastSeenAt: 0, draining: false }, 60_000, 60_000)).toBe("alive");
    expect(switchState({ lastSeenAt: 0, draining: false }, 60_001, 60_000)).toBe("lost");
    expect(switchState({ lastSeenAt: 0, draining: true }, 30_000, 60_000)).toBe("draining");
  });

  it("a draining switch that stops answering is lost: calls must not wait on it", () => {
    expect(switchState({ lastSeenAt: 0, draining: true }, 60_001, 60_000)).toBe("lost");
  });

  it("counts the silence from the last callback, at today's clock", () => {
    const now = 1_795_557_012_000;
    expect(switchState({ lastSeenAt: now - 60_000, draining: false }, now, 60_000)).toBe("alive");
    expect(switchState({ lastSeenAt: now - 60_001, draining: false }, now, 60_000)).toBe("lost");
    // Never heard from is not silence: unseen however late it is.
    expect(switchState({ lastSeenAt: null, draining: false }, now, 60_000)).toBe("unseen");
    expect(switchState({ lastSeenAt: null, draining: true }, now, 60_000)).toBe("draining");
  });
});

describe("routing around the fleet", () => {
  const fleet = new Map<string, PeerSwitch>([
    ["lost", { address: "sip:10.0.0.9", state: "lost" }],
    ["draining", { address: "sip:10.0.0.8", state: "draining" }],
    ["alive", { address: "sip:10.0.0.7", state: "alive" }],
  ]);
  const peer = (id: string) => fleet.get(id);

  it("a device only on a lost switch is unavailable; its other bindings still ring", () => {
    expect(routeToDevice([binding(1, "lost")], "me", peer)).toEqual({ kind: "unavailable" });
    const decision = routeToDevice([binding(1, "lost"), binding(2, "alive")], "me", peer);
    expect(decision).toEqual({ kind: "ring", legs: [{ kind: "peer", switchId: "alive", address: "sip:10.0.0.7", draining: false }] });
  });

  it("a draining switch is used only when there is no other way", () => {
    const both = routeToDevice([binding(1, "draining"), binding(2, "me")], "me", peer);
    expect(both).toEqual({ kind: "ring", legs: [{ kind: "local", bindings: [binding(2, "me")] }] });
    const only = routeToDevice([binding(1, "draining")], "me", peer);
    expect(only).toEqual({ kind: "ring", legs: [{ kind: "peer", switchId: "draining", address: "sip:10.0.0.8", draining: true }] });
    // Another switch that is not draining is preferred as well.
    const elsewhere = routeToDevice([binding(1, "draining"), binding(2, "alive")], "me", peer);
    expect(elsewhere).toEqual({ kind: "ring", legs: [{ kind: "peer", switchId: "alive", address: "sip:10.0.0.7", draining: false }] });
  });

  it("no device is not found; a device without bindings is unavailable", () => {
    expect(routeToDevice(null, "me", peer)).toEqual({ kind: "not_found" });
    expect(routeToDevice([], "me", peer)).toEqual({ kind: "unavailable" });
  });

  it("the asking switch's own bindings, and those no switch holds, are one local leg; each other switch is one leg", () => {
    const bindings = [binding(1, "me"), binding(2, "alive"), binding(3, null), binding(4, "alive"), binding(5, "me")];
    expect(routeToDevice(bindings, "me", peer)).toEqual({
      kind: "ring",
      legs: [
        { kind: "local", bindings: [binding(1, "me"), binding(3, null), binding(5, "me")] },
        { kind: "peer", switchId: "alive", address: "sip:10.0.0.7", draining: false },
      ],
    });
  });

  it("a binding on a switch that no longer exists is skipped", () => {
    expect(routeToDevice([binding(1, "removed")], "me", peer)).toEqual({ kind: "unavailable" });
  });

  it("the holding switches of a device's bindings, each once, without proxy-recorded ones", () => {
    expect(holdingSwitches([binding(1, "a"), binding(2, null), binding(3, "b"), binding(4, "a")])).toEqual(["a", "b"]);
    expect(holdingSwitches([])).toEqual([]);
    expect(holdingSwitches(null)).toEqual([]);
  });
});
