// Whistle Edge console: one ES module, no framework. Same-origin calls to /api/v1 with the API key
// kept in sessionStorage; live registrations over the account's event WebSocket.
const API = "/api/v1";
const KEY_STORAGE = "whistle-edge.console.apiKey";
const EVENTS_PROTOCOL = "whistle-edge.events.v1";
const PAGE = 500;

const $ = (id) => document.getElementById(id);

const state = {
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
};

// ── API ─────────────────────────────────────────────────────────────────────

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function api(method, path, body, key = state.key) {
  const headers = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { title: "Network error", detail: "the edge could not be reached; check the connection and try again" });
  }
  const type = response.headers.get("content-type") ?? "";
  const data = type.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    const problem = data && typeof data === "object" ? data : { title: response.statusText || "Error", detail: `the edge answered HTTP ${response.status}` };
    const error = new ApiError(response.status, { status: response.status, ...problem });
    // A key that stops working while signed in (revoked): back to the sign-in screen.
    if (response.status === 401 && key === state.key && state.key) signOut("Your API key is no longer accepted. Sign in again.");
    throw error;
  }
  return data;
}

/** Every page of a list (`{items, next}`). */
async function listAll(path) {
  const items = [];
  let after = null;
  for (let page = 0; page < 50; page++) {
    const sep = path.includes("?") ? "&" : "?";
    const data = await api("GET", `${path}${sep}limit=${PAGE}${after === null ? "" : `&after=${encodeURIComponent(after)}`}`);
    items.push(...data.items);
    if (data.next === null || data.next === undefined) break;
    after = data.next;
  }
  return items;
}

const accountPath = (suffix = "") => `/accounts/${encodeURIComponent(state.account.id)}${suffix}`;

// ── problem documents next to the fields they name ──────────────────────────

let errorIds = 0;

function clearErrors(form) {
  for (const slot of form.querySelectorAll("[data-error-for]")) {
    slot.hidden = true;
    slot.textContent = "";
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

function fieldInput(form, field) {
  const input = form.elements.namedItem(field);
  return input instanceof HTMLElement ? input : null;
}

function showProblem(form, error) {
  clearErrors(form);
  const problem = error instanceof ApiError ? error.problem : { title: "Error", detail: String(error?.message ?? error) };
  const others = [];
  let first = null;
  for (const { field, message } of problem.errors ?? []) {
    const input = fieldInput(form, field);
    const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
    if (input && slot) {
      slot.textContent = slot.hidden ? message : `${slot.textContent}; ${message}`;
      slot.hidden = false;
      slot.id ||= `error-${++errorIds}`;
      input.setAttribute("aria-invalid", "true");
      const described = new Set((input.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean));
      described.add(slot.id);
      input.setAttribute("aria-describedby", [...described].join(" "));
      first ??= input;
    } else {
      others.push(field ? `${field}: ${message}` : message);
    }
  }
  const summary = form.querySelector('[data-error-for="_form"]');
  if (summary) {
    const head = problemSentence(problem, form.dataset.failure);
    summary.textContent = others.length ? `${head} (${others.join("; ")})` : head;
    summary.hidden = false;
  }
  (first ?? summary)?.focus?.();
}

function problemSentence(problem, failure) {
  const detail = problem.detail ? capitalise(problem.detail) : "";
  if (problem.status === 401) return `The API key was not accepted. ${detail}.`;
  const head = failure ?? problem.title;
  return head ? `${head}: ${problem.detail || "the request was refused"}${problem.status ? ` (${problem.status} ${problem.title ?? ""})`.replace(" )", ")") : ""}.` : `${detail}.`;
}

const capitalise = (text) => text.charAt(0).toUpperCase() + text.slice(1);

function bannerError(error, what) {
  const banner = $("account-error");
  const problem = error instanceof ApiError ? error.problem : { detail: String(error) };
  banner.textContent = `${what}: ${problem.detail ?? problem.title}${problem.errors?.length ? ` (${problem.errors.map((e) => `${e.field}: ${e.message}`).join("; ")})` : ""}`;
  banner.hidden = false;
}

// ── announcements ───────────────────────────────────────────────────────────

function announce(text) {
  const region = $("announcer");
  region.textContent = text;
  clearTimeout(state.announceTimer);
  state.announceTimer = setTimeout(() => (region.textContent = ""), 6000);
}

// ── sign in / out ───────────────────────────────────────────────────────────

/** Who a key is: checks it (401 → ApiError) and learns whether it is the operator's. */
async function identify(key) {
  const me = await api("GET", "/me", undefined, key);
  if (me.kind === "operator") {
    const switches = await api("GET", `/switches?limit=${PAGE}`, undefined, key);
    return { kind: "operator", switchNames: new Map(switches.items.map((s) => [s.id, s.name])) };
  }
  const own = await api("GET", `/accounts/${me.accountId}`, undefined, key);
  return { kind: "account", ownAccountId: own.id, ownRealm: own.realm, switchNames: new Map() };
}

function adopt(key, who) {
  state.key = key;
  state.kind = who.kind;
  state.ownAccountId = who.ownAccountId ?? null;
  state.ownRealm = who.ownRealm ?? null;
  state.switchNames = who.switchNames;
  $("nav").hidden = false;
  $("nav-accounts").hidden = who.kind !== "operator";
  $("nav-who").textContent = who.kind === "operator" ? "Signed in as operator" : `Account key · ${who.ownRealm}`;
}

async function onSignIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button[type=submit]");
  const key = form.elements.namedItem("Authorization").value.trim();
  clearErrors(form);
  if (!key) {
    showProblem(form, new ApiError(401, { status: 401, detail: "enter an API key", errors: [{ field: "Authorization", message: "an API key is required" }] }));
    return;
  }
  button.disabled = true;
  try {
    const who = await identify(key);
    sessionStorage.setItem(KEY_STORAGE, key);
    adopt(key, who);
    form.reset();
    const target = who.kind === "operator" ? "#/accounts" : `#/accounts/${who.ownAccountId}`;
    if (location.hash === target) route();
    else location.hash = target;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      showProblem(form, new ApiError(401, {
        ...error.problem,
        detail: "check that you pasted the whole key: an operator key, or an account key starting wek_",
        errors: [{ field: "Authorization", message: "This API key is unknown or has been revoked." }],
      }));
    } else {
      showProblem(form, error);
    }
  } finally {
    button.disabled = false;
  }
}

