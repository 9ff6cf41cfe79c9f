// Sign in and out: who a key is (/api/v1/me), the key kept in this tab's sessionStorage only.
import { leaveAccount } from "./account.js";
import { ApiError, api } from "./api.js";
import { $ } from "./dom.js";
import { hideCredential, leaveSwitches } from "./fleet.js";
import { clearErrors, showProblem } from "./problems.js";
import { route, show } from "./router.js";
import { KEY_STORAGE, PAGE, state } from "./state.js";

/** Who a key is: checks it (401 → ApiError) and learns whether it is the operator's. */
export async function identify(key) {
  const me = await api("GET", "/me", undefined, key);
  if (me.kind === "operator") {
    const switches = await api("GET", `/switches?limit=${PAGE}`, undefined, key);
    return { kind: "operator", switchNames: new Map(switches.items.map((s) => [s.id, s.name])) };
  }
  const own = await api("GET", `/accounts/${me.accountId}`, undefined, key);
  return { kind: "account", ownAccountId: own.id, ownRealm: own.realm, switchNames: new Map() };
}

export function adopt(key, who) {
  state.key = key;
  state.kind = who.kind;
  state.ownAccountId = who.ownAccountId ?? null;
  state.ownRealm = who.ownRealm ?? null;
  state.switchNames = who.switchNames;
  $("nav").hidden = false;
  $("nav-accounts").hidden = who.kind !== "operator";
  $("nav-switches").hidden = who.kind !== "operator";
  $("nav-who").textContent = who.kind === "operator" ? "Signed in as operator" : `Account key · ${who.ownRealm}`;
}

export async function onSignIn(event) {
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

export function signOut(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  state.key = null;
  state.kind = null;
  leaveAccount();
  leaveSwitches();
  hideCredential();
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
