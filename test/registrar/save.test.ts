import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sipReplyFor, type RegistrarError } from "../../registrar/errors";
import { planRegister, type SaveOutcome, type SavePlan } from "../../registrar/save";
import type { Binding, BindingFields, RegisterRequest, RegistrationPolicy } from "../../registrar/types";
import { DEFAULT_POLICY } from "../../registrar/types";

const now = 1_795_557_012_000;
const minute = 60_000;
const aor = "sip:1000@acme.test";
const deskPhone = "sip:1000@192.0.2.10:5060";
const softphone = "sip:1000@192.0.2.20:5062;transport=tcp";
const mobile = "sip:1000@198.51.100.7:40123;transport=tls";
const tablet = "sip:1000@198.51.100.9:5060";
const instance = "<urn:uuid:00000000-0000-1000-8000-00a0c91e6bf6>";

const policy: RegistrationPolicy = { ...DEFAULT_POLICY, maxBindingsPerDevice: 3, overflow: "reject" };

function binding(id: number, overrides: Partial<Binding> = {}): Binding {
  return {
    id,
    deviceId: "device-1000",
    aor,
    contact: `sip:1000@192.0.2.${id}:5060`,
    instanceId: null,
    regId: null,
    callId: `call-${id}@192.0.2.${id}`,
    cseq: 10,
    expiresAt: now + 5 * minute,
    q: null,
    path: [],
    received: null,
    userAgent: null,
    switchId: null,
    createdAt: now - 10 * minute,
    updatedAt: now - 5 * minute,
    ...overrides,
  };
}

function register(overrides: Partial<RegisterRequest> = {}): RegisterRequest {
  return { aor, callId: "new-call@192.0.2.99", cseq: 1, contacts: [{ uri: deskPhone }], ...overrides };
}

function planOf(outcome: SaveOutcome): SavePlan {
  if (!outcome.ok) throw new Error(`expected a plan, got ${JSON.stringify(outcome.error)}`);
  return outcome.plan;
}

/** The device's contacts after the plan is stored, as a registrar would hold them. */
function contactsAfter(existing: Binding[], plan: SavePlan): string[] {
  const updated = new Map(plan.updates.map((update) => [update.id, update.fields]));
  const kept: BindingFields[] = existing
    .filter((b) => !plan.deletes.includes(b.id))
    .map((b) => updated.get(b.id) ?? b);
  return [...kept, ...plan.inserts].map((b) => b.contact).sort();
}

describe("planRegister: a first registration", () => {
  it("inserts a binding with everything the REGISTER said", () => {
    const plan = planOf(
      planRegister(
        [],
        register({
          contacts: [{ uri: ` ${deskPhone} `, q: 0.8, instanceId: instance, regId: 1 }],
          expires: 600,
          path: ["<sip:edge-proxy.acme.test;lr>"],
          received: "203.0.113.5:5060",
          userAgent: "Yealink SIP-T46U",
          switchId: "switch-a",
        }),
        policy,
        now,
      ),
    );
    expect(plan).toEqual({
      inserts: [
        {
          aor,
          contact: deskPhone,
          instanceId: instance,
          regId: 1,
          callId: "new-call@192.0.2.99",
          cseq: 1,
          expiresAt: now + 600_000,
          q: 0.8,
          path: ["<sip:edge-proxy.acme.test;lr>"],
          received: "203.0.113.5:5060",
          userAgent: "Yealink SIP-T46U",
          switchId: "switch-a",
        },
      ],
      updates: [],
      deletes: [],
    });
  });

  it("fills absent optional facts with null and an empty path, and grants the default expiry", () => {
    const plan = planOf(planRegister([], register(), policy, now));
    expect(plan.inserts).toEqual([
      {
        aor,
        contact: deskPhone,
        instanceId: null,
        regId: null,
        callId: "new-call@192.0.2.99",
        cseq: 1,
        expiresAt: now + policy.defaultExpires * 1000,
        q: null,
        path: [],
        received: null,
        userAgent: null,
        switchId: null,
      },
    ]);
  });

  it("a REGISTER without contacts is a query and changes nothing", () => {
    expect(planRegister([binding(1)], register({ contacts: [] }), policy, now)).toEqual({
      ok: true,
      plan: { inserts: [], updates: [], deletes: [] },
    });
  });
});