function signOut(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  state.key = null;
  state.kind = null;
  leaveAccount();
  $("nav").hidden = true;
  clearTimeout(state.announceTimer);
  $("announcer").textContent = "";
  const form = $("sign-in-form");
  clearErrors(form);
  if (message) {
    const summary = form.querySelector('[data-error-for="_form"]');
    summary.textContent = message;
    summary.hidden = false;
  }
  if (location.hash !== "#/") history.replaceState(null, "", "#/");
  show("view-sign-in", "Sign in");
  $("api-key").focus();
}

// ── views and routing ───────────────────────────────────────────────────────

function show(id, title, { focus = true } = {}) {
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== id;
  document.title = `${title} · Whistle Edge console`;
  if (focus && state.view !== id) {
    const heading = $(id).querySelector("h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }
  state.view = id;
}

async function route() {
  if (!state.key) return signOut();
  const match = /^#\/accounts\/([0-9a-f]{64})$/.exec(location.hash);
  if (state.kind === "account") {
    if (!match || match[1] !== state.ownAccountId) {
      history.replaceState(null, "", `#/accounts/${state.ownAccountId}`);
      return openAccount(state.ownAccountId);
    }
    return openAccount(match[1]);
  }
  if (match) return openAccount(match[1]);
  leaveAccount();
  if (location.hash !== "#/accounts") history.replaceState(null, "", "#/accounts");
  return openAccounts();
}

// ── accounts list ───────────────────────────────────────────────────────────

async function openAccounts() {
  $("accounts-error").hidden = true;
  let accounts;
  try {
    accounts = await listAll("/accounts");
  } catch (error) {
    if (!state.key) return;
    $("accounts-error").textContent = `The accounts could not be loaded: ${error.message}`;
    $("accounts-error").hidden = false;
    accounts = [];
  }
  const body = $("accounts-body");
  body.replaceChildren(
    ...accounts.map((a) => {
      const link = element("a", { href: `#/accounts/${a.id}` }, a.name);
      return element("tr", {}, [
        cell("Name", link),
        cell("Realm", a.realm, "mono"),
        cell("Region", [a.regionHint ?? "automatic", a.jurisdiction ? ` · ${a.jurisdiction.toUpperCase()}` : ""].join("")),
        cell("Created", formatDate(a.createdAt)),
      ]);
    }),
  );
  $("accounts-empty").hidden = accounts.length > 0;
  $("accounts-table").hidden = accounts.length === 0;
  show("view-accounts", "Accounts");
}

// ── one account ─────────────────────────────────────────────────────────────

async function openAccount(id) {
  if (state.account?.id === id && state.view === "view-account") return;
  leaveAccount();
  $("account-error").hidden = true;
  let account;
  try {
    account = await api("GET", `/accounts/${id}`);
  } catch (error) {
    if (!state.key) return;
    show("view-account", "Account");
    $("account-title").textContent = "Account";
    $("account-realm").textContent = "";
    bannerError(error, "The account could not be loaded");
    return;
  }
  state.account = account;
  state.devices = new Map();
  state.numbers = [];
  state.registrations = new Map();
  state.registrationsLoaded = false;
  state.lastSeq = 0;
  state.backoff = 1000;
  $("devices-body").replaceChildren();
  $("registrations-body").replaceChildren();
  $("numbers-body").replaceChildren();
  $("activity").replaceChildren();
  $("activity-empty").hidden = false;
  setLive("connecting", "Connecting…");
  $("account-title").textContent = account.name;
  $("account-realm").textContent = account.realm;
  for (const form of [$("create-device-form")]) clearErrors(form);
  show("view-account", account.name);
  await Promise.all([refreshDevices(), refreshNumbers()]);
  await refreshRegistrations();
  connectEvents();
  state.tickTimer = setInterval(tick, 1000);
}

function leaveAccount() {
  const socket = state.socket;
  state.socket = null;
  if (socket) socket.close(1000, "leaving");
  clearTimeout(state.reconnectTimer);
  clearInterval(state.pingTimer);
  clearInterval(state.tickTimer);
  setLive("down", "Not connected");
  clearTimeout(state.refreshTimer);
  clearTimeout(state.expiryTimer);
  state.expiryTimer = null;
  state.account = null;
}

// ── devices ─────────────────────────────────────────────────────────────────

async function refreshDevices() {
  try {
    const devices = await listAll(accountPath("/devices"));
    state.devices = new Map(devices.map((d) => [d.id, d]));
    renderDevices();
    renderRegistrations();
  } catch (error) {
    if (state.key && state.account) bannerError(error, "The devices could not be loaded");
  }
}

function renderDevices() {
  const body = $("devices-body");
  const rows = new Map([...body.children].map((row) => [row.dataset.id, row]));
  const ordered = [...state.devices.values()].sort((a, b) => a.username.localeCompare(b.username, undefined, { numeric: true }));
  for (const device of ordered) {
    let row = rows.get(device.id);
    rows.delete(device.id);
    if (!row) row = newDeviceRow(device);
    updateDeviceRow(row, device);
    body.append(row);
  }
  for (const stale of rows.values()) stale.remove();
  $("devices-empty").hidden = state.devices.size > 0;
}

function newDeviceRow(device) {
  const row = element("tr", { "data-id": device.id }, [
    cell("Username", element("span", { class: "mono" }, ""), "username"),
    cell("Caller ID", "", "caller"),
    cell("Status", "", "status"),
    cell("Numbers", "", "numbers mono"),
    cell("Actions", $("tpl-device-actions").content.cloneNode(true), "actions"),
  ]);
  const actions = row.querySelector(".row-actions");
  // Unique ids so every label names its input.
  for (const form of actions.querySelectorAll("form")) {
    const input = form.querySelector("input");
    input.id = `${form.dataset.form}-${device.id}`;
    form.querySelector("label").htmlFor = input.id;
  }
  actions.querySelector('[data-action="toggle"]').addEventListener("click", () => toggleDevice(device.id));
  actions.querySelector('[data-action="unlock"]').addEventListener("click", () => unlockDevice(device.id));
  actions.querySelector('[data-form="password"]').addEventListener("submit", (event) => setPassword(event, device.id));
  actions.querySelector('[data-form="number"]').addEventListener("submit", (event) => assignNumber(event, device.id));
  return row;
}

function updateDeviceRow(row, device) {
  row.querySelector(".username span").textContent = device.username;
  const caller = [device.callerIdName, device.callerIdNumber && `<${device.callerIdNumber}>`].filter(Boolean).join(" ");
  row.querySelector(".caller").lastChild.textContent = caller || "—";
  const status = row.querySelector(".status");
  const locked = device.lockedUntil && Date.parse(device.lockedUntil) > Date.now();
  const badges = [element("span", { class: `badge ${device.enabled ? "on" : "off"}` }, device.enabled ? "Enabled" : "Disabled")];
  if (locked) {
    badges.push(" ", element("span", { class: "badge locked" }, "Locked out"));
    badges.push(element("span", { class: "sub" }, `until ${formatTime(device.lockedUntil)}`));
  }
  status.lastChild.replaceChildren(...badges);
  const numbers = state.numbers.filter((n) => n.deviceId === device.id).map((n) => n.number);
  row.querySelector(".numbers").lastChild.textContent = numbers.join(", ") || "—";
  const toggle = row.querySelector('[data-action="toggle"]');
  toggle.textContent = device.enabled ? "Disable" : "Enable";
  toggle.setAttribute("aria-label", `${device.enabled ? "Disable" : "Enable"} device ${device.username}`);
  const unlock = row.querySelector('[data-action="unlock"]');
  unlock.hidden = !locked;
  unlock.setAttribute("aria-label", `Clear the lockout of device ${device.username}`);
  for (const summary of row.querySelectorAll("summary")) {
    summary.setAttribute("aria-label", `${summary.textContent.trim()} for device ${device.username}`);
  }
}

async function withButton(button, work) {
  button.disabled = true;
  try {
    return await work();
  } finally {
    button.disabled = false;
  }
}

async function toggleDevice(id) {
  const device = state.devices.get(id);
  const button = document.querySelector(`#devices-body tr[data-id="${id}"] [data-action="toggle"]`);
  await withButton(button, async () => {
    try {
      const changed = await api("PATCH", accountPath(`/devices/${id}`), { enabled: !device.enabled });
      state.devices.set(id, changed);
      renderDevices();
      announce(`Device ${changed.username} ${changed.enabled ? "enabled" : "disabled"}.`);
    } catch (error) {
      bannerError(error, `Device ${device.username} could not be changed`);
    }
  });
}

async function unlockDevice(id) {
  const device = state.devices.get(id);
  const row = document.querySelector(`#devices-body tr[data-id="${id}"]`);
  await withButton(row.querySelector('[data-action="unlock"]'), async () => {
    try {
      const changed = await api("DELETE", accountPath(`/devices/${id}/lockout`));
      state.devices.set(id, changed);
      renderDevices();
      row.querySelector('[data-action="toggle"]').focus();
      announce(`The lockout of device ${changed.username} is cleared.`);
    } catch (error) {
      bannerError(error, `The lockout of ${device.username} could not be cleared`);
    }
  });
}

async function setPassword(event, id) {
  event.preventDefault();
  const form = event.currentTarget;
  const password = form.elements.namedItem("password").value;
  clearErrors(form);
  await withButton(form.querySelector("button"), async () => {
    try {
      const changed = await api("PATCH", accountPath(`/devices/${id}`), { password });
      state.devices.set(id, changed);
      form.reset();
      form.closest("details").open = false;
      form.closest("details").querySelector("summary").focus();
      announce(`The password of device ${changed.username} is changed.`);
    } catch (error) {
      showProblem(form, error);
    }
  });
}

async function assignNumber(event, deviceId) {
  event.preventDefault();
  const form = event.currentTarget;
  const number = form.elements.namedItem("number").value.trim().replace(/[\s().-]/g, "");
  clearErrors(form);
  await withButton(form.querySelector("button"), async () => {
    try {
      // Only the operator adds a number to the account; an account key points the account's own numbers
      // (a number outside its inventory is refused by the edge, and the refusal is shown on the form).
      const existing = state.numbers.find((n) => n.number === number);
      if (existing || state.kind !== "operator") await api("PATCH", accountPath(`/numbers/${encodeURIComponent(number)}`), { deviceId });
      else await api("POST", accountPath("/numbers"), { number, deviceId });
      await refreshNumbers();
      form.reset();
      form.closest("details").open = false;
      form.closest("details").querySelector("summary").focus();
      announce(`${number} now rings device ${state.devices.get(deviceId)?.username ?? deviceId}.`);
    } catch (error) {
      showProblem(form, error);
    }
  });
}

async function onCreateDevice(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const value = (name) => form.elements.namedItem(name).value.trim();
  const body = { username: value("username"), password: form.elements.namedItem("password").value };
  if (value("callerIdName")) body.callerIdName = value("callerIdName");
  if (value("callerIdNumber")) body.callerIdNumber = value("callerIdNumber");
  body.enabled = form.elements.namedItem("enabled").checked;
  clearErrors(form);
  await withButton(form.querySelector("button[type=submit]"), async () => {
    try {
      const device = await api("POST", accountPath("/devices"), body);
      state.devices.set(device.id, device);
      renderDevices();
      form.reset();
      announce(`Device ${device.username} added.`);
      document.querySelector(`#devices-body tr[data-id="${device.id}"]`)?.classList.add("fresh");
      form.elements.namedItem("username").focus();
    } catch (error) {
      showProblem(form, error);
    }
  });
}

// ── numbers ─────────────────────────────────────────────────────────────────

async function refreshNumbers() {
  try {
    state.numbers = await listAll(accountPath("/numbers"));
  } catch (error) {
    if (state.key && state.account) bannerError(error, "The numbers could not be loaded");
    return;
  }
  renderNumbers();
  renderDevices();
}

function renderNumbers() {
  const devices = [...state.devices.values()].sort((a, b) => a.username.localeCompare(b.username, undefined, { numeric: true }));
  $("numbers-body").replaceChildren(
    ...state.numbers.map((n) => {
      const select = element("select", { "aria-label": `Device that ${n.number} rings` }, [
        element("option", { value: "" }, "The account (no device)"),
        ...devices.map((d) => element("option", { value: d.id }, `${d.username}${d.callerIdName ? ` · ${d.callerIdName}` : ""}`)),
      ]);
      select.value = n.deviceId ?? "";
      select.addEventListener("change", async () => {
        try {
          await api("PATCH", accountPath(`/numbers/${encodeURIComponent(n.number)}`), { deviceId: select.value || null });
          await refreshNumbers();
          announce(`${n.number} now rings ${select.value ? `device ${state.devices.get(select.value)?.username}` : "the account"}.`);
        } catch (error) {
          bannerError(error, `${n.number} could not be changed`);
        }
      });
      if (state.kind !== "operator") return element("tr", {}, [cell("Number", n.number, "mono"), cell("Rings", select), cell("Actions", "—")]);
      // Releasing a number gives it back to the operator's pool: the operator's key only.
      const release = element("button", { type: "button", class: "danger", "aria-label": `Release ${n.number}` }, "Release");
      release.addEventListener("click", () =>
        withButton(release, async () => {
          try {
            await api("DELETE", accountPath(`/numbers/${encodeURIComponent(n.number)}`));
            await refreshNumbers();
            announce(`${n.number} released.`);
          } catch (error) {
            bannerError(error, `${n.number} could not be released`);
          }
        }),
      );
      return element("tr", {}, [cell("Number", n.number, "mono"), cell("Rings", select), cell("Actions", release)]);
    }),
  );
  $("numbers-empty").textContent =
    state.kind === "operator" ? "No numbers yet. Assign one to a device above." : "No numbers yet. The operator adds numbers to the account.";
  $("numbers-empty").hidden = state.numbers.length > 0;
  $("numbers-table").hidden = state.numbers.length === 0;
}

// ── live registrations ──────────────────────────────────────────────────────

async function refreshRegistrations() {
  const account = state.account;
  try {
    const items = await listAll(accountPath("/registrations"));
    if (state.account !== account) return;
    const now = Date.now();
    const previous = state.registrations;
    const highlight = state.registrationsLoaded;
    state.registrations = new Map(items.map((reg) => [reg.id, { reg, deadline: now + reg.expiresIn * 1000, fresh: highlight && !previous.has(reg.id) }]));
    state.registrationsLoaded = true;
    renderRegistrations();
  } catch (error) {
    if (state.key && state.account) bannerError(error, "The registrations could not be loaded");
  }
}

function scheduleRegistrationsRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refreshRegistrations, 100);
}

