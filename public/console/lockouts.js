// Lockouts: a device locked out after repeated wrong passwords, shown in its row and cleared by hand.
import { accountPath, api } from "./api.js";
import { renderDevices } from "./devices.js";
import { announce, element, formatTime, withButton } from "./dom.js";
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
    } catch (error) {
      bannerError(error, `The lockout of ${device.username} could not be cleared`);
    }
  });
}