describe("planRegister: refresh and CSeq ordering", () => {
  it("a refresh with a higher CSeq on the same Call-ID updates the binding", () => {
    const existing = [binding(1, { contact: deskPhone, callId: "c1", cseq: 10 })];
    const plan = planOf(planRegister(existing, register({ callId: "c1", cseq: 11, expires: 600 }), policy, now));
    expect(plan.inserts).toEqual([]);
    expect(plan.deletes).toEqual([]);
    expect(plan.updates).toHaveLength(1);
    expect(plan.updates[0]?.id).toBe(1);
    expect(plan.updates[0]?.fields).toMatchObject({ contact: deskPhone, callId: "c1", cseq: 11, expiresAt: now + 600_000 });
  });

  it("a REGISTER with a stale CSeq does not replace the newer binding", () => {
    const existing = [binding(1, { contact: deskPhone, callId: "c1", cseq: 10 })];
    for (const cseq of [10, 9]) {
      const outcome = planRegister(existing, register({ callId: "c1", cseq, expires: 600 }), policy, now);
      expect(outcome).toEqual({ ok: false, error: { code: "stale_cseq", callId: "c1", cseq } });
      if (!outcome.ok) expect(sipReplyFor(outcome.error).status).toBe(400);
    }
  });

  it("a stale CSeq on one contact refuses the whole REGISTER, not just that contact", () => {
    const existing = [binding(1, { contact: deskPhone, callId: "c1", cseq: 10 })];
    const outcome = planRegister(
      existing,
      register({ callId: "c1", cseq: 10, contacts: [{ uri: softphone }, { uri: deskPhone }] }),
      policy,
      now,
    );
    expect(outcome).toEqual({ ok: false, error: { code: "stale_cseq", callId: "c1", cseq: 10 } });
  });

  it("a lower CSeq from another Call-ID still replaces the binding (a rebooted phone)", () => {
    const existing = [binding(1, { contact: deskPhone, callId: "before-reboot", cseq: 500 })];
    const plan = planOf(planRegister(existing, register({ callId: "after-reboot", cseq: 1 }), policy, now));
    expect(plan.updates.map((u) => [u.id, u.fields.callId, u.fields.cseq])).toEqual([[1, "after-reboot", 1]]);
  });

  it("matches contact URIs after trimming whitespace", () => {
    const existing = [binding(1, { contact: deskPhone })];
    const plan = planOf(planRegister(existing, register({ contacts: [{ uri: `  ${deskPhone}\t` }] }), policy, now));
    expect(plan.updates.map((u) => u.id)).toEqual([1]);
    expect(plan.inserts).toEqual([]);
    // A stored contact with whitespace around it is the same contact too.
    const stored = [binding(2, { contact: ` ${softphone} ` })];
    const again = planOf(planRegister(stored, register({ contacts: [{ uri: softphone }] }), policy, now));
    expect(again.updates.map((u) => [u.id, u.fields.contact])).toEqual([[2, softphone]]);
    expect(again.inserts).toEqual([]);
  });

  it("a contact with another URI adds a second binding", () => {
    const existing = [binding(1, { contact: deskPhone })];
    const plan = planOf(planRegister(existing, register({ contacts: [{ uri: softphone }] }), policy, now));
    expect(plan.inserts.map((b) => b.contact)).toEqual([softphone]);
    expect(plan.updates).toEqual([]);
  });
});