function renderRegistrations() {
  const body = $("registrations-body");
  const rows = new Map([...body.children].map((row) => [row.dataset.id, row]));
  const ordered = [...state.registrations.values()].sort((a, b) => a.reg.aor.localeCompare(b.reg.aor) || a.reg.id - b.reg.id);
  for (const entry of ordered) {
    const { reg } = entry;
    const key = String(reg.id);
    let row = rows.get(key);
    rows.delete(key);
    if (!row) {
      row = newRegistrationRow(reg);
      if (entry.fresh) row.classList.add("fresh");
    }
    updateRegistrationRow(row, entry);
    body.append(row);
  }
  for (const stale of rows.values()) stale.remove();
  $("registrations-empty").hidden = state.registrations.size > 0;
}

function newRegistrationRow(reg) {
  const remove = element("button", { type: "button", class: "danger", "data-action": "remove" }, "Remove");
  remove.addEventListener("click", () =>
    withButton(remove, async () => {
      try {
        await api("DELETE", accountPath(`/registrations/${reg.id}`));
        state.registrations.delete(reg.id);
        renderRegistrations();
        announce(`Registration removed: ${reg.contact}.`);
      } catch (error) {
        bannerError(error, "The registration could not be removed");
      }
    }),
  );
  return element("tr", { "data-id": String(reg.id) }, [
    cell("Device", "", "device"),
    cell("Contact", "", "contact mono"),
    cell("User agent", "", "agent"),
    cell("Switch", "", "switch"),
    cell("Expires in", element("time", {}, ""), "expires"),
    cell("", remove, "actions"),
  ]);
}

