// The account's numbers (DIDs): which device each rings; the operator releases them.
import { accountPath, api, listAll } from "./api.js";
import { renderDevices } from "./devices.js";
import { $, announce, cell, element, withButton } from "./dom.js";
import { bannerError } from "./problems.js";
import { state } from "./state.js";

export async function refreshNumbers() {
  try {
    state.numbers = await listAll(accountPath("/numbers"));
  } catch (error) {
    if (state.key && state.account) bannerError(error, "The numbers could not be loaded");
    return;
  }
  renderNumbers();
  renderDevices();
}

function renderNumbers() {
  const devices = [...state.devices.values()].sort((a, b) => a.username.localeCompare(b.username, undefined, { numeric: true }));
  $("numbers-body").replaceChildren(
    ...state.numbers.map((n) => {
      const select = element("select", { "aria-label": `Device that ${n.number} rings` }, [
        element("option", { value: "" }, "The account (no device)"),
        ...devices.map((d) => element("option", { value: d.id }, `${d.username}${d.callerIdName ? ` · ${d.callerIdName}` : ""}`)),
      ]);
      select.value = n.deviceId ?? "";
      select.addEventListener("change", async () => {
        try {
          await api("PATCH", accountPath(`/numbers/${encodeURIComponent(n.number)}`), { deviceId: select.value || null });
          await refreshNumbers();
          announce(`${n.number} now rings ${select.value ? `device ${state.devices.get(select.value)?.username}` : "the account"}.`);
        } catch (error) {
          bannerError(error, `${n.number} could not be changed`);
        }
      });
      if (state.kind !== "operator") return element("tr", {}, [cell("Number", n.number, "mono"), cell("Rings", select), cell("Actions", "—")]);
      // Releasing a number gives it back to the operator's pool: the operator's key only.
      const release = element("button", { type: "button", class: "danger", "aria-label": `Release ${n.number}` }, "Release");
      release.addEventListener("click", () =>
        withButton(release, async () => {
          try {
            await api("DELETE", accountPath(`/numbers/${encodeURIComponent(n.number)}`));
            await refreshNumbers();
            announce(`${n.number} released.`);
          } catch (error) {
            bannerError(error, `${n.number} could not be released`);
          }
        }),
      );
      return element("tr", {}, [cell("Number", n.number, "mono"), cell("Rings", select), cell("Actions", release)]);
    }),
  );
  $("numbers-empty").textContent =
    state.kind === "operator" ? "No numbers yet. Assign one to a device above." : "No numbers yet. The operator adds numbers to the account.";
  $("numbers-empty").hidden = state.numbers.length > 0;
  $("numbers-table").hidden = state.numbers.length === 0;
}