describe("planRegister: RFC 5626 instance and reg-id", () => {
  it("a new contact with the same +sip.instance and reg-id replaces the device's stale binding", () => {
    const existing = [binding(1, { contact: "sip:1000@10.0.0.5:5060", instanceId: instance, regId: 1, callId: "old" })];
    const plan = planOf(
      planRegister(existing, register({ contacts: [{ uri: mobile, instanceId: instance, regId: 1 }] }), policy, now),
    );
    expect(plan.inserts).toEqual([]);
    expect(plan.updates).toHaveLength(1);
    expect(plan.updates[0]?.id).toBe(1);
    expect(plan.updates[0]?.fields).toMatchObject({ contact: mobile, instanceId: instance, regId: 1 });
  });

  it("the same +sip.instance without reg-id on both sides counts as the same binding", () => {
    const existing = [binding(1, { contact: "sip:1000@10.0.0.5:5060", instanceId: instance, regId: null })];
    const plan = planOf(planRegister(existing, register({ contacts: [{ uri: mobile, instanceId: instance }] }), policy, now));
    expect(plan.updates.map((u) => u.id)).toEqual([1]);
  });

  it("another reg-id of the same instance is a second flow, kept beside the first", () => {
    const existing = [binding(1, { contact: "sip:1000@10.0.0.5:5060", instanceId: instance, regId: 1 })];
    const plan = planOf(
      planRegister(existing, register({ contacts: [{ uri: mobile, instanceId: instance, regId: 2 }] }), policy, now),
    );
    expect(plan.updates).toEqual([]);
    expect(plan.inserts.map((b) => [b.contact, b.regId])).toEqual([[mobile, 2]]);
  });

  it("a contact with an instance does not match a binding by URI alone", () => {
    const existing = [binding(1, { contact: mobile, instanceId: null })];
    const plan = planOf(planRegister(existing, register({ contacts: [{ uri: mobile, instanceId: instance }] }), policy, now));
    expect(plan.updates).toEqual([]);
    expect(plan.inserts).toHaveLength(1);
  });

  it("a stale CSeq on the instance's binding refuses the REGISTER", () => {
    const existing = [binding(1, { instanceId: instance, regId: 1, callId: "c1", cseq: 7 })];
    const outcome = planRegister(
      existing,
      register({ callId: "c1", cseq: 7, contacts: [{ uri: mobile, instanceId: instance, regId: 1 }] }),
      policy,
      now,
    );
    expect(outcome).toEqual({ ok: false, error: { code: "stale_cseq", callId: "c1", cseq: 7 } });
  });
});

describe("planRegister: expiry", () => {
  it("an Expires below the minimum is answered 423 with Min-Expires", () => {
    const outcome = planRegister([], register({ expires: 30 }), policy, now);
    expect(outcome).toEqual({ ok: false, error: { code: "interval_too_brief", minExpires: 60 } });
    if (!outcome.ok) {
      expect(sipReplyFor(outcome.error)).toEqual({
        status: 423,
        reason: "Interval Too Brief",
        headers: { "Min-Expires": "60" },
      });
    }
  });

  it("one contact asking too brief an interval refuses the whole REGISTER", () => {
    const outcome = planRegister(
      [],
      register({ expires: 600, contacts: [{ uri: deskPhone }, { uri: softphone, expires: 10 }] }),
      policy,
      now,
    );
    expect(outcome).toEqual({ ok: false, error: { code: "interval_too_brief", minExpires: 60 } });
  });

  it("clamps a long request to the maximum and lets a contact's expires override the header", () => {
    const plan = planOf(
      planRegister(
        [],
        register({ expires: 86_400, contacts: [{ uri: deskPhone }, { uri: softphone, expires: 120 }] }),
        policy,
        now,
      ),
    );
    expect(plan.inserts.map((b) => [b.contact, b.expiresAt])).toEqual([
      [deskPhone, now + policy.maxExpires * 1000],
      [softphone, now + 120_000],
    ]);
  });

  it("a contact with expires=0 removes its binding and leaves the others", () => {
    const existing = [binding(1, { contact: deskPhone }), binding(2, { contact: softphone })];
    const plan = planOf(planRegister(existing, register({ contacts: [{ uri: softphone, expires: 0 }] }), policy, now));
    expect(plan).toEqual({ inserts: [], updates: [], deletes: [2] });
  });

  it("removing a contact the device does not hold changes nothing", () => {
    const existing = [binding(1, { contact: deskPhone })];
    const plan = planOf(planRegister(existing, register({ expires: 0, contacts: [{ uri: mobile }] }), policy, now));
    expect(plan).toEqual({ inserts: [], updates: [], deletes: [] });
  });
});