function deviceName(reg) {
  const device = state.devices.get(reg.deviceId);
  if (device) return device.username;
  return /^sips?:([^@]+)@/.exec(reg.aor)?.[1] ?? reg.aor;
}

function updateRegistrationRow(row, { reg }) {
  const device = deviceName(reg);
  row.querySelector(".device").lastChild.replaceChildren(
    element("span", { class: "mono" }, device),
    element("span", { class: "sub" }, reg.aor),
  );
  row.querySelector(".contact").lastChild.replaceChildren(
    document.createTextNode(reg.contact),
    ...(reg.received ? [element("span", { class: "sub" }, `from ${reg.received}`)] : []),
  );
  row.querySelector(".agent").lastChild.textContent = reg.userAgent ?? "—";
  const switchName = reg.switchId ? state.switchNames.get(reg.switchId) : null;
  row.querySelector(".switch").lastChild.replaceChildren(
    ...(reg.switchId
      ? switchName
        ? [element("span", {}, switchName), element("span", { class: "sub mono" }, reg.switchId)]
        : [element("span", { class: "mono" }, reg.switchId)]
      : [document.createTextNode("— (direct)")]),
  );
  row.querySelector('[data-action="remove"]').setAttribute("aria-label", `Remove the registration of ${device} at ${reg.contact}`);
  tickRow(row);
}

