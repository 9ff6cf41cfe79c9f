// Live registrations: the account's bindings with a countdown to expiry, re-read on each binding event.
import { accountPath, api, listAll } from "./api.js";
import { $, announce, cell, element, formatDuration, withButton } from "./dom.js";
import { bannerError } from "./problems.js";
import { state } from "./state.js";

export async function refreshRegistrations() {
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

export function scheduleRegistrationsRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refreshRegistrations, 100);
}

export function renderRegistrations() {
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

export function tick() {
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
