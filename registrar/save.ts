// Applying a REGISTER to a device's live bindings: RFC 3261 §10.3 steps 6-8 with Kamailio registrar
// semantics (save.c) and RFC 5626 instance / reg-id matching. Pure: returns a plan, changes nothing.

import type { RegistrarError } from "./errors";
import { decideExpiry } from "./expiry";
import type { Binding, BindingFields, ContactSpec, RegisterRequest, RegistrationPolicy } from "./types";

/** The changes a REGISTER makes to a device's bindings, for the Durable Object to store. */
export interface SavePlan {
  /** New bindings. */
  inserts: BindingFields[];
  /** Existing bindings replaced or refreshed. */
  updates: { id: number; fields: BindingFields }[];
  /** Ids of bindings removed. */
  deletes: number[];
}

export type SaveOutcome = { ok: true; plan: SavePlan } | { ok: false; error: RegistrarError };

/** A binding as this REGISTER leaves it while the contacts are applied one by one. */
type Working =
  | { origin: "existing"; binding: Binding; fields: BindingFields; touched: boolean; removed: boolean }
  | { origin: "new"; fields: BindingFields; removed: boolean };

function fail(error: RegistrarError): SaveOutcome {
  return { ok: false, error };
}

/** A stored binding's fields, read only to match contacts against (a plan writes new fields, never these). */
function fieldsOf(binding: Binding): BindingFields {
  const { id: _id, deviceId: _deviceId, createdAt: _createdAt, updatedAt: _updatedAt, ...fields } = binding;
  return fields;
}

/** RFC 3261 §10.3 step 6: a REGISTER must not be older than what it replaces on the same Call-ID. */
function isStale(binding: Binding, request: RegisterRequest): boolean {
  return binding.callId === request.callId && binding.cseq >= request.cseq;
}

/** Does this contact refer to that binding? By `+sip.instance` and reg-id when given, else by URI. */
function refersTo(contact: ContactSpec, uri: string, fields: BindingFields): boolean {
  if (contact.instanceId !== undefined) {
    return fields.instanceId === contact.instanceId && (fields.regId ?? null) === (contact.regId ?? null);
  }
  return fields.contact.trim() === uri;
}

function bindingFieldsFor(contact: ContactSpec, uri: string, request: RegisterRequest, expiresAt: number): BindingFields {
  return {
    aor: request.aor,
    contact: uri,
    instanceId: contact.instanceId ?? null,
    regId: contact.regId ?? null,
    callId: request.callId,
    cseq: request.cseq,
    expiresAt,
    q: contact.q ?? null,
    path: [...(request.path ?? [])],
    received: request.received ?? null,
    userAgent: request.userAgent ?? null,
    switchId: request.switchId ?? null,
  };
}

/** `Contact: *` with `Expires: 0` removes every binding of the device, unless one is newer on the same Call-ID. */
function planWildcard(existing: Binding[], request: RegisterRequest): SaveOutcome {
  if (request.expires !== 0) return fail({ code: "invalid_wildcard" });
  if (existing.some((binding) => isStale(binding, request))) {
    return fail({ code: "stale_cseq", callId: request.callId, cseq: request.cseq });
  }
  return { ok: true, plan: { inserts: [], updates: [], deletes: existing.map((binding) => binding.id) } };
}

/** Checks every Contact URI, then keeps only the last Contact given for each URI. */
function lastContactPerUri(contacts: ContactSpec[]): { contacts: { uri: string; spec: ContactSpec }[] } | RegistrarError {
  const byUri = new Map<string, ContactSpec>();
  for (const spec of contacts) {
    const uri = spec.uri.trim();
    if (uri === "") return { code: "invalid_request", detail: "a Contact has an empty URI" };
    if (uri === "*") return { code: "invalid_wildcard" };
    byUri.delete(uri);
    byUri.set(uri, spec);
  }
  return { contacts: [...byUri].map(([uri, spec]) => ({ uri, spec })) };
}

