// Registration events posted by the shipped mod_lua hook (switches/freeswitch/scripts/):
// `sofia::register` records or replaces a binding with its full contact, `sofia::unregister`
// removes it, `sofia::expire` confirms an expiry the edge has usually applied already (it fires
// late: the edge expires bindings by its own clock). Heartbeats and other events are accepted and ignored.
import { z } from "zod";
import { AddressError, contactUriOf } from "../../registrar/contact";
import { ipAddressOf, portOf } from "../../registrar/host";
import { refuse } from "../../durable-objects/account-registrar/outcome";
import { REGISTER_PROOF_WINDOW_MS } from "../../registrar/proof";
import type { Env } from "../env";
import type { SwitchIdentity } from "../switches/credentials";
import { registrarForSwitch } from "../switches/scope";
import { ProblemError } from "../problem";

const text = z.string().trim().min(1).max(1024);
const seconds = z.string().regex(/^\d{1,10}$/, "whole seconds").transform(Number);
/** Event-Date-Timestamp: microseconds since the epoch, increasing on each switch. */
const microseconds = z.string().regex(/^\d{1,16}$/, "microseconds").transform(Number);

const RegisterEvent = z.object({
  "Event-Date-Timestamp": microseconds,
  "from-user": text,
  "from-host": text,
  contact: text,
  "call-id": text,
  expires: seconds,
  "network-ip": text.optional(),
  "network-port": text.optional(),
  "user-agent": text.max(512).optional(),
});

// Order. The hook delivers a switch's events in the order they fired, and replays the ones it could
// not deliver (an edge outage) in that order too; but a replayed event may still arrive after the
// device registered again through a refresh the edge answered itself, or through another switch.
// So every FreeSWITCH binding keeps the switch's time of the last REGISTER that wrote it in `cseq`
// (the register event's Event-Date-Timestamp, or the directory request's on a refresh), and an
// unregister or expire removes a binding only when it fired at or after that time: a stale one is
// answered as applied and removes nothing. A register event older than the binding's stamp under
// the same Call-ID is a stale CSeq (422), and one replayed later than the proof window is unproven
// (403, registrar/proof.ts); the hook drops both, since the device's own next REGISTER restores it.
const UnregisterEvent = z.object({ "Event-Date-Timestamp": microseconds.optional(), "from-user": text, "from-host": text, contact: text });

const ExpireEvent = z.object({ "Event-Date-Timestamp": microseconds.optional(), user: text, host: text, contact: text });

export type EventOutcome = { outcome: "registered" | "unregistered" | "expired" | "ignored"; detail?: string };

function parsed<T extends z.ZodType>(schema: T, event: Record<string, unknown>): z.infer<T> {
  const result = schema.safeParse(event);
  if (result.success) return result.data;
  throw new ProblemError(
    400,
    "the event is missing fields the edge needs",
    result.error.issues.map((issue) => ({ field: `event.${issue.path.map(String).join(".")}`, message: issue.message })),
  );
}

/** The event's contact, read by the SIP grammar and written back canonical; refused whole when malformed. */
function contactUri(nameAddr: string): string {
  try {
    return contactUriOf(nameAddr);
  } catch (error) {
    if (!(error instanceof AddressError)) throw error;
    throw new ProblemError(400, `the event's contact is malformed: ${error.message}`, [{ field: "event.contact", message: error.message }]);
  }
}

/** The device's IP address as the switch saw it (canonical, IPv6 bracketed); null when the event names none. */
function networkAddressOf(ip: string | undefined): string | null {
  if (ip === undefined) return null;
  const address = ipAddressOf(ip);
  if (address === null) throw new ProblemError(400, "the event's network-ip is not an IP address", [{ field: "event.network-ip", message: "not an IP address" }]);
  return address;
}

