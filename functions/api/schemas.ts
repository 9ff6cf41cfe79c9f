// Request and response schemas of the provisioning API. The same schemas validate requests
// and generate the OpenAPI document, so the two cannot drift apart.
import { z } from "@hono/zod-openapi";
import { EVENT_TYPES } from "../../durable-objects/account-registrar/events";
import { REGION_HINTS } from "../../durable-objects/account-registrar/records";
import { parseSipUri } from "../../registrar/sip-uri";

// ── field rules ──────────────────────────────────────────────────────────────

/**
 * Text that can go anywhere the edge writes it (FreeSWITCH XML, SIP headers, the console): no C0
 * control (U+0000-U+001F, TAB and line breaks included), no DEL, no U+FFFE/U+FFFF, no lone
 * surrogate. Every free-text string field of the API is built on it.
 */
export const PlainText = z
  .string()
  .regex(/^[^\u0000-\u001F\u007F\uFFFE\uFFFF\uD800-\uDFFF]*$/u, "control characters (U+0000-U+001F, U+007F), U+FFFE/U+FFFF and lone surrogates are not allowed");

export const Realm = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, "a lowercase host name, e.g. acme.sip.example.net")
  .openapi({ example: "acme.sip.example.net", description: "SIP domain the account's devices register to; also its digest realm. Fixed once created." });

export const Username = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._~+-]+$/, "letters, digits and . _ ~ + - only")
  .openapi({ example: "1001", description: "SIP user part of the device's address of record." });

export const Password = PlainText
  .min(8, "at least 8 characters")
  .max(128)
  .openapi({ example: "s3cret-1001", description: "Write-only. Stored as digest HA1 values (MD5 and SHA-256), never as text." });

export const E164 = z
  .string()
  .regex(/^\+[1-9][0-9]{6,14}$/, "an E.164 number such as +14155550100")
  .openapi({ example: "+14155550100" });

