// The account's event WebSocket: live state, reconnection with since=<last seq>, the activity list.
import { accountPath, api } from "./api.js";
import { chartSoon } from "./chart.js";
import { refreshDevices } from "./devices.js";
import { lockoutsSoon } from "./lockouts.js";
import { $, announce, element, formatTime } from "./dom.js";
import { refreshRegistrations, scheduleRegistrationsRefresh } from "./registrations.js";
import { API, EVENTS_PROTOCOL, state } from "./state.js";

export function setLive(mode, text) {
  $("live-state").dataset.state = mode;
  $("live-text").textContent = text;
}

export function connectEvents() {
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
  "auth.refused": (e) => `Refused ${e.username ?? "unknown user"}${e.source ? ` from ${e.source}` : ""}: that address is locked out${viaSwitch(e)}`,
  "source.locked": (e) => `${e.source ?? "An address"} is locked out of ${e.username ?? "a device"} after repeated wrong passwords`,
  "device.locked": (e) => `Device ${e.username ?? "?"} is locked out after wrong passwords from many addresses`,
  "device.unlocked": (e) => `Device ${e.username ?? "?"} is unlocked`,
};

function viaSwitch(e) {
  if (!e.switchId) return "";
  return ` via ${state.switchNames.get(e.switchId) ?? e.switchId}`;
}

/** Events after which the chart's counters have moved. */
const CHARTED = new Set(["binding.created", "binding.removed", "binding.expired", "auth.failed", "auth.refused", "source.locked", "device.locked"]);

function onEvent(event) {
  const text = (EVENT_TEXT[event.type] ?? ((e) => `${e.type}`))(event);
  logActivity(event, text);
  if (CHARTED.has(event.type)) chartSoon();
  if (event.type.startsWith("binding.")) {
    if (event.type !== "binding.refreshed") announce(`${text}.`);
    scheduleRegistrationsRefresh();
  } else if (event.type === "source.locked") {
    announce(`${text}.`);
    lockoutsSoon();
  } else if (event.type === "device.locked" || event.type === "device.unlocked") {
    announce(`${text}.`);
    refreshDevices();
    lockoutsSoon();
  }
}

function logActivity(event, text) {
  const list = $("activity");
  const item = element("li", {}, [element("time", { datetime: event.at }, formatTime(event.at)), text]);
  list.prepend(item);
  while (list.children.length > 50) list.lastElementChild.remove();
  $("activity-empty").hidden = true;
}
