// The switch fleet, for the operator: each switch's state, last seen and bindings held, with drain,
// undrain and credential rotation. Kept current by polling the switch list and following the
// fleet's events (/api/v1/fleet/events?since=<last seq>) every few seconds while the view is open.
import { api, listAll } from "./api.js";
import { $, announce, cell, element, formatDuration, formatTime, withButton } from "./dom.js";
import { show } from "./router.js";
import { state } from "./state.js";

/** How often the list and the fleet's events are read while the view is open. */
export const FLEET_POLL_MS = 5_000;
/** How often every switch's bindings are counted again (each count reads every account's object). */
const BINDINGS_EVERY_MS = 60_000;

const STATE_TEXT = { alive: "Alive", lost: "Lost", draining: "Draining", unseen: "Not seen yet" };

const FLEET_EVENT_TEXT = {
  "switch.lost": (e) => `${e.name} is lost: silent past the loss threshold, its registrations are not offered to calls`,
  "switch.back": (e) => `${e.name} is back`,
  "switch.draining": (e) => `${e.name} is draining`,
  "switch.drained": (e) => `${e.name} is drained: it holds no registrations`,
};

export async function openSwitches() {
  if (state.view === "view-switches" && state.fleet) return;
  leaveSwitches();
  const fleet = { switches: [], bindings: new Map(), bindingsAt: 0, lastSeq: null, timer: null };
  state.fleet = fleet;
  $("switches-error").hidden = true;
  $("switches-body").replaceChildren();
  $("fleet-activity").replaceChildren();
  $("fleet-activity-empty").hidden = false;
  hideCredential();
  setFleetLive("connecting", "Loading…");
  show("view-switches", "Switches");
  await poll(fleet);
}

export function leaveSwitches() {
  if (state.fleet) clearTimeout(state.fleet.timer);
  state.fleet = null;
}

/** One round: the list (state, last seen), the fleet's new events, then the bindings counts due. */
async function poll(fleet) {
  if (state.fleet !== fleet) return;
  clearTimeout(fleet.timer);
  try {
    const [switches, events] = await Promise.all([listAll("/switches"), fleetEventsAfter(fleet)]);
    if (state.fleet !== fleet) return;
    fleet.switches = switches;
    state.switchNames = new Map(switches.map((s) => [s.id, s.name]));
    for (const event of events) logFleetEvent(event);
    renderSwitches(fleet);
    setFleetLive("live", `Updated ${formatTime(new Date().toISOString())}`);
    const changed = new Set(events.map((e) => e.switchId));
    const due = Date.now() - fleet.bindingsAt >= BINDINGS_EVERY_MS;
    const counting = switches.filter((s) => due || changed.has(s.id) || !fleet.bindings.has(s.id));
    if (due) fleet.bindingsAt = Date.now();
    if (counting.length > 0) {
      await Promise.all(counting.map((s) => countBindings(fleet, s.id)));
      if (state.fleet === fleet) renderSwitches(fleet);
    }
  } catch (error) {
    if (!state.key || state.fleet !== fleet) return;
    setFleetLive("down", `Not updated (${error.message}); trying again`);
  }
  if (state.fleet === fleet) fleet.timer = setTimeout(() => poll(fleet), FLEET_POLL_MS);
}

/**
 * The fleet's events after the last one seen. On opening, the history is read to its end and its
 * last few are listed, so the activity list starts with what happened before.
 */
async function fleetEventsAfter(fleet) {
  const opening = fleet.lastSeq === null;
  let since = fleet.lastSeq ?? 0;
  const events = [];
  for (let page = 0; page < 40; page++) {
    const data = await api("GET", `/fleet/events?since=${since}&limit=500`);
    events.push(...data.items);
    if (data.items.length < 500) {
      since = data.next;
      break;
    }
    since = data.next;
  }
  fleet.lastSeq = since;
  return opening ? events.slice(-20) : events;
}

/** Bindings held: the single-switch read adds them up over every account. */
async function countBindings(fleet, switchId) {
  try {
    const one = await api("GET", `/switches/${encodeURIComponent(switchId)}`);
    fleet.bindings.set(switchId, one.bindingsHeld ?? null);
  } catch (error) {
    if (error.status === 404) fleet.bindings.delete(switchId);
    else throw error;
  }
}

function renderSwitches(fleet) {
  const body = $("switches-body");
  const rows = new Map([...body.children].map((row) => [row.dataset.id, row]));
  const ordered = [...fleet.switches].sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  for (const sw of ordered) {
    let row = rows.get(sw.id);
    rows.delete(sw.id);
    if (!row) row = newSwitchRow(sw.id);
    updateSwitchRow(row, sw, fleet.bindings.get(sw.id));
    body.append(row);
  }
  for (const stale of rows.values()) stale.remove();
  $("switches-empty").hidden = fleet.switches.length > 0;
  $("switches-table").hidden = fleet.switches.length === 0;
}

