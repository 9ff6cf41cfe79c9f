// Views and routing: one view shown at a time, chosen from the location hash and the key's kind.
import { leaveAccount, openAccount } from "./account.js";
import { openAccounts } from "./accounts.js";
import { $ } from "./dom.js";
import { leaveSwitches, openSwitches } from "./fleet.js";
import { signOut } from "./session.js";
import { state } from "./state.js";

export function show(id, title, { focus = true } = {}) {
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== id;
  document.title = `${title} · Whistle Edge console`;
  if (focus && state.view !== id) {
    const heading = $(id).querySelector("h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }
  state.view = id;
}

export async function route() {
  if (!state.key) return signOut();
  const match = /^#\/accounts\/([0-9a-f]{64})$/.exec(location.hash);
  if (state.kind === "account") {
    if (!match || match[1] !== state.ownAccountId) {
      history.replaceState(null, "", `#/accounts/${state.ownAccountId}`);
      return openAccount(state.ownAccountId);
    }
    return openAccount(match[1]);
  }
  if (location.hash === "#/switches") {
    leaveAccount();
    return openSwitches();
  }
  leaveSwitches();
  if (match) return openAccount(match[1]);
  leaveAccount();
  if (location.hash !== "#/accounts") history.replaceState(null, "", "#/accounts");
  return openAccounts();
}