export const DisplayName = PlainText.min(1).max(100);
export const CallerIdNumber = z.string().regex(/^\+?[0-9*#]{1,32}$/, "digits, optionally with a leading +");

export const RegionHint = z
  .enum(REGION_HINTS)
  .openapi({ description: "Durable Object location hint: where the account's object is created. Put it near the switches that serve the account." });

export const JurisdictionSchema = z
  .enum(["eu"])
  .openapi({ description: "Keep the account's object and its data inside the EU. Its realm is then served by switches whose credential is issued for the EU jurisdiction." });

const Seconds = z.number().int().min(1).max(86_400);

export const PolicyInput = z
  .object({
    minExpires: Seconds.optional(),
    maxExpires: Seconds.optional(),
    defaultExpires: Seconds.optional(),
    maxBindingsPerDevice: z.number().int().min(1).max(100).optional(),
    overflow: z.enum(["reject", "replace_oldest"]).optional(),
    expiresJitter: z.number().min(0).max(0.5).optional(),
  })
  .strict()
  .openapi("RegistrationPolicyInput");

export const LockoutInput = z
  .object({
    threshold: z.number().int().min(1).max(100).optional(),
    windowSeconds: Seconds.optional(),
    durationSeconds: z.number().int().min(1).max(604_800).optional(),
    deviceThreshold: z.number().int().min(2).max(10_000).optional(),
  })
  .strict()
  .openapi("LockoutPolicyInput");

export const Lockout = z
  .object({
    threshold: z
      .number()
      .int()
      .openapi({ description: "Wrong digests from one source address within the window that lock that source out of the device (on every switch); the device keeps working from other addresses." }),
    windowSeconds: z.number().int().openapi({ description: "How long failures count from a source's first one (s)." }),
    durationSeconds: z.number().int().openapi({ description: "How long a lock lasts (s); an operator can lift it earlier." }),
    deviceThreshold: z
      .number()
      .int()
      .openapi({ description: "Distinct source addresses failing within the window that lock the whole device (distributed guessing); even then the addresses it is registered from are not refused." }),
  })
  .openapi("LockoutPolicy");


export const Policy = z
  .object({
    minExpires: Seconds.openapi({ description: "Shortest registration accepted (s); shorter gets 423 Interval Too Brief." }),
    maxExpires: Seconds.openapi({ description: "Longest registration granted (s); longer is shortened." }),
    defaultExpires: Seconds.openapi({ description: "Granted when a REGISTER names no expiry (s)." }),
    maxBindingsPerDevice: z.number().int().openapi({ description: "Live contacts one device may hold." }),
    overflow: z.enum(["reject", "replace_oldest"]).openapi({ description: "A REGISTER beyond the limit is refused (503) or replaces the least recently refreshed binding." }),
    expiresJitter: z.number().openapi({ description: "Forced intervals handed to switches vary by ± this fraction (0.1 = ±10 %), spreading refreshes." }),
  })
  .openapi("RegistrationPolicy");

export const CallPolicyInput = z
  .object({
    allowedAccounts: z
      .array(z.string().regex(/^[0-9a-f]{64}$/, "an account id (64 hex digits)"))
      .max(100)
      .openapi({ description: "Ids of the other accounts whose devices this account's devices may call by address (user@realm). Empty: calls stay in the account." }),
  })
  .strict()
  .openapi("CallPolicyInput", { description: "Set by the operator only: calling into another account reaches that account's devices." });

export const CallPolicy = z
  .object({
    allowedAccounts: z.array(z.string()).openapi({ description: "Other accounts this account's devices may call by address; numbers (DIDs) are reachable from anywhere." }),
  })
  .openapi("CallPolicy");

const Timestamp = z.string().openapi({ format: "date-time", example: "2026-11-25T19:31:15.000Z" });
export const AccountId = z.string().regex(/^[0-9a-f]{64}$/, "an account id (64 hex digits)");

// ── path and query parameters ────────────────────────────────────────────────

export const AccountParams = z.object({
  accountId: AccountId.openapi({ param: { name: "accountId", in: "path" } }),
});

export const Pagination = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(500)
    .default(50)
    .openapi({ param: { name: "limit", in: "query" }, description: "Items per page (1-500, default 50)." }),
  after: PlainText
    .min(1)
    .max(200)
    .optional()
    .openapi({ param: { name: "after", in: "query" }, description: "The `next` value of the previous page." }),
});

export function pageOf<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      items: z.array(item),
      next: z.string().nullable().openapi({ description: "Cursor for the following page, null on the last page." }),
    })
    .openapi(name);
}

// ── resources ────────────────────────────────────────────────────────────────

export const AccountCreate = z
  .object({
    realm: Realm,
    name: DisplayName,
    regionHint: RegionHint.optional(),
    jurisdiction: JurisdictionSchema.optional(),
    policy: PolicyInput.optional(),
    lockout: LockoutInput.optional(),
    calls: CallPolicyInput.optional(),
  })
  .strict()
  .openapi("AccountCreate");

export const AccountUpdate = z
  .object({ name: DisplayName.optional(), policy: PolicyInput.optional(), lockout: LockoutInput.optional(), calls: CallPolicyInput.optional() })
  .strict()
  .openapi("AccountUpdate");

