// Where a call to this account goes: a dialed destination read as a device's username, then as one
// of the account's numbers, with the device's live bindings; and, for a call from one of its
// devices, whether the account's call policy sends it to another account (registrar/routing.ts
// `calleeAccount`). Reads only.
import { calleeAccount, numberCandidates } from "../../registrar/routing";
import type { Binding } from "../../registrar/types";
import type { Account } from "./account";
import type { Bindings } from "./bindings";
import type { Devices } from "./devices";
import type { Numbers } from "./numbers";
import type { DestinationResult } from "./records";

/** Where a device's call is looked up: a destination found here, or the other account's realm. */
export type CallDestination = DestinationResult | { kind: "elsewhere"; realm: string };

export class Destinations {
  constructor(
    private readonly account: Account,
    private readonly devices: Devices,
    private readonly numbers: Numbers,
    private readonly bindings: Bindings,
  ) {}

  /** Where a device can be reached now: its live bindings, best q first, newest first; null for no enabled device. */
  ofDevice(username: string): Binding[] | null {
    const device = this.devices.byUsername(username);
    if (!device || !device.enabled) return null;
    return this.bindings.reachable(device.id);
  }

  /** A dialed destination: a device's username first, then one of the account's numbers. */
  find(destination: string): DestinationResult {
    const acct = this.account.row();
    if (!acct) return { kind: "unknown" };
    let device = this.devices.byUsername(destination);
    if (!device) {
      const number = this.numbers.firstOf(numberCandidates(destination));
      if (!number) return { kind: "unknown" };
      device = number.deviceId === null ? undefined : this.devices.byId(number.deviceId);
      if (!device) return { kind: "unavailable" };
    }
    if (!device.enabled) return { kind: "unavailable" };
    return { kind: "device", realm: acct.realm, username: device.username, bindings: this.bindings.reachable(device.id) };
  }

  /** A call from one of the account's devices to `destination`, at the realm the request names (null: none named). */
  forCall(destination: string, requested: { realm: string; accountId: string } | null): CallDestination {
    const acct = this.account.row();
    if (!acct) return { kind: "unknown" };
    const where = calleeAccount({ accountId: acct.accountId, realm: acct.realm, calls: { allowedAccounts: acct.callsAllowedAccounts } }, requested);
    return where.kind === "other" ? { kind: "elsewhere", realm: where.realm } : this.find(destination);
  }
}