describe("planRegister: wildcard", () => {
  it("Contact: * with Expires: 0 removes every binding of the device", () => {
    const existing = [binding(1), binding(2), binding(3)];
    const plan = planOf(planRegister(existing, register({ contacts: "*", expires: 0 }), policy, now));
    expect(plan).toEqual({ inserts: [], updates: [], deletes: [1, 2, 3] });
  });

  it("a wildcard with Expires other than 0 is refused", () => {
    for (const expires of [undefined, 1, 3600]) {
      const outcome = planRegister([binding(1)], register({ contacts: "*", expires }), policy, now);
      expect(outcome).toEqual({ ok: false, error: { code: "invalid_wildcard" } });
      if (!outcome.ok) expect(sipReplyFor(outcome.error)).toMatchObject({ status: 400, reason: "Invalid wildcard Contact" });
    }
  });

  it("a wildcard older than a binding on the same Call-ID removes nothing", () => {
    const existing = [binding(1, { callId: "other" }), binding(2, { callId: "c1", cseq: 20 })];
    const outcome = planRegister(existing, register({ contacts: "*", expires: 0, callId: "c1", cseq: 20 }), policy, now);
    expect(outcome).toEqual({ ok: false, error: { code: "stale_cseq", callId: "c1", cseq: 20 } });
  });

  it("a '*' among ordinary contacts is refused as an invalid wildcard", () => {
    const outcome = planRegister([], register({ expires: 0, contacts: [{ uri: deskPhone }, { uri: "*" }] }), policy, now);
    expect(outcome).toEqual({ ok: false, error: { code: "invalid_wildcard" } });
  });
});

describe("planRegister: contacts within one REGISTER", () => {
  it("the same contact URI twice in one REGISTER keeps the last one", () => {
    const plan = planOf(
      planRegister(
        [],
        register({ contacts: [{ uri: deskPhone, expires: 600, q: 0.1 }, { uri: deskPhone, expires: 120, q: 0.9 }] }),
        policy,
        now,
      ),
    );
    expect(plan.inserts.map((b) => [b.contact, b.expiresAt, b.q])).toEqual([[deskPhone, now + 120_000, 0.9]]);
  });

  it("a contact repeated with expires=0 last is removed", () => {
    const existing = [binding(1, { contact: deskPhone })];
    const plan = planOf(
      planRegister(existing, register({ contacts: [{ uri: deskPhone }, { uri: deskPhone, expires: 0 }] }), policy, now),
    );
    expect(plan).toEqual({ inserts: [], updates: [], deletes: [1] });
  });

  it("a contact URI repeated with and without +sip.instance counts once, in its last form", () => {
    const existing = [binding(1, { contact: deskPhone, instanceId: instance, regId: 1 })];
    const plan = planOf(
      planRegister(
        existing,
        register({ contacts: [{ uri: softphone, instanceId: instance, regId: 1 }, { uri: softphone }] }),
        policy,
        now,
      ),
    );
    expect(plan).toMatchObject({ updates: [], deletes: [] });
    expect(plan.inserts.map((b) => [b.contact, b.instanceId])).toEqual([[softphone, null]]);
  });

  it("a Contact with an empty URI is a bad request", () => {
    const outcome = planRegister([], register({ contacts: [{ uri: deskPhone }, { uri: "  " }] }), policy, now);
    expect(outcome).toMatchObject({ ok: false, error: { code: "invalid_request" } });
  });

  it("a REGISTER without a Call-ID or with a negative CSeq is a bad request", () => {
    for (const callId of ["", "  \t"]) {
      expect(planRegister([], register({ callId }), policy, now)).toEqual({
        ok: false,
        error: { code: "invalid_request", detail: "the REGISTER has no Call-ID" },
      });
    }
    for (const cseq of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(planRegister([], register({ cseq }), policy, now)).toEqual({
        ok: false,
        error: { code: "invalid_request", detail: `CSeq ${cseq} is not a valid sequence number` },
      });
    }
  });

  it("CSeq 0 is a valid sequence number", () => {
    expect(planOf(planRegister([], register({ cseq: 0 }), policy, now)).inserts.map((b) => b.cseq)).toEqual([0]);
  });

  it("a Contact given twice counts at its last place among the others", () => {
    const plan = planOf(
      planRegister([], register({ contacts: [{ uri: deskPhone, q: 0.1 }, { uri: softphone }, { uri: deskPhone, q: 0.9 }] }), policy, now),
    );
    expect(plan.inserts.map((b) => [b.contact, b.q])).toEqual([
      [softphone, null],
      [deskPhone, 0.9],
    ]);
  });

  it("a new flow removed again by a later contact of the same REGISTER is not stored", () => {
    const plan = planOf(
      planRegister(
        [],
        register({ contacts: [{ uri: mobile, instanceId: instance, regId: 1 }, { uri: tablet, instanceId: instance, regId: 1, expires: 0 }] }),
        policy,
        now,
      ),
    );
    expect(plan).toEqual({ inserts: [], updates: [], deletes: [] });
  });
});