/** `ip:port` of the device as the switch saw it, or the address alone. */
function receivedOf(address: string | null, port: string | undefined): string | undefined {
  if (address === null) return undefined;
  if (port === undefined) return address;
  const number = portOf(port);
  if (number === null) throw new ProblemError(400, "the event's network-port is not a port", [{ field: "event.network-port", message: "not a port 1-65535" }]);
  return `${address}:${number}`;
}

/** What an account's object answers for a username it does not have (a realm outside the switch's scope gets the same). */
const noDevice = (username: string) => refuse("not_found", `no device ${username} in this account`, "username");

const unknownDevice = (detail: string) =>
  new ProblemError(404, detail, [{ field: "event.from-user", message: "no such device in this realm" }]);

export async function applyEvent(env: Env, event: Record<string, unknown>, caller: SwitchIdentity): Promise<EventOutcome> {
  switch (event["Event-Subclass"]) {
    case "sofia::register": {
      const e = parsed(RegisterEvent, event);
      const contact = contactUri(e.contact);
      const address = networkAddressOf(e["network-ip"]);
      const received = receivedOf(address, e["network-port"]);
      // Outside the switch's scope: answered as a realm no account has (no such device).
      const registrar = registrarForSwitch(env, caller, e["from-host"]);
      if (!registrar) throw unknownDevice(`no device ${e["from-user"]} at ${e["from-host"]}`);
      // Believed only when the edge verified this REGISTER's digest through this switch, from `address` (registrar/proof.ts).
      const result = await registrar.register(e["from-user"], {
        aor: `sip:${e["from-user"]}@${e["from-host"]}`,
        callId: e["call-id"],
        // Events carry no CSeq: the switch's event clock orders them for the same Call-ID.
        cseq: e["Event-Date-Timestamp"],
        contacts: [{ uri: contact, expires: e.expires }],
        ...(received !== undefined && { received }),
        ...(e["user-agent"] && { userAgent: e["user-agent"] }),
        switchId: caller.id,
      }, { reportedFrom: address });
      // A reported registration carries no digest: unknown_device, unproven, rejected or registered.
      if (result.status === "unknown_device" || result.status === "bad_digest" || result.status === "replayed") throw unknownDevice(`no device ${e["from-user"]} at ${e["from-host"]}`);
      if (result.status === "unproven") {
        const detail = `the edge verified no REGISTER of ${e["from-user"]}@${e["from-host"]} through this switch from ${address ?? "an unnamed address"} in the last ${REGISTER_PROOF_WINDOW_MS / 1000} s`;
        throw new ProblemError(403, detail, [{ field: "event", message: "no verified REGISTER" }]);
      }
      if (result.status === "rejected") {
        const detail = `the registrar refused this binding: ${result.error.code}`;
        throw new ProblemError(422, detail, [{ field: "event", message: detail }]);
      }
      return { outcome: "registered" };
    }
    case "sofia::unregister": {
      const e = parsed(UnregisterEvent, event);
      const contact = contactUri(e.contact);
      const registrar = registrarForSwitch(env, caller, e["from-host"]);
      const outcome = registrar ? await registrar.unregister(e["from-user"], contact, undefined, e["Event-Date-Timestamp"]) : noDevice(e["from-user"]);
      if (!outcome.ok) throw unknownDevice(outcome.refusal.detail);
      return { outcome: "unregistered" };
    }
    case "sofia::expire": {
      const e = parsed(ExpireEvent, event);
      const contact = contactUri(e.contact);
      const registrar = registrarForSwitch(env, caller, e.host);
      const outcome = registrar ? await registrar.unregister(e.user, contact, caller.id, e["Event-Date-Timestamp"]) : noDevice(e.user);
      if (!outcome.ok) throw unknownDevice(outcome.refusal.detail);
      return { outcome: "expired" };
    }
    default:
      return { outcome: "ignored", detail: `not a registration event: ${String(event["Event-Subclass"] ?? event["Event-Name"] ?? "unnamed")}` };
  }
}
