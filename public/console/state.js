// The console's shared state and constants: the signed-in key, the open account and its live data.

export const API = "/api/v1";
export const KEY_STORAGE = "whistle-edge.console.apiKey";
export const EVENTS_PROTOCOL = "whistle-edge.events.v1";
export const PAGE = 500;

export const state = {
  key: null,
  /** "operator" or "account" */
  kind: null,
  /** The account an account key belongs to. */
  ownAccountId: null,
  ownRealm: null,
  /** switch id → name (the operator can list switches; an account key cannot). */
  switchNames: new Map(),
  view: null,
  account: null,
  devices: new Map(),
  numbers: [],
  /** registration id → { reg, deadline (client clock ms) } */
  registrations: new Map(),
  socket: null,
  lastSeq: 0,
  backoff: 1000,
  reconnectTimer: null,
  pingTimer: null,
  tickTimer: null,
  refreshTimer: null,
  expiryTimer: null,
  announceTimer: null,
  registrationsLoaded: false,
  /** The switches view while it is open: { switches, bindings, bindingsAt, lastSeq, timer }. */
  fleet: null,
  /** The account's chart while the account is open (chart.js). */
  chart: null,
  /** The import being followed (imports.js): a token, replaced when another follow starts. */
  importFollow: null,
};
