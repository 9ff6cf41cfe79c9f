// Proof of registration. A switch that reports a registration it handled alone (FreeSWITCH's
// `sofia::register` event, posted after the switch answered the phone) is believed only when the
// edge itself verified a REGISTER digest of that device, through that same switch, from that same
// device address, with that same Call-ID, moments before: the directory `sip_auth` request of the
// very REGISTER (FreeSWITCH sends its Call-ID as `sip_call_id`, the event as `call-id`). FreeSWITCH
// asks for it on every REGISTER, a nonce reused with nc=2 included, and posts the event within
// milliseconds; the window leaves room for a slow hook and nothing more.
export const REGISTER_PROOF_WINDOW_MS = 30_000;

/** Whose REGISTER was verified: the device, the switch that asked, the device's IP address (canonical), the REGISTER's Call-ID. */
export interface RegisterProofKey {
  deviceId: string;
  switchId: string;
  address: string;
  callId: string;
}

export function proofKey(key: RegisterProofKey): string {
  // Written as a JSON array: no part, whatever it holds, can run into the next.
  return JSON.stringify([key.deviceId, key.switchId, key.address, key.callId]);
}

/** Does a REGISTER verified at `verifiedAt` vouch for a switch's report at `now`? */
export function vouches(verifiedAt: number | undefined, now: number, windowMs = REGISTER_PROOF_WINDOW_MS): boolean {
  return verifiedAt !== undefined && verifiedAt <= now && now - verifiedAt <= windowMs;
}