function newSwitchRow(id) {
  const drain = element("button", { type: "button", class: "secondary", "data-action": "drain" }, "");
  const rotate = element("button", { type: "button", class: "danger", "data-action": "rotate" }, "Rotate credential");
  drain.addEventListener("click", () => toggleDrain(id, drain));
  rotate.addEventListener("click", () => rotateCredential(id, rotate));
  return element("tr", { "data-id": id }, [
    cell("Switch", "", "name"),
    cell("State", "", "state"),
    cell("Last seen", "", "seen"),
    cell("Bindings held", "", "bindings"),
    cell("Actions", element("div", { class: "row-actions" }, [drain, rotate]), "actions"),
  ]);
}

function updateSwitchRow(row, sw, bindings) {
  row.dataset.state = sw.state;
  row.querySelector(".name").lastChild.replaceChildren(
    element("span", {}, sw.name),
    element("span", { class: "sub mono" }, `${sw.id} · ${sw.address}`),
  );
  const badges = [element("span", { class: `badge state-${sw.state}` }, STATE_TEXT[sw.state] ?? sw.state)];
  // A draining switch that stops talking shows as lost; the drain still holds for when it returns.
  if (sw.draining && sw.state !== "draining") badges.push(element("span", { class: "sub" }, "drain set"));
  row.querySelector(".state").lastChild.replaceChildren(...badges);
  row.querySelector(".seen").lastChild.replaceChildren(
    ...(sw.lastSeenAt
      ? [element("time", { datetime: sw.lastSeenAt }, ago(sw.lastSeenAt)), element("span", { class: "sub" }, formatTime(sw.lastSeenAt))]
      : [document.createTextNode("never")]),
  );
  row.querySelector(".bindings").lastChild.textContent = bindings === undefined || bindings === null ? "…" : String(bindings);
  const drain = row.querySelector('[data-action="drain"]');
  drain.textContent = sw.draining ? "Stop draining" : "Drain";
  drain.setAttribute("aria-label", `${sw.draining ? "Stop draining" : "Drain"} switch ${sw.name}`);
  row.querySelector('[data-action="rotate"]').setAttribute("aria-label", `Rotate the credential of switch ${sw.name}`);
}

function ago(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return `${formatDuration(seconds)} ago`;
}

async function toggleDrain(id, button) {
  const fleet = state.fleet;
  const sw = fleet?.switches.find((s) => s.id === id);
  if (!sw) return;
  await withButton(button, async () => {
    try {
      const changed = await api(sw.draining ? "DELETE" : "POST", `/switches/${encodeURIComponent(id)}/drain`);
      if (state.fleet !== fleet) return;
      fleet.switches = fleet.switches.map((s) => (s.id === id ? changed : s));
      renderSwitches(fleet);
      announce(`Switch ${changed.name} ${changed.draining ? "is draining" : "is no longer draining"}.`);
    } catch (error) {
      fleetError(error, `Switch ${sw.name} could not be changed`);
    }
  });
}

async function rotateCredential(id, button) {
  const fleet = state.fleet;
  const sw = fleet?.switches.find((s) => s.id === id);
  if (!sw) return;
  // The switch's current credential stops working at once: ask first.
  if (!confirm(`Rotate the credential of switch ${sw.name}? Its current credential stops working now; the switch is refused until it is configured with the new one.`)) return;
  await withButton(button, async () => {
    try {
      const issued = await api("POST", `/switches/${encodeURIComponent(id)}/credential`);
      if (state.fleet !== fleet) return;
      fleet.switches = fleet.switches.map((s) => (s.id === id ? issued.switch : s));
      renderSwitches(fleet);
      showCredential(issued.switch, issued.credential);
    } catch (error) {
      fleetError(error, `The credential of ${sw.name} was not rotated`);
    }
  });
}

/** The new credential, shown once: the edge cannot show it again; hiding it forgets it. */
function showCredential(sw, credential) {
  $("credential-switch").textContent = sw.name;
  const value = $("credential-value");
  value.value = credential;
  $("credential-once").hidden = false;
  value.focus();
  value.select();
  announce(`New credential for switch ${sw.name} issued; the previous one no longer works.`);
}

export function hideCredential() {
  $("credential-value").value = "";
  $("credential-switch").textContent = "";
  $("credential-once").hidden = true;
}

function fleetError(error, what) {
  const banner = $("switches-error");
  banner.textContent = `${what}: ${error.problem?.detail ?? error.message}`;
  banner.hidden = false;
}

function setFleetLive(mode, text) {
  $("fleet-state").dataset.state = mode;
  $("fleet-text").textContent = text;
}

function logFleetEvent(event) {
  const list = $("fleet-activity");
  const text = (FLEET_EVENT_TEXT[event.type] ?? ((e) => `${e.type} ${e.name}`))(event);
  list.prepend(element("li", { "data-type": event.type }, [element("time", { datetime: event.at }, formatTime(event.at)), text]));
  while (list.children.length > 50) list.lastElementChild.remove();
  $("fleet-activity-empty").hidden = true;
}
