// The switch callbacks' verbs, the same for every switch (FreeSWITCH, Kamailio): who a device is
// (`authenticate`), a REGISTER applied (`register`), a contact removed (`unregister`), where a call
// goes (`route`), and the credentials a switch challenges with. Each answers one RPC of the account
// object (AccountRegistrar.ts, which only delegates here), checking the digest when one is given
// (authentication.ts) and handing the decision to the registrar core through bindings.ts and
// destinations.ts.
import { drainRegister, forcedInterval } from "../../registrar/policy";
import type { Binding, RegisterRequest } from "../../registrar/types";
import type { Account } from "./account";
import type { Authenticated, Authentication } from "./authentication";
import type { Bindings } from "./bindings";
import type { CommitGroup } from "./commit-group";
import type { Destinations } from "./destinations";
import type { Devices } from "./devices";
import type { EventStream } from "./event-stream";
import type { NonceUse } from "./nonce-uses";
import { ok, refuse, type Outcome } from "./outcome";
import type * as records from "./records";
import { credentialsOf, policyOf } from "./rows";

export class SwitchVerbs {
  constructor(
    private readonly account: Account,
    private readonly devices: Devices,
    private readonly auth: Authentication,
    private readonly bindings: Bindings,
    private readonly destinations: Destinations,
    private readonly stream: EventStream,
    private readonly group: CommitGroup,
  ) {}

  /** Credentials for a switch to challenge a device with (FreeSWITCH `user_call`). Reads one row; writes nothing. */
  credentials(username: string): records.DeviceCredentials | null {
    return this.devices.credentials(username);
  }

  /**
   * Check a device's digest the switch received (FreeSWITCH directory `sip_auth`): a wrong digest,
   * or any from a locked-out source, counts toward the lockout; a right REGISTER digest notes the
   * proof a later report needs and refreshes the binding it belongs to (registrar/refresh.ts), so
   * the switch needs no second request for a refresh. A right INVITE digest writes nothing.
   */
  async authenticate(request: records.AuthenticateRequest): Promise<records.AuthorizationResult> {
    const checked = await this.auth.check(request.username, request.method, request.digest, request.source, request.nonce);
    return this.auth.counted(request.switchId, request.method, "status" in checked ? checked : await this.admitted(request, checked));
  }

  private async admitted(request: records.AuthenticateRequest, { acct, device, now, use }: Authenticated): Promise<records.AuthorizationResult> {
    if (use && !(await this.auth.claim(use))) return { status: "replayed" };
    const policy = policyOf(acct);
    const forceExpires = forcedInterval(policy, Math.random(), request.capExpires);
    // This switch may now report this registration (this Call-ID) from this address (registrar/proof.ts).
    if (request.method === "REGISTER" && request.address !== undefined && request.callId !== undefined) {
      this.auth.noteProof({ deviceId: device.id, switchId: request.switchId, address: request.address, callId: request.callId }, now);
    }
    const refreshed = request.refresh ? await this.bindings.refresh(device, request.refresh, request.switchId, forceExpires, policy, now, request.refresh.stamp) : false;
    return { status: "authorized", credentials: credentialsOf(acct, device), forceExpires, refreshed };
  }

  /**
   * Apply a REGISTER to the device's bindings (registrar/save.ts `planRegister`), vouched for as
   * `by` says (records.ts `RegisterBy`): the edge checks the digest (Kamailio), a switch reports what
   * it handled (FreeSWITCH; refused as `unproven`, and recorded as a `binding.refused` event, when no
   * verified REGISTER vouches for it), or the caller has authenticated it.
   */
  async register(username: string, request: RegisterRequest, by?: records.RegisterBy): Promise<records.RegisterAnswer> {
    if (by === undefined) return this.save(username, request, null);
    if ("reportedFrom" in by) return this.reported(username, request, by.reportedFrom);
    const checked = await this.auth.check(username, "REGISTER", by.digest, by.source, by.nonce);
    const result = "status" in checked ? checked : await this.save(username, request, checked.use, by.capExpires);
    return this.auth.counted(request.switchId ?? "", "REGISTER", result);
  }

  private async reported(username: string, request: RegisterRequest, address: string | null): Promise<records.RegisterAnswer> {
    const device = this.devices.byUsername(username);
    if (!this.account.row() || !device || !device.enabled) return { status: "unknown_device" };
    const now = Date.now();
    const switchId = request.switchId ?? null;
    if (address !== null && switchId !== null && this.auth.vouches({ deviceId: device.id, switchId, address, callId: request.callId }, now)) {
      return this.save(username, request, null);
    }
    const contact = request.contacts === "*" ? null : (request.contacts[0]?.uri ?? null);
    const event = { type: "binding.refused", deviceId: device.id, username: device.username, contact, source: request.received ?? address, switchId } as const;
    this.stream.publish(await this.group.run(() => this.stream.record([event], now)));
    return { status: "unproven" };
  }

  /** A REGISTER of the enabled device `username`, saved in one step with the claim of its nonce use, if any; under a draining switch's cap. */
  private save(username: string, request: RegisterRequest, use: null): Promise<records.RegisterResult>;
  private save(username: string, request: RegisterRequest, use: NonceUse | null, cap?: number): Promise<records.RegisterResult | { status: "replayed" }>;
  private async save(username: string, request: RegisterRequest, use: NonceUse | null, cap?: number): Promise<records.RegisterResult | { status: "replayed" }> {
    const acct = this.account.row();
    const device = this.devices.byUsername(username);
    if (!acct || !device || !device.enabled) return { status: "unknown_device" };
    const policy = policyOf(acct);
    return this.bindings.save(device, cap === undefined ? request : drainRegister(request, cap, policy), policy, this.auth.guardOf(use));
  }

  /**
   * Remove one contact of a device, or all of them with "*". With `expiredOn`, the switch that holds
   * the binding says it expired (FreeSWITCH `sofia::expire`): removed only if that switch still
   * holds it (one re-registered through another switch since then stays), as an expiry.
   */
  async unregister(username: string, contact: string | "*", expiredOn?: string, reportedAt?: number): Promise<Outcome<{ removed: number }>> {
    const device = this.devices.byUsername(username);
    if (!device) return refuse("not_found", `no device ${username} in this account`, "username");
    return ok(expiredOn === undefined || contact === "*" ? await this.bindings.unregister(device, contact, reportedAt) : await this.bindings.confirmExpiry(device, contact, expiredOn, reportedAt));
  }

  /**
   * Where a call goes (functions/switches/route.ts, for every switch and for a number's owner): the
   * caller is authenticated first when given (a right digest writes nothing); then the destination
   * is found in this account, or the other account the caller's call policy lets it reach is named
   * (`calleeAccount`). A null destination authenticates the caller only.
   */
  async route(request: records.RouteRequest): Promise<records.RouteResult> {
    if (!request.caller) return this.routed(request);
    const { username, method, digest, source, nonce } = request.caller;
    const checked = await this.auth.check(username, method, digest, source, nonce);
    const result: records.RouteResult =
      "status" in checked ? checked : checked.use && !(await this.auth.claim(checked.use)) ? { status: "replayed" } : this.routed(request);
    return this.auth.counted(request.switchId ?? "", method, result);
  }

  private routed(request: records.RouteRequest): records.RouteResult {
    return { status: "authorized", destination: request.destination === null ? null : this.destinations.forCall(request.destination, request.requested ?? null) };
  }

  /** Where a device can be reached now: its live bindings, best q first, newest first. */
  locate(username: string): Binding[] | null {
    return this.destinations.ofDevice(username);
  }
}