function tickRow(row) {
  const entry = state.registrations.get(Number(row.dataset.id));
  if (!entry) return;
  const left = Math.max(0, Math.ceil((entry.deadline - Date.now()) / 1000));
  const time = row.querySelector(".expires time");
  time.textContent = left > 0 ? formatDuration(left) : "expired";
  time.dateTime = `PT${left}S`;
  row.querySelector(".expires").classList.toggle("soon", left <= 30);
  return left;
}

function tick() {
  let expired = false;
  for (const row of $("registrations-body").children) if (tickRow(row) === 0) expired = true;
  // The list never shows expired bindings: ask again once one runs out (the sweep sends an event too).
  if (expired && !state.expiryTimer) {
    state.expiryTimer = setTimeout(() => {
      state.expiryTimer = null;
      refreshRegistrations();
    }, 2000);
  }
}

// ── the event WebSocket ─────────────────────────────────────────────────────

function setLive(mode, text) {
  $("live-state").dataset.state = mode;
  $("live-text").textContent = text;
}

function connectEvents() {
  if (!state.account) return;
  const account = state.account;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const since = state.lastSeq > 0 ? `?since=${state.lastSeq}` : "";
  let socket;
  try {
    socket = new WebSocket(`${scheme}//${location.host}${API}${accountPath("/events")}${since}`, [EVENTS_PROTOCOL, `bearer.${state.key}`]);
  } catch {
    setLive("down", "Live updates are unavailable with this key");
    return;
  }
  state.socket = socket;
  setLive("connecting", "Connecting…");
  socket.addEventListener("open", () => {
    if (state.socket !== socket) return;
    state.backoff = 1000;
    setLive("live", "Live");
    // Anything that changed before the stream started (or while it was down).
    if (state.account === account) refreshRegistrations();
    clearInterval(state.pingTimer);
    state.pingTimer = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send("ping"), 30_000);
  });
  socket.addEventListener("message", (message) => {
    if (state.socket !== socket || typeof message.data !== "string" || message.data === "pong") return;
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (typeof event.seq !== "number" || event.seq <= state.lastSeq) return;
    state.lastSeq = event.seq;
    onEvent(event);
  });
  socket.addEventListener("close", () => {
    if (state.socket !== socket) return;
    state.socket = null;
    clearInterval(state.pingTimer);
    const wait = state.backoff;
    state.backoff = Math.min(state.backoff * 2, 30_000);
    setLive("down", `Disconnected, reconnecting in ${Math.round(wait / 1000)} s…`);
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = setTimeout(async () => {
      if (state.account !== account) return;
      // A revoked key makes this 401 and signs out instead of retrying forever.
      try {
        await api("GET", accountPath());
      } catch (error) {
        if (!state.key) return;
      }
      if (state.account === account) connectEvents();
    }, wait);
  });
}

