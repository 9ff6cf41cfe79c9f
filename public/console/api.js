// The API client: same-origin calls to /api/v1 with the signed-in key, problem documents as ApiError.
import { signOut } from "./session.js";
import { API, PAGE, state } from "./state.js";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/**
 * `body` is sent as JSON; `raw` ({ type, text }) sends a file's text as it is, with its own
 * content type (an import's CSV or JSON).
 */
export async function api(method, path, body, key = state.key, raw = undefined) {
  const headers = { authorization: `Bearer ${key}` };
  if (raw !== undefined) headers["content-type"] = raw.type;
  else if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(API + path, { method, headers, body: raw !== undefined ? raw.text : body === undefined ? undefined : JSON.stringify(body) });
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
export async function listAll(path) {
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

export const accountPath = (suffix = "") => `/accounts/${encodeURIComponent(state.account.id)}${suffix}`;