describe("planRegister: bindings per device", () => {
  const threePhones = [
    binding(1, { contact: deskPhone, updatedAt: now - 3 * minute }),
    binding(2, { contact: softphone, updatedAt: now - 9 * minute }),
    binding(3, { contact: mobile, updatedAt: now - 1 * minute }),
  ];

  it("max bindings rejects a fourth phone but still accepts a refresh", () => {
    const fourth = planRegister(threePhones, register({ contacts: [{ uri: tablet }] }), policy, now);
    expect(fourth).toEqual({ ok: false, error: { code: "too_many_bindings", max: 3 } });
    if (!fourth.ok) expect(sipReplyFor(fourth.error).status).toBe(503);

    const refresh = planOf(planRegister(threePhones, register({ contacts: [{ uri: softphone }] }), policy, now));
    expect(refresh.updates.map((u) => u.id)).toEqual([2]);
    expect(refresh.inserts).toEqual([]);
  });

  it("a fourth phone fits when the same REGISTER removes another binding", () => {
    const plan = planOf(
      planRegister(threePhones, register({ contacts: [{ uri: mobile, expires: 0 }, { uri: tablet }] }), policy, now),
    );
    expect(contactsAfter(threePhones, plan)).toEqual([deskPhone, softphone, tablet].sort());
  });

  it("a refresh is accepted even when the device is over a lowered limit", () => {
    const plan = planOf(
      planRegister(threePhones, register({ contacts: [{ uri: deskPhone }] }), { ...policy, maxBindingsPerDevice: 1 }, now),
    );
    expect(plan.updates.map((u) => u.id)).toEqual([1]);
    expect(plan.deletes).toEqual([]);
  });

  it("replace_oldest drops the least recently refreshed binding", () => {
    const replaceOldest: RegistrationPolicy = { ...policy, overflow: "replace_oldest" };
    const plan = planOf(planRegister(threePhones, register({ contacts: [{ uri: tablet }] }), replaceOldest, now));
    expect(plan.deletes).toEqual([2]);
    expect(plan.inserts.map((b) => b.contact)).toEqual([tablet]);
  });

  it("replace_oldest never drops a binding the same REGISTER refreshed", () => {
    const replaceOldest: RegistrationPolicy = { ...policy, overflow: "replace_oldest" };
    const plan = planOf(
      planRegister(threePhones, register({ contacts: [{ uri: softphone }, { uri: tablet }] }), replaceOldest, now),
    );
    expect(plan.updates.map((u) => u.id)).toEqual([2]);
    expect(plan.deletes).toEqual([1]);
    expect(contactsAfter(threePhones, plan)).toEqual([softphone, mobile, tablet].sort());
  });

  it("replace_oldest drops the binding stored first among those refreshed at the same time", () => {
    const replaceOldest: RegistrationPolicy = { ...policy, maxBindingsPerDevice: 2, overflow: "replace_oldest" };
    const sameTime = [binding(7, { contact: deskPhone, updatedAt: now - minute }), binding(4, { contact: softphone, updatedAt: now - minute })];
    const plan = planOf(planRegister(sameTime, register({ contacts: [{ uri: tablet }] }), replaceOldest, now));
    expect(plan.deletes).toEqual([4]);
  });

  it("replace_oldest still refuses a REGISTER that alone brings more contacts than the limit", () => {
    const replaceOldest: RegistrationPolicy = { ...policy, maxBindingsPerDevice: 1, overflow: "replace_oldest" };
    const outcome = planRegister([], register({ contacts: [{ uri: deskPhone }, { uri: tablet }] }), replaceOldest, now);
    expect(outcome).toEqual({ ok: false, error: { code: "too_many_bindings", max: 1 } });
  });
});