const EVENT_TEXT = {
  "binding.created": (e) => `${e.username ?? "A device"} registered at ${e.contact ?? "?"}${viaSwitch(e)}`,
  "binding.refreshed": (e) => `${e.username ?? "A device"} refreshed ${e.contact ?? "its registration"}`,
  "binding.removed": (e) => `${e.username ?? "A device"} unregistered ${e.contact ?? ""}`.trim(),
  "binding.expired": (e) => `The registration of ${e.username ?? "a device"} at ${e.contact ?? "?"} expired`,
  "binding.refused": (e) => `A switch reported ${e.username ?? "a device"} at ${e.contact ?? "?"} without a verified REGISTER: refused${viaSwitch(e)}`,
  "auth.failed": (e) => `Wrong password from ${e.username ?? "unknown user"}${e.source ? ` at ${e.source}` : ""}${viaSwitch(e)}`,
  "device.locked": (e) => `Device ${e.username ?? "?"} is locked out after repeated wrong passwords`,
  "device.unlocked": (e) => `Device ${e.username ?? "?"} is unlocked`,
};

function viaSwitch(e) {
  if (!e.switchId) return "";
  return ` via ${state.switchNames.get(e.switchId) ?? e.switchId}`;
}

function onEvent(event) {
  const text = (EVENT_TEXT[event.type] ?? ((e) => `${e.type}`))(event);
  logActivity(event, text);
  if (event.type.startsWith("binding.")) {
    if (event.type !== "binding.refreshed") announce(`${text}.`);
    scheduleRegistrationsRefresh();
  } else if (event.type === "device.locked" || event.type === "device.unlocked") {
    announce(`${text}.`);
    refreshDevices();
  }
}

