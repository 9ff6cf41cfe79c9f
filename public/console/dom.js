// Small DOM helpers shared by every view: elements, table cells, busy buttons, the live region, dates.
import { state } from "./state.js";

export const $ = (id) => document.getElementById(id);

export function announce(text) {
  const region = $("announcer");
  region.textContent = text;
  clearTimeout(state.announceTimer);
  state.announceTimer = setTimeout(() => (region.textContent = ""), 6000);
}

export async function withButton(button, work) {
  button.disabled = true;
  try {
    return await work();
  } finally {
    button.disabled = false;
  }
}

export function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of [].concat(children)) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

/** A table cell that keeps its column name for the stacked (phone) layout. */
export function cell(label, content, className = "") {
  const td = element("td", { "data-label": label, ...(className && { class: className }) });
  const inner = element("div");
  for (const child of [].concat(content)) inner.append(child instanceof Node ? child : document.createTextNode(String(child)));
  td.append(inner);
  return td;
}

export function formatDuration(seconds) {
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  if (seconds < 3600) return `${m} min ${String(seconds % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

export const formatDate = (iso) => new Date(iso).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
export const formatTime = (iso) => new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
