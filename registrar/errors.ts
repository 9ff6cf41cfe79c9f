// Every way the registrar core can refuse a REGISTER, named once, with the SIP answer it maps to.

export type RegistrarError =
  | { code: "interval_too_brief"; minExpires: number }
  | { code: "stale_cseq"; callId: string; cseq: number }
  | { code: "too_many_bindings"; max: number }
  | { code: "invalid_wildcard" }
  | { code: "invalid_request"; detail: string };

export interface SipReply {
  status: number;
  reason: string;
  /** Extra headers the reply must carry, e.g. Min-Expires on a 423. */
  headers: Record<string, string>;
}

/** The SIP reply a switch sends for a registrar error (RFC 3261 §10.3, Kamailio registrar's choices). */
export function sipReplyFor(error: RegistrarError): SipReply {
  switch (error.code) {
    case "interval_too_brief":
      return { status: 423, reason: "Interval Too Brief", headers: { "Min-Expires": String(error.minExpires) } };
    case "stale_cseq":
      return { status: 400, reason: "Invalid CSeq number", headers: {} };
    case "too_many_bindings":
      return { status: 503, reason: "Too many registered contacts", headers: {} };
    case "invalid_wildcard":
      return { status: 400, reason: "Invalid wildcard Contact", headers: {} };
    case "invalid_request":
      return { status: 400, reason: "Bad Request", headers: {} };
  }
}