/** Applies one contact (its URI trimmed) to the working set; an error abandons the whole REGISTER. */
function applyContact(
  working: Working[],
  contact: ContactSpec,
  uri: string,
  request: RegisterRequest,
  policy: RegistrationPolicy,
  now: number,
): RegistrarError | null {
  const match = working.find((entry) => !entry.removed && refersTo(contact, uri, entry.fields));
  // Only bindings stored before this REGISTER can be stale; ones it already wrote carry its own CSeq.
  if (match?.origin === "existing" && !match.touched && isStale(match.binding, request)) {
    return { code: "stale_cseq", callId: request.callId, cseq: request.cseq };
  }

  const decision = decideExpiry(contact.expires, request.expires, policy);
  switch (decision.kind) {
    case "too_brief":
      return { code: "interval_too_brief", minExpires: decision.minExpires };
    case "remove":
      if (match !== undefined) match.removed = true;
      return null;
    case "grant": {
      const fields = bindingFieldsFor(contact, uri, request, now + decision.seconds * 1000);
      if (match === undefined) {
        working.push({ origin: "new", fields, removed: false });
      } else {
        match.fields = fields;
        if (match.origin === "existing") match.touched = true;
      }
      return null;
    }
  }
}

/**
 * Keeps the device within policy.maxBindingsPerDevice. "replace_oldest" drops the least recently
 * refreshed bindings this REGISTER did not touch; a REGISTER that still leaves too many is refused
 * if it adds bindings. One that only refreshes or removes is never refused for this.
 */
function enforceBindingLimit(working: Working[], policy: RegistrationPolicy): RegistrarError | null {
  const max = policy.maxBindingsPerDevice;
  const live = (): number => working.filter((entry) => !entry.removed).length;
  const addsBindings = working.some((entry) => entry.origin === "new" && !entry.removed);

  if (policy.overflow === "replace_oldest" && live() > max) {
    const evictable = working
      .filter((entry): entry is Extract<Working, { origin: "existing" }> => entry.origin === "existing")
      .filter((entry) => !entry.removed && !entry.touched)
      .sort((a, b) => a.binding.updatedAt - b.binding.updatedAt || a.binding.id - b.binding.id);
    for (const entry of evictable) {
      if (live() <= max) break;
      entry.removed = true;
    }
  }

  if (addsBindings && live() > max) return { code: "too_many_bindings", max };
  return null;
}

/**
 * Plans what a REGISTER does to a device's live bindings (`existing`, none expired at `now`).
 * A Contact URI given twice counts once, in its last form; contacts then apply in order. Any refusal
 * (stale CSeq, interval too brief, too many bindings, bad wildcard or contact) refuses the whole
 * request: the outcome then carries the error and no change. A REGISTER without contacts is a
 * query and plans nothing. Does not modify its inputs.
 */
export function planRegister(
  existing: Binding[],
  request: RegisterRequest,
  policy: RegistrationPolicy,
  now: number,
): SaveOutcome {
  if (request.callId.trim() === "") return fail({ code: "invalid_request", detail: "the REGISTER has no Call-ID" });
  if (!Number.isSafeInteger(request.cseq) || request.cseq < 0) {
    return fail({ code: "invalid_request", detail: `CSeq ${request.cseq} is not a valid sequence number` });
  }
  if (request.contacts === "*") return planWildcard(existing, request);

  const working: Working[] = existing.map((binding) => ({
    origin: "existing",
    binding,
    fields: fieldsOf(binding),
    touched: false,
    removed: false,
  }));

  const deduplicated = lastContactPerUri(request.contacts);
  if ("code" in deduplicated) return fail(deduplicated);
  for (const { uri, spec } of deduplicated.contacts) {
    const refused = applyContact(working, spec, uri, request, policy, now);
    if (refused !== null) return fail(refused);
  }

  const overLimit = enforceBindingLimit(working, policy);
  if (overLimit !== null) return fail(overLimit);

  const plan: SavePlan = { inserts: [], updates: [], deletes: [] };
  for (const entry of working) {
    if (entry.origin === "new") {
      if (!entry.removed) plan.inserts.push(entry.fields);
    } else if (entry.removed) {
      plan.deletes.push(entry.binding.id);
    } else if (entry.touched) {
      plan.updates.push({ id: entry.binding.id, fields: entry.fields });
    }
  }
  return { ok: true, plan };
}
