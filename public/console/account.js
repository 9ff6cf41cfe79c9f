// One account's page: loads its devices, numbers and registrations, then follows its event stream.
import { api } from "./api.js";
import { leaveChart, openChart } from "./chart.js";
import { refreshDevices } from "./devices.js";
import { $ } from "./dom.js";
import { connectEvents, setLive } from "./events.js";
import { refreshLockouts } from "./lockouts.js";
import { refreshNumbers } from "./numbers.js";
import { bannerError, clearErrors } from "./problems.js";
import { refreshRegistrations, tick } from "./registrations.js";
import { show } from "./router.js";
import { state } from "./state.js";

export async function openAccount(id) {
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
  for (const form of [$("create-device-form"), $("import-form")]) clearErrors(form);
  $("import-form").reset();
  $("import-progress").hidden = true;
  show("view-account", account.name);
  $("lockouts-body").replaceChildren();
  await Promise.all([refreshDevices(), refreshNumbers(), refreshLockouts()]);
  await refreshRegistrations();
  connectEvents();
  openChart();
  state.tickTimer = setInterval(tick, 1000);
}

export function leaveAccount() {
  leaveChart();
  state.importFollow = null;
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
