// Plain data shared by the registrar core, the AccountRegistrar object and the adapters.
// Times are milliseconds since the Unix epoch unless a name says seconds.

/** How an account's registrations are bounded. Seconds throughout. */
export interface RegistrationPolicy {
  /** Shortest registration accepted; a shorter non-zero request gets 423 Interval Too Brief. */
  minExpires: number;
  /** Longest registration granted; longer requests are shortened to this. */
  maxExpires: number;
  /** Granted when the REGISTER names no expiry at all. */
  defaultExpires: number;
  /** Live bindings one device may hold (desk phone, softphone, mobile...). */
  maxBindingsPerDevice: number;
  /** What a REGISTER that would exceed maxBindingsPerDevice does. */
  overflow: "reject" | "replace_oldest";
  /** Forced intervals handed to switches are spread by ± this fraction, so refreshes do not bunch up. */
  expiresJitter: number;
}

export const DEFAULT_POLICY: RegistrationPolicy = {
  minExpires: 60,
  maxExpires: 3600,
  defaultExpires: 300,
  maxBindingsPerDevice: 5,
  overflow: "reject",
  expiresJitter: 0.1,
};

/** One live registration: a contact where the device can be reached, via a path and a switch. */
export interface Binding {
  id: number;
  deviceId: string;
  /** Address of record, `sip:user@realm`. */
  aor: string;
  /** The Contact URI the device registered. */
  contact: string;
  /** RFC 5626 `+sip.instance` (e.g. `<urn:uuid:...>`), if the device sent one. */
  instanceId: string | null;
  /** RFC 5626 `reg-id`, only meaningful with an instance id. */
  regId: number | null;
  callId: string;
  cseq: number;
  expiresAt: number;
  /** Contact `q` preference, 0..1, if given. */
  q: number | null;
  /** Path header URIs in the order received (RFC 3327): the proxies between registrar and device. */
  path: string[];
  /** Source address the REGISTER came from, `ip:port` (may differ from the contact behind NAT). */
  received: string | null;
  userAgent: string | null;
  /** The switch the REGISTER arrived through; calls to this binding go via that switch. */
  switchId: string | null;
  createdAt: number;
  updatedAt: number;
}

/** The fields of a binding that a REGISTER decides; the object adds id and deviceId. */
export type BindingFields = Omit<Binding, "id" | "deviceId" | "createdAt" | "updatedAt">;

/** One Contact of a REGISTER, already parsed by the adapter. */
export interface ContactSpec {
  uri: string;
  /** The contact's own `expires` parameter, seconds. */
  expires?: number;
  instanceId?: string;
  regId?: number;
  q?: number;
}

/** A REGISTER as the core sees it: no SIP text, just the facts a registrar decides on. */
export interface RegisterRequest {
  /** `sip:user@realm` of the device registering. */
  aor: string;
  callId: string;
  cseq: number;
  /** The Contacts, or `"*"` for a wildcard un-REGISTER. */
  contacts: ContactSpec[] | "*";
  /** The request's Expires header, seconds, if present. */
  expires?: number;
  path?: string[];
  received?: string;
  userAgent?: string;
  switchId?: string;
}
