// Every refusal of the registrar core and the SIP reply a switch sends for it.
import { describe, expect, it } from "vitest";
import { sipReplyFor, type RegistrarError } from "../../registrar/errors";

describe("sipReplyFor", () => {
  it.each<[RegistrarError, ReturnType<typeof sipReplyFor>]>([
    [{ code: "interval_too_brief", minExpires: 120 }, { status: 423, reason: "Interval Too Brief", headers: { "Min-Expires": "120" } }],
    [{ code: "stale_cseq", callId: "c1", cseq: 7 }, { status: 400, reason: "Invalid CSeq number", headers: {} }],
    [{ code: "too_many_bindings", max: 3 }, { status: 503, reason: "Too many registered contacts", headers: {} }],
    [{ code: "invalid_wildcard" }, { status: 400, reason: "Invalid wildcard Contact", headers: {} }],
    [{ code: "invalid_request", detail: "the REGISTER has no Call-ID" }, { status: 400, reason: "Bad Request", headers: {} }],
  ])("%o is answered %o", (error, reply) => {
    expect(sipReplyFor(error)).toEqual(reply);
  });
});