export const Account = z
  .object({
    id: AccountId,
    realm: Realm,
    name: z.string(),
    regionHint: RegionHint.nullable(),
    jurisdiction: JurisdictionSchema.nullable(),
    policy: Policy,
    lockout: Lockout,
    calls: CallPolicy,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Account");

export const AccountSummary = Account.pick({ id: true, realm: true, name: true, regionHint: true, jurisdiction: true, createdAt: true }).openapi(
  "AccountSummary",
);

export const DeviceCreate = z
  .object({
    username: Username,
    password: Password,
    callerIdName: DisplayName.nullable().optional(),
    callerIdNumber: CallerIdNumber.nullable().optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .openapi("DeviceCreate");

export const DeviceUpdate = DeviceCreate.partial().strict().openapi("DeviceUpdate");

export const SourceLock = z
  .object({
    source: z.string().openapi({ description: "The refused address: IPv4, or an IPv6 /64.", example: "203.0.113.7" }),
    failures: z.number().int().openapi({ description: "Wrong or refused attempts from it in the current window." }),
    lockedUntil: Timestamp,
    lastAttemptAt: Timestamp,
  })
  .openapi("SourceLock");

export const DeviceLockout = z
  .object({
    deviceId: z.string(),
    lockedUntil: Timestamp.nullable().openapi({ description: "Set while the whole device is locked (wrong digests from many sources)." }),
    sources: z.array(SourceLock).openapi({ description: "Source addresses refused for this device now, and why." }),
  })
  .openapi("DeviceLockout");

export const LockoutsQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(200)
    .openapi({ param: { name: "limit", in: "query" }, description: "At most this many locked devices, and this many locked sources (1-1000, default 200)." }),
});

export const AccountLockouts = z
  .object({
    devices: z
      .array(z.object({ deviceId: z.string(), username: z.string(), lockedUntil: Timestamp }))
      .openapi({ description: "Devices locked as a whole (wrong digests from many addresses), the latest-ending lock first." }),
    sources: z
      .array(
        SourceLock.extend({
          deviceId: z.string().nullable().openapi({ description: "The device the address is locked out of; null for a username the account does not have." }),
          username: z.string().nullable(),
        }),
      )
      .openapi({ description: "Source addresses locked out of one device (or one unknown username) each, the latest-ending lock first." }),
    truncated: z.boolean().openapi({ description: "Either list had more entries than `limit`." }),
  })
  .openapi("AccountLockouts");

const AuthCounts = z
  .object({
    ok: z.number().int().openapi({ description: "Right digests (a REGISTER the registrar rules then refused included)." }),
    failed: z.number().int().openapi({ description: "Wrong digests, unknown usernames, replayed nonces." }),
    locked: z.number().int().openapi({ description: "Attempts refused by a lock of their source or of the device." }),
  })
  .openapi("AuthCounts");

export const AccountMetricsSummary = z
  .object({
    accountId: z.string(),
    at: Timestamp,
    bindings: z.number().int().openapi({ description: "Live registrations now." }),
    authentications: z.object({ REGISTER: AuthCounts, INVITE: AuthCounts, OTHER: AuthCounts }).openapi({
      description: "Digest authentications by method and outcome, counted by the account's object since its counters began (they never go back, except when the object restarts with counts no reader had seen yet).",
    }),
    lockouts: z.object({ source: z.number().int(), device: z.number().int() }).openapi({ description: "Locks set: one address out of a device, or a whole device." }),
    webhookDeliveries: z.object({ ok: z.number().int(), failed: z.number().int(), dead_lettered: z.number().int() }),
    outboxDepth: z.number().int(),
  })
  .openapi("AccountMetrics");

export const Device = z
  .object({
    id: z.string(),
    username: Username,
    callerIdName: z.string().nullable(),
    callerIdNumber: z.string().nullable(),
    enabled: z.boolean(),
    lockedUntil: Timestamp.nullable().openapi({
      description: "Set while wrong digests from many sources keep the whole device locked (its own addresses excepted); source locks: GET …/lockout.",
    }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Device");

export const DeviceParams = AccountParams.extend({
  deviceId: PlainText.min(1).max(64).openapi({ param: { name: "deviceId", in: "path" } }),
});

export const NumberCreate = z
  .object({
    number: E164,
    deviceId: PlainText.min(1).max(64).nullable().optional().openapi({ description: "Device the number rings; omit or null to route it to the account." }),
  })
  .strict()
  .openapi("NumberCreate");

export const NumberUpdate = z
  .object({ deviceId: PlainText.min(1).max(64).nullable() })
  .strict()
  .openapi("NumberUpdate");

export const PhoneNumber = z
  .object({ number: E164, deviceId: z.string().nullable(), createdAt: Timestamp })
  .openapi("Number");

export const NumberParams = AccountParams.extend({
  number: E164.openapi({ param: { name: "number", in: "path" } }),
});

export const Registration = z
  .object({
    id: z.number().int(),
    deviceId: z.string(),
    aor: z.string().openapi({ example: "sip:1001@acme.sip.example.net" }),
    contact: z.string().openapi({ example: "sip:1001@192.0.2.10:5060;transport=udp" }),
    instanceId: z.string().nullable(),
    regId: z.number().int().nullable(),
    callId: z.string(),
    cseq: z.number().int(),
    q: z.number().nullable(),
    path: z.array(z.string()),
    received: z.string().nullable(),
    userAgent: z.string().nullable(),
    switchId: z.string().nullable().openapi({ description: "The switch holding this registration; calls reach the contact through it." }),
    expiresAt: Timestamp,
    expiresIn: z.number().int().openapi({ description: "Seconds until the binding expires." }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Registration");

export const RegistrationQuery = Pagination.extend({
  deviceId: PlainText.min(1).max(64).optional().openapi({ param: { name: "deviceId", in: "query" }, description: "Only this device's registrations." }),
});

export const RegistrationParams = AccountParams.extend({
  registrationId: z.coerce.number().int().min(1).openapi({ param: { name: "registrationId", in: "path" } }),
});

const SwitchScope = z
  .array(AccountId)
  .min(1)
  .max(1000)
  .nullable()
  .openapi({
    description:
      "The accounts this switch may act for; a callback for any other account is answered as for an unknown one. Null or absent: every account of its jurisdiction (one operator's own fleet).",
  });

export const SwitchCreate = z
  .object({
    name: z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, "letters, digits and . _ - only"),
    address: z
      .string()
      .max(255)
      .regex(/^sips?:[^\s<>"]+$/, "a SIP URI such as sip:10.0.0.4:5060")
      .refine((address) => parseSipUri(address) !== null, "a SIP URI such as sip:10.0.0.4:5060")
      .openapi({ description: "SIP URI peer switches use to reach this one." }),
    jurisdiction: JurisdictionSchema.optional(),
    accounts: SwitchScope.optional(),
  })
  .strict()
  .openapi("SwitchCreate");

export const SwitchUpdate = z
  .object({
    name: SwitchCreate.shape.name.optional(),
    address: SwitchCreate.shape.address.optional(),
    accounts: SwitchScope.optional(),
  })
  .strict()
  .openapi("SwitchUpdate");

export const Switch = z
  .object({
    id: z.string(),
    name: z.string(),
    address: z.string(),
    jurisdiction: JurisdictionSchema.nullable(),
    accounts: z.array(z.string()).nullable().openapi({ description: "The accounts this switch may act for; null: every account of its jurisdiction." }),
    credentialIssuedAt: Timestamp.openapi({ description: "Credentials issued before this instant are refused." }),
    state: z.enum(["alive", "draining", "lost", "unseen"]).openapi({
      description: "lost: silent longer than SWITCH_LOST_AFTER_MS (its bindings are not offered to calls); draining: set by an operator.",
    }),
    draining: z.boolean().openapi({ description: "An operator has set a drain (state shows lost instead while a draining switch is silent)." }),
    lastSeenAt: Timestamp.nullable().openapi({ description: "Last authenticated callback or keepalive (recorded at most every few seconds)." }),
    bindingsHeld: z.number().int().optional().openapi({ description: "Live registrations this switch holds, over every account (single-switch reads only)." }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Switch");

export const SwitchWithCredential = z
  .object({
    switch: Switch,
    credential: z.string().openapi({ description: "Shown once. The switch sends it on every callback; see docs/switch-credentials." }),
  })
  .openapi("SwitchWithCredential");

export const SwitchParams = z.object({
  switchId: PlainText.min(1).max(64).openapi({ param: { name: "switchId", in: "path" } }),
});

export const ApiKeyCreate = z.object({ name: DisplayName }).strict().openapi("ApiKeyCreate");

export const ApiKey = z
  .object({ id: z.string(), accountId: AccountId, name: z.string(), createdAt: Timestamp })
  .openapi("ApiKey");

export const ApiKeyWithSecret = z
  .object({ apiKey: ApiKey, key: z.string().openapi({ description: "Shown once; only its hash is kept." }) })
  .openapi("ApiKeyWithSecret");

export const ApiKeyParams = AccountParams.extend({
  keyId: z.string().regex(/^[0-9a-f]{20}$/, "an API key id").openapi({ param: { name: "keyId", in: "path" } }),
});

export const Deleted = z.object({ deleted: z.union([z.string(), z.number()]) }).openapi("Deleted");

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z
      .array(
        z.object({
          field: z.string(),
          message: z.string(),
          row: z.number().int().optional().openapi({ description: "Imports: the 1-based data row at fault." }),
          line: z.number().int().optional().openapi({ description: "Imports from CSV: the line of the file where that row starts (the header is line 1)." }),
        }),
      )
      .optional(),
  })
  .openapi("Problem");

export const RegistrarEventSchema = z
  .object({
    seq: z.number().int().openapi({ description: "Per-account sequence number; resume after it with `since`." }),
    type: z.enum(EVENT_TYPES),
    at: Timestamp,
    deviceId: z.string().nullable(),
    username: z.string().nullable(),
    contact: z.string().nullable(),
    source: z.string().nullable(),
    switchId: z.string().nullable(),
  })
  .openapi("Event");

export const EventsQuery = z.object({
  since: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .openapi({ param: { name: "since", in: "query" }, description: "Only events after this sequence number." }),
  limit: z.coerce.number().int().min(1).max(500).default(100).openapi({ param: { name: "limit", in: "query" } }),
  refreshed: z
    .enum(["true", "false"])
    .default("false")
    .openapi({ param: { name: "refreshed", in: "query" }, description: "WebSocket only: also stream binding.refreshed events." }),
});

// ── bulk import and export ───────────────────────────────────────────────────

export const ImportQuery = z.object({
  format: z
    .enum(["edge", "kamailio", "fusionpbx", "kazoo"])
    .default("edge")
    .openapi({ param: { name: "format", in: "query" }, description: "Which columns the rows have (docs/api.md, \"Imports\"): the edge's own, Kamailio `subscriber`, FusionPBX extensions, Kazoo devices." }),
  mode: z
    .enum(["all", "good-rows"])
    .default("all")
    .openapi({ param: { name: "mode", in: "query" }, description: "all: a file with a refused row imports nothing (422 naming each row); good-rows: the valid rows are imported and the refused ones reported on the job." }),
});

export const ImportRowError = z
  .object({
    row: z.number().int().openapi({ description: "1-based position among the data rows." }),
    line: z.number().int().optional().openapi({ description: "CSV: the line where the row starts (the header is line 1)." }),
    field: z.string().openapi({ description: "The file's column at fault." }),
    message: z.string(),
  })
  .openapi("ImportRowError");

export const ImportJobSchema = z
  .object({
    id: z.string(),
    state: z.enum(["receiving", "running", "done", "failed"]),
    mode: z.enum(["all", "good-rows"]),
    format: z.string(),
    total: z.number().int().openapi({ description: "Data rows in the file." }),
    done: z.number().int().openapi({ description: "Rows handled so far (imported or refused)." }),
    created: z.number().int().openapi({ description: "New devices." }),
    updated: z.number().int().openapi({ description: "Existing devices (same username) changed." }),
    refused: z.number().int(),
    errors: z.array(ImportRowError).openapi({ description: "The refused rows (the first 1,000)." }),
    detail: z.string().nullable(),
    ignoredColumns: z.array(z.string()).optional().openapi({ description: "Columns of the file the format does not read (on the answer to the POST only)." }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("ImportJob");

export const ImportParams = AccountParams.extend({
  importId: PlainText.min(1).max(64).openapi({ param: { name: "importId", in: "path" } }),
});
