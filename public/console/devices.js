// The account's devices: the table, enable/disable, a new password, a number assigned, a device added.
import { accountPath, api, listAll } from "./api.js";
import { $, announce, cell, element, withButton } from "./dom.js";
import { isLocked, lockBadges, unlockDevice } from "./lockouts.js";
import { refreshNumbers } from "./numbers.js";
import { bannerError, clearErrors, showProblem } from "./problems.js";
import { renderRegistrations } from "./registrations.js";
import { state } from "./state.js";

export async function refreshDevices() {
  try {
    const devices = await listAll(accountPath("/devices"));
    state.devices = new Map(devices.map((d) => [d.id, d]));
    renderDevices();
    renderRegistrations();
  } catch (error) {
    if (state.key && state.account) bannerError(error, "The devices could not be loaded");
  }
}

export function renderDevices() {
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
  const locked = isLocked(device);
  status.lastChild.replaceChildren(
    element("span", { class: `badge ${device.enabled ? "on" : "off"}` }, device.enabled ? "Enabled" : "Disabled"),
    ...lockBadges(device),
  );
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

export async function onCreateDevice(event) {
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
