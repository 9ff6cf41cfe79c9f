// Lockouts: a device locked out after repeated wrong passwords, shown in its row and cleared by hand;
// and the account's list of everyone refused now (GET …/lockouts): each address locked out of a
// device (or of a username the account does not have) and each device locked as a whole, re-read
// when the event stream tells of a lock or an unlock.
import { accountPath, api } from "./api.js";
import { renderDevices } from "./devices.js";
import { $, announce, cell, element, formatTime, withButton } from "./dom.js";
import { bannerError } from "./problems.js";
import { state } from "./state.js";

/** Whether the device is locked out now (`lockedUntil` still ahead). */
export function isLocked(device) {
  return Boolean(device.lockedUntil) && Date.parse(device.lockedUntil) > Date.now();
}

/** The badge a locked-out device carries in its status cell, with the lock's end. */
export function lockBadges(device) {
  if (!isLocked(device)) return [];
  return [" ", element("span", { class: "badge locked" }, "Locked out"), element("span", { class: "sub" }, `until ${formatTime(device.lockedUntil)}`)];
}

export async function unlockDevice(id) {
  const device = state.devices.get(id);
  const row = document.querySelector(`#devices-body tr[data-id="${id}"]`);
  await withButton(row.querySelector('[data-action="unlock"]'), async () => {
    try {
      const changed = await api("DELETE", accountPath(`/devices/${id}/lockout`));
      state.devices.set(id, changed);
      renderDevices();
      row.querySelector('[data-action="toggle"]').focus();
      announce(`The lockout of device ${changed.username} is cleared.`);
      await refreshLockouts();
    } catch (error) {
      bannerError(error, `The lockout of ${device.username} could not be cleared`);
    }
  });
}

/** Read the account's lockouts and show them. */
export async function refreshLockouts() {
  const account = state.account;
  try {
    const lockouts = await api("GET", accountPath("/lockouts"));
    if (state.account === account) renderLockouts(lockouts);
  } catch (error) {
    if (state.key && state.account === account) bannerError(error, "The lockouts could not be loaded");
  }
}

let soon = null;
/** After a lock or unlock event: read the list again once a burst of events is over. */
export function lockoutsSoon() {
  clearTimeout(soon);
  soon = setTimeout(refreshLockouts, 300);
}

function renderLockouts({ devices, sources, truncated }) {
  const rows = [
    ...devices.map((d) => lockoutRow(d.deviceId, d.username, "every address it is not registered from", "", d.lockedUntil)),
    ...sources.map((s) => lockoutRow(s.deviceId, s.username ?? s.deviceId, element("span", { class: "mono" }, s.source), String(s.failures), s.lockedUntil, s.lastAttemptAt)),
  ];
  $("lockouts-body").replaceChildren(...rows);
  $("lockouts-table").hidden = rows.length === 0;
  $("lockouts-empty").hidden = rows.length > 0;
  $("lockouts-truncated").hidden = !truncated;
}

function lockoutRow(deviceId, username, refused, failures, lockedUntil, lastAttemptAt) {
  // A username the account does not have has no device to unlock: its lock lapses by itself.
  const known = deviceId !== null;
  const action = known ? element("button", { type: "button", class: "secondary", "data-action": "clear" }, "Clear lockout") : element("span", { class: "sub" }, "not a device of this account");
  if (known) action.addEventListener("click", () => clearFromList(action, deviceId, username));
  const until = [element("time", { datetime: lockedUntil }, formatTime(lockedUntil))];
  if (lastAttemptAt) until.push(element("span", { class: "sub" }, `last attempt ${formatTime(lastAttemptAt)}`));
  return element("tr", { "data-device": deviceId ?? "", "data-username": username }, [
    cell("Device", element("span", { class: "mono" }, username)),
    cell("Refused", refused),
    cell("Failures", failures),
    cell("Until", until),
    cell("Actions", action),
  ]);
}

async function clearFromList(button, deviceId, username) {
  await withButton(button, async () => {
    try {
      const changed = await api("DELETE", accountPath(`/devices/${encodeURIComponent(deviceId)}/lockout`));
      if (state.devices.has(deviceId)) {
        state.devices.set(deviceId, changed);
        renderDevices();
      }
      announce(`The lockout of device ${username} is cleared.`);
      await refreshLockouts();
    } catch (error) {
      bannerError(error, `The lockout of ${username} could not be cleared`);
    }
  });
}