describe("the default registration policy", () => {
  it("refuses a phone past the limit rather than replacing one", () => {
    const full = Array.from({ length: DEFAULT_POLICY.maxBindingsPerDevice }, (_, i) => binding(i + 1));
    expect(DEFAULT_POLICY.overflow).toBe("reject");
    expect(planRegister(full, register({ contacts: [{ uri: tablet }] }), DEFAULT_POLICY, now)).toEqual({
      ok: false,
      error: { code: "too_many_bindings", max: DEFAULT_POLICY.maxBindingsPerDevice },
    });
  });
});

describe("planRegister: properties", () => {
  const uris = [deskPhone, softphone, mobile, tablet, "sip:1000@192.0.2.1:5060", " ", ""];
  const instances = [instance, "<urn:uuid:11111111-2222-3333-4444-555555555555>"];
  const callIds = ["c1", "c2", "c3"];

  const existingArb = fc
    .uniqueArray(
      fc.record({
        id: fc.integer({ min: 1, max: 1000 }),
        contact: fc.constantFrom(...uris.slice(0, 5)),
        instanceId: fc.option(fc.constantFrom(...instances), { nil: null }),
        regId: fc.option(fc.integer({ min: 1, max: 2 }), { nil: null }),
        callId: fc.constantFrom(...callIds),
        cseq: fc.integer({ min: 0, max: 20 }),
        updatedAt: fc.integer({ min: now - 60 * minute, max: now }),
      }),
      { selector: (b) => b.id, maxLength: 8 },
    )
    .map((rows) => rows.map((row) => binding(row.id, row)));

  /** Anything an adapter might let through, including garbage. */
  const anyContactArb = fc.record(
    {
      uri: fc.constantFrom(...uris, "*"),
      expires: fc.oneof(fc.integer({ min: -10, max: 5000 }), fc.double()),
      instanceId: fc.constantFrom(...instances),
      regId: fc.integer({ min: 1, max: 2 }),
      q: fc.double({ min: 0, max: 1, noNaN: true }),
    },
    { requiredKeys: ["uri"] },
  );

  const anyRequestArb: fc.Arbitrary<RegisterRequest> = fc.record(
    {
      aor: fc.constant(aor),
      callId: fc.constantFrom(...callIds, ""),
      cseq: fc.oneof(fc.integer({ min: -1, max: 25 }), fc.double()),
      contacts: fc.oneof(fc.constant("*" as const), fc.array(anyContactArb, { maxLength: 6 })),
      expires: fc.oneof(fc.constantFrom(0, 30, 300, 7200), fc.integer({ min: -5, max: 5000 }), fc.double()),
      path: fc.array(fc.constantFrom("<sip:p1.acme.test;lr>", "<sip:p2.acme.test;lr>"), { maxLength: 2 }),
      switchId: fc.constantFrom("switch-a", "switch-b"),
    },
    { requiredKeys: ["aor", "callId", "cseq", "contacts"] },
  );

  /** REGISTERs a well-behaved adapter would pass on: most of them succeed. */
  const validExpiresArb = fc.constantFrom(0, 120, 300, 3600, 7200);
  const contactArb = fc.record(
    {
      uri: fc.constantFrom(...uris.slice(0, 5)),
      expires: validExpiresArb,
      instanceId: fc.constantFrom(...instances),
      regId: fc.integer({ min: 1, max: 2 }),
      q: fc.double({ min: 0, max: 1, noNaN: true }),
    },
    { requiredKeys: ["uri"] },
  );

  const requestArb: fc.Arbitrary<RegisterRequest> = fc.record(
    {
      aor: fc.constant(aor),
      callId: fc.constantFrom(...callIds),
      cseq: fc.integer({ min: 0, max: 40 }),
      contacts: fc.oneof(
        { weight: 1, arbitrary: fc.constant("*" as const) },
        { weight: 9, arbitrary: fc.array(contactArb, { minLength: 1, maxLength: 6 }) },
      ),
      expires: validExpiresArb,
      path: fc.array(fc.constantFrom("<sip:p1.acme.test;lr>", "<sip:p2.acme.test;lr>"), { maxLength: 2 }),
      switchId: fc.constantFrom("switch-a", "switch-b"),
    },
    { requiredKeys: ["aor", "callId", "cseq", "contacts"] },
  )
    // A phone removing all its bindings says Expires: 0 with the wildcard.
    .map((request) => (request.contacts === "*" ? { ...request, expires: 0 } : request));

  const policyArb: fc.Arbitrary<RegistrationPolicy> = fc
    .tuple(fc.integer({ min: 1, max: 150 }), fc.integer({ min: 0, max: 7200 }))
    .chain(([minExpires, extra]) =>
      fc.record({
        minExpires: fc.constant(minExpires),
        maxExpires: fc.constant(minExpires + extra),
        defaultExpires: fc.integer({ min: 60, max: 3600 }),
        maxBindingsPerDevice: fc.integer({ min: 1, max: 5 }),
        overflow: fc.constantFrom("reject" as const, "replace_oldest" as const),
        expiresJitter: fc.constantFrom(0, 0.1, 0.5),
      }),
    );

  /**
   * Checks a property of the plans made for well-behaved REGISTERs. The refused ones are checked by
   * the properties above; this fails unless a good share of the generated REGISTERs (about 60 % by
   * construction; 40 % at the least) produced a plan to check.
   */
  function forEveryPlan(check: (existing: Binding[], request: RegisterRequest, p: RegistrationPolicy, plan: SavePlan) => void) {
    let runs = 0;
    let planned = 0;
    fc.assert(
      fc.property(existingArb, requestArb, policyArb, (existing, request, p) => {
        runs += 1;
        const outcome = planRegister(existing, request, p, now);
        if (!outcome.ok) return;
        planned += 1;
        check(existing, request, p, outcome.plan);
      }),
    );
    expect(planned / runs).toBeGreaterThanOrEqual(0.4);
  }

  /** The refusal a REGISTER can get, with exactly the facts it must carry. */
  function expectKnownRefusal(error: RegistrarError, request: RegisterRequest, p: RegistrationPolicy) {
    switch (error.code) {
      case "stale_cseq":
        return expect(error).toEqual({ code: "stale_cseq", callId: request.callId, cseq: request.cseq });
      case "interval_too_brief":
        return expect(error).toEqual({ code: "interval_too_brief", minExpires: p.minExpires });
      case "too_many_bindings":
        return expect(error).toEqual({ code: "too_many_bindings", max: p.maxBindingsPerDevice });
      case "invalid_wildcard":
        return expect(error).toEqual({ code: "invalid_wildcard" });
      case "invalid_request":
        return expect(error).toEqual({ code: "invalid_request", detail: expect.stringMatching(/Call-ID|CSeq|empty URI/) });
      default:
        throw new Error(`unknown refusal ${JSON.stringify(error)}`);
    }
  }

  it("returns a plan or one of the registrar's refusals with its facts, never throwing, for any REGISTER", () => {
    fc.assert(
      fc.property(existingArb, anyRequestArb, policyArb, (existing, request, p) => {
        const outcome = planRegister(existing, request, p, now);
        if (outcome.ok) expect(Object.keys(outcome.plan).sort()).toEqual(["deletes", "inserts", "updates"]);
        else expectKnownRefusal(outcome.error, request, p);
      }),
    );
  });

  it("refuses a well-behaved REGISTER only for a rule it breaks, naming that rule's facts", () => {
    fc.assert(
      fc.property(existingArb, requestArb, policyArb, (existing, request, p) => {
        const outcome = planRegister(existing, request, p, now);
        if (outcome.ok) return;
        expectKnownRefusal(outcome.error, request, p);
        // Nothing in these REGISTERs is malformed: only policy and ordering refuse them.
        expect(["stale_cseq", "interval_too_brief", "too_many_bindings", "invalid_wildcard"]).toContain(outcome.error.code);
      }),
    );
  });

  it("never plans more live bindings than the limit, unless the REGISTER only refreshes or removes", () => {
    forEveryPlan((existing, _request, p, plan) => {
      const { inserts, deletes } = plan;
      const live = existing.length - deletes.length + inserts.length;
      if (inserts.length > 0) expect(live).toBeLessThanOrEqual(p.maxBindingsPerDevice);
      else expect(live).toBeLessThanOrEqual(Math.max(existing.length, p.maxBindingsPerDevice));
    });
  });

  it("only deletes and updates bindings that exist, each at most once and never both", () => {
    forEveryPlan((existing, _request, _p, plan) => {
      const ids = new Set(existing.map((b) => b.id));
      const { updates, deletes } = plan;
      const updatedIds = updates.map((u) => u.id);
      for (const id of [...deletes, ...updatedIds]) expect(ids.has(id)).toBe(true);
      expect(new Set(deletes).size).toBe(deletes.length);
      expect(new Set(updatedIds).size).toBe(updatedIds.length);
      for (const id of updatedIds) expect(deletes).not.toContain(id);
    });
  });

  it("writes only bindings for the future, carrying the REGISTER's Call-ID and CSeq", () => {
    forEveryPlan((_existing, request, p, plan) => {
      const written = [...plan.inserts, ...plan.updates.map((u) => u.fields)];
      for (const fields of written) {
        expect(fields.expiresAt).toBeGreaterThanOrEqual(now + p.minExpires * 1000);
        expect(fields.expiresAt).toBeLessThanOrEqual(now + p.maxExpires * 1000);
        expect(fields.callId).toBe(request.callId);
        expect(fields.cseq).toBe(request.cseq);
        expect(fields.contact.trim()).not.toBe("");
      }
      const contacts = written.filter((f) => f.instanceId === null).map((f) => f.contact);
      expect(new Set(contacts).size).toBe(contacts.length);
    });
  });

  it("never replaces a binding held with a newer or equal CSeq on the same Call-ID", () => {
    forEveryPlan((existing, request, _p, plan) => {
      const byId = new Map(existing.map((b) => [b.id, b]));
      for (const { id } of plan.updates) {
        const before = byId.get(id);
        if (before?.callId === request.callId) expect(before.cseq).toBeLessThan(request.cseq);
      }
    });
  });

  it("does not modify the bindings or the REGISTER it is given", () => {
    fc.assert(
      fc.property(existingArb, anyRequestArb, policyArb, (existing, request, p) => {
        const existingCopy = structuredClone(existing);
        const requestCopy = structuredClone(request);
        const outcome = planRegister(existing, request, p, now);
        expect(existing).toEqual(existingCopy);
        expect(request).toEqual(requestCopy);
        if (outcome.ok && request.path !== undefined) {
          for (const fields of outcome.plan.inserts) expect(fields.path).not.toBe(request.path);
        }
      }),
    );
  });
});
