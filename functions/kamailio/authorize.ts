// `authorize`: a proxy received a REGISTER. The edge challenges it with its own nonce, checks the
// digest, applies the registrar rules and answers the reply to send, in one HTTP call.
import { z } from "zod";
import { AddressError, parseContacts, parsePath, userAndHost } from "../../registrar/contact";
import { transportAddressOf } from "../../registrar/host";
import { canonicalSipUri } from "../../registrar/sip-uri";
import { remainingSeconds } from "../../registrar/lookup";
import { drainExpires } from "../switches/liveness";
import type { ContactSpec } from "../../registrar/types";
import type { Env } from "../env";
import type { SwitchIdentity } from "../switches/credentials";
import { noteRealm, registrarForSwitch } from "../switches/scope";
import { challengeFor, credentialsOrChallenge, type Asked } from "./credentials";
import { decide, registrarRefusal, type Decision } from "./decision";

/** More Contacts than this in one REGISTER is not a phone. */
export const MAX_CONTACTS = 20;

const field = z.string().max(8192);
export const AuthorizeRequest = z.object({
  method: z.string().max(32),
  requestUri: field,
  to: field,
  from: field.optional(),
  authorization: field.optional().default(""),
  source: z.string().max(256),
  contact: field.optional().default(""),
  expires: z.string().max(32).optional().default(""),
  callId: z.string().max(1024),
  cseq: z.string().max(32),
  path: field.optional().default(""),
  supported: z.string().max(1024).optional().default(""),
  userAgent: z.string().max(1024).optional().default(""),
});
export type AuthorizeRequest = z.infer<typeof AuthorizeRequest>;

const badRequest = (reason: string) => decide(400, reason);

export async function authorize(env: Env, request: AuthorizeRequest, caller: SwitchIdentity): Promise<Decision> {
  if (request.method.toUpperCase() !== "REGISTER") return decide(405, "Method Not Allowed", ["Allow: REGISTER"]);
  const aor = userAndHost(request.to);
  if (!aor || !aor.user) return badRequest("Bad To URI");
  const realm = aor.host;
  const now = Date.now();

  const asked: Asked = { realm, status: 401, source: request.source, callId: request.callId.trim(), requestUri: request.requestUri };
  noteRealm(env, caller, realm);
  const offered = await credentialsOrChallenge(env, request.authorization, asked, now);
  if ("decision" in offered) return offered.decision;
  if (offered.digest.username !== aor.user) return decide(403, "Forbidden");

  // Contact, Path and the source address are read by the grammar; whatever goes back into a header
  // or a URI later is written from these parsed values.
  let contacts: ContactSpec[] | "*";
  let path: string[] | undefined;
  try {
    contacts = request.contact.trim() === "" ? [] : parseContacts(request.contact);
  } catch (error) {
    if (error instanceof AddressError) return badRequest("Bad Contact");
    throw error;
  }
  try {
    path = request.path.trim() === "" ? undefined : parsePath(request.path);
  } catch (error) {
    if (error instanceof AddressError) return badRequest("Bad Path");
    throw error;
  }
  const received = transportAddressOf(request.source.trim());
  if (received === null) return badRequest("Bad Source Address");
  if (contacts !== "*" && contacts.length > MAX_CONTACTS) return badRequest("Too Many Contacts");
  const cseq = Number(request.cseq.trim().split(/\s+/)[0]);
  if (!Number.isSafeInteger(cseq) || cseq < 0) return badRequest("Bad CSeq");
  if (request.callId.trim() === "") return badRequest("Missing Call-ID");
  const expires = request.expires.trim();
  if (expires !== "" && !/^\d{1,10}$/.test(expires)) return badRequest("Bad Expires");

  // A realm outside the switch's scope is answered as an unknown device.
  const registrar = registrarForSwitch(env, caller, realm);
  const result = !registrar ? ({ status: "unknown_device" } as const) : await registrar.register(
    aor.user,
    {
      aor: `sip:${aor.user}@${realm}`,
      callId: request.callId.trim(),
      cseq,
      contacts,
      ...(expires !== "" && { expires: Number(expires) }),
      ...(path !== undefined && { path }),
      received,
      ...(request.userAgent.trim() !== "" && { userAgent: request.userAgent.trim() }),
      switchId: caller.id,
    },
    {
      digest: offered.digest,
      nonce: { expiresAt: offered.nonceExpiresAt, record: "every-use" },
      source: request.source,
      ...(caller.draining && { capExpires: drainExpires(env) }),
    },
  );
  switch (result.status) {
    // Unknown user, wrong password, refused source, replay: the same fresh challenge for each
    // (`unproven` answers only a registration a switch reports, never one with a digest).
    case "unknown_device":
    case "bad_digest":
    case "replayed":
    case "unproven":
      return challengeFor(env, asked, false, now);
    case "rejected":
      return registrarRefusal(result.error);
    case "registered":
      return decide(
        200,
        "OK",
        // Counted from after the object's decision, so a granted interval never reads one second longer.
        result.contacts.flatMap((b) => {
          const uri = canonicalSipUri(b.contact);
          return uri === null ? [] : [`Contact: <${uri}>;expires=${remainingSeconds(b, Date.now())}`];
        }),
      );
  }
}
