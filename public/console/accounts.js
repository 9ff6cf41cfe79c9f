// The operator's list of accounts.
import { listAll } from "./api.js";
import { $, cell, element, formatDate } from "./dom.js";
import { show } from "./router.js";
import { state } from "./state.js";

export async function openAccounts() {
  $("accounts-error").hidden = true;
  let accounts;
  try {
    accounts = await listAll("/accounts");
  } catch (error) {
    if (!state.key) return;
    $("accounts-error").textContent = `The accounts could not be loaded: ${error.message}`;
    $("accounts-error").hidden = false;
    accounts = [];
  }
  const body = $("accounts-body");
  body.replaceChildren(
    ...accounts.map((a) => {
      const link = element("a", { href: `#/accounts/${a.id}` }, a.name);
      return element("tr", {}, [
        cell("Name", link),
        cell("Realm", a.realm, "mono"),
        cell("Region", [a.regionHint ?? "automatic", a.jurisdiction ? ` · ${a.jurisdiction.toUpperCase()}` : ""].join("")),
        cell("Created", formatDate(a.createdAt)),
      ]);
    }),
  );
  $("accounts-empty").hidden = accounts.length > 0;
  $("accounts-table").hidden = accounts.length === 0;
  show("view-accounts", "Accounts");
}
