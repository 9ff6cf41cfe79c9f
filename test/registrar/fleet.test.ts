import { describe, expect, it } from "vitest";
import { switchState } from "../../registrar/fleet";
import { routeToDevice, type PeerSwitch } from "../../registrar/routing";
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
  });
});