function logActivity(event, text) {
  const list = $("activity");
  const item = element("li", {}, [element("time", { datetime: event.at }, formatTime(event.at)), text]);
  list.prepend(item);
  while (list.children.length > 50) list.lastElementChild.remove();
  $("activity-empty").hidden = true;
}

// ── small helpers ───────────────────────────────────────────────────────────

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of [].concat(children)) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

/** A table cell that keeps its column name for the stacked (phone) layout. */
function cell(label, content, className = "") {
  const td = element("td", { "data-label": label, ...(className && { class: className }) });
  const inner = element("div");
  for (const child of [].concat(content)) inner.append(child instanceof Node ? child : document.createTextNode(String(child)));
  td.append(inner);
  return td;
}

function formatDuration(seconds) {
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  if (seconds < 3600) return `${m} min ${String(seconds % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

const formatDate = (iso) => new Date(iso).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
const formatTime = (iso) => new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

// ── start ───────────────────────────────────────────────────────────────────

async function start() {
  $("sign-in-form").addEventListener("submit", onSignIn);
  $("sign-out").addEventListener("click", () => signOut());
  $("create-device-form").addEventListener("submit", onCreateDevice);
  addEventListener("hashchange", () => state.key && route());
  const saved = sessionStorage.getItem(KEY_STORAGE);
  if (!saved) return signOut();
  try {
    adopt(saved, await identify(saved));
  } catch (error) {
    signOut(error instanceof ApiError && error.status === 401 ? "The saved API key is no longer accepted. Sign in again." : `Could not reach the edge: ${error.message}`);
    return;
  }
  await route();
}

start();
